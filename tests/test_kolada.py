"""Kolada-shaped export and import (docs/kolada.md) on a real DuckDB store: the export holds only
disclosure-protected yearly municipality figures and round-trips through the import; a file in
Kolada's own shape imports; a re-import adds nothing and a broken file changes nothing; the report
and the workbook show the comparison only when published values were imported.
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
from test_publish import Tables, _replace, build_results
from typer.testing import CliRunner

from insyn.cli import app
from insyn.disclosure.rules import DisclosureRules
from insyn.disclosure.status import is_hidden
from insyn.indicators.definitions import by_id
from insyn.publish.excel import write_workbook
from insyn.publish.formatting import prepare
from insyn.publish.kolada import KoladaFileError, kolada_kpi, stored_published_values, to_json
from insyn.publish.report import write_report
from insyn.settings import Settings
from insyn.workflows import comparison_values, export_kolada, import_published, store_for

SAMPLE = Path(__file__).parent / "data" / "kolada_sample.json"
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


# --- comparison, report and workbook -----------------------------------------------------------

@pytest.fixture
def compared(settings, tmp_path) -> Settings:
    """The store with published values of the assessments indicator imported: Riket two years,
    the region and a peer whose value Kolada withholds."""
    import_published(settings, [SAMPLE, _write(tmp_path / "jamforelse.json", [
        _entry(ASSESSMENTS, RIKET, 2023, 79.25), _entry(ASSESSMENTS, RIKET, 2024, 81.5),
        _entry(ASSESSMENTS, KALMAR_LAN, 2024, 84.0), _entry(ASSESSMENTS, MONSTERAS, 2024, None, ".."),
    ])])
    return settings


def test_comparison_puts_own_figures_beside_riket_and_peers(compared, results):
    found = comparison_values(compared)
    assert [(c.definition.id, c.year) for c in found] == [(ASSESSMENTS, "2024"), (ASSESSMENTS, "2023")]
    newest = found[0]
    assert [(f.code, f.name) for f in newest.figures] == [
        (HULTSFRED, "Hultsfred"), (VIMMERBY, "Vimmerby"), (RIKET, "Riket"), (KALMAR_LAN, "Kalmar län"),
        (MONSTERAS, "Mönsterås")]
    own = results[(results.indicator == ASSESSMENTS) & (results.period == "2024") & results.sex.isna()
                  & results.unit.isna() & results.age_group.isna() & (results.period_type == "year")]
    assert {f.code: f.cell.value for f in newest.figures[:2]} == pytest.approx(
        dict(zip(own.municipality, own.value, strict=True)))
    assert [f.cell.text for f in newest.figures[2:]] == ["81,5\u00a0%", "84,0\u00a0%", ".."]
    assert newest.figures[0].source == "Insyn (egna uppgifter)"
    assert newest.figures[2].source == "Importerad: jamforelse.json"


def test_report_and_workbook_show_the_comparison_only_when_values_were_imported(compared, results, tmp_path):
    imported = _stored(compared)
    pub = prepare(results, DisclosureRules())
    html = write_report(pub, tmp_path / "med.html", imported=imported).read_text(encoding="utf-8")
    assert ">Publicerade jämförelsevärden (Kolada)</h2>" in html and 'href="#jamforelsevarden"' in html
    parser = Tables()
    parser.feed(html)
    table = parser.table(f"{by_id()[ASSESSMENTS].name} 2024: egna och inlästa värden")
    assert table["Riket"][1:] == ["81,5\u00a0%", "Importerad: jamforelse.json"]
    assert table["Mönsterås"][1] == ".." and table["Vimmerby"][2] == "Insyn (egna uppgifter)"
    assert f"{by_id()[ASSESSMENTS].name} 2023: egna" not in html  # the report shows the newest year

    sheet = openpyxl.load_workbook(write_workbook(pub, tmp_path / "med.xlsx", imported=imported))[
        "Jämförelsevärden (Kolada)"]
    rows = [r for r in sheet.iter_rows(min_row=2, values_only=True) if r[3]]
    assert ("2023", "Riket", RIKET, 79.25) in {r[1:5] for r in rows}
    assert ("2024", "Mönsterås", MONSTERAS, "..") in {r[1:5] for r in rows}

    assert "Publicerade jämförelsevärden" not in write_report(pub, tmp_path / "utan.html").read_text(
        encoding="utf-8")
    assert "Jämförelsevärden (Kolada)" not in openpyxl.load_workbook(
        write_workbook(pub, tmp_path / "utan.xlsx")).sheetnames


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
    assert "kolada.json:" in imported.output and "värden inlästa" in imported.output

    broken = _write(tmp_path / "fel.json", [{"kpi": "N01951", "municipality": "0000", "period": 2024,
                                             "values": [{"gender": "X", "value": 1}]}])
    failed = runner.invoke(app, ["--data-dir", data_dir, "import", "--format", "kolada", str(broken)])
    assert failed.exit_code == 1
    assert "fel.json: $.values[0].values[0].gender" in failed.output and "Inget har lästs in" in failed.output
