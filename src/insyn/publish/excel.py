"""The Excel workbook: an overview per area, every published row in long form, report sources,
the workforce over the years, training coverage with its gaps, unit load per month, definitions
and notes, with Swedish sheet names (in the order of publish/layout.yaml) and real number
formats (xlsxwriter).
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import xlsxwriter
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from insyn.publish.cells import MISSES_TARGET_MARK, Cell
from insyn.publish.kolada import STATUS_LEGEND, Comparison, comparisons
from insyn.publish.layout import SheetPlan, report_layout
from insyn.publish.notes import legend, notes, unit_load_note
from insyn.publish.publication import DEFAULT_TITLE, SYNTHETIC_LABEL, Publication
from insyn.publish.views import (
    LONG_COLUMNS,
    category_table,
    coverage_tables,
    definition_rows,
    long_rows,
    name_with_unit,
    overview,
    reference_day,
    trend,
    unit_loads,
    years_text,
)
from insyn.spreadsheet import XLSX_OPTIONS
from insyn.swedish import WHOLE_NUMBER_UNITS, format_date, shown_whole

COMPARISON_SHEET = "Jämförelsevärden (Kolada)"  # only when published values were imported
WHOLE_NUMBER_FORMAT = "#,##0"
PERCENT_FORMAT = '0.0" %"'
DECIMAL_FORMAT = "#,##0.0"
NO_WORKLOAD = "Underlaget har ingen arbetstyngd: den beräknas ur personal och ärenden med handläggare."
MISS_FILL = "#FDECEB"
SYNTHETIC_COLOUR = "#B3261E"
MIN_WIDTH, MAX_WIDTH, WRAPPED_WIDTH = 8, 48, 70
HEADER_WIDTH = 18  # columns of tables whose long headers wrap
LINE_HEIGHT = 15


class Formats:
    """The workbook's cell formats, made once each."""

    def __init__(self, workbook: Workbook):
        self.workbook = workbook
        self.header = workbook.add_format({"bold": True, "text_wrap": True, "valign": "top",
                                           "bottom": 1, "bg_color": "#EEF2F6"})
        self.heading = workbook.add_format({"bold": True, "font_size": 12})
        self.title = workbook.add_format({"bold": True, "font_size": 14})
        self.wrapped = workbook.add_format({"text_wrap": True, "valign": "top"})
        self.suppressed = workbook.add_format({"align": "right"})
        self._numbers: dict[tuple[str, bool], object] = {}

    def number(self, unit: str, misses_target: bool = False):
        key = (unit, misses_target)
        if key not in self._numbers:
            pattern = (WHOLE_NUMBER_FORMAT if unit in WHOLE_NUMBER_UNITS
                       else PERCENT_FORMAT if unit == "%" else DECIMAL_FORMAT)
            properties = {"num_format": pattern}
            if misses_target:
                properties = {"num_format": f'"{MISSES_TARGET_MARK} "{pattern}',
                              "bg_color": MISS_FILL}
            self._numbers[key] = self.workbook.add_format(properties)
        return self._numbers[key]


def write_workbook(pub: Publication, path: Path, title: str = DEFAULT_TITLE,
                   imported: pd.DataFrame | None = None) -> Path:
    """Write the workbook of a publication (insyn.publish.publication.prepare) to `path`.
    `imported` (stored published values, insyn.publish.kolada) adds the comparison sheet."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = xlsxwriter.Workbook(str(path), XLSX_OPTIONS)
    workbook.set_properties({"title": title, "subject": f"Insyn {years_text(pub.years)}",
                             "comments": "Uppgifter som kan röja enskilda visas inte (..)."})
    formats = Formats(workbook)
    plans = report_layout().workbook  # the sheets in order, each with what it shows
    sheets = [workbook.add_worksheet(plan.sheet) for plan in plans]
    for plan, sheet in zip(plans, sheets, strict=True):
        _write_sheet(sheet, plan, pub, formats, title)
    compared = comparisons(pub, imported)
    if compared:
        sheets.append(workbook.add_worksheet(COMPARISON_SHEET))
        _comparison_sheet(sheets[-1], compared, pub, formats)
    if pub.synthetic:
        _label_synthetic(workbook, sheets)
    workbook.close()
    return path


def _label_synthetic(workbook: xlsxwriter.Workbook, sheets: list[Worksheet]) -> None:
    """Every sheet of invented data says so: on its top row beside the table (so that a table
    still starts at A1 for whoever reads it in), on its tab and on every printed page."""
    label = workbook.add_format({"bold": True, "font_color": SYNTHETIC_COLOUR})
    for sheet in sheets:
        sheet.write_string(0, (sheet.dim_colmax or 0) + 2, SYNTHETIC_LABEL, label)
        sheet.set_tab_color(SYNTHETIC_COLOUR)
        sheet.set_header(f"&C&\"Bold\"{SYNTHETIC_LABEL}")


def _write_sheet(sheet: Worksheet, plan: SheetPlan, pub: Publication, formats: Formats, title: str) -> None:
    if plan.shows == "overview":
        _overview_sheet(sheet, pub, formats, plan.of_area)
    elif plan.shows == "years":
        _years_sheet(sheet, pub, formats, plan.of_area)
    elif plan.shows == "notes":
        _notes_sheet(sheet, pub, formats, title)
    else:
        {"long": _long_sheet, "sources": _sources_sheet, "coverage": _coverage_sheet,
         "unit_load": _unit_load_sheet, "definitions": _definitions_sheet}[plan.shows](sheet, pub, formats)


def _write_cell(sheet: Worksheet, row: int, column: int, cell: Cell, formats: Formats) -> None:
    """A number with its format, ".." right-aligned for suppressed, empty for missing."""
    if cell.suppressed:
        sheet.write_string(row, column, cell.text, formats.suppressed)
    elif cell.value is not None:
        unit = cell.unit if shown_whole(cell.value, cell.unit) or cell.unit not in WHOLE_NUMBER_UNITS else "decimal"
        sheet.write_number(row, column, cell.value, formats.number(unit, cell.misses_target))


def _width(values: list[str]) -> int:
    longest = max((len(line) for v in values for line in str(v).split("\n")), default=0)
    return min(max(longest + 2, MIN_WIDTH), MAX_WIDTH)


def _table(sheet: Worksheet, headers: list[str], rows: list[list], formats: Formats,
           wrap_headers: bool = False) -> int:
    """Header row (bold, frozen, filtered), then rows of text and Cells; returns the row after."""
    sheet.write_row(0, 0, headers, formats.header)
    if wrap_headers:
        lines = max(math.ceil(len(h) / (HEADER_WIDTH - 5)) for h in headers)
        sheet.set_row(0, LINE_HEIGHT * lines)
    for r, values in enumerate(rows, start=1):
        for c, value in enumerate(values):
            if isinstance(value, Cell):
                _write_cell(sheet, r, c, value, formats)
            elif value not in ("", None):
                sheet.write(r, c, value)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(len(rows), 1), len(headers) - 1)
    for c, header in enumerate(headers):
        shown = [v.text if isinstance(v, Cell) else v for v in (row[c] for row in rows)]
        header_width = HEADER_WIDTH if wrap_headers else _width([header])
        sheet.set_column(c, c, max(header_width, _width(shown)))
    return len(rows) + 1


def _notes_below(sheet: Worksheet, row: int, lines: list[str]) -> None:
    for offset, line in enumerate(lines, start=1):
        sheet.write_string(row + offset, 0, line)


def _overview_sheet(sheet: Worksheet, pub: Publication, formats: Formats, area: str) -> None:
    table = overview(pub, area)
    headers = ["Kommun", "Kommunkod"] + [c.header for c in table.columns]
    rows = [[row.name, row.municipality, *row.cells] for row in table.rows]
    end = _table(sheet, headers, rows, formats, wrap_headers=True)
    _notes_below(sheet, end, [f"Senaste året med data: {table.year or '–'}.",
                              *legend(pub).paragraphs])


def _long_sheet(sheet: Worksheet, pub: Publication, formats: Formats) -> None:
    rows = [[record[column] for column in LONG_COLUMNS] for record in long_rows(pub)]
    _table(sheet, LONG_COLUMNS, rows, formats)


def _sources_sheet(sheet: Worksheet, pub: Publication, formats: Formats) -> None:
    tables = [t for t in (category_table(pub, d) for d in pub.category_definitions) if t]
    if not tables:
        _table(sheet, ["Kommun", "Kommunkod"], [], formats)
        return
    table = tables[0]
    headers = ["Kommun", "Kommunkod", "År", "Antal anmälningar",
               *[f"{c.label} (%)" for c in table.categories]]
    rows = [[row.name, row.municipality, table.year, row.total, *row.shares] for row in table.rows]
    end = _table(sheet, headers, rows, formats, wrap_headers=True)
    _notes_below(sheet, end, [f"{name_with_unit(table.definition)} {table.year}: andel av "
                              "kommunens anmälningar per anmälare.",
                              *legend(pub).paragraphs[:2]])


def _years_sheet(sheet: Worksheet, pub: Publication, formats: Formats, area: str) -> None:
    """The area's indicators per municipality and year: one row per indicator and municipality
    that has a value (or a suppressed one) in some year."""
    rows = []
    for definition in pub.summary_definitions:
        if definition.area != area:
            continue
        for code in pub.municipalities:
            cells = trend(pub, definition, code)
            if any(c.value is not None or c.suppressed for c in cells):
                rows.append([name_with_unit(definition), pub.name(code), code, *cells])
    _table(sheet, ["Indikator", "Kommun", "Kommunkod", *pub.years], rows, formats)


def _coverage_sheet(sheet: Worksheet, pub: Publication, formats: Formats) -> None:
    headers = ["Program", "Kommun", "Kommunkod", "År", "Målgrupp (antal)", "Genomfört (antal)",
               "Täckning (%)", "Saknar (procentenheter)", "Saknar (antal)"]
    rows = [[table.category.label, row.name, row.municipality, table.year, row.targeted,
             row.completed, row.coverage, row.gap, row.lacking]
            for definition in pub.coverage_definitions
            for table in coverage_tables(pub, definition) for row in table.rows]
    end = _table(sheet, headers, rows, formats, wrap_headers=True)
    _notes_below(sheet, end, [
        f"Täckning: andel av programmets målgrupp i tjänst på mätdagen {reference_day(pub)} som har "
        "genomgått programmet. Saknar: det som återstår till 100 %.",
        *legend(pub).paragraphs[:2]])


def _unit_load_sheet(sheet: Worksheet, pub: Publication, formats: Formats) -> None:
    headers = ["Kommun", "Kommunkod", "Enhet", "Månad", "Handläggare (antal)",
               "Över normen (antal)", "Belastning (%)"]
    rows = [[pub.name(u.municipality), u.municipality, u.unit, u.month, u.caseworkers,
             u.over_norm, u.load] for u in unit_loads(pub)]
    end = _table(sheet, headers, rows, formats, wrap_headers=True)
    _notes_below(sheet, end, unit_load_note(pub).paragraphs if rows else [NO_WORKLOAD])


COMPARISON_COLUMNS = ["Indikator", "År", "Område", "Kod", "Eget värde (Insyn)", "Nyckeltal",
                      "Nyckeltalets namn", "Så skiljer sig måtten", "Värde (inläst)", "Status (som inläst)",
                      "Anmärkning", "Källa"]


def _comparison_sheet(sheet: Worksheet, compared: list[Comparison], pub: Publication,
                      formats: Formats) -> None:
    """Every compared year of every indicator and KPI, one row per area: the own figure beside
    the imported value, the KPI's id, name and how it differs, Kolada's status and the file."""
    rows = [[c.indicator_with_unit, c.year, r.name, r.code, r.own, c.kpi, c.title, c.difference,
             r.value, r.status, r.note, r.source or ("Insyn (egna uppgifter)" if r.value is None else "")]
            for c in compared for r in c.rows]
    end = _table(sheet, COMPARISON_COLUMNS, rows, formats)
    sheet.set_column(COMPARISON_COLUMNS.index("Så skiljer sig måtten"),
                     COMPARISON_COLUMNS.index("Så skiljer sig måtten"), WRAPPED_WIDTH, formats.wrapped)
    _notes_below(sheet, end, ["Kommunernas egna publicerade värden bredvid inlästa publicerade värden (Koladas "
                              "nyckeltal eller en annan Insyns export) för samma år: indikatorns eget "
                              "nyckeltal och dess närliggande nyckeltal, som mäter något närliggande men "
                              "inte detsamma (se Så skiljer sig måtten). De inlästa värdena visas som de "
                              "publicerades.", STATUS_LEGEND, *legend(pub).paragraphs[:2]])


def _definitions_sheet(sheet: Worksheet, pub: Publication, formats: Formats) -> None:
    rows = definition_rows(pub.definitions)
    headers = list(rows[0]) if rows else ["Indikator"]
    _table(sheet, headers, [list(r.values()) for r in rows], formats)
    for c, header in enumerate(headers):
        if header in ("Beskrivning", "Följer"):
            sheet.set_column(c, c, WRAPPED_WIDTH, formats.wrapped)


def _notes_sheet(sheet: Worksheet, pub: Publication, formats: Formats, title: str) -> None:
    sheet.set_column(0, 0, 110, formats.wrapped)
    sheet.write_string(0, 0, title, formats.title)
    sheet.write_string(1, 0, f"Framställd {format_date(pub.made)}. År: {years_text(pub.years)}. "
                             f"Kommuner: {', '.join(pub.name(c) for c in pub.municipalities)}.")
    row = 3
    for note in notes(pub):
        sheet.write_string(row, 0, note.heading, formats.heading)
        for paragraph in note.paragraphs:
            row += 1
            sheet.write_string(row, 0, paragraph)
        row += 2
