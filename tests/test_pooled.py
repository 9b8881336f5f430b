"""Three years pooled (insyn.indicators.pooled): worked by hand, protected with the years they
add up, and shown labelled where a reader meets them."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_disclosure import ranges_from_shown

from insyn.disclosure.releases import published_years
from insyn.disclosure.rules import DisclosureRules
from insyn.disclosure.status import is_hidden
from insyn.disclosure.suppression import protect
from insyn.indicators.definitions import by_id, pooled_indicators
from insyn.indicators.engine import RESULT_COLUMNS
from insyn.indicators.pooled import POOLED, pooled_label, with_pooled, years_of
from insyn.publish.publication import prepare
from insyn.publish.report import render_report
from insyn.publish.views import long_rows

RULES = DisclosureRules()
SHARE = "forhandsbedomning_inom_14_dagar"  # a share in per cent of assessments
RATE = "anmalningar_per_1000_barn"         # reports per 1 000 residents 0–17


def _yearly(indicator: str, by_year: dict[int, tuple[int, int]], municipality: str = "2506",
            complete: dict[int, bool] | None = None, **dimensions) -> list[dict]:
    factor = by_id()[indicator].factor
    return [{**dict.fromkeys(RESULT_COLUMNS), "indicator": indicator, "municipality": municipality,
             "period": str(year), "period_type": "year", "numerator": n, "denominator": d,
             "value": n * factor / d if d else None, "complete": (complete or {}).get(year, True), **dimensions}
            for year, (n, d) in by_year.items()]


def test_three_years_add_up_their_numerators_and_denominators():
    # Assessments within 14 days: 1 of 8, 2 of 9, 3 of 7, 0 of 6, 4 of 12 (2021–2025).
    frame = pd.DataFrame(_yearly(SHARE, {2021: (1, 8), 2022: (2, 9), 2023: (3, 7), 2024: (0, 6), 2025: (4, 12)})
                         + _yearly(RATE, {2024: (30, 600), 2025: (36, 600)}))
    pooled = with_pooled(frame, by_id())
    pooled = pooled[pooled.period_type == POOLED].set_index(["indicator", "period"])
    assert list(pooled.index) == [(SHARE, "2021–2023"), (SHARE, "2022–2024"), (SHARE, "2023–2025")]
    assert pooled.loc[(SHARE, "2021–2023"), ["numerator", "denominator"]].tolist() == [6, 24]
    assert pooled.loc[(SHARE, "2022–2024"), "value"] == pytest.approx(100 * 5 / 22)
    assert pooled.loc[(SHARE, "2023–2025"), "value"] == pytest.approx(100 * 7 / 25)
    # Two years of the rate are not three: no pooled row.
    assert RATE not in pooled.index.get_level_values("indicator")


def test_only_complete_years_of_municipality_totals_of_pooled_indicators_are_pooled():
    rows = (_yearly(SHARE, {2022: (5, 10), 2023: (5, 10), 2024: (5, 10)}, complete={2024: False})
            + _yearly(SHARE, {2022: (5, 10), 2023: (5, 10), 2024: (5, 10)}, municipality="2403", sex="female")
            + _yearly("utredningstid_median", {2022: (90, 10), 2023: (95, 10), 2024: (80, 10)}))
    assert "utredningstid_median" not in pooled_indicators()  # a median is not pooled
    frame = pd.DataFrame(rows)
    assert len(with_pooled(frame, by_id())) == len(frame)


def test_a_rate_per_1000_pools_to_the_three_years_rate():
    frame = pd.DataFrame(_yearly(RATE, {2022: (30, 600), 2023: (33, 610), 2024: (36, 620)}))
    pooled = with_pooled(frame, by_id()).iloc[-1]
    assert (pooled.period, pooled.numerator, pooled.denominator) == ("2022–2024", 99, 1830)
    assert pooled.value == pytest.approx(1000 * 99 / 1830)


def test_a_pooled_period_covers_its_three_years():
    assert pooled_label(2025) == "2023–2025"
    assert years_of("2023–2025") == ["2023", "2024", "2025"] and years_of("2024-Q3") == ["2024"]
    assert published_years(["2022", "2023–2025", "2021-Q4"]) == ["2021", "2022", "2023", "2024", "2025"]


def _protected(by_year: dict[int, tuple[int, int]]) -> pd.DataFrame:
    return protect(with_pooled(pd.DataFrame(_yearly(SHARE, by_year)), by_id()), RULES)


def _ranges(by_year: dict[int, tuple[int, int]], published: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """The range of each year's numerator from the rows shown: cells are every row's numerator
    and denominator; a pooled cell is its three years added up; numerator ≤ denominator."""
    frame = with_pooled(pd.DataFrame(_yearly(SHARE, by_year)), by_id())
    periods = frame.period.tolist()
    n = len(periods)
    values = [*frame.numerator, *frame.denominator]
    shown = [not is_hidden(s) for s in published.status] * 2
    equations = []
    for i, period in enumerate(periods):
        if "–" in period:
            parts = tuple(periods.index(y) for y in years_of(period))
            equations += [(i, parts, 0.0), (n + i, tuple(n + p for p in parts), 0.0)]
    inequalities = [(i, n + i) for i in range(n)]
    hidden = [i for i in range(n) if not shown[i]]
    found = ranges_from_shown(values, shown, equations, inequalities, asked=hidden)
    return {periods[i]: found[i] for i in hidden}


def test_a_pooled_figure_that_would_give_away_a_hidden_year_is_hidden():
    # 20 of 40 and 30 of 50 shown, 2024's 3 of 8 hidden: the pooled 53 of 98 would give it back.
    by_year = {2022: (20, 40), 2023: (30, 50), 2024: (3, 8)}
    published = _protected(by_year).set_index("period")
    assert is_hidden(published.status["2024"])
    assert is_hidden(published.status["2022–2024"]) or is_hidden(published.status["2023"])
    low, high = _ranges(by_year, _protected(by_year))["2024"]
    assert high - low >= RULES.count_threshold


def test_three_small_years_are_published_pooled():
    # Each year too few to show (denominators under 10); the three together are 6 of 24.
    published = _protected({2021: (1, 8), 2022: (2, 9), 2023: (3, 7)}).set_index("period")
    assert [is_hidden(published.status[y]) for y in ("2021", "2022", "2023")] == [True] * 3
    pooled = published.loc["2021–2023"]
    assert not is_hidden(pooled.status) and (pooled.numerator, pooled.denominator) == (6, 24)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 12), st.integers(0, 30)), min_size=3, max_size=5))
def test_no_hidden_year_can_be_narrowed_from_the_pooled_figures(counts):
    by_year = {2020 + i: (min(n, d), d) for i, (n, d) in enumerate(counts)}
    published = _protected(by_year)
    for period, (low, high) in _ranges(by_year, published).items():
        numerator = by_year[int(period)][0] if "–" not in period else None
        if numerator is not None and 0 < numerator < RULES.count_threshold:
            assert high - low >= RULES.count_threshold - 1e-6, (period, by_year, published.status.tolist())


def test_the_report_and_the_workbook_show_three_years_labelled():
    frame = pd.DataFrame(_yearly(SHARE, {2021: (1, 8), 2022: (2, 9), 2023: (3, 7)})
                         + _yearly(SHARE, {2021: (40, 50), 2022: (45, 50), 2023: (42, 50)}, municipality="2403"))
    pub = prepare(frame, RULES)
    assert pub.pooled_period == "2021–2023"
    html = render_report(pub)
    assert "tre år tillsammans" in html and "2021–2023" in html and "25,0" in html  # 6 of 24
    pooled = [r for r in long_rows(pub) if r["Period"] == "2021–2023"]
    assert {r["Periodtyp"] for r in pooled} == {"tre år tillsammans"} and len(pooled) == 2

