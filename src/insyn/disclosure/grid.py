"""Every row of a table, zeros included: which rows exist must not depend on the data.

The engine gives a row only where something was counted: a reporter with no report that
quarter, an age group with no child, has none. A published table that shows a row wherever
there is at least one, and nothing otherwise, tells a reader that each row it lacks is 0 and
each it hides is at least 1 — with a total beside them, often exactly. So before anything is
protected or given noise, each table gets a row for every code of its breakdowns and categories.
"""

from __future__ import annotations

import pandas as pd

from insyn.indicators.definitions import Count, Definition
from insyn.indicators.engine import DIMENSIONS, KEYS
from insyn.model.codes import codes

SIDES = ("numerator", "denominator")


def is_count(count: Count | None) -> bool:
    """A numerator or denominator that counts or sums records (not a population)."""
    return count is not None and count.population is None


def every_row(results: pd.DataFrame, definitions: dict[str, Definition], strict: bool = True) -> pd.DataFrame:
    """The results with a row for every code of each indicator's breakdowns (`sex`, `age_group`
    from codes.yaml; the units the municipality's rows name, taken as public) and of its
    categories, in every period the indicator has for the municipality; the rows added count 0
    (a share's denominator: its group's total when the share is of all) and have the value that
    follows, none where a ratio divides by 0 or a median has nobody. Indicators not in
    `definitions` are left as they are.

    `strict` (for noise, which needs the whole grid): every breakdown the table has anywhere, in
    every period, and a row outside the code lists is an error. Otherwise a breakdown is
    completed in the periods that have it (a quarter the engine does not break down by sex gets
    no rows of zeros claiming it), and a row outside the code lists is kept as it is."""
    known = results.indicator.isin(definitions)
    units = (results.dropna(subset=["unit"]).groupby("municipality").unit.unique()
             .explode().reset_index())
    filled = [results[~known]] if (~known).any() else []
    for indicator, rows in results[known].groupby("indicator", sort=False):
        definition = definitions[indicator]
        periods = rows[["indicator", *KEYS, "complete"]].drop_duplicates(KEYS)
        parts = [periods]
        for level in ("sex", "age_group", "unit"):
            if level not in definition.breakdowns or not (rows[level].notna().any() or
                                                          (strict and results[level].notna().any())):
                continue
            having = periods if strict else periods.merge(rows.loc[rows[level].notna(), KEYS].drop_duplicates())
            values = (units if level == "unit" else pd.DataFrame({level: codes(level)}))
            parts.append(having.merge(values, on="municipality") if level == "unit"
                         else having.merge(values, how="cross"))
        cells = pd.concat(parts, ignore_index=True).reindex(columns=["indicator", *KEYS, "complete", *DIMENSIONS])
        if definition.category:
            cells = cells.drop(columns="category").merge(pd.DataFrame({"category": definition.category_codes()}),
                                                         how="cross")
        cells = cells.astype(rows.dtypes[[*DIMENSIONS]].to_dict())
        grid = cells.merge(rows, how="outer", on=["indicator", *KEYS, *DIMENSIONS], indicator=True,
                           suffixes=("_period", ""))
        outside = grid.pop("_merge") == "right_only"
        if strict and outside.any():
            raise ValueError(f"{indicator}: resultaten har rader utanför kodlistorna.")
        grid["complete"] = grid.complete.fillna(grid.pop("complete_period"))
        added = grid.numerator.isna() & grid.denominator.isna() & grid.value.isna()
        for side in SIDES:
            if is_count(getattr(definition, side)):
                grid[side] = grid[side].fillna(0.0)
        if definition.category and definition.category_shares == "of_all":
            # A category's share is of its group's total: the rows added share its denominator.
            group = grid.groupby([*KEYS, "unit", "sex", "age_group"], dropna=False)
            for column in ("denominator", "denominator_cellkey"):  # one cell: its key too
                if column in grid:
                    grid[column] = group[column].transform("max")
        if definition.statistic is None:
            divisor = (grid.denominator.where(grid.denominator > 0) if definition.denominator is not None
                       else pd.Series(1.0, index=grid.index))
            grid.loc[added, "value"] = (grid.numerator * definition.factor / divisor)[added]
        filled.append(grid[results.columns])
    return pd.concat(filled, ignore_index=True)
