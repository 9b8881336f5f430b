"""Collaboration around the child (samverkan.yaml, docs/collaboration.md), worked by hand: SIP
(samordnad individuell plan) for placed children and children with an intervention, the SIP
meetings and the organisations taking part, police assistance (handräckning) by legal basis,
outcome and days, and reports from school and preschool per 1 000 children of their ages. Bad
SIP and assistance rows are quarantined with file, row and column; the Swedish profile reads
the organisations as an export writes them; the native import agrees with the reference."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from helpers import EVENT_COLUMNS, computed_from_events, pnr, result_row, write_csv
from test_disclosure import RULES, ranges_from_shown
from test_native_import import assert_same

from insyn.disclosure.rules import load_rules
from insyn.disclosure.status import is_hidden
from insyn.disclosure.suppression import Linked, protect
from insyn.indicators.definitions import by_id
from insyn.indicators.engine import RESULT_COLUMNS
from insyn.ingest.load import import_files
from insyn.ingest.profiles import load_profile
from insyn.store import open_store

GBG = "1480"
COLUMNS = [*EVENT_COLUMNS, "intervention_id", "organisations", "legal_basis"]
EXTRACT_DATE = dt.date(2025, 12, 31)
KEY = b"k" * 32

P1 = pnr("20150301", "123")  # boy, 9 in 2024
P2 = pnr("20100601", "242")  # girl
P3 = pnr("20080815", "351")  # boy, 15 in 2024
P4 = pnr("20060615", "462")  # girl: 18 from June 2024
P5 = pnr("20120110", "573")  # boy
P6 = pnr("20210505", "684")  # girl, 3 in 2024
P7 = pnr("20170101", "795")  # boy, 7 in 2024
P9 = pnr("20110909", "927")  # boy
P11 = pnr("20140707", "246")  # girl
P10 = pnr("20160202", "138")  # girl, 8 in 2024


def ev(case, person, event, date, **extra):
    return dict(municipality=GBG, case_id=case, person_id=person, event=event, date=date,
                unit="Barn och unga", caseworker_id="S1", **extra)


def placed(case, person, form, start, decision, end=None):
    rows = [ev(case, person, "intervention_start", start, intervention=form, intervention_id=decision)]
    if end:
        rows.append(ev(case, person, "intervention_end", end, intervention=form, intervention_id=decision))
    return rows


EVENTS = [
    # C1: a boy in a foster home from March 2024. A SIP initiated on 10 March, drawn up on 25
    # March with three organisations (school, BUP, the region's health care; written with
    # spaces and in another order), followed up on 20 September with two.
    ev("C1", P1, "report", "2024-02-01", source="skola"),
    *placed("C1", P1, "familjehem", "2024-03-01", "B1"),
    ev("C1", P1, "sip_initiated", "2024-03-10"),
    ev("C1", P1, "sip_held", "2024-03-25", organisations="skola; region_halso_sjukvard;bup"),
    ev("C1", P1, "sip_followed_up", "2024-09-20", organisations="skola,bup"),
    # C2: a girl in a HVB from 1 May 2024, placed with the police's help (requested under LVU on
    # 28 April, given on 30 April: 2 days). A SIP initiated on 20 November is never drawn up.
    ev("C2", P2, "police_assistance_requested", "2024-04-28", legal_basis="lvu"),
    ev("C2", P2, "police_assistance_answered", "2024-04-30", outcome="granted"),
    *placed("C2", P2, "hvb", "2024-05-01", "B2"),
    ev("C2", P2, "sip_initiated", "2024-11-20"),
    # C3: a boy with öppenvård from February 2024; a SIP initiated on 20 May, drawn up with school,
    # the region's health care and police on 1 June (12 days). A request for assistance under another law on 1 August is
    # refused the next day.
    ev("C3", P3, "report", "2024-01-10", source="skola"),
    *placed("C3", P3, "oppenvard", "2024-02-01", "B3"),
    ev("C3", P3, "sip_initiated", "2024-05-20"),
    ev("C3", P3, "sip_held", "2024-06-01", organisations="polis;region_halso_sjukvard;skola"),
    ev("C3", P3, "police_assistance_requested", "2024-08-01", legal_basis="annan"),
    ev("C3", P3, "police_assistance_answered", "2024-08-02", outcome="refused"),
    # C4: a boy at SiS from 1 June to 31 October 2024 (ongoing at the end of the third quarter,
    # not of the year), with a SIP drawn up with BUP on 1 July. Assistance requested on 28 May,
    # given on 1 June (4 days); a second request on 20 December is not yet answered.
    ev("C4", P5, "police_assistance_requested", "2024-05-28", legal_basis="lvu"),
    ev("C4", P5, "police_assistance_answered", "2024-06-01", outcome="granted"),
    *placed("C4", P5, "sis", "2024-06-01", "B4", end="2024-10-31"),
    ev("C4", P5, "sip_held", "2024-07-01", organisations="bup"),
    ev("C4", P5, "police_assistance_requested", "2024-12-20", legal_basis="lvu"),
    # C9: a boy in a jourhem from 15 January 2024 who moves to a foster home on 1 March; his SIP,
    # drawn up on 1 February in the jourhem, still counts at the end of 2024 (within twelve
    # months). It is followed up on the last day of 2025, which counts for 2025.
    *placed("C9", P9, "jourhem", "2024-01-15", "B9a", end="2024-03-01"),
    *placed("C9", P9, "familjehem", "2024-03-01", "B9b"),
    ev("C9", P9, "sip_held", "2024-02-01", organisations="skola;region_halso_sjukvard"),
    ev("C9", P9, "sip_followed_up", "2025-12-31", organisations="skola;region_halso_sjukvard"),
    # C11 (2025): two requests, on 1 and 3 February, answered once on 4 February: the answer
    # pairs with the earliest (3 days), and the second request is not paired again. An answer
    # on 1 March without a request is not counted (a data-quality warning).
    ev("C11", P11, "police_assistance_requested", "2025-02-01", legal_basis="lvu"),
    ev("C11", P11, "police_assistance_requested", "2025-02-03", legal_basis="lvu"),
    ev("C11", P11, "police_assistance_answered", "2025-02-04", outcome="granted"),
    ev("C12", P11, "police_assistance_answered", "2025-03-01", outcome="granted"),
    # Reports: from school about a girl of 8 (counted) and a young woman of 18 (not a child of
    # school age 6–17); from preschool about a girl of 3 (counted) and a boy of 7 (not 1–5).
    ev("C5", P10, "report", "2024-09-01", source="skola"),
    ev("C8", P4, "report", "2024-10-01", source="skola"),
    ev("C6", P6, "report", "2024-03-03", source="forskola"),
    ev("C7", P7, "report", "2024-04-04", source="forskola"),
]
POPULATION_PER_AGE = 100


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return computed_from_events(tmp_path_factory.mktemp("samverkan"), COLUMNS, EVENTS, GBG, (2024, 2025),
                                POPULATION_PER_AGE, EXTRACT_DATE)


def value(results, indicator, period="2024", **dims):
    r = result_row(results, GBG, indicator, period, **dims)
    return r.numerator, r.denominator, r.value


def test_placed_children_with_a_sip_meeting_within_twelve_months(results):
    # End of 2024: C1 (drawn up in March), C9 (drawn up in the jourhem before his move) and C2
    # (only initiated): 2 of 3. End of the third quarter: C4 at SiS too, with its SIP of 1 July.
    assert value(results, "andel_placerade_barn_med_sip")[:2] == (2, 3)
    assert value(results, "andel_placerade_barn_med_sip", "2024-Q3")[:2] == (3, 4)
    assert value(results, "andel_placerade_barn_med_sip", "2024-Q1") == (2, 2, 100.0)  # C1, C9
    # End of 2025: C1's last meeting (September 2024) is more than twelve months back; C9's
    # follow-up on 31 December counts on that day.
    assert value(results, "andel_placerade_barn_med_sip", "2025")[:2] == (1, 3)


def test_children_with_any_intervention_and_a_sip(results):
    # End of 2024: C1, C3 (öppenvård, drawn up in June) and C9 of C1, C2, C3, C9.
    assert value(results, "andel_barn_med_insats_med_sip")[:2] == (3, 4)


def test_a_sip_drawn_up_within_30_days_of_its_initiative(results):
    # C1 15 days, C3 12 days, C2 never: 2 of 3.
    assert value(results, "sip_upprattad_inom_30_dagar")[:2] == (2, 3)


def test_sip_meetings_per_child(results):
    # C1 two (drawn up, followed up), C3, C4 and C9 one each: five meetings of four children.
    assert value(results, "sip_moten_per_barn") == (5, 4, 1.25)


def test_the_organisations_at_the_meetings_count_in_each_of_their_categories(results):
    # Five meetings: school at four (C1 twice, C3, C9), BUP at three (C1 twice, C4), the region at
    # three (C1's first, C3, C9), police at C3's; the shares do not add up to 100 %.
    expected = {"skola": 4, "bup": 3, "region_halso_sjukvard": 3, "polis": 1}
    for organisation, meetings in expected.items():
        assert value(results, "sip_organisationer", category=organisation) == (meetings, 5, meetings * 20.0)
    # No meeting with preschool: no row here (the published grid shows it as 0).
    assert results[(results.indicator == "sip_organisationer") & (results.category == "forskola")].empty


def test_police_assistance_by_legal_basis_outcome_and_days(results):
    # Four requests: three under LVU (C2, C4 twice), one under another law (C3).
    assert value(results, "handrackning_per_lagrum", category="lvu") == (3, 4, 75.0)
    assert value(results, "handrackning_per_lagrum", category="annan") == (1, 4, 25.0)
    # Three answers in 2024: given to C2 and C4, refused to C3; C4's December request waits.
    assert value(results, "handrackning_per_utfall", category="granted")[:2] == (2, 3)
    assert value(results, "handrackning_per_utfall", category="refused")[:2] == (1, 3)
    # Days to the help that came: 2 (C2) and 4 (C4); the refusal is not a day help came.
    assert value(results, "handrackning_dagar_median")[1:] == (2, 3.0)
    # 2025: C11's one answer to its first request; C12's answer without a request is not one.
    assert value(results, "handrackning_per_utfall", "2025", category="granted")[:2] == (1, 1)
    assert value(results, "handrackning_dagar_median", "2025")[1:] == (1, 3.0)


def test_reports_from_school_and_preschool_per_1000_children_of_their_ages(results):
    # School: C1 (9), C3 (15), C5 (8), not C8 (18): 3 per 1 200 residents 6–17.
    assert value(results, "anmalningar_fran_skola_per_1000") == (3, 1200, 2.5)
    # Preschool: C6 (3), not C7 (7): 1 per 500 residents 1–5.
    assert value(results, "anmalningar_fran_forskola_per_1000") == (1, 500, 2.0)
    assert value(results, "anmalningar_fran_skola_per_1000", "2025")[0] == 0


def test_overlapping_categories_are_in_no_equation_with_a_total(results):
    """The organisations' meetings add up to more than the meetings: the disclosure control must
    not take them for parts of a total (it would think the true figures impossible)."""
    definitions = by_id()
    rows = results[results.indicator.isin(["sip_organisationer", "sip_moten_per_barn"])].reset_index(drop=True)
    linked = Linked(rows, {i: definitions[i] for i in rows.indicator.unique()}, load_rules())
    organisation_cells = set(linked.shown[(linked.shown.indicator == "sip_organisationer")
                                          & (linked.shown.side == "numerator")].cell)
    category = linked.cells.category.to_numpy()
    touching = [e for e in linked.tables.equations if organisation_cells & {e.total, *e.parts}]
    assert touching  # the quarters of an organisation's year are its parts: that holds
    for equation in touching:
        assert {equation.total, *equation.parts} <= organisation_cells
        assert {category[c] for c in equation.parts} == {category[equation.total]}


def test_reports_from_school_beside_the_reports_per_source_give_no_hidden_source_away():
    """A reviewer's leak: in one year 185 reports, 3 of them from the child itself (hidden) and 12
    from school, all about children 6–17. Hiding school with the child's own leaves the school
    rate's 12 shown: school ≥ 12, and school + the child = 185 − the others = 15, so the child's
    count would be at most 3. The protection must know that the rate counts school's reports."""
    sources = {"polis": 40, "skola": 12, "forskola": 20, "halso_sjukvard": 30, "socialtjanst": 25,
               "anhorig": 15, "barnet_sjalv": 3, "annan_myndighet": 22, "ovrig": 18}
    total = sum(sources.values())

    def row(indicator, numerator, denominator, category=None):
        return {**dict.fromkeys(RESULT_COLUMNS), "indicator": indicator, "municipality": "0884",
                "period": "2024", "period_type": "year", "category": category, "numerator": numerator,
                "denominator": denominator, "value": numerator / denominator * 100, "complete": True}

    frame = pd.DataFrame([*(row("anmalningar_per_kalla", n, total, source) for source, n in sources.items()),
                          row("anmalningar_fran_skola_per_1000", 12, 1200)])
    published = protect(frame, RULES)
    linked = Linked(frame, {d: by_id()[d] for d in frame.indicator.unique()}, RULES)
    cell = [cells[0] for cells in linked.tables.rows]  # each row's numerator
    child, school, rate = cell[6], cell[1], cell[9]
    total_cell = linked.tables.rows[0][1]
    shown = np.zeros(len(linked.tables.values), dtype=bool)
    for r, status in enumerate(published.status):
        if not is_hidden(status):
            shown[list(linked.tables.rows[r])] = True
    # What a reader knows: the sources add up to the total, and the rate counts some of school's.
    equations = [(total_cell, tuple(cell[:9]), 0.0)]
    low, high = ranges_from_shown(linked.tables.values, shown, equations, [(rate, school)], [child])[child]
    assert is_hidden(published.status[6]) and high - low >= RULES.width


def test_a_category_count_with_a_condition_beside_the_same_count_uncategorised_is_protected():
    """A reviewer's crash: reports about children 0–17 per source, beside reports about children
    0–17 per 1 000 (the same count without a category). The total's row is no category's count;
    taken for one, it was a cell at most itself, which the solver refused."""
    per_source = by_id()["anmalningar_per_kalla"].model_copy(
        update={"id": "anmalningar_0_17_per_kalla", "numerator": by_id()["anmalningar_per_1000_barn"].numerator,
                "denominator": by_id()["anmalningar_per_1000_barn"].numerator})
    sources = {"polis": 2, "skola": 1}  # all hidden: the total is in the attacker's model
    total = sum(sources.values())

    def row(indicator, numerator, denominator, category=None):
        return {**dict.fromkeys(RESULT_COLUMNS), "indicator": indicator, "municipality": "0884",
                "period": "2024", "period_type": "year", "category": category, "numerator": numerator,
                "denominator": denominator, "value": numerator / denominator * 100, "complete": True}

    frame = pd.DataFrame([*(row(per_source.id, n, total, source) for source, n in sources.items()),
                          row("anmalningar_per_1000_barn", total, 1800)])
    published = protect(frame, RULES, [per_source, by_id()["anmalningar_per_1000_barn"]])
    assert published.status.map(is_hidden).all()


def test_the_days_to_assistance_count_the_same_answers_as_the_granted_category():
    """The median's n (answers granted) is the granted category's count: one number, each at
    most the other, so hiding one and showing the other is seen for what it is."""
    def row(indicator, numerator, denominator, category=None, value=None):
        return {**dict.fromkeys(RESULT_COLUMNS), "indicator": indicator, "municipality": "0884",
                "period": "2024", "period_type": "year", "category": category, "numerator": numerator,
                "denominator": denominator, "value": value, "complete": True}

    frame = pd.DataFrame([row("handrackning_per_utfall", 7, 9, "granted", 77.8),
                          row("handrackning_per_utfall", 2, 9, "refused", 22.2),
                          row("handrackning_dagar_median", None, 7, value=1.0)])
    linked = Linked(frame, {d: by_id()[d] for d in frame.indicator.unique()}, RULES)
    granted, median_n = linked.tables.rows[0][0], linked.tables.rows[2][0]
    assert {(granted, median_n), (median_n, granted)} <= set(linked.tables.inequalities)


def bad_rows(tmp_path, rows):
    store = open_store(None)
    try:
        imported = import_files(store, [write_csv(tmp_path / "handelser.csv", COLUMNS, rows)], KEY,
                                extract_date=EXTRACT_DATE)
        messages = imported.files[0].validated.messages()
        stored = store.raw.execute("SELECT count(*) FROM events").fetchall()[0][0]
        return messages, stored
    finally:
        store.close()


def test_bad_sip_and_assistance_rows_are_quarantined_with_row_and_column(tmp_path):
    rows = [ev("X1", P1, "report", "2024-02-01", source="skola"),
            ev("X1", P1, "sip_held", "2024-03-01", organisations="skola;fritids"),
            ev("X1", P1, "police_assistance_requested", "2024-04-01"),
            ev("X1", P1, "police_assistance_answered", "2024-04-02", outcome="investigate")]
    messages, stored = bad_rows(tmp_path, rows)
    text = "\n".join(messages)
    assert "handelser.csv, rad 3, kolumn 'organisations': okänd kod 'fritids'" in text
    assert "handelser.csv, rad 4, kolumn 'legal_basis': värde saknas (krävs för police_assistance_requested)" in text
    assert "handelser.csv, rad 5, kolumn 'outcome': okänt beslut för police_assistance_answered" in text
    assert P1 not in text and P1.replace("-", "") not in text
    assert stored == 1  # the report alone


def test_an_answer_without_a_request_is_a_data_quality_warning(tmp_path):
    store = open_store(None)
    try:
        rows = [ev("C12", P11, "police_assistance_answered", "2025-03-01", outcome="granted")]
        import_files(store, [write_csv(tmp_path / "h.csv", COLUMNS, rows)], KEY, extract_date=EXTRACT_DATE)
        warnings = store.raw.execute("SELECT check_id, message FROM quality_warnings").fetchall()
    finally:
        store.close()
    assert warnings == [("handrackning_svar_utan_begaran",
                         "Svar på begäran om polishandräckning utan föregående begäran (räknas inte)")]


def test_strict_import_of_one_bad_sip_row_changes_nothing(tmp_path):
    from insyn.ingest.load import ImportRejected
    store = open_store(None)
    try:
        rows = [ev("X1", P1, "sip_held", "2024-03-01", organisations="skola;fritids")]
        with pytest.raises(ImportRejected):
            import_files(store, [write_csv(tmp_path / "h.csv", COLUMNS, rows)], KEY, strict=True,
                         extract_date=EXTRACT_DATE)
        assert store.raw.execute("SELECT count(*) FROM events").fetchall()[0][0] == 0
    finally:
        store.close()


def test_the_swedish_profile_reads_organisations_as_an_export_writes_them(tmp_path):
    headers = ["Kommun", "Ärende-ID", "Personnummer", "Händelse", "Datum", "Deltagande organisationer",
               "Lagrum", "Beslut"]
    rows = [{"Kommun": "Göteborg", "Ärende-ID": "S1", "Personnummer": P1, "Händelse": "SIP upprättad",
             "Datum": "2024-03-01", "Deltagande organisationer": "Skola, BUP; Regionen"},
            {"Kommun": "Göteborg", "Ärende-ID": "S1", "Personnummer": P1, "Händelse": "Begäran om handräckning",
             "Datum": "2024-04-01", "Lagrum": "LVU"},
            {"Kommun": "Göteborg", "Ärende-ID": "S1", "Personnummer": P1, "Händelse": "Svar om handräckning",
             "Datum": "2024-04-03", "Beslut": "Avslagen"}]
    path = write_csv(tmp_path / "export.csv", headers, rows)
    store = open_store(None)
    try:
        imported = import_files(store, [path], KEY, profile=load_profile("svenska"), extract_date=EXTRACT_DATE)
        assert not imported.files[0].validated.problems
        stored = store.raw.execute(
            "SELECT event, organisations, legal_basis, outcome FROM events ORDER BY date").fetchall()
    finally:
        store.close()
    assert stored == [("sip_held", "bup;region_halso_sjukvard;skola", None, None),
                      ("police_assistance_requested", None, "lvu", None),
                      ("police_assistance_answered", None, None, "refused")]


def test_a_store_made_before_collaboration_gets_its_columns_when_opened(tmp_path):
    store = open_store(tmp_path / "insyn.duckdb")
    store.raw.execute("ALTER TABLE events DROP COLUMN organisations")
    store.raw.execute("ALTER TABLE events DROP COLUMN legal_basis")
    store.close()
    store = open_store(tmp_path / "insyn.duckdb")
    try:
        import_files(store, [write_csv(tmp_path / "h.csv", COLUMNS, EVENTS)], KEY, extract_date=EXTRACT_DATE)
        three = "SELECT count(*) FROM events WHERE organisations = 'bup;region_halso_sjukvard;skola'"
        assert store.raw.execute(three).fetchall() == [(1,)]  # C1's meeting with three organisations
    finally:
        store.close()


def test_the_native_import_reads_sip_and_assistance_rows_as_the_reference_does(tmp_path):
    rows = [*EVENTS, ev("X1", P1, "sip_held", "2024-03-01", organisations="skola;fritids"),
            ev("X1", P1, "sip_held", "2024-03-02", organisations=" BUP ,skola,bup"),
            ev("X1", P1, "police_assistance_requested", "2024-04-01")]
    assert_same([write_csv(tmp_path / "handelser.csv", COLUMNS, rows)], extract_date=EXTRACT_DATE)
