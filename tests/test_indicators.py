"""Every case-flow indicator checked against values worked out by hand on a small dataset.

The dataset is imported through the real import path; the expected values are computed
here from the dates in the data, not copied from the engine's output.
"""

from __future__ import annotations

import datetime as dt

import pytest
from helpers import EVENT_COLUMNS, pnr, write_csv

from insyn.indicators.definitions import library
from insyn.indicators.engine import compute
from insyn.ingest.load import import_files
from insyn.model.municipalities import reference_populations

GBG, VIMMERBY, HULTSFRED, VAXJO = "1480", "0884", "0860", "0780"
C1 = pnr("20120315", "123")  # boy
C2 = pnr("20080601", "242")  # girl
C3 = pnr("20060110", "351")  # boy
C4 = pnr("20150505", "462")  # girl
C5 = pnr("20100101", "582")  # girl, Vimmerby
C6 = pnr("20090909", "613")  # boy, Hultsfred
C7 = pnr("20110411", "724")  # girl, Hultsfred
C8 = pnr("20070707", "835")  # boy, Växjö
C9 = pnr("20130228", "946")  # girl, Växjö


def ev(case, person, event, date, municipality=GBG, **extra):
    unit = {"report": "Mottagning", "initial_assessment": "Mottagning"}.get(event, "Utredning")
    return dict(municipality=municipality, case_id=case, person_id=person, event=event,
                date=date, unit=unit, caseworker_id="S1", **extra)


EVENTS = [
    # K1: report 31 Oct, assessment exactly 14 days later, investigation, foster care, closing.
    ev("K1", C1, "report", "2023-10-31", source="skola"),
    ev("K1", C1, "initial_assessment", "2023-11-14", outcome="investigate"),
    ev("K1", C1, "investigation_start", "2023-11-14"),
    ev("K1", C1, "investigation_end", "2024-03-10", outcome="intervention"),
    ev("K1", C1, "intervention_start", "2024-03-20", intervention="familjehem"),
    ev("K1", C1, "intervention_end", "2024-09-30", intervention="familjehem"),
    ev("K1", C1, "case_closed", "2024-09-30"),
    # K2: two reports; the assessment pairs with the later one (15 days: too late);
    # the investigation ends one day after its four months, without intervention.
    ev("K2", C2, "report", "2023-02-01", source="polis"),
    ev("K2", C2, "report", "2023-02-10", source="skola"),
    ev("K2", C2, "initial_assessment", "2023-02-25", outcome="investigate"),
    ev("K2", C2, "investigation_start", "2023-02-25"),
    ev("K2", C2, "investigation_end", "2023-06-26", outcome="no_intervention"),
    # K3: assessed in 4 days, no investigation.
    ev("K3", C3, "report", "2023-05-01", source="halso_sjukvard"),
    ev("K3", C3, "initial_assessment", "2023-05-05", outcome="no_investigation"),
    # K4: investigation of 101 days, no intervention; never re-reported within a year.
    ev("K4", C4, "report", "2024-01-10", source="polis"),
    ev("K4", C4, "initial_assessment", "2024-01-20", outcome="investigate"),
    ev("K4", C4, "investigation_start", "2024-01-20"),
    ev("K4", C4, "investigation_end", "2024-04-30", outcome="no_intervention"),
    # K5: C2 is reported again within a year of her closing in K2.
    ev("K5", C2, "report", "2024-06-20", source="anhorig"),
    ev("K5", C2, "initial_assessment", "2024-06-21", outcome="no_investigation"),
    # K6: 31 October + four months is 29 February 2024 (leap year): in time. HVB, ongoing.
    ev("K6", C3, "report", "2023-10-20", source="polis"),
    ev("K6", C3, "initial_assessment", "2023-10-31", outcome="investigate"),
    ev("K6", C3, "investigation_start", "2023-10-31"),
    ev("K6", C3, "investigation_end", "2024-02-29", outcome="intervention"),
    ev("K6", C3, "intervention_start", "2024-03-01", intervention="hvb"),
    # K7: C1 re-reported after his foster care ended; K8 makes the data reach 2025-12-31.
    ev("K7", C1, "report", "2025-02-01", source="skola"),
    ev("K7", C1, "initial_assessment", "2025-02-05", outcome="no_investigation"),
    ev("K8", C4, "report", "2025-12-31", source="ovrig"),
    # Vimmerby: one late assessment (19 days).
    ev("V1", C5, "report", "2024-03-01", municipality=VIMMERBY, source="forskola"),
    ev("V1", C5, "initial_assessment", "2024-03-20", municipality=VIMMERBY, outcome="no_investigation"),
    # Hultsfred: two interventions at once; the first to end is no closing, the second is
    # (1 Sep 2023). Reported again 15 Jul 2024: within twelve months of the closing, though
    # not of the first intervention's end. H2 makes the data reach 2024-12-31.
    ev("H1", C6, "report", "2023-01-05", municipality=HULTSFRED, source="skola"),
    ev("H1", C6, "initial_assessment", "2023-01-10", municipality=HULTSFRED, outcome="investigate"),
    ev("H1", C6, "investigation_start", "2023-01-10", municipality=HULTSFRED),
    ev("H1", C6, "investigation_end", "2023-03-01", municipality=HULTSFRED, outcome="intervention"),
    ev("H1", C6, "intervention_start", "2023-03-05", municipality=HULTSFRED, intervention="oppenvard"),
    ev("H1", C6, "intervention_start", "2023-03-05", municipality=HULTSFRED, intervention="kontaktperson"),
    ev("H1", C6, "intervention_end", "2023-06-01", municipality=HULTSFRED, intervention="oppenvard"),
    ev("H1", C6, "intervention_end", "2023-09-01", municipality=HULTSFRED, intervention="kontaktperson"),
    ev("H3", C6, "report", "2024-07-15", municipality=HULTSFRED, source="polis"),
    ev("H2", C7, "report", "2024-12-31", municipality=HULTSFRED, source="forskola"),
    # Växjö: a one-day HVB placement (start and end the same day) and a foster home renewed
    # on the day it ended (the end closes the first spell; the new one goes on).
    *[ev("X1", C8, e, d, municipality=VAXJO, **x) for e, d, x in [
        ("report", "2023-02-01", {"source": "polis"}),
        ("initial_assessment", "2023-02-05", {"outcome": "investigate"}),
        ("investigation_start", "2023-02-05", {}),
        ("investigation_end", "2023-04-01", {"outcome": "intervention"}),
        ("intervention_start", "2023-04-03", {"intervention": "hvb"}),
        ("intervention_end", "2023-04-03", {"intervention": "hvb"})]],
    *[ev("X2", C9, e, d, municipality=VAXJO, **x) for e, d, x in [
        ("report", "2023-03-01", {"source": "skola"}),
        ("initial_assessment", "2023-03-02", {"outcome": "investigate"}),
        ("investigation_start", "2023-03-02", {}),
        ("investigation_end", "2023-04-28", {"outcome": "intervention"}),
        ("intervention_start", "2023-05-01", {"intervention": "familjehem"}),
        ("intervention_end", "2023-08-01", {"intervention": "familjehem"}),
        ("intervention_start", "2023-08-01", {"intervention": "familjehem"})]],
    ev("X3", C9, "report", "2024-12-31", municipality=VAXJO, source="skola"),
]

# Göteborg's own population: 2023 in bands, 2024 in single years (60 per age 0–20).
POPULATION_2023 = {(0, 17): 1000, (18, 20): 200, (21, 150): 5000}
POPULATION_2024_PER_AGE = 60
VIMMERBY_PER_AGE = 50


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    from insyn.store import open_store

    folder = tmp_path_factory.mktemp("hand")
    events = write_csv(folder / "events.csv", EVENT_COLUMNS, EVENTS)
    population_rows = [dict(municipality=GBG, year=2023, age_from=lo, age_to=hi, population=n)
                       for (lo, hi), n in POPULATION_2023.items()]
    population_rows += [dict(municipality=GBG, year=2024, age_from=a, age_to=a,
                             population=POPULATION_2024_PER_AGE) for a in range(21)]
    # Vimmerby imports only ages 0–17: its 0–20 must still come from the shipped figures.
    population_rows += [dict(municipality=VIMMERBY, year=2024, age_from=a, age_to=a,
                             population=VIMMERBY_PER_AGE) for a in range(18)]
    populations = write_csv(folder / "befolkning.csv",
                            ["municipality", "year", "age_from", "age_to", "population"],
                            population_rows)
    store = open_store(None)
    imported = import_files(store, [events, populations], b"k" * 32)
    assert all(not f.validated.problems for f in imported.files)
    frame = compute(store, quarters=True)
    store.close()
    return frame


def value(results, indicator, period, municipality=GBG, **dims):
    rows = results[(results.indicator == indicator) & (results.municipality == municipality)
                   & (results.period == period)]
    for dim in ("unit", "sex", "age_group", "category"):
        rows = rows[rows[dim] == dims[dim]] if dim in dims else rows[rows[dim].isna()]
    assert len(rows) == 1, f"{indicator} {period} {dims}: {len(rows)} rows"
    row = rows.iloc[0]
    return row.numerator, row.denominator, row.value


def days(a: str, b: str) -> int:
    return (dt.date.fromisoformat(b) - dt.date.fromisoformat(a)).days


def test_every_case_flow_indicator_is_covered_here(results):
    assert {d.id for d in library() if d.area == "arendeflode"} <= set(results.indicator)


def test_periods_the_data_do_not_reach_are_incomplete(results):
    def complete(municipality, period):
        rows = results[(results.municipality == municipality) & (results.period == period)]
        return set(rows.complete)

    assert complete(GBG, "2025") == {True}  # data to 31 December
    assert complete(HULTSFRED, "2024") == {True}
    assert complete(VIMMERBY, "2024") == {False}  # Vimmerby's data end 20 March 2024
    assert complete(VIMMERBY, "2024-Q1") == {False}  # 11 days short of the quarter's end


def test_initial_assessment_within_14_days(results):
    # 2023: K1 (14 days), K3 (4), K6 (11) in time; K2 paired with its later report: 15 days.
    assert days("2023-02-10", "2023-02-25") == 15
    assert value(results, "forhandsbedomning_inom_14_dagar", "2023") == (3, 4, 75.0)
    assert value(results, "forhandsbedomning_inom_14_dagar", "2024") == (2, 2, 100.0)
    assert value(results, "forhandsbedomning_inom_14_dagar", "2024", VIMMERBY) == (0, 1, 0.0)
    # Boys (C1, C3) were all in time; the girl's (C2) was late.
    assert value(results, "forhandsbedomning_inom_14_dagar", "2023", sex="male") == (3, 3, 100.0)
    assert value(results, "forhandsbedomning_inom_14_dagar", "2023", sex="female") == (0, 1, 0.0)
    # Ages at the assessment: C1 11 years; C2 14, C3 17 (twice).
    assert value(results, "forhandsbedomning_inom_14_dagar", "2023", age_group="0-12") == (1, 1, 100.0)
    n, d, v = value(results, "forhandsbedomning_inom_14_dagar", "2023", age_group="13-17")
    assert (n, d) == (2, 3) and v == pytest.approx(200 / 3)
    assert value(results, "forhandsbedomning_inom_14_dagar", "2023", unit="Mottagning") == (3, 4, 75.0)
    # Quarters: Q4 2023 holds K1 and K6, both in time.
    assert value(results, "forhandsbedomning_inom_14_dagar", "2023-Q4") == (2, 2, 100.0)


def test_share_of_assessments_leading_to_investigation(results):
    assert value(results, "andel_forhandsbedomningar_till_utredning", "2023") == (3, 4, 75.0)
    assert value(results, "andel_forhandsbedomningar_till_utredning", "2024") == (1, 2, 50.0)
    assert value(results, "andel_forhandsbedomningar_till_utredning", "2025") == (0, 1, 0.0)


def test_investigation_within_four_months(results):
    # K2: 25 Feb + 4 months = 25 Jun; ended 26 Jun: late.
    assert value(results, "utredning_inom_4_manader", "2023") == (0, 1, 0.0)
    # K1 (14 Nov → 10 Mar), K4 (20 Jan → 30 Apr), K6 (31 Oct → 29 Feb, the clamped day).
    assert value(results, "utredning_inom_4_manader", "2024") == (3, 3, 100.0)


def test_investigation_time_median(results):
    assert value(results, "utredningstid_median", "2023")[1:] == (1, days("2023-02-25", "2023-06-26"))
    durations = sorted([days("2023-11-14", "2024-03-10"), days("2024-01-20", "2024-04-30"),
                        days("2023-10-31", "2024-02-29")])
    numerator, denominator, median = value(results, "utredningstid_median", "2024")
    assert (denominator, median) == (3, durations[1])
    assert numerator != numerator  # empty (NaN): a median has no numerator


def test_reports_per_1000_children(results):
    # Own population: 2023 from bands, 2024 from single years, 2025 falls back to 2024.
    assert value(results, "anmalningar_per_1000_barn", "2023") == (5, 1000, 5.0)
    under_18_2024 = 18 * POPULATION_2024_PER_AGE
    expected = pytest.approx((2, under_18_2024, 2000 / under_18_2024))
    assert value(results, "anmalningar_per_1000_barn", "2024") == expected
    assert value(results, "anmalningar_per_1000_barn", "2025") == expected
    # Vimmerby imported its own 0–17 for 2024.
    vimmerby = 18 * VIMMERBY_PER_AGE
    expected_vimmerby = pytest.approx((1, vimmerby, 1000 / vimmerby))
    assert value(results, "anmalningar_per_1000_barn", "2024", VIMMERBY) == expected_vimmerby
    # Växjö imported nothing: the shipped reference is used.
    ref = reference_populations()
    # 2023 is divided by the nearest shipped year, 2024.
    shipped = ref[(ref.municipality == VAXJO) & (ref.year == 2024) & (ref.age_to <= 17)].population.sum()
    assert value(results, "anmalningar_per_1000_barn", "2023", VAXJO) == pytest.approx((2, shipped, 2000 / shipped))


def test_children_in_out_of_home_care_per_1000(results):
    under_21_2024 = 21 * POPULATION_2024_PER_AGE
    # 2024: C1 in foster care (Mar–Sep) and C3 in HVB (from March, ongoing).
    per_1000 = 1000 / under_21_2024
    assert value(results, "barn_med_heldygnsinsats_per_1000", "2024") == pytest.approx((2, under_21_2024, 2 * per_1000))
    assert value(results, "barn_med_heldygnsinsats_per_1000", "2025") == pytest.approx((1, under_21_2024, per_1000))
    assert value(results, "barn_med_heldygnsinsats_per_1000", "2023") == (0, 1200, 0.0)
    # Vimmerby's import covers only 0–17, so 0–20 comes from the shipped figures, per range.
    ref = reference_populations()
    shipped = ref[(ref.municipality == VIMMERBY) & (ref.year == 2024) & (ref.age_to <= 20)].population.sum()
    assert value(results, "barn_med_heldygnsinsats_per_1000", "2024", VIMMERBY) == (0, shipped, 0.0)
    # Q4 2024: only C3 (C1's foster care ended 30 September).
    assert value(results, "barn_med_heldygnsinsats_per_1000", "2024-Q4")[0] == 1


def test_one_day_placement_ends_and_a_renewal_goes_on(results):
    assert value(results, "barn_med_heldygnsinsats_per_1000", "2023", VAXJO)[0] == 2
    # 2024: only C9's renewed foster home; C8's one-day HVB ended the day it began.
    assert value(results, "barn_med_heldygnsinsats_per_1000", "2024", VAXJO)[0] == 1
    # C8's one-day placement is a closing in 2023; C9's renewal is not (it goes on).
    assert value(results, "aterkommande_inom_12_manader", "2023", VAXJO) == (0, 1, 0.0)


def test_re_referral_within_12_months(results):
    # 2023: C2's investigation closed 26 Jun 2023 without intervention; reported 20 Jun 2024.
    assert value(results, "aterkommande_inom_12_manader", "2023") == (1, 1, 100.0)
    # 2024: C4 closed 30 Apr (next report Dec 2025: too late); C1's foster care ended 30 Sep
    # with nothing else ongoing and he was reported 1 Feb 2025. C3's HVB is still ongoing.
    assert value(results, "aterkommande_inom_12_manader", "2024") == (1, 2, 50.0)
    # Hultsfred 2023: the child's closing is the end of his last intervention, not the first.
    assert value(results, "aterkommande_inom_12_manader", "2023", HULTSFRED) == (1, 1, 100.0)
    # 2025: the data do not reach twelve months past the period's end.
    rows = results[(results.indicator == "aterkommande_inom_12_manader") & (results.period == "2025")]
    assert rows.empty


def test_reports_by_source(results):
    # 2023: skola K1, K2; polis K2, K6; hälso- och sjukvård K3.
    assert value(results, "anmalningar_per_kalla", "2023", category="skola") == (2, 5, 40.0)
    assert value(results, "anmalningar_per_kalla", "2023", category="polis") == (2, 5, 40.0)
    assert value(results, "anmalningar_per_kalla", "2023", category="halso_sjukvard") == (1, 5, 20.0)
    boys_by_police = value(results, "anmalningar_per_kalla", "2023", category="polis", sex="male")
    assert boys_by_police == (1, 3, pytest.approx(100 / 3))
