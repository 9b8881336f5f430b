"""Each municipality's and unit's monthly history of the measures forecast: flows counted from
the stored events, stocks (the caseload) from the case work the workload counts on the first
day of every month (insyn.workforce.workload.case_work_months), so the caseload forecast and
today's workload measure the same thing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from insyn.forecast.config import ForecastConfig
from insyn.forecast.model import HISTORY_COLUMNS, MONTHS_PER_YEAR, month_index
from insyn.indicators.periods import coverage, governing
from insyn.model.municipalities import municipalities
from insyn.model.workforce_config import WorkforceConfig, WorkloadConfig
from insyn.workforce.workload import case_work_months


def pools(codes) -> dict[str, str]:
    """Each municipality's pool for the seasonal shape: its county (a code unknown to the
    municipality list pools alone)."""
    county = dict(zip(municipalities()["municipality_code"], municipalities()["county_code"], strict=True))
    return {code: county.get(code, code) for code in codes}


def complete_months(store) -> dict[str, tuple[int, int]]:
    """Per municipality: the first and last month (month_index) its case data cover — from the
    month of the first report (an export window starts with a month; its first report need not
    come on the first) to the last month the data cover in full."""
    covered = coverage(store.ibis, store.table("events"), store.table("staff"),
                       extract_dates=store.extract_dates())
    spans = {}
    for code, sources in covered.items():
        if "events" not in sources:
            continue
        judged = governing(sources)
        first = judged.first.year * MONTHS_PER_YEAR + judged.first.month - 1
        end = judged.end
        last_day = (pd.Timestamp(end) + pd.offsets.MonthEnd(0)).date()
        last = end.year * MONTHS_PER_YEAR + end.month - 1 - (end != last_day)
        if last >= first:
            spans[code] = (first, last)
    return spans


def _flows(store, config: ForecastConfig) -> pd.DataFrame:
    events = {m.event: m.id for m in config.measures if m.kind == "flow"}
    frame = store.raw.execute(
        "SELECT municipality, unit, event, year(date) * 12 + month(date) - 1 AS month, count(*) AS value "
        f"FROM events WHERE event IN ({', '.join('?' * len(events))}) GROUP BY ALL", list(events)).df()
    return frame.assign(measure=frame.pop("event").map(events))


def _stocks(work: pd.DataFrame, config: ForecastConfig) -> pd.DataFrame:
    phases = {m.phase: m.id for m in config.measures if m.kind == "stock"}
    work = work[work["phase"].isin(phases)]
    frame = work.groupby(["municipality", "unit", "period", "phase"], dropna=False)["work"].sum().reset_index()
    frame["month"] = [month_index(p) for p in frame["period"]]
    return frame.assign(measure=frame.pop("phase").map(phases)).rename(columns={"work": "value"})


def monthly_history(flows: pd.DataFrame, stocks: pd.DataFrame, spans: dict[str, tuple[int, int]]) -> pd.DataFrame:
    """One row per series (a municipality's total and each unit) and month, months without any
    count as zero, within each municipality's complete months (stocks from their first month)."""
    counts = pd.concat([flows, stocks], ignore_index=True)[["municipality", "unit", "measure", "month", "value"]]
    counts = counts[counts["municipality"].isin(spans)]
    counts["unit"] = counts["unit"].fillna("")
    both = pd.concat([counts[counts["unit"] != ""], counts.assign(unit="")])
    both = both.groupby(["municipality", "unit", "measure", "month"])["value"].sum().reset_index()
    frames = []
    for (code, unit, measure), frame in both.groupby(["municipality", "unit", "measure"]):
        first, last = spans[code]
        start = max(first, int(frame["month"].min())) if measure in set(stocks.get("measure", ())) else first
        months = np.arange(start, last + 1)
        values = frame.set_index("month")["value"].reindex(months, fill_value=0).to_numpy()
        frames.append(pd.DataFrame({"municipality": code, "unit": unit, "measure": measure, "month": months,
                                    "value": values}))
    if not frames:
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    history = pd.concat(frames, ignore_index=True)
    history.insert(0, "pool", history["municipality"].map(pools(history["municipality"].unique())))
    return history[HISTORY_COLUMNS]


def intervention_points(work: pd.DataFrame, last: int, months: int = MONTHS_PER_YEAR) -> dict[tuple[str, str], float]:
    """Per (municipality, unit) and per municipality (unit ""): the mean points of an ongoing
    intervention over the last `months` months up to `last` — the unit's own mix of kinds."""
    work = work[work["phase"] == "insats"]
    recent = pd.Series([last - months < month_index(p) <= last for p in work["period"]], index=work.index,
                       dtype=bool)
    work = work[recent]
    by_unit = work.groupby(["municipality", "unit"], dropna=False)[["points", "work"]].sum()
    by_municipality = work.groupby("municipality")[["points", "work"]].sum()
    means = {(code, unit if isinstance(unit, str) else ""): row.points / row.work
             for (code, unit), row in by_unit.iterrows() if row.work}
    return means | {(code, ""): row.points / row.work for code, row in by_municipality.iterrows() if row.work}


@dataclass
class StoreHistory:
    history: pd.DataFrame                            # HISTORY_COLUMNS
    intervention_points: dict[tuple[str, str], float]  # (municipality, unit) -> points of an intervention


def store_history(store, config: ForecastConfig, workforce: WorkforceConfig, workload: WorkloadConfig,
                  cache_dir: Path | None = None) -> StoreHistory:
    """The monthly history of every measure for every municipality and unit in the store, and
    each unit's mean points of an intervention over its last twelve months."""
    work = case_work_months(store, workforce, workload, cache_dir)
    history = monthly_history(_flows(store, config), _stocks(work, config), complete_months(store))
    last = int(history["month"].max()) if len(history) else 0
    return StoreHistory(history, intervention_points(work, last))
