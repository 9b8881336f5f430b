"""A unit manager's view of their unit: each caseworker's load against their norm over the last
months, the unit's total, the work nobody in post holds, and the alerts — a caseworker over the
norm `alert_months` months in a row by points, or by their own rating (workload.yaml).

Read from the store on each call, not from a cache: a rating saved a moment ago is in it. Rows
name employees: for the unit's own manager only (docs/privacy.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from insyn.model.workforce_config import WorkloadConfig
from insyn.workforce.ratings import ratings_of
from insyn.workforce.workload import Workload, unit_months


@dataclass(frozen=True)
class Alert:
    staff_id: str
    by_points: int   # months in a row over the norm by points, up to the latest month (0: none)
    by_rating: int   # months in a row rated at or over the rating's norm, up to the latest rating

    def text(self, alert_months: int) -> str:
        said = []
        if self.by_points >= alert_months:
            said.append(f"över normen i {self.by_points} månader i följd")
        if self.by_rating >= alert_months:
            said.append(f"skattar sin belastning som för hög i {self.by_rating} månader i följd")
        return " och ".join(said)


@dataclass(frozen=True)
class TeamView:
    """One unit: its caseworkers' months (CASEWORKER_COLUMNS, ratings as stored in
    workload_ratings now), the unit's months (unit_months), the latest month's unassigned work,
    the ratings of its caseworkers (staff_id, period, rating, flex_hours), and the alerts of the
    caseworkers in post in the latest month of the workload (`latest`). `months` are the
    workload's last months and, when caseworkers have rated months after it (the workload is as
    of the last import, a rating as of today), the months up to the latest rating."""

    municipality: str
    unit: str
    latest: str
    months: list[str]           # oldest first
    caseworkers: pd.DataFrame
    units: pd.DataFrame
    unassigned: pd.DataFrame
    ratings: pd.DataFrame
    alerts: list[Alert]


def team_view(store, workload: WorkloadConfig, municipality: str, unit: str, months: int = 12) -> TeamView | None:
    """The unit's last `months` months of workload up to the municipality's latest (None when the
    unit has none in them)."""
    # The municipality's latest month (the data's end), not the unit's: a month rated after it
    # belongs to the unit the person was in then.
    latest = store.raw.execute("SELECT max(period) FROM workload_monthly WHERE municipality = ?",
                               [municipality]).fetchone()[0]
    if latest is None:
        return None
    first = str(pd.Period(latest, "M") - (months - 1))
    caseworkers = store.raw.execute(
        "SELECT * EXCLUDE (rating, flex_hours) FROM workload_monthly WHERE municipality = ? AND unit = ? "
        "AND period >= ? ORDER BY staff_id, period", [municipality, unit, first]).df()
    if caseworkers.empty:
        return None
    stored = ratings_of(store, municipality, sorted(set(caseworkers.staff_id)))
    ratings = pd.DataFrame({"staff_id": stored.staff_id, "period": pd.to_datetime(stored.month).dt.strftime("%Y-%m"),
                            "rating": stored.rating, "flex_hours": stored.flex_hours})
    # A rating belongs to the unit the person worked in that month: months of the workload in this
    # unit, and the months after the workload's last for those in post here then. Someone who came
    # from another unit brings no rating of theirs from there.
    here = set(zip(caseworkers.staff_id, caseworkers.period, strict=True))
    in_post_now = set(caseworkers.loc[caseworkers.period == latest, "staff_id"])
    kept = [(staff_id, period) in here or (period > latest and staff_id in in_post_now)
            for staff_id, period in zip(ratings.staff_id, ratings.period, strict=True)]
    ratings = ratings[kept].sort_values(["staff_id", "period"], ignore_index=True)
    caseworkers = caseworkers.merge(ratings, on=["staff_id", "period"], how="left")
    unassigned = store.raw.execute(
        "SELECT * FROM workload_unassigned WHERE municipality = ? AND unit = ? AND period >= ?",
        [municipality, unit, first]).df()
    last = max([latest, *ratings.period])
    window = [str(p) for p in pd.period_range(pd.Period(first, "M"), pd.Period(last, "M"), freq="M")]
    in_post = sorted(in_post_now)
    alerts = [Alert(staff_id, _points_run(caseworkers, staff_id, latest),
                    _rating_run(ratings, staff_id, latest, workload.self_rating.over_norm_from))
              for staff_id in in_post]
    return TeamView(municipality, unit, latest, window, caseworkers,
                    unit_months(Workload(caseworkers, unassigned)), unassigned[unassigned.period == latest], ratings,
                    [a for a in alerts if max(a.by_points, a.by_rating) >= workload.alert_months])


def _points_run(caseworkers: pd.DataFrame, staff_id: str, latest: str) -> int:
    row = caseworkers[(caseworkers.staff_id == staff_id) & (caseworkers.period == latest)]
    return int(row.months_over_norm.iloc[0]) if len(row) else 0


def _rating_run(ratings: pd.DataFrame, staff_id: str, latest: str, over_from: int) -> int:
    """Months in a row rated `over_from` or more, ending at the person's latest rating — if that
    is of the latest month of the data or later, or of the month before (a month is rated when
    it is over): an older run is not news."""
    own = ratings[ratings.staff_id == staff_id].sort_values("period")
    if own.empty or pd.Period(own.period.iloc[-1], "M") < pd.Period(latest, "M") - 1:
        return 0
    run, expected = 0, None
    for period, rating in zip(reversed(own.period.tolist()), reversed(own.rating.tolist()), strict=True):
        month = pd.Period(period, "M")
        if (expected is not None and month != expected) or pd.isna(rating) or rating < over_from:
            break
        run, expected = run + 1, month - 1
    return run
