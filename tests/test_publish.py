"""The HTML report and the Excel workbook: written, self-contained, in Swedish number format,
and never showing a small count — neither the planted counts of 1–4 nor values derived from them.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from itertools import pairwise
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from insyn.indicators.definitions import by_id, library
from insyn.indicators.engine import RESULT_COLUMNS
from insyn.model.codes import codes
from insyn.publish import publish
from insyn.publish.excel import SHEETS
from insyn.publish.formatting import (
    LONG_COLUMNS,
    format_number,
    format_value,
    place,
    prepare,
    swedish_sort_key,
)

GOTEBORG, VIMMERBY, VAXJO = "1480", "0884", "0780"
MUNICIPALITIES = [GOTEBORG, VIMMERBY, VAXJO]
YEARS = ["2023", "2024"]
NNBSP = "\u202f"


def _row(indicator, municipality, period, numerator, denominator, value, **dimensions):
    row = dict.fromkeys(RESULT_COLUMNS)
    period_type = "quarter" if "-Q" in period else "year"
    row.update(indicator=indicator, municipality=municipality, period=period,
               period_type=period_type, numerator=numerator, denominator=denominator, value=value,
               **dimensions)
    return row


def _share(indicator, municipality, period, numerator, denominator, **dimensions):
    return _row(indicator, municipality, period, numerator, denominator,
                100 * numerator / denominator if denominator else None, **dimensions)


def build_results(municipalities: list[str], years: list[str]) -> pd.DataFrame:
    """Plausible results for every library indicator, all counts 5 or more (nothing suppressed)."""
    rows = []
    for m, code in enumerate(municipalities):
        for y, year in enumerate(years):
            for definition in library():
                if definition.requires_followup_months and year == years[-1]:
                    continue  # the data does not reach far enough past the last year
                i = definition.id
                if definition.category:
                    sources = codes(definition.category)
                    counts = [40 + 13 * k + 7 * m + 5 * y for k in range(len(sources))]
                    rows += [_share(i, code, year, n, sum(counts), category=s)
                             for s, n in zip(sources, counts, strict=True)]
                elif definition.statistic:
                    rows.append(_row(i, code, year, None, 60 + 9 * m + 4 * y, 71.5 + 6 * m - 3 * y))
                    rows += [_row(i, code, year, None, 30 + 4 * m + 2 * y,
                                  69.0 + 6 * m - 3 * y + s, sex=sex)
                             for s, sex in enumerate(["female", "male"])]
                elif definition.denominator.population:
                    population = 15_000 + 2_500 * m
                    numerator = 250 + 31 * m + 17 * y
                    rows.append(_row(i, code, year, numerator, population,
                                     1000 * numerator / population))
                else:
                    denominator = 140 + 23 * m + 11 * y
                    numerator = int(denominator * min(0.62 + 0.021 * m + 0.04 * y, 1))
                    rows.append(_share(i, code, year, numerator, denominator))
                    rows += [_share(i, code, year, numerator // 2 - s, denominator // 2, sex=sex)
                             for s, sex in enumerate(["female", "male"])]
                    rows += [_share(i, code, year, numerator // 2, denominator // 2, age_group=age)
                             for age in ("0-12", "13-17")]
                    if "unit" in definition.breakdowns:
                        rows.append(_share(i, code, year, numerator, denominator,
                                           unit="Mottagning"))
                    rows += [_share(i, code, f"{year}-Q{q}", numerator // 4, denominator // 4)
                             for q in range(1, 5)]
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def _replace(frame: pd.DataFrame, planted: dict, **match) -> None:
    hit = pd.Series(True, index=frame.index)
    for column in ("unit", "sex", "age_group", "category"):
        hit &= frame[column].isna() if column not in match else frame[column] == match[column]
    for column in ("indicator", "municipality", "period"):
        hit &= frame[column] == match[column]
    assert hit.sum() == 1, match
    for column, value in planted.items():
        frame.loc[hit, column] = value


def _text(value: float) -> str:
    """One decimal with a decimal comma, written independently of the code under test."""
    return f"{value:.1f}".replace(".", ",")


@pytest.fixture(scope="module")
def planted_results() -> tuple[pd.DataFrame, list[str]]:
    """The results with small counts planted, and the value texts that would give them away."""
    frame = build_results(MUNICIPALITIES, YEARS)
    _replace(frame, {"numerator": 3, "denominator": 7, "value": 300 / 7},
             indicator="utredning_inom_4_manader", municipality=VIMMERBY, period="2024")
    _replace(frame, {"numerator": 4, "value": 4000 / 17_500},
             indicator="anmalningar_per_1000_barn", municipality=VAXJO, period="2023")
    _replace(frame, {"denominator": 4, "value": 97.5},
             indicator="utredningstid_median", municipality=VAXJO, period="2024", sex="male")
    _replace(frame, {"numerator": 4, "denominator": 9, "value": 400 / 9},
             indicator="forhandsbedomning_inom_14_dagar", municipality=VIMMERBY, period="2024-Q3")
    _replace(frame, {"numerator": 1, "denominator": 1, "value": 100.0},
             indicator="andel_forhandsbedomningar_till_utredning", municipality=GOTEBORG,
             period="2023", age_group="13-17")
    sources = frame[(frame.indicator == "anmalningar_per_kalla") & (frame.municipality == GOTEBORG)
                    & (frame.period == "2024")]
    source_total = sources.numerator.sum()
    _replace(frame, {"numerator": 2, "value": 200 / source_total},
             indicator="anmalningar_per_kalla", municipality=GOTEBORG, period="2024",
             category="barnet_sjalv")
    revealing = [_text(300 / 7), _text(4000 / 17_500), "97,5", _text(400 / 9),
                 _text(200 / source_total)]
    return frame, revealing


@pytest.fixture(scope="module")
def published(planted_results, tmp_path_factory) -> dict[str, Path]:
    frame, _ = planted_results
    return publish(frame, tmp_path_factory.mktemp("publicerat"))


@pytest.fixture(scope="module")
def html(published) -> str:
    return published["html"].read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def workbook(published):
    return openpyxl.load_workbook(published["excel"])


class Tables(HTMLParser):
    """Every table of a page: its caption and its rows of cell texts."""

    def __init__(self):
        super().__init__()
        self.tables: list[dict] = []
        self._target: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append({"caption": "", "rows": []})
        elif tag == "caption":
            self._target = ["caption"]
        elif tag == "tr" and self.tables:
            self.tables[-1]["rows"].append([])
        elif tag in ("td", "th") and self.tables:
            self.tables[-1]["rows"][-1].append("")
            self._target = ["cell"]

    def handle_endtag(self, tag):
        if tag in ("caption", "td", "th"):
            self._target = None

    def handle_data(self, data):
        if self._target == ["caption"]:
            self.tables[-1]["caption"] += data
        elif self._target == ["cell"]:
            self.tables[-1]["rows"][-1][-1] += data

    def table(self, caption: str) -> dict[str, list[str]]:
        """The table with this caption, as first cell -> the row's cells (stripped)."""
        found = next(t for t in self.tables if t["caption"].strip() == caption)
        return {row[0].strip(): [c.strip() for c in row] for row in found["rows"] if row}


@pytest.fixture(scope="module")
def tables(html) -> Tables:
    parser = Tables()
    parser.feed(html)
    return parser


def _appears(text: str, page: str) -> bool:
    """Whether `text` occurs as a whole number in `page` (not as part of a longer one)."""
    return re.search(rf"(?<![\d,{NNBSP}]){re.escape(text)}(?![\d,])", page) is not None


# --- files and self-containment ---------------------------------------------------------------

def test_both_files_are_written(published):
    assert published["html"].name == "rapport.html" and published["html"].stat().st_size > 0
    assert published["excel"].name == "insyn.xlsx" and published["excel"].stat().st_size > 0


def test_report_is_swedish_and_self_contained(html):
    assert '<html lang="sv">' in html
    assert '<meta charset="utf-8">' in html
    assert not re.search(r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//""", html, re.I)
    assert not re.search(r"url\(\s*['\"]?\s*(?:https?:)?//", html, re.I)
    assert "<script" not in html.lower() and "<link" not in html.lower() and "@import" not in html


def test_report_has_every_section_and_accessible_charts(html, tables):
    for heading in ("Sammanfattning", "Indikatorer", "Kommuner", "Om statistiken"):
        assert f">{heading}</h2>" in html
    for definition in library():
        assert definition.name in html
    for name in ("Göteborg", "Vimmerby", "Växjö"):
        assert f'<h3>{name} <span class="code">' in html
    charts = html.count('role="img"')
    assert charts and charts == html.count("<title id=") == html.count("<desc id=")
    assert html.count("<svg") == charts + html.count('<svg class="share-bar" aria-hidden="true"')
    levels = [int(level) for level in re.findall(r"<h([1-6])", html)]
    assert levels[0] == 1 and all(b - a <= 1 for a, b in pairwise(levels))
    assert all(t["caption"].strip() for t in tables.tables)


def test_report_tells_where_the_populations_come_from(html):
    assert "SCB" in html and "uppskattat" in html
    assert "färre än 5" in html


# --- small counts ------------------------------------------------------------------------------

def test_suppressed_values_show_as_two_dots(tables):
    name = by_id()["utredning_inom_4_manader"].name
    ranking = tables.table(f"{name} 2024")
    assert ranking["Vimmerby"][1:] == ["..", "..", ".."]
    overview = tables.table("Indikatorer per kommun 2024")
    column = next(i for i, header in enumerate(overview["Kommun"]) if header.startswith(name))
    assert overview["Vimmerby"][column] == ".."


def test_small_counts_and_their_values_appear_nowhere_in_the_report(html, tables, planted_results):
    _, revealing = planted_results
    for text in revealing:
        assert not _appears(text, html), text
    cells = [c.strip() for t in tables.tables for row in t["rows"] for c in row[1:]]
    assert not {"1", "2", "3", "4"} & set(cells)


def test_small_counts_and_their_values_appear_nowhere_in_the_workbook(workbook, planted_results):
    frame, revealing = planted_results
    small = frame[(frame.numerator.between(1, 4)) | (frame.denominator.between(1, 4))]
    hidden_values = [v for v in small.value if v == v and v not in (100.0,)]
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    assert not any(_appears(text, cell.value) for text in revealing), cell.value
                elif isinstance(cell.value, (int, float)):
                    leaked = [v for v in hidden_values if cell.value == pytest.approx(v)]
                    assert not leaked, cell.coordinate
    long = workbook["Indikatorer"]
    headers = [c.value for c in long[1]]
    for column in ("Täljare", "Nämnare"):
        index = headers.index(column)
        counts = [r[index].value for r in long.iter_rows(min_row=2)]
        assert not [c for c in counts if isinstance(c, (int, float)) and 1 <= c <= 4], column
    statuses = [r[headers.index("Status")].value for r in long.iter_rows(min_row=2)]
    assert statuses.count("undertryckt") == len(small)


# --- the workbook ------------------------------------------------------------------------------

def test_workbook_sheets_headers_and_layout(workbook):
    assert workbook.sheetnames == list(SHEETS)
    long = workbook["Indikatorer"]
    assert [c.value for c in long[1]] == LONG_COLUMNS
    for name in ("Översikt", "Indikatorer", "Anmälare", "Definitioner"):
        sheet = workbook[name]
        assert sheet.freeze_panes == "A2", name
        assert sheet.auto_filter.ref, name
        assert all(c.font.b for c in sheet[1] if c.value), name
    assert "SCB" in " ".join(str(c.value) for c in workbook["Om statistiken"]["A"] if c.value)


def test_workbook_number_formats_and_suppressed_cells(workbook):
    long = workbook["Indikatorer"]
    headers = [c.value for c in long[1]]
    value, numerator, indicator = (headers.index(h) for h in ("Värde", "Täljare", "Indikator"))
    percent_name = by_id()["utredning_inom_4_manader"].name
    rate_name = by_id()["anmalningar_per_1000_barn"].name
    formats = {}
    for row in long.iter_rows(min_row=2):
        if isinstance(row[value].value, float):
            formats.setdefault(row[indicator].value, set()).add(row[value].number_format)
        if isinstance(row[numerator].value, (int, float)):
            assert row[numerator].number_format == "#,##0"
    assert formats[percent_name] == {'0.0" %"'}
    assert formats[rate_name] == {"#,##0.0"}
    dots = [c for sheet in workbook.worksheets for row in sheet.iter_rows() for c in row
            if c.value == ".."]
    assert dots and all(c.alignment.horizontal == "right" for c in dots)
    overview = workbook["Översikt"]
    below_target = [c for row in overview.iter_rows(min_row=2) for c in row
                    if isinstance(c.value, float) and "▾" in c.number_format]
    assert below_target


def test_sources_sheet_has_a_share_per_source(workbook):
    sheet = workbook["Anmälare"]
    headers = [c.value for c in sheet[1]]
    assert "Skola (%)" in headers and "Polis (%)" in headers
    names = [r[0].value for r in sheet.iter_rows(min_row=2, max_row=4)]
    assert names == ["Göteborg", "Vimmerby", "Växjö"]


# --- Swedish formatting and ranking -------------------------------------------------------------

def test_swedish_number_format():
    assert format_number(1234.56) == f"1{NNBSP}234,6"
    assert format_number(0.05) == "0,1"
    assert format_value(92.34, "%") == "92,3\u00a0%"
    assert format_value(1234567, "antal") == f"1{NNBSP}234{NNBSP}567"
    assert format_value(187.44, "per 1 000") == "187,4"


def test_report_uses_decimal_comma_and_thin_space_thousands(html, tables):
    assert re.search(r"\d,\d\u00a0%", html)
    assert not re.search(r">\d+\.\d+(?:\u00a0%)?<", html)
    ranking = tables.table(f"{by_id()['anmalningar_per_1000_barn'].name} 2024")
    assert ranking["Göteborg"][3] == f"15{NNBSP}000"


def test_swedish_alphabetical_order():
    names = ["Öckerö", "Ale", "Ängelholm", "Åre", "Zinkgruvan"]
    expected = ["Ale", "Zinkgruvan", "Åre", "Ängelholm", "Öckerö"]
    assert sorted(names, key=swedish_sort_key) == expected


def test_place_respects_direction(planted_results):
    frame, _ = planted_results
    pub = prepare(frame, 5)
    # Higher is better: Växjö has the highest share in time, Göteborg the lowest.
    within = by_id()["forhandsbedomning_inom_14_dagar"]
    assert place(pub, within, VAXJO, "2024") == (1, 3)
    assert place(pub, within, GOTEBORG, "2024") == (3, 3)
    # Lower is better: Göteborg has the shortest median investigation time.
    median = by_id()["utredningstid_median"]
    assert place(pub, median, GOTEBORG, "2024") == (1, 3)
    # Suppressed: no place, and the others are ranked among themselves.
    investigations = by_id()["utredning_inom_4_manader"]
    assert place(pub, investigations, VIMMERBY, "2024") is None
    assert place(pub, investigations, VAXJO, "2024") == (1, 2)
    # No better direction: no place.
    assert place(pub, by_id()["anmalningar_per_1000_barn"], GOTEBORG, "2024") is None


def test_the_threshold_is_the_callers(planted_results, tmp_path):
    frame, _ = planted_results
    paths = publish(frame, tmp_path, threshold=10)
    assert "färre än 10" in paths["html"].read_text(encoding="utf-8")


def test_incomplete_periods_are_not_published(tmp_path):
    frame = build_results(MUNICIPALITIES, YEARS)
    frame["complete"] = True
    latest = max(YEARS)
    frame.loc[frame.period.str.startswith(latest), "complete"] = False
    paths = publish(frame, tmp_path)
    html = paths["html"].read_text(encoding="utf-8")
    assert f"Indikatorer per kommun {min(YEARS)}" in html
    assert f"Indikatorer per kommun {latest}" not in html
    periods = {row[3] for row in openpyxl.load_workbook(paths["excel"])["Indikatorer"].iter_rows(
        min_row=2, values_only=True)}
    assert periods and not any(str(p).startswith(latest) for p in periods)
