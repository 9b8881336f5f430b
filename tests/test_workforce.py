"""Every workforce indicator checked against values worked out by hand on a small dataset.

One municipality (Vimmerby, 0884), two units, the year 2024 with its reference date
1 November. The staff include a move between units (S2), a rehire (S3), a part-timer (S4),
a consultant (K1), a new graduate with a mentor (S5), a leaver (S6), a fixed-term contract
followed by a permanent one in the same unit (S7) and a manager (C1). Expected values are
computed here from the dates, not copied from the engine.
"""

from __future__ import annotations

import datetime as dt

import pytest
from helpers import EVENT_COLUMNS, pnr, result_value, write_csv
from hypothesis import given, settings
from hypothesis import strategies as st

from insyn.disclosure.rules import DisclosureRules
from insyn.errors import InputError
from insyn.indicators.definitions import library
from insyn.indicators.engine import compute
from insyn.ingest.load import import_files
from insyn.model.workforce_config import load_workload
from insyn.store import open_store

V = "0884"
U, M = "Utredning", "Mottagning"
REFERENCE = dt.date(2024, 11, 1)


def employment(staff_id, unit, role, kind, start, end="", fte="", exam=""):
    return dict(municipality=V, staff_id=staff_id, unit=unit, role=role, employment=kind,
                start_date=start, end_date=end, fte=fte, exam_year=exam)


SS, FS, EC = "socialsekreterare", "forste_socialsekreterare", "enhetschef"
STAFF = [
    employment("S1", U, SS, "tillsvidare", "2020-03-01", exam=2019),
    employment("S2", U, SS, "tillsvidare", "2022-01-10", "2024-05-31", exam=2021),
    employment("S2", M, SS, "tillsvidare", "2024-06-01", exam=2021),           # moved the next day
    employment("S3", M, SS, "visstid", "2023-09-01", "2024-02-29", exam=2023),  # left ...
    employment("S3", M, SS, "tillsvidare", "2024-09-01", exam=2023),           # ... came back
    employment("S4", U, FS, "tillsvidare", "2015-08-15", fte="0,5", exam=2010),  # part time
    employment("K1", U, SS, "konsult", "2024-03-01", "2024-12-15", exam=2016),
    employment("S5", U, SS, "tillsvidare", "2024-10-01", exam=2024),           # new graduate
    employment("C1", U, EC, "tillsvidare", "2018-01-01", exam=2005),
    employment("S6", M, SS, "tillsvidare", "2021-05-01", "2024-08-31", fte="0.8", exam=2020),
    employment("S7", U, SS, "visstid", "2024-01-15", "2024-04-30", exam=2022),
    employment("S7", U, SS, "tillsvidare", "2024-05-01", exam=2022),           # same unit, new contract
]
COURSES = [dict(course="INTRO", name="Introduktion", programme="introduktion"),
           dict(course="YR", name="Yrkesresan", programme="yrkesresan"),
           dict(course="MHFA", name="MHFA", programme="mhfa"),
           dict(course="VNR", name="Våld i nära relationer", programme="vnr"),
           dict(course="HEDER", name="Hedersrelaterat våld", programme="hedersrelaterat")]


def done(staff_id, course, date):
    return dict(municipality=V, staff_id=staff_id, course=course, completed_date=date)


TRAININGS = [
    done("S3", "INTRO", "2023-10-01"),  # in the first employment: not after the rehire
    done("S5", "INTRO", "2024-12-20"),  # within 1 Oct + 3 months, after the reference date
    done("S7", "INTRO", "2024-04-16"),  # 15 Jan + 3 months = 15 Apr: one day late
    done("S3", "YR", "2024-06-01"),
    done("S1", "MHFA", "2023-05-01"),
    done("C1", "MHFA", "2024-11-01"),   # on the reference date: counts
    done("S4", "MHFA", "2024-11-02"),   # the day after: does not
    done("S2", "VNR", "2022-03-01"),
    done("S4", "VNR", "2020-01-01"),
    done("S6", "VNR", "2023-01-01"),    # left before the reference date
]
MENTORSHIPS = [
    dict(municipality=V, mentor_id="S4", mentee_id="S5", start_date="2024-10-07", hours_per_month=4),
    dict(municipality=V, mentor_id="S4", mentee_id="S7", start_date="2024-11-05", hours_per_month=6),
    dict(municipality=V, mentor_id="S1", mentee_id="S3", start_date="2024-09-15", end_date="2025-03-15"),
    dict(municipality=V, mentor_id="S1", mentee_id="S2", start_date="2022-02-01", end_date="2022-12-31",
         hours_per_month=2),
]
CHILD = {c: pnr(birth, serial) for c, birth, serial in [
    ("a", "20120315", "123"), ("b", "20080601", "242"), ("c", "20060110", "351"),
    ("d", "20150505", "462"), ("e", "20100101", "582"), ("f", "20090909", "613"),
    ("g", "20110411", "724"), ("h", "20070707", "835")]}


def ev(case, event, date, unit, caseworker="", **extra):
    return dict(municipality=V, case_id=case, person_id=CHILD[case], event=event, date=date,
                unit=unit, caseworker_id=caseworker, **extra)


EVENTS = [
    # a: an investigation open on the reference date, held by S1.
    ev("a", "report", "2024-09-02", M, "S2", source="skola"),
    ev("a", "initial_assessment", "2024-09-10", M, "S2", outcome="investigate"),
    ev("a", "investigation_start", "2024-09-12", U, "S1"),
    # b: foster care since 2023 and open care since October: S5 is on the latest event.
    ev("b", "report", "2023-01-10", M, source="polis"),
    ev("b", "initial_assessment", "2023-01-20", M, "S6", outcome="investigate"),
    ev("b", "investigation_start", "2023-01-20", U, "S4"),
    ev("b", "investigation_end", "2023-04-20", U, "S4", outcome="intervention"),
    ev("b", "intervention_start", "2023-05-01", U, "S4", intervention="familjehem"),
    ev("b", "intervention_start", "2024-10-15", U, "S5", intervention="oppenvard"),
    # c: a report awaiting its initial assessment on the reference date (S3).
    ev("c", "report", "2024-10-20", M, "S3", source="anhorig"),
    ev("c", "initial_assessment", "2024-11-05", M, "S3", outcome="no_investigation"),
    ev("c", "case_closed", "2024-11-05", M, "S3"),
    # d: an open investigation with no caseworker.
    ev("d", "report", "2024-07-20", M, source="polis"),
    ev("d", "initial_assessment", "2024-08-01", M, outcome="investigate"),
    ev("d", "investigation_start", "2024-08-01", U),
    ev("d", "investigation_end", "2024-12-01", U, outcome="no_intervention"),
    # e: an intervention with no recorded end, closed with the case in October.
    ev("e", "report", "2023-11-01", M, source="skola"),
    ev("e", "initial_assessment", "2023-11-10", M, "S1", outcome="investigate"),
    ev("e", "investigation_start", "2023-11-10", U, "S1"),
    ev("e", "investigation_end", "2024-01-05", U, "S1", outcome="intervention"),
    ev("e", "intervention_start", "2024-01-10", U, "S1", intervention="kontaktperson"),
    ev("e", "case_closed", "2024-10-01", U, "S1"),
    # f: HVB held by the consultant.
    ev("f", "report", "2024-02-20", M, source="polis"),
    ev("f", "initial_assessment", "2024-03-05", M, "K1", outcome="investigate"),
    ev("f", "investigation_start", "2024-03-05", U, "K1"),
    ev("f", "investigation_end", "2024-05-05", U, "K1", outcome="intervention"),
    ev("f", "intervention_start", "2024-05-10", U, "K1", intervention="hvb"),
    # g: S6 started it and left; S7 holds it now.
    ev("g", "report", "2024-01-25", M, source="halso_sjukvard"),
    ev("g", "initial_assessment", "2024-02-01", M, "S6", outcome="investigate"),
    ev("g", "investigation_start", "2024-02-01", U, "S6"),
    ev("g", "investigation_end", "2024-09-01", U, "S7", outcome="intervention"),
    ev("g", "intervention_start", "2024-09-15", U, "S7", intervention="oppenvard"),
    # h: makes the data reach April 2025 (the introduction needs three months' follow-up).
    ev("h", "report", "2025-04-10", M, "S3", source="ovrig"),
]
POPULATION = [dict(municipality=V, year=2024, age_from=0, age_to=17, population=2900),
              dict(municipality=V, year=2024, age_from=18, age_to=20, population=500)]


def import_dataset(folder, store):
    files = [write_csv(folder / "staff.csv", list(STAFF[0]), STAFF),
             write_csv(folder / "courses.csv", list(COURSES[0]), COURSES),
             write_csv(folder / "trainings.csv", list(TRAININGS[0]), TRAININGS),
             write_csv(folder / "mentorships.csv", ["municipality", "mentor_id", "mentee_id", "start_date",
                                                    "end_date", "hours_per_month"], MENTORSHIPS),
             write_csv(folder / "events.csv", EVENT_COLUMNS, EVENTS),
             write_csv(folder / "populations.csv", list(POPULATION[0]), POPULATION)]
    imported = import_files(store, files, b"k" * 32)
    assert all(not f.validated.problems for f in imported.files)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    store = open_store(None)
    import_dataset(tmp_path_factory.mktemp("workforce"), store)
    yield store
    store.close()


@pytest.fixture(scope="module")
def results(dataset):
    return compute(dataset)


def value(results, indicator, period="2024", **dims):
    return result_value(results, V, indicator, period, **dims)


def test_every_workforce_indicator_is_covered_here(results):
    assert {d.id for d in library() if d.area == "personal"} <= set(results.indicator)


def test_workforce_periods_follow_the_case_data(results):
    # The case data run from the first report (10 Jan 2023) to 10 April 2025, and the staff
    # data cover the same: flows are computed for 2023-2025 (2025 incomplete), stocks where the
    # data reach 1 November, the introduction where they reach three months past the year.
    def periods(indicator):
        return dict(results[(results.indicator == indicator) & results.unit.isna()][["period", "complete"]].values)

    assert periods("personalomsattning") == {"2023": True, "2024": True, "2025": False}
    assert periods("antal_anstallda") == {"2023": True, "2024": True}
    assert periods("introduktion_inom_3_manader") == {"2023": True, "2024": True}
    # 1 Nov 2023: S1, S2, S3 (visstid), S4, C1, S6 in post.
    assert value(results, "antal_anstallda", period="2023")[2] == 6


def test_no_workforce_rows_without_staff_data(tmp_path, store):
    events = write_csv(tmp_path / "events.csv", EVENT_COLUMNS, EVENTS)
    import_files(store, [events], b"k" * 32)
    results = compute(store)
    assert not set(results.indicator) & {d.id for d in library() if d.area == "personal"}
    assert "anmalningar_per_1000_barn" in set(results.indicator)


def test_staff_data_alone_cover_from_the_first_end_of_employment(tmp_path, store):
    import_files(store, [write_csv(tmp_path / "staff.csv", list(STAFF[0]), STAFF)], b"k" * 32)
    results = compute(store)
    # First end 29 Feb 2024, last date 15 Dec 2024 (K1 leaves): 2024 only, the year incomplete
    # but its 1 November stock known.
    headcount = results[(results.indicator == "antal_anstallda") & results.unit.isna()]
    assert headcount[["period", "value", "complete"]].values.tolist() == [["2024", 8, True]]
    turnover = results[(results.indicator == "personalomsattning") & results.unit.isna()]
    assert turnover[["period", "complete"]].values.tolist() == [["2024", False]]
    # Load is the points of cases held: without case data there is none (not zeros).
    assert "andel_over_norm" not in set(results.indicator)
    from insyn.model.workforce_config import load_workforce
    from insyn.workforce.workload import compute_workload

    assert compute_workload(store, load_workforce(), load_workload()).caseworkers.empty


def test_headcount_and_fte_at_the_reference_date(results):
    # In post on 1 Nov 2024: S1, S2 (Mottagning since June), S3 (rehired), S4 (half time),
    # K1, S5, C1, S7. S6 left in August.
    assert value(results, "antal_anstallda")[2] == 8
    assert value(results, "antal_anstallda", unit=U)[2] == 6
    assert value(results, "antal_anstallda", unit=M)[2] == 2
    assert value(results, "arsarbetare")[2] == pytest.approx(7.5)
    assert value(results, "arsarbetare", unit=U)[2] == pytest.approx(5.5)


def test_consultant_share(results):
    # Caseworkers (not C1) in post: 6.5 FTE, of which K1's 1.0.
    assert value(results, "andel_konsulter")[2] == pytest.approx(100 * 1.0 / 6.5)
    assert value(results, "andel_konsulter", unit=U)[2] == pytest.approx(100 * 1.0 / 4.5)
    assert value(results, "andel_konsulter", unit=M)[2] == 0


def test_sums_say_how_many_records_they_add_and_the_largest(results):
    # What the disclosure layer's small-count and dominance rules read for sums: of the 6.5
    # caseworker FTE, K1's 1.0 is the consultants' only contribution; the seven caseworkers in
    # post (S4 half time) add up the denominator, the largest 1.0. Counts carry none.
    row = results[(results.indicator == "andel_konsulter") & (results.municipality == V)
                  & (results.period == "2024") & results.unit.isna()].iloc[0]
    assert (row.numerator_contributors, row.numerator_largest) == (1, 1.0)
    assert (row.denominator_contributors, row.denominator_largest) == (7, 1.0)
    headcount = results[(results.indicator == "antal_anstallda") & results.unit.isna()]
    assert headcount[["numerator_contributors", "numerator_largest"]].isna().all().all()


def test_turnover_and_moves(results):
    # Employees (not K1) who are caseworkers, in 2024 (366 days). Left: S3's fixed term
    # (29 Feb, back only in September) and S6 (0.8 FTE, 31 Aug). S2 moved (31 May -> 1 Jun);
    # S7's fixed term was followed by a permanent post in the same unit: neither left.
    days_in_post = {"S1": 366, "S2 Utredning": 152, "S2 Mottagning": 214, "S3 visstid": 60,
                    "S3 tillsvidare": 122, "S5": 92, "S7 visstid": 107, "S7 tillsvidare": 245}
    average_fte = (sum(days_in_post.values()) + 0.5 * 366 + 0.8 * 244) / 366
    numerator, denominator, share = value(results, "personalomsattning")
    assert numerator == pytest.approx(1.0 + 0.8)
    assert denominator == pytest.approx(average_fte)
    assert share == pytest.approx(100 * 1.8 / average_fte)
    assert value(results, "intern_rorlighet")[2] == pytest.approx(100 * 1.0 / average_fte)
    # By unit: S2's move is from Utredning; the leavers were in Mottagning.
    assert value(results, "intern_rorlighet", unit=U)[0] == 1.0
    assert value(results, "personalomsattning", unit=M)[0] == pytest.approx(1.8)
    assert value(results, "personalomsattning", unit=U)[0] == 0


def test_experience_since_degree(results):
    # Years since 1 July of the degree year on 1 Nov 2024: S1 5.34, S2 3.34, S3 1.34, S4 14.3,
    # K1 8.3, S5 0.34, S7 2.34.
    assert value(results, "erfarenhet_under_1_ar")[:2] == (1, 7)
    assert value(results, "erfarenhet_minst_3_ar")[:2] == (4, 7)
    assert value(results, "erfarenhet_over_5_ar")[:2] == (3, 7)
    assert value(results, "erfarenhet_under_1_ar", unit=U)[2] == pytest.approx(20)
    assert value(results, "erfarenhet_minst_3_ar", unit=M)[2] == pytest.approx(50)


def test_experience_in_the_municipality_counts_from_the_first_employment(results):
    # Since the first start: S1 4.67, S2 2.81, S3 1.17 (the rehire keeps 2023), S4 9.2,
    # K1 0.67, S5 0.08, S7 0.80.
    assert value(results, "i_kommunen_under_1_ar")[:2] == (3, 7)
    assert value(results, "i_kommunen_minst_3_ar")[:2] == (2, 7)
    assert value(results, "i_kommunen_over_5_ar")[:2] == (1, 7)


def test_open_cases_per_caseworker(results):
    # Open on 1 Nov: a (investigation), b (foster care and open care), d (investigation, no
    # caseworker), f (HVB), g (open care). c only awaits its assessment; e was closed with
    # the case in October although its intervention has no end. All five in Utredning.
    assert value(results, "arenden_per_handlaggare")[:2] == (5, 6.5)
    assert value(results, "arenden_per_handlaggare", unit=U)[2] == pytest.approx(5 / 4.5)
    assert value(results, "arenden_per_handlaggare", unit=M)[:3] == (0, 2.0, 0)


def test_children_per_caseworker(results):
    assert value(results, "barn_per_handlaggare")[2] == pytest.approx((2900 + 500) / 6.5)


def test_mentoring(results):
    # Employed caseworkers in their first year in the municipality: S5 (mentor since 7 Oct)
    # and S7 (mentor only from 5 Nov).
    assert value(results, "mentor_forsta_aret")[:2] == (1, 2)
    # Ongoing on 1 Nov: S5's (4 h) and S3's (no hours given: left out of the average).
    assert value(results, "mentortimmar_per_manad")[:3] == (4, 1, 4)
    assert value(results, "mentortimmar_per_manad", unit=U)[2] == 4


def test_training_coverage_per_programme(results):
    def coverage(programme, **dims):
        return value(results, "utbildningstackning", category=programme, **dims)[:2]

    # Employees in post (K1 is a consultant): S1, S2, S3, S4, S5, C1, S7.
    assert coverage("introduktion") == (1, 2)     # first year: S5 (not yet), S7 (April)
    assert coverage("yrkesresan") == (1, 3)       # under 3 years since degree: S3 (done), S5, S7
    assert coverage("mhfa") == (2, 7)             # S1, and C1 on the day; S4 the day after
    assert coverage("vnr") == (2, 7)              # S2, S4 (S6 has left)
    assert coverage("hedersrelaterat") == (0, 7)  # the gap shows as 0, not as missing
    assert coverage("mhfa", unit=U) == (2, 5)


def test_introduction_within_three_months_of_arrival(results):
    # Arrivals in 2024: S7 (15 Jan; intro 16 Apr, a day late), S3's return (1 Sep; the intro
    # was before it), S5 (1 Oct; intro 20 Dec). S7's permanent post and S2's move are no
    # arrivals, K1 is a consultant.
    assert value(results, "introduktion_inom_3_manader")[:2] == (1, 3)
    assert value(results, "introduktion_inom_3_manader", unit=U)[:2] == (1, 2)


def test_share_over_workload_norm(results):
    # Default weights: nobody is near the norm in this small dataset.
    assert value(results, "andel_over_norm")[:2] == (0, 7)


TEN_POINT_NORMS = """
weights:
  forhandsbedomning: 2
  utredning: 12
  insats: {oppenvard: 5, kontaktperson: 3, familjehem: 8, jourhem: 8, hvb: 10, stodboende: 7, sis: 12, annan: 4}
norms:
  - {level: ny, label: Ny, below_years: 1, points: 10}
  - {level: van, label: Van, below_years: 3, points: 10}
  - {level: erfaren, label: Erfaren, points: 10}
missing_exam_year_level: van
"""


def test_editing_the_weights_changes_the_workload(dataset, tmp_path):
    edited = tmp_path / "workload.yaml"
    edited.write_text(TEN_POINT_NORMS, encoding="utf-8")
    [definition] = [d for d in library() if d.id == "andel_over_norm"]
    results = compute(dataset, [definition], workload=load_workload(edited))
    # Norm 10 per FTE: S1 holds a (12 points), S5 holds b (8 + 5); K1's f is 10, not over.
    assert value(results, "andel_over_norm")[:2] == (2, 7)
    # A copy made before the self-rating section existed takes the shipped one.
    assert load_workload(edited).self_rating == load_workload().self_rating


# --- workload month by month -----------------------------------------------------------------


def caseworker_month(frame, staff_id, period):
    rows = frame[(frame.staff_id == staff_id) & (frame.period == period)]
    assert len(rows) == 1, (staff_id, period)
    return rows.iloc[0]


def test_workload_per_caseworker_on_the_first_of_the_month(dataset):
    from insyn.model.workforce_config import load_workforce
    from insyn.workforce.workload import compute_workload

    frame = compute_workload(dataset, load_workforce(), load_workload()).caseworkers
    # 1 Nov 2024, default weights: S1 holds a (investigation 10); S5 holds b (foster home 8 +
    # open care 5); K1 f (HVB 10); S7 g (open care 5); S3 c (awaiting assessment 12).
    expected = {"S1": (1, 10, 150), "S5": (1, 13, 100), "K1": (1, 10, 150), "S7": (1, 5, 125),
                "S3": (1, 12, 125), "S2": (0, 0, 150), "S4": (0, 0, 75)}
    for staff_id, (cases, points, norm) in expected.items():
        row = caseworker_month(frame, staff_id, "2024-11")
        assert (row.cases, row.points, row.norm_points) == (cases, points, norm), staff_id
        assert row.load_ratio == pytest.approx(points / norm)
    assert set(frame[frame.period == "2024-11"].staff_id) == set(expected)  # not the manager C1
    # 1 Oct 2024: b's latest event is still S4's (2023); S1 has a's investigation and e's
    # contact person, e being closed that very day (the closing day still counts).
    assert caseworker_month(frame, "S4", "2024-10").points == 8
    assert caseworker_month(frame, "S1", "2024-10").points == 10 + 3


def test_months_over_norm_and_work_nobody_in_post_holds(dataset):
    from insyn.model.workforce_config import load_workforce
    from insyn.workforce.workload import NO_CASEWORKER, NOT_IN_POST, compute_workload, unit_months

    result = compute_workload(dataset, load_workforce(), load_workload_text(TEN_POINT_NORMS))
    frame = result.caseworkers
    # S1 is over 10 points from October 2024 (a's investigation, 12, and e's 3): two months
    # in a row by November, seven by April 2025. S5 only from November.
    assert caseworker_month(frame, "S1", "2024-09").months_over_norm == 0
    assert caseworker_month(frame, "S1", "2024-11").months_over_norm == 2
    assert caseworker_month(frame, "S1", "2025-04").months_over_norm == 7
    assert caseworker_month(frame, "S5", "2024-11").months_over_norm == 1
    unassigned = result.unassigned.set_index(["period", "reason"])
    # d's investigation has no caseworker; K1 left in December, f's HVB is still on her name.
    assert unassigned.loc[("2024-11", NO_CASEWORKER), "points"] == 12
    assert unassigned.loc[("2025-01", NOT_IN_POST), "points"] == 10
    units = unit_months(result).set_index(["unit", "period"])
    assert units.loc[(U, "2024-11"), "over_norm"] == 2  # S1 and S5; K1's 10 is not over 10
    assert units.loc[(U, "2024-11"), "unassigned_points"] == 12


def load_workload_text(text):
    import tempfile
    from pathlib import Path

    path = Path(tempfile.mkdtemp()) / "workload.yaml"
    path.write_text(text, encoding="utf-8")
    return load_workload(path)


def test_what_if_one_more_caseworker_or_a_case_moved(dataset):
    from insyn.model.workforce_config import load_workforce
    from insyn.workforce.workload import what_if

    change = what_if(dataset, load_workforce(), load_workload(), V, U, dt.date(2024, 11, 1),
                     extra_fte=1.0, move_case="a", to_staff="S4")
    now, after = change.unit.iloc[0], change.unit.iloc[1]
    # Utredning on 1 Nov: S1 10, S4 0 (norm 75), K1 10, S5 13, S7 5 = 38 points against
    # 150 + 75 + 150 + 100 + 125 = 600; one more experienced caseworker adds 150.
    assert (now.points, now.norm_points) == (38, 600)
    assert (after.points, after.norm_points) == (38, 750)
    moved = change.caseworkers.set_index("staff_id")
    assert moved.loc["S1", "points_after"] == 0 and moved.loc["S4", "points_after"] == 10
    assert moved.loc["S4", "load_after"] == pytest.approx(10 / 75)
    with pytest.raises(InputError, match="nivå"):
        what_if(dataset, load_workforce(), load_workload(), V, U, dt.date(2024, 11, 1), 1.0, "expert")


@pytest.mark.parametrize(("text", "message"), [
    ("weights: [", "inte giltig YAML"),
    (TEN_POINT_NORMS.replace("sis: 12, ", ""), "vikt saknas för insats sis"),
    (TEN_POINT_NORMS.replace("utredning: 12", "utredning: -1"), "weights.utredning"),
    (TEN_POINT_NORMS.replace("below_years: 3", "below_years: 0.5"), "below_years ska öka"),
    (TEN_POINT_NORMS.replace("insats:", "insatser:"), "weights.insatser: okänt fält"),
])
def test_a_bad_weights_file_is_refused_with_where_and_what(tmp_path, text, message):
    from insyn.model.workforce_config import ConfigError

    path = tmp_path / "workload.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_workload(path)
    assert str(path) in str(error.value) and message in str(error.value)


def test_the_report_names_the_configured_reference_date(results):
    from insyn.model.workforce_config import ReferenceDate
    from insyn.publish.notes import notes
    from insyn.publish.publication import prepare

    def text(publication):
        return " ".join(p for note in notes(publication) for p in note.paragraphs)

    assert "mätdagen 1 november" in text(prepare(results, DisclosureRules()))
    assert "mätdagen 15 oktober" in text(prepare(results, DisclosureRules(), reference=ReferenceDate(month=10, day=15)))


# --- the month column of workload_ratings ------------------------------------------------------

@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)))
def test_a_month_or_any_date_in_it_is_read_as_its_first_day(day):
    import pyarrow as pa

    from insyn.ingest.validate import _parse_months

    first, bad = _parse_months(pa.array([f"{day:%Y-%m}", day.isoformat()]), None)
    assert first.to_pylist() == [day.replace(day=1)] * 2 and bad.to_pylist() == [False, False]


@given(st.sampled_from(["2025-13", "2025-00", "2025-1", "25-10", "2025-10-32", "oktober", "2025/10"]))
def test_what_is_no_month_is_refused(text):
    import pyarrow as pa

    from insyn.ingest.validate import _parse_months

    first, bad = _parse_months(pa.array([text]), None)
    assert first.to_pylist() == [None] and bad.to_pylist() == [True]


def test_planned_dates_are_accepted_and_change_nothing_after_the_data(tmp_path, store):
    # On top of the dataset, whose case data end on 10 April 2025: S1's post ends in a year,
    # a new hire starts next month, and S9's fixed term runs into 2026 (a date that has passed
    # today but lies after the data: the export was taken before it).
    today = dt.date.today()
    planned = [employment("S8", U, SS, "tillsvidare", (today + dt.timedelta(days=30)).isoformat(), exam=2020),
               {**STAFF[0], "end_date": (today + dt.timedelta(days=365)).isoformat()},
               employment("S9", M, SS, "visstid", "2025-01-01", "2026-06-30", exam=2022)]
    import_dataset(tmp_path, store)
    extra = write_csv(tmp_path / "planerat.csv", list(STAFF[0]), planned)
    imported = import_files(store, [extra], b"k" * 32)
    assert not imported.files[0].validated.problems
    results = compute(store)
    # S1 is still in post on 1 Nov 2024 and has not left; S8 is nobody yet; nothing after the data.
    assert value(results, "antal_anstallda")[2] == 8
    assert value(results, "personalomsattning")[0] == pytest.approx(1.8)
    assert results.period.str[:4].max() == "2025"
    assert value(results, "personalomsattning", period="2025")[0] == 0  # S9 has not left yet
    assert not ((results.indicator == "antal_anstallda") & (results.period == "2025")).any()
    from insyn.model.workforce_config import load_workforce
    from insyn.workforce.workload import compute_workload

    months = compute_workload(store, load_workforce(), load_workload()).caseworkers.period
    assert months.max() == "2025-04"


def test_a_future_degree_two_posts_at_once_and_a_report_taken_up_the_same_day(tmp_path, store):
    from insyn.model.workforce_config import load_workforce
    from insyn.workforce.workload import compute_workload

    import_dataset(tmp_path, store)
    staff = [employment("S10", U, SS, "tillsvidare", "2024-08-01", exam=2025),  # degree next year
             employment("S11", U, SS, "tillsvidare", "2024-01-01", fte="0.5", exam=2015),
             employment("S11", M, SS, "tillsvidare", "2024-01-01", "2024-06-30", fte="0.5", exam=2015)]
    CHILD.update(i=pnr("20140303", "513"), x=pnr("20120808", "624"))
    events = [ev("i", "report", "2024-10-01", M, "S10", source="skola"),
              ev("i", "initial_assessment", "2024-10-10", M, "S10", outcome="investigate"),
              ev("i", "investigation_start", "2024-10-15", U, "S10"),
              # x: a second report the day it is assessed; nothing awaits afterwards.
              ev("x", "report", "2024-09-01", M, "S3", source="polis"),
              ev("x", "report", "2024-09-05", M, "S3", source="skola"),
              ev("x", "initial_assessment", "2024-09-05", M, "S3", outcome="no_investigation")]
    import_files(store, [write_csv(tmp_path / "more_staff.csv", list(STAFF[0]), staff),
                         write_csv(tmp_path / "more_events.csv", EVENT_COLUMNS, events)], b"k" * 32)
    results = compute(store)
    frame = compute_workload(store, load_workforce(), load_workload()).caseworkers
    # S10 is a new caseworker (norm 100) holding i's investigation, and counted over the norm's
    # denominator: 7 + S10 + S11.
    row = caseworker_month(frame, "S10", "2024-11")
    assert (row.level, row.points, row.norm_points) == ("ny", 10, 100)
    assert value(results, "andel_over_norm")[1] == 9
    # S11's post in Mottagning ended while the one in Utredning went on: a move, not a leaver;
    # and S11 arrived once, not twice (arrivals: S7, S3, S5 as before, S10 and S11).
    assert value(results, "personalomsattning")[0] == pytest.approx(1.8)
    assert value(results, "intern_rorlighet")[0] == pytest.approx(1.0 + 0.5)
    assert value(results, "introduktion_inom_3_manader")[1] == 5
    # x's reports were both taken up on 5 September: S3 holds only c on 1 November.
    assert caseworker_month(frame, "S3", "2024-11").points == 12


def test_work_held_by_another_role_and_a_unit_without_caseworkers(tmp_path, store):
    from insyn.model.workforce_config import load_workforce
    from insyn.workforce.workload import OTHER_ROLE, compute_workload, unit_months

    import_dataset(tmp_path, store)
    CHILD.update(m=pnr("20130404", "735"))
    events = [ev("m", "report", "2024-09-20", M, source="polis"),
              ev("m", "initial_assessment", "2024-09-25", M, "C1", outcome="investigate"),
              ev("m", "investigation_start", "2024-09-25", "Familjerätt", "C1")]  # held by the manager
    import_files(store, [write_csv(tmp_path / "more_events.csv", EVENT_COLUMNS, events)], b"k" * 32)
    result = compute_workload(store, load_workforce(), load_workload())
    unassigned = result.unassigned.set_index(["period", "unit", "reason"])
    assert unassigned.loc[("2024-11", "Familjerätt", OTHER_ROLE), "points"] == 10
    units = unit_months(result).set_index(["unit", "period"])
    assert units.loc[("Familjerätt", "2024-11"), ["caseworkers", "unassigned_points"]].tolist() == [0, 10]
