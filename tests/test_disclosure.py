"""Disclosure control: primary and secondary suppression, proved by an attacker.

The attacker here is written independently of insyn.disclosure.linked: it takes what was
*published* (the rows a reader sees), sets up the linear system of the shown figures and the
relations between them (totals and their parts) and asks SciPy's `linprog` — not the HiGHS model
the suppression uses — for the smallest and largest value every hidden small count can take.
"""

from __future__ import annotations

import ast
import inspect
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import settings_with_results
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog
from typer.testing import CliRunner

import insyn.publish as publish_package
from insyn.cli import app
from insyn.config_files import ConfigError
from insyn.disclosure import suppression
from insyn.disclosure.grid import every_row
from insyn.disclosure.linked import Attacker, Equation, LinkedTables, Seen, _heuristic, attack, components, protect
from insyn.disclosure.noise import cell_key_noise, noise_applies
from insyn.disclosure.releases import published_years, shown_values
from insyn.disclosure.rules import DisclosureRules, load_rules
from insyn.disclosure.status import (
    HIDDEN_LABEL,
    NEVER_PUBLISHED,
    PRIMARY,
    PUBLISHABLE,
    READER_LABELS,
    REASONS,
    SECONDARY,
    is_hidden,
)
from insyn.disclosure.suppression import Linked, Unrepublishable
from insyn.disclosure.suppression import protect as protect_results
from insyn.indicators.definitions import Condition, by_id, library
from insyn.indicators.engine import RESULT_COLUMNS, compute
from insyn.indicators.pooled import with_pooled
from insyn.ingest.load import import_files
from insyn.model.codes import codes
from insyn.model.municipalities import region_municipalities
from insyn.publish.notes import legend
from insyn.publish.publication import Publication, prepare, protected_results
from insyn.settings import Settings
from insyn.store import open_store
from insyn.synth.generate import generate, write_tables
from insyn.web.accounts import Role, User
from insyn.web.data import Statistics
from insyn.web.scope import Scope
from insyn.workflows import published_view, store_for, write_report

RULES = DisclosureRules()


# --- an attacker of our own -----------------------------------------------------------------------

def ranges_from_shown(values, shown, equations, inequalities=(), asked=None):
    """For each asked hidden cell (default: all), (min, max) given the shown cells: equations
    are (total, parts, remainder) with total − Σ parts = remainder (remainder None: Σ parts ≤
    total); inequalities (a, b): a ≤ b."""
    hidden = [c for c in range(len(values)) if not shown[c]]
    column = {c: i for i, c in enumerate(hidden)}

    def constraint(signed, rhs):
        """One row over the hidden cells, the shown ones moved to the right-hand side."""
        row = np.zeros(len(hidden))
        for cell, sign in signed:
            if shown[cell]:
                rhs -= sign * values[cell]
            else:
                row[column[cell]] += sign
        return row, rhs

    a_eq, b_eq, a_ub, b_ub = [], [], [], []
    for total, parts, remainder in equations:
        if remainder is None:
            row, rhs = constraint([(total, -1), *((p, 1) for p in parts)], 0.0)
            a, b = a_ub, b_ub
        else:
            row, rhs = constraint([(total, 1), *((p, -1) for p in parts)], remainder)
            a, b = a_eq, b_eq
        if row.any():
            a.append(row)
            b.append(rhs)
    for small, large in inequalities:
        row, rhs = constraint([(small, 1), (large, -1)], 0.0)
        if row.any():
            a_ub.append(row)
            b_ub.append(rhs)
    found = {}
    for cell in (hidden if asked is None else asked):
        objective = np.zeros(len(hidden))
        objective[column[cell]] = 1
        bounds = {"A_eq": np.array(a_eq) if a_eq else None, "b_eq": b_eq or None,
                  "A_ub": np.array(a_ub) if a_ub else None, "b_ub": b_ub or None,
                  "bounds": (0, None), "method": "highs"}
        low, high = linprog(objective, **bounds), linprog(-objective, **bounds)
        assert low.status == 0, low.message
        found[cell] = (low.fun, -high.fun if high.status == 0 else np.inf)
    return found


# --- primary alone leaks; secondary does not --------------------------------------------------------

def _rows(indicator: str, by_sex: dict[str, tuple[int, int]], period: str = "2024") -> list[dict]:
    rows = []
    for sex, (numerator, denominator) in by_sex.items():
        row = dict.fromkeys(RESULT_COLUMNS)
        row.update(indicator=indicator, municipality="0884", period=period, period_type="year",
                   sex=None if sex == "all" else sex, numerator=numerator, denominator=denominator,
                   value=100 * numerator / denominator, complete=True)
        rows.append(row)
    return rows


def test_primary_suppression_alone_would_leak_and_secondary_prevents_it():
    # Initial assessments within 14 days: 31 of 40 in all, girls 3 of 12, boys 28 of 28. The
    # girls' 3 is small; with only their row hidden, all − boys gives it back.
    frame = pd.DataFrame(_rows("forhandsbedomning_inom_14_dagar",
                               {"all": (31, 40), "female": (3, 12), "male": (28, 28)}))
    girls = 1
    equation = [(0, (1, 2), 0.0)]
    numerators = frame.numerator.tolist()

    primary_only = [True, False, True]
    pinned = ranges_from_shown(numerators, primary_only, equation)[girls]
    assert pinned == (pytest.approx(3), pytest.approx(3))

    published = protect_results(frame, RULES)
    assert published.status.tolist() == [PUBLISHABLE, PRIMARY, SECONDARY]
    shown = [not is_hidden(s) for s in published.status]
    low, high = ranges_from_shown(numerators, shown, equation)[girls]
    assert high - low >= RULES.count_threshold
    assert published.loc[published.status != PUBLISHABLE, ["numerator", "denominator", "value"]].isna().all().all()


def test_a_share_over_too_few_cannot_be_recomputed_from_the_rows_shown():
    # Girls 6 of 8 within 14 days: a share over fewer than 10, hidden. With all 31 of 40 and boys
    # 25 of 32 shown, all − boys would give back 6 of 8 (and so: two girls were not).
    frame = pd.DataFrame(_rows("forhandsbedomning_inom_14_dagar",
                               {"all": (31, 40), "female": (6, 8), "male": (25, 32)}))
    equation = [(0, (1, 2), 0.0)]
    published = protect_results(frame, RULES)
    assert is_hidden(published.status[1])
    shown = [not is_hidden(s) for s in published.status]
    for values in (frame.numerator.tolist(), frame.denominator.tolist()):
        low, high = ranges_from_shown(values, shown, equation)[1]
        assert high - low >= RULES.count_threshold


def test_the_same_count_is_hidden_under_every_indicator_that_shows_it():
    # Reports per 1 000 children shows all reports; reports per source shows them as its
    # denominator. A small total hidden in one must not be shown in the other.
    per_1000 = dict.fromkeys(RESULT_COLUMNS)
    per_1000.update(indicator="anmalningar_per_1000_barn", municipality="0884", period="2024",
                    period_type="year", numerator=4, denominator=2000, value=2.0, complete=True)
    sources = []
    for source, n in (("polis", 3), ("skola", 1)):
        row = dict.fromkeys(RESULT_COLUMNS)
        row.update(indicator="anmalningar_per_kalla", municipality="0884", period="2024",
                   period_type="year", category=source, numerator=n, denominator=4,
                   value=100 * n / 4, complete=True)
        sources.append(row)
    published = protect_results(pd.DataFrame([per_1000, *sources]), RULES)
    assert published.status.map(is_hidden).all()


# --- what is public: the policy of disclosure.yaml --------------------------------------------------

SHIPPED = load_rules()


def _row(indicator: str, numerator: float, denominator: float | None, unit: str | None = None) -> dict:
    row = dict.fromkeys(RESULT_COLUMNS)
    row.update(indicator=indicator, municipality="0884", period="2024", period_type="year", unit=unit,
               numerator=numerator, denominator=denominator, complete=True,
               value=numerator if denominator is None else 100 * numerator / denominator)
    return row


def test_the_shipped_policy_publishes_a_municipalitys_workforce_with_its_n():
    # Vimmerby-sized: 3 caseworkers, 2 of them consultants, 1 left in the year. Employment in a
    # municipality is public (Kolada carries N30222, N30223, N00216): shown with the default
    # rules' strictness, hidden by the shipped policy's no longer.
    frame = pd.DataFrame([_row("antal_anstallda", 3, None), _row("andel_konsulter", 2, 3),
                          _row("personalomsattning", 1, 3), _row("erfarenhet_under_1_ar", 1, 3)])
    assert protect_results(frame, RULES).status.map(is_hidden).all()
    published = protect_results(frame, SHIPPED)
    assert published.status.tolist() == [PUBLISHABLE] * 4
    assert published.numerator.tolist() == [3, 2, 1, 1]


def test_a_units_workforce_and_the_mentoring_of_new_hires_keep_the_protection():
    # Two units of 3 and 9 staff: the municipality's 12 is public, each unit's small 3 is hidden
    # and its partner with it (12 − 9 would give it back). Two of three new caseworkers had a
    # mentor: the mentoring of new hires is not employment statistics.
    frame = pd.DataFrame([_row("antal_anstallda", 12, None), _row("antal_anstallda", 3, None, unit="A"),
                          _row("antal_anstallda", 9, None, unit="B"), _row("mentor_forsta_aret", 2, 3)])
    published = protect_results(frame, SHIPPED)
    assert published.status.tolist() == [PUBLISHABLE, PRIMARY, SECONDARY, PRIMARY]


def test_the_mentoring_of_new_hires_is_as_uncertain_as_the_public_figures_leave_it():
    """3 caseworkers new in the municipality (consultants included) is employment statistics;
    2 of the 3 new hires with a mentor is not. The 3 bounds both mentoring counts (new hires ≤
    caseworkers new in the municipality), so no protection can make them wider than 0–3; the 3
    is shown, the mentoring hidden, and a reader knows no more of it than the 3 says."""
    frame = pd.DataFrame([_row("i_kommunen_under_1_ar", 3, 20), _row("mentor_forsta_aret", 2, 3)])
    linked = Linked(frame, {d.id: d for d in library()}, SHIPPED)
    assert (linked.tables.rows[1][1], linked.tables.rows[0][0]) in linked.tables.inequalities
    published = protect_results(frame, SHIPPED)
    assert published.status.tolist() == [PUBLISHABLE, PRIMARY]
    # Cells: the 3 new caseworkers, the 2 with a mentor, the 3 new hires; with a mentor ≤ hires ≤ 3.
    values, shown = [3, 2, 3], [True, False, False]
    found = ranges_from_shown(values, shown, [], inequalities=[(1, 2), (2, 0)])
    assert found == {1: (0.0, 3.0), 2: (0.0, 3.0)}


def test_a_count_the_public_figures_give_away_is_hidden_and_nothing_fails():
    # One unit only: its 3 is the municipality's public 3. Nothing can protect it, and nothing
    # needs to: it is published already.
    frame = pd.DataFrame([_row("antal_anstallda", 3, None), _row("antal_anstallda", 3, None, unit="A")])
    assert protect_results(frame, SHIPPED).status.tolist() == [PUBLISHABLE, PRIMARY]


def test_nested_and_exclusive_definitions_are_relations_of_the_model():
    """Hultsfred's leak, at a unit: of 10 caseworkers with an exam year, 1 under one year
    (hidden), 8 at least three years and 6 over five shown. Under one year and at least three
    exclude each other within the 10, so the hidden 1 is at most 2 — unless more is hidden.
    The relations come from the definitions' conditions, not a list."""
    frame = pd.DataFrame([_row("erfarenhet_under_1_ar", 1, 10, unit="A"),
                          _row("erfarenhet_minst_3_ar", 8, 10, unit="A"),
                          _row("erfarenhet_over_5_ar", 6, 10, unit="A")])
    linked = Linked(frame, {d.id: d for d in library()}, RULES)
    cell = {(row.indicator, side): linked.tables.rows[r][k]
            for r, row in frame.iterrows() for k, side in enumerate(("numerator", "denominator"))}
    under, three, five = (cell[(f"erfarenhet_{n}", "numerator")] for n in ("under_1_ar", "minst_3_ar", "over_5_ar"))
    exam = cell[("erfarenhet_minst_3_ar", "denominator")]
    assert (five, three) in linked.tables.inequalities
    exclusive = {(e.total, frozenset(e.parts)) for e in linked.tables.equations if not e.exact}
    assert exclusive == {(exam, frozenset({under, three})), (exam, frozenset({under, five}))}
    published = protect_results(frame, RULES)
    assert published.status.tolist()[0] == PRIMARY and (published.status == SECONDARY).any()
    shown = np.zeros(len(linked.tables.values), dtype=bool)
    for r, status in enumerate(published.status):
        if not is_hidden(status):
            shown[list(linked.tables.rows[r])] = True
    equations = [(e.total, e.parts, None) for e in linked.tables.equations if not e.exact]
    low, high = ranges_from_shown(linked.tables.values, shown, equations, linked.tables.inequalities, [under])[under]
    assert high - low >= RULES.width


def test_a_unit_manager_still_sees_their_own_unit_beside_public_figures():
    """4 staff in the municipality (public), 1 in unit A and 3 in unit B: A's 1 is given away by
    the public 4 and B's 3 whatever is hidden. B's manager sees B in full all the same."""
    frame = pd.DataFrame([_row("antal_anstallda", 4, None), _row("antal_anstallda", 1, None, unit="A"),
                          _row("antal_anstallda", 3, None, unit="B")])
    for_b = protect_results(frame, SHIPPED, shown_in_full=np.array([False, False, True]))
    assert for_b.status.tolist() == [PUBLISHABLE, PRIMARY, PUBLISHABLE]
    assert for_b.numerator.tolist()[::2] == [4, 3]


def test_a_unit_managers_view_gives_nothing_away_beside_the_public_release():
    """20 staff: unit A 9, B 3 (hidden), C 8. The release hides B and one of A and C. C's manager
    sees C in full in the web app; beside the released total and A that would give B back, so
    the manager is shown their own unit as published wherever that is so. Whatever a manager is
    shown, with the release it narrows no one else's hidden count."""
    frame = pd.DataFrame([_row("antal_anstallda", 20, None), _row("antal_anstallda", 9, None, unit="A"),
                          _row("antal_anstallda", 3, None, unit="B"), _row("antal_anstallda", 8, None, unit="C")])
    released = protect_results(frame, RULES)
    assert released.status.map(is_hidden).tolist() in ([False, True, True, False], [False, False, True, True])
    linked = Linked(frame, {d.id: d for d in library()}, RULES)
    b = linked.tables.rows[2][0]
    equations = [(e.total, e.parts, linked.tables.values[e.total] - linked.tables.values[list(e.parts)].sum())
                 for e in linked.tables.equations]
    seen_in_full = []
    for manager in (1, 3):  # the managers of A and C
        own = np.arange(4) == manager
        view = protect_results(frame, RULES, shown_in_full=own)
        known = ~released.status.map(is_hidden).to_numpy() | ~view.status.map(is_hidden).to_numpy()
        cells = np.zeros(len(linked.tables.values), dtype=bool)
        for r in np.flatnonzero(known):
            cells[list(linked.tables.rows[r])] = True
        low, high = ranges_from_shown(linked.tables.values, cells, equations, (), [b])[b]
        assert high - low >= RULES.width, (manager, released.status.tolist(), view.status.tolist())
        seen_in_full.append(not is_hidden(view.status[manager]))
    assert seen_in_full.count(False) == 1  # the manager of the unit the release hid sees it as released


def test_a_population_is_shown_beside_a_hidden_count():
    frame = pd.DataFrame([_row("anmalningar_per_1000_barn", 4, 2000), _row("barn_i_hvb", 12, 2000)])
    published = protect_results(frame, SHIPPED)
    assert published.status.tolist() == [PRIMARY, PUBLISHABLE]
    assert published.denominator.tolist() == [2000, 2000]
    assert published.loc[0, ["numerator", "value"]].isna().all()


def test_every_reporter_has_a_row_so_that_a_rows_existence_says_nothing():
    """Växjö 2023-Q2, age 18–20, as the engine gives it: 21 reports, police 7, school 8, and a row
    only for the six other reporters with one report each. Published that way, six hidden rows
    beside 21 − 7 − 8 = 6 are each exactly 1. With a row for every reporter the attacker knows
    only that the hidden ones are at least 0."""
    counts = {"polis": 7, "skola": 8, "forskola": 1, "halso_sjukvard": 1, "socialtjanst": 1, "anhorig": 1,
              "barnet_sjalv": 1, "annan_myndighet": 1}
    rows = []
    for source, n in counts.items():
        row = dict.fromkeys(RESULT_COLUMNS)
        row.update(indicator="anmalningar_per_kalla", municipality="0780", period="2023-Q2", period_type="quarter",
                   age_group="18-20", category=source, numerator=n, denominator=21, value=100 * n / 21,
                   complete=True)
        rows.append(row)
    published = prepare(pd.DataFrame(rows), RULES).rows
    published = published[published.age_group == "18-20"]
    assert sorted(published.category) == sorted(codes("source"))
    ovrig = published[published.category == "ovrig"].iloc[0]
    assert is_hidden(ovrig.status) or (ovrig.numerator, ovrig.denominator) == (0, 21)
    shown = published[~published.status.map(is_hidden)]
    hidden = published[published.status.map(is_hidden)]
    assert len(hidden) >= 6
    # What an attacker can say of each hidden row: between 0 and what the shown ones leave.
    assert 21 - shown.numerator.sum() >= RULES.width


# --- random tables ------------------------------------------------------------------------------------

def _two_way_table(counts: np.ndarray) -> tuple[np.ndarray, list[tuple[int, tuple[int, ...], float]]]:
    """Cells of an r×c table with its row totals, column totals and grand total; equations."""
    r, c = counts.shape
    inner = counts.ravel().astype(float)
    row_totals, col_totals = counts.sum(axis=1), counts.sum(axis=0)
    values = np.concatenate([inner, row_totals, col_totals, [counts.sum()]]).astype(float)
    cell = lambda i, j: i * c + j  # noqa: E731
    row_total = lambda i: r * c + i  # noqa: E731
    col_total = lambda j: r * c + r + j  # noqa: E731
    grand = len(values) - 1
    equations = [(row_total(i), tuple(cell(i, j) for j in range(c)), 0.0) for i in range(r)]
    equations += [(col_total(j), tuple(cell(i, j) for i in range(r)), 0.0) for j in range(c)]
    equations += [(grand, tuple(row_total(i) for i in range(r)), 0.0),
                  (grand, tuple(col_total(j) for j in range(c)), 0.0)]
    return values, equations


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(2, 4).flatmap(lambda r: st.integers(2, 4).flatmap(
    lambda c: st.lists(st.one_of(st.integers(0, 4), st.integers(5, 40)), min_size=r * c, max_size=r * c)
    .map(lambda v: np.array(v).reshape(r, c)))))
def test_no_hidden_small_count_in_a_random_table_can_be_narrowed(counts):
    values, equations = _two_way_table(counts)
    threshold = RULES.count_threshold
    small = (values > 0) & (values < threshold)
    tables = LinkedTables(values=values, required=np.where(small, float(threshold), 0.0),
                          rows=[(i,) for i in range(len(values))],
                          cost=np.where(np.arange(len(values)) < counts.size, 1.0, 10.0),
                          equations=[Equation(t, p) for t, p, _ in equations])
    hidden, failed = protect(tables, small.copy())
    assert not failed
    assert hidden[small].all()
    for cell, (low, high) in ranges_from_shown(values, ~hidden, equations,
                                               asked=np.flatnonzero(small)).items():
        assert high - low >= threshold - 1e-6, (cell, low, high)
    # The integer program after the heuristic never costs more than the heuristic alone.
    heuristic, _ = _heuristic(tables, small.copy())
    assert tables.cost[hidden].sum() <= tables.cost[heuristic].sum()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(2, 5).flatmap(lambda r: st.integers(2, 5).flatmap(
    lambda c: st.tuples(
        st.lists(st.one_of(st.integers(0, 4), st.integers(5, 40)), min_size=r * c, max_size=r * c)
        .map(lambda v: np.array(v).reshape(r, c)),
        st.lists(st.sampled_from([1.0, 10.0, 100.0]), min_size=(r + 1) * (c + 1), max_size=(r + 1) * (c + 1)),
        st.booleans()))))
def test_the_integer_program_never_costs_more_and_leaves_nothing_narrow(case):
    """Rows of one or two cells at random costs: the integer program after the heuristic keeps
    what is cheaper and still protects, as SciPy's attacker sees it."""
    counts, cell_costs, paired = case
    values, equations = _two_way_table(counts)
    small = (values > 0) & (values < 5)
    cells = list(range(len(values)))
    rows = [tuple(cells[i:i + 2]) for i in range(0, len(cells), 2)] if paired else [(c,) for c in cells]
    tables = LinkedTables(values=values, required=np.where(small, 5.0, 0.0), rows=rows,
                          cost=np.array([sum(cell_costs[c] for c in row) for row in rows]),
                          equations=[Equation(t, p) for t, p, _ in equations])
    start = np.array([small[list(row)].any() for row in rows])
    heuristic, failed = _heuristic(tables, start)
    hidden, unprotected = protect(tables, start)
    assert unprotected == failed == [] and hidden[start].all()
    assert tables.cost[hidden].sum() <= tables.cost[heuristic].sum()
    shown = tables.visible_cells(hidden)
    for cell, (low, high) in ranges_from_shown(values, shown, equations, asked=np.flatnonzero(small)).items():
        assert high - low >= 5 - 1e-6, (cell, low, high)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(2, 4).flatmap(lambda r: st.integers(2, 4).flatmap(lambda c: st.tuples(
    st.lists(st.integers(0, 12), min_size=r * c + 1, max_size=r * c + 1)  # the last: a cell in no relation
    .map(lambda v: (np.array(v[:-1]).reshape(r, c), v[-1])),
    st.lists(st.integers(0, 3), min_size=r + c, max_size=r + c),  # what each total holds beyond its parts
    *[st.lists(st.booleans(), min_size=r * c + r + c + 2, max_size=r * c + r + c + 2)] * 2,  # shown; shown first
    st.lists(st.integers(0, 12), min_size=r * c + r + c + 2, max_size=r * c + r + c + 2)))))  # widths asked
def test_the_attackers_ranges_are_scipys_and_narrow_gives_the_same_verdict(case):
    """The HiGHS attacker (its model built from the tables' flat arrays) against SciPy's, written
    apart, on tables with remainders, a sum within a total, a cell within another and a cell in
    no relation, its cells handed over in no order; `narrow` says a cell is too narrow exactly
    when its range is, with one `Seen` shared by every component's attacker, first with more
    cells shown and then with fewer (as the heuristic's passes hide more)."""
    (counts, alone), extra, shown, shown_first, widths = case
    r, c = counts.shape
    values, equations = _two_way_table(counts)
    values[r * c:r * c + r + c] += extra  # the totals hold more than their parts: unknown sex, say
    grand = len(values) - 1
    values[grand] = values[r * c:r * c + r].sum()
    values = np.append(values, float(alone))
    equations = [(total, parts, values[total] - values[list(parts)].sum()) for total, parts, _ in equations]
    within = [(grand, tuple(range(c)), None)]  # the first row's cells add up to at most the grand total
    first, last = 0, r * c - 1  # two cells of different rows and columns: the smaller within the larger
    smaller = [(0, r * c), (first, last) if values[first] <= values[last] else (last, first)]
    tables = LinkedTables(values=values, required=np.array(widths, dtype=float),
                          rows=[(i,) for i in range(len(values))], cost=np.ones(len(values)),
                          equations=[Equation(t, p) for t, p, _ in equations]
                          + [Equation(grand, tuple(range(c)), exact=False)], inequalities=smaller)
    visible = np.array(shown)
    seen = Seen(tables)
    for mask in (visible | np.array(shown_first), visible):
        expected = ranges_from_shown(values, mask, equations + within, smaller)
        for component in components(tables, mask):
            for cell, found in attack(tables, mask, component[::-1]).items():
                assert (found.low, found.high) == pytest.approx(expected[cell], abs=1e-6), cell
            attacker = Attacker(tables, mask, component[::-1], seen)
            for cell in component:
                low, high = expected[cell]
                narrow = attacker.narrow(cell, widths[cell])
                assert (narrow is not None) == (high - low < widths[cell] - 1e-6), (cell, low, high, widths[cell])
                if narrow is not None:
                    assert (narrow.low, narrow.high) == pytest.approx((low, high), abs=1e-6)
        attacked = sorted(c for component in components(tables, mask) for c in component)
        assert attacked == np.flatnonzero(~mask).tolist()


def test_true_values_the_model_rules_out_witness_nothing():
    """A negative count, or a cell over the one it should stay within (data the model does not
    expect), is no point the attacker could reach, nor are the true values of cells linked to
    it; other groups' true values still are."""
    # Cell 1 of 10 = cell 1 + cell 2 spans 0–10 however its true value reads; cells 3 = 4 are apart.
    tables = LinkedTables(values=np.array([10.0, -5.0, 15.0, 2.0, 2.0]), required=np.array([0, 12.0, 0, 0, 0]),
                          rows=[(c,) for c in range(5)], cost=np.ones(5),
                          equations=[Equation(0, (1, 2)), Equation(3, (4,))])
    visible = np.array([True, False, False, True, True])
    assert tables.true_values_possible.tolist() == [False, False, False, True, True]
    narrow = Attacker(tables, visible, [1, 2]).narrow(1, 12.0)
    assert narrow is not None and (narrow.low, narrow.high) == pytest.approx((0.0, 10.0))
    with pytest.raises(ValueError, match="whole components"):
        Attacker(tables, visible, [1])
    # 10 = cell 0 + cell 1 with cell 0 at most cell 1: cell 1 spans 5–10, though its true 3 is lower.
    tables = LinkedTables(values=np.array([7.0, 3.0, 10.0]), required=np.array([0.0, 6.0, 0.0]),
                          rows=[(0,), (1,), (2,)], cost=np.ones(3), equations=[Equation(2, (0, 1))],
                          inequalities=[(0, 1)])
    assert not tables.true_values_possible.any()
    narrow = Attacker(tables, np.array([False, False, True]), [0, 1]).narrow(1, 6.0)
    assert narrow is not None and (narrow.low, narrow.high) == pytest.approx((5.0, 10.0))


def test_protection_is_not_everything_hidden():
    # One small cell in a 3×3 table: the heuristic hides six inner cells; the integer program
    # after it finds a rectangle of four, the fewest possible, and no total.
    counts = np.array([[2, 10, 12], [11, 14, 9], [13, 8, 16]])
    values, equations = _two_way_table(counts)
    small = (values > 0) & (values < 5)
    tables = LinkedTables(values=values, required=np.where(small, 5.0, 0.0),
                          rows=[(i,) for i in range(len(values))],
                          cost=np.where(np.arange(len(values)) < counts.size, 1.0, 10.0),
                          equations=[Equation(t, p) for t, p, _ in equations])
    assert _heuristic(tables, small.copy())[0].sum() == 6
    hidden, _ = protect(tables, small.copy())
    assert hidden.sum() == 4 and not hidden[counts.size:].any()
    low, high = ranges_from_shown(values, ~hidden, equations, asked=[0])[0]
    assert high - low >= 5


# --- the demo region, attacked --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def region_results(tmp_path_factory):
    """Three small municipalities of the demo region, two years of synthetic data."""
    region = region_municipalities("demo")
    chosen = region[region.municipality_code.isin(["0884", "0860", "1407"])]
    tables = generate(chosen, [2023, 2024], seed=7)
    store = open_store(None)
    try:
        import_files(store, write_tables(tables, tmp_path_factory.mktemp("region") / "data"), b"k" * 32)
        return compute(store)
    finally:
        store.close()


@pytest.fixture(scope="module")
def region_published(region_results):
    return protect_results(region_results, RULES)


def _too_narrow(results: pd.DataFrame, published: pd.DataFrame, rules: DisclosureRules,
                unseen: np.ndarray | None = None) -> list[int]:
    """The sensitive cells that an attacker (SciPy's linprog on the rows shown, with every
    relation and the true remainders: the strongest attacker) narrows below their width; with
    `unseen`, as if those cells were hidden too."""
    linked = Linked(results.reset_index(drop=True), {d.id: d for d in library()}, rules)
    values = linked.tables.values
    shown = np.zeros(len(values), dtype=bool)
    for row, status in enumerate(published.status):
        if not is_hidden(status):
            shown[list(linked.tables.rows[row])] = True
    if unseen is not None:
        shown &= ~unseen
    equations = [(e.total, e.parts, values[e.total] - values[list(e.parts)].sum() if e.exact else None)
                 for e in linked.tables.equations]
    sensitive = np.flatnonzero(linked.tables.required > 0)
    assert len(sensitive) > 50 and not shown[sensitive].any()
    narrow = []
    # Attack each municipality's cells on their own (no relation crosses municipalities).
    for municipality in linked.cells.municipality.unique():
        mine = linked.cells.municipality.to_numpy() == municipality
        ids = np.flatnonzero(mine)
        local = {c: i for i, c in enumerate(ids)}
        local_equations = [(local[t], tuple(local[p] for p in parts), rem)
                           for t, parts, rem in equations if mine[t]]
        local_inequalities = [(local[a], local[b]) for a, b in linked.tables.inequalities if mine[a]]
        asked = [local[c] for c in sensitive if mine[c]]
        found = ranges_from_shown(values[ids], shown[ids], local_equations, local_inequalities, asked)
        narrow += [int(ids[cell]) for cell, (low, high) in found.items()
                   if high - low < linked.tables.required[ids[cell]] - 1e-6]
    return narrow


def test_the_demo_region_attacked_from_what_is_published(region_results, region_published):
    assert (region_published.status == SECONDARY).any()
    assert _too_narrow(region_results, region_published, RULES) == []


@pytest.mark.slow
def test_with_the_shipped_policy_only_public_figures_bound_a_hidden_count(region_results):
    """The public workforce figures are never hidden, so a unit's small headcount within a small
    municipality's published one is bounded by them, and so is the mentoring of new hires within
    the published number of new caseworkers; nothing else is narrowed."""
    published = protect_results(region_results, SHIPPED)
    assert len(published[~published.status.map(is_hidden)]) > len(
        protect_results(region_results, RULES).query("status == @PUBLISHABLE"))
    narrow = _too_narrow(region_results, published, SHIPPED)
    linked = Linked(region_results.reset_index(drop=True), {d.id: d for d in library()}, SHIPPED)
    assert narrow  # units of 1–4 staff in these small municipalities
    assert set(_too_narrow(region_results, published, SHIPPED, unseen=linked.public)).isdisjoint(narrow)
    cells = linked.cells.iloc[narrow]
    assert set(cells.quantity.str.slice(0, 16)) == {'{"employments":{'}
    mentoring = set(linked.shown.cell[linked.shown.indicator == "mentor_forsta_aret"])
    assert all(pd.notna(unit) or cell in mentoring for cell, unit in zip(narrow, cells.unit, strict=True))


def test_every_published_status_has_a_swedish_label_and_nothing_internal_is_published(region_published):
    published = region_published
    assert set(published.status) <= set(REASONS)
    assert not {c for c in published.columns if c.endswith(("_cellkey", "_contributors", "_largest"))}
    hidden = published[published.status.map(is_hidden)]
    assert hidden[["numerator", "value"]].isna().all().all()
    # A hidden row keeps its denominator only when that is a population (public).
    populations = {d.id for d in library() if d.denominator is not None and d.denominator.population}
    kept = hidden[hidden.denominator.notna()]
    assert len(kept) > 0 and set(kept.indicator) <= populations


def test_a_reader_is_told_that_a_figure_is_hidden_never_why():
    """"Too few" says 1–4 and "protects another" says 0 or at least 5: both would narrow it."""
    hidden = {READER_LABELS[code] for code in (PRIMARY, SECONDARY)}
    assert hidden == {HIDDEN_LABEL}
    assert set(READER_LABELS) == set(REASONS)


def test_the_same_results_get_the_same_hidden_cells_in_any_row_order(region_results, region_published):
    shuffled = region_results.sample(frac=1.0, random_state=3)
    again = protect_results(shuffled, RULES)
    by_key = region_published.assign(original=region_results.index).set_index("original")
    pd.testing.assert_series_equal(again.status.set_axis(shuffled.index).sort_index(),
                                   by_key.status.sort_index(), check_names=False)
    reversed_rows = protect_results(region_results.iloc[::-1], RULES)
    assert reversed_rows.status.tolist()[::-1] == region_published.status.tolist()
    assert protect_results(region_results, RULES).status.tolist() == region_published.status.tolist()


KEY_TEXT = st.one_of(st.none(), st.sampled_from(["", "a", "A", "å", "ä", "ö", "Ö", "z", "10", "9", "ab", "a b"]),
                     # NumPy drops a trailing NUL; a lone surrogate is no text a store or file can hold
                     st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=4))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(*[KEY_TEXT] * 4), min_size=1, max_size=40))
def test_the_canonical_order_is_the_order_of_the_key_texts(rows):
    """The rows are ordered by ranks of each key column's values, not by the text itself (less
    memory at national scale): the same order as sorting the texts, missing first, by code point."""
    frame = pd.DataFrame(rows, columns=["indicator", "municipality", "period", "category"])
    text = frame.astype("string").fillna("")
    by_text = np.lexsort([text[k].to_numpy(dtype=str) for k in reversed(text.columns)])
    assert suppression._canonical_order(frame).tolist() == by_text.tolist()


# --- one disclosure layer -------------------------------------------------------------------------


def test_pieces_of_municipalities_protected_serially_or_in_a_pool_give_the_one_pattern(region_results,
                                                                                         monkeypatch):
    """The pieces (whole municipalities) are independent: protected all at once, one by one in
    this process, or in a pool of processes, every row gets the same status."""
    rows = with_pooled(every_row(region_results.reset_index(drop=True), by_id(), strict=False), by_id())
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("a pool needs two cores")
    monkeypatch.setattr(suppression, "PIECE_ROWS", len(rows) + 1)  # one piece: all at once
    whole = protect_results(rows, RULES).status
    monkeypatch.setattr(suppression, "PIECE_ROWS", 1)  # a piece per municipality
    assert len(suppression._pieces(rows.municipality.to_numpy(dtype=str))) == rows.municipality.nunique() > 1
    in_pool = protect_results(rows, RULES).status  # in a pool of processes, one per core
    monkeypatch.setattr(suppression.os, "sched_getaffinity", lambda pid: {0})  # one core: in this process
    serial = protect_results(rows, RULES).status
    assert (whole != PUBLISHABLE).sum() > 0 and (whole == SECONDARY).sum() > 0
    assert serial.tolist() == in_pool.tolist() == whole.tolist()

def _publishing_functions():
    for module in (publish_package.excel, publish_package.report, publish_package.kolada):
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ == module.__name__ and not name.startswith("_") and (
                    name.startswith(("write_", "render_", "export_"))):
                yield module.__name__, name, function


def test_every_publishing_function_takes_a_publication():
    found = list(_publishing_functions())
    assert {name for _, name, _ in found} >= {"write_report", "render_report", "write_workbook", "export_document"}
    for module, name, function in found:
        first = next(iter(inspect.signature(function).parameters.values()))
        assert first.annotation in (Publication, "Publication"), f"{module}.{name}"


def test_only_prepare_makes_a_publication_and_it_protects():
    source_root = Path(publish_package.__file__).parents[1]
    makers = []
    for path in source_root.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in ast.walk(tree):
            if isinstance(function, ast.FunctionDef):
                for node in ast.walk(function):
                    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Publication":
                        makers.append((path.name, function.name))
    assert makers == [("publication.py", "prepare")]
    assert "protected_results(" in inspect.getsource(prepare)  # what the import calls ahead of the web
    assert "protect(" in inspect.getsource(protected_results)


def test_prepare_hides_what_protect_hides_over_every_row(region_results):
    """prepare publishes every code's row (insyn.disclosure.grid) and protects them all."""
    pub = prepare(region_results, RULES)
    every = every_row(region_results, {d.id: d for d in library()}, strict=False)
    assert len(every) > len(region_results)
    direct = protect_results(every, RULES)
    direct = direct[direct.status != NEVER_PUBLISHED]
    assert sorted(pub.rows.status) == sorted(direct.status)


# --- the rules file ---------------------------------------------------------------------------------------

def test_the_shipped_rules_and_a_broken_file(tmp_path):
    rules = load_rules()
    assert (rules.count_threshold, rules.denominator_threshold, rules.width) == (5, 10, 5.0)
    broken = tmp_path / "disclosure.yaml"
    broken.write_text("count_threshold: noll\nextra: 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"count_threshold: inte ett tal.*extra: okänt fält"):
        load_rules(broken)


def test_a_higher_denominator_threshold_hides_more(region_results, region_published):
    strict = protect_results(region_results, DisclosureRules(denominator_threshold=30))
    default = region_published
    assert (strict.status == PRIMARY).sum() > (default.status == PRIMARY).sum()
    share = by_id()["forhandsbedomning_inom_14_dagar"]
    rows = strict[(strict.indicator == share.id) & (strict.denominator < 30)]
    assert rows.empty  # every shown share rests on 30 or more


def _fte_row(total: float, contributors: int, largest: float) -> dict:
    row = dict.fromkeys(RESULT_COLUMNS)
    row.update(indicator="arsarbetare", municipality="0884", period="2024", period_type="year",
               numerator=total, value=total, complete=True,
               numerator_contributors=contributors, numerator_largest=largest)
    return row


def test_sums_are_judged_by_their_records_and_optionally_by_dominance():
    frame = pd.DataFrame([_fte_row(3.5, 4, 1.0), _fte_row(12.0, 12, 1.0)])
    frame.loc[1, "municipality"] = "0860"
    assert protect_results(frame, RULES).status.tolist() == [PRIMARY, PUBLISHABLE]  # 4 people
    dominated = pd.DataFrame([_fte_row(10.0, 6, 9.0)])
    assert protect_results(dominated, RULES).status.tolist() == [PUBLISHABLE]  # off by default
    strict = DisclosureRules(dominance={"percent": 85})
    assert protect_results(dominated, strict).status.tolist() == [PRIMARY]  # one record is 90 %


def _cost_row(total: float, contributors: int, largest: float, second: float) -> dict:
    row = dict.fromkeys(RESULT_COLUMNS)
    row.update(indicator="vardkostnad_per_invanare_0_20", municipality="0884", period="2025",
               period_type="year", numerator=total, denominator=8000, value=total / 8000, complete=True,
               numerator_contributors=contributors, numerator_largest=largest, numerator_second=second)
    return row


def test_costs_are_hidden_by_the_dominance_and_p_percent_rules():
    # Shipped rules for the cost of care: (2, 85) dominance and p = 10 %.
    spread = _cost_row(1_000_000, 8, 200_000, 180_000)  # two largest 38 %, rest 620 000
    dominated = _cost_row(1_000_000, 8, 700_000, 200_000)  # two largest 90 %
    narrow = _cost_row(1_000_000, 8, 480_000, 475_000)  # two largest 95.5 %, rest 45 000 < 48 000
    statuses = [protect_results(pd.DataFrame([row]), RULES).status.iloc[0] for row in (spread, dominated, narrow)]
    assert statuses == [PUBLISHABLE, PRIMARY, PRIMARY]
    # p% alone: the rest, 60 000, is under 10 % of the largest, 700 000.
    p_only = DisclosureRules(dominance=None, p_percent={"p": 10})
    close, far = _cost_row(1_000_000, 8, 700_000, 240_000), _cost_row(1_000_000, 8, 500_000, 140_000)
    assert protect_results(pd.DataFrame([close, far]).assign(municipality=["0884", "0860"]),
                           p_only).status.tolist() == [PRIMARY, PUBLISHABLE]
    # The same dominance does not reach FTE sums, which the shipped rules leave out.
    assert protect_results(pd.DataFrame([_fte_row(10.0, 6, 9.0)]), RULES).status.tolist() == [PUBLISHABLE]


def test_statuses_are_kept_for_the_same_results_and_rules_only(region_results, region_published, tmp_path):
    first = protect_results(region_results, RULES, cache_dir=tmp_path)
    assert first.status.tolist() == region_published.status.tolist()
    assert len(list(tmp_path.glob("disclosure-*.npy"))) == 1
    again = protect_results(region_results, RULES, cache_dir=tmp_path)
    pd.testing.assert_frame_equal(again, first)
    protect_results(region_results, DisclosureRules(count_threshold=6), cache_dir=tmp_path)
    changed = region_results.copy()
    changed.loc[changed.numerator.first_valid_index(), "numerator"] += 1  # (a missing one stays missing)
    protect_results(changed, RULES, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("disclosure-*.npy"))) == 3


# --- noise in place of holes ----------------------------------------------------------------------------

def test_a_publication_with_cell_key_noise_has_no_holes_and_says_so(region_results):
    pub = prepare(region_results, RULES, noise=cell_key_noise)
    assert pub.noise == "cellnyckel" and not pub.rows.status.map(is_hidden).any()
    applicable = {d.id for d in library() if noise_applies(d)} & set(region_results.indicator)
    assert {d.id for d in pub.definitions} == applicable
    assert not pub.unit_loads
    assert "brus (cellnyckel)" in legend(pub).paragraphs[0]
    again = prepare(region_results, RULES, noise=cell_key_noise)
    assert again.rows.numerator.tolist() == pub.rows.numerator.tolist()  # the same noise every time


def test_a_dp_report_spends_its_years_budget_and_is_refused_when_it_is_spent(region_results, tmp_path):
    settings = settings_with_results(tmp_path / "data", region_results)
    runner = CliRunner()
    command = ["--data-dir", str(settings.data_dir), "report", "--brus", "dp", "--epsilon", "1",
               "--utgava", "rapport 2025", "--budget", "1.5", "--indikator", "anmalningar_per_1000_barn", "--out"]
    first = runner.invoke(app, [*command, str(tmp_path / "forsta")])
    assert first.exit_code == 0, first.output
    assert "differentiell integritet, ε = 1,0" in (tmp_path / "forsta" / "rapport.html").read_text(encoding="utf-8")
    second = runner.invoke(app, [*command, str(tmp_path / "andra")])
    assert second.exit_code == 1
    assert "bara ε = 0,5 av 1,5 återstår" in " ".join(second.output.split())
    assert not (tmp_path / "andra").exists()
    # One count per municipality and year: the noise is scaled to that, not to a whole report.
    store = store_for(settings, read_only=True)
    try:
        spent = store.raw.execute("SELECT period, sensitivity FROM privacy_budget ORDER BY period").fetchall()
        assert spent == [("2023", 2), ("2024", 2)]  # the table's ε against each year it shows
    finally:
        store.close()


def test_a_year_is_published_with_holes_or_with_noise_never_both(region_results, tmp_path):
    """A noisy count beside the same count hidden says what the hole holds; exact counts beside
    noisy ones take the noise away. The store's ledger keeps each year's method."""
    runner = CliRunner()

    def run(data: Path, *arguments: str):
        return runner.invoke(app, ["--data-dir", str(data), *arguments])

    holes = settings_with_results(tmp_path / "holes", region_results).data_dir
    assert run(holes, "report", "--out", str(tmp_path / "holes-report")).exit_code == 0
    refused = run(holes, "report", "--brus", "cellnyckel", "--out", str(tmp_path / "holes-noise"))
    assert refused.exit_code == 1
    words = " ".join(refused.output.split())
    assert "Uppgifterna för 2023 är redan publicerade med dolda uppgifter" in words, words
    assert "med brus (cellnyckel)" in words and "Traceback" not in refused.output
    assert not (tmp_path / "holes-noise").exists()
    # Differential privacy is refused before it spends anything.
    dp = run(holes, "report", "--brus", "dp", "--utgava", "x", "--budget", "1", "--indikator",
             "anmalningar_per_1000_barn", "--out", str(tmp_path / "holes-dp"))
    assert dp.exit_code == 1 and "redan publicerade med dolda uppgifter" in " ".join(dp.output.split())
    store = store_for(Settings(data_dir=holes), read_only=True)
    try:
        assert store.raw.execute("SELECT count(*) FROM privacy_budget").fetchone() == (0,)
        years = {row[0] for row in store.raw.execute("SELECT DISTINCT period FROM releases").fetchall()}
    finally:
        store.close()
    assert years == set(published_years(region_results.period)) == {"2023", "2024"}
    # The same method again, and a Kolada export (holes too), are fine.
    assert run(holes, "report", "--out", str(tmp_path / "holes-again")).exit_code == 0
    assert run(holes, "export", "--format", "kolada", "--ut", str(tmp_path / "kolada.json")).exit_code == 0

    noise = settings_with_results(tmp_path / "noise", region_results).data_dir
    assert run(noise, "report", "--brus", "cellnyckel", "--out", str(tmp_path / "noise-report")).exit_code == 0
    for refused_too in (run(noise, "report", "--out", str(tmp_path / "noise-holes")),
                        run(noise, "export", "--format", "kolada", "--ut", str(tmp_path / "noise.json"))):
        assert refused_too.exit_code == 1
        assert "redan publicerade med brus (cellnyckel)" in " ".join(refused_too.output.split())
    assert not (tmp_path / "noise-holes").exists() and not (tmp_path / "noise.json").exists()



def _reports_by_source(counts: dict[str, int]) -> pd.DataFrame:
    """All reports of a year and their split by source: the sources add up to the total."""
    total = sum(counts.values())
    rows = [{**dict.fromkeys(RESULT_COLUMNS), "indicator": "anmalningar_per_1000_barn", "numerator": total,
             "denominator": 2000, "value": total / 2}]
    rows += [{**dict.fromkeys(RESULT_COLUMNS), "indicator": "anmalningar_per_kalla", "category": source,
              "numerator": n, "denominator": total, "value": 100 * n / total} for source, n in counts.items()]
    return pd.DataFrame(rows).assign(municipality="0884", period="2024", period_type="year", complete=True)


EARLIER = _reports_by_source({"polis": 2, "skola": 10, "halso_sjukvard": 20})
# The same year published again after more reports came in (school's 10 became 30).
LATER = _reports_by_source({"polis": 2, "skola": 30, "halso_sjukvard": 20})


def _two_releases_attacked(earlier: pd.DataFrame, later: pd.DataFrame) -> tuple[float, float]:
    """The range of the police's count in the later release, read together with the earlier
    one: each adds up, and more data only adds (every count of the later at least the earlier's)."""
    values = [*earlier.numerator, *later.numerator]
    shown = [not is_hidden(s) for s in (*earlier.status, *later.status)]
    equations = [(0, (1, 2, 3), 0.0), (4, (5, 6, 7), 0.0)]
    return ranges_from_shown(values, shown, equations, inequalities=[(1, 5), (2, 6), (3, 7)])[5]


def test_a_later_release_of_the_same_year_cannot_be_read_together_with_the_earlier():
    earlier = protect_results(EARLIER, RULES)
    assert earlier.status.tolist() == [PUBLISHABLE, PRIMARY, SECONDARY, PUBLISHABLE]
    # Protected on its own, the later release hides health care in place of school: health
    # care's 20 shown in the earlier one leaves the police at most 2.
    alone = protect_results(LATER, RULES)
    assert alone.status.tolist() == [PUBLISHABLE, PRIMARY, PUBLISHABLE, SECONDARY]
    low, high = _two_releases_attacked(earlier, alone)
    assert high - low < RULES.count_threshold
    # With the earlier pattern kept, the two read together leave the police's count wide.
    # Health care's 20 was shown and is the same now: known to every reader, whatever is hidden.
    known = np.array([[False, False], [False, False], [False, False], [True, False]])
    together = protect_results(LATER, RULES, hidden_before=earlier.status.map(is_hidden).to_numpy(dtype=bool),
                               shown_before=known)
    assert together.status.tolist() == [PUBLISHABLE, PRIMARY, SECONDARY, PUBLISHABLE]
    low, high = _two_releases_attacked(earlier, together)
    assert high - low >= RULES.count_threshold


def test_what_an_earlier_release_showed_unchanged_is_known_whatever_is_hidden_now():
    # All shown in the first: police 10, school 12, health care 20, other 0. Then one late report
    # from another source (0 → 1). Hiding the police's row as the partner would not hide its 10,
    # which the reader has: 43 − 12 − 20 − 10 = 1. The sources' counts are known; their common
    # denominator, all reports, which changed, is what must go.
    first = _reports_by_source({"polis": 10, "skola": 12, "halso_sjukvard": 20, "annan": 0})
    second = _reports_by_source({"polis": 10, "skola": 12, "halso_sjukvard": 20, "annan": 1})
    shown = protect_results(first, RULES)
    assert not shown.status.map(is_hidden).any()
    known = np.column_stack([first.numerator == second.numerator, first.denominator == second.denominator])
    later = protect_results(second, RULES, hidden_before=np.zeros(len(second), dtype=bool), shown_before=known)
    assert is_hidden(later.status.iloc[-1])
    # The attack on both: the sources add up to their common denominator (all reports), and more
    # data only adds. Cells: four counts and the denominator of the first, then of the second.
    values = [*first.numerator[1:], first.denominator[1], *second.numerator[1:], second.denominator[1]]
    shown_later = [not is_hidden(s) or bool(k) for s, k in zip(later.status[1:], known[1:, 0], strict=True)]
    visible = [True] * 5 + shown_later + [not later.status[1:].map(is_hidden).all()]
    equations = [(4, (0, 1, 2, 3), 0.0), (9, (5, 6, 7, 8), 0.0)]
    low, high = ranges_from_shown(values, visible, equations, inequalities=[(i, 5 + i) for i in range(5)])[8]
    assert high - low >= RULES.count_threshold
    # Were every other figure around it known, nothing could protect it: refused, in Swedish.
    everything_else = np.ones((len(second), 2), dtype=bool)
    everything_else[-1, 0] = False
    with pytest.raises(Unrepublishable, match="kan inte publiceras igen"):
        protect_results(second, RULES, hidden_before=np.zeros(len(second), dtype=bool), shown_before=everything_else)


def test_the_ledger_keeps_what_a_release_hid_and_the_next_release_hides_it_again(tmp_path):
    settings = settings_with_results(tmp_path / "data", EARLIER)
    write_report(settings, tmp_path / "first")
    store = store_for(settings)
    try:
        recorded = store.raw.execute(
            "SELECT period, row_key FROM released_rows WHERE hidden ORDER BY row_key").fetchall()
        assert recorded == [("2024", "anmalningar_per_kalla|0884|year|2024||||polis"),
                            ("2024", "anmalningar_per_kalla|0884|year|2024||||skola")]
        shown = store.raw.execute("SELECT shown_values FROM released_rows WHERE row_key = "
                                  "'anmalningar_per_kalla|0884|year|2024||||halso_sjukvard'").fetchall()
        assert shown == [("20.000000|32.000000|62.500000",)]
        with store.transaction() as con:  # more data came in: the results are computed again
            con.execute("DELETE FROM indicator_results")
            con.register("later", LATER)
            con.execute("INSERT INTO indicator_results BY NAME SELECT * FROM later")
    finally:
        store.close()
    analyst = Scope(User("a", "A", Role.ANALYST, None, (), None))
    for view in (published_view(settings, LATER), Statistics(settings).publication(analyst)):  # terminal, web
        hidden = view.rows.set_index("category").status.map(is_hidden)
        assert hidden[["polis", "skola", "halso_sjukvard"]].tolist() == [True, True, False]
        assert not hidden.drop(["polis", "skola"]).any()  # the total and the other sources' zeros


def test_a_second_report_after_a_late_report_is_protected_against_the_first(tmp_path):
    settings = settings_with_results(tmp_path / "data", _reports_by_source(
        {"polis": 10, "skola": 12, "halso_sjukvard": 20, "annan": 0}))
    runner = CliRunner()
    first = runner.invoke(app, ["--data-dir", str(settings.data_dir), "report", "--out", str(tmp_path / "a")])
    assert first.exit_code == 0
    store = store_for(settings)
    try:
        with store.transaction() as con:  # one late report from another source
            con.execute("DELETE FROM indicator_results")
            con.register("later", _reports_by_source({"polis": 10, "skola": 12, "halso_sjukvard": 20, "annan": 1}))
            con.execute("INSERT INTO indicator_results BY NAME SELECT * FROM later")
    finally:
        store.close()
    second = runner.invoke(app, ["--data-dir", str(settings.data_dir), "report", "--out", str(tmp_path / "b")])
    assert second.exit_code == 0, second.output
    rows = pd.read_excel(tmp_path / "b" / "insyn.xlsx", sheet_name="Indikatorer")
    sources = rows[rows.Kategori.notna()].set_index("Kategori")
    assert sources.loc["annan", "Täljare"] == ".." and sources["Nämnare"].eq("..").all()


# --- nesting of conditions, checked against their meaning ----------------------------------------

_BOUND = st.sampled_from(["less_than", "at_least", "greater_than"])
_CONDITION = st.one_of(st.none(), st.builds(
    lambda kind, bound, present: (Condition(**{kind: {"years": bound}}) if kind
                                  else Condition(present=["years"] if present else None)),
    st.one_of(st.none(), _BOUND), st.integers(0, 6), st.booleans()))


def _holds(condition: Condition | None, years: float | None) -> bool:
    """The condition for a subject whose `years` is the given value (None: missing)."""
    if condition is None:
        return True
    if condition.present and years is None:
        return False
    tests = {"less_than": lambda v, b: v < b, "at_least": lambda v, b: v >= b, "greater_than": lambda v, b: v > b}
    for kind, test in tests.items():
        for bound in (getattr(condition, kind) or {}).values():
            if years is None or not test(years, bound):
                return False
    return True


@given(_CONDITION, _CONDITION, st.lists(st.one_of(st.none(), st.integers(0, 8).map(lambda v: v / 2)), max_size=30))
def test_a_condition_implies_or_excludes_another_only_where_every_subject_agrees(first, second, values):
    if first is not None and first.implies(second):
        assert all(_holds(second, v) for v in values if _holds(first, v))
    if first is not None and first.excludes(second):
        assert not any(_holds(first, v) and _holds(second, v) for v in values)


@given(st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.none()), min_size=1, max_size=20))
def test_the_ledgers_shown_figures_are_each_cells_fixed_point_text(values):
    """The ledger compares figures as text (releases.shown_values): six decimals, empty when
    missing, "inf" as Python writes it — made column-wise, the same as cell by cell."""
    rows = pd.DataFrame({"numerator": values, "denominator": values[::-1], "value": 1.5}, dtype=float)

    def cell(v: float) -> str:
        return "" if pd.isna(v) else f"{v:.6f}"

    assert list(shown_values(rows)) == [f"{cell(n)}|{cell(d)}|1.500000"
                                        for n, d in zip(rows.numerator, rows.denominator, strict=True)]
