"""k-anonymity for row-level extracts: the generalisation hierarchies (generalisation.yaml)
and the search for the least generalisation after which every combination of
quasi-identifier values holds at least k persons.

Persons are counted, not rows: a child with forty events is one person, and a table whose
rows name two persons (a mentorship) needs k of each. Several tables are generalised
together, with one level per quasi-identifier for all of them, so that joining them on their
identifiers never shows a value more precisely than any one of them does. Rows still in
groups under k are dropped (suppressed) and counted.

The search tries the combinations of levels (the generalisation lattice: at most a few
hundred nodes with these hierarchies) in order of information loss and keeps the first that
drops no more than the allowed share of rows. That is the optimal node under global
recoding, as El Emam's OLA finds it; a greedy Datafly search is cheaper but can generalise
more than needed, and the lattice is small. Each node is evaluated on the distinct
combinations of persons and quasi-identifier values, weighted by their rows, not on every row.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from importlib import resources
from operator import itemgetter

import numpy as np
import pandas as pd
import yaml

from insyn.model.municipalities import municipalities


@dataclass(frozen=True)
class Level:
    """One step of a hierarchy: its Swedish name and the rule that produces it."""

    name: str
    rule: str
    width: int | None = None
    value: str | None = None


@dataclass(frozen=True)
class Hierarchy:
    name: str
    levels: tuple[Level, ...]

    @property
    def top(self) -> int:
        """The coarsest level."""
        return len(self.levels) - 1

    def generalise(self, values: pd.Series, level: int) -> pd.Series:
        step = self.levels[level]
        return RULES[step.rule](values, step)


def _keep(values: pd.Series, level: Level) -> pd.Series:
    return values


def _band(values: pd.Series, level: Level) -> pd.Series:
    low = pd.to_numeric(values).astype("Int64") // level.width * level.width
    return low.astype("string") + "–" + (low + level.width - 1).astype("string")


@cache
def _counties() -> dict[str, str]:
    frame = municipalities()
    return dict(zip(frame["municipality_code"], frame["county_code"], strict=True))


def _county(values: pd.Series, level: Level) -> pd.Series:
    return values.map(_counties()).astype("string")


def _year(values: pd.Series, level: Level) -> pd.Series:
    return pd.to_datetime(values).dt.year.astype("Int64").astype("string")


def _quarter(values: pd.Series, level: Level) -> pd.Series:
    quarter = pd.to_datetime(values).dt.quarter.astype("Int64").astype("string")
    return _year(values, level) + "-Q" + quarter


def _month(values: pd.Series, level: Level) -> pd.Series:
    return pd.to_datetime(values).dt.strftime("%Y-%m").astype("string")


def _constant(values: pd.Series, level: Level) -> pd.Series:
    return pd.Series(level.value, index=values.index, dtype="string")


# The rules a level of generalisation.yaml may name; missing values stay missing.
RULES = {"keep": _keep, "band": _band, "county": _county, "year": _year, "quarter": _quarter,
         "month": _month, "constant": _constant}


@cache
def _config() -> dict:
    with resources.files("insyn.disclosure").joinpath("generalisation.yaml").open(encoding="utf-8") as f:
        return yaml.safe_load(f)


@cache
def hierarchies() -> dict[str, Hierarchy]:
    return {name: Hierarchy(name, tuple(Level(**level) for level in levels))
            for name, levels in _config()["hierarchies"].items()}


def hierarchy_for(column: str, kind: str) -> Hierarchy:
    """The hierarchy of a quasi-identifier: by its column name, else by its kind (model/tables.py)."""
    config = _config()
    return hierarchies()[config["columns"].get(column) or config["kinds"].get(kind) or config["default"]]


def group_sizes(frame: pd.DataFrame, quasi: Sequence[str], persons: Sequence[str]) -> pd.Series:
    """For each row, how many distinct persons share its quasi-identifier values (the fewest
    over the person columns, when a row names more than one)."""
    if not quasi:
        return pd.Series(min(frame[p].nunique() for p in persons), index=frame.index)
    grouped = frame.groupby(list(quasi), dropna=False, sort=False)
    return pd.concat([grouped[p].transform("nunique") for p in persons], axis=1).min(axis=1)


@dataclass(frozen=True)
class PersonRows:
    """One table's rows as the search sees them: `persons` are the columns naming whom a row
    is about, `quasi` its quasi-identifiers (each with a hierarchy)."""

    frame: pd.DataFrame
    persons: tuple[str, ...]
    quasi: tuple[str, ...]


@dataclass(frozen=True)
class Generalisation:
    """The chosen level of each quasi-identifier and what it costs over all tables."""

    levels: dict[str, int]
    loss: Fraction  # information_loss of the levels
    rows: int
    suppressed_rows: int
    within_limit: bool


@dataclass(frozen=True)
class _Combinations:
    """A table's distinct combinations of persons and quasi-identifier values, with the
    integer codes of each quasi-identifier at every level and the rows of each combination."""

    persons: pd.DataFrame
    codes: dict[str, list[np.ndarray]]
    rows: np.ndarray

    @classmethod
    def of(cls, table: PersonRows, hierarchies: Mapping[str, Hierarchy]) -> _Combinations:
        counted = table.frame.groupby([*table.persons, *table.quasi], dropna=False, sort=False).size()
        distinct = counted.index.to_frame(index=False)
        codes = {q: [pd.factorize(hierarchies[q].generalise(distinct[q], level), use_na_sentinel=False)[0]
                     for level in range(hierarchies[q].top + 1)]
                 for q in table.quasi}
        return cls(distinct[list(table.persons)], codes, counted.to_numpy())

    def suppressed_rows(self, levels: Mapping[str, int], k: int) -> int:
        frame = self.persons.assign(**{q: codes[levels[q]] for q, codes in self.codes.items()})
        small = group_sizes(frame, list(self.codes), list(self.persons.columns)) < k
        return int(self.rows[small.to_numpy()].sum())


def information_loss(levels: Mapping[str, int], hierarchies: Mapping[str, Hierarchy]) -> Fraction:
    """The mean share of each hierarchy's height used: 0 keeps every value, 1 is the coarsest."""
    if not levels:
        return Fraction(0)
    return sum((Fraction(level, hierarchies[q].top) for q, level in levels.items()), Fraction(0)) / len(levels)


def _preference(candidate: Generalisation) -> tuple:
    """Within the limit: least loss, then fewest rows dropped. Beyond it: fewest rows
    dropped, then least loss."""
    if candidate.within_limit:
        return (0, candidate.loss, candidate.suppressed_rows)
    return (1, candidate.suppressed_rows, candidate.loss)


def search(tables: Sequence[PersonRows], hierarchies: Mapping[str, Hierarchy], k: int,
           max_suppressed: float) -> Generalisation:
    """The least generalisation that drops at most `max_suppressed` (a share) of all rows of
    `tables`; when none does, the one that drops fewest. `hierarchies` holds one hierarchy
    per quasi-identifier of any table."""
    combinations = [_Combinations.of(table, hierarchies) for table in tables]
    rows = sum(len(table.frame) for table in tables)
    names = list(hierarchies)
    nodes = [dict(zip(names, node, strict=True))
             for node in itertools.product(*(range(hierarchies[q].top + 1) for q in names))]
    by_loss = sorted(((information_loss(levels, hierarchies), levels) for levels in nodes), key=itemgetter(0))
    best: Generalisation | None = None
    for loss, levels in by_loss:
        if best is not None and best.within_limit and loss > best.loss:
            break
        suppressed = sum(c.suppressed_rows(levels, k) for c in combinations)
        candidate = Generalisation(levels, loss, rows, suppressed, suppressed <= max_suppressed * rows)
        if best is None or _preference(candidate) < _preference(best):
            best = candidate
    assert best is not None  # the least generalisation is always a candidate
    return best


def persons_in(frame: pd.DataFrame, persons: Sequence[str]) -> set:
    return set().union(*(set(frame[p].dropna()) for p in persons))


def protect(table: PersonRows, hierarchies: Mapping[str, Hierarchy], levels: Mapping[str, int],
            k: int) -> pd.DataFrame:
    """The table generalised to `levels`, without the rows of groups under k persons."""
    generalised = table.frame.assign(**{q: hierarchies[q].generalise(table.frame[q], levels[q])
                                        for q in table.quasi})
    return generalised[group_sizes(generalised, table.quasi, table.persons) >= k]
