"""An attacker written apart from the protection: it reads only the published workbook (not the
suppression code's cells, equations or remainders), learns the relations between its rows from
the rows shown in full, and attacks every hidden count with an integer program.

What it learns, per indicator: whether the parts along a breakdown (unit, sex, age group,
category) add up to the total or stay within it, or all repeat it (a share's common
denominator); whether a year's quarters add up to it or count at least it; whether three years
add up to their pooled figure; whether a numerator
stays within its denominator; whether counts are whole numbers. Each hidden count that is truly
1–4 (the test looks it up in the results, which the attacker never sees) must keep a range at
least the protection width wide.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import openpyxl
import pandas as pd
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp

from insyn.disclosure.rules import load_rules
from insyn.indicators.definitions import library
from insyn.indicators.engine import compute
from insyn.ingest.load import import_files
from insyn.model.codes import label
from insyn.model.municipalities import municipalities
from insyn.publish import publish
from insyn.publish.publication import prepare
from insyn.store import open_store
from insyn.synth.generate import generate, write_tables

pytestmark = pytest.mark.slow

SMALL = ["2506", "2403", "2425", "1762"]  # Arjeplog, Bjurholm, Dorotea, Munkfors
HIDDEN = ".."
SIDES = ("Täljare", "Nämnare")
DIMS = ("Enhet", "Kön", "Åldersgrupp", "Kategori")
KEY = ("Indikator", "Kommunkod", "Period", *DIMS)
RULES = load_rules()


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    """The four small municipalities, three years (so three years pooled too), published with
    the shipped rules; and the true results (for the test's eyes only)."""
    folder = tmp_path_factory.mktemp("attacker")
    chosen = municipalities().set_index("municipality_code").loc[SMALL].reset_index()
    store = open_store(None)
    try:
        import_files(store, write_tables(generate(chosen, [2022, 2023, 2024], seed=11), folder / "data"), b"k" * 32)
        results = compute(store)
    finally:
        store.close()
    paths = publish(prepare(results, RULES), folder / "ut")
    return results, paths["excel"]


def read_published(path) -> pd.DataFrame:
    """The workbook's long sheet as the attacker reads it."""
    sheet = openpyxl.load_workbook(path, read_only=True)["Indikatorer"]
    data = list(sheet.iter_rows(values_only=True))
    frame = pd.DataFrame(data[1:], columns=data[0])
    for column in DIMS:
        frame[column] = frame[column].fillna("")
    frame["Kommunkod"] = frame["Kommunkod"].astype(str)
    return frame


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


class Attacker:
    """Relations learned from the shown rows, and integer programs over the hidden ones."""

    def __init__(self, published: pd.DataFrame):
        self.rows = published.reset_index(drop=True)
        self.hidden = {(r, side) for r, row in self.rows.iterrows() for side in SIDES if row[side] == HIDDEN}
        self.value = {(r, side): _number(row[side]) for r, row in self.rows.iterrows() for side in SIDES}
        self.groups = self._groups()
        self.kinds = {key: self._learn(key, instances) for key, instances in self.groups.items()}
        self.within = {i: self._learn_within(i) for i in self.rows.Indikator.unique()}
        self.whole = {(i, side): all(v is None or v == int(v) for (r, s), v in self.value.items()
                                     if s == side and self.rows.Indikator[r] == i)
                      for i in self.rows.Indikator.unique() for side in SIDES}

    def _groups(self) -> dict[tuple, list[tuple[int, list[int]]]]:
        """(indicator, axis, side) → [(total row, part rows)] for every table in the sheet."""
        rows = self.rows
        index = {tuple(row[k] for k in KEY): r for r, row in rows.iterrows()}
        groups: dict[tuple, list] = defaultdict(list)
        for r, row in rows.iterrows():
            set_dims = [d for d in DIMS if row[d]]
            if len(set_dims) == 1:
                total = index.get(tuple("" if k == set_dims[0] else row[k] for k in KEY))
                if total is not None:
                    groups[(row.Indikator, set_dims[0], total)].append(r)
            if row.Periodtyp == "kvartal":
                year = index.get(tuple(row[k][:4] if k == "Period" else row[k] for k in KEY))
                if year is not None:
                    groups[(row.Indikator, "kvartal", year)].append(r)
            if row.Periodtyp == "år":  # a year is part of each three years pooled it falls in
                for last in range(int(row.Period), int(row.Period) + 3):
                    pooled = index.get(tuple(f"{last - 2}–{last}" if k == "Period" else row[k] for k in KEY))
                    if pooled is not None:
                        groups[(row.Indikator, "tre år", pooled)].append(r)
        by_kind: dict[tuple, list] = defaultdict(list)
        for (indicator, axis, total), parts in groups.items():
            for side in SIDES:
                by_kind[(indicator, axis, side)].append((total, parts))
        return by_kind

    def _learn(self, key: tuple, instances: list[tuple[int, list[int]]]) -> str | None:
        """How parts relate to their total where all are shown: "sum" (add up), "within" (add up
        to at most), "at_least" (add up to at least: children in two quarters), "same" (each
        repeats it), or None."""
        _, _, side = key
        seen = []
        for total, parts in instances:
            values = [self.value[(r, side)] for r in (total, *parts)]
            if all(v is not None for v in values):
                seen.append((values[0], values[1:]))
        if not seen:
            return None
        for kind, holds in (("same", lambda t, p: all(abs(v - t) < 1e-9 for v in p)),
                            ("sum", lambda t, p: abs(sum(p) - t) < 1e-9),
                            ("within", lambda t, p: sum(p) <= t + 1e-9),
                            ("at_least", lambda t, p: sum(p) >= t - 1e-9)):
            if all(holds(t, p) for t, p in seen):
                return kind
        return None

    def _learn_within(self, indicator: str) -> bool:
        pairs = [(self.value[(r, SIDES[0])], self.value[(r, SIDES[1])])
                 for r in np.flatnonzero(self.rows.Indikator == indicator)]
        shown = [(n, d) for n, d in pairs if n is not None and d is not None]
        return bool(shown) and all(n <= d for n, d in shown)

    def ranges(self, targets: list[tuple[int, str]]) -> dict[tuple[int, str], tuple[float, float]]:
        """Min and max of each target hidden count, by integer programming over its indicator,
        municipality and year (every year, for an indicator with three years pooled)."""
        pooled = set(self.rows.Indikator[self.rows.Periodtyp == "tre år tillsammans"])
        blocks: dict[tuple, list] = defaultdict(list)
        for cell in self.hidden:
            row = self.rows.iloc[cell[0]]
            blocks[(row.Indikator, row.Kommunkod, "" if row.Indikator in pooled else str(row.Period)[:4])].append(cell)
        found = {}
        for block, cells in blocks.items():
            asked = [c for c in targets if c in set(cells)]
            if asked:
                found.update(self._attack(block[0], sorted(cells), asked))
        return found

    def _attack(self, indicator: str, cells: list, asked: list) -> dict:
        column = {c: i for i, c in enumerate(cells)}
        rows_in = {r for r, _ in cells}
        a, low, high = [], [], []

        def add(terms: dict[tuple, float], known: float, kind: str) -> None:
            """Σ coefficient × cell (hidden) + known (shown) compared with 0 by kind."""
            vector = np.zeros(len(cells))
            for cell, coefficient in terms.items():
                vector[column[cell]] += coefficient
            if not vector.any():
                return
            a.append(vector)
            low.append(-known if kind in ("eq", "ge") else -np.inf)
            high.append(-known if kind in ("eq", "le") else np.inf)

        def term(cell: tuple, coefficient: float, terms: dict, known: list) -> None:
            if cell in column:
                terms[cell] = terms.get(cell, 0.0) + coefficient
            elif self.value.get(cell) is not None:
                known[0] += coefficient * self.value[cell]
            else:
                known[0] = np.nan  # a cell of another block or none: this relation cannot be used

        for (i, _axis, side), kind in self.kinds.items():
            if i != indicator or kind is None:
                continue
            for total, parts in self.groups[(i, _axis, side)]:
                if total not in rows_in and not rows_in & set(parts):
                    continue
                if kind == "same":
                    for part in parts:
                        terms, known = {}, [0.0]
                        term((part, side), 1.0, terms, known)
                        term((total, side), -1.0, terms, known)
                        if not np.isnan(known[0]):
                            add(terms, known[0], "eq")
                    continue
                terms, known = {}, [0.0]
                for part in parts:
                    term((part, side), 1.0, terms, known)
                term((total, side), -1.0, terms, known)
                if not np.isnan(known[0]):
                    add(terms, known[0], {"sum": "eq", "within": "le", "at_least": "ge"}[kind])
        if self.within[indicator]:
            for r in rows_in:
                terms, known = {}, [0.0]
                term((r, SIDES[0]), 1.0, terms, known)
                term((r, SIDES[1]), -1.0, terms, known)
                if not np.isnan(known[0]):
                    add(terms, known[0], "le")
        integrality = np.array([self.whole[(indicator, side)] for _, side in cells], dtype=int)
        constraints = [LinearConstraint(np.array(a), low, high)] if a else []
        found = {}
        for cell in asked:
            objective = np.zeros(len(cells))
            objective[column[cell]] = 1.0
            ends = []
            for sign in (1.0, -1.0):
                result = milp(sign * objective, constraints=constraints, integrality=integrality,
                              bounds=Bounds(0, np.inf))
                if result.status == 2:  # what it learned contradicts itself here: nothing said
                    ends = [-np.inf, np.inf]
                    break
                ends.append(sign * result.fun if result.status == 0 else sign * -np.inf)
            found[cell] = (ends[0], ends[1])
        return found


def _truth(results: pd.DataFrame, published: pd.DataFrame) -> dict[tuple[int, str], float]:
    """The true count behind every hidden cell (0 where the engine had no row)."""
    definitions = {d.id: d for d in library()}
    labelled = results.assign(
        Indikator=results.indicator.map({i: d.name for i, d in definitions.items()}),
        Kommunkod=results.municipality, Period=results.period,
        Enhet=results.unit.fillna(""),
        Kön=results.sex.map(lambda v: label("sex", v) if isinstance(v, str) else ""),
        Åldersgrupp=results.age_group.map(lambda v: label("age_group", v) if isinstance(v, str) else ""),
        Kategori=[label(definitions[i].category, c) if isinstance(c, str) and definitions[i].category else ""
                  for i, c in zip(results.indicator, results.category, strict=True)])
    true = {tuple(row[k] for k in KEY): row for _, row in labelled.iterrows()}
    truth = {}
    for r, row in published.iterrows():
        found = true.get(tuple(row[k] for k in KEY))
        for side, column in zip(SIDES, ("numerator", "denominator"), strict=True):
            if row[side] == HIDDEN:
                truth[(r, side)] = 0.0 if found is None or pd.isna(found[column]) else float(found[column])
    return truth


def test_an_independent_attacker_narrows_no_hidden_small_count_below_the_width(release):
    results, workbook = release
    published = read_published(workbook)
    attacker = Attacker(published)
    assert attacker.hidden, "nothing hidden: the test would prove nothing"
    truth = _truth(results, published)
    sums = {d.name for d in library() if any(c.sum for c in d.counts())}
    targets = [cell for cell, value in truth.items()
               if 0 < value < RULES.count_threshold and published.Indikator[cell[0]] not in sums]
    assert len(targets) > 100
    ranges = attacker.ranges(targets)
    assert set(ranges) == set(targets)
    learned = {kind for kind in attacker.kinds.values() if kind}
    assert {"sum", "same"} <= learned  # it did learn the margins it attacks with
    assert any(axis == "tre år" and kind == "sum" for (_, axis, _), kind in attacker.kinds.items())
    # A range that misses the true count is the attacker misled (a relation it learned from the
    # shown rows does not hold for these), not a disclosure.
    narrow = {cell: (low, high) for cell, (low, high) in ranges.items()
              if high - low < RULES.width - 1e-6 and low - 1e-6 <= truth[cell] <= high + 1e-6}
    described = [(published.iloc[r][list(KEY)].tolist(), side, truth[(r, side)], bounds)
                 for (r, side), bounds in list(narrow.items())[:5]]
    assert not narrow, f"{len(narrow)} of {len(targets)} narrowed, e.g. {described}"


def test_the_attacker_finds_what_primary_suppression_alone_would_give_away():
    """The attacker is strong enough: girls 3 of 12 hidden beside all 31 of 40 and boys 28 of 28
    shown is pinned to exactly 3."""
    rows = [{"Indikator": "x", "Kommunkod": "0884", "Period": "2024", "Periodtyp": "år", "Enhet": "",
             "Kön": sex, "Åldersgrupp": "", "Kategori": "", "Täljare": n, "Nämnare": d}
            for sex, n, d in (("", 31, 40), ("Flickor", HIDDEN, HIDDEN), ("Pojkar", 28, 28))]
    # A second, fully shown year teaches it that the sexes add up to the total.
    rows += [{**row, "Period": "2023", "Täljare": n, "Nämnare": d}
             for row, (n, d) in zip(rows, ((20, 30), (9, 14), (11, 16)), strict=True)]
    attacker = Attacker(pd.DataFrame(rows))
    assert attacker.ranges([(1, "Täljare")]) == {(1, "Täljare"): (3.0, 3.0)}
    assert attacker.ranges([(1, "Nämnare")]) == {(1, "Nämnare"): (12.0, 12.0)}

