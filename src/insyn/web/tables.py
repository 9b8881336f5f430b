"""A table on a page, and the same table as an Excel or a CSV file.

Every page is made of Tables, so that each one downloads exactly as shown: the download
route builds the page again for the same user and parameters and writes the table asked for.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd
import xlsxwriter
from markupsafe import Markup

from insyn.publish.cells import MISSES_TARGET_MARK, Cell
from insyn.spreadsheet import XLSX_OPTIONS, neutralised
from insyn.swedish import COUNT, WHOLE_NUMBER_UNITS, decimal_comma, format_number, shown_whole

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"

@dataclass(frozen=True)
class Shown:
    """What the page shows (`html`: a small chart, a person's name with their id) and a download
    holds instead (`plain`: the values, the id alone) — so that a name from the local name list
    never leaves the page (docs/web.md, Names)."""

    html: Markup
    plain: Cell | str | int | float | None


Value = Cell | Shown | str | int | float | None
Row = list[Value]


@dataclass(frozen=True)
class Table:
    id: str                     # unique on its page; the download's file name
    title: str
    columns: Sequence[str]
    rows: Sequence[Sequence[Value]]
    caption: str = ""           # what the table shows, for the page and the file
    notes: Sequence[str] = field(default_factory=tuple)  # legend lines, repeated in the file
    downloadable: bool = True   # False: a computed view (a what-if) that the page's choices cannot make again

    @property
    def numeric(self) -> list[bool]:
        """Which columns hold numbers (right-aligned): those with a Cell or a number in them."""
        return [any(isinstance(row[c], Cell | int | float) and not isinstance(row[c], bool) for row in self.rows)
                for c in range(len(self.columns))]


def text(value: Value) -> str:
    """As the page shows it: "92,3 %", "..", "–" (a Shown value as its download holds it)."""
    if isinstance(value, Shown):
        return text(value.plain)
    if isinstance(value, Cell):
        return value.text + (f" {MISSES_TARGET_MARK}" if value.misses_target else "")
    return "" if value is None else str(value)


_FORMATS = {"%": '0.0" %"', **dict.fromkeys(WHOLE_NUMBER_UNITS, "#,##0")}


def xlsx_bytes(table: Table, heading: str, label: str = "") -> bytes:
    """One sheet: heading, caption, `label` (that the data are synthetic, say), the table with
    real numbers (hidden cells as ".."), the notes."""
    buffer = io.BytesIO()
    with xlsxwriter.Workbook(buffer, {"in_memory": True, **XLSX_OPTIONS}) as book:
        sheet = book.add_worksheet(table.title[:31].translate(str.maketrans("[]:*?/\\", "()     ")))
        bold = book.add_format({"bold": True})
        header = book.add_format({"bold": True, "text_wrap": True, "valign": "top", "bottom": 1})
        formats = {unit: book.add_format({"num_format": f}) for unit, f in _FORMATS.items()}
        decimal = book.add_format({"num_format": "#,##0.0"})
        right = book.add_format({"align": "right"})
        sheet.write(0, 0, heading, bold)
        sheet.write(1, 0, table.title, bold)
        if table.caption:
            sheet.write(2, 0, table.caption)
        if label:
            sheet.write(3, 0, label, book.add_format({"bold": True, "font_color": "#B3261E"}))
        first = 4
        sheet.write_row(first, 0, list(table.columns), header)
        for r, row in enumerate(table.rows, start=first + 1):
            for c, value in enumerate(row):
                value = value.plain if isinstance(value, Shown) else value
                if isinstance(value, Cell):
                    if value.value is None:
                        sheet.write_string(r, c, value.text, right)
                    else:
                        whole = shown_whole(value.value, value.unit) or value.unit not in WHOLE_NUMBER_UNITS
                        sheet.write_number(r, c, value.value, formats.get(value.unit, decimal) if whole else decimal)
                elif isinstance(value, int | float):
                    sheet.write_number(r, c, value)
                elif value is not None:
                    sheet.write_string(r, c, str(value))
        for n, note in enumerate(table.notes, start=first + len(table.rows) + 2):
            sheet.write(n, 0, note)
        for c, name in enumerate(table.columns):
            widest = max([len(name) // 2, *(len(text(row[c])) for row in table.rows)], default=8)
            sheet.set_column(c, c, min(max(widest + 2, 8), 48))
        sheet.freeze_panes(first + 1, 0)
    return buffer.getvalue()


LABEL_COLUMN = "Uppgifter"  # a CSV file's column for its `label`: no line above the header


def csv_bytes(table: Table, label: str = "") -> bytes:
    """Semicolon-separated with decimal comma and a byte order mark, as Swedish Excel opens it;
    with `label` (that the data are synthetic, say) in a last column of every row."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([*table.columns, *([LABEL_COLUMN] if label else [])])
    for row in table.rows:
        writer.writerow([*(_csv_value(v) for v in row), *([label] if label else [])])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _csv_value(value: Value) -> str:
    if isinstance(value, Shown):
        return _csv_value(value.plain)
    if isinstance(value, Cell):
        if value.value is None:
            return value.text
        decimals = 0 if shown_whole(value.value, value.unit) else 1
        return format_number(value.value, decimals, thousands="")
    if isinstance(value, float):
        return decimal_comma(value)
    return "" if value is None else neutralised(str(value))


def count(value: float | None) -> Cell:
    return Cell(value, COUNT)


def percent_cell(share) -> Cell:
    """A share (0.93) as a percentage cell; missing or not finite is empty."""
    return Cell(100 * share if share is not None and math.isfinite(share) else None, "%")


def number_cell(value, unit: str = "") -> Cell:
    return Cell(None if value is None or pd.isna(value) else float(value), unit)
