"""The unit manager's view (insyn.workforce.team): twelve months of a unit, its total, the
unassigned work and the alerts, by points and by the caseworkers' own ratings — on a store
whose workload rows are written by hand, so every expected figure is worked out below."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from insyn.model.workforce_config import load_workload
from insyn.workforce.team import team_view

M, UNIT = "0884", "Utredning"
MONTHS = [f"2025-{m:02d}" for m in range(1, 11)]  # January to October 2025


def _months_over(loads: list[float]) -> list[int]:
    runs, run = [], 0
    for load in loads:
        run = run + 1 if load > 1 else 0
        runs.append(run)
    return runs


def _write(store, loads: dict[str, list[float]], ratings: dict[str, dict[str, int]], unit: str = UNIT) -> None:
    """Each caseworker's load month by month (norm 100 points, FTE 1: points = 100 × load)."""
    rows = []
    for staff_id, series in loads.items():
        for period, load, run in zip(MONTHS, series, _months_over(series), strict=True):
            rows.append((M, period, unit, staff_id, "handlaggare", "tillsvidare", 1.0, "erfaren", 10,
                         100 * load, 100.0, load, run, None, None))
    store.raw.executemany("INSERT INTO workload_monthly VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    rated = [(M, staff_id, dt.date.fromisoformat(f"{month}-01"), rating, 2.5)
             for staff_id, by_month in ratings.items() for month, rating in by_month.items()]
    if rated:
        store.raw.executemany("INSERT INTO workload_ratings (municipality, staff_id, month, rating, flex_hours) "
                              "VALUES (?, ?, ?, ?, ?)", rated)


@pytest.fixture
def team(store):
    _write(store, {
        "A": [0.9] * 7 + [1.1, 1.2, 1.3],           # over the norm August–October: three in a row
        "B": [0.8] * 10,                            # under it, but rates 4, 5, 4 August–October
        "C": [0.8] * 10,                            # rates 4 in August and September, 2 in October
        "D": [1.2, 1.2, 1.2] + [0.9] * 7,           # over January–March only, and rated so then
        "E": [0.5] * 9 + [1.5],                     # over in October only
    }, {
        "B": {"2025-08": 4, "2025-09": 5, "2025-10": 4},
        "C": {"2025-08": 4, "2025-09": 4, "2025-10": 2},
        "D": {"2025-01": 5, "2025-02": 5, "2025-03": 5},
        "E": {"2025-07": 4, "2025-08": 4, "2025-10": 4},   # September not rated: the run is broken
    })
    _write(store, {"X": [2.0] * 10}, {}, unit="Mottagning")  # another unit: never in Utredning's view
    store.raw.execute("INSERT INTO workload_unassigned VALUES (?, '2025-10', ?, 'utan handläggare', 2, 12.0), "
                      "(?, '2025-09', ?, 'utan handläggare', 5, 30.0)", [M, UNIT, M, UNIT])
    return team_view(store, load_workload(), M, UNIT, months=6)


def test_the_view_is_the_units_last_months(team):
    assert team.months == ["2025-05", "2025-06", "2025-07", "2025-08", "2025-09", "2025-10"]
    assert team.latest == "2025-10"
    assert set(team.caseworkers.staff_id) == {"A", "B", "C", "D", "E"}
    assert set(team.caseworkers.period) == set(team.months)


def test_an_alert_for_three_months_over_the_norm_by_points_or_by_rating(team):
    # Alert from 3 months (workload.yaml alert_months) and a rating of 4 or more (over_norm_from).
    alerts = {a.staff_id: (a.by_points, a.by_rating) for a in team.alerts}
    assert alerts == {"A": (3, 0), "B": (0, 3)}
    # C's run ended in October, D's in March (no news), E's October point is one month; E's
    # ratings break in September.
    [a] = [a for a in team.alerts if a.staff_id == "A"]
    assert a.text(3) == "över normen i 3 månader i följd"


def test_the_unit_total_sums_points_against_norms(team):
    october = team.units[team.units.period == "2025-10"].iloc[0]
    # Points in October: A 130 + B 80 + C 80 + D 90 + E 150 = 530, against 5 × 100.
    assert (october.caseworkers, october.points, october.norm_points) == (5, 530, 500)
    assert october.load_ratio == pytest.approx(1.06)
    assert october.over_norm == 2  # A and E
    assert october.mean_rating == pytest.approx((4 + 2 + 4) / 3)  # B, C and E rated October
    assert (october.unassigned_cases, october.unassigned_points) == (2, 12)
    assert list(team.unassigned.points) == [12.0]  # the latest month's only


def test_ratings_are_read_as_stored_now(store, team):
    store.raw.execute("UPDATE workload_ratings SET rating = 1 WHERE staff_id = 'B' AND month = '2025-09-01'")
    again = team_view(store, load_workload(), M, UNIT, months=6)
    assert {a.staff_id for a in again.alerts} == {"A"}
    b = again.caseworkers[(again.caseworkers.staff_id == "B") & (again.caseworkers.period == "2025-09")]
    assert list(b.rating) == [1]


def test_a_unit_without_workload_has_no_view(store):
    assert team_view(store, load_workload(), M, "Familjehem") is None


def test_a_stale_rating_run_is_no_alert(store):
    _write(store, {"F": [0.8] * 10}, {"F": {"2025-06": 5, "2025-07": 5, "2025-08": 5}})
    assert team_view(store, load_workload(), M, UNIT).alerts == []  # August is two months before October
    frame = pd.DataFrame({"staff_id": ["F"], "period": ["2025-09"], "rating": [5], "flex_hours": [0.0]})
    store.raw.register("september", frame)
    store.raw.execute("INSERT INTO workload_ratings (municipality, staff_id, month, rating, flex_hours) "
                      "SELECT ?, staff_id, CAST(period || '-01' AS DATE), rating, flex_hours FROM september", [M])
    [alert] = team_view(store, load_workload(), M, UNIT).alerts
    assert (alert.staff_id, alert.by_rating) == ("F", 4)


def test_months_rated_after_the_workload_extend_the_view(store):
    """The workload is as of the last import, a rating as of today: the view runs to the latest
    rating, and a run of ratings up to it is an alert."""
    _write(store, {"G": [0.8] * 10}, {"G": {"2025-11": 4, "2025-12": 5, "2026-01": 4}})
    team = team_view(store, load_workload(), M, UNIT, months=3)
    assert team.latest == "2025-10"
    assert team.months == ["2025-08", "2025-09", "2025-10", "2025-11", "2025-12", "2026-01"]
    [alert] = team.alerts
    assert (alert.staff_id, alert.by_points, alert.by_rating) == ("G", 0, 3)


def test_a_caseworker_who_moved_brings_no_ratings_from_the_other_unit(store):
    """P worked in Mottagning January–June and in Utredning July–October, rating every month 5:
    Utredning's manager sees the four months P rated there, Mottagning's manager the six."""
    _write(store, {"P": [0.8] * 6 + [0.0] * 4}, {}, unit="Mottagning")
    _write(store, {"P": [0.0] * 6 + [0.8] * 4}, {"P": {m: 5 for m in MONTHS}})
    store.raw.execute("DELETE FROM workload_monthly WHERE staff_id = 'P' AND "
                      "((unit = 'Mottagning' AND period > '2025-06') OR (unit = ? AND period <= '2025-06'))", [UNIT])
    here = team_view(store, load_workload(), M, UNIT)
    assert list(here.ratings.period) == MONTHS[6:]
    [alert] = here.alerts
    assert (alert.staff_id, alert.by_rating) == ("P", 4)
    there = team_view(store, load_workload(), M, "Mottagning")
    assert list(there.ratings.period) == MONTHS[:6] and there.latest == "2025-10"  # the data's end
    assert there.alerts == []  # P is not in Mottagning in October
