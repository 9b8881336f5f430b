"""One municipality's outlook, as `insyn prognos` and the page Prognos show it: its history and
forecast per unit and measure, the seasonal-naive baseline, the backtest, and each unit's
staffing need against its staff with the month to recruit by.

Row-level about no one: every figure is a count per unit and month (or FTE); published views
still go through disclosure control (insyn.publish), as counts of children do.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from insyn.errors import NotFound
from insyn.forecast.backtest import backtest, errors_by_horizon, verdicts
from insyn.forecast.config import ForecastConfig
from insyn.forecast.history import StoreHistory, store_history
from insyn.forecast.model import MONTHS_PER_YEAR, SERIES, SeriesFilter, forecast, seasonal_naive
from insyn.forecast.staffing import Staffing, UnitStaff, Weights, staffing
from insyn.model.workforce_config import WorkforceConfig, WorkloadConfig

STAFFING_PHASES = ("forhandsbedomning", "utredning", "insats")


def first_day(month: int) -> dt.date:
    return dt.date(month // MONTHS_PER_YEAR, month % MONTHS_PER_YEAR + 1, 1)


@dataclass
class UnitStaffing:
    unit: str
    staff: UnitStaff
    weights: Weights
    result: Staffing


@dataclass
class Outlook:
    municipality: str
    origin: int                # the last month known (month_index)
    history: pd.DataFrame      # the municipality's series (HISTORY_COLUMNS)
    forecast: pd.DataFrame     # per series and month ahead: mean, median, intervals
    baseline: pd.DataFrame     # the seasonal-naive forecast from the origin
    errors: pd.DataFrame       # the backtest per unit, measure and month ahead (empty without one)
    verdicts: pd.DataFrame     # the backtest per series: model against baseline
    staffing: dict[str, UnitStaffing]
    lead_months: int           # the recruitment lead time (another: dataclasses.replace)
    smallest_recruitment_fte: float  # a shortfall below it is covered, not recruited for

    def units(self) -> list[str]:
        return sorted(set(self.history["unit"]) - {""})


def unit_staff(store, workforce: WorkforceConfig, workload: WorkloadConfig, municipality: str,
               origin: int) -> dict[str, UnitStaff]:
    """Each unit's caseworker staff on the first forecast day (UnitStaff)."""
    day = first_day(origin + 1)
    roles = workforce.caseworker_roles
    staff = store.raw.execute(
        "SELECT unit, employment, start_date, end_date, coalesce(fte, 1.0) AS fte FROM staff "
        f"WHERE municipality = ? AND role IN ({', '.join('?' * len(roles))})", [municipality, *roles]).df()
    staff["start_date"] = pd.to_datetime(staff["start_date"]).dt.date
    staff["end_date"] = pd.to_datetime(staff["end_date"]).dt.date
    in_post = staff[(staff["start_date"] <= day) & (staff["end_date"].isna() | (staff["end_date"] >= day))]
    year_before = day - dt.timedelta(days=365)
    left = staff[staff["end_date"].notna() & (staff["employment"] != "visstid")]
    left = left[(left["end_date"] >= year_before) & (left["end_date"] < day)]
    norms = store.raw.execute(
        "SELECT unit, sum(norm_points) / nullif(sum(fte), 0) AS norm FROM workload_monthly "
        "WHERE municipality = ? AND period = (SELECT max(period) FROM workload_monthly WHERE municipality = ?) "
        "GROUP BY unit", [municipality, municipality]).df().set_index("unit")["norm"]
    default_norm = next(n.points for n in workload.norms if n.level == workload.missing_exam_year_level)
    result = {}
    for unit, frame in in_post.groupby("unit"):
        fte_now = float(frame["fte"].sum())
        fixed = frame[(frame["employment"] == "visstid") & frame["end_date"].notna()]
        ends: dict[int, float] = {}
        for end, fte in zip(fixed["end_date"], fixed["fte"], strict=True):
            month = end.year * MONTHS_PER_YEAR + end.month  # the month after the end's
            ends[month] = ends.get(month, 0.0) + float(fte)
        norm = norms.get(unit)
        result[unit] = UnitStaff(fte_now, float(norm) if norm is not None and pd.notna(norm) else default_norm,
                                 float(left.loc[left["unit"] == unit, "fte"].sum()) / fte_now if fte_now else 0.0,
                                 ends)
    return result


def _caseload(draws: dict, pool: str, municipality: str, unit: str, config: ForecastConfig,
              shape: tuple[int, int]) -> np.ndarray:
    """draws × horizon × phase (STAFFING_PHASES) of one unit; a phase it never had is zero."""
    by_phase: dict[str | None, str] = {m.phase: m.id for m in config.measures if m.kind == "stock"}
    return np.stack([draws.get((pool, municipality, unit, by_phase[phase]), np.zeros(shape))
                     for phase in STAFFING_PHASES], axis=-1)


def outlook_of(stored: StoreHistory, staff: dict[str, UnitStaff], config: ForecastConfig,
               workload: WorkloadConfig, municipality: str, with_backtest: bool = True) -> Outlook:
    """The outlook from a history already read."""
    own = stored.history[stored.history["municipality"] == municipality]
    if own.empty:
        raise NotFound(f"Ingen historik för kommun {municipality} att göra en prognos av.")
    history = stored.history[stored.history["pool"] == own["pool"].iloc[0]]  # what its seasonal shape needs
    origin = int(own["month"].max())
    predicted = forecast(history, config, keep_draws=True, municipality=municipality)
    rows = backtest(history, config, municipality=municipality) if with_backtest else pd.DataFrame()
    errors = errors_by_horizon(rows, config, by=["unit"]) if len(rows) else pd.DataFrame()
    judged = verdicts(rows, config) if len(rows) else pd.DataFrame(columns=[*SERIES, "beats_baseline"])
    pool = own["pool"].iloc[0]
    shape = (config.draws, config.horizon_months)
    plans = {}
    weights = workload.weights
    for unit, unit_staff_now in staff.items():
        mix = stored.intervention_points.get((municipality, unit),
                                             float(np.mean(list(weights.insats.values()))))
        unit_weights = Weights(weights.forhandsbedomning, weights.utredning, mix)
        caseload = _caseload(predicted.draws, pool, municipality, unit, config, shape)
        plans[unit] = UnitStaffing(unit, unit_staff_now, unit_weights,
                                   staffing(caseload, unit_weights, unit_staff_now, origin, config.interval_levels))
    return Outlook(municipality, origin, own, predicted.table, seasonal_naive(own, config.horizon_months),
                   errors, judged, plans, config.recruitment_lead_months, config.smallest_recruitment_fte)


def outlook(store, config: ForecastConfig, workforce: WorkforceConfig, workload: WorkloadConfig,
            municipality: str, cache_dir: Path | None = None, with_backtest: bool = True) -> Outlook:
    """A municipality's outlook from the store."""
    stored = store_history(store, config, workforce, workload, cache_dir)
    own = stored.history[stored.history["municipality"] == municipality]
    if own.empty:
        raise NotFound(f"Ingen historik för kommun {municipality} att göra en prognos av.")
    staff = unit_staff(store, workforce, workload, municipality, int(own["month"].max()))
    return outlook_of(stored, staff, config, workload, municipality, with_backtest)


def municipal_outlooks(stored: StoreHistory, config: ForecastConfig, measures: list[str]) -> dict[str, Outlook]:
    """Every municipality's outlook of these measures for the municipality as a whole — no units,
    no staffing, no errors per month ahead — for the regional report. One forecast and one
    backtest per pool; each series' figures are those of its municipality's own outlook
    (`outlook_of`)."""
    only = SeriesFilter(units=frozenset({""}), measures=frozenset(measures))
    result = {}
    for _, pool in stored.history.groupby("pool"):
        history = only.of(pool)
        predicted = forecast(pool, config, only=only).table
        rows = backtest(pool, config, only=only)
        judged = verdicts(rows, config) if len(rows) else pd.DataFrame(columns=[*SERIES, "beats_baseline"])
        baseline = seasonal_naive(history, config.horizon_months)
        for municipality, own in history.groupby("municipality"):
            result[municipality] = Outlook(
                municipality, int(own["month"].max()), own,
                predicted[predicted["municipality"] == municipality],
                baseline[baseline["municipality"] == municipality], pd.DataFrame(),
                judged[judged["municipality"] == municipality], {}, config.recruitment_lead_months,
                config.smallest_recruitment_fte)
    return result
