"""The cost of care by hand (docs/costs.md): care days, the price list, the cost ledger.

One child's care spans two years and two forms: a jourhem from 1 November 2024 to 15 December
2024, then an HVB (Solgården) to 1 February 2025, whose price changes on 15 January 2025 and
whose one invoice runs over the new year. Another child is in a familjehem from 1 March 2025,
still at the extract date; a third has öppenvård in 2025. Imported through the real import
path with an extract date; bad cost files are quarantined or, with --strict, refused whole.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from helpers import EVENT_COLUMNS, pnr, result_value, write_csv

from insyn.indicators.definitions import library
from insyn.indicators.engine import compute
from insyn.ingest.load import ImportRejected, import_files
from insyn.store import open_store

pytestmark = pytest.mark.slow  # docs/testing.md

GBG = "1480"
EXTRACT_DATE = dt.date(2025, 12, 31)
KEY = b"k" * 32
A, B, C = pnr("20100601", "242"), pnr("20120110", "573"), pnr("20150301", "123")
PRICE_COLUMNS = ["municipality", "intervention", "provider", "price_per_day", "start_date", "end_date"]
COST_COLUMNS = ["municipality", "person_id", "intervention", "provider", "start_date", "end_date", "amount"]


def ev(case, person, event, date, **extra):
    return dict(municipality=GBG, case_id=case, person_id=person, event=event, date=date,
                unit="Barn och unga", caseworker_id="S1", **extra)


def placement(case, person, form, start, end, decision, provider=""):
    rows = [ev(case, person, "intervention_start", start, intervention=form, intervention_id=decision,
               provider=provider)]
    if end:
        rows.append(ev(case, person, "intervention_end", end, intervention=form, intervention_id=decision,
                       provider=provider))
    return rows


EVENTS = [
    ev("C1", A, "report", "2024-10-01", source="skola"),
    *placement("C1", A, "jourhem", "2024-11-01", "2024-12-15", "J1"),
    *placement("C1", A, "hvb", "2024-12-15", "2025-02-01", "H1", provider="Solgården"),
    ev("C2", B, "report", "2025-02-01", source="polis"),
    *placement("C2", B, "familjehem", "2025-03-01", None, "F1"),
    ev("C3", C, "report", "2024-12-01", source="forskola"),
    *placement("C3", C, "oppenvard", "2025-01-01", "2025-06-30", "O1"),
]
PRICES = [
    dict(municipality=GBG, intervention="jourhem", provider="", price_per_day="1500", start_date="2024-01-01",
         end_date=""),
    dict(municipality=GBG, intervention="hvb", provider="Solgården", price_per_day="4000",
         start_date="2024-01-01", end_date="2025-01-14"),
    dict(municipality=GBG, intervention="hvb", provider="Solgården", price_per_day="4400",
         start_date="2025-01-15", end_date=""),
    # Another provider's price is not Solgården's.
    dict(municipality=GBG, intervention="hvb", provider="", price_per_day="9999", start_date="2024-01-01",
         end_date=""),
    dict(municipality=GBG, intervention="familjehem", provider="", price_per_day="1000,50",
         start_date="2023-01-01", end_date=""),
]
COSTS = [
    dict(municipality=GBG, person_id=A, intervention="jourhem", provider="", start_date="2024-11-01",
         end_date="2024-11-30", amount="45000"),
    dict(municipality=GBG, person_id=A, intervention="jourhem", provider="", start_date="2024-12-01",
         end_date="2024-12-14", amount="21000"),
    # One invoice over the new year: 48 days, 17 of them in 2024.
    dict(municipality=GBG, person_id=A, intervention="hvb", provider="Solgården", start_date="2024-12-15",
         end_date="2025-01-31", amount="192000"),
    dict(municipality=GBG, person_id=B, intervention="familjehem", provider="", start_date="2025-03-01",
         end_date="2025-12-31", amount="300000"),
    dict(municipality=GBG, person_id=C, intervention="oppenvard", provider="", start_date="2025-01-01",
         end_date="2025-06-30", amount="60000"),
]


def write_all(folder):
    return [
        write_csv(folder / "handelser.csv", [*EVENT_COLUMNS, "intervention_id", "provider"], EVENTS),
        write_csv(folder / "prislista.csv", PRICE_COLUMNS, PRICES),
        write_csv(folder / "kostnader.csv", COST_COLUMNS, COSTS),
        write_csv(folder / "befolkning.csv", ["municipality", "year", "age_from", "age_to", "population"],
                  [dict(municipality=GBG, year=year, age_from=0, age_to=20, population=1000)
                   for year in (2024, 2025)]),
    ]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    store = open_store(None)
    imported = import_files(store, write_all(tmp_path_factory.mktemp("costs")), KEY, extract_date=EXTRACT_DATE)
    assert all(not f.validated.problems for f in imported.files)
    assert {f.validated.table.name for f in imported.files} >= {"care_prices", "care_costs"}
    frame = compute(store)
    store.close()
    return frame


def value(results, indicator, period, **dims):
    return result_value(results, GBG, indicator, period, **dims)


def test_care_days_are_nights_per_form_and_year(results):
    # Jourhem 1 Nov–15 Dec 2024: 30 + 14 nights. HVB 15 Dec 2024–1 Feb 2025: 17 in 2024, 31 in
    # 2025. Familjehem from 1 March 2025, ongoing at the extract date: to 31 December, 306 nights.
    assert value(results, "vardygn_per_form", "2024", category="jourhem") == pytest.approx((44, 61, 100 * 44 / 61))
    assert value(results, "vardygn_per_form", "2024", category="hvb")[0] == 17
    assert value(results, "vardygn_per_form", "2025", category="hvb")[0] == 31
    assert value(results, "vardygn_per_form", "2025", category="familjehem")[0] == 306
    # Öppenvård has no care days.
    oppenvard = results[(results.indicator == "vardygn_per_form") & (results.category == "oppenvard")]
    assert oppenvard.empty


def test_care_days_are_published_for_the_out_of_home_forms_only(results):
    """The published table has a row (zeros included) for every form a care day can be of, and
    none for öppenvård or kontaktperson, which have no care days; the cost per child has every
    form of the ledger."""
    from insyn.disclosure.grid import every_row
    from insyn.indicators.cost_kinds import OUT_OF_HOME
    from insyn.indicators.definitions import library

    definitions = {d.id: d for d in library()}
    published = every_row(results, definitions, strict=False)
    for indicator, expected in (("vardygn_per_form", set(OUT_OF_HOME)),
                                ("kostnad_per_barn_per_insats", set(definitions["kostnad_per_barn_per_insats"]
                                                                     .category_codes()))):
        rows = published[(published.indicator == indicator) & (published.municipality == GBG)
                         & (published.period == "2025") & published.sex.isna() & published.age_group.isna()]
        assert set(rows.category) == expected
    assert "oppenvard" in definitions["kostnad_per_barn_per_insats"].category_codes()
    # No jourhem in 2025: its row is there, at 0 care days.
    jourhem = published[(published.indicator == "vardygn_per_form") & (published.category == "jourhem")
                        & (published.period == "2025") & (published.municipality == GBG) & published.sex.isna()
                        & published.age_group.isna()]
    assert jourhem.numerator.tolist() == [0]


def test_hvb_share_of_care_days(results):
    assert value(results, "vardygn_hvb_andel", "2024") == pytest.approx((17, 61, 100 * 17 / 61))
    assert value(results, "vardygn_hvb_andel", "2025") == pytest.approx((31, 337, 100 * 31 / 337))


def test_care_days_valued_at_the_price_of_each_day(results):
    # Jourhem without provider: the form's price. HVB at Solgården: its own price, 4 000 to
    # 14 January 2025, 4 400 from 15 January (not the 9 999 without provider).
    assert value(results, "vardkostnad_prislista_per_vardygn", "2024", category="jourhem") == \
        pytest.approx((44 * 1500, 44, 1500))
    assert value(results, "vardkostnad_prislista_per_vardygn", "2024", category="hvb") == \
        pytest.approx((17 * 4000, 17, 4000))
    hvb_2025 = 14 * 4000 + 17 * 4400
    assert value(results, "vardkostnad_prislista_per_vardygn", "2025", category="hvb") == \
        pytest.approx((hvb_2025, 31, hvb_2025 / 31))
    assert value(results, "vardkostnad_prislista_per_vardygn", "2025", category="familjehem") == \
        pytest.approx((306 * 1000.5, 306, 1000.5))


def test_ledger_cost_per_resident_and_per_child_placed(results):
    # 2024: 45 000 + 21 000 + 192 000 × 17/48; 2025: 192 000 × 31/48 + 300 000 (öppenvård not
    # out-of-home care). Children placed: A in 2024; A and B in 2025.
    cost_2024, cost_2025 = 66_000 + 68_000, 124_000 + 300_000
    assert value(results, "vardkostnad_per_invanare_0_20", "2024") == pytest.approx((cost_2024, 1000, 134))
    assert value(results, "vardkostnad_per_invanare_0_20", "2025") == pytest.approx((cost_2025, 1000, 424))
    assert value(results, "vardkostnad_per_placerat_barn", "2024") == pytest.approx((cost_2024, 1, cost_2024))
    assert value(results, "vardkostnad_per_placerat_barn", "2025") == pytest.approx((cost_2025, 2, cost_2025 / 2))
    assert value(results, "kostnad_hvb_andel", "2024") == pytest.approx((68_000, cost_2024, 100 * 68_000 / cost_2024))
    assert value(results, "kostnad_hvb_andel", "2025") == pytest.approx((124_000, cost_2025, 100 * 124_000 / cost_2025))


def test_early_against_late_cost_per_child_and_form(results):
    assert value(results, "kostnad_per_barn_per_insats", "2025", category="oppenvard") == \
        pytest.approx((60_000, 1, 60_000))
    assert value(results, "kostnad_per_barn_per_insats", "2025", category="familjehem") == \
        pytest.approx((300_000, 1, 300_000))
    assert value(results, "kostnad_per_barn_per_insats", "2024", category="jourhem") == \
        pytest.approx((66_000, 1, 66_000))


def test_the_cost_that_follows_a_child_across_years(results):
    # A's first cost was in 2024: A's 124 000 of 2025 follows from an earlier year.
    total_2025 = 124_000 + 300_000 + 60_000
    assert value(results, "kostnad_fran_tidigare_ar_andel", "2025") == \
        pytest.approx((124_000, total_2025, 100 * 124_000 / total_2025))
    assert value(results, "kostnad_fran_tidigare_ar_andel", "2024")[0] == 0


def test_sums_carry_their_records_for_the_disclosure_rules(results):
    rows = results[(results.indicator == "vardkostnad_per_invanare_0_20") & (results.period == "2025")
                   & results.category.isna()]
    row = rows.iloc[0]
    # Two children in 2025 (A's HVB, B's familjehem); the largest 300 000, the next 124 000.
    assert (row.numerator_contributors, row.numerator_largest, row.numerator_second) == (2, 300_000, 124_000)
    # A's two jourhem invoices of 2024 are one child's cost of one form: one record.
    jourhem = results[(results.indicator == "kostnad_per_barn_per_insats") & (results.period == "2024")
                      & (results.category == "jourhem")].iloc[0]
    assert (jourhem.numerator_contributors, jourhem.numerator_largest) == (1, 66_000)


def test_a_municipality_without_a_ledger_shows_no_cost(tmp_path):
    store = open_store(None)
    events, *_ = write_all(tmp_path)
    import_files(store, [events], KEY, extract_date=EXTRACT_DATE)
    frame = compute(store)
    store.close()
    assert not frame.indicator.isin(["vardkostnad_per_invanare_0_20", "vardkostnad_prislista_per_vardygn"]).any()
    assert value(frame, "vardygn_per_form", "2025", category="hvb")[0] == 31


BAD_COSTS = [
    COSTS[0],
    dict(COSTS[1], amount="tjugo tusen"),
    dict(COSTS[3], end_date="2025-02-01"),
    dict(COSTS[4], intervention="skolskjuts"),
]


def test_bad_cost_rows_are_quarantined_with_file_row_and_column(tmp_path):
    store = open_store(None)
    path = write_csv(tmp_path / "kostnader.csv", COST_COLUMNS, BAD_COSTS)
    imported = import_files(store, [path], KEY, extract_date=EXTRACT_DATE)
    messages = imported.files[0].validated.messages()
    assert imported.files[0].rows_loaded == 1
    assert "kostnader.csv, rad 3, kolumn 'amount': inte ett tal" in messages
    assert "kostnader.csv, rad 4, kolumn 'end_date': slutdatum före startdatum" in messages
    assert any(m.startswith("kostnader.csv, rad 5, kolumn 'intervention': okänd kod 'skolskjuts'") for m in messages)
    quarantined = store.raw.execute("SELECT row_number, column_name FROM quarantine ORDER BY 1").fetchall()
    assert quarantined == [(3, "amount"), (4, "end_date"), (5, "intervention")]
    assert not any(A in record for (record,) in store.raw.execute("SELECT record FROM quarantine").fetchall())
    store.close()


def test_bad_prices_are_quarantined(tmp_path):
    store = open_store(None)
    path = write_csv(tmp_path / "prislista.csv", PRICE_COLUMNS,
                     [PRICES[0], dict(PRICES[1], price_per_day="-10"), dict(PRICES[2], start_date="2025-15-01")])
    messages = import_files(store, [path], KEY, extract_date=EXTRACT_DATE).files[0].validated.messages()
    assert messages == ["prislista.csv, rad 3, kolumn 'price_per_day': får inte vara mindre än 0",
                        "prislista.csv, rad 4, kolumn 'start_date': ogiltigt datum (ÅÅÅÅ-MM-DD väntas)"]
    store.close()


def test_a_strict_import_of_a_cost_file_with_one_bad_row_changes_nothing(tmp_path):
    store = open_store(None)
    good = write_csv(tmp_path / "kostnader.csv", COST_COLUMNS, COSTS)
    import_files(store, [good], KEY, extract_date=EXTRACT_DATE)
    before = store.raw.execute("SELECT * FROM care_costs ORDER BY ALL").fetchall()
    imports = store.raw.execute("SELECT count(*) FROM imports").fetchall()
    bad = write_csv(tmp_path / "kostnader_ny.csv", COST_COLUMNS,
                    [dict(row, amount="1") for row in COSTS[:-1]] + [dict(COSTS[-1], amount="x")])
    with pytest.raises(ImportRejected):
        import_files(store, [bad], KEY, strict=True, extract_date=EXTRACT_DATE)
    assert store.raw.execute("SELECT * FROM care_costs ORDER BY ALL").fetchall() == before
    assert store.raw.execute("SELECT count(*) FROM imports").fetchall() == imports
    assert store.raw.execute("SELECT count(*) FROM quarantine").fetchall() == [(0,)]
    store.close()


def test_a_new_price_list_replaces_the_prices_of_the_same_form_provider_and_day(tmp_path):
    store = open_store(None)
    first = write_csv(tmp_path / "prislista.csv", PRICE_COLUMNS, PRICES)
    import_files(store, [first], KEY, extract_date=EXTRACT_DATE)
    newer = write_csv(tmp_path / "prislista_ny.csv", PRICE_COLUMNS, [dict(PRICES[0], price_per_day="1600")])
    result = import_files(store, [newer], KEY, extract_date=EXTRACT_DATE)
    assert result.files[0].rows_replaced == 1
    prices = store.raw.execute("SELECT price_per_day FROM care_prices WHERE intervention = 'jourhem'").fetchall()
    assert prices == [(1600.0,)]
    store.close()


def test_the_out_of_home_cost_is_its_forms_costs_for_the_disclosure_control():
    """A reviewer's leak: the cost per child per form counts the ledger's every form, the
    out-of-home cost its five, and HVB's share HVB's cost. A hidden SiS cost came back as the
    five forms' total minus the other four shown. The protection now knows the five-form total
    is the sum of those forms' costs, and HVB's cost one number in both."""
    import numpy as np
    import pandas as pd
    from test_disclosure import RULES, ranges_from_shown

    from insyn.disclosure.status import is_hidden
    from insyn.disclosure.suppression import Linked, protect
    from insyn.indicators.definitions import by_id
    from insyn.indicators.engine import RESULT_COLUMNS

    forms = {"oppenvard": 900_000.0, "familjehem": 1_200_000.0, "jourhem": 300_000.0, "hvb": 2_500_000.0,
             "stodboende": 200_000.0, "sis": 800_000.0}
    out_of_home = sum(v for k, v in forms.items() if k != "oppenvard")

    def row(indicator, numerator, denominator, category=None):
        return {**dict.fromkeys(RESULT_COLUMNS), "indicator": indicator, "municipality": "0884", "period": "2024",
                "period_type": "year", "category": category, "numerator": numerator, "denominator": denominator,
                "value": numerator / denominator, "complete": True, "numerator_contributors": 10.0,
                "numerator_largest": numerator / 5, "numerator_second": numerator / 6}

    frame = pd.DataFrame([*(row("kostnad_per_barn_per_insats", cost, 10, form) for form, cost in forms.items()),
                          row("vardkostnad_per_placerat_barn", out_of_home, 40),
                          row("kostnad_hvb_andel", forms["hvb"], out_of_home)])
    linked = Linked(frame, {d: by_id()[d] for d in frame.indicator.unique()}, RULES)
    cost = {c if isinstance(c, str) else i: linked.tables.rows[r][0]
            for r, (c, i) in enumerate(zip(frame.category, frame.indicator, strict=True))}
    total = cost["vardkostnad_per_placerat_barn"]
    assert linked.tables.rows[7][1] == total  # HVB's share is of the same out-of-home cost
    sums = [e for e in linked.tables.equations if e.total == total and e.exact]
    assert [set(e.parts) for e in sums] == [{cost[f] for f in ("familjehem", "jourhem", "hvb", "stodboende", "sis")}]
    hvb, share_of_hvb = cost["hvb"], cost["kostnad_hvb_andel"]
    assert {(hvb, share_of_hvb), (share_of_hvb, hvb)} <= set(linked.tables.inequalities)
    assert np.isclose(linked.tables.values[total], out_of_home)

    # SiS's cost rests on two children: hidden. Whatever else is hidden, a reader who knows the
    # five forms add up to the total cannot narrow it below the protection width.
    frame.loc[5, "numerator_contributors"] = 2.0
    published = protect(frame, RULES)
    shown = np.zeros(len(linked.tables.values), dtype=bool)
    for r, status in enumerate(published.status):
        if not is_hidden(status):
            shown[list(linked.tables.rows[r])] = True
    parts = tuple(cost[f] for f in ("familjehem", "jourhem", "hvb", "stodboende", "sis"))
    low, high = ranges_from_shown(linked.tables.values, shown, [(total, parts, 0.0)],
                                  [(hvb, share_of_hvb), (share_of_hvb, hvb)], [cost["sis"]])[cost["sis"]]
    required = Linked(frame, {d: by_id()[d] for d in frame.indicator.unique()}, RULES).tables.required[cost["sis"]]
    assert required > 0 and is_hidden(published.status[5]) and high - low >= required


def test_same_day_placements_pair_the_same_alone_as_in_the_whole_library(tmp_path):
    """Two siblings placed in one case on the same day, without decision ids, ended ten and thirty
    days later: the first end closes the start that sorts first (by unit, U1 before U2). The
    pairing must not depend on which other definitions share the statement (the area's, or the
    definition alone)."""
    def sibling(person, unit, event, date):
        report = event == "report"
        return dict(municipality=GBG, case_id="S1", person_id=person, event=event, date=date, unit=unit,
                    caseworker_id="S9", source="skola" if report else "", intervention="" if report else "familjehem",
                    intervention_id="", provider="")

    events = [sibling(A, "U2", "report", "2025-01-15"), sibling(B, "U1", "report", "2025-01-15"),
              sibling(A, "U2", "intervention_start", "2025-03-01"),
              sibling(B, "U1", "intervention_start", "2025-03-01"),
              sibling(A, "U2", "intervention_end", "2025-03-11"), sibling(B, "U1", "intervention_end", "2025-03-31")]
    store = open_store(None)
    try:
        import_files(store, [write_csv(tmp_path / "handelser.csv", [*EVENT_COLUMNS, "intervention_id", "provider"],
                                       events)], KEY, extract_date=EXTRACT_DATE)
        alone = compute(store, [d for d in library() if d.id == "vardygn_per_form"])
        whole = compute(store)
    finally:
        store.close()
    whole = whole[whole.indicator == "vardygn_per_form"]
    columns = ["municipality", "period", "period_type", "sex", "age_group", "category", "numerator"]
    def rows(frame):
        return frame[columns].fillna("").astype(str).sort_values(columns).reset_index(drop=True)

    pd.testing.assert_frame_equal(rows(alone), rows(whole))
    # B (U1) sorts first, so the end of 11 March closes B's placement: 10 nights; A's: 30.
    boy = value(alone, "vardygn_per_form", "2025", category="familjehem", sex="male")
    girl = value(alone, "vardygn_per_form", "2025", category="familjehem", sex="female")
    assert (boy[0], girl[0]) == (10, 30)
