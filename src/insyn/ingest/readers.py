"""Read an export (CSV, XLSX, Parquet) into a table of text columns, keeping row numbers.

SCB's population table as a municipality downloads it (PX-Web CSV, PX, JSON-stat) is read by
insyn.ingest.scb into the canonical `populations` columns.

Everything is read as text so that validation, not the reader, decides what a value means
and can name the row of a bad one. Row numbers are as a spreadsheet shows them: the header
is row 1, the first data row is row 2.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from insyn.errors import InputError
from insyn.ingest.scb import ScbFileError, is_scb_population, read_scb_population
from insyn.scrub import scrub

FIRST_DATA_ROW = 2
ROW_NUMBER = "__row__"


class ReadError(InputError):
    pass


def read_export(path: Path) -> pa.Table:
    """The file as text columns named by its own headers, plus its row numbers (ROW_NUMBER)."""
    suffix = path.suffix.lower()
    if not path.exists():
        raise ReadError(f"{path}: filen finns inte")
    if is_scb_population(path):  # SCB's population table as downloaded: canonical populations rows
        try:
            frame = read_scb_population(path)
        except ScbFileError as exc:
            raise ReadError(str(exc)) from None
        table = pa.table({column: pa.array(frame[column].astype(str), pa.string()) for column in frame.columns})
        return table.append_column(ROW_NUMBER, pa.array(range(FIRST_DATA_ROW, FIRST_DATA_ROW + table.num_rows),
                                                        pa.int64()))
    readers = {".csv": _read_csv, ".txt": _read_csv, ".tsv": _read_csv,
               ".xlsx": _read_xlsx, ".xlsm": _read_xlsx, ".parquet": _read_parquet}
    if suffix not in readers:
        raise ReadError(f"{path}: okänt filformat '{suffix}' (CSV, XLSX eller Parquet väntas)")
    table = readers[suffix](path)
    names = [str(n).strip() for n in table.column_names]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ReadError(scrub(f"{path}: kolumnrubriken {sorted(duplicates)} förekommer flera gånger"))
    table = table.rename_columns(names)
    row_numbers = pa.array(range(FIRST_DATA_ROW, FIRST_DATA_ROW + table.num_rows), pa.int64())
    blank = _all_null(table)
    return table.append_column(ROW_NUMBER, row_numbers).filter(pc.invert(blank))


def _all_null(table: pa.Table) -> pa.Array:
    """Rows with no value at all (blank lines in a CSV, empty rows in a sheet) are skipped."""
    blank = pa.array([True] * table.num_rows, pa.bool_())
    for column in table.columns:
        blank = pc.and_(blank, pc.is_null(column))
    return blank


def _sniff_delimiter(first_line: str) -> str:
    return max([";", ",", "\t", "|"], key=first_line.count)


def _read_csv(path: Path) -> pa.Table:
    raw = path.read_bytes()[:65536]
    try:  # an incremental decoder does not fail on a character cut at the sample's end
        head = codecs.getincrementaldecoder("utf-8-sig")().decode(raw, final=False)
        encoding = "utf-8"
    except UnicodeDecodeError:
        # Swedish Excel saves "CSV (semikolonavgränsad)" in Windows-1252.
        head, encoding = raw.decode("cp1252", errors="replace"), "cp1252"
    first_line = head.splitlines()[0] if head else ""
    if not first_line.strip():
        raise ReadError(f"{path}: filen saknar rubrikrad")
    delimiter = _sniff_delimiter(first_line)
    headers = [h.strip() for h in next(csv.reader([first_line], delimiter=delimiter))]
    try:
        return _parse_csv(path, encoding, delimiter, headers)
    except pa.ArrowInvalid as exc:
        if encoding == "utf-8" and "UTF8" in str(exc):
            return _parse_csv(path, "cp1252", delimiter, headers)  # non-UTF-8 past the sample
        # Arrow's message goes on to quote the offending row, which may hold personal data.
        reason = ": ".join(str(exc).splitlines()[0].split(": ")[:2])
        raise ReadError(f"{path}: kunde inte läsas som CSV ({scrub(reason)})") from None


def _parse_csv(path: Path, encoding: str, delimiter: str, headers: list[str]) -> pa.Table:
    """Every column as text, named by the stripped headers (so ' Kommun ' is 'Kommun')."""
    return pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(encoding=encoding, block_size=1 << 24,
                                       column_names=headers, skip_rows=1),
        parse_options=pacsv.ParseOptions(delimiter=delimiter, ignore_empty_lines=False),
        convert_options=pacsv.ConvertOptions(
            column_types={h: pa.string() for h in headers},
            strings_can_be_null=True,
            null_values=[""],
        ),
    )


def _cell_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


def _read_xlsx(path: Path) -> pa.Table:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise ReadError(f"{path}: kunde inte läsas som Excel ({type(exc).__name__})") from None
    sheet = workbook.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header = next(rows, None)
    if not header or all(h is None for h in header):
        raise ReadError(f"{path}: första bladet saknar rubrikrad")
    width = max(i for i, h in enumerate(header) if h is not None) + 1
    columns: list[list[str | None]] = [[] for _ in range(width)]
    for row in rows:
        for i in range(width):
            columns[i].append(_cell_text(row[i]) if i < len(row) else None)
    workbook.close()
    names = [str(h) if h is not None else f"kolumn{i + 1}" for i, h in enumerate(header[:width])]
    return pa.table({n: pa.array(c, pa.string()) for n, c in zip(names, columns, strict=True)})


def _read_parquet(path: Path) -> pa.Table:
    try:
        table = pq.read_table(path)
    except pa.ArrowException as exc:
        raise ReadError(f"{path}: kunde inte läsas som Parquet ({type(exc).__name__})") from None
    return pa.table({name: _as_text(table[name]) for name in table.column_names})


def _as_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_timestamp(column.type):
        column = pc.cast(column, pa.date32())
    if pa.types.is_dictionary(column.type):
        column = pc.cast(column, column.type.value_type)
    return pc.cast(column, pa.string())
