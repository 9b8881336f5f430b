"""One method per year of data: what has been published of the store's data, and how.

A year published with holes (suppression) and again with noise can be undone by reading the two
side by side: a noisy count beside the same count hidden says roughly what the hole holds, and
the exact counts shown beside noisy ones take the noise away. So the store keeps a ledger
(`releases`) of each year a publication showed and its method, and a publication by another
method of a year already published is refused. Differential privacy keeps, beside this, its
budget per year (insyn.disclosure.noise).

Two publications with holes of the same year, the second after more data came in, can be read
together too: if the second hid other cells than the first, a cell hidden in one could be
subtracted from the other's totals. So the ledger also keeps which rows each publication with
holes hid (`released_hidden`), and the next one of the same year hides them again
(`hidden_before`) and protects the rest around them.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

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


def record_release(store, years: Iterable[str], method: str, name: str,
                   hidden: pd.DataFrame | None = None) -> None:
    """Record that `name` publishes the given years by `method`, and the rows of those years it
    hid (`hidden`, result rows), in one transaction; MixedMethods, and nothing recorded, when one
    of the years was published by another method."""
    years = sorted(set(years))
    check_release(store, years, method)
    if not years:
        return
    ledger = pd.DataFrame(columns=["period", "row_key", "name"])
    if hidden is not None and len(hidden):
        ledger = pd.DataFrame({"period": [years_of(p)[-1] for p in hidden.period.astype(str)],
                               "row_key": row_keys(hidden).to_numpy(), "name": name})
        ledger = ledger[ledger.period.isin(years)]
    with store.transaction() as raw:
        raw.executemany("INSERT INTO releases VALUES (?, ?, ?, current_localtimestamp())",
                        [[year, method, name] for year in years])
        raw.register("ledger_rows", ledger)
        raw.execute("INSERT INTO released_hidden SELECT period, row_key, name FROM ledger_rows")
        raw.unregister("ledger_rows")


def hidden_before(store, years: Iterable[str]) -> set[str]:
    """The rows (`row_keys`) a publication with holes of one of the years has hidden."""
    years = sorted(set(years))
    present = store.raw.execute("SELECT count(*) FROM information_schema.tables "
                                "WHERE table_name = 'released_hidden'").fetchone()[0]
    if not years or not present:  # none, or a store made before the ledger kept rows, opened read-only
        return set()
    marks = ", ".join("?" for _ in years)
    return {key for (key,) in store.raw.execute(
        f"SELECT DISTINCT row_key FROM released_hidden WHERE period IN ({marks})", years).fetchall()}


def published_years(periods: Iterable[str]) -> list[str]:
    """The years of the periods a publication shows (a quarter's or a month's year too, and
    each of three years pooled)."""
    return sorted({year for period in periods for year in years_of(str(period))})
