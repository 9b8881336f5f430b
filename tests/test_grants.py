"""State grants by hand (docs/grants.md): employments a grant pays for, and the grants.

Vimmerby has two grants that pay for posts: stimulansmedel for 2024 (600 000 kr) and for
January–June 2025 (300 000 kr: the grant ends mid-year), and an ESF project from 1 July 2024 to
31 March 2026 (1 200 000 kr over 639 days); and a training grant that pays for none. G1 and G2
are paid by the stimulansmedel (G2 half time, on a fixed-term contract that ends with the
grant), G3 by ESF, U1 by a grant the grants table does not know; O1 and O2 by the ordinary
budget (O2 leaves in August 2024), and the unit manager E1 too. G1, G2 and G3 carry a monthly
salary (45 000, 42 000 and 40 000 kr), as do U1 and O1. Imported through the real import path
with an extract date.
"""

from __future__ import annotations

import datetime as dt

import pytest
from helpers import EVENT_COLUMNS, pnr, result_value, write_csv

from insyn.indicators.definitions import library
from insyn.indicators.engine import compute
from insyn.ingest.load import ImportRejected, import_files
from insyn.store import open_store

pytestmark = pytest.mark.slow  # docs/testing.md

V = "0884"
UNIT = "Barn och unga"
EXTRACT_DATE = dt.date(2025, 12, 31)
KEY = b"k" * 32
SS, EC = "socialsekreterare", "enhetschef"
STAFF_COLUMNS = ["municipality", "staff_id", "unit", "role", "employment", "start_date", "end_date", "fte",
                 "exam_year", "funding", "monthly_salary"]
GRANT_COLUMNS = ["municipality", "grant", "start_date", "end_date", "amount", "purpose"]


def employment(staff_id, role, kind, start, end="", fte="1", exam="", funding="", salary=""):
    return dict(municipality=V, staff_id=staff_id, unit=UNIT, role=role, employment=kind, start_date=start,
                end_date=end, fte=fte, exam_year=exam, funding=funding, monthly_salary=salary)


STAFF = [
    employment("G1", SS, "tillsvidare", "2023-01-01", exam=2020, funding="Stimulansmedel", salary="45000"),
    employment("G2", SS, "visstid", "2024-03-01", "2025-06-30", fte="0,5", exam=2024, funding="Stimulansmedel",
               salary="42000"),
    employment("G3", SS, "tillsvidare", "2024-07-01", exam=2024, funding="ESF", salary="40 000,00"),
    employment("U1", SS, "tillsvidare", "2024-01-01", fte="0,8", exam=2010, funding="Okänt bidrag", salary="50000"),
    employment("O1", SS, "tillsvidare", "2020-01-01", exam=2015, salary="39000"),
    employment("O2", SS, "tillsvidare", "2022-01-01", "2024-08-31", exam=2021),
    employment("E1", EC, "tillsvidare", "2019-01-01", exam=2005),
]
GRANTS = [
    dict(municipality=V, grant="Stimulansmedel", start_date="2024-01-01", end_date="2024-12-31", amount="600000",
         purpose="Stärkt barn- och ungdomsvård"),
    dict(municipality=V, grant="Stimulansmedel", start_date="2025-01-01", end_date="2025-06-30", amount="300000",
         purpose="Stärkt barn- och ungdomsvård"),
    dict(municipality=V, grant="ESF", start_date="2024-07-01", end_date="2026-03-31", amount="1200000",
         purpose="Introduktion av nya socialsekreterare"),
    # A grant that pays for no post: not in the grant per FTE.
    dict(municipality=V, grant="Kompetenslyft", start_date="2024-01-01", end_date="2024-12-31", amount="250000",
         purpose="Utbildning"),
]
EVENTS = [dict(municipality=V, case_id="A1", person_id=pnr("20120315", "123"), event="report", date=day,
               source="skola", unit=UNIT) for day in ("2024-01-02", "2025-12-20")]


def write_all(folder):
    return [write_csv(folder / "personal.csv", STAFF_COLUMNS, STAFF),
            write_csv(folder / "bidrag.csv", GRANT_COLUMNS, GRANTS),
            write_csv(folder / "handelser.csv", EVENT_COLUMNS, EVENTS)]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    store = open_store(None)
    imported = import_files(store, write_all(tmp_path_factory.mktemp("grants")), KEY, extract_date=EXTRACT_DATE)
    assert all(not f.validated.problems for f in imported.files)
    assert {f.validated.table.name for f in imported.files} == {"staff", "grants", "events"}
    frame = compute(store)
    store.close()
    return frame


def test_a_funding_the_grants_do_not_know_is_named_at_the_import(tmp_path):
    store = open_store(None)
    try:
        imported = import_files(store, write_all(tmp_path), KEY, extract_date=EXTRACT_DATE)
    finally:
        store.close()
    notices = {f.validated.table.name: f.validated.notices for f in imported.files}
    assert notices["staff"] == ["Finansieringen 'Okänt bidrag' (1 anställning i kommun 0884) finns inte bland "
                                "kommunens statsbidrag: de räknas som bidragsfinansierade, men utan bidragets "
                                "slutdatum och belopp"]
    assert notices["grants"] == [] and notices["events"] == []


def value(results, indicator, period, **dims):
    return result_value(results, V, indicator, period, **dims)


def test_every_grant_indicator_is_covered_here(results):
    assert {d.id for d in library() if d.area == "statsbidrag"} <= set(results.indicator)


def test_fte_paid_by_grants_and_their_share(results):
    # 1 November 2024: G1 1.0, G2 0.5, G3 1.0 and U1 0.8 paid by grants (an unknown grant is a
    # grant still); O1 and E1 1.0 each by the budget (O2 has left).
    assert value(results, "arsarbetare_bidragsfinansierade", "2024")[0] == pytest.approx(3.3)
    assert value(results, "andel_arsarbetare_bidragsfinansierade", "2024") == pytest.approx((3.3, 5.3, 100 * 3.3 / 5.3))
    # 1 November 2025: G2 has left with her grant.
    assert value(results, "andel_arsarbetare_bidragsfinansierade", "2025") == pytest.approx((2.8, 4.8, 100 * 2.8 / 4.8))


def test_turnover_of_grant_funded_staff_against_the_rest(results):
    # 2024: no grant-funded caseworker left. In the budget, O2 (1.0) left on 31 August: 1.0
    # over O1's whole year and O2's 244 days of 366.
    assert value(results, "personalomsattning_bidragsfinansierade", "2024")[0] == 0
    assert value(results, "personalomsattning_ordinarie", "2024") == pytest.approx(
        (1.0, 1 + 244 / 366, 100 / (1 + 244 / 366)))
    # 2025: G2 (0.5) left when the stimulansmedel ended, after 181 days of 365; G1, G3 and U1
    # worked the whole year. In the budget nobody left.
    in_post = 1.0 + 0.5 * 181 / 365 + 1.0 + 0.8
    assert value(results, "personalomsattning_bidragsfinansierade", "2025") == pytest.approx(
        (0.5, in_post, 100 * 0.5 / in_post))
    assert value(results, "personalomsattning_ordinarie", "2025") == pytest.approx((0, 1.0, 0))


def test_experience_of_grant_funded_caseworkers_against_the_rest(results):
    # 1 November 2024: G2 and G3 graduated in 2024 (0.34 years); G1 and U1 earlier. O1 in the
    # budget since 2015. The unit manager is no caseworker.
    assert value(results, "erfarenhet_under_1_ar_bidragsfinansierade", "2024") == pytest.approx((2, 4, 50))
    assert value(results, "erfarenhet_under_1_ar_ordinarie", "2024") == pytest.approx((0, 1, 0))
    assert value(results, "erfarenhet_under_1_ar_bidragsfinansierade", "2025") == pytest.approx((0, 3, 0))


def test_staff_whose_grant_ends_within_six_months(results):
    # 1 November 2024: the stimulansmedel run to 30 June 2025 and ESF to 31 March 2026, both
    # after 1 May 2025; U1's grant has no end in the grants table.
    assert value(results, "bidrag_upphor_inom_6_manader", "2024")[0] == 0
    # 1 November 2025: G1's stimulansmedel ended on 30 June (G1 is still in post), G3's ESF
    # ends on 31 March 2026, within six months (by 1 May 2026).
    assert value(results, "bidrag_upphor_inom_6_manader", "2025")[0] == 2


def test_grant_per_fte_it_pays_for(results):
    # 2024: the stimulansmedel's 600 000 and ESF's 184 days of 639 of 1 200 000 (345 539.9, whole
    # kronor 345 540), over the FTE-years of G1 (1.0), G2 (0.5 × 306/366) and G3 (184/366);
    # U1's grant is not in the grants table, so U1 is not among them, and the Kompetenslyft
    # pays for no post, so its 250 000 are not either.
    grants_2024, fte_2024 = 600_000 + 345_540, 1 + 0.5 * 306 / 366 + 184 / 366
    assert value(results, "bidrag_per_bidragsfinansierad_arsarbetare", "2024") == pytest.approx(
        (grants_2024, fte_2024, grants_2024 / fte_2024))
    # 2025: 300 000 and 365 days of ESF (685 446.0), over G1, G2 (0.5 × 181/365) and G3.
    grants_2025, fte_2025 = 300_000 + 685_446, 2 + 0.5 * 181 / 365
    assert value(results, "bidrag_per_bidragsfinansierad_arsarbetare", "2025") == pytest.approx(
        (grants_2025, fte_2025, grants_2025 / fte_2025))


# What a year's salary costs with the personnel cost add-on (PO) of workforce.yaml: 2024 and 2025
# take 2023's, the latest listed (31.42 + 0.13 + 12.98 = 44.53 %).
SALARY_YEAR = 12 * 1.4453


def cost(*salaries_and_fte_years: tuple[int, float]) -> int:
    """The personnel cost of employments: each one's in whole kronor, then added up."""
    return sum(round(SALARY_YEAR * salary * fte_years) for salary, fte_years in salaries_and_fte_years)


def test_personnel_cost_per_grant_funded_fte(results):
    # 2024: G1 a whole year (1.0 FTE-years), G2 half time from 1 March (0.5 × 306/366), G3 from
    # 1 July (184/366), each at their monthly salary × 12 × 1.4453 in whole kronor; U1's grant is
    # unknown and O1 is paid by the budget.
    cost_2024 = cost((45_000, 1), (42_000, 0.5 * 306 / 366), (40_000, 184 / 366))
    fte_2024 = 1 + 0.5 * 306 / 366 + 184 / 366
    assert value(results, "personalkostnad_per_bidragsfinansierad_arsarbetare", "2024") == pytest.approx(
        (cost_2024, fte_2024, cost_2024 / fte_2024))
    assert cost_2024 == 1_433_737 and cost_2024 / fte_2024 == pytest.approx(746_440.6, abs=0.1)
    # 2025: the stimulansmedel ends on 30 June with G2's post (0.5 × 181/365); G1 is still paid
    # by it according to HR, a whole year, as G3.
    cost_2025 = cost((45_000, 1), (42_000, 0.5 * 181 / 365), (40_000, 1))
    fte_2025 = 2 + 0.5 * 181 / 365
    assert value(results, "personalkostnad_per_bidragsfinansierad_arsarbetare", "2025") == pytest.approx(
        (cost_2025, fte_2025, cost_2025 / fte_2025))


def test_how_much_of_the_personnel_cost_the_grants_cover(results):
    # The year's grants (as in the grant per FTE) over the personnel cost of the posts they pay for.
    cost_2024 = cost((45_000, 1), (42_000, 0.5 * 306 / 366), (40_000, 184 / 366))
    assert value(results, "bidragens_tackning_av_personalkostnad", "2024") == pytest.approx(
        (945_540, cost_2024, 100 * 945_540 / cost_2024))
    # 2025: the stimulansmedel's last half year (300 000) and ESF's whole year (685 446) cover
    # 59.6 % of what the posts cost: the budget pays the rest.
    cost_2025 = cost((45_000, 1), (42_000, 0.5 * 181 / 365), (40_000, 1))
    numerator, denominator, share = value(results, "bidragens_tackning_av_personalkostnad", "2025")
    assert (numerator, denominator) == pytest.approx((985_446, cost_2025))
    assert share == pytest.approx(59.55, abs=0.01)


def test_a_post_without_a_salary_is_left_out_of_the_cost(tmp_path):
    """G2 without a monthly salary: neither its cost nor its FTE-years count, so the cost per FTE
    is G1's and G3's; the cover share then leaves G2's cost out (docs/grants.md says so)."""
    staff = [dict(row, monthly_salary="") if row["staff_id"] == "G2" else row for row in STAFF]
    store = open_store(None)
    try:
        imported = import_files(store, [write_csv(tmp_path / "personal.csv", STAFF_COLUMNS, staff),
                                        write_csv(tmp_path / "bidrag.csv", GRANT_COLUMNS, GRANTS)], KEY,
                                extract_date=EXTRACT_DATE)
        assert ("1 bidragsfinansierad anställning i kommun 0884 saknar månadslön (konsulter har ingen): den "
                "räknas inte in i personalkostnaden, och bidragens täckning av den blir för hög"
                ) in imported.files[0].validated.notices
        definitions = [d for d in library() if d.id in ("personalkostnad_per_bidragsfinansierad_arsarbetare",
                                                         "bidragens_tackning_av_personalkostnad")]
        without = compute(store, definitions, quarters=False, breakdowns=False)
    finally:
        store.close()
    cost_2024 = cost((45_000, 1), (40_000, 184 / 366))
    assert value(without, "personalkostnad_per_bidragsfinansierad_arsarbetare", "2024") == pytest.approx(
        (cost_2024, 1 + 184 / 366, cost_2024 / (1 + 184 / 366)))
    assert value(without, "bidragens_tackning_av_personalkostnad", "2024")[1] == pytest.approx(cost_2024)


def test_the_personnel_cost_of_few_posts_is_not_published(results):
    """Three posts' personnel cost is close to each one's salary: it is protected as a sum (fewer
    than five employments: hidden), while the grant per FTE, public, stays shown. The shipped
    disclosure.yaml makes employments public and names no exception for salaries, as a data
    folder's older copy would not: the code keeps a sum of salaries from being public."""
    from insyn.disclosure.rules import load_rules
    from insyn.disclosure.status import is_hidden
    from insyn.disclosure.suppression import protect

    assert [p.except_indicators for p in load_rules().public] == [["mentor_forsta_aret"]]
    published = protect(results, load_rules())
    whole = published[(published.municipality == V) & (published.period == "2024") & published.unit.isna()
                      & published.sex.isna() & published.age_group.isna() & published.category.isna()]
    status = dict(zip(whole.indicator, whole.status, strict=True))
    assert is_hidden(status["personalkostnad_per_bidragsfinansierad_arsarbetare"])
    assert is_hidden(status["bidragens_tackning_av_personalkostnad"])
    assert not is_hidden(status["bidrag_per_bidragsfinansierad_arsarbetare"])
    assert not is_hidden(status["arsarbetare_bidragsfinansierade"])


def test_a_unit_figure_is_one_cell_wherever_it_is_published(results):
    """The disclosure control knows a figure by what it counts: the grant-funded FTE of a unit
    is the same cell in the FTE indicator and in the share's numerator, so it is hidden in both
    or neither. No grant indicator has unit rows: per unit, grant-funded posts are few and a
    hidden figure could be worked out from the public municipal one (docs/grants.md)."""
    from insyn.disclosure.suppression import _quantity
    from insyn.indicators.definitions import by_id

    definitions = by_id()
    fte, share = definitions["arsarbetare_bidragsfinansierade"], definitions["andel_arsarbetare_bidragsfinansierade"]
    assert _quantity(fte, fte.numerator) == _quantity(share, share.numerator)
    grants = [d.id for d in definitions.values() if d.area == "statsbidrag"]
    assert results[results.indicator.isin(grants)].unit.isna().all()
    assert results[results.indicator.isin(grants)].indicator.nunique() == len(grants) == 10


def test_grant_funding_changes_no_workforce_figure(results):
    """The funding column is new beside the workforce indicators: they count as before."""
    assert value(results, "arsarbetare", "2024")[0] == pytest.approx(5.3)
    assert value(results, "antal_anstallda", "2024")[0] == 6


def test_a_bad_monthly_salary_is_quarantined_with_file_row_and_column(tmp_path):
    rows = [STAFF[0], dict(STAFF[1], monthly_salary="-42000"), dict(STAFF[2], monthly_salary="fyrtiotusen")]
    store = open_store(None)
    try:
        imported = import_files(store, [write_csv(tmp_path / "personal.csv", STAFF_COLUMNS, rows)], KEY,
                                extract_date=EXTRACT_DATE)
        messages = imported.files[0].validated.messages()
        assert imported.files[0].rows_loaded == 1
        assert "personal.csv, rad 3, kolumn 'monthly_salary': får inte vara mindre än 0" in messages
        assert "personal.csv, rad 4, kolumn 'monthly_salary': inte ett tal" in messages
    finally:
        store.close()


def test_a_salary_that_looks_like_a_years_pay_is_named(tmp_path):
    rows = [dict(STAFF[0], monthly_salary="540 000"), dict(STAFF[4], monthly_salary="185,50"), STAFF[2]]
    store = open_store(None)
    try:
        imported = import_files(store, [write_csv(tmp_path / "personal.csv", STAFF_COLUMNS, rows)], KEY,
                                extract_date=EXTRACT_DATE)
    finally:
        store.close()
    assert imported.files[0].rows_loaded == 3  # kept: only the cost reads the salary
    assert imported.files[0].validated.notices[-1] == (
        "2 anställningar i kommun 0884 har en månadslön under 15\u202f000 eller över 150\u202f000 kr: är det "
        "årslön eller timlön? Personalkostnaden räknar med månadslön för heltid")


BAD_GRANTS = [
    GRANTS[0],
    dict(GRANTS[1], amount="trehundra tusen"),
    dict(GRANTS[2], end_date="2024-01-01"),
    dict(GRANTS[2], grant="", start_date="2026-01-01"),
]


def test_bad_grant_rows_are_quarantined_with_file_row_and_column(tmp_path):
    store = open_store(None)
    path = write_csv(tmp_path / "bidrag.csv", GRANT_COLUMNS, BAD_GRANTS)
    imported = import_files(store, [path], KEY, extract_date=EXTRACT_DATE)
    messages = imported.files[0].validated.messages()
    assert imported.files[0].rows_loaded == 1
    assert "bidrag.csv, rad 3, kolumn 'amount': inte ett tal" in messages
    assert "bidrag.csv, rad 4, kolumn 'end_date': slutdatum före startdatum" in messages
    assert any(m.startswith("bidrag.csv, rad 5, kolumn 'grant'") for m in messages)
    quarantined = store.raw.execute("SELECT row_number, column_name FROM quarantine ORDER BY 1").fetchall()
    assert quarantined == [(3, "amount"), (4, "end_date"), (5, "grant")]
    store.close()


def test_a_strict_import_of_a_grant_file_with_one_bad_row_changes_nothing(tmp_path):
    store = open_store(None)
    import_files(store, [write_csv(tmp_path / "bidrag.csv", GRANT_COLUMNS, GRANTS[:1])], KEY,
                 extract_date=EXTRACT_DATE)
    before = store.raw.execute("SELECT * FROM grants").fetchall()
    with pytest.raises(ImportRejected):
        import_files(store, [write_csv(tmp_path / "bidrag2.csv", GRANT_COLUMNS, BAD_GRANTS)], KEY,
                     extract_date=EXTRACT_DATE, strict=True)
    assert store.raw.execute("SELECT * FROM grants").fetchall() == before
    assert store.raw.execute("SELECT count(*) FROM quarantine").fetchone() == (0,)
    store.close()


def test_a_store_made_before_grants_lists_no_ending_grant():
    """The web app opens a store read-only: one made by an earlier version has neither the
    grants table nor staff.funding until an import upgrades it, and the manager's list is empty."""
    from insyn.workforce.funding import funding_ending

    store = open_store(None)
    try:
        store.raw.execute("DROP TABLE grants")
        store.raw.execute("ALTER TABLE staff DROP COLUMN funding")
        assert funding_ending(store, V, UNIT, dt.date(2025, 11, 1), 6).empty
    finally:
        store.close()
