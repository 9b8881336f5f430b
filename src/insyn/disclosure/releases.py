"""One method per year of data: what has been published of the store's data, and how.

A year published with holes (suppression) and again with noise can be undone by reading the two
side by side: a noisy count beside the same count hidden says roughly what the hole holds, and
the exact counts shown beside noisy ones take the noise away. So the store keeps a ledger
(`releases`) of each year a publication showed and its method, and a publication by another
method of a year already published is refused. Differential privacy keeps, beside this, its
budget per year (insyn.disclosure.noise).

Two publications with holes of the same year, the second after more data came in, can be read
together too: a cell hidden in one and shown in the other could be subtracted from the other's
totals. So the ledger also keeps what each publication with holes hid and showed
(`released_rows`), and the next one of the same year hides again what was hidden and never
hides, to protect something else, a figure that was shown and has not changed: its reader has
it already (`Earlier`, `prepare(..., earlier=…)`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from insyn.disclosure.status import is_hidden
from insyn.disclosure.suppression import row_keys
from insyn.errors import Conflict
from insyn.indicators.pooled import years_of

SUPPRESSION = "undertryckning"
CELL_KEY = "cellnyckel"
DIFFERENTIAL_PRIVACY = "dp"
# How each method reads in a sentence: "2024 är redan publicerat med …".
IN_WORDS = {SUPPRESSION: "med dolda uppgifter", CELL_KEY: "med brus (cellnyckel)",
            DIFFERENTIAL_PRIVACY: "med differentiell integritet"}


class MixedMethods(Conflict):
    """A year would be published both with holes and with noise."""

    heading = "Kan inte publiceras så"


def check_release(store, years: Iterable[str], method: str) -> None:
    """MixedMethods when one of the years was published by another method than `method`."""
    years = sorted(set(years))
    if not years:
        return
    marks = ", ".join("?" for _ in years)
    earlier = store.raw.execute(
        f"SELECT period, method, min(name) FROM releases WHERE period IN ({marks}) AND method <> ? "
        "GROUP BY period, method ORDER BY period", [*years, method]).fetchall()
    if earlier:
        year, other, other_name = earlier[0]
        raise MixedMethods(
            f"Uppgifterna för {year} är redan publicerade {IN_WORDS.get(other, other)} («{other_name}»). "
            f"Publicerade också {IN_WORDS[method]} kan de två läsas ihop och avslöja det som skyddas. "
            f"Publicera {year} {IN_WORDS.get(other, other)} igen (docs/noise.md).")


def record_release(store, years: Iterable[str], method: str, name: str, rows: pd.DataFrame | None = None) -> None:
    """Record that `name` publishes the given years by `method`, and what it showed and hid of
    them (`rows`: the result rows it publishes, with their status; a publication with noise has
    no rows in the ledger, its figures are not the data's), in one transaction;
    MixedMethods, and nothing recorded, when one of the years was published by another method.
    A row already recorded as it is now is not recorded again."""
    years = sorted(set(years))
    check_release(store, years, method)
    if not years:
        return
    ledger = pd.DataFrame(columns=["period", "row_key", "hidden", "shown_values", "name"])
    if method == SUPPRESSION and rows is not None and len(rows):  # noisy figures are not the data
        hidden = rows.status.map(is_hidden).astype(bool)
        ledger = pd.DataFrame({"period": [years_of(p)[-1] for p in rows.period.astype(str)],
                               "row_key": row_keys(rows).to_numpy(), "hidden": hidden.to_numpy(),
                               "shown_values": shown_values(rows).where(~hidden).to_numpy(), "name": name})
        ledger = ledger[ledger.period.isin(years)]
    with store.transaction() as raw:
        raw.executemany("INSERT INTO releases VALUES (?, ?, ?, current_localtimestamp())",
                        [[year, method, name] for year in years])
        raw.register("ledger_rows", ledger)
        raw.execute("""
            INSERT INTO released_rows SELECT DISTINCT period, row_key, hidden, shown_values, name FROM ledger_rows l
            WHERE NOT EXISTS (SELECT 1 FROM released_rows r WHERE r.period = l.period AND r.row_key = l.row_key
                              AND r.hidden = l.hidden AND r.shown_values IS NOT DISTINCT FROM l.shown_values)""")
        raw.unregister("ledger_rows")


def shown_values(rows: pd.DataFrame) -> pd.Series:
    """Numerator, denominator and value of each row as one text: the same for the same figures."""
    def fixed(column: str) -> np.ndarray:
        values = rows[column].astype(float).to_numpy()
        finite = np.char.mod("%.6f", np.where(np.isfinite(values), values, 0.0))
        return np.select([np.isnan(values), np.isinf(values)], ["", np.where(values > 0, "inf", "-inf")],
                         finite).astype(object)

    numerator, denominator, value = (fixed(c) for c in ("numerator", "denominator", "value"))
    return pd.Series(numerator + "|" + denominator + "|" + value, index=rows.index)


@dataclass(frozen=True)
class Earlier:
    """What publications with holes of some years have hidden (`hidden`: row keys) and shown
    (`shown`: row key and the figures shown), from the store's ledger."""

    hidden: frozenset[str] = frozenset()
    shown: frozenset[tuple[str, str]] = frozenset()

    @property
    def hidden_only(self) -> Earlier:
        """What was hidden alone: for a view inside the organisation when a release of these
        figures would be refused (insyn.disclosure.suppression.Unrepublishable)."""
        return Earlier(self.hidden)

    def masks(self, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """The rows hidden before, and (rows × numerator, denominator) the figures shown before
        as they are now."""
        known = np.zeros((len(rows), 2), dtype=bool)
        if not self.hidden and not self.shown:
            return np.zeros(len(rows), dtype=bool), known
        keys = row_keys(rows).to_numpy()
        hidden = pd.Series(keys).isin(list(self.hidden)).to_numpy()
        earlier: dict[str, list[list[str]]] = {}
        for key, values in self.shown:
            earlier.setdefault(key, []).append(values.split("|"))
        now = shown_values(rows).str.split("|").to_numpy()
        for i, (key, figures) in enumerate(zip(keys, now, strict=True)):
            for shown in earlier.get(key, ()):
                known[i] |= [shown[0] == figures[0] != "", shown[1] == figures[1] != ""]
        known[hidden] = False
        return hidden, known


def earlier_releases(store, years: Iterable[str]) -> Earlier:
    """What publications with holes of any of the years have hidden and shown."""
    years = sorted(set(years))
    present = store.raw.execute("SELECT count(*) FROM information_schema.tables "
                                "WHERE table_name = 'released_rows'").fetchone()[0]
    if not years or not present:  # none, or a store made before the ledger kept rows, opened read-only
        return Earlier()
    marks = ", ".join("?" for _ in years)
    found = store.raw.execute(f"SELECT DISTINCT row_key, hidden, shown_values FROM released_rows "
                              f"WHERE period IN ({marks})", years).fetchall()
    return Earlier(frozenset(key for key, hidden, _ in found if hidden),
                   frozenset((key, values) for key, hidden, values in found if not hidden))


def published_years(periods: Iterable[str]) -> list[str]:
    """The years of the periods a publication shows (a quarter's or a month's year too, and
    each of three years pooled)."""
    return sorted({year for period in periods for year in years_of(str(period))})
