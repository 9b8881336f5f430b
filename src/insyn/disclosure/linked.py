"""Linked tables: what an attacker can compute from what is shown, and secondary suppression
that leaves nothing hidden recoverable.

The model is deliberately general. A *cell* is one number (a count or a sum). Cells are shown in
*rows* (a published result row shows its numerator and denominator together), and a cell is
visible when any visible row shows it. *Equations* say that a total is its parts plus a known
remainder (girls + boys + unknown sex = all; the quarters of a year; the units of a
municipality; the categories of a total); the remainder is taken from the true data, so the
attacker is assumed to know even what is never published (people of unknown sex, children
counted in two quarters) — protection against that attacker holds against any weaker one.
*Inequalities* say that one cell is at most another (a numerator within its denominator), and
equations that are not exact that parts add up to at most a total.

`attack` computes, by linear programming, the smallest and largest value every hidden cell can
take given everything visible; `Attacker.narrow` answers only whether a range is too narrow,
skipping the solves that the points already seen (`Seen`) make needless. `protect` hides whole
rows (never a part of one) until every sensitive cell's range is at least its required width:
an audit-and-repair heuristic of our own (docs/disclosure.md says why not pytauargus) that is
cheap because tables decompose into small independent components (one quantity, municipality
and year), then, for each small component, an integer program that looks for cheaper secondary
rows, audited by the same LP.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import highspy
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

# Ranges are compared with this slack: the LP solver's answers are floating point.
TOLERANCE = 1e-6


@dataclass(frozen=True)
class Equation:
    """total = Σ parts + the true remainder; or, not `exact`, Σ parts ≤ total (nested and
    disjoint definitions: over five years and under one year within all caseworkers)."""

    total: int
    parts: tuple[int, ...]
    exact: bool = True


@dataclass
class LinkedTables:
    """Cells, the rows that show them and the relations between them. `required[c]` > 0 makes
    cell c sensitive: if hidden, its range must be at least that wide. `cost[r]` is what hiding
    row r loses; a row with cost inf is never hidden by secondary suppression. A `known` cell is
    visible whatever is hidden (an earlier publication showed it as it is)."""

    values: np.ndarray
    required: np.ndarray
    rows: list[tuple[int, ...]]
    cost: np.ndarray
    equations: list[Equation] = field(default_factory=list)
    inequalities: list[tuple[int, int]] = field(default_factory=list)  # (smaller, larger)
    known: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    def __post_init__(self):
        if len(self.known) != len(self.values):
            self.known = np.zeros(len(self.values), dtype=bool)
        self.rows_of: list[list[int]] = [[] for _ in range(len(self.values))]
        for r, cells in enumerate(self.rows):
            for c in cells:
                self.rows_of[c].append(r)
        self.relations_of: list[list[tuple[str, int]]] = [[] for _ in range(len(self.values))]
        for e, equation in enumerate(self.equations):
            for c in (equation.total, *equation.parts):
                self.relations_of[c].append(("eq", e))
        for i, (smaller, larger) in enumerate(self.inequalities):
            self.relations_of[smaller].append(("le", i))
            self.relations_of[larger].append(("le", i))
        # The same, flat (one entry per cell of a row or relation): for the passes over all of them.
        # A relation's number here is its place in sorted order: the equations, then the inequalities.
        self._row_cells, self._row_of_cell = _flat(self.rows)
        self._relation_cells, self._relation_of_cell = _flat(
            [(e.total, *e.parts) for e in self.equations] + list(self.inequalities))
        # Each entry's sign in "total − Σ parts" and "smaller − larger"; where each relation's entries start.
        first = np.r_[True, np.diff(self._relation_of_cell) != 0][:len(self._relation_of_cell)]
        self._relation_sign = np.where(first, 1.0, -1.0)
        self._relation_start = np.searchsorted(self._relation_of_cell,
                                               np.arange(len(self.equations) + len(self.inequalities) + 1))
        self._exact = np.array([e.exact for e in self.equations] + [False] * len(self.inequalities), dtype=bool)
        self._by_cell = np.argsort(self._relation_cells, kind="stable")  # the entries, cell by cell
        self._cell_of_entry_by_cell = self._relation_cells[self._by_cell]
        self._relation_size = np.diff(self._relation_start)
        self.relation_names = [("eq", e) for e in range(len(self.equations))] + [
            ("le", i) for i in range(len(self.inequalities))]  # as `relations_of` names them, in that order

    def relations_around(self, cells: np.ndarray) -> np.ndarray:
        """The numbers (in `relation_names` order) of the relations holding any of the cells, ascending."""
        by_cell = self._cell_of_entry_by_cell
        entries = _between(np.searchsorted(by_cell, cells, "left"), np.searchsorted(by_cell, cells, "right"))
        return np.unique(self._relation_of_cell[self._by_cell[entries]])

    @functools.cached_property
    def true_values_possible(self) -> np.ndarray:
        """The cells whose true values, with those of every cell linked to them, are a point the
        attacker's model allows: none negative, every part within its total and every smaller
        cell within its larger (an exact equation's remainder is taken from them, so they meet
        it). A group of linked cells with a value the model rules out (a credit note's negative
        sum, a numerator over its denominator) has no true point to witness (`Seen`)."""
        signed = self._relation_sign * self.values[self._relation_cells]
        slack = np.bincount(self._relation_of_cell, weights=signed, minlength=len(self._exact))
        broken = np.r_[slack[:len(self.equations)] < -TOLERANCE, slack[len(self.equations):] > TOLERANCE]
        broken[:len(self.equations)] &= ~self._exact[:len(self.equations)]
        ruled_out = ~(self.values >= -TOLERANCE)  # NaN too
        ruled_out[self._relation_cells[broken[self._relation_of_cell]]] = True
        labels = _linked_groups(self, np.ones(len(self.values), dtype=bool))
        return ~np.isin(labels, labels[ruled_out])

    def relation_cells(self, relation: tuple[str, int]) -> tuple[int, ...]:
        kind, i = relation
        if kind == "eq":
            return (self.equations[i].total, *self.equations[i].parts)
        return self.inequalities[i]

    def visible(self, cell: int, hidden_rows: np.ndarray) -> bool:
        return bool(self.known[cell]) or not all(hidden_rows[r] for r in self.rows_of[cell])

    def visible_cells(self, hidden_rows: np.ndarray) -> np.ndarray:
        visible = self.known.copy()
        visible[self._row_cells[~hidden_rows[self._row_of_cell]]] = True
        return visible


def _flat(groups: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """The cells of every group one after another, and the group of each."""
    sizes = [len(group) for group in groups]
    cells = np.fromiter((c for group in groups for c in group), dtype=np.int64, count=sum(sizes))
    return cells, np.repeat(np.arange(len(groups)), sizes)


def _between(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The positions start ≤ i < end of every pair, one pair after another."""
    sizes = ends - starts
    return np.repeat(starts - np.cumsum(np.r_[0, sizes])[:-1], sizes) + np.arange(sizes.sum())


def _linked_groups(tables: LinkedTables, hidden: np.ndarray) -> np.ndarray:
    """A label per cell, the same for hidden cells that relations join through hidden cells."""
    entries = hidden[tables._relation_cells]
    cells, relation = tables._relation_cells[entries], tables._relation_of_cell[entries]
    # Every hidden cell of a relation joined to the relation's first hidden cell.
    found, first = np.unique(relation, return_index=True)
    joined = cells[first][np.searchsorted(found, relation)]
    size = len(tables.values)
    graph = coo_matrix((np.ones(len(cells), dtype=np.int8), (joined, cells)), shape=(size, size))
    return connected_components(graph, directed=False)[1]


def components(tables: LinkedTables, visible: np.ndarray) -> list[list[int]]:
    """Hidden cells grouped so that no relation joins two groups: each can be attacked alone.
    Each group's cells ascending, the groups by their first cell."""
    labels = _linked_groups(tables, ~visible)
    hidden_cells = np.flatnonzero(~visible)
    by_label = hidden_cells[np.argsort(labels[hidden_cells], kind="stable")]
    starts = np.flatnonzero(np.r_[True, np.diff(labels[by_label]) != 0])
    groups = np.split(by_label, starts[1:]) if len(by_label) else []
    return [group.tolist() for group in sorted(groups, key=lambda group: group[0])]


@dataclass(frozen=True)
class Range:
    """What an attacker can say about a hidden cell: low ≤ value ≤ high (high inf when nothing
    bounds it), and the relations that set those bounds (the ones worth loosening)."""

    low: float
    high: float
    binding: frozenset[tuple[str, int]]

    @property
    def width(self) -> float:
        return self.high - self.low


class Seen:
    """The smallest and largest value each cell took in an attacker's solutions, starting from
    the true values (when the model allows them). Every solution is a point the attacker cannot
    rule out, and a range is an interval, so a cell's range is at least as wide as what it spans
    here. The points stay possible while no hidden cell is shown again (hiding more only adds
    points)."""

    def __init__(self, tables: LinkedTables):
        possible = tables.true_values_possible
        self.lowest = np.where(possible, tables.values, np.inf)
        self.highest = np.where(possible, tables.values, -np.inf)

    def spans(self, cell: int, required: float) -> bool:
        return bool(self.highest[cell] - self.lowest[cell] >= required - TOLERANCE)

    def add(self, cells: np.ndarray, solution: np.ndarray) -> None:
        self.lowest[cells] = np.minimum(self.lowest[cells], solution)
        self.highest[cells] = np.maximum(self.highest[cells], solution)


class Attacker:
    """What can be said about the hidden cells of one or more whole components (`cells`: every
    hidden cell a relation of theirs holds) from the visible cells and every relation: one HiGHS
    model whose objective alone changes from question to question, so each solve starts warm.
    Its solutions go into `seen` (by default its own)."""

    def __init__(self, tables: LinkedTables, visible: np.ndarray, cells: Sequence[int], seen: Seen | None = None):
        self.cells = np.asarray(cells, dtype=np.int64)
        self.seen = seen or Seen(tables)
        self.index = {c: i for i, c in enumerate(cells)}
        numbers = tables.relations_around(self.cells)
        names = tables.relation_names
        self.relations = [names[n] for n in numbers]
        # One row per relation, total − Σ parts (or smaller − larger) over its entries: the hidden
        # cells are the columns, the visible ones move to the bounds.
        entries = _between(tables._relation_start[numbers], tables._relation_start[numbers + 1])
        row = np.repeat(np.arange(len(numbers)), tables._relation_size[numbers])
        cell = tables._relation_cells[entries]
        sign = tables._relation_sign[entries]
        hidden = ~visible[cell]
        signed = sign * tables.values[cell]
        # An exact equation's remainder is taken from the true values: what is left for the hidden
        # cells is their own signed sum. The others bound the hidden cells by the visible ones.
        shown = -np.bincount(row, weights=np.where(hidden, 0.0, signed), minlength=len(numbers))
        exact = tables._exact[numbers]
        is_equation = numbers < len(tables.equations)
        lower = np.where(exact, np.bincount(row, weights=np.where(hidden, signed, 0.0), minlength=len(numbers)),
                         np.where(is_equation, shown, -highspy.kHighsInf))
        upper = np.where(exact, lower, np.where(is_equation, highspy.kHighsInf, shown))
        order = np.argsort(self.cells, kind="stable")
        ascending = self.cells[order]
        position = np.searchsorted(ascending, cell[hidden]).clip(max=max(len(self.cells) - 1, 0))
        if hidden.any() and (not len(self.cells) or (ascending[position] != cell[hidden]).any()):
            raise ValueError("an attacker is built on whole components: a related hidden cell is missing")
        column = order[position]
        by_column = np.lexsort((row[hidden], column))
        self.highs = _model(len(self.cells), column[by_column], row[hidden][by_column], sign[hidden][by_column],
                            lower, upper)

    def range(self, cell: int) -> Range:
        column = self.index[cell]
        self.highs.changeColCost(column, 1.0)
        low, low_binding = self._optimise(highspy.ObjSense.kMinimize, cell)
        high, high_binding = self._optimise(highspy.ObjSense.kMaximize, cell)
        self.highs.changeColCost(column, 0.0)
        return Range(low, high, frozenset(low_binding | high_binding))

    def narrow(self, cell: int, required: float) -> Range | None:
        """The cell's range if it is narrower than `required`, else None. The same verdict as
        `range` (up to TOLERANCE), in fewer solves: none when the solutions seen so far already span the width,
        one when the maximum alone shows it."""
        if self.seen.spans(cell, required):
            return None
        column = self.index[cell]
        self.highs.changeColCost(column, 1.0)
        try:
            high, high_binding = self._optimise(highspy.ObjSense.kMaximize, cell)
            if high == np.inf or self.seen.spans(cell, required):
                return None
            low, low_binding = self._optimise(highspy.ObjSense.kMinimize, cell)
        finally:
            self.highs.changeColCost(column, 0.0)
        found = Range(low, high, frozenset(low_binding | high_binding))
        return found if found.width < required - TOLERANCE else None

    def _optimise(self, sense, cell: int) -> tuple[float, set[tuple[str, int]]]:
        """The optimum (inf when a maximum is unbounded) and the relations binding it; the
        solution's point goes into `seen`."""
        highs = self.highs
        highs.changeObjectiveSense(sense)
        highs.run()
        status = highs.getModelStatus()
        if status == highspy.HighsModelStatus.kUnknown:
            # A warm start from the previous question can end without a verdict (seen on an unbounded
            # maximum); solving the same model from scratch gives one.
            highs.clearSolver()
            highs.run()
            status = highs.getModelStatus()
        if sense == highspy.ObjSense.kMaximize and status in (highspy.HighsModelStatus.kUnbounded,
                                                              highspy.HighsModelStatus.kUnboundedOrInfeasible):
            return float("inf"), set()
        if status != highspy.HighsModelStatus.kOptimal:
            # The true values satisfy every relation unless the data break what the model assumes
            # (a negative sum, a numerator over its denominator); else a bug in how they were built.
            raise RuntimeError(f"attack on cell {cell}: {highs.modelStatusToString(status)}")
        solution = highs.getSolution()
        self.seen.add(self.cells, np.asarray(solution.col_value))
        binding = {self.relations[r] for r in np.flatnonzero(np.abs(np.asarray(solution.row_dual)) > TOLERANCE)}
        return highs.getInfo().objective_function_value, binding


def attack(tables: LinkedTables, visible: np.ndarray, cells: Sequence[int],
           asked: Iterable[int] | None = None) -> dict[int, Range]:
    """The range each asked cell (default: all of `cells`, whole components of hidden cells) can
    take given the visible cells and every relation."""
    attacker = Attacker(tables, visible, cells)
    return {c: attacker.range(c) for c in (cells if asked is None else asked)}


@contextlib.contextmanager
def _stdout_silenced():
    """Silence file descriptor 1 itself: HiGHS writes its banner from C++, around Python."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1)
        try:
            yield
        finally:
            os.dup2(saved, 1)
            os.close(saved)


def _new_highs() -> highspy.Highs:
    """A HiGHS instance, without the banner the first one in a process prints (before any option
    can turn it off), which would land in the middle of the CLI's output."""
    global _banner_shown
    if _banner_shown:
        return highspy.Highs()
    with _stdout_silenced():
        highs = highspy.Highs()
    _banner_shown = True
    return highs


_banner_shown = False


def _model(columns: int, column: np.ndarray, row: np.ndarray, value: np.ndarray, lower: np.ndarray,
           upper: np.ndarray) -> highspy.Highs:
    """A HiGHS model with one column per hidden cell (≥ 0) and one row per relation; the matrix's
    entries column by column."""
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = columns, len(lower)
    lp.col_cost_ = np.zeros(columns)
    lp.col_lower_ = np.zeros(columns)
    lp.col_upper_ = np.full(columns, highspy.kHighsInf)
    lp.row_lower_, lp.row_upper_ = lower, upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.searchsorted(column, np.arange(columns + 1))
    lp.a_matrix_.index_ = row.astype(np.int32)
    lp.a_matrix_.value_ = value.astype(float)
    highs = _new_highs()
    highs.setOptionValue("output_flag", False)
    highs.passModel(lp)
    return highs


def too_narrow(tables: LinkedTables, visible: np.ndarray, cells: Sequence[int], asked: Iterable[int]
               ) -> dict[int, Range]:
    """The asked cells (sensitive ones of `cells`, whole components of hidden cells) whose range
    is narrower than required (up to TOLERANCE), with their ranges."""
    attacker = Attacker(tables, visible, cells)
    found = {c: attacker.narrow(c, tables.required[c]) for c in asked}
    return {c: r for c, r in found.items() if r is not None}


def _partner(tables: LinkedTables, target: int, candidates: Iterable[int], hidden_rows: np.ndarray,
             width: float) -> int | None:
    """The candidate cell to hide next for `target`: one whose hiding can widen its range enough
    on its own if any (the cheapest, then the smallest), else the largest. Cells shown in a row
    that may not be hidden are never chosen."""
    deficit = tables.required[target] - width
    best, best_key = None, None
    for c in candidates:
        showing = [r for r in tables.rows_of[c] if not hidden_rows[r]]
        cost = tables.cost[showing].sum()
        if not np.isfinite(cost):
            continue
        value = tables.values[c]
        key = (value < deficit, cost, value if value >= deficit else -value)
        if best_key is None or key < best_key:
            best, best_key = c, key
    return best


def _candidates(tables: LinkedTables, relations: Iterable[tuple[str, int]], visible: np.ndarray) -> list[int]:
    """The visible cells in the given relations that hiding could make unknown."""
    return sorted({c for rel in relations for c in tables.relation_cells(rel) if visible[c] and not tables.known[c]})


def _pinned_alone(tables: LinkedTables, target: int, visible: np.ndarray) -> list[int] | None:
    """The visible cells of an equation in which the target is the only hidden cell (so the
    equation gives it away), or None when there is no such equation."""
    for kind, i in tables.relations_of[target]:
        if kind == "eq" and tables.equations[i].exact:
            cells = tables.relation_cells((kind, i))
            if sum(not visible[c] for c in cells) == 1:
                return [c for c in cells if visible[c] and not tables.known[c]]
    return None


def _hide(tables: LinkedTables, cell: int, hidden_rows: np.ndarray, visible: np.ndarray) -> None:
    """Hide every row showing the cell, and update which cells are still visible."""
    rows = tables.rows_of[cell]
    hidden_rows[rows] = True
    for c in {c for r in rows for c in tables.rows[r]}:
        visible[c] = tables.visible(c, hidden_rows)


def protect(tables: LinkedTables, hidden_rows: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Secondary suppression: more hidden rows (a copy) such that every hidden sensitive cell
    spans at least its required width; and the sensitive cells that could not be protected
    (none unless every row that could help may not be hidden).

    A heuristic finds a protecting pattern (`_heuristic`); then each small component of hidden
    cells has its secondary rows chosen again by an integer program (`_cheaper`), kept only where
    it is cheaper and passes the same LP audit."""
    protected, failed = _heuristic(tables, hidden_rows)
    return _cheaper(tables, hidden_rows, protected, set(failed)), failed


def _heuristic(tables: LinkedTables, hidden_rows: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Audit and repair. Hiding more can only widen what an attacker can say about a cell, so a
    cell once protected stays protected. Each pass first gives every cell that an equation alone
    gives away a partner from that equation (the classic singleton rule, no LP needed); when
    none is left, it attacks the components that still hold unprotected cells and, for each too
    narrow cell, hides a cell from a relation that binds it (the LP's dual values say which)."""
    hidden_rows = hidden_rows.copy()
    targets = set(np.flatnonzero(tables.required > 0).tolist())
    points = Seen(tables)  # every pass only hides more, so earlier passes' points stay possible
    protected: set[int] = set()
    failed: set[int] = set()
    while True:
        visible = tables.visible_cells(hidden_rows)
        open_targets = sorted(c for c in targets - protected - failed if not visible[c])
        singled = False
        for target in open_targets:
            candidates = _pinned_alone(tables, target, visible)
            if candidates is None:
                continue
            partner = _partner(tables, target, candidates, hidden_rows, 0.0)
            if partner is None:
                failed.add(target)
                continue
            _hide(tables, partner, hidden_rows, visible)
            singled = True
        if singled:
            continue
        repaired = False
        open_set = set(open_targets)
        # Attacks in this pass see the pass's start: a cell hidden since then counts as known,
        # which can only make an attack stronger (and the component lists stay valid).
        pass_visible = visible.copy()
        for component in components(tables, pass_visible):
            # Attack the component's open cells one by one up to the first too narrow one: the
            # others wait for the next pass, when a hide may already have protected them.
            attacker = None
            for target in (c for c in component if c in open_set):
                if points.spans(target, tables.required[target]):  # no model needed
                    protected.add(target)
                    continue
                attacker = attacker or Attacker(tables, pass_visible, component, points)
                found = attacker.narrow(target, tables.required[target])
                if found is None:
                    protected.add(target)
                    continue
                # Hide a cell from a relation that binds it; failing that, from any around it.
                partner = None
                for relations in (found.binding, {rel for c in component for rel in tables.relations_of[c]}):
                    partner = _partner(tables, target, _candidates(tables, relations, visible), hidden_rows,
                                       found.width)
                    if partner is not None:
                        break
                if partner is None:
                    failed.add(target)
                else:
                    _hide(tables, partner, hidden_rows, visible)
                repaired = True
                break
        if not repaired:
            return hidden_rows, sorted(failed)


# The integer program after the heuristic (`_cheaper`) is tried on a component of hidden cells
# when at most this many rows could change around it; a larger one keeps the heuristic's
# pattern. Measured on the demo region (docs/disclosure.md): at most 30 rows and 12 rounds save
# 120 of 5,694 secondary rows for 20 % more time; at most 40, 186 rows for 60 % more.
ILP_ROWS = 30
# Rounds of solve, audit and cut per component, and branch-and-bound nodes per solve: limits that
# count work, not seconds, so the same input gives the same pattern on any machine.
ILP_ROUNDS = 12
ILP_NODES = 10_000


def _cheaper(tables: LinkedTables, fixed: np.ndarray, hidden_rows: np.ndarray, failed: set[int]) -> np.ndarray:
    """The protecting pattern `hidden_rows` (a copy) with the secondary rows around each small
    component of hidden cells chosen again (`_reoptimise`). Rows in `fixed` stay hidden.
    Components with a cell that could not be protected are left as they are."""
    hidden_rows = hidden_rows.copy()
    visible = tables.visible_cells(hidden_rows)
    secondary = {c for r in np.flatnonzero(hidden_rows & ~fixed) for c in tables.rows[r]}
    for component in components(tables, visible):
        if not secondary.isdisjoint(component) and failed.isdisjoint(component):
            _reoptimise(tables, fixed, hidden_rows, visible, component, failed)
    return hidden_rows


def _reoptimise(tables: LinkedTables, fixed: np.ndarray, hidden_rows: np.ndarray, visible: np.ndarray,
                component: list[int], failed: set[int]) -> None:
    """Choose again which of the rows around a component are hidden, in place.

    The candidates are the rows, not fixed and not of infinite cost, that show a cell of the
    component or of a relation around it; every other row stays as it is. `_Master` finds the
    cheapest choice under the cuts so far; the LP audit (`Attacker`) of every component the
    choice changes either passes it, and it is kept (it is cheaper than what is hidden now), or
    names the sensitive cells left too narrow, each of which gives a cut. The pattern stays as
    it is when no cheaper choice passes within `ILP_ROUNDS`, or one would touch a cell that
    could not be protected.

    The cut for a cell left too narrow: one of the candidates not chosen that shows a visible
    cell of a relation binding the cell's range (non-zero dual) must be hidden. Hiding cells
    only in relations whose duals are zero leaves the LP's optimal duals feasible with the same
    objective, so neither bound moves; and hiding fewer rows only narrows. So every protecting
    choice meets the cut (up to the duals' tolerance), and the audit, not the cuts, has the last
    word."""
    cells = [c for c in component if not visible[c]]
    around = {c for cell in cells for relation in tables.relations_of[cell]
              for c in tables.relation_cells(relation) if visible[c]}
    rows = sorted({r for c in (*cells, *around) for r in tables.rows_of[c]
                   if not fixed[r] and np.isfinite(tables.cost[r])})
    if len(rows) > ILP_ROWS or not hidden_rows[rows].any():
        return
    master = _Master(tables, hidden_rows, rows, [c for c in cells if tables.required[c] > 0])
    now = master.weight(hidden_rows[rows])
    for _ in range(ILP_ROUNDS):
        chosen = master.solve(below=now - 0.5)
        if chosen is None:
            return
        trial = hidden_rows.copy()
        trial[rows] = chosen
        trial_visible = visible.copy()
        for c in {c for r in rows for c in tables.rows[r]}:
            trial_visible[c] = tables.visible(c, trial)
        changed = np.flatnonzero(trial_visible != visible).tolist()
        # Only the ranges of hidden cells linked to a cell whose visibility changed can change.
        audited = _spread(tables, trial_visible, [c for c in changed if not trial_visible[c]] +
                          [c for cell in changed for relation in tables.relations_of[cell]
                           for c in tables.relation_cells(relation) if not trial_visible[c]])
        if not failed.isdisjoint(audited):
            return
        narrow = too_narrow(tables, trial_visible, audited, [c for c in audited if tables.required[c] > 0])
        if not narrow:
            hidden_rows[:] = trial
            visible[:] = trial_visible
            return
        for found in narrow.values():
            around = {c for relation in found.binding for c in tables.relation_cells(relation)
                      if trial_visible[c]}
            master.cut([i for i, r in enumerate(rows) if not chosen[i] and not around.isdisjoint(tables.rows[r])])


def _spread(tables: LinkedTables, visible: np.ndarray, seeds: Iterable[int]) -> list[int]:
    """The hidden cells linked to the seeds through relations among hidden cells: whole
    components, so that they can be attacked together."""
    reached = set(seeds)
    stack = list(reached)
    while stack:
        for relation in tables.relations_of[stack.pop()]:
            for c in tables.relation_cells(relation):
                if not visible[c] and c not in reached:
                    reached.add(c)
                    stack.append(c)
    return sorted(reached)


class _Master:
    """The integer program over candidate rows: x_r = 1 hides row r, at its cost. From the
    start, a sensitive cell in an exact equation needs another cell of it hidden (else the
    equation gives it away), a cell being hidden only when every row showing it is; the audit
    adds the cuts (`cut`)."""

    def __init__(self, tables: LinkedTables, hidden_rows: np.ndarray, rows: list[int], targets: list[int]):
        self.highs = _new_highs()
        # Presolve, symmetry detection and primal heuristics cost more than they save on programs
        # this small (measured: 6 ms a solve against 20 ms, most solved at the root).
        for option, value in (("output_flag", False), ("mip_rel_gap", 0.0), ("mip_abs_gap", 0.5),
                              ("mip_max_nodes", ILP_NODES), ("presolve", "off"), ("mip_detect_symmetry", False),
                              ("mip_heuristic_effort", 0.0)):
            self.highs.setOptionValue(option, value)
        # Whole-number weights, so that HiGHS can round its bounds: a row's cost times one more
        # than the number of rows, plus one. Costs come first, and among equally costly choices
        # (the costs are whole numbers: 1, 10, 100 in `insyn.disclosure.suppression`) the one
        # with fewer rows is cheaper.
        self.costs = tables.cost[rows] * (len(rows) + 1) + 1
        for i, cost in enumerate(self.costs):
            self.highs.addCol(float(cost), 0.0, 1.0, 0, np.array([], dtype=np.int32), np.array([]))
            self.highs.changeColIntegrality(i, highspy.HighsVarType.kInteger)
        position = {r: i for i, r in enumerate(rows)}
        hides: dict[int, int] = {}  # cell → its column h_c, h_c ≤ x_r for each candidate row showing it

        def hidden_column(c: int) -> int:
            if c not in hides:
                hides[c] = self.highs.getNumCol()
                self.highs.addCol(0.0, 0.0, 1.0, 0, np.array([], dtype=np.int32), np.array([]))
                for r in tables.rows_of[c]:
                    if r in position:
                        self._row(-highspy.kHighsInf, 0.0, [hides[c], position[r]], [1.0, -1.0])
            return hides[c]

        for target in targets:
            for kind, e in tables.relations_of[target]:
                if kind != "eq" or not tables.equations[e].exact:
                    continue
                others = [c for c in tables.relation_cells((kind, e)) if c != target]
                stays = [not tables.known[c] and all(hidden_rows[r] and r not in position for r in tables.rows_of[c])
                         for c in others]
                can = [not tables.known[c] and all(hidden_rows[r] or r in position for r in tables.rows_of[c])
                       for c in others]
                if not any(stays):
                    columns = [hidden_column(c) for c, ok in zip(others, can, strict=True) if ok]
                    self._row(1.0, highspy.kHighsInf, columns, [1.0] * len(columns))

    def _row(self, lower: float, upper: float, columns: list[int], values: list[float]) -> None:
        self.highs.addRow(lower, upper, len(columns), np.array(columns, dtype=np.int32), np.array(values))

    def cut(self, positions: list[int]) -> None:
        """At least one of these rows is hidden."""
        self._row(1.0, highspy.kHighsInf, positions, [1.0] * len(positions))

    def weight(self, chosen: np.ndarray) -> float:
        return float(self.costs @ chosen)

    def solve(self, below: float) -> np.ndarray | None:
        """The cheapest choice of rows (True: hidden) if it weighs less than `below`; None when
        there is none or no proven optimum. The relaxation first, a fraction of the integer
        program's time: its bound often proves there is none, and its solution is often whole."""
        self.highs.setOptionValue("solve_relaxation", True)
        self.highs.run()
        if self.highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        if self.highs.getInfo().objective_function_value >= below:
            return None
        relaxed = np.asarray(self.highs.getSolution().col_value[:len(self.costs)])
        if np.all(np.abs(relaxed - np.round(relaxed)) < TOLERANCE):
            return relaxed > 0.5
        self.highs.setOptionValue("solve_relaxation", False)
        self.highs.run()
        if (self.highs.getModelStatus() != highspy.HighsModelStatus.kOptimal
                or self.highs.getInfo().objective_function_value >= below):
            return None
        return np.asarray(self.highs.getSolution().col_value[:len(self.costs)]) > 0.5
