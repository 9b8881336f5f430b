"""One method per year of data: what has been published of the store's data, and how.

A year published with holes (suppression) and again with noise can be undone by reading the two
side by side: a noisy count beside the same count hidden says roughly what the hole holds, and
the exact counts shown beside noisy ones take the noise away. So the store keeps a ledger
(`releases`) of each year a publication showed and its method, and a publication by another
method of a year already published is refused. Differential privacy keeps, beside this, its
budget per year (insyn.disclosure.noise).
"""

from __future__ import annotations

from collections.abc import Iterable

from insyn.errors import Conflict

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


def record_release(store, years: Iterable[str], method: str, name: str) -> None:
    """Record that `name` publishes the given years by `method`, in the caller's transaction if
    there is one; MixedMethods, and nothing recorded, when one of them was published by another."""
    years = sorted(set(years))
    check_release(store, years, method)
    if years:
        store.raw.executemany("INSERT INTO releases VALUES (?, ?, ?, current_localtimestamp())",
                              [[year, method, name] for year in years])


def published_years(periods: Iterable[str]) -> list[str]:
    """The years of the periods a publication shows (a quarter's or a month's year too)."""
    return sorted({str(period)[:4] for period in periods})
