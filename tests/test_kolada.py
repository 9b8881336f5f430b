"""Kolada-shaped export and import (docs/kolada.md) on a real DuckDB store: the export holds only
disclosure-protected yearly municipality figures and round-trips through the import; files in
Kolada's own v2 and v3 shapes import with their statuses read as Kolada means them (Privacy
hidden, Missing and Not applicable missing with their reason) and their deletions (v2 is_deleted,
v3 isdeleted) not stored; a later file that changes a value says which file gave it; a re-import
adds nothing and a broken file changes nothing; the report and the workbook show real Kolada
values beside the indicator (by its related_kpis) only when published values were imported.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import openpyxl
import pandas as pd
import pytest
from helpers import settings_with_results
from test_publish import Tables, _replace, _text, build_results
from typer.testing import CliRunner

from insyn.cli import app
from insyn.disclosure.rules import DisclosureRules
from insyn.disclosure.status import is_hidden
from insyn.indicators.definitions import by_id
from insyn.publish.excel import write_workbook
from insyn.publish.kolada import KoladaFileError, kolada_kpi, published_cell, stored_published_values, to_json
from insyn.publish.publication import prepare
from insyn.publish.report import write_report
from insyn.publish.views import name_with_unit
from insyn.settings import Settings
from insyn.workflows import comparison_values, export_kolada, import_published, store_for

DATA = Path(__file__).parent / "data"
SAMPLE = DATA / "kolada_sample.json"
# Illustrative figures (not Kolada's) in the shapes of a v2 response with from_date (is_deleted
# 0|1 in each value, next_page) and of a later v3 response (isdeleted true|false, next_url).
V2 = DATA / "kolada_v2_U33402.json"
V3 = DATA / "kolada_v3_U33402.json"
VIMMERBY, HULTSFRED = "0884", "0860"
RIKET, KALMAR_LAN, MONSTERAS = "0000", "0008", "0861"
ASSESSMENTS = "forhandsbedomning_inom_14_dagar"
# Small counts planted in the results: (the row, its true numbers). Their values must not be
# published anywhere.
PLANTED = [
    (dict(indicator=ASSESSMENTS, municipality=VIMMERBY, period="2024", sex="female"),
     dict(numerator=3, denominator=7, value=300 / 7)),
    (dict(indicator="utredningstid_median", municipality=HULTSFRED, period="2023", sex="male"),
     dict(denominator=4, value=97.25)),
    (dict(indicator="utredning_inom_4_manader", municipality=VIMMERBY, period="2023"),
     dict(numerator=2, denominator=9, value=200 / 9)),
]
GENDERS = {None: "T", "female": "K", "male": "M"}


@pytest.fixture
def results() -> pd.DataFrame:
    """Results of every indicator for two municipalities and two complete years, the small counts
    planted, and one year the data do not yet cover."""
    frame = build_results([VIMMERBY, HULTSFRED], ["2023", "2024"]).assign(complete=True)
    for match, planted in PLANTED:
        _replace(frame, planted, **match)
    running = frame[frame.period == "2024"].assign(period="2025", complete=False)
    return pd.concat([frame, running], ignore_index=True)


@pytest.fixture
def settings(tmp_path, results) -> Settings:
    """A data folder whose DuckDB store holds the results."""
    return settings_with_results(tmp_path / "data", results)


def _stored(settings: Settings) -> pd.DataFrame:
    store = store_for(settings, read_only=True)
    try:
        return stored_published_values(store).sort_values(["kpi", "municipality", "period", "gender"],
                                                         ignore_index=True)
    finally:
        store.close()


def _cells(document: dict) -> dict[tuple, dict]:
    """(kpi, municipality, period, gender) -> the gender value, from a Kolada-shaped document."""
    return {(entry["kpi"], entry["municipality"], entry["period"], cell["gender"]): cell
            for entry in document["values"] for cell in entry["values"]}


def _write(path: Path, entries: list[dict]) -> Path:
    path.write_text(json.dumps({"values": entries}), encoding="utf-8")
    return path


def _entry(kpi: str, municipality: str, period: int, value: float | None, status: str = "") -> dict:
    return {"kpi": kpi, "municipality": municipality, "period": period,
            "values": [{"gender": "T", "count": 1, "status": status, "value": value}]}


# --- export ------------------------------------------------------------------------------------

def _whole_municipality_years(frame: pd.DataFrame) -> pd.DataFrame:
    """Yearly rows of complete periods for a whole municipality, in total or by sex: the rows
    Kolada's municipality data can hold (no unit, age group, category or quarter)."""
    return frame[(frame.period_type == "year") & frame.complete.astype(bool) & frame.unit.isna()
                 & frame.age_group.isna() & frame.category.isna()]


def _key(row) -> tuple:
    """The key of a result row in the export: an indicator that is an official measure goes by its KPI id."""
    kpi = kolada_kpi(by_id()[row.indicator]) if row.indicator in by_id() else row.indicator
    return kpi, row.municipality, int(row.period), GENDERS[None if pd.isna(row.sex) else row.sex]


def test_export_has_kolada_shape_and_only_yearly_complete_municipality_figures(settings, results):
    document = export_kolada(settings)
    assert list(document) == ["values"]
    for entry in document["values"]:
        assert list(entry) == ["kpi", "municipality", "period", "values"]
        assert isinstance(entry["period"], int)
        genders = [cell["gender"] for cell in entry["values"]]
        assert genders == [g for g in ("T", "K", "M") if g in genders]
        for cell in entry["values"]:
            assert list(cell) == ["gender", "count", "status", "value"]
            assert cell["count"] == 1  # one municipality, never a number of cases
    expected = {_key(r) for r in _whole_municipality_years(results).itertuples() if not pd.isna(r.value)}
    assert set(_cells(document)) == expected
    assert 2025 not in {entry["period"] for entry in document["values"]}


def test_export_writes_hidden_figures_with_status_and_no_value(settings, results):
    cells = _cells(export_kolada(settings))
    hidden = {key for key, cell in cells.items() if cell["status"] == ".."}
    published = _whole_municipality_years(prepare(results, settings.disclosure_rules()).rows)
    assert hidden == {_key(r) for r in published.itertuples() if is_hidden(r.status)}
    assert {_key(SimpleNamespace(**{"sex": None, **match})) for match, _ in PLANTED} <= hidden
    assert all(cells[key]["value"] is None for key in hidden)
    # Every other figure has the empty status and the result's own value.
    raw = {_key(r): r.value for r in _whole_municipality_years(results).itertuples()}
    shown = {key: cell for key, cell in cells.items() if key not in hidden}
    assert all(cell["status"] == "" and cell["value"] == pytest.approx(raw[key]) for key, cell in shown.items())


def test_hidden_values_appear_nowhere_in_the_file(settings):
    text = to_json(export_kolada(settings))
    values = [cell["value"] for cell in _cells(json.loads(text)).values() if cell["value"] is not None]
    for _, planted in PLANTED:
        secret = planted["value"]
        assert json.dumps(secret) not in text
        assert not [v for v in values if math.isclose(v, secret, abs_tol=0.05)]  # nor rounded
    assert "numerator" not in text and "denominator" not in text


def test_export_of_chosen_municipalities_and_years(settings):
    document = export_kolada(settings, [VIMMERBY], [2024])
    assert {(e["municipality"], e["period"]) for e in document["values"]} == {(VIMMERBY, 2024)}
    with pytest.raises(LookupError, match="kommun 1480"):
        export_kolada(settings, ["1480"])
    with pytest.raises(LookupError, match="år 2025"):
        export_kolada(settings, years=[2025])


# --- import ------------------------------------------------------------------------------------

def test_export_round_trips_through_the_import(settings, tmp_path):
    document = export_kolada(settings)
    path = tmp_path / "vimmerby_hultsfred.json"
    path.write_text(to_json(document), encoding="utf-8")
    [imported] = import_published(settings, [path])
    assert imported.values == len(_cells(document)) and imported.replaced == 0
    stored = _stored(settings)
    back = {(r.kpi, r.municipality, r.period, r.gender): r for r in stored.itertuples()}
    assert set(back) == set(_cells(document))
    for key, cell in _cells(document).items():
        row = back[key]
        assert row.status == cell["status"] and row.count == cell["count"]
        assert (pd.isna(row.value) if cell["value"] is None else row.value == cell["value"])
    assert set(stored.source_file) == {path.name}


def test_a_file_in_koladas_own_shape_imports_with_its_missing_value(settings):
    [imported] = import_published(settings, [SAMPLE])
    assert (imported.values, imported.replaced) == (5, 0)
    stored = _stored(settings).set_index(["municipality", "period"])
    assert set(stored.kpi) == {"N01951"} and set(stored.gender) == {"T"}
    assert stored.loc[(RIKET, 2024), "value"] == 10_587_710
    assert stored.loc[(KALMAR_LAN, 2024), "value"] == 246_352
    missing = stored.loc[(RIKET, 2025)]
    assert pd.isna(missing.value) and missing.status == "Missing" and missing["count"] == 1
    # A KPI that is none of ours is kept, but compared with nothing.
    assert comparison_values(settings) == []


def test_importing_the_same_file_again_adds_nothing(settings):
    import_published(settings, [SAMPLE])
    before = _stored(settings)
    [again] = import_published(settings, [SAMPLE])
    assert again.replaced == again.values == 5
    after = _stored(settings)
    assert len(after) == len(before) == 5
    pd.testing.assert_frame_equal(after.drop(columns="imported_at"), before.drop(columns="imported_at"))


@pytest.mark.parametrize(("content", "place"), [
    ('{"values": [', "rad 1, kolumn 13"),
    ('[{"kpi": "N01951"}]', "$: ett objekt"),
    ('{"count": 0}', "$.values: en lista väntas, men saknas"),
    ('{"values": [{"municipality": "0000", "period": 2024, "values": []}]}', "$.values[0].kpi"),
    ('{"values": [{"kpi": "N01951", "municipality": "0000", "period": "i fjol", "values": []}]}',
     '$.values[0].period: ett årtal (t.ex. 2024) väntas, men är "i fjol"'),
    ('{"values": [{"kpi": "N01951", "municipality": "0000", "period": 2024, '
     '"values": [{"gender": "T", "value": 1}, {"gender": "X", "value": 2}]}]}',
     '$.values[0].values[1].gender: kön T, K eller M väntas, men är "X"'),
    ('{"values": [{"kpi": "N01951", "municipality": "0000", "period": 2024, '
     '"values": [{"gender": "T", "value": "12,5"}]}]}', "$.values[0].values[0].value"),
    ('{"values": [{"kpi": "N01951", "municipality": "0000", "period": 2024, "values": [{"gender": "T", '
     '"value": 1}]}, {"kpi": "N01951", "municipality": "0000", "period": 2024, "values": [{"gender": "T", '
     '"value": 2}]}]}', "$.values[1].values[0]: samma nyckeltal, område, år och kön som $.values[0].values[0]"),
], ids=["ogiltig-json", "inte-ett-objekt", "utan-values", "utan-kpi", "fel-period", "fel-kon", "text-som-varde",
        "samma-varde-tva-ganger"])
def test_a_broken_file_changes_nothing_and_says_where(settings, tmp_path, content, place):
    import_published(settings, [SAMPLE])
    before = _stored(settings)
    broken = tmp_path / "trasig.json"
    broken.write_text(content, encoding="utf-8")
    good = _write(tmp_path / "riket.json", [_entry(ASSESSMENTS, RIKET, 2024, 81.5)])
    with pytest.raises(KoladaFileError) as raised:
        import_published(settings, [good, broken])
    assert str(raised.value).startswith("trasig.json: ") and place in str(raised.value)
    pd.testing.assert_frame_equal(_stored(settings), before)


# --- statuses, deletions and the summary -------------------------------------------------------

def _by_key(frame: pd.DataFrame) -> dict[tuple, object]:
    return {(r.kpi, r.municipality, r.period, r.gender): r for r in frame.itertuples()}


def test_v2_file_stores_statuses_faithfully_and_not_its_deleted_value(settings):
    [v2] = import_published(settings, [V2])
    assert (v2.values, v2.new, v2.unchanged, len(v2.changed), len(v2.deleted), v2.skipped) == (7, 6, 0, 0, 0, 1)
    assert v2.next_page is None  # "next_page": null: the whole answer
    stored = _by_key(_stored(settings))
    assert len(stored) == 6 and ("U33402", VIMMERBY, 2023, "K") not in stored  # is_deleted: 1
    assert stored["U33402", HULTSFRED, 2024, "T"].status == "Privacy"
    assert pd.isna(stored["U33402", HULTSFRED, 2024, "T"].value)
    assert stored["U33402", VIMMERBY, 2023, "T"].status == "Not applicable"
    assert stored["U33402", RIKET, 2023, "T"].value == 118.0
    assert {r.source_file for r in stored.values()} == {V2.name}


def test_a_later_v3_file_says_what_it_changed_and_deleted_and_which_file_gave_it(settings):
    import_published(settings, [V2])
    [v3] = import_published(settings, [V3])
    assert (v3.values, v3.new, v3.unchanged, v3.skipped) == (8, 5, 0, 0)
    assert v3.next_page is None and v3.stored == 7
    changes = {(c.value.municipality, c.value.period): c for c in v3.changed}
    assert set(changes) == {(RIKET, 2024), (KALMAR_LAN, 2024)}
    assert (changes[RIKET, 2024].before, changes[RIKET, 2024].after) == ("121", "123")
    assert changes[KALMAR_LAN, 2024].after == "null (Missing)"
    assert {c.earlier_file for c in v3.changed} == {V2.name}
    [gone] = v3.deleted
    assert (gone.value.municipality, gone.value.period, gone.earlier_file) == (MONSTERAS, 2023, V2.name)

    lines = v3.lines()
    assert lines[0] == (f"{V3.name}: 8 värden lästa: 7 lagrade (5 nya, 0 oförändrade, 2 ändrade), "
                        "1 raderade, 0 överhoppade.")
    assert f"  Ändrat: U33402 Riket (0000) 2024 totalt: 121 → 123 (tidigare från {V2.name})." in lines
    assert f"  Raderat (borttaget hos Kolada): U33402 Mönsterås (0861) 2023 totalt (tidigare från {V2.name})." in lines

    stored = _by_key(_stored(settings))
    assert ("U33402", MONSTERAS, 2023, "T") not in stored  # the deletion removed it
    assert stored["U33402", RIKET, 2024, "T"].value == 123.0
    assert stored["U33402", RIKET, 2024, "T"].source_file == V3.name  # every value keeps its source
    assert stored["U33402", RIKET, 2023, "T"].source_file == V2.name
    assert stored["U33402", KALMAR_LAN, 2024, "T"].status == "Missing"
    assert stored["U33402", VIMMERBY, 2024, "K"].status == "Privacy"

    [again] = import_published(settings, [V3])
    assert (again.unchanged, len(again.changed), len(again.deleted), again.skipped) == (7, 0, 0, 1)


def test_deletion_on_the_data_object_and_a_file_of_several_pages(settings, tmp_path):
    import_published(settings, [V2])
    page = tmp_path / "sida1.json"
    page.write_text(json.dumps({
        "values": [{"kpi": "U33402", "municipality": RIKET, "period": 2023, "isdeleted": True,
                    "values": [{"gender": "T", "count": 1, "status": "", "value": None}]}],
        "count": 1, "next_url": "https://api.kolada.se/v3/data/kpi/U33402?page=2", "previous_url": None}),
        encoding="utf-8")
    [read] = import_published(settings, [page])
    assert len(read.deleted) == 1 and read.next_page.endswith("page=2")
    assert any("sida av flera" in line for line in read.lines())
    assert ("U33402", RIKET, 2023, "T") not in _by_key(_stored(settings))


def test_a_deleted_flag_that_is_not_true_or_false_is_an_error(settings, tmp_path):
    bad = _write(tmp_path / "fel.json", [{"kpi": "U33402", "municipality": RIKET, "period": 2024,
                                          "values": [{"gender": "T", "value": 1, "isdeleted": "ja"}]}])
    with pytest.raises(KoladaFileError, match=r"\$\.values\[0\]\.values\[0\]\.isdeleted: true, false, 1 eller 0"):
        import_published(settings, [bad])


@pytest.mark.parametrize(("status", "value", "text", "reason"), [
    ("", 12.5, "12,5", ""),
    ("Privacy", None, "..", "sekretess hos Kolada"),
    ("Privacy", 3.0, "..", "sekretess hos Kolada"),  # never shown, whatever the file holds
    ("..", None, "..", "dold uppgift"),
    ("Missing", None, "–", "saknas hos Kolada"),
    ("Not applicable", None, "–", "ej tillämpligt"),
    ("", None, "–", "saknas"),
    ("Preliminary", 7.0, "7,0", "status hos Kolada: Preliminary"),
])
def test_koladas_statuses_read_as_kolada_means_them(status, value, text, reason):
    cell, why = published_cell(value, status, "")
    assert (cell.text, why) == (text, reason)


# --- comparison, report and workbook -----------------------------------------------------------

@pytest.fixture
def compared(settings, tmp_path) -> Settings:
    """The store with Kolada's U33402 and N33812 (related KPIs of utredningstid_median_kkik,
    utredningstid_median and barn_i_familjehem) from the v2 and v3 files, and published values of
    the assessments indicator itself (by its own id) for Riket, the region and a withheld peer."""
    import_published(settings, [V2, V3, _write(tmp_path / "jamforelse.json", [
        _entry(ASSESSMENTS, RIKET, 2023, 79.25), _entry(ASSESSMENTS, RIKET, 2024, 81.5),
        _entry(ASSESSMENTS, KALMAR_LAN, 2024, 84.0), _entry(ASSESSMENTS, MONSTERAS, 2024, None, ".."),
    ])])
    return settings


def _own(results: pd.DataFrame, indicator: str, year: str) -> dict[str, float]:
    own = results[(results.indicator == indicator) & (results.period == year) & results.sex.isna()
                  & results.unit.isna() & results.age_group.isna() & results.category.isna()
                  & (results.period_type == "year")]
    return dict(zip(own.municipality, own.value, strict=True))


def test_related_kpi_is_shown_beside_the_indicator_with_its_title_and_difference(compared, results):
    found = {(c.definition.id, c.kpi, c.year): c for c in comparison_values(compared)}
    kkik = by_id()["utredningstid_median_kkik"]
    newest = found[kkik.id, "U33402", "2024"]
    related = kkik.related_kpis[0]
    assert newest.related and newest.label == f"Kolada U33402: {related.title}"
    assert newest.difference == " ".join(related.difference.split())
    # The municipalities' own figures first, each with Kolada's figure of the same area beside it,
    # then Riket, then the region.
    assert [(r.code, r.name) for r in newest.rows] == [
        (HULTSFRED, "Hultsfred"), (VIMMERBY, "Vimmerby"), (RIKET, "Riket"), (KALMAR_LAN, "Kalmar län")]
    assert {r.code: r.own.value for r in newest.rows[:2]} == pytest.approx(_own(results, kkik.id, "2024"))
    assert [(r.value.text, r.status, r.note) for r in newest.rows] == [
        ("..", "Privacy", "sekretess hos Kolada"), ("104,0", "", ""), ("123,0", "", ""),
        ("–", "Missing", "saknas hos Kolada")]
    assert [r.own for r in newest.rows[2:]] == [None, None]
    assert newest.rows[1].source == f"Importerad: {V3.name}" and newest.rows[0].source == f"Importerad: {V2.name}"
    # 2023: Vimmerby's not applicable, Riket; the deleted Mönsterås value is gone.
    older = found[kkik.id, "U33402", "2023"]
    assert [(r.code, r.value.text, r.note) for r in older.rows if r.value] == [
        (VIMMERBY, "–", "ej tillämpligt"), (RIKET, "118,0", "")]
    assert (by_id()["utredningstid_median"].id, "U33402", "2024") in found  # related to both
    assert ("barn_i_familjehem", "N33812", "2024") in found
    # The indicator's own id still matches (another Insyn's export, Riket and peers).
    own = found[ASSESSMENTS, ASSESSMENTS, "2024"]
    assert not own.related and [r.value.text for r in own.rows[2:]] == ["81,5\u00a0%", "84,0\u00a0%", ".."]


def test_a_related_kpi_of_one_category_is_set_beside_that_categorys_figure(settings, results, tmp_path):
    """An indicator by category has no total: Kolada's HVB cost per care day (N33100) stands
    beside the price list's HVB figure, its foster-home one (N33101) beside familjehem's."""
    import_published(settings, [_write(tmp_path / "kolada_vardygn.json", [
        _entry("N33100", VIMMERBY, 2024, 4321.0), _entry("N33101", VIMMERBY, 2024, 987.0)])])
    found = {(c.definition.id, c.kpi, c.year): c for c in comparison_values(settings)}
    priced = "vardkostnad_prislista_per_vardygn"
    own = results[(results.indicator == priced) & (results.municipality == VIMMERBY) & (results.period == "2024")
                  & results.sex.isna() & results.unit.isna() & results.age_group.isna()]
    for kpi, category in (("N33100", "hvb"), ("N33101", "familjehem")):
        row = found[priced, kpi, "2024"].row(VIMMERBY)
        expected = own.loc[own.category == category, "value"].item()
        assert row.own.value == pytest.approx(expected), kpi
        assert row.value.value == (4321.0 if kpi == "N33100" else 987.0)
    assert found[priced, "N33100", "2024"].indicator_name == "Kostnad per vårddygn enligt prislistan, HVB"
    # The web's comparison section shows them too, named by their category.
    from insyn.web.pages import kolada_comparison_section
    from insyn.workflows import stored_indicators

    pub = prepare(stored_indicators(settings), DisclosureRules())
    section = kolada_comparison_section(pub, by_id()[priced], [VIMMERBY], "Vimmerby", _stored(settings), None)
    assert [t.title for t in section.tables] == [
        "Kostnad per vårddygn enligt prislistan, HVB 2024: egna värden och Kolada N33100: Kostnad för HVB-hem, "
        "barn och unga 0-20 år, kr/vårddygn (genomsnitt) – Vimmerby",
        "Kostnad per vårddygn enligt prislistan, Familjehem 2024: egna värden och Kolada N33101: "
        "Kostnad/vårddygn för familjehemsvård av barn och unga 0-20 år, kr (genomsnitt) – Vimmerby"]


def test_a_related_kpi_of_an_indicator_by_category_must_name_its_category():
    from insyn.indicators.definitions import Definition

    priced = by_id()["vardkostnad_prislista_per_vardygn"].model_dump(exclude={"area"})
    priced["related_kpis"][0].pop("category")
    with pytest.raises(ValueError, match="each related KPI needs the category it is set beside"):
        Definition.model_validate(priced)
    total = by_id()["vardkostnad_per_invanare_0_20"].model_dump(exclude={"area"})
    total["related_kpis"][0]["category"] = "hvb"
    with pytest.raises(ValueError, match="a related KPI's category needs an indicator by category"):
        Definition.model_validate(total)


def test_a_reader_sees_own_figures_only_of_the_municipalities_given(compared):
    from insyn.publish.kolada import comparisons
    from insyn.workflows import stored_indicators

    pub = prepare(stored_indicators(compared), DisclosureRules())
    [kkik] = [c for c in comparisons(pub, _stored(compared), own=[VIMMERBY])
              if c.definition.id == "utredningstid_median_kkik" and c.year == "2024"]
    assert [(r.code, r.own is not None) for r in kkik.rows] == [
        (VIMMERBY, True), (RIKET, False), (KALMAR_LAN, False), (HULTSFRED, False)]
    assert kkik.row(HULTSFRED).value.text == ".."  # Kolada's figures are public


def test_report_and_workbook_show_the_comparison_only_when_values_were_imported(compared, results, tmp_path):
    imported = _stored(compared)
    pub = prepare(results, DisclosureRules())
    html = write_report(pub, tmp_path / "med.html", imported=imported).read_text(encoding="utf-8")
    assert ">Publicerade jämförelsevärden (Kolada)</h2>" in html and 'href="#jamforelsevarden"' in html
    kkik = by_id()["utredningstid_median_kkik"]
    title = kkik.related_kpis[0].title
    assert f"{kkik.name} 2024: Kolada U33402: {title}</h3>" in html
    assert "Så skiljer sig måtten:" in html
    parser = Tables()
    parser.feed(html)
    rows = parser.rows(f"{kkik.name} 2024: egna värden och Kolada U33402: {title}")
    assert rows[0] == ["Område", "Insyn (egna uppgifter), dagar", "Kolada U33402", "Källa", "Anmärkning"]
    table = {row[0]: row for row in rows}
    own = _own(results, kkik.id, "2024")
    assert table["Vimmerby"][1:] == [_text(own[VIMMERBY]), "104,0", f"Importerad: {V3.name}", ""]
    assert table["Hultsfred"][2:] == ["..", f"Importerad: {V2.name}", "sekretess hos Kolada"]
    assert table["Riket"][1:] == ["", "123,0", f"Importerad: {V3.name}", ""]
    assert table["Kalmar län"][2:] == ["–", f"Importerad: {V3.name}", "saknas hos Kolada"]
    assert f"{kkik.name} 2023: egna" not in html  # the report shows the newest year
    assessments = parser.table(f"{by_id()[ASSESSMENTS].name} 2024: egna värden och "
                               f"Publicerade värden för {ASSESSMENTS}")
    assert assessments["Mönsterås"][2] == ".."

    sheet = openpyxl.load_workbook(write_workbook(pub, tmp_path / "med.xlsx", imported=imported))[
        "Jämförelsevärden (Kolada)"]
    header, *body = [r for r in sheet.iter_rows(values_only=True) if r[1]]
    assert list(header) == ["Indikator", "År", "Område", "Kod", "Eget värde (Insyn)", "Nyckeltal",
                            "Nyckeltalets namn", "Så skiljer sig måtten", "Värde (inläst)", "Status (som inläst)",
                            "Anmärkning", "Källa"]
    by_row = {(r[0], r[1], r[3], r[5]): r for r in body}
    vimmerby = by_row[name_with_unit(kkik), "2024", VIMMERBY, "U33402"]
    assert vimmerby[4] == pytest.approx(own[VIMMERBY]) and vimmerby[8] == 104.0
    assert vimmerby[6] == title and vimmerby[7] == " ".join(kkik.related_kpis[0].difference.split())
    assert by_row[name_with_unit(kkik), "2024", HULTSFRED, "U33402"][8:12] == ("..", "Privacy", "sekretess hos Kolada",
                                                                     f"Importerad: {V2.name}")
    assert by_row[name_with_unit(kkik), "2023", VIMMERBY, "U33402"][8:11] == (None, "Not applicable", "ej tillämpligt")
    assert by_row[name_with_unit(kkik), "2023", RIKET, "U33402"][8] == 118.0  # the workbook has every year

    assert "Publicerade jämförelsevärden" not in write_report(pub, tmp_path / "utan.html").read_text(
        encoding="utf-8")
    assert "Jämförelsevärden (Kolada)" not in openpyxl.load_workbook(
        write_workbook(pub, tmp_path / "utan.xlsx")).sheetnames


def test_insyn_report_shows_the_imported_values(compared, tmp_path):
    from insyn.workflows import write_report as report_command

    written = report_command(compared, tmp_path / "rapport")
    html = written["html"].read_text(encoding="utf-8")
    assert "Kolada U33402" in html and "sekretess hos Kolada" in html
    assert "Jämförelsevärden (Kolada)" in openpyxl.load_workbook(written["excel"]).sheetnames


# --- the command -------------------------------------------------------------------------------

def test_export_and_import_commands(settings, tmp_path):
    runner = CliRunner()
    data_dir = str(settings.data_dir)
    out = tmp_path / "kolada.json"
    exported = runner.invoke(app, ["--data-dir", data_dir, "export", "--format", "kolada", "--ut", str(out),
                                   "--kommun", VIMMERBY, "--ar", "2024"])
    assert exported.exit_code == 0, exported.output
    assert {e["municipality"] for e in json.loads(out.read_text(encoding="utf-8"))["values"]} == {VIMMERBY}
    printed = runner.invoke(app, ["--data-dir", data_dir, "export", "--format", "kolada"])
    assert printed.exit_code == 0 and json.loads(printed.output) == export_kolada(settings)

    imported = runner.invoke(app, ["--data-dir", data_dir, "import", "--format", "kolada", str(out)])
    assert imported.exit_code == 0, imported.output
    assert "kolada.json: " in imported.output and " värden lästa: " in imported.output

    runner.invoke(app, ["--data-dir", data_dir, "import", "--format", "kolada", str(V2)])
    later = runner.invoke(app, ["--data-dir", data_dir, "import", "--format", "kolada", str(V3)])
    assert later.exit_code == 0, later.output
    assert "2 ändrade), 1 raderade" in later.output
    assert f"Ändrat: U33402 Riket (0000) 2024 totalt: 121 → 123 (tidigare från {V2.name})." in later.output

    broken = _write(tmp_path / "fel.json", [{"kpi": "N01951", "municipality": "0000", "period": 2024,
                                             "values": [{"gender": "X", "value": 1}]}])
    failed = runner.invoke(app, ["--data-dir", data_dir, "import", "--format", "kolada", str(broken)])
    assert failed.exit_code == 1
    assert "fel.json: $.values[0].values[0].gender" in failed.output and "Inget har lästs in" in failed.output
