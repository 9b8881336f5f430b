"""The forecast (insyn.forecast): on series drawn from a known seasonal pattern and trend the
model finds them again; its intervals hold about as many held-out months as they say; the
backtest and the baseline; the staffing arithmetic worked by hand for one unit."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from insyn.forecast.backtest import backtest, errors_by_horizon, origins_of, verdicts
from insyn.forecast.config import load_forecast
from insyn.forecast.model import forecast, month_index, month_text, season_by_pool, seasonal_naive
from insyn.forecast.staffing import UnitStaff, Weights, staffing

CONFIG = load_forecast()
FIRST = 2020 * 12  # January 2020
# School reports: low in July, high in the autumn and spring terms (log scale, January 0).
SEASON = np.log([1.0, 1.1, 1.15, 1.05, 1.1, 0.95, 0.6, 0.8, 1.2, 1.25, 1.2, 0.95])
TREND = 0.08  # per year, on the log scale


def truth(level: float, months: np.ndarray) -> np.ndarray:
    return level * np.exp(SEASON[months % 12] + TREND * (months - FIRST) / 12)


def region(seed: int, years: int = 5, levels=(20, 45, 80, 150, 300), dispersion: float = 1.3) -> pd.DataFrame:
    """A pool of municipalities with the known season and trend, negative binomial counts with
    variance = dispersion × mean."""
    rng = np.random.default_rng(seed)
    months = np.arange(FIRST, FIRST + 12 * years)
    frames = []
    for i, level in enumerate(levels):
        mean = truth(level, months)
        values = rng.negative_binomial(mean / (dispersion - 1), 1 / dispersion)
        frames.append(pd.DataFrame({"pool": "99", "municipality": f"99{i:02d}", "unit": "", "measure": "reports",
                                    "month": months, "value": values}))
    return pd.concat(frames, ignore_index=True)


def test_the_seasonal_shape_is_found_within_five_percent():
    season = season_by_pool(region(seed=1))[("99", "reports")]
    assert np.abs(season.effect - SEASON).max() < 0.05  # log scale: within about 5 %


@pytest.mark.parametrize("level, tolerance", [(300, 0.05), (20, 0.15)])
def test_the_next_year_follows_the_trend_within_tolerance(level, tolerance):
    """The next twelve months' mean, month by month, within 5 % of the truth for a large
    municipality and 15 % for one with twenty reports a month (which borrows the pool's shape)."""
    history = region(seed=2)
    table = forecast(history, CONFIG).table
    code = f"99{(20, 45, 80, 150, 300).index(level):02d}"
    ahead = table[table.municipality == code].sort_values("month")
    expected = truth(level, ahead["month"].to_numpy())
    assert np.abs(ahead["mean"].to_numpy() / expected - 1).mean() < tolerance
    assert ahead["mean"].sum() / expected.sum() == pytest.approx(1, abs=tolerance)


SEEDS = list(range(100, 130))


def test_intervals_hold_about_their_share_of_held_out_months():
    """Over a fixed list of seeds: hold out the last year, forecast it from the four before; the
    95 % intervals hold 95 % of the months (within 92–98 %), the 80 % intervals 80 % (75–85 %)."""
    held = []
    for seed in SEEDS:
        history = region(seed)
        origin = int(history["month"].max()) - 12
        table = forecast(history[history.month <= origin], CONFIG).table
        held.append(table.merge(history, on=["pool", "municipality", "unit", "measure", "month"]))
    rows = pd.concat(held)
    inside_95 = ((rows.value >= rows.lower_95) & (rows.value <= rows.upper_95)).mean()
    inside_80 = ((rows.value >= rows.lower_80) & (rows.value <= rows.upper_80)).mean()
    assert 0.92 <= inside_95 <= 0.98
    assert 0.75 <= inside_80 <= 0.85


def test_a_series_forecast_is_the_same_whichever_others_are_forecast_with_it():
    """Each series draws from its own random stream: the page (one municipality), the report (all
    of them) and the brief show the same figures."""
    history = region(5)
    alone = forecast(history, CONFIG, municipality="9902").table
    together = forecast(history, CONFIG).table
    assert len(alone) == CONFIG.horizon_months
    pd.testing.assert_frame_equal(alone.reset_index(drop=True),
                                  together[together.municipality == "9902"].reset_index(drop=True))


def test_seasonal_naive_repeats_last_year():
    history = region(seed=3, years=3, levels=(50,))
    naive = seasonal_naive(history, 12)
    last = int(history["month"].max())
    year_before = history.set_index("month")["value"]
    assert list(naive["month"]) == list(range(last + 1, last + 13))
    assert list(naive["naive"]) == [year_before[m - 12] for m in naive["month"]]


def test_a_series_too_short_is_not_forecast():
    history = region(seed=4, years=1, levels=(50,))
    assert forecast(history, CONFIG).table.empty


def test_the_backtest_compares_each_origin_with_what_came():
    history = region(seed=5, years=4, levels=(40, 200))
    origins = origins_of(history, CONFIG)
    assert origins[0] == FIRST + CONFIG.min_history_months - 1 and origins[-1] == int(history.month.max()) - 1
    rows = backtest(history, CONFIG, origins[-6:])
    assert set(rows.origin) == set(origins[-6:])
    assert (rows.month - rows.origin == rows.horizon).all() and (rows.month <= history.month.max()).all()
    by_horizon = errors_by_horizon(rows, CONFIG)
    assert list(by_horizon.horizon) == list(range(1, 7))
    judged = verdicts(rows, CONFIG).set_index("municipality")
    # Trend and noise: last year's month is a worse guess than the model's, for the large one.
    assert judged.loc["9901", "beats_baseline"]
    assert judged.loc["9901", "model_mape"] < judged.loc["9901", "naive_mape"]


def test_a_stock_starts_from_where_it_is():
    """A caseload that rose by half a year ago is forecast from its new level, not from the
    three-year trend through the old one."""
    months = np.arange(FIRST, FIRST + 48)
    level = np.where(months < FIRST + 42, 100, 150)
    rng = np.random.default_rng(6)
    history = pd.DataFrame({"pool": "99", "municipality": "9900", "unit": "", "measure": "open_interventions",
                            "month": months, "value": rng.poisson(level)})
    table = forecast(history, CONFIG).table
    assert table.loc[table.horizon == 1, "median"].iloc[0] == pytest.approx(150, rel=0.15)
    assert (table["lower_95"] <= 150).all() and (table["upper_95"] >= 150).all()


def test_month_index_round_trip():
    assert month_index("2024-03") == 2024 * 12 + 2
    assert month_text(month_index("2024-12")) == "2024-12"


def _worked_unit():
    """test_staffing_worked_by_hand's unit: (origin, UnitStaffing)."""
    from insyn.forecast.outlook import UnitStaffing

    origin = 2025 * 12 + 11  # December 2025; month 1 is January 2026
    horizon, draws = 12, 50
    caseload = np.zeros((draws, horizon, 3))
    caseload[..., 0], caseload[..., 1], caseload[..., 2] = 10, 20, 30
    caseload[:, 3:, 1] = 30
    weights = Weights(awaiting=12, investigation=10, intervention=6)
    staff = UnitStaff(fte_now=5.0, norm_per_fte=125, annual_turnover=0.25, fixed_term_ends={origin + 6: 1.0})
    return origin, UnitStaffing("Utredning", staff, weights, staffing(caseload, weights, staff, origin,
                                                                      levels=[0.8, 0.95]))


def test_staffing_worked_by_hand():
    """One unit, a certain caseload (every draw the same) so the arithmetic can be followed.

    Caseload each month: 10 reports awaiting assessment, 20 open investigations, 30 open
    interventions. Points = 12·10 + 10·20 + 6·30 = 120 + 200 + 180 = 500; from the fourth month
    10 more investigations: 500 + 10·10 = 600.
    Norm 125 points per FTE: need = 500/125 = 4.0 FTE, then 600/125 = 4.8 FTE.
    Staff: 5.0 FTE in post, of which 1.0 on a fixed-term contract ending so that it is gone
    from the sixth month; the other 4.0 FTE leave at a turnover of 0.25 a year: after h months
    4.0 · (1 − e^(−0.25·h/12)) have left.
      month 4: 5.0 − 0 − 4.0·(1 − e^(−1/12)) = 5.0 − 4.0·0.07996 = 4.680 < 4.8: short.
      month 3: 5.0 − 4.0·(1 − e^(−1/16)) = 5.0 − 4.0·0.06059 = 4.758 ≥ 4.0: not short.
    So the unit is first short in month 4; with a three-month lead time, recruit by month 1.
    """
    origin, plan = _worked_unit()
    result = plan.result
    months = result.months.set_index("month")
    assert months.loc[origin + 1, "points"] == 500 and months.loc[origin + 4, "points"] == 600
    assert months.loc[origin + 1, "need_fte"] == pytest.approx(4.0)
    assert months.loc[origin + 4, "need_fte"] == pytest.approx(4.8)
    assert months.loc[origin + 3, "available_fte"] == pytest.approx(4.758, abs=1e-3)
    assert months.loc[origin + 4, "available_fte"] == pytest.approx(4.680, abs=1e-3)
    assert months.loc[origin + 5, "available_fte"] == pytest.approx(5.0 - 4.0 * (1 - np.exp(-0.25 * 5 / 12)))
    assert months.loc[origin + 6, "available_fte"] == pytest.approx(5.0 - 1.0 - 4.0 * (1 - np.exp(-0.125)))
    assert result.first_short == origin + 4 and result.recruit_by(3) == origin + 1
    assert result.shortfall[0] == pytest.approx(4.8 - 4.680, abs=1e-3)
    assert months.loc[origin + 3, "chance_short"] == 0 and months.loc[origin + 4, "chance_short"] == 1


def test_recruit_before_the_shortfall_reaches_a_post():
    """The worked unit is short by 0.12 FTE from April 2026, 0.20 in May, and 1.27 in June when
    the fixed-term post has ended (4.8 − 3.53): the shortfall reaches forecast.yaml's 0.5 FTE in
    June, so with three months' lead time recruit by March — not "no need" because April's
    shortfall is small. A unit whose shortfall stays under 0.5 all year is told so, with no month."""
    from insyn.forecast.outlook import UnitStaffing
    from insyn.publish.forecast import recruit_by, staffing_sentence

    origin, plan = _worked_unit()
    assert CONFIG.smallest_recruitment_fte == 0.5
    assert recruit_by(plan, 3, 0.5) == origin + 3  # March 2026
    said = staffing_sentence(plan, 3, 0.5)
    assert said.startswith("Utredning: från april 2026 räcker personalen inte — det fattas 0,1 årsarbetare")
    assert "I juni 2026 fattas 1,3 årsarbetare." in said
    assert said.endswith("Rekrytera senast i mars 2026 (ledtid 3 månader).")
    assert staffing_sentence(plan, 3, 0.1).endswith("Rekrytera senast i januari 2026 (ledtid 3 månader).")

    # 5.0 FTE at a turnover of 0.05 a year against a need of 4.8 from the fourth month:
    # 5.0 · e^(−0.05·h/12) falls under 4.8 at h = 10 (4.79) and is 4.76 at h = 12: 0.04 short.
    caseload = np.zeros((50, 12, 3))
    caseload[..., 0], caseload[..., 1], caseload[..., 2] = 10, 20, 30
    caseload[:, 3:, 1] = 30
    weights = Weights(awaiting=12, investigation=10, intervention=6)
    staff = UnitStaff(fte_now=5.0, norm_per_fte=125, annual_turnover=0.05)
    small = UnitStaffing("Mottagning", staff, weights, staffing(caseload, weights, staff, origin, [0.8, 0.95]))
    assert small.result.first_short == origin + 10 and recruit_by(small, 3, 0.5) is None
    said = staffing_sentence(small, 3, 0.5)
    assert "mindre än 0,5 årsarbetare hela året" in said and "Rekrytera" not in said


def test_the_history_is_published_rounded_and_small_counts_hidden():
    """Monthly counts beside published quarters and years would subtract to a hidden figure:
    the chart and its words show them rounded to disclosure.yaml's history_rounding (5); a count
    of 1–4 stays "färre än 5" and out of the line."""
    from insyn.disclosure.rules import DisclosureRules
    from insyn.publish.forecast import SeriesView, forecast_chart, published_history

    rules = DisclosureRules()
    months = np.arange(FIRST, FIRST + 24)
    values = [0, 3, 7, 12, 13, 18, 22, 27, 101, 102, 103, 4] * 2
    view = SeriesView("Anmälningar", pd.DataFrame({"month": months, "value": values}),
                      pd.DataFrame(columns=["month", "median", "lower_80", "upper_80", "lower_95", "upper_95"]),
                      pd.DataFrame(columns=["month", "naive"]), True, None, None, None)
    shown = published_history(view, rules)["value"].tolist()
    assert shown[:12] == [0, 3, 5, 10, 15, 20, 20, 25, 100, 100, 105, 4]
    chart = str(forecast_chart(view, "t", [0.8, 0.95], rules))
    assert "januari 2020: 0; februari 2020: färre än 5; mars 2020: 5; april 2020: 10" in chart
    assert "avrundat till 5-tal" in chart and ": 12;" not in chart and ": 101;" not in chart


def test_intervals_in_words_never_show_a_small_count():
    from insyn.disclosure.rules import DisclosureRules
    from insyn.publish.forecast import interval_text

    rules = DisclosureRules()
    assert rules.count_threshold == 5
    assert interval_text(38.2, 67.4, rules) == "38–67"
    assert interval_text(0.0, 12.0, rules) == "högst 12" and interval_text(3.0, 12.0, rules) == "högst 12"
    assert interval_text(0.4, 3.6, rules) == "färre än 5" and interval_text(0.0, 0.2, rules) == "0"
    assert interval_text(980.0, 1234.0, rules) == "980–1\u202f234"  # a narrow no-break space


def test_no_recruitment_when_the_staff_carries_the_need():
    caseload = np.full((20, 12, 3), 5.0)
    result = staffing(caseload, Weights(12, 10, 6), UnitStaff(5.0, 125, 0.1), 24300, [0.8, 0.95])
    assert result.recruit_by(3) is None and result.first_short is None


# From the store: five years of two small municipalities of one county, with a trend and a shock.
STORE_YEARS = [2021, 2022, 2023, 2024, 2025]
SHOCK_YEAR = 2023


@pytest.fixture(scope="module")
def drifted_store(tmp_path_factory):
    from insyn.ingest.load import import_files
    from insyn.model.municipalities import region_municipalities
    from insyn.model.workforce_config import load_workforce, load_workload
    from insyn.store import open_store
    from insyn.synth.generate import Drift, generate, write_tables
    from insyn.workforce.workload import replace_workload

    chosen = region_municipalities("demo").query("municipality_code in ['0884', '0860']")
    tables = generate(chosen, STORE_YEARS, seed=21, drift=Drift(0.08, SHOCK_YEAR, 1.4))
    files = write_tables(tables, tmp_path_factory.mktemp("drift"), fmt="parquet")
    store = open_store(None)
    import_files(store, files, b"k" * 32, extract_date=dt.date(max(STORE_YEARS), 12, 31))
    replace_workload(store, load_workforce(), load_workload())
    yield store
    store.close()


@pytest.mark.slow
def test_the_generator_drifts_and_the_history_shows_it(drifted_store):
    from insyn.forecast.history import store_history
    from insyn.model.workforce_config import load_workforce, load_workload

    stored = store_history(drifted_store, CONFIG, load_workforce(), load_workload())
    history = stored.history
    assert set(history.measure) == {m.id for m in CONFIG.measures}
    assert history.month.min() == 2021 * 12 and history.month.max() == 2025 * 12 + 11
    totals = history[(history.unit == "") & (history.measure == "reports")]
    yearly = totals.groupby(totals.month // 12)["value"].sum()
    # The shock year stands out; the years after it are above the years before it (the trend).
    assert yearly[SHOCK_YEAR] > 1.2 * yearly[SHOCK_YEAR - 1]
    assert yearly[2025] > yearly[2021] * 1.1
    units = history[history.unit != ""].groupby(["municipality", "month", "measure"])["value"].sum()
    whole = history[history.unit == ""].set_index(["municipality", "month", "measure"])["value"]
    assert (units <= whole.reindex(units.index)).all()  # a unit's counts are part of the municipality's


@pytest.mark.slow
def test_a_municipalitys_outlook_from_the_store(drifted_store):
    from insyn.forecast.outlook import outlook
    from insyn.model.workforce_config import load_workforce, load_workload

    result = outlook(drifted_store, CONFIG, load_workforce(), load_workload(), "0884")
    assert result.origin == 2025 * 12 + 11
    whole = result.forecast[result.forecast.unit == ""]
    assert set(whole.measure) == {m.id for m in CONFIG.measures}
    assert (whole.groupby("measure").size() == CONFIG.horizon_months).all()
    assert (whole.lower_95 <= whole.lower_80).all() and (whole.upper_80 <= whole.upper_95).all()
    assert set(result.verdicts.unit) >= {""} and result.verdicts.beats_baseline.notna().all()
    assert list(result.errors.horizon.unique()) == list(range(1, 13))
    assert result.staffing and set(result.staffing) <= set(result.units())
    for plan in result.staffing.values():
        months = plan.result.months
        assert len(months) == CONFIG.horizon_months and (months.need_fte >= 0).all()
        if plan.result.first_short is not None:
            lead = CONFIG.recruitment_lead_months
            assert plan.result.recruit_by(result.lead_months) == plan.result.first_short - lead


@pytest.mark.slow
def test_the_regional_outlooks_are_each_municipalitys_own(drifted_store):
    """The report's forecasts (all municipalities at once, the whole municipality's headline
    measures) are the figures of each municipality's own outlook."""
    from insyn.forecast.history import store_history
    from insyn.forecast.outlook import municipal_outlooks, outlook_of, unit_staff
    from insyn.model.workforce_config import load_workforce, load_workload

    stored = store_history(drifted_store, CONFIG, load_workforce(), load_workload())
    measures = ["reports", "open_interventions"]
    regional = municipal_outlooks(stored, CONFIG, measures)
    assert set(regional) == {"0884", "0860"}
    for municipality, result in regional.items():
        origin = int(result.history.month.max())
        own = outlook_of(stored, unit_staff(drifted_store, load_workforce(), load_workload(), municipality, origin),
                         CONFIG, load_workload(), municipality)
        for frame, mine in ((result.forecast, own.forecast), (result.verdicts, own.verdicts)):
            mine = mine[(mine.unit == "") & mine.measure.isin(measures)]
            assert set(frame.measure) == set(measures)
            pd.testing.assert_frame_equal(frame.reset_index(drop=True), mine.reset_index(drop=True),
                                          check_dtype=False)
