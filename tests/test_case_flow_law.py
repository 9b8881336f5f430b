"""The case-flow rules against the letter of the law and real export patterns, by hand.

Each case below is worked out in its comment from the dates alone: the 14-day clock of SoL
(2025:400) 20 kap. 2 § (the earliest report not yet decided on; reports during an ongoing
investigation need no decision), interventions paired first in, first out or by decision id,
interventions begun before the data, a child leaving care only when nothing is open, the
backlog at month ends, extensions (20 kap. 3 §), the protection assessment (20 kap. 1 §), the
four-month start cohort, the KKiK return measure and the official measures computed from the
export. The data are imported through the real import path with an extract date.
"""

from __future__ import annotations

import datetime as dt

import pytest
from helpers import EVENT_COLUMNS, computed_from_events, pnr, result_row, write_csv

from insyn.indicators.engine import compute
from insyn.ingest.load import import_files
from insyn.store import open_store

pytestmark = pytest.mark.slow  # docs/testing.md

GBG, VIMMERBY = "1480", "0884"
COLUMNS = [*EVENT_COLUMNS, "intervention_id", "extended_until", "unaccompanied"]
EXTRACT_DATE = dt.date(2025, 12, 31)

P1 = pnr("20150301", "123")   # boy, 8–10 years
P2 = pnr("20100601", "242")   # girl
P3 = pnr("20080815", "351")   # boy, 14–16
P4 = pnr("20060615", "462")   # girl: 18 from 1 June 2024 (a year older from the first of the birth month)
P5 = pnr("20120110", "573")   # boy
P6 = pnr("20091120", "684")   # girl
P7 = pnr("20130405", "795")   # boy, came to Sweden unaccompanied
P8 = pnr("20030101", "816")   # girl: 20 at the end of 2023, 21 at the end of 2024
P9 = pnr("20110909", "927")   # boy
P10 = pnr("20160202", "138")  # girl
P11 = pnr("20060620", "246")  # girl: 17 on 31 May 2024, 18 on 1 June 2024


def ev(case, person, event, date, **extra):
    return dict(municipality=extra.pop("municipality", GBG), case_id=case, person_id=person, event=event,
                date=date, unit="Barn och unga", caseworker_id="S1", **extra)


def case(case_id, person, *steps, **common):
    return [ev(case_id, person, event, date, **common, **extra) for event, date, *rest in steps
            for extra in [rest[0] if rest else {}]]


INVESTIGATE, NO_INVESTIGATION = {"outcome": "investigate"}, {"outcome": "no_investigation"}
NO_INTERVENTION, INTERVENTION = {"outcome": "no_intervention"}, {"outcome": "intervention"}
SCHOOL = {"source": "skola"}

EVENTS = [
    # A1, the example: reports 1 and 10 October, decision 19 October: 18 days from the
    # first report (late), not 9 from the second. Protection assessments: the day after the
    # first report (in time), two days after the second (not).
    *case("A1", P1, ("report", "2024-10-01", SCHOOL), ("protection_assessment", "2024-10-02"),
          ("report", "2024-10-10", SCHOOL), ("protection_assessment", "2024-10-12"),
          ("initial_assessment", "2024-10-19", NO_INVESTIGATION)),
    # A2: a report on the day of an assessment is decided on by it: the second assessment
    # answers the report of 12 March (13 days, in time), not that of 10 March (15 days).
    *case("A2", P2, ("report", "2024-03-01", SCHOOL), ("protection_assessment", "2024-03-01"),
          ("initial_assessment", "2024-03-10", NO_INVESTIGATION), ("report", "2024-03-10", SCHOOL),
          ("report", "2024-03-12", SCHOOL), ("initial_assessment", "2024-03-25", NO_INVESTIGATION)),
    # A3: reports during the investigation (1 March; 20 May, the day it ends, is still during)
    # need no decision; the assessment of 10 June answers the report of 1 June (9 days).
    *case("A3", P3, ("report", "2023-02-01", SCHOOL), ("initial_assessment", "2023-02-05", INVESTIGATE),
          ("investigation_start", "2023-02-05"), ("report", "2023-03-01", SCHOOL),
          ("report", "2023-05-20", SCHOOL), ("investigation_end", "2023-05-20", NO_INTERVENTION),
          ("report", "2023-06-01", SCHOOL), ("initial_assessment", "2023-06-10", NO_INVESTIGATION)),
    # A4: 15 February + 14 days is 29 February in a leap year: in time.
    *case("A4", P5, ("report", "2024-02-15", SCHOOL), ("initial_assessment", "2024-02-29", NO_INVESTIGATION)),
    # A5: across the new year, 15 days: late (and counted in 2024, the year of the assessment).
    *case("A5", P6, ("report", "2023-12-31", SCHOOL), ("initial_assessment", "2024-01-15", NO_INVESTIGATION)),
    # A6: the report on the day the investigation ends is during it; the next report, 20 August,
    # is answered on 25 August (5 days), not 15 days after 10 August.
    *case("A6", P10, ("report", "2023-07-01", SCHOOL), ("initial_assessment", "2023-07-03", INVESTIGATE),
          ("investigation_start", "2023-07-03"), ("report", "2023-08-10", SCHOOL),
          ("investigation_end", "2023-08-10", NO_INTERVENTION), ("report", "2023-08-20", SCHOOL),
          ("initial_assessment", "2023-08-25", NO_INVESTIGATION)),
    # B1, the example: öppenvård from 21 May and from 3 June, ended 30 August and 15
    # November. First in, first out: the second runs to 15 November, so the child leaves care
    # then, and the report of 1 October (B2) comes while the child is still in care.
    *case("B1", P9, ("report", "2024-04-01", SCHOOL), ("initial_assessment", "2024-04-05", INVESTIGATE),
          ("investigation_start", "2024-04-05"), ("investigation_end", "2024-05-15", INTERVENTION),
          ("intervention_start", "2024-05-21", {"intervention": "oppenvard"}),
          ("intervention_start", "2024-06-03", {"intervention": "oppenvard"}),
          ("intervention_end", "2024-08-30", {"intervention": "oppenvard"}),
          ("intervention_end", "2024-11-15", {"intervention": "oppenvard"})),
    *case("B2", P9, ("report", "2024-10-01", SCHOOL), ("initial_assessment", "2024-10-03", NO_INVESTIGATION)),
    # B3: two foster homes with decision ids; F2 (1 March–1 April) inside F1 (10 January–30
    # September). By id, not first in, first out.
    *case("B3", P10, ("intervention_start", "2024-01-10", {"intervention": "familjehem", "intervention_id": "F1"}),
          ("intervention_start", "2024-03-01", {"intervention": "familjehem", "intervention_id": "F2"}),
          ("intervention_end", "2024-04-01", {"intervention": "familjehem", "intervention_id": "F2"}),
          ("intervention_end", "2024-09-30", {"intervention": "familjehem", "intervention_id": "F1"})),
    # B4: an HVB placement that ends on 15 March 2023 without a start in the data: begun before
    # them, ongoing from the first day they cover (2 January 2023). B6: HVB from February 2024.
    *case("B4", P8, ("intervention_end", "2023-03-15", {"intervention": "hvb"})),
    *case("B6", P8, ("intervention_start", "2024-02-01", {"intervention": "hvb"})),
    # C1–C3: the kontaktperson ends 1 June 2023 while an investigation (1 May–1 August) goes on:
    # the child leaves on 1 August, and the report of 15 July 2024 (age 18) is within a year.
    *case("C1", P4, ("intervention_start", "2023-01-10", {"intervention": "kontaktperson"}),
          ("intervention_end", "2023-06-01", {"intervention": "kontaktperson"})),
    *case("C2", P4, ("report", "2023-04-20", SCHOOL), ("initial_assessment", "2023-04-25", INVESTIGATE),
          ("investigation_start", "2023-05-01"), ("investigation_end", "2023-08-01", NO_INTERVENTION)),
    *case("C3", P4, ("report", "2024-07-15", SCHOOL), ("initial_assessment", "2024-07-17", NO_INVESTIGATION)),
    # D1: reported 10 January, decided 28 February: waiting 21 days at the end of January.
    # D2: reported 10 December 2024, decided 20 January 2025: 21 days at the end of the year.
    *case("D1", P6, ("report", "2024-01-10", SCHOOL), ("initial_assessment", "2024-02-28", NO_INVESTIGATION)),
    *case("D2", P2, ("report", "2024-12-10", SCHOOL), ("initial_assessment", "2025-01-20", NO_INVESTIGATION)),
    # E1: begun 31 October 2023; four months end 29 February 2024 (leap year). Extended on 20
    # February; ended 20 April. E2: begun 15 November, four months end 15 March, no extension.
    *case("E1", P3, ("report", "2023-10-25", SCHOOL), ("initial_assessment", "2023-10-31", INVESTIGATE),
          ("investigation_start", "2023-10-31"),
          ("investigation_extended", "2024-02-20", {"extended_until": "2024-04-30"}),
          ("investigation_end", "2024-04-20", NO_INTERVENTION)),
    *case("E2", P1, ("report", "2023-11-10", SCHOOL), ("initial_assessment", "2023-11-15", INVESTIGATE),
          ("investigation_start", "2023-11-15"), ("investigation_end", "2024-05-10", NO_INTERVENTION)),
    # E3: P3 investigated again from 12 January 2025, within a year of leaving (20 April 2024).
    *case("E3", P3, ("report", "2025-01-10", SCHOOL), ("initial_assessment", "2025-01-12", INVESTIGATE),
          ("investigation_start", "2025-01-12"), ("investigation_end", "2025-03-01", NO_INTERVENTION)),
    # E4: begun 5 August 2024 and still open: over four months (5 December) at the end of 2024.
    *case("E4", P5, ("report", "2024-08-01", SCHOOL), ("initial_assessment", "2024-08-05", INVESTIGATE),
          ("investigation_start", "2024-08-05")),
    # F1, F2: 31 May 2024 P11 is 17, on 1 June 18.
    *case("F1", P11, ("report", "2024-05-31", SCHOOL), ("initial_assessment", "2024-06-02", NO_INVESTIGATION)),
    *case("F2", P11, ("report", "2024-06-01", SCHOOL), ("initial_assessment", "2024-06-03", NO_INVESTIGATION)),
    # U1: an unaccompanied child (said on one row), investigated January–March 2024.
    ev("U1", P7, "report", "2024-01-05", source="polis", unaccompanied="ja"),
    *case("U1", P7, ("initial_assessment", "2024-01-06", INVESTIGATE), ("investigation_start", "2024-01-06"),
          ("investigation_end", "2024-03-01", NO_INTERVENTION)),
    # The data begin with the first report, 2 January 2023.
    *case("Z1", P2, ("report", "2023-01-02", SCHOOL), ("initial_assessment", "2023-01-04", NO_INVESTIGATION)),
]

POPULATION_PER_AGE = 100  # Göteborg imports 100 residents per age 0–20, for 2023 and 2024
CHILDREN, YOUNG, YOUTH = 18 * POPULATION_PER_AGE, 3 * POPULATION_PER_AGE, 21 * POPULATION_PER_AGE


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return computed_from_events(tmp_path_factory.mktemp("law"), COLUMNS, EVENTS, GBG, (2023, 2024),
                                POPULATION_PER_AGE, EXTRACT_DATE)


def row(results, indicator, period, **dims):
    return result_row(results, GBG, indicator, period, **dims)


def value(results, indicator, period, **dims):
    r = row(results, indicator, period, **dims)
    return r.numerator, r.denominator, r.value


def days(a: str, b: str) -> int:
    return (dt.date.fromisoformat(b) - dt.date.fromisoformat(a)).days


def test_the_14_day_clock_runs_from_the_earliest_report_not_yet_decided(results):
    assert days("2024-10-01", "2024-10-19") == 18  # A1: late
    assert days("2024-03-12", "2024-03-25") == 13  # A2, second assessment: in time
    assert days("2024-02-15", "2024-02-29") == 14  # A4: in time (leap year)
    assert days("2023-12-31", "2024-01-15") == 15  # A5: late
    assert days("2024-01-10", "2024-02-28") == 49  # D1: late
    # 2024: A1, A2 (twice), A4, A5, B1, B2, C3, D1, E4, F1, F2, U1 — 13 assessments, 3 late.
    assert value(results, "forhandsbedomning_inom_14_dagar", "2024") == (10, 13, pytest.approx(1000 / 13))
    # 2023: Z1, A3 (twice), A6 (twice), C2, E1, E2 — all in time: the reports during the
    # investigations (A3: 1 March and 20 May; A6: 10 August, its last day) start no clock.
    assert value(results, "forhandsbedomning_inom_14_dagar", "2023") == (8, 8, 100.0)
    # Q4 2024: A1 (late), B2 (in time).
    assert value(results, "forhandsbedomning_inom_14_dagar", "2024-Q4") == (1, 2, 50.0)


def test_share_of_assessments_leading_to_investigation_uses_the_same_pairs(results):
    # 2024: B1, E4, U1 of the 13.
    assert value(results, "andel_forhandsbedomningar_till_utredning", "2024") == (3, 13, pytest.approx(300 / 13))


def test_protection_assessment_the_same_or_the_next_day(results):
    # 2024 has 15 reports; A2's first (same day) and A1's first (next day) are in time; A1's
    # second was assessed two days later.
    assert value(results, "skyddsbedomning_samma_eller_nasta_dag", "2024") == (2, 15, pytest.approx(200 / 15))
    assert value(results, "skyddsbedomning_samma_eller_nasta_dag", "2023")[:2] == (0, 12)


def test_reports_per_1000_count_children_0_17_on_the_day(results):
    # 2024: 15 reports; P4 on 15 July and P11 on 1 June were 18 (a year older from the first
    # of the birth month), P11 on 31 May 17.
    assert value(results, "anmalningar_per_1000_barn", "2024") == (13, CHILDREN, pytest.approx(13_000 / CHILDREN))
    assert value(results, "anmalningar_per_1000_unga_18_20", "2024") == (2, YOUNG, pytest.approx(2_000 / YOUNG))
    # 2023: Z1, A3 (four), A6 (three), C2, E1, E2, A5 — 12 reports, all about children 0–17.
    assert value(results, "anmalningar_per_1000_barn", "2023") == (12, CHILDREN, pytest.approx(12_000 / CHILDREN))
    assert value(results, "anmalningar_per_1000_unga_18_20", "2023")[0] == 0


def test_reports_waiting_more_than_14_days_at_each_period_end(results):
    waiting = "anmalningar_vantar_over_14_dagar"
    assert value(results, waiting, "2024-01")[0] == 1  # D1: 21 days on 31 January
    assert value(results, waiting, "2024-02")[0] == 0  # D1 decided 28 Feb, A4 on the last day
    assert value(results, waiting, "2024")[0] == 1  # D2: 21 days on 31 December
    assert value(results, waiting, "2024-Q4")[0] == 1
    assert value(results, waiting, "2024-11")[0] == 0
    assert value(results, waiting, "2023")[0] == 0  # A5: reported on the last day, 0 days
    # A3's report during its investigation waits for nothing: none waiting at the end of March.
    assert value(results, waiting, "2023-03")[0] == 0


def test_investigations_over_four_months_with_and_without_extension(results):
    without, extended = ("utredningar_over_4_manader_utan_forlangning",
                         "utredningar_over_4_manader_med_forlangning")
    # 29 February 2024: E1's four months end that day (31 October + 4 months): not over.
    assert value(results, without, "2024-02")[0] == 0 and value(results, extended, "2024-02")[0] == 0
    # 31 March: E1 over, extended on 20 February; E2 over (15 March), not extended.
    assert value(results, extended, "2024-03")[0] == 1 and value(results, without, "2024-03")[0] == 1
    assert value(results, extended, "2024-Q1")[0] == 1 and value(results, without, "2024-Q1")[0] == 1
    # 30 April: E1 ended on 20 April; E2 still over.
    assert value(results, extended, "2024-04")[0] == 0 and value(results, without, "2024-04")[0] == 1
    # 31 December 2024: E4, four months ended 5 December.
    assert value(results, without, "2024")[0] == 1 and value(results, extended, "2024")[0] == 0
    assert value(results, without, "2024-11")[0] == 0


def test_four_months_as_a_start_cohort(results):
    cohort = "utredning_inom_4_manader_startkohort"
    # Started 2023: A3 (5 Feb–20 May), C2 (1 May–1 Aug), A6 (3 Jul–10 Aug) within; E1 and E2 not.
    assert value(results, cohort, "2023") == (3, 5, 60.0)
    assert value(results, cohort, "2023-Q4") == (0, 2, 0.0)
    # Started 2024: U1, B1 within; E4 still open counts as not within.
    assert value(results, cohort, "2024") == (2, 3, pytest.approx(200 / 3))
    # 2025 would need data to 30 April 2026.
    assert results[(results.indicator == cohort) & (results.period == "2025")].empty


def test_interventions_pair_first_in_first_out_and_the_child_leaves_when_nothing_is_open(results):
    again = "aterkommande_inom_12_manader"
    # 2023 closings: P8 15 March (the placement begun before the data), P3 20 May, P10 10 August,
    # P4 1 August (not 1 June: her investigation was open). Reported again within a year: P3
    # (25 Oct), P10 (20 Aug), P4 (15 July 2024, within a year of 1 August, not of 1 June).
    assert value(results, again, "2023") == (3, 4, 75.0)
    # 2024 closings: P7 1 Mar, P3 20 Apr, P1 10 May, P10 30 Sep, P9 15 Nov (not 30 Aug: the
    # second öppenvård goes on). Reported again: P3 (10 Jan 2025), P1 (1 Oct 2024). P9's report
    # of 1 October came while he was still in care.
    assert value(results, again, "2024") == (2, 5, 40.0)


def test_out_of_home_care_counts_placements_begun_before_the_data(results):
    per_1000 = "barn_med_heldygnsinsats_per_1000"
    assert value(results, per_1000, "2023") == (1, YOUTH, pytest.approx(1000 / YOUTH))  # P8's HVB
    assert value(results, per_1000, "2023-Q1")[0] == 1 and value(results, per_1000, "2023-Q2")[0] == 0
    assert value(results, per_1000, "2024") == (2, YOUTH, pytest.approx(2000 / YOUTH))  # P10, P8


def test_official_measures_computed_from_the_export(results):
    # N33812: P10 in a foster home in 2024.
    assert value(results, "barn_i_familjehem", "2024") == (1, YOUTH, pytest.approx(100 / YOUTH))
    assert value(results, "barn_i_familjehem", "2023")[0] == 0
    # N33813: P8 in HVB in 2023 (20 at the year's end); in 2024 she is 21 at its end.
    assert value(results, "barn_i_hvb", "2023")[0] == 1
    assert value(results, "barn_i_hvb", "2024")[0] == 0
    # N33802: on 1 November 2024 P9's second öppenvård was ongoing.
    assert value(results, "oppenvard_1_november", "2024") == (1, YOUTH, pytest.approx(100 / YOUTH))
    assert value(results, "oppenvard_1_november", "2023")[0] == 0
    # U33402: investigations ended January–June 2024 of 0–20-year-olds, not unaccompanied:
    # B1 (40 days), E1 (172), E2 (177); U1 is left out.
    durations = sorted([days("2024-04-05", "2024-05-15"), days("2023-10-31", "2024-04-20"),
                        days("2023-11-15", "2024-05-10")])
    assert value(results, "utredningstid_median_kkik", "2024")[1:] == (3, durations[1])
    # Insyn's own median: every investigation ended in 2024, U1 included (55 days).
    everything = sorted([*durations, days("2024-01-06", "2024-03-01")])
    assert value(results, "utredningstid_median", "2024")[1:] == (4, (everything[1] + everything[2]) / 2)


def test_kkik_return_counts_a_new_investigation_within_a_year(results):
    # 2024, closings in the first half: P1 (10 May, 9 years) not investigated again; P7 (1 March)
    # unaccompanied, left out; P3 (20 April, 15) investigated again on 12 January 2025.
    assert value(results, "ej_aterkommande_0_12", "2024") == (1, 1, 100.0)
    assert value(results, "ej_aterkommande_13_20", "2024") == (0, 1, 0.0)
    # 2023, first half: P3 (20 May, 14) investigated again 31 October; P8 (15 March, 20) not.
    assert value(results, "ej_aterkommande_13_20", "2023") == (1, 2, 50.0)
    assert value(results, "ej_aterkommande_0_12", "2023")[:2] == (0, 0)
    # 2025 needs data to 30 June 2026.
    assert results[(results.indicator == "ej_aterkommande_0_12") & (results.period == "2025")].empty


def test_the_extract_date_decides_which_periods_are_complete(tmp_path):
    rows = [ev("V1", P5, "report", "2024-01-15", municipality=VIMMERBY, source="polis"),
            ev("V1", P5, "initial_assessment", "2024-01-20", municipality=VIMMERBY, outcome="no_investigation"),
            ev("V2", P6, "report", "2024-12-10", municipality=VIMMERBY, source="polis"),
            ev("V2", P6, "initial_assessment", "2024-12-12", municipality=VIMMERBY, outcome="no_investigation")]
    events = write_csv(tmp_path / "vimmerby.csv", COLUMNS, rows)

    def complete(extract_date):
        store = open_store(None)
        import_files(store, [events], b"k" * 32, extract_date=extract_date)
        results = compute(store)
        store.close()
        year = results[(results.indicator == "anmalningar_per_1000_barn") & (results.period == "2024")]
        return set(year.complete)

    # Without an extract date the last event (12 December) is 19 days before the year's end.
    assert complete(None) == {False}
    assert complete(dt.date(2024, 12, 31)) == {True}
    assert complete(dt.date(2024, 12, 30)) == {False}


def test_a_row_dated_after_the_extract_date_is_refused(tmp_path):
    rows = [ev("V1", P5, "report", "2024-01-15", municipality=VIMMERBY, source="polis"),
            ev("V1", P5, "initial_assessment", "2025-01-05", municipality=VIMMERBY, outcome="no_investigation")]
    events = write_csv(tmp_path / "vimmerby.csv", COLUMNS, rows)
    store = open_store(None)
    imported = import_files(store, [events], b"k" * 32, extract_date=dt.date(2024, 12, 31))
    messages = imported.files[0].validated.messages()
    assert messages == ["vimmerby.csv, rad 3, kolumn 'date': datum efter uttagsdatum 2024-12-31"]
    recorded = store.raw.execute("SELECT municipality, table_name, extract_date FROM extracts").fetchall()
    assert recorded == [(VIMMERBY, "events", dt.date(2024, 12, 31))]
    store.close()


def test_an_extension_needs_its_new_date(tmp_path):
    rows = [ev("V1", P5, "investigation_extended", "2024-01-15", municipality=VIMMERBY)]
    events = write_csv(tmp_path / "forlangning.csv", COLUMNS, rows)
    store = open_store(None)
    imported = import_files(store, [events], b"k" * 32)
    assert imported.files[0].validated.messages() == [
        "forlangning.csv, rad 2, kolumn 'extended_until': värde saknas (krävs för investigation_extended)"]
    store.close()


def test_ambiguous_pairings_and_interventions_begun_before_the_data_are_named(tmp_path):
    events = write_csv(tmp_path / "handelser.csv", COLUMNS, EVENTS)
    store = open_store(None)
    import_files(store, [events], b"k" * 32, extract_date=EXTRACT_DATE)
    warnings = store.raw.execute("SELECT case_id, check_id, date FROM quality_warnings ORDER BY ALL").fetchall()
    store.close()
    # B1's two öppenvård without decision ids overlap from the second start; B3's foster homes
    # have ids. B4's placement ends without a start in the data.
    assert ("B1", "insatser_samtidigt_utan_beslutsid", dt.date(2024, 6, 3)) in warnings
    assert [w for w in warnings if w[1] == "insatser_samtidigt_utan_beslutsid"] == [
        ("B1", "insatser_samtidigt_utan_beslutsid", dt.date(2024, 6, 3))]
    assert ("B4", "insats_avslutad_utan_start", dt.date(2023, 3, 15)) in warnings


# --- edge cases of the export, each in a store of its own ------------------------------------------

def results_of(tmp_path, rows, extract_date=EXTRACT_DATE, columns=COLUMNS):
    store = open_store(None)
    imported = import_files(store, [write_csv(tmp_path / "handelser.csv", columns, rows)], b"k" * 32,
                            extract_date=extract_date)
    assert all(not f.validated.problems for f in imported.files)
    results = compute(store)
    store.close()
    return results


def at(results, indicator, period):
    rows = results[(results.indicator == indicator) & (results.period == period) & results.unit.isna()
                   & results.sex.isna() & results.age_group.isna() & results.category.isna()]
    assert len(rows) == 1, (indicator, period)
    return rows.iloc[0].numerator, rows.iloc[0].denominator


V = {"municipality": VIMMERBY}
FOSTER = {"intervention": "familjehem", **V}


def test_an_id_on_one_side_only_pairs_first_in_first_out(tmp_path):
    rows = [*case("I1", P1, ("report", "2023-01-02", SCHOOL), **V),
            # The start carries an id, the end none: they pair first in, first out (10 Jan–1 Mar).
            *case("I2", P2, ("intervention_start", "2024-01-10", {"intervention_id": "F1"}),
                  ("intervention_end", "2024-03-01"), **FOSTER),
            # An id ending before it starts says nothing certain: the end began before the data
            # (2 Jan 2023–1 March 2023), the start is ongoing from 1 May.
            *case("I3", P3, ("intervention_end", "2023-03-01", {"intervention_id": "F9"}),
                  ("intervention_start", "2023-05-01", {"intervention_id": "F9"}), **FOSTER)]
    results = results_of(tmp_path, rows)
    assert at(results, "barn_i_familjehem", "2023")[0] == 1  # P3 (both spells)
    assert at(results, "barn_i_familjehem", "2024")[0] == 2  # P2 10 Jan–1 Mar, P3 still placed
    assert at(results, "barn_i_familjehem", "2025")[0] == 1  # P3 only
    # P2 left care on 1 March 2024; P3 on 1 March 2023, before being placed again in May.
    assert at(results, "aterkommande_inom_12_manader", "2024") == (0, 1)
    assert at(results, "aterkommande_inom_12_manader", "2023") == (0, 1)


def test_a_decision_recorded_only_as_an_investigation_start_answers_the_reports(tmp_path):
    # The report of 1 March is decided by the investigation begun that day; the assessment of
    # 10 June answers the report of 1 June (9 days), not that of 1 March.
    rows = case("J1", P1, ("report", "2024-03-01", SCHOOL), ("investigation_start", "2024-03-01"),
                ("investigation_end", "2024-05-20", NO_INTERVENTION), ("report", "2024-06-01", SCHOOL),
                ("initial_assessment", "2024-06-10", NO_INVESTIGATION), **V)
    assert at(results_of(tmp_path, rows), "forhandsbedomning_inom_14_dagar", "2024") == (1, 1)


def test_two_assessments_on_one_day_take_the_waiting_reports_in_turn(tmp_path):
    # Reports 1 and 10 October, two decisions on 19 October: 18 days for the first, 9 for the second.
    rows = case("J2", P1, ("report", "2024-10-01", SCHOOL), ("report", "2024-10-10", SCHOOL),
                ("initial_assessment", "2024-10-19", NO_INVESTIGATION),
                ("initial_assessment", "2024-10-19", INVESTIGATE), **V)
    assert at(results_of(tmp_path, rows), "forhandsbedomning_inom_14_dagar", "2024") == (1, 2)


def test_a_report_while_the_child_is_investigated_in_another_case_needs_no_decision(tmp_path):
    # SoL 20:2 speaks of an investigation of the child: the report in case J4 on 1 March comes
    # while J3 investigates the same child, so the assessment of 10 June answers 1 June.
    rows = [*case("J3", P1, ("report", "2024-02-01", SCHOOL), ("initial_assessment", "2024-02-03", INVESTIGATE),
                  ("investigation_start", "2024-02-03"), ("investigation_end", "2024-05-20", NO_INTERVENTION), **V),
            *case("J4", P1, ("report", "2024-03-01", SCHOOL), ("report", "2024-06-01", SCHOOL),
                  ("initial_assessment", "2024-06-10", NO_INVESTIGATION), **V)]
    results = results_of(tmp_path, rows)
    assert at(results, "forhandsbedomning_inom_14_dagar", "2024") == (2, 2)
    assert at(results, "anmalningar_vantar_over_14_dagar", "2024-03")[0] == 0


def test_an_extension_holds_until_its_new_date(tmp_path):
    # Begun 1 January 2024 (four months end 1 May), extended on 20 April to 30 June, still open.
    rows = case("J5", P1, ("report", "2023-12-20", SCHOOL), ("initial_assessment", "2024-01-01", INVESTIGATE),
                ("investigation_start", "2024-01-01"),
                ("investigation_extended", "2024-04-20", {"extended_until": "2024-06-30"}), **V)
    results = results_of(tmp_path, rows)
    extended, without = ("utredningar_over_4_manader_med_forlangning", "utredningar_over_4_manader_utan_forlangning")
    assert (at(results, extended, "2024-06")[0], at(results, without, "2024-06")[0]) == (1, 0)
    assert (at(results, extended, "2024-07")[0], at(results, without, "2024-07")[0]) == (0, 1)


def test_an_investigation_begun_before_the_data_has_no_start_to_count_from(tmp_path):
    # J6 ends 15 March 2024 without a start in the data: not in any start cohort; J7 is.
    rows = [*case("J6", P1, ("investigation_end", "2024-03-15", NO_INTERVENTION), **V),
            *case("J7", P2, ("report", "2024-01-02", SCHOOL), ("initial_assessment", "2024-01-05", INVESTIGATE),
                  ("investigation_start", "2024-01-05"), ("investigation_end", "2024-02-15", NO_INTERVENTION), **V)]
    assert at(results_of(tmp_path, rows), "utredning_inom_4_manader_startkohort", "2024") == (1, 1)


def test_the_warnings_pair_as_the_indicators_do(tmp_path):
    rows = [*case("I1", P1, ("report", "2023-01-02", SCHOOL), **V),
            *case("I2", P2, ("intervention_start", "2024-01-10", {"intervention_id": "F1"}),
                  ("intervention_end", "2024-03-01"), **FOSTER),
            *case("I3", P3, ("intervention_end", "2023-03-01", {"intervention_id": "F9"}),
                  ("intervention_start", "2023-05-01", {"intervention_id": "F9"}), **FOSTER),
            # One start, two ends: the second end closes nothing.
            *case("I4", P4, ("intervention_start", "2024-02-01"), ("intervention_end", "2024-03-01"),
                  ("intervention_end", "2024-04-01"), **FOSTER),
            *case("I5", P5, ("investigation_end", "2023-02-01", NO_INTERVENTION), **V)]
    store = open_store(None)
    import_files(store, [write_csv(tmp_path / "handelser.csv", COLUMNS, rows)], b"k" * 32, extract_date=EXTRACT_DATE)
    warnings = set(store.raw.execute(
        "SELECT case_id, check_id, date FROM quality_warnings WHERE check_id <> 'insats_utan_beslut'").fetchall())
    store.close()
    assert warnings == {("I3", "insats_beslutsid_slut_fore_start", dt.date(2023, 3, 1)),
                        ("I3", "insats_avslutad_utan_start", dt.date(2023, 3, 1)),
                        ("I4", "insats_avslutad_utan_start", dt.date(2024, 4, 1)),
                        ("I5", "utredning_avslutad_utan_start", dt.date(2023, 2, 1))}


def test_a_wrong_extract_date_is_corrected_by_importing_again(tmp_path):
    rows = [ev("V1", P5, "report", "2024-01-15", municipality=VIMMERBY, source="polis"),
            ev("V1", P5, "initial_assessment", "2024-12-12", municipality=VIMMERBY, outcome="no_investigation")]
    events = write_csv(tmp_path / "vimmerby.csv", COLUMNS, rows)
    store = open_store(None)
    import_files(store, [events], b"k" * 32, extract_date=dt.date(2025, 3, 31))
    import_files(store, [events], b"k" * 32, extract_date=dt.date(2024, 12, 20))  # the right one
    assert store.extract_dates() == {(VIMMERBY, "events"): dt.date(2024, 12, 20)}
    results = compute(store)
    store.close()
    year = results[(results.indicator == "anmalningar_per_1000_barn") & (results.period == "2024")]
    assert set(year.complete) == {False}


def test_children_with_reserve_numbers_temporary_ids_and_unknown_birth_dates_are_counted(tmp_path):
    """A reserve number has its birth date; a samordningsnummer with unknown month and day (born
    2006) is a year older from July; a temporary id has no age: it counts where the definition
    takes unknown ages (reports about children 0–17) and among all reports, not among 18–20."""
    unknown_2006 = pnr("20060000", "122", coordination=True)
    rows = [ev("R1", "20100315-T123", "report", "2024-05-01", source="skola", **V),
            ev("R2", unknown_2006, "report", "2024-06-15", source="skola", **V),  # 17 in June
            ev("R3", unknown_2006, "report", "2024-07-01", source="skola", **V),  # 18 from July
            ev("R4", "TMP-1", "report", "2024-03-01", source="skola", temporary_number="ja", **V)]
    results = results_of(tmp_path, rows, columns=[*COLUMNS, "temporary_number"])
    assert at(results, "anmalningar_per_1000_barn", "2024")[0] == 3  # R1, R2, R4
    assert at(results, "anmalningar_per_1000_unga_18_20", "2024")[0] == 1  # R3
    assert at(results, "skyddsbedomning_samma_eller_nasta_dag", "2024")[1] == 4  # every report
