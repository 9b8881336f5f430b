"""Primary and secondary suppression of indicator results: the one disclosure layer everything
published goes through.

Every result row shows up to two *cells*: its numerator and its denominator when they are
counts or sums (a population is public and a median is not additive). The same number is one
cell wherever it is shown: two indicators that count the same subjects the same way (all
reports, say, as the numerator of reports per 1 000 children and the denominator of reports per
source) share their cells, so hiding it in one place and showing it in another is impossible.
Cells of one quantity, municipality and year are linked by equations: a total is its parts by
sex, age group, unit, category or quarter plus what those parts leave out.

Primary suppression hides each row showing a small count (1 to count_threshold − 1), a sum of
fewer records than that (or one its largest records dominate: the (n, k) and p% rules), and each share,
rate or median over fewer than denominator_threshold. Secondary suppression
(`insyn.disclosure.linked.protect`) then hides further rows until no hidden small count can be
narrowed, from everything shown, to a range narrower than the protection width.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import logging
import multiprocessing
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from insyn.disclosure import linked as linked_module
from insyn.disclosure.grid import SIDES
from insyn.disclosure.linked import Equation, LinkedTables, Range, attack, components
from insyn.disclosure.linked import protect as protect_linked
from insyn.disclosure.rules import NEVER_PUBLIC_SUMS, DisclosureRules, SumRule
from insyn.disclosure.status import HIDDEN, NEVER_PUBLISHED, PRIMARY, PUBLISHABLE, SECONDARY, is_hidden
from insyn.errors import Conflict
from insyn.files import write_atomically
from insyn.indicators.definitions import Condition, Count, Definition, Strict, library
from insyn.indicators.engine import CELL_KEY_COLUMNS, CONTRIBUTION_COLUMNS
from insyn.indicators.kinds import subject_kind
from insyn.indicators.pooled import POOLED, in_windows, pooled_label

log = logging.getLogger(__name__)
BREAKDOWNS = ("unit", "sex", "age_group")
ROW_KEY = ("indicator", "municipality", "period_type", "period", *BREAKDOWNS, "category")
CELL_KEYS = ["quantity", "municipality", "period", "unit", "sex", "age_group", "category"]

# What hiding a row loses, by how much of the table it summarises: a municipality's yearly total
# is worth most; a quarter of one unit least.
ROW_COST = {(True, True): 100.0, (True, False): 10.0, (False, True): 10.0, (False, False): 1.0}


def _quantity(definition: Definition, count: Count | None) -> str | None:
    """What a count counts, the same text for the same number in any indicator; None for what
    is not a disclosable cell (a population, nothing)."""
    if count is None or count.population:
        return None
    subjects = definition.subjects_of(count)
    return f"{subjects.key()}|{count.model_dump_json(exclude_none=True, exclude={'subjects'})}"


def _is_subset(definition: Definition) -> bool:
    """The numerator counts some of the denominator's subjects, so it is at most the
    denominator: the same subjects, measured the same way, the denominator unconditioned."""
    num, den = definition.numerator, definition.denominator
    if num is None or den is None or num.population or den.population or den.where is not None:
        return False
    same_measure = (num.count, num.count_distinct, num.sum) == (den.count, den.count_distinct, den.sum)
    return same_measure and definition.subjects_of(num).key() == definition.subjects_of(den).key()


def _with_values(where: Condition | None, kept: dict[str, list[str]]) -> Condition | None:
    """The condition and, for each column of `kept`, one of those values (sorted, so that the
    same restriction compares equal however it was written)."""
    if not kept:
        return where
    base = where.model_dump(exclude_none=True) if where else {}
    one_of = {**base.get("one_of", {})}
    for column, values in kept.items():
        held = set(values) & set(one_of[column]) if column in one_of else set(values)
        one_of[column] = sorted(held)
    return Condition.model_validate({**base, "one_of": one_of})


def _year(period: pd.Series) -> pd.Series:
    return period.str.slice(0, 4)


class Linked:
    """Result rows as linked tables (insyn.disclosure.linked): the cells, the rows that show
    them, the equations between them. `cells` has one row per cell, `shown` the (row, cell)
    pairs."""

    def __init__(self, results: pd.DataFrame, definitions: dict[str, Definition], rules: DisclosureRules):
        self.results = results
        self.definitions = definitions
        self.rules = rules
        shown = pd.concat([self._side(results, definitions, side) for side in SIDES], ignore_index=True)
        shown = self._split_disagreeing(shown)
        shown["cell"] = shown.groupby(CELL_KEYS, dropna=False, sort=False).ngroup()
        self.shown = shown
        cells = shown.groupby("cell", sort=True).agg(
            **{k: (k, "first") for k in CELL_KEYS}, period_type=("period_type", "first"),
            value=("value", "first"), sum=("sum", "first"), contributors=("contributors", "max"),
            largest=("largest", "max"), second=("second", "max"), kind=("kind", "first"))
        self.cells = cells.reset_index(drop=True)
        self.public_kind = self._public_kind()
        within, disjoint = self._nested(definitions)
        self._few = self._over_too_few()
        self._by_rule, self._cost = self._required(), self._costs()
        self.tables = LinkedTables(
            values=self.cells.value.to_numpy(dtype=float), required=self._by_rule, rows=self._rows(),
            cost=self._cost, equations=self._equations() + disjoint,
            inequalities=sorted(set(self._inequalities(definitions)) | set(within)))
        self.set_public(self.public_kind & self.cells.unit.isna().to_numpy())

    def set_public(self, public: np.ndarray) -> None:
        """Make exactly these cells public figures: not sensitive, and the rows showing only
        them never hidden (`public_rows`)."""
        self.public = public
        self.public_rows = np.array([bool(cells) and bool(public[list(cells)].all()) for cells in self.tables.rows])
        self.tables.required = np.where(public, 0.0, self._by_rule)
        self.tables.cost = np.where(self.public_rows, np.inf, self._cost)

    def know(self, shown_before: np.ndarray) -> None:
        """The numerators (column 0) and denominators (column 1) of these rows are known to any
        reader, whatever is hidden now: an earlier publication showed them as they are."""
        shown = self.shown
        sides = np.array([SIDES.index(side) for side in shown.side])
        known = shown_before[shown.row.to_numpy(), sides]
        self.tables.known = np.zeros(len(self.tables.values), dtype=bool)
        self.tables.known[shown.cell.to_numpy()[known]] = True

    def demote(self, cells: list[int]) -> None:
        """These cells are public figures no longer: they keep the protection."""
        public = self.public.copy()
        public[cells] = False
        self.set_public(public)

    def cap_to_public(self, cells: list[int]) -> None:
        """Require of each cell no wider a range than it has with only the public figures shown:
        a count that public figures bound (the mentoring of three new caseworkers, whose number
        is public) cannot be less known than they leave it, and is protected when nothing else
        published narrows it further."""
        tables = self.tables
        visible = np.zeros(len(tables.values), dtype=bool)  # the public figures alone: not what
        for row in np.flatnonzero(self.public_rows):        # an earlier release made known
            visible[list(tables.rows[row])] = True
        wanted = set(cells)
        for component in components(tables, visible):
            asked = sorted(wanted.intersection(component))
            if asked:
                for cell, found in attack(tables, visible, component, asked).items():
                    self._by_rule[cell] = min(self._by_rule[cell], found.width)
                    tables.required[cell] = min(tables.required[cell], found.width)

    @staticmethod
    def _side(results: pd.DataFrame, definitions: dict[str, Definition], side: str) -> pd.DataFrame:
        quantity = {i: _quantity(d, getattr(d, side)) for i, d in definitions.items()}
        # A subject in several categories (a SIP meeting's organisations): the category cells do
        # not add up to a total, so they are cells of their own, in no equation with one.
        quantity |= {i: f"{quantity[i]}|overlapping categories" for i, d in definitions.items()
                     if side == "numerator" and d.overlapping_categories and quantity[i]}
        of_all = {i for i, d in definitions.items() if d.category and d.category_shares == "of_all"}
        sums = {i for i, d in definitions.items() if getattr(d, side) is not None and getattr(d, side).sum}
        kinds = {i: definitions[i].subjects_of(getattr(definitions[i], side)).kind for i in sums}
        frame = pd.DataFrame({
            "row": np.arange(len(results)),
            "indicator": results.indicator.to_numpy(),
            "side": side,
            "quantity": results.indicator.map(quantity).to_numpy(),
            **{k: results[k].to_numpy() for k in ("municipality", "period", "period_type", *BREAKDOWNS)},
            # A share of all (reports per source) is of the total over every category.
            "category": results.category.where(~(results.indicator.isin(of_all) & (side == "denominator"))).to_numpy(),
            "value": results[side].to_numpy(dtype=float),
            "sum": results.indicator.isin(sums).to_numpy(),
            "contributors": results.get(f"{side}_contributors", pd.Series(np.nan, index=results.index)).to_numpy(),
            "largest": results.get(f"{side}_largest", pd.Series(np.nan, index=results.index)).to_numpy(),
            "second": results.get(f"{side}_second", pd.Series(np.nan, index=results.index)).to_numpy(),
            # The kind of subject summed: the sum rules may apply to some kinds only.
            "kind": results.indicator.map(kinds).to_numpy(),
        })
        return frame[frame.quantity.notna() & frame.value.notna()]

    @staticmethod
    def _split_disagreeing(shown: pd.DataFrame) -> pd.DataFrame:
        """A quantity whose rows disagree somewhere is not one number after all (a definition
        this module does not understand): each indicator then keeps its own cells."""
        values = shown.groupby(CELL_KEYS, dropna=False, sort=False).value
        spread = values.max() - values.min()
        disagreeing = set(spread[spread > 1e-9].index.get_level_values("quantity"))
        if disagreeing:
            split = shown.quantity.isin(disagreeing)
            shown.loc[split, "quantity"] = shown.quantity[split] + "|" + shown.indicator[split]
        return shown

    def _public_kind(self) -> np.ndarray:
        """Cells of the kind the rules' policy makes public (`DisclosureRules.public`): counting
        subjects of a public kind, shown by an indicator the policy does not except (the same
        number shown by an excepted one is public all the same). Public figures are those of a
        whole municipality; a unit's keep the protection."""
        public_sides = {(i, side) for i, d in self.definitions.items() for side in SIDES
                        for policy in self.rules.public if i not in policy.except_indicators
                        if (count := getattr(d, side)) is not None and not count.population
                        and d.subjects_of(count).kind in policy.about and count.sum not in NEVER_PUBLIC_SUMS}
        shown = self.shown
        by_public = [(i, side) in public_sides for i, side in zip(shown.indicator, shown.side, strict=True)]
        cells = np.zeros(len(self.cells), dtype=bool)
        cells[shown.cell[by_public].unique()] = True
        return cells

    def _required(self) -> np.ndarray:
        cells, rules = self.cells, self.rules
        small_count = ~cells["sum"] & (cells.value > 0) & (cells.value < rules.count_threshold)
        # Results stored before sums carried their contributors: the sum itself is the count.
        records = cells.contributors.fillna(cells.value)
        few_records = cells["sum"] & (records > 0) & (records < rules.count_threshold)
        required = np.select([small_count, few_records | self._dominated()], [rules.width, rules.sum_protection], 0.0)
        # A share over too few is hidden so that it cannot be read: its numerator must not be
        # recomputable from what is shown either (six of eight says two were not), whatever it is.
        shown = self.shown
        over_few = shown.cell[(shown.side == "numerator").to_numpy() & self._few[shown.row.to_numpy()]]
        over_few = over_few[~cells["sum"].to_numpy()[over_few]]
        required[over_few] = np.maximum(required[over_few], rules.width)
        return required

    def _dominated(self) -> np.ndarray:
        """Sums the dominance rule or the p% rule hides (where they apply). A second largest
        record unknown (results stored before it was kept) counts as none."""
        cells, rules = self.cells, self.rules
        largest, second = cells.largest.fillna(0.0), cells.second.fillna(0.0)
        positive = (cells["sum"] & (cells.value > 0)).to_numpy()
        hidden = np.zeros(len(cells), dtype=bool)
        dominance, p_percent = rules.dominance, rules.p_percent
        if dominance:
            top = largest + (second if dominance.n == 2 else 0.0)
            hidden |= self._of_kinds(dominance) & (top > cells.value * dominance.percent / 100).to_numpy()
        if p_percent:
            rest = cells.value - largest - second
            hidden |= self._of_kinds(p_percent) & (rest < largest * p_percent.p / 100).to_numpy()
        return positive & hidden

    def _of_kinds(self, rule: SumRule) -> np.ndarray:
        """The cells that are sums of a kind the rule applies to."""
        return self.cells.kind.map(lambda kind: isinstance(kind, str) and rule.applies_to(kind)).to_numpy(dtype=bool)

    def _over_too_few(self) -> np.ndarray:
        """Rows of a share, rate or median over fewer than denominator_threshold (its
        denominator's records, or the count itself)."""
        den = self.results.denominator.to_numpy(dtype=float)
        contributors = self.results.get("denominator_contributors",
                                        pd.Series(np.nan, index=self.results.index)).to_numpy(dtype=float)
        base = np.where(np.isnan(contributors), den, contributors)
        shares = self.results.indicator.isin([i for i, d in self.definitions.items()
                                              if d.denominator is not None and not d.denominator.population])
        return shares.to_numpy() & (base > 0) & (base < self.rules.denominator_threshold)

    def _rows(self) -> list[tuple[int, ...]]:
        rows: list[tuple[int, ...]] = [() for _ in range(len(self.results))]
        for row, cell in zip(self.shown.row.to_numpy(), self.shown.cell.to_numpy(), strict=True):
            rows[row] = (*rows[row], int(cell))
        return rows

    def _costs(self) -> np.ndarray:
        r = self.results
        yearly = (r.period_type == "year").to_numpy()
        total = r[[*BREAKDOWNS, "category"]].isna().all(axis=1).to_numpy()
        return np.array([ROW_COST[(y, t)] for y, t in zip(yearly, total, strict=True)])

    def _equations(self) -> list[Equation]:
        """Total = parts + remainder, along each axis: breakdowns, categories, quarters, and
        three years pooled."""
        cells = self.cells.assign(cell=np.arange(len(self.cells)), year=_year(self.cells.period))
        dims = [*BREAKDOWNS, "category"]
        equations = []

        def link(parts: pd.DataFrame, totals: pd.DataFrame, on: list[str]) -> None:
            joined = parts.merge(totals[[*on, "cell"]], on=on, suffixes=("", "_total"))
            if joined.empty:
                return
            joined = joined.sort_values("cell_total", kind="stable")
            total, part = joined.cell_total.to_numpy(dtype=int), joined.cell.to_numpy(dtype=int)
            starts = np.flatnonzero(np.r_[True, total[1:] != total[:-1]])
            for group_total, group_parts in zip(total[starts], np.split(part, starts[1:]), strict=True):
                equations.append(Equation(int(group_total), tuple(group_parts.tolist())))

        na = cells[dims].isna()
        for dim in dims:
            others = [d for d in dims if d != dim]
            parts = cells[cells[dim].notna()]
            totals = cells[na[dim]]
            link(parts, totals, ["quantity", "municipality", "period", *others])
        quarters = cells[cells.period_type == "quarter"].drop(columns="period")
        years = cells[cells.period_type == "year"].rename(columns={"period": "year_total"})
        years = years.assign(year=years.year_total)
        link(quarters, years, ["quantity", "municipality", "year", *dims])
        pooled = cells[cells.period_type == POOLED]
        if len(pooled):  # three years pooled are their years added up
            windows = in_windows(years, years.year_total.astype(int))
            windows["window"] = windows.pop("last_year").map(pooled_label)
            link(windows, pooled.rename(columns={"period": "window"}), ["quantity", "municipality", "window", *dims])
        return equations

    def _inequalities(self, definitions: dict[str, Definition]) -> list[tuple[int, int]]:
        subset = [i for i, d in definitions.items() if _is_subset(d)]
        pairs = self.shown[self.shown.indicator.isin(subset)].pivot_table(
            index="row", columns="side", values="cell", aggfunc="first")
        if not set(SIDES) <= set(pairs.columns):
            return []
        pairs = pairs.dropna()
        return sorted({(int(n), int(d)) for n, d in zip(pairs.numerator, pairs.denominator, strict=True) if n != d})

    def _nested(self, definitions: dict[str, Definition]) -> tuple[list[tuple[int, int]], list[Equation]]:
        """Relations between counts of the same kind of subjects measured the same way, derived
        from the definitions, between the cells of the same municipality, period and breakdown:
        where subjects (the kind's `narrows`) and conditions nest, a pair smaller ≤ larger (over
        five years ≤ at least three years; new hires with a mentor ≤ caseworkers new in the
        municipality); where conditions exclude each other within a third, an equation that is
        not exact (under one year + at least three years ≤ all with an exam year)."""
        counts = {}
        for definition in definitions.values():
            for count in (definition.numerator, definition.denominator):
                quantity = _quantity(definition, count)
                if quantity is not None and count is not None:
                    subjects = definition.subjects_of(count)
                    measure = (subjects.kind, count.count, count.count_distinct, count.sum)
                    # Subjects of a narrower spec as the widest spec's with a condition (the
                    # ledger's out-of-home forms: all its rows, one_of those forms).
                    widest, kept = subjects.spec.widened() if isinstance(subjects.spec, Strict) else (subjects.spec, {})
                    # (A one_of written in the definition sorted too, so that it compares equal.)
                    written = count.where.one_of or {} if count.where else {}
                    counts[quantity] = (measure, _with_values(count.where, {**written, **kept}), widest)
        keys = self.cells[["municipality", "period", *BREAKDOWNS, "category"]].astype("string").fillna("")
        by_quantity: dict[str, dict[tuple, int]] = {}
        for cell, (quantity, key) in enumerate(zip(self.cells.quantity, keys.itertuples(index=False, name=None),
                                                   strict=True)):
            by_quantity.setdefault(quantity, {})[key] = cell
        # A category's count is the count of its subjects with the category's value: reports from
        # school (a category of reports per source) against reports from school about children
        # of school age (a count of its own elsewhere).
        per_category = self._category_counts(definitions, counts, by_quantity)
        counts |= {q: c for q, (c, _) in per_category.items()}
        by_quantity |= {q: cells for q, (_, cells) in per_category.items()}
        groups: dict[tuple, list[str]] = {}
        for quantity in sorted(set(by_quantity) & set(counts)):
            groups.setdefault(counts[quantity][0], []).append(quantity)

        def matched(*quantities: str) -> list[tuple[int, ...]]:
            """The cells of these quantities at the same municipality, period and breakdown."""
            first, *others = (by_quantity[q] for q in quantities)
            return [(cell, *(other[key] for other in others)) for key, cell in first.items()
                    if all(key in other for other in others)]

        within: list[tuple[int, int]] = []
        disjoint: list[Equation] = []
        for members in groups.values():
            where = {q: counts[q][1] or Condition() for q in members}  # no condition: all subjects
            narrows = subject_kind(counts[members[0]][0][0]).narrows
            spec = {q: counts[q][2] for q in members}
            # A category's count is related only to counts with a condition of their own: the
            # category's equation already bounds it by the total of its subjects.
            related = [(a, b) for a in members for b in members if a != b
                       and (a in per_category) + (b in per_category) < 2
                       and not (a in per_category and where[b] == Condition())
                       and not (b in per_category and where[a] == Condition())]
            implies = {(a, b) for a, b in related if where[a].implies(where[b])
                       and (spec[a] == spec[b] or narrows is not None and narrows(spec[a], spec[b]))}
            # Each way where they imply each other: the same number, counted twice.
            for a, b in implies:
                within += [(int(x), int(y)) for x, y in matched(a, b)]
            for a, b in ((a, b) for a in members for b in members if a < b
                         and a not in per_category and b not in per_category):
                if where[a].excludes(where[b]):
                    for c in (c for c in members if (a, c) in implies and (b, c) in implies):
                        disjoint += [Equation(int(z), (int(x), int(y)), exact=False)
                                     for x, y, z in matched(a, b, c)]
        disjoint += self._sums_of_categories(definitions, counts, by_quantity, per_category)
        # What the definitions say holds of data the engine computed; results made otherwise (by
        # hand, say) may not keep it, and a relation the values break is none of theirs.
        value = self.cells.value.to_numpy(dtype=float)
        within = [(x, y) for x, y in within if x != y and value[x] <= value[y] + 1e-9]
        disjoint = [e for e in disjoint if value[list(e.parts)].sum() <= value[e.total] + 1e-9]
        return within, disjoint

    def _category_counts(self, definitions: dict[str, Definition], counts: dict,
                         by_quantity: dict[str, dict[tuple, int]]) -> dict[str, tuple[tuple, dict[tuple, int]]]:
        """Each category numerator's cells as a count of their own, with its condition and the
        category's value (`equals: {category: value}`), keyed as the cells of counts without a
        category are. Overlapping categories (a meeting's organisations) have no such condition."""
        found = {}
        for definition in definitions.values():
            quantity = _quantity(definition, definition.numerator)
            if not definition.category or definition.overlapping_categories or quantity not in by_quantity:
                continue
            measure, where, spec = counts[quantity]
            cells_by_value: dict[str, dict[tuple, int]] = {}
            for key, cell in by_quantity[quantity].items():
                if key[-1]:  # a row without a category value (a total) is no category's count
                    cells_by_value.setdefault(key[-1], {})[(*key[:-1], "")] = cell
            for value, cells in cells_by_value.items():
                base = where.model_dump(exclude_none=True) if where else {}
                condition = Condition.model_validate(
                    {**base, "equals": {**base.get("equals", {}), definition.category: value}})
                found[f"{quantity}|{definition.category}={value}"] = ((measure, condition, spec), cells)
        return found

    @staticmethod
    def _sums_of_categories(definitions: dict[str, Definition], counts: dict, by_quantity: dict,
                            per_category: dict) -> list[Equation]:
        """A count that is some of a category indicator's categories, added up (the ledger's
        out-of-home cost: the cost per form of familjehem, jourhem, HVB, stödboende and SiS): its
        cell = those categories' cells + the true remainder, at the same municipality, period and
        breakdown."""
        equations: list[Equation] = []
        for definition in definitions.values():
            quantity = _quantity(definition, definition.numerator)
            if not definition.category or definition.overlapping_categories or quantity not in counts:
                continue
            measure, where, spec = counts[quantity]
            column = definition.category
            parts = {q.rsplit("=", 1)[1]: q for q in per_category if q.startswith(f"{quantity}|{column}=")}
            for other, (other_measure, other_where, other_spec) in counts.items():
                values = (other_where.one_of or {}).get(column) if other_where else None
                if (other in per_category or other == quantity or other_measure != measure or other_spec != spec
                        or not values or other_where != _with_values(where, {column: values})):
                    continue
                for key, total in by_quantity.get(other, {}).items():
                    found = tuple(by_quantity[parts[v]][key] for v in values
                                  if v in parts and key in by_quantity[parts[v]])
                    if found:
                        equations.append(Equation(int(total), tuple(int(c) for c in found)))
        return equations

    def primary(self) -> np.ndarray:
        """Rows hidden by primary suppression: showing a sensitive cell, or a share, rate or
        median over too few."""
        sensitive = self.tables.required > 0
        hidden = np.array([any(sensitive[c] for c in cells) for cells in self.tables.rows])
        return (hidden | self._few) & ~self.public_rows

    def ranges(self, hidden_rows: np.ndarray) -> dict[int, Range]:
        """Every hidden cell's range as an attacker who sees the rest computes it."""
        visible = self.tables.visible_cells(hidden_rows)
        ranges = {}
        for component in components(self.tables, visible):
            ranges.update(attack(self.tables, visible, component))
        return ranges


IN_FULL_ONLY = "in_full_only"  # the column of rows shown to a reader in full that everyone else sees hidden


def protect(results: pd.DataFrame, rules: DisclosureRules, definitions: list[Definition] | None = None,
            cache_dir: Path | None = None, shown_in_full: np.ndarray | None = None,
            hidden_before: np.ndarray | None = None, shown_before: np.ndarray | None = None) -> pd.DataFrame:
    """The results with a `status` per row (insyn.disclosure.status) and, where hidden, no
    numerator, denominator or value. Rows of a period the data do not yet cover, or of an
    unknown indicator, are never published. Given a folder, the statuses are kept there under a
    key of everything they depend on (the results, the rules, the definitions, this code), so
    publishing the same results again costs no LP.

    `shown_in_full` (a mask over the rows) is for a reader inside the organisation who may see
    some rows unprotected, their own units' say: those rows are shown, and the rest is protected
    against a reader who knows them (`_for_reader`). Never for publishing. The column
    IN_FULL_ONLY marks the rows shown that everyone else sees hidden.

    `hidden_before` (a mask over the rows) marks the rows an earlier publication of the same
    years hid, and `shown_before` (rows × numerator, denominator) the figures it showed as they
    are now (insyn.disclosure.releases): the rows are hidden again, and the figures count as
    known to every reader whatever is hidden now, so that a reader holding both publications
    cannot subtract one from the other."""
    known = {d.id: d for d in (definitions or library())}
    results = results.reset_index(drop=True)
    # The heuristic breaks ties by position, so it works on the rows in one canonical order:
    # the same results get the same hidden cells however the engine happened to return them.
    order = _canonical_order(results)
    canonical = results.iloc[order].reset_index(drop=True)
    before = [np.zeros(shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)[order]
              for mask, shape in ((hidden_before, len(results)), (shown_before, (len(results), 2)))]
    key = _cache_key(canonical, rules, known, *before)
    status = _cached(cache_dir, key, lambda: _statuses(canonical, rules, known, *before), len(results))
    public = status
    if shown_in_full is not None and shown_in_full.any():
        in_full = shown_in_full[order]
        reader = hashlib.sha256(np.packbits(in_full).tobytes()).hexdigest()[:16]
        published_status = status
        status = _cached(cache_dir, f"{key}-{reader}",
                         lambda: _for_reader(canonical, rules, known, published_status, in_full), len(results))
    back = np.argsort(order)
    status, public = status[back], public[back]
    # What the layer reads but never publishes: how many records a sum adds and the largest,
    # and the cell keys (with them and the p-table anyone could take cell-key noise away).
    published = results.drop(columns=[*CONTRIBUTION_COLUMNS, *CELL_KEY_COLUMNS], errors="ignore")
    published["status"] = status
    hidden = published.status.map(is_hidden).to_numpy(dtype=bool)
    # Shown to this reader only (their own rows): never a figure everyone else is compared with.
    published[IN_FULL_ONLY] = ~hidden & np.isin(public, list(HIDDEN))
    populations = published.indicator.isin([i for i, d in known.items()
                                            if d.denominator is not None and d.denominator.population])
    # A population is public (SCB's statistics): it stays beside a hidden count.
    published.loc[hidden, ["numerator", "value"]] = None
    published.loc[hidden & ~populations.to_numpy(), "denominator"] = None
    return published


def _key_text(results: pd.DataFrame) -> pd.DataFrame:
    """The columns that identify a result row, as text (missing as empty)."""
    return results[[k for k in ROW_KEY if k in results]].astype("string").fillna("")


class Unrepublishable(Conflict):
    """A later publication of a year cannot be protected together with what an earlier one showed."""

    heading = "Kan inte publiceras igen"


def _canonical_order(results: pd.DataFrame) -> np.ndarray:
    """Positions of the rows sorted by what identifies a result row (missing values first)."""
    text = _key_text(results)
    # Each column's rank among its sorted values orders as the text does, in far less memory
    # than the text as fixed-width NumPy strings.
    return np.lexsort([pd.factorize(text[k], sort=True)[0] for k in reversed(text.columns)])


def row_keys(results: pd.DataFrame) -> pd.Series:
    """One text per row naming what it is (indicator, municipality, period, breakdowns, category),
    the same for the same row in any publication: what the releases ledger keeps."""
    text = _key_text(results)
    first, *rest = text.columns
    return text[first].str.cat([text[k] for k in rest], sep="|").astype(object)


def _cached(cache_dir: Path | None, key: str, compute, rows: int) -> np.ndarray:
    """The statuses of `rows` rows kept under the key, or computed (and kept); a kept file that
    cannot be read or holds another number of statuses is computed again."""
    cached = cache_dir / f"disclosure-{key}.npy" if cache_dir else None
    if cached is not None and cached.exists():
        try:
            status = np.load(cached, allow_pickle=False)
            if status.shape == (rows,) and status.dtype.kind == "U":
                return status
        except (OSError, ValueError, EOFError):
            pass  # damaged: made again below
    status = compute()
    if cached is not None:
        buffer = io.BytesIO()
        np.save(buffer, status, allow_pickle=False)
        write_atomically(cached, buffer.getvalue())
    return status


def _for_reader(results: pd.DataFrame, rules: DisclosureRules, known: dict[str, Definition],
                published: np.ndarray, shown_in_full: np.ndarray) -> np.ndarray:
    """The published statuses with the rows shown in full shown, except where the reader could
    then work out a hidden small count of someone else's from them and the public release: a
    unit manager who sees their unit in full beside the published total and another unit knows
    the third. The reader may hold the release, so nothing it shows can be taken back: the rows
    around such a count are shown to the reader as published instead. No relation crosses a
    municipality, so only the reader's own municipalities are audited again."""
    never = published == NEVER_PUBLISHED
    status = published.copy()
    for municipality in pd.unique(results.municipality[shown_in_full & ~never]):
        rows = np.flatnonzero((results.municipality == municipality).to_numpy())
        shown = shown_in_full[rows] & ~never[rows]
        if shown[~never[rows]].all():  # the reader sees all of it: there is nothing to protect from them
            status[rows[shown]] = PUBLISHABLE
            continue
        was_hidden = np.array([is_hidden(s) for s in published[rows]])
        linked = _as_published(results.iloc[rows].reset_index(drop=True), known, rules, was_hidden)
        tables, cost = linked.tables, linked.tables.cost.copy()
        while True:
            # What the release shows is out, and what the reader sees in full is theirs: neither
            # can be hidden. Only the reader's own rows can go back to how they were published.
            tables.cost = np.where(shown | ~was_hidden, np.inf, cost)
            start = was_hidden & ~shown
            hidden, unprotected = protect_linked(tables, start)
            if unprotected:  # as uncertain as the public figures leave them, if no more
                linked.cap_to_public(unprotected)
                hidden, unprotected = protect_linked(tables, start)
            # A unit's employment figure the public ones and the reader's own unit give away is
            # employment statistics all the same: the reader's unit stays theirs.
            around = {r for cell in unprotected if not linked.public_kind[cell]
                      for relation in tables.relations_of[cell]
                      for c in tables.relation_cells(relation) for r in tables.rows_of[c] if shown[r]}
            if not around:
                break
            shown[list(around)] = False
        status[rows[shown]] = PUBLISHABLE
        status[rows[hidden & ~start & ~shown]] = SECONDARY
    return status


def _as_published(results: pd.DataFrame, known: dict[str, Definition], rules: DisclosureRules,
                  hidden: np.ndarray) -> Linked:
    """The linked tables of one municipality's rows as published (`hidden`): the public figures
    the published solution had to hide are not public here either."""
    linked = Linked(results, known, rules)
    linked.demote([c for r in np.flatnonzero(hidden) for c in linked.tables.rows[r] if linked.public[c]])
    return linked


# The results are protected in pieces of whole municipalities: no cell, row or relation crosses
# a municipality (a cell is one quantity, municipality and period), so the pieces are independent
# and their patterns are the one protecting all the rows at once gives (tests/test_disclosure.py
# compares). A piece holds at least this many rows, because building its linked tables costs
# about half a second whatever its size; with more than one piece, they are protected in a pool
# of processes, one per core (starting them costs a few seconds: they import the stack).
PIECE_ROWS = 20_000


def _statuses(results: pd.DataFrame, rules: DisclosureRules, known: dict[str, Definition],
              hidden_before: np.ndarray, shown_before: np.ndarray) -> np.ndarray:
    """The statuses of every row, protected piece by piece (`_piece_statuses`): in this process,
    or in a pool of processes when there are several pieces. The same pieces either way, so
    the same statuses."""
    pieces = _pieces(results.municipality.astype("string").fillna("").to_numpy(dtype=str))
    pieces.sort(key=len, reverse=True)  # the largest first: the pool's processes end together
    # Each piece's rows are copied out as its turn comes, so only the pieces in hand are held
    # twice (all of them at once would be a second copy of every row).
    work = ((results.iloc[rows].reset_index(drop=True), hidden_before[rows], shown_before[rows]) for rows in pieces)
    protect_piece = functools.partial(_protect_piece, rules=rules, known=known)
    # A daemonic process (a multiprocessing.Pool's worker) may not start processes of its own.
    workers = 1 if multiprocessing.current_process().daemon else min(len(os.sched_getaffinity(0)), len(pieces))
    if workers > 1:
        # Spawned, not forked: the web app imports in a thread, and a fork copies other threads' locks.
        log.info("Protecting %d rows in %d pieces on %d processes", len(results), len(pieces), workers)
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            found = list(_in_turn(pool, protect_piece, work, ahead=2 * workers))
    else:
        found = [protect_piece(piece) for piece in work]
    status = np.full(len(results), PUBLISHABLE, dtype="U1")
    for rows, piece_status in zip(pieces, found, strict=True):
        status[rows] = piece_status
    return status


def _in_turn(pool: Executor, function, items: Iterator, ahead: int) -> Iterator:
    """`pool.map(function, items)` that takes the next item only when fewer than `ahead` are
    submitted and not yet returned (`map` takes them all at once)."""
    submitted: deque[Future] = deque()
    try:
        for item in items:
            submitted.append(pool.submit(function, item))
            if len(submitted) >= ahead:
                yield submitted.popleft().result()
        while submitted:
            yield submitted.popleft().result()
    finally:  # a failure, or Ctrl-C: what has not started never does
        for future in submitted:
            future.cancel()


def _pieces(municipality: np.ndarray) -> list[np.ndarray]:
    """The row positions of each piece: whole municipalities in code order, each piece at least
    PIECE_ROWS rows (but the last)."""
    counts = np.unique(municipality, return_counts=True)[1]
    order = np.argsort(municipality, kind="stable")
    pieces, start = [], 0
    for end in np.cumsum(counts):
        if end - start >= PIECE_ROWS or end == len(municipality):
            pieces.append(np.sort(order[start:end]))
            start = end
    return pieces


def _protect_piece(piece: tuple[pd.DataFrame, np.ndarray, np.ndarray], rules: DisclosureRules,
                   known: dict[str, Definition]) -> np.ndarray:
    results, hidden_before, shown_before = piece
    return _piece_statuses(results, rules, known, hidden_before, shown_before)


def _piece_statuses(results: pd.DataFrame, rules: DisclosureRules, known: dict[str, Definition],
                    hidden_before: np.ndarray, shown_before: np.ndarray) -> np.ndarray:
    """The statuses of the rows of one piece (a municipality's, or any set of whole
    municipalities'): primary suppression, then secondary proved by the LP."""
    never = ~results.indicator.isin(known).to_numpy()
    if "complete" in results:
        never |= ~results.complete.fillna(True).astype(bool).to_numpy()
    linked = Linked(results, known, rules)
    linked.know(shown_before)
    primary = linked.primary() & ~never
    hidden, unprotected = protect_linked(linked.tables, primary | never | hidden_before)
    if unprotected:
        # Only rows of public figures may never be hidden, so what they bound can be protected
        # only as far as they leave it uncertain (a unit's headcount when it is the municipality's
        # only unit: not at all; the mentoring of three new caseworkers: between 0 and 3). The
        # protection runs again for those, from the solution so far: hiding more only widens.
        settled = linked.tables.required > 0
        settled[unprotected] = False
        linked.cap_to_public(unprotected)
        linked.tables.required = np.where(settled, 0.0, linked.tables.required)
        hidden, unprotected = protect_linked(linked.tables, hidden)
        if unprotected and shown_before.any():
            raise Unrepublishable(
                "De här uppgifterna kan inte publiceras igen så att de inte går att läsa ihop med en tidigare "
                "publicering av samma år: det som ändrats sedan dess skulle röja ett dolt litet tal, och det som "
                "visades då kan inte tas tillbaka. Publicera bara år som inte publicerats förut, eller vänta tills "
                "fler uppgifter kommit in.")
        if unprotected:
            raise RuntimeError(f"{len(unprotected)} dolda uppgifter kunde inte skyddas")
    return np.select([never, primary, hidden], [NEVER_PUBLISHED, PRIMARY, SECONDARY], PUBLISHABLE).astype("U1")


def _cache_key(results: pd.DataFrame, rules: DisclosureRules, definitions: dict[str, Definition],
               *masks: np.ndarray) -> str:
    digest = hashlib.sha256()
    digest.update(pd.util.hash_pandas_object(results, index=False).to_numpy().tobytes())
    for mask in masks:
        digest.update(np.packbits(mask).tobytes())
    digest.update(rules.model_dump_json().encode())
    digest.update(json.dumps([d.model_dump_json() for d in definitions.values()]).encode())
    for module in (__file__, linked_module.__file__):
        digest.update(Path(module).read_bytes())
    return digest.hexdigest()[:24]
