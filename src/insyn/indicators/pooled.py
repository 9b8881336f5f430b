"""Three years pooled: a share or rate over three consecutive years' counts added up.

A small municipality's yearly share often rests on too few to publish; three years together
often do not. As Socialstyrelsen's Öppna jämförelser does for small municipalities, the pooled
figure adds up the three years' numerators and denominators (a child counted in two years counts
twice, as in the yearly figures) and divides: 2023–2025 is Σ numerators × factor / Σ
denominators over 2023, 2024 and 2025. A rate per 1 000 residents becomes the yearly rate of
the three years together. Medians are not pooled: a median of three years needs the durations
themselves, which the published results do not hold.

Which indicators are pooled is data: each library file's `pooled` list (the case flow's shares
and rates; a municipality's employment figures are published every year, docs/disclosure.md).
Pooled rows are whole-municipality totals, made for every window of three consecutive complete
years; they go through disclosure control with the yearly rows, linked to them (a pooled count
is the sum of its years' counts, insyn.disclosure.suppression).
"""

from __future__ import annotations

import pandas as pd

from insyn.indicators.definitions import Definition, pooled_indicators

POOLED = "three_years"  # the period type of a pooled row
POOLED_YEARS = 3
DASH = "–"  # between the first and the last year of a pooled period: 2023–2025


def pooled_label(last_year: int | str) -> str:
    """The period of the three years ending with `last_year`: 2023–2025."""
    return f"{int(last_year) - POOLED_YEARS + 1}{DASH}{int(last_year)}"


def in_windows(yearly: pd.DataFrame, years: pd.Series) -> pd.DataFrame:
    """Each yearly row once per three years pooled it falls in, with the window's last year
    (`last_year`)."""
    return pd.concat([yearly.assign(last_year=years + k) for k in range(POOLED_YEARS)])


def years_of(period: str) -> list[str]:
    """The calendar years a period label covers: 2023–2025 → 2023, 2024, 2025; 2024-Q1 → 2024."""
    if DASH in period:
        first, last = (int(y) for y in period.split(DASH))
        return [str(y) for y in range(first, last + 1)]
    return [period[:4]]


def with_pooled(results: pd.DataFrame, definitions: dict[str, Definition]) -> pd.DataFrame:
    """The results and, for each indicator the library pools (`pooled_indicators`) and each
    municipality, a pooled row for every three consecutive complete years of its totals."""
    factors = {i: d.factor for i, d in definitions.items() if i in pooled_indicators()}
    yearly = results[results.indicator.isin(factors) & (results.period_type == "year")
                     & results[["unit", "sex", "age_group", "category"]].isna().all(axis=1)
                     & results.complete.fillna(True).astype(bool)]
    if yearly.empty:
        return results
    yearly = yearly.assign(year=yearly.period.astype(int))
    windows = in_windows(yearly, yearly.year)
    pooled = (windows.groupby(["indicator", "municipality", "last_year"])
              .agg(numerator=("numerator", "sum"), denominator=("denominator", "sum"), years=("year", "nunique"))
              .reset_index())
    pooled = pooled[pooled.years == POOLED_YEARS]  # the three years all there
    if pooled.empty:
        return results
    value = (pooled.numerator * pooled.indicator.map(factors)
             / pooled.denominator.where(pooled.denominator > 0))
    rows = pooled.assign(period=pooled.last_year.map(pooled_label), period_type=POOLED, value=value,
                         complete=True).reindex(columns=results.columns)
    return pd.concat([results, rows.astype(results.dtypes.to_dict(), errors="ignore")], ignore_index=True)
