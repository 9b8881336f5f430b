"""Read an export (CSV, XLSX, Parquet) into a table of text columns, keeping row numbers.

SCB's population table as a municipality downloads it (PX-Web CSV, PX, JSON-stat) is read by
insyn.ingest.scb into the canonical `populations` columns.

Everything is read as text so that validation, not the reader, decides what a value means
and can name the row of a bad one. Row numbers are as a spreadsheet shows them: the header
is row 1, the first data row is row 2.

Whatever a file holds, reading it either gives a table or raises ReadError with a Swedish
message naming the file (and the row and column where there is one), never quoting a value
whole: a text encoding that is not one of ENCODINGS, a NUL byte, a value longer than
MAX_VALUE_CHARS, more than MAX_COLUMNS columns, an XLSX sheet of more than MAX_ROWS rows, a
Parquet column that holds lists or structures, a file that is not what its name says.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from insyn.errors import InputError
from insyn.ingest.scb import ScbFileError, is_scb_population, read_scb_population
from insyn.scrub import shorten

FIRST_DATA_ROW = 2
ROW_NUMBER = "__row__"
# The header line of a CSV file must end within its first 64 KiB.
MAX_HEADER_BYTES = 65536
MAX_COLUMNS = 1000
MAX_ROWS = 1_048_576  # of an XLSX sheet: Excel's own limit
MAX_VALUE_CHARS = 1000
# The text encodings a CSV file is read in (and a profile may declare with `encoding:`).
ENCODINGS = ("utf-8", "utf-16", "cp1252", "cp850")
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
# The letters and signs beyond ASCII that Swedish exports hold. A single-byte file is read in
# the encoding (Windows-1252 or the DOS code page 850) that makes the most of its bytes above
# 127 into these, and refused when neither makes nearly all of them so (Shift-JIS, binary).
_SWEDISH = frozenset("åäöÅÄÖéÉèÈüÜáàøØæÆçñëï§°€–—’‘“”«»…½·")
_SWEDISH_SHARE = 0.9


class ReadError(InputError):
    pass


def read_export(path: Path, encoding: str | None = None) -> pa.Table:
    """The file as text columns named by its own headers, plus its row numbers
    (ROW_NUMBER). `encoding` is a CSV file's, when a profile declares it."""
    suffix = path.suffix.lower()
    if not path.exists():
        raise ReadError(f"{path.name}: filen finns inte")
    if is_scb_population(path):  # SCB's population table as downloaded: canonical populations rows
        try:
            frame = read_scb_population(path)
        except ScbFileError as exc:
            raise ReadError(str(exc)) from None
        table = pa.table({column: pa.array(frame[column].astype(str), pa.string()) for column in frame.columns})
    elif suffix in (".csv", ".txt", ".tsv"):
        table = _read_csv(path, encoding)
    elif suffix in (".xlsx", ".xlsm"):
        table = _read_xlsx(path)
    elif suffix == ".parquet":
        table = _read_parquet(path)
    else:
        raise ReadError(f"{path.name}: okänt filformat '{shorten(suffix)}' (CSV, XLSX eller Parquet väntas)")
    if ROW_NUMBER not in table.column_names:
        table = table.append_column(ROW_NUMBER, pa.array(range(FIRST_DATA_ROW, FIRST_DATA_ROW + table.num_rows),
                                                         pa.int64()))
    names = checked_names(table.column_names, path)
    table = table.rename_columns(names)
    _check_values(table, path)
    return table.filter(pc.invert(_all_null(table.drop_columns([ROW_NUMBER]))))


def checked_names(column_names: list, path: Path) -> list[str]:
    """The headers stripped; ReadError when they are too many, hold a NUL or repeat."""
    names = [str(n).strip() for n in column_names]
    if len(names) > MAX_COLUMNS + 1:
        raise ReadError(f"{path.name}: fler än {MAX_COLUMNS} kolumner")
    if any("\0" in n for n in names):
        raise ReadError(f"{path.name}, rad 1: rubrikraden innehåller ett NUL-tecken, som ingen textfil har")
    duplicates = {shorten(n) for n in names if names.count(n) > 1}
    if duplicates:
        raise ReadError(f"{path.name}: kolumnrubriken {sorted(duplicates)} förekommer flera gånger")
    return names


def _check_values(table: pa.Table, path: Path) -> None:
    """No value holds a NUL byte or more than MAX_VALUE_CHARS characters: the first such one
    is named by row and column. Each column's bytes are looked at whole first (a NUL is the
    smallest byte; no value has more characters than bytes), row by row only when that finds
    one, so a national export costs little more than reading its bytes once."""
    for name in table.column_names:
        if name == ROW_NUMBER:
            continue
        column = table[name]
        if any(np.frombuffer(chunk.buffers()[2], np.uint8).min(initial=1) == 0
               for chunk in column.chunks if chunk.buffers()[2]):
            _fail_at(table, path, name, pc.match_substring(column, "\0"),
                     "innehåller ett NUL-tecken, som ingen textfil har")
        if (pc.max(pc.binary_length(column)).as_py() or 0) > MAX_VALUE_CHARS:
            _fail_at(table, path, name, pc.greater(pc.utf8_length(column), MAX_VALUE_CHARS),
                     f"värdet är längre än {MAX_VALUE_CHARS} tecken")


def _fail_at(table: pa.Table, path: Path, name: str, found: pa.ChunkedArray, what: str) -> None:
    """ReadError naming the first row where `found` (a NUL byte found in the column's buffer
    may lie outside its values, in a slice)."""
    index = pc.index(pc.fill_null(found, False), True).as_py()
    if index >= 0:
        raise ReadError(f"{path.name}, rad {table[ROW_NUMBER][index].as_py()}, kolumn '{shorten(name)}': {what}")


def _all_null(table: pa.Table) -> pa.Array:
    """Rows with no value at all (blank lines in a CSV, empty rows in a sheet) are skipped."""
    blank = pa.array([True] * table.num_rows, pa.bool_())
    for column in table.columns:
        blank = pc.and_(blank, pc.is_null(column))
    return blank


def _sniff_delimiter(first_line: str) -> str:
    return max([";", ",", "\t", "|"], key=first_line.count)


def _unknown_encoding(path: Path, declared: str | None = None) -> ReadError:
    if declared:
        return ReadError(f"{path.name}: filen är inte skriven i teckenkodningen {declared}, som profilen anger")
    return ReadError(f"{path.name}: teckenkodningen känns inte igen. CSV-filer läses i UTF-8 (med eller utan BOM), "
                     "UTF-16 med BOM, Windows-1252 och CP850. Är det en textfil? Spara den som CSV UTF-8 och läs in "
                     "den igen, eller ange kodningen i profilen (encoding:).")


def detect_encoding(data: bytes, path: Path) -> str:
    """The encoding of a CSV file from its first bytes: a byte order mark, else UTF-8 if the
    bytes are UTF-8, else the single-byte encoding that reads them as Swedish text."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding
    try:  # an incremental decoder does not fail on a character cut at the sample's end
        codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    return _single_byte_encoding(data, path)


def _single_byte_encoding(data: bytes, path: Path) -> str:
    best, best_share = None, 0.0
    for encoding in ("cp1252", "cp850"):  # Swedish Excel's "CSV (semikolonavgränsad)", then DOS
        try:
            beyond_ascii = [c for c in data.decode(encoding) if ord(c) > 127]
        except UnicodeDecodeError:  # five bytes mean nothing in Windows-1252
            continue
        share = sum(c in _SWEDISH for c in beyond_ascii) / len(beyond_ascii)
        if share > best_share:
            best, best_share = encoding, share
    if best is None or best_share < _SWEDISH_SHARE:
        raise _unknown_encoding(path)
    return best


def csv_layout(path: Path, declared: str | None) -> tuple[str, str, list[str]]:
    """A CSV file's encoding (as `declared`, else detected), delimiter and stripped headers."""
    with path.open("rb") as f:
        raw = f.read(MAX_HEADER_BYTES)
        longer = bool(f.read(1))
    encoding = declared or detect_encoding(raw, path)
    try:
        head = codecs.getincrementaldecoder(encoding)().decode(raw, final=not longer).removeprefix("\ufeff")
    except UnicodeDecodeError:  # a declared encoding, or UTF-16 cut short
        raise _unknown_encoding(path, declared) from None
    if "\n" not in head and "\r" not in head and longer:
        raise ReadError(f"{path.name}: rubrikraden är längre än {MAX_HEADER_BYTES // 1024} KiB")
    first_line = head.splitlines()[0] if head else ""
    if not first_line.strip():
        raise ReadError(f"{path.name}: filen saknar rubrikrad")
    delimiter = _sniff_delimiter(first_line)
    headers = [h.strip() for h in next(csv.reader([first_line], delimiter=delimiter))]
    if len(headers) > MAX_COLUMNS:
        raise ReadError(f"{path.name}: fler än {MAX_COLUMNS} kolumner")
    return encoding, delimiter, headers


def _read_csv(path: Path, declared: str | None) -> pa.Table:
    encoding, delimiter, headers = csv_layout(path, declared)
    try:
        return _parse_csv(path, encoding, delimiter, headers)
    except pa.ArrowInvalid as exc:
        if encoding == "utf-8" and "UTF8" in str(exc):  # not UTF-8 past the sample
            if declared:
                raise _unknown_encoding(path, declared) from None
            return _parse_csv(path, _single_byte_encoding(path.read_bytes(), path), delimiter, headers)
        # Arrow's message goes on to quote the offending row, which may hold personal data.
        reason = ": ".join(str(exc).splitlines()[0].split(": ")[:2])
        raise ReadError(f"{path.name}: kunde inte läsas som CSV ({shorten(reason, 120)})") from None
    except UnicodeDecodeError:  # a declared encoding, or bytes past the sample, that do not fit
        raise _unknown_encoding(path, declared) from None


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

    workbook = None
    try:  # streaming (read only): a sheet is never held whole
        workbook = load_workbook(path, read_only=True, data_only=True)
        return _read_sheet(workbook.worksheets[0], path)
    except ReadError:
        raise
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise ReadError(f"{path.name}: kunde inte läsas som Excel ({type(exc).__name__})") from None
    finally:
        if workbook is not None:
            workbook.close()


def _read_sheet(sheet, path: Path) -> pa.Table:
    """The sheet's columns up to the header's last one, and its rows that hold a value with
    their numbers: a sheet whose dimension says a hundred thousand rows of a thousand columns
    allocates nothing for its empty cells."""
    header = next(sheet.iter_rows(max_row=1, values_only=True), None)
    if not header or all(h is None for h in header):
        raise ReadError(f"{path.name}: första bladet saknar rubrikrad")
    width = max(i for i, h in enumerate(header) if h is not None) + 1
    if width > MAX_COLUMNS:
        raise ReadError(f"{path.name}: fler än {MAX_COLUMNS} kolumner")
    columns: list[list[str | None]] = [[] for _ in range(width)]
    numbers = []
    for number, row in enumerate(sheet.iter_rows(min_row=FIRST_DATA_ROW, max_col=width, values_only=True),
                                 FIRST_DATA_ROW):
        if number > MAX_ROWS:
            raise ReadError(f"{path.name}: fler än {MAX_ROWS:,} rader".replace(",", " "))
        if row.count(None) == len(row):  # counted in C: a sheet of empty rows costs little
            continue
        numbers.append(number)
        for i in range(width):
            columns[i].append(_cell_text(row[i]) if i < len(row) else None)
    names = [str(h) if h is not None else f"kolumn{i + 1}" for i, h in enumerate(header[:width])]
    arrays = [pa.array(c, pa.string()) for c in columns] + [pa.array(numbers, pa.int64())]
    return pa.Table.from_arrays(arrays, names=[*names, ROW_NUMBER])


def _read_parquet(path: Path) -> pa.Table:
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise ReadError(f"{path.name}: kunde inte läsas som Parquet ({type(exc).__name__})") from None
    nested = [name for name, kind in zip(table.column_names, table.schema.types, strict=True)
              if pa.types.is_nested(kind)]
    if nested:
        raise ReadError(f"{path.name}: kolumnen '{shorten(nested[0])}' håller listor eller strukturer, "
                        "inte ett värde per rad")
    try:
        text = pa.Table.from_arrays([_as_text(column) for column in table.columns], names=table.column_names)
        text.validate(full=True)  # Parquet does not check that its strings are UTF-8 when read
    except pa.ArrowException as exc:
        raise ReadError(f"{path.name}: kunde inte läsas som text ({type(exc).__name__})") from None
    return text


def _as_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_timestamp(column.type):
        column = pc.cast(column, pa.date32())
    if pa.types.is_dictionary(column.type):
        column = pc.cast(column, column.type.value_type)
    return pc.cast(column, pa.string())
