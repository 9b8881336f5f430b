"""Weighted workload (arbetstyngd) per caseworker and unit, month by month.

Load is measured on the first day of each month with the same subjects the indicators use
(caseworker_loads, case_work): the points of the work ongoing in the cases each caseworker
holds, against the norm for their experience and FTE (workload.yaml). Rows name employees:
they are for the caseworker's own managers, never for publication (docs/privacy.md).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa

from insyn.errors import InputError, NotFound
from insyn.indicators.definitions import Subjects
from insyn.indicators.engine import bound_relations, build_subjects, cached_sql, place, store_sources
from insyn.indicators.periods import PERIODS_SCHEMA, coverage, governing
from insyn.indicators.subjects import Sources
from insyn.model.workforce_config import WorkforceConfig, WorkloadConfig
from insyn.workforce.ratings import ratings_of
from insyn.workforce.subjects import CaseworkerLoadsSubject, placed_weighted_work

CASEWORKER_COLUMNS = ["municipality", "period", "unit", "staff_id", "role", "employment", "fte", "level",
                      "cases", "points", "norm_points", "load_ratio", "months_over_norm", "rating",
                      "flex_hours"]
CASE_WORK_COLUMNS = ["case_id", "phase", "intervention", "points"]
UNASSIGNED_COLUMNS = ["municipality", "period", "unit", "reason", "cases", "points"]
NO_CASEWORKER = "utan handläggare"
NOT_IN_POST = "handläggaren inte i tjänst"
OTHER_ROLE = "annan roll än handläggare"


@dataclass
class Workload:
    caseworkers: pd.DataFrame  # one row per caseworker and month (CASEWORKER_COLUMNS)
    unassigned: pd.DataFrame   # work whose caseworker is missing or not in post (UNASSIGNED_COLUMNS)


def month_periods(store, workforce: WorkforceConfig, municipality: str | None = None,
                  month: dt.date | None = None) -> pd.DataFrame:
    """The months of each municipality's staff data, as periods whose reference date is the
    first of the month: from January of the first staff year to the month of the data's end.
    Narrowed to one municipality and month when given."""
    rows = []
    covered = coverage(store.ibis, store.table("events"), store.table("staff"),
                       extract_dates=store.extract_dates())
    for code, sources in covered.items():
        # Load is the points of the cases held: no case data, no workload (not zeros).
        if not {"staff", "events"} <= set(sources) or (municipality and code != municipality):
            continue
        judged = governing(sources)
        first = dt.date(sources["staff"].first.year, 1, 1)
        for start in pd.date_range(first, judged.end, freq="MS").date:
            if month and start != month:
                continue
            end = (pd.Timestamp(start) + pd.offsets.MonthEnd(0)).date()
            rows.append((code, f"{start:%Y-%m}", "month", start, end, start, judged.end,
                         judged.complete_through(end), True, True, False, False,
                         workforce.personnel_cost_addon(start.year)))
    return pd.DataFrame(rows, columns=list(PERIODS_SCHEMA))


def _caseworker_months(sources) -> ir.Table:
    subjects = Subjects.of("caseworker_loads", CaseworkerLoadsSubject())
    placed = place(subjects, build_subjects(subjects, sources), sources, sources.periods)
    return placed.select("municipality", "period", "unit", "staff_id", "role", "employment", "fte", "level",
                         "cases", "points", "norm_points", "load_ratio")


def _case_points(sources) -> ir.Table:
    """Per case and month: the case's unit and caseworker and the points of its work."""
    work = sources.weighted_work
    return work.group_by(["municipality", "period", "case_id", "unit", "caseworker_id"]).aggregate(
        points=work.points.sum())


WORK_TABLE = "insyn_workload_work"


def _queries(store, periods: pd.DataFrame, workforce: WorkforceConfig, workload: WorkloadConfig,
             cache_dir: Path | None, builds: dict[str, Callable[[Sources], ir.Table]]) -> list[pd.DataFrame]:
    """One frame per build (by its cache name) for the periods. The placed and weighted case
    work, which they all read, is computed once into a temporary table."""
    with bound_relations(store, periods, workforce, workload):
        work_sql = cached_sql(store, "workload-work", [],
                              lambda: placed_weighted_work(store_sources(store), store.table("insyn_periods")),
                              cache_dir)
        store.raw.execute(f"CREATE OR REPLACE TEMP TABLE {WORK_TABLE} AS {work_sql}")
        try:
            def query(name: str, build) -> pd.DataFrame:
                def expression() -> ir.Table:
                    return build(dataclasses.replace(store_sources(store), weighted_work=store.table(WORK_TABLE)))

                sql = cached_sql(store, name, [], expression, cache_dir)
                return store.raw.sql(sql).to_arrow_table().to_pandas()

            return [query(name, build) for name, build in builds.items()]
        finally:
            with contextlib.suppress(duckdb.TransactionException):  # see bound_relations
                store.raw.execute(f"DROP TABLE IF EXISTS {WORK_TABLE}")


def _frames(store, periods: pd.DataFrame, workforce: WorkforceConfig, workload: WorkloadConfig,
            cache_dir: Path | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(caseworker months, case points) for the periods."""
    caseworkers, cases = _queries(store, periods, workforce, workload, cache_dir,
                                  {"workload-caseworkers": _caseworker_months, "workload-cases": _case_points})
    return caseworkers, cases


def _case_work(sources) -> ir.Table:
    """Each piece of weighted work per case and month, with the case's unit and caseworker."""
    work = sources.weighted_work
    return work.select("municipality", "period", "case_id", "unit", "caseworker_id", "phase", "intervention",
                       "points")


def _work_counts(sources) -> ir.Table:
    """Per unit, month, phase and intervention: the pieces of case work ongoing and their points."""
    work = sources.weighted_work
    return work.group_by(["municipality", "unit", "period", "phase", "intervention"]).aggregate(
        work=work.count(), points=work.points.sum())


def case_work_months(store, workforce: WorkforceConfig, workload: WorkloadConfig,
                     cache_dir: Path | None = None) -> pd.DataFrame:
    """The case work ongoing on the first day of every month of the staff data, as the workload
    counts it, per unit, phase and intervention: municipality, unit, period, phase, intervention,
    work (pieces of work) and points. For the caseload's history (insyn.forecast)."""
    periods = month_periods(store, workforce)
    if periods.empty:
        return pd.DataFrame(columns=["municipality", "unit", "period", "phase", "intervention", "work", "points"])
    (work,) = _queries(store, periods, workforce, workload, cache_dir, {"workload-work-counts": _work_counts})
    return work


def caseworker_cases(store, workforce: WorkforceConfig, workload: WorkloadConfig, municipality: str,
                     staff_id: str, month: dt.date, cache_dir: Path | None = None) -> pd.DataFrame:
    """The work in the cases one caseworker holds on the first of a month, as their load counts
    it: case id (as stored), phase, intervention and points, one row per piece of work."""
    periods = month_periods(store, workforce, municipality, month.replace(day=1))
    if periods.empty:
        return pd.DataFrame(columns=CASE_WORK_COLUMNS)
    (work,) = _queries(store, periods, workforce, workload, cache_dir, {"workload-case-work": _case_work})
    work = work[(work["municipality"] == municipality) & (work["caseworker_id"] == staff_id)]
    return work.sort_values(["case_id", "phase", "intervention"], na_position="first")[CASE_WORK_COLUMNS] \
        .reset_index(drop=True)


def compute_workload(store, workforce: WorkforceConfig, workload: WorkloadConfig,
                     cache_dir: Path | None = None) -> Workload:
    """Every caseworker's load in every month of the staff data, and the work nobody in post holds."""
    periods = month_periods(store, workforce)
    if periods.empty:
        return Workload(pd.DataFrame(columns=CASEWORKER_COLUMNS), pd.DataFrame(columns=UNASSIGNED_COLUMNS))
    caseworkers, cases = _frames(store, periods, workforce, workload, cache_dir)
    caseworkers = _with_months_over_norm(caseworkers)
    caseworkers = _with_ratings(store, caseworkers)
    return Workload(caseworkers[CASEWORKER_COLUMNS], _unassigned(store, cases, caseworkers))


def _with_months_over_norm(frame: pd.DataFrame) -> pd.DataFrame:
    """How many months in a row, up to and including this one, the caseworker has been over
    the norm (0 when not over it now). A month out of post breaks the run."""
    frame = frame.sort_values(["municipality", "staff_id", "period"]).reset_index(drop=True)
    month_index = pd.PeriodIndex(frame["period"], freq="M").asi8
    over = (frame["load_ratio"] > 1).to_numpy()
    same_person = (frame["municipality"].eq(frame["municipality"].shift())
                   & frame["staff_id"].eq(frame["staff_id"].shift())).to_numpy()
    follows = same_person & (np.diff(month_index, prepend=month_index[:1] - 2) == 1)
    previous_over = np.concatenate([[False], over[:-1]])
    run = np.cumsum(over & ~(follows & previous_over))
    months = pd.Series(np.ones(len(frame), dtype=np.int64)).groupby(run).cumsum().to_numpy()
    return frame.assign(months_over_norm=np.where(over, months, 0))


def _with_ratings(store, frame: pd.DataFrame) -> pd.DataFrame:
    ratings = ratings_of(store)
    ratings["period"] = pd.to_datetime(ratings.pop("month")).dt.strftime("%Y-%m")
    return frame.merge(ratings, on=["municipality", "staff_id", "period"], how="left")


def _unassigned(store, cases: pd.DataFrame, caseworkers: pd.DataFrame) -> pd.DataFrame:
    """Work whose case names no caseworker, a caseworker no longer in post, or someone in post
    in another role (a manager, say), per unit and month."""
    in_post = caseworkers[["municipality", "period", "staff_id"]].rename(columns={"staff_id": "caseworker_id"})
    cases = cases.merge(in_post.assign(held=True), on=["municipality", "period", "caseworker_id"], how="left")
    cases = cases[cases["held"].isna()].drop(columns="held")
    staff = store.raw.execute("SELECT municipality, staff_id AS caseworker_id, start_date, end_date FROM staff").df()
    named = cases[["municipality", "period", "caseworker_id"]].dropna().drop_duplicates().merge(
        staff, on=["municipality", "caseworker_id"])
    day = pd.to_datetime(named["period"] + "-01")
    other_role = named[(pd.to_datetime(named["start_date"]) <= day)
                       & (named["end_date"].isna() | (pd.to_datetime(named["end_date"]) >= day))]
    other_role = other_role[["municipality", "period", "caseworker_id"]].drop_duplicates().assign(other=True)
    cases = cases.merge(other_role, on=["municipality", "period", "caseworker_id"], how="left")
    cases["reason"] = np.select([cases["caseworker_id"].isna(), cases["other"].eq(True)],
                                [NO_CASEWORKER, OTHER_ROLE], NOT_IN_POST)
    grouped = cases.groupby(["municipality", "period", "unit", "reason"], dropna=False).agg(
        cases=("case_id", "nunique"), points=("points", "sum")).reset_index()
    return grouped[UNASSIGNED_COLUMNS]


def replace_workload(store, workforce: WorkforceConfig, workload: WorkloadConfig,
                     cache_dir: Path | None = None) -> Workload:
    """Recompute the workload tables, in the caller's transaction."""
    result = compute_workload(store, workforce, workload, cache_dir)
    for table, frame in (("workload_monthly", result.caseworkers), ("workload_unassigned", result.unassigned)):
        store.raw.execute(f"DELETE FROM {table}")
        if len(frame):
            store.raw.from_arrow(pa.Table.from_pandas(frame, preserve_index=False)).insert_into(table)
    return result


def stored_workload(store) -> Workload:
    return Workload(store.raw.execute("SELECT * FROM workload_monthly").df(),
                    store.raw.execute("SELECT * FROM workload_unassigned").df())


def unit_months(result: Workload) -> pd.DataFrame:
    """Per unit and month: caseworkers, FTE, points against the summed norm, how many are over
    their norm, mean self-rating and flexitime, and the work nobody in post holds."""
    frame = result.caseworkers.assign(over_norm=lambda f: f["load_ratio"] > 1)
    units = frame.groupby(["municipality", "unit", "period"], dropna=False).agg(
        caseworkers=("staff_id", "nunique"), fte=("fte", "sum"), cases=("cases", "sum"),
        points=("points", "sum"), norm_points=("norm_points", "sum"), over_norm=("over_norm", "sum"),
        mean_rating=("rating", "mean"), mean_flex_hours=("flex_hours", "mean")).reset_index()
    units["load_ratio"] = units["points"] / units["norm_points"].where(units["norm_points"] > 0)
    unassigned = result.unassigned.groupby(["municipality", "unit", "period"], dropna=False).agg(
        unassigned_cases=("cases", "sum"), unassigned_points=("points", "sum")).reset_index()
    # A unit whose work nobody in post holds is still a unit of the view.
    units = units.merge(unassigned, on=["municipality", "unit", "period"], how="outer")
    counts = ["caseworkers", "fte", "cases", "points", "norm_points", "over_norm", "unassigned_cases",
              "unassigned_points"]
    return units.fillna(dict.fromkeys(counts, 0))


@dataclass
class WhatIf:
    """A unit's month before and after a change; `caseworkers` shows those it touches."""

    unit: pd.DataFrame
    caseworkers: pd.DataFrame


def unit_month(store, workforce: WorkforceConfig, workload: WorkloadConfig, municipality: str, unit: str,
               month: dt.date, cache_dir: Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A unit's caseworkers in a month (by staff_id) and the points of every case of the
    municipality in it (case_id, unit, caseworker_id, points): what `what_if` changes."""
    month = month.replace(day=1)
    periods = month_periods(store, workforce, municipality, month)
    if periods.empty:
        raise NotFound(f"Inga personaldata för kommun {municipality} i {month:%Y-%m}.")
    caseworkers, cases = _frames(store, periods, workforce, workload, cache_dir)
    caseworkers = caseworkers[caseworkers["unit"] == unit].set_index("staff_id")
    if caseworkers.empty:
        raise NotFound(f"Enheten {unit} i kommun {municipality} har inga handläggare i {month:%Y-%m}.")
    return caseworkers, cases


def what_if(store, workforce: WorkforceConfig, workload: WorkloadConfig, municipality: str, unit: str,
            month: dt.date, extra_fte: float = 0.0, extra_level: str | None = None,
            move_case: str | None = None, to_staff: str | None = None, cache_dir: Path | None = None) -> WhatIf:
    """How a unit's load in a month changes with more caseworker FTE (at the norm of
    `extra_level`, default the most experienced) and/or one case moved to another caseworker."""
    caseworkers, cases = unit_month(store, workforce, workload, municipality, unit, month, cache_dir)
    return scenario(workload, caseworkers, cases, f"{month:%Y-%m}", extra_fte, extra_level, move_case, to_staff)


def scenario(workload: WorkloadConfig, caseworkers: pd.DataFrame, cases: pd.DataFrame, month: str,
             extra_fte: float = 0.0, extra_level: str | None = None, move_case: str | None = None,
             to_staff: str | None = None) -> WhatIf:
    """`what_if` on a unit month already read (unit_month): nothing is read or saved."""
    unit = caseworkers["unit"].iloc[0]
    after = caseworkers.copy()
    if move_case:
        moved = cases[cases["case_id"] == move_case]
        if moved.empty:
            raise NotFound(f"Ärendet {move_case} har inget pågående arbete i {month}.")
        if to_staff not in after.index:
            raise NotFound(f"{to_staff} är inte handläggare på {unit} i {month}.")
        points = moved["points"].sum()
        holder = moved["caseworker_id"].iloc[0]
        if holder in after.index:
            after.loc[holder, "points"] -= points
            after.loc[holder, "cases"] -= 1
        after.loc[to_staff, "points"] += points
        after.loc[to_staff, "cases"] += 1
    after["load_ratio"] = after["points"] / after["norm_points"].where(after["norm_points"] > 0)
    norms = {row["level"]: row["norm_per_fte"] for row in workload.norm_rows()}
    extra_level = extra_level or workload.norms[-1].level
    if extra_level not in norms:
        raise InputError(f"Okänd erfarenhetsnivå {extra_level} (workload.yaml: {', '.join(norms)}).")
    added_norm = extra_fte * norms[extra_level]

    def summary(frame: pd.DataFrame, extra_norm: float, scenario: str) -> dict:
        norm = frame["norm_points"].sum() + extra_norm
        return {"scenario": scenario, "fte": frame["fte"].sum() + (extra_fte if extra_norm else 0),
                "points": frame["points"].sum(), "norm_points": norm, "load_ratio": frame["points"].sum() / norm}

    unit_rows = pd.DataFrame([summary(caseworkers, 0.0, "nu"), summary(after, added_norm, "efter ändringen")])
    changed = after.index[(after["points"] != caseworkers["points"])]
    touched = pd.DataFrame({"points_before": caseworkers.loc[changed, "points"],
                            "points_after": after.loc[changed, "points"],
                            "load_before": caseworkers.loc[changed, "load_ratio"],
                            "load_after": after.loc[changed, "load_ratio"]})
    return WhatIf(unit_rows, touched.rename_axis("staff_id").reset_index())
