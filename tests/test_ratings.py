"""The caseworker's monthly rating (insyn.workforce.ratings) on test_workforce's hand-worked
dataset: Vimmerby's staff and cases, the workload computed through April 2025. S1 holds 10
points against a norm of 150 on 1 November 2024."""

from __future__ import annotations

import datetime as dt

import pytest
from helpers import write_csv
from test_workforce import V, import_dataset

from insyn.errors import InputError
from insyn.ingest.load import import_files
from insyn.model.workforce_config import load_workforce, load_workload
from insyn.store import open_store
from insyn.workforce.ratings import ClosedMonth, last_open_day, open_months, ratings_of, record_rating
from insyn.workforce.workload import caseworker_cases, replace_workload

NOVEMBER = dt.date(2024, 11, 1)
IN_TIME = dt.date(2024, 12, 10)  # the tenth of the next month: November is still open


@pytest.fixture
def store(tmp_path):
    store = open_store(None)
    import_dataset(tmp_path, store)
    with store.transaction():
        replace_workload(store, load_workforce(), load_workload())
    yield store
    store.close()


def monthly(store, staff_id: str, period: str) -> tuple:
    return store.raw.execute("SELECT points, norm_points, rating, flex_hours FROM workload_monthly "
                             "WHERE staff_id = ? AND period = ?", [staff_id, period]).fetchall()[0]


def stored_ratings(store) -> list[tuple]:
    return store.raw.execute("SELECT staff_id, month, rating, flex_hours, import_id FROM workload_ratings "
                             "ORDER BY staff_id, month").fetchall()


def test_the_months_open_for_rating():
    config = load_workload()  # open_days_after_month: 10
    assert last_open_day(NOVEMBER, config) == dt.date(2024, 12, 10)
    assert open_months(config, dt.date(2024, 12, 10)) == [dt.date(2024, 12, 1), NOVEMBER]
    assert open_months(config, dt.date(2024, 12, 11)) == [dt.date(2024, 12, 1)]
    assert open_months(config, dt.date(2025, 1, 1)) == [dt.date(2025, 1, 1), dt.date(2024, 12, 1)]


def test_a_rating_is_stored_and_the_months_load_row_carries_it(store):
    row = record_rating(store, load_workload(), V, "S1", NOVEMBER, "4", "12,5", IN_TIME)
    assert (row["rating"], row["flex_hours"]) == (4, 12.5)
    assert stored_ratings(store) == [("S1", NOVEMBER, 4, 12.5, "mitt-arbete")]
    # The points stay those computed (a's investigation, 10, against 150); the rating joins them.
    assert monthly(store, "S1", "2024-11") == (10, 150, 4, 12.5)
    assert monthly(store, "S1", "2024-10")[2:] == (None, None)


def test_a_new_rating_of_the_month_replaces_the_earlier(store):
    config = load_workload()
    record_rating(store, config, V, "S1", NOVEMBER, 4, 12.5, IN_TIME)
    record_rating(store, config, V, "S1", dt.date(2024, 11, 20), 2, None, IN_TIME)  # any day of the month
    assert stored_ratings(store) == [("S1", NOVEMBER, 2, None, "mitt-arbete")]
    assert monthly(store, "S1", "2024-11")[2:] == (2, None)
    frame = ratings_of(store, V, ["S1"], [NOVEMBER])
    assert frame[["staff_id", "month", "rating"]].values.tolist() == [["S1", NOVEMBER, 2]]
    assert ratings_of(store, V, ["S5"]).empty


@pytest.mark.parametrize(("rating", "flex", "message"), [
    ("6", None, "Skattning: får inte vara större än 5"),
    ("0", None, "Skattning: får inte vara mindre än 1"),
    ("3,5", None, "Skattning: inte ett heltal"),
    ("3", "600", "Flexsaldo: får inte vara större än 500"),
    ("3", "tolv", "Flexsaldo: inte ett tal"),
    (None, "2", "Välj hur din arbetsbelastning har varit"),
])
def test_a_value_the_import_would_refuse_is_refused_and_nothing_is_stored(store, rating, flex, message):
    with pytest.raises(InputError, match=message):
        record_rating(store, load_workload(), V, "S1", NOVEMBER, rating, flex, IN_TIME)
    assert stored_ratings(store) == []


def test_a_value_off_the_configured_scale_is_refused(store):
    config = load_workload()
    narrower = config.model_copy(update={"self_rating": config.self_rating.model_copy(
        update={"scale": config.self_rating.scale[:4]})})
    with pytest.raises(InputError, match=r"skalans värden \(1, 2, 3, 4\)"):
        record_rating(store, narrower, V, "S1", NOVEMBER, 5, None, IN_TIME)


def test_a_closed_or_future_month_is_refused(store):
    config = load_workload()
    with pytest.raises(ClosedMonth, match="2024-11 är stängd för skattning sedan 2024-12-11"):
        record_rating(store, config, V, "S1", NOVEMBER, 3, None, dt.date(2024, 12, 11))
    with pytest.raises(ClosedMonth, match="2025-01 har inte börjat"):
        record_rating(store, config, V, "S1", dt.date(2025, 1, 1), 3, None, dt.date(2024, 12, 31))
    assert stored_ratings(store) == []


def test_an_imported_file_afterwards_replaces_the_rating_as_any_import_would(store, tmp_path):
    record_rating(store, load_workload(), V, "S1", NOVEMBER, 5, 30, IN_TIME)
    ratings = write_csv(tmp_path / "workload_ratings.csv", ["municipality", "staff_id", "month", "rating",
                                                              "flex_hours"],
                        [dict(municipality=V, staff_id="S1", month="2024-11", rating=2, flex_hours="-3,5")])
    imported = import_files(store, [ratings], b"k" * 32, before_commit=lambda: replace_workload(
        store, load_workforce(), load_workload()))
    assert imported.files[0].rows_replaced == 1
    assert [r[:4] for r in stored_ratings(store)] == [("S1", NOVEMBER, 2, -3.5)]
    assert monthly(store, "S1", "2024-11")[2:] == (2, -3.5)


def test_one_caseworkers_cases_of_a_month(store):
    workforce, workload = load_workforce(), load_workload()
    # 1 Nov 2024: S5 holds b, foster care (8) since 2023 and open care (5) since October.
    cases = caseworker_cases(store, workforce, workload, V, "S5", NOVEMBER)
    assert cases[["phase", "intervention", "points"]].values.tolist() == [
        ["insats", "familjehem", 8], ["insats", "oppenvard", 5]]
    assert set(cases.case_id) == {store.raw.execute(
        "SELECT DISTINCT case_id FROM events WHERE caseworker_id = 'S5'").fetchall()[0][0]}
    # S3 holds c's report awaiting its initial assessment (12); S2 holds nothing.
    assert caseworker_cases(store, workforce, workload, V, "S3", NOVEMBER)[["phase", "points"]] \
        .values.tolist() == [["forhandsbedomning", 12]]
    assert caseworker_cases(store, workforce, workload, V, "S2", NOVEMBER).empty
