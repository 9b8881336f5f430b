"""The Kolada round trip on a demo-like store (synthetic exports of three municipalities of the
demo region, imported and computed; tests/webapp.py): a file in Kolada's v3 shape with the real
KPI U33402 (related to utredningstid_median_kkik) for a municipality of the data, Riket and the
region, and a `Privacy` cell, is imported with `insyn import --format kolada`; then `insyn report`'s
HTML and workbook and the web app's Översikt and Jämförelse (FastAPI's TestClient, logged in
through the real form) show Kolada's value beside the own figure and the Privacy cell as `..`.
A municipality's user sees only its own municipality's own figures beside Kolada's.
"""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from test_publish import Tables
from typer.testing import CliRunner
from webapp import OWN, WebData, copy_data_folder, csv_rows, logged_in, tables_of

from insyn.cli import app as cli
from insyn.indicators.definitions import by_id
from insyn.publish.views import name_with_unit
from insyn.swedish import format_value
from insyn.web.app import create_app

pytest_plugins = ["webapp"]

KKIK = "utredningstid_median_kkik"  # related_kpis: U33402
PEER, RIKET, KALMAR_LAN = "0860", "0000", "0008"  # Hultsfred, in the data, in Kalmar län as OWN is
YEAR = 2024
OWN_KOLADA, RIKET_KOLADA = 104.0, 123.0  # illustrative figures in Kolada's shape, not Kolada's


def _v3_file(path: Path) -> Path:
    """A Kolada v3 data response for U33402: OWN and Riket with values, the peer withheld
    (Privacy), the region missing, and a value Kolada has deleted."""
    def entry(municipality: str, value: float | None, status: str = "", deleted: bool = False) -> dict:
        return {"kpi": "U33402", "municipality": municipality, "period": YEAR,
                "values": [{"gender": "T", "count": 1, "status": status, "value": value, "isdeleted": deleted}]}

    path.write_text(json.dumps({"values": [
        entry(OWN, OWN_KOLADA), entry(RIKET, RIKET_KOLADA), entry(PEER, None, "Privacy"),
        entry(KALMAR_LAN, None, "Missing"), entry("1407", None, deleted=True),
    ], "count": 5, "next_url": None, "previous_url": None}), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def kolada_data(web_data, web_users, tmp_path_factory) -> WebData:
    """A copy of the web data folder (its users too) with the Kolada file imported by the command."""
    data = copy_data_folder(web_data, tmp_path_factory.mktemp("kolada") / "data")
    source = _v3_file(data.data_dir.parent / "kolada_U33402.json")
    result = CliRunner().invoke(cli, ["--data-dir", str(data.data_dir), "import", "--format", "kolada", str(source)])
    assert result.exit_code == 0, result.output
    assert "kolada_U33402.json: 5 värden lästa: 4 lagrade (4 nya" in result.output
    assert "1 överhoppade" in result.output  # the deleted value: not stored
    return data


def _raw(data: WebData, code: str) -> float:
    rows = data.results[(data.results.indicator == KKIK) & (data.results.municipality == code)
                        & (data.results.period == str(YEAR)) & (data.results.period_type == "year")
                        & data.results[["unit", "sex", "age_group", "category"]].isna().all(axis=1)]
    assert len(rows) == 1, "the demo-like data has the indicator for the year"
    return float(rows.value.iloc[0])


def test_report_and_workbook_show_the_real_kpi_beside_the_own_figure(kolada_data, tmp_path):
    result = CliRunner().invoke(cli, ["--data-dir", str(kolada_data.data_dir), "report", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    html = (tmp_path / "rapport.html").read_text(encoding="utf-8")
    definition = by_id()[KKIK]
    title = definition.related_kpis[0].title
    parser = Tables()
    parser.feed(html)
    table = parser.table(f"{definition.name} {YEAR}: egna värden och Kolada U33402: {title}")
    own, kolada = table["Vimmerby"][1], table["Vimmerby"][2]
    assert kolada == "104,0" and own not in ("", "–")  # the own figure (or its ".."), Kolada's beside it
    assert table["Hultsfred"][2:4] == ["..", "Importerad: kolada_U33402.json"]
    assert table["Hultsfred"][4] == "sekretess hos Kolada"
    assert table["Riket"][2] == "123,0" and table["Kalmar län"][2:] == ["–", "Importerad: kolada_U33402.json",
                                                                         "saknas hos Kolada"]
    assert table["Öckerö"][2:4] == ["–", ""]  # deleted in Kolada: no value, no source

    sheet = openpyxl.load_workbook(tmp_path / "insyn.xlsx")["Jämförelsevärden (Kolada)"]
    rows = {(r[0], r[1], r[3], r[5]): r for r in sheet.iter_rows(min_row=2, values_only=True) if r[1]}
    vimmerby = rows[name_with_unit(definition), str(YEAR), OWN, "U33402"]
    assert vimmerby[8] == OWN_KOLADA and vimmerby[6] == title
    assert rows[name_with_unit(definition), str(YEAR), PEER, "U33402"][8:10] == ("..", "Privacy")


def _kolada_row(table: list[list[str]], first: str) -> list[str]:
    found = [row for row in table[1:] if row and row[0] == first]
    assert len(found) == 1, (first, table[:3])
    return found[0]


@pytest.fixture(scope="module")
def kolada_app(kolada_data):
    return create_app(kolada_data.settings)


def test_overview_shows_koladas_figure_beside_the_municipalitys_own(kolada_app, kolada_data):
    definition = by_id()[KKIK]
    admin = logged_in(kolada_app, "admin")
    page = admin.get(f"/oversikt?kommun={OWN}")
    assert page.status_code == 200, page.text
    tables = tables_of(page.text)
    header, *_ = tables["kolada"]
    assert header[:7] == ["Indikator", "År", "Insyn (eget värde)", "Nyckeltal", "Kolada: Vimmerby", "Riket",
                          "Kalmar län"]
    row = _kolada_row(tables["kolada"], name_with_unit(definition))
    assert row[1] == str(YEAR) and row[3] == f"Kolada U33402: {definition.related_kpis[0].title}"
    assert row[4:7] == ["104,0", "123,0", "–"] and "Kalmar län: saknas hos Kolada" in row[7]
    assert row[8] == "Importerad: kolada_U33402.json"
    # The own figure is the one the overview itself shows for the indicator.
    overview = _kolada_row(tables["oversikt-arendeflode"], name_with_unit(definition))
    assert overview[1] == str(YEAR) and row[2] == overview[2]

    withheld = _kolada_row(tables_of(admin.get(f"/oversikt?kommun={PEER}").text)["kolada"], name_with_unit(definition))
    assert withheld[4] == ".." and "Hultsfred: sekretess hos Kolada" in withheld[7]
    download = admin.get(f"/oversikt/tabell/kolada.csv?kommun={OWN}")
    assert download.status_code == 200
    assert any(r[0] == name_with_unit(definition) and r[4] == "104,0" for r in csv_rows(download.content))
    admin.close()


def test_comparison_page_and_a_municipalitys_scope(kolada_app, kolada_data):
    definition = by_id()[KKIK]
    admin = logged_in(kolada_app, "admin")
    tables = tables_of(admin.get(f"/jamforelse?indikator={KKIK}").text)
    table = tables["kolada-U33402"]
    assert table[0] == ["Område", f"Insyn (egna uppgifter), {definition.unit}", "Kolada U33402", "Källa",
                        "Anmärkning"]
    assert _kolada_row(table, "Vimmerby")[2] == "104,0"
    assert _kolada_row(table, "Hultsfred")[2:] == ["..", "Importerad: kolada_U33402.json", "sekretess hos Kolada"]
    assert _kolada_row(table, "Riket")[1:3] == ["", "123,0"]
    assert [row[0] for row in table[1:]][:2] == ["Hultsfred", "Vimmerby"]  # own figures first, then Riket
    assert _kolada_row(table, "Hultsfred")[1] != ""  # the region's roles see every own figure as published
    admin.close()

    municipality = logged_in(kolada_app, "kommun")  # OWN's user: OWN in full
    table = tables_of(municipality.get(f"/jamforelse?indikator={KKIK}").text)["kolada-U33402"]
    assert _kolada_row(table, "Vimmerby")[1:3] == [format_value(_raw(kolada_data, OWN), definition.unit), "104,0"]
    assert _kolada_row(table, "Hultsfred")[1:3] == ["", ".."]  # only the own municipality's own figures
    assert [row[0] for row in table[1:]][:2] == ["Vimmerby", "Riket"]
    other = tables_of(municipality.get(f"/oversikt?kommun={PEER}").text)["kolada"]
    title = definition.related_kpis[0].title
    assert _kolada_row(other, name_with_unit(definition))[2:5] == ["", f"Kolada U33402: {title}", ".."]
    municipality.close()
