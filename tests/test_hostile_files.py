"""Files an attacker or a broken export system makes: each either imports or is refused with a
Swedish message naming the file (and row and column where there is one), never a traceback,
never quoting a value whole, and the store is as it was (issue 18)."""

from __future__ import annotations

import os
import time
import tracemalloc
import zipfile

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import pnr

from insyn.errors import InputError
from insyn.ingest.load import import_files
from insyn.ingest.profiles import Profile, ProfileError, load_profile
from insyn.ingest.readers import MAX_ROWS, MAX_VALUE_CHARS, ReadError, read_export

HEADER = "municipality;staff_id;unit;role;employment;start_date\n"
ROW = "1480;S1;{unit};socialsekreterare;tillsvidare;2020-01-01\n"
UNIT = "Åby Äng Öst, västra"


def staff_file(tmp_path, data: bytes, name: str = "personal.csv"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def stored(store) -> list:
    return store.raw.execute("SELECT * EXCLUDE (import_id) FROM staff ORDER BY ALL").fetchall()


def refused(store, key, path, profile=None) -> str:
    """The import refuses the file with a Swedish message naming it, and stores nothing."""
    before = stored(store), store.count("imports")
    with pytest.raises(InputError) as error:
        import_files(store, [path], key, profile)
    assert (stored(store), store.count("imports")) == before
    assert path.name in str(error.value)
    return str(error.value)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "cp1252", "cp850"])
def test_every_encoding_a_swedish_export_comes_in_is_read_right(tmp_path, store, key, encoding):
    text = HEADER + ROW.format(unit=UNIT)
    data = text.encode(encoding)
    bom = {"utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}.get(encoding, b"")  # with a byte order mark
    import_files(store, [staff_file(tmp_path, bom + data)], key)
    assert store.raw.execute("SELECT unit FROM staff").fetchall() == [(UNIT,)]


def test_a_dos_export_is_not_read_as_windows_1252(tmp_path, store, key):
    """The attack: CP850 text with "Å" (byte 0x8F, undefined in Windows-1252) crashed the import."""
    import_files(store, [staff_file(tmp_path, (HEADER + ROW.format(unit="Å")).encode("cp850"))], key)
    assert store.raw.execute("SELECT unit FROM staff").fetchall() == [("Å",)]


def test_a_profile_declares_the_encoding(tmp_path, store, key):
    # Two bytes that read as Swedish in both single-byte encodings: only the profile can tell.
    path = staff_file(tmp_path, (HEADER + ROW.format(unit="Östra")).encode("cp850"))
    import_files(store, [path], key, Profile(name="dos", encoding="IBM850"))
    assert store.raw.execute("SELECT unit FROM staff").fetchall() == [("Östra",)]
    (tmp_path / "fel.yaml").write_text("name: fel\nencoding: latin-1\n")
    with pytest.raises(ProfileError, match="teckenkodningen 'latin-1' kan inte läsas"):
        load_profile(tmp_path / "fel.yaml")
    path = staff_file(tmp_path, (HEADER + ROW.format(unit="Östra")).encode("cp1252"), "dos.csv")
    assert refused(store, key, path, Profile(name="utf", encoding="utf-8")) == (
        "dos.csv: filen är inte skriven i teckenkodningen utf-8, som profilen anger")


@pytest.mark.parametrize("data", [
    pytest.param(os.urandom(4096), id="random bytes"),
    pytest.param((HEADER + ROW.format(unit="児童相談所 東部")).encode("shift_jis"), id="Shift-JIS"),
    pytest.param(b"\x7fELF\x02\x01\x01" + bytes(range(256)) * 8, id="binary"),
])
def test_an_encoding_that_is_not_known_is_refused(tmp_path, store, key, data):
    assert "teckenkodningen känns inte igen" in refused(store, key, staff_file(tmp_path, data))


def test_nul_bytes_are_refused_with_their_row(tmp_path, store, key):
    path = staff_file(tmp_path, (HEADER + ROW.format(unit="A") + ROW.format(unit="B\0C")).encode())
    assert refused(store, key, path) == ("personal.csv, rad 3, kolumn 'unit': innehåller ett NUL-tecken, "
                                         "som ingen textfil har")


def test_a_value_too_long_is_refused_without_being_quoted(tmp_path, store, key):
    long = "Enhet" * MAX_VALUE_CHARS
    message = refused(store, key, staff_file(tmp_path, (HEADER + ROW.format(unit=long)).encode()))
    assert message == f"personal.csv, rad 2, kolumn 'unit': värdet är längre än {MAX_VALUE_CHARS} tecken"


def test_a_header_longer_than_64_kib_is_refused_as_such(tmp_path, store, key):
    path = staff_file(tmp_path, b"municipality;" + b"x" * 70_000 + b"\n1480;S1\n")
    assert "rubrikraden är längre än 64 KiB" in refused(store, key, path)


@pytest.mark.parametrize("column", [pa.array([[1, 2], [3]]), pa.array([{"a": 1}, {"a": 2}])], ids=["list", "struct"])
def test_a_parquet_column_of_lists_or_structures_is_refused(tmp_path, store, key, column):
    path = tmp_path / "personal.parquet"
    pq.write_table(pa.table({"municipality": ["1480", "1480"], "staff_id": column}), path)
    assert "kolumnen 'staff_id' håller listor eller strukturer" in refused(store, key, path)


@pytest.mark.parametrize("data", [b"not a workbook", b"PK\x03\x04" + os.urandom(300)], ids=["text", "broken zip"])
def test_a_broken_workbook_is_refused(tmp_path, store, key, data):
    assert "kunde inte läsas som Excel" in refused(store, key, staff_file(tmp_path, data, "personal.xlsx"))


def test_a_workbook_with_a_huge_dimension_allocates_nothing_for_its_empty_cells(tmp_path, store, key):
    """The attack: a workbook of under 5 KB with one cell at row 100,000 and column 1,000 (and a
    header there) took 13 s and 1.3 GB to read: every empty cell was a value in a column."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["municipality", "staff_id", "unit", "role", "employment", "start_date"])
    sheet.append(["1480", "S1", "Mottagning", "socialsekreterare", "tillsvidare", "2020-01-01"])
    sheet.cell(row=1, column=1_000, value="x")
    sheet.cell(row=100_000, column=1_000, value="x")
    path = tmp_path / "personal.xlsx"
    workbook.save(path)
    assert path.stat().st_size < 10_000
    tracemalloc.start()
    started = time.perf_counter()
    try:
        table = read_export(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert table.num_rows == 2
    assert peak < 20_000_000 and time.perf_counter() - started < 5


def test_a_workbook_of_more_rows_than_excel_has_is_refused(tmp_path):
    workbook = openpyxl.Workbook()
    workbook.active.append(["municipality", "staff_id"])
    workbook.active.cell(row=MAX_ROWS, column=1, value="1480")
    made = tmp_path / "made.xlsx"
    workbook.save(made)
    path = tmp_path / "personal.xlsx"
    with zipfile.ZipFile(made) as source, zipfile.ZipFile(path, "w") as crafted:  # a row Excel cannot make
        for item in source.infolist():
            data = source.read(item)
            if item.filename.startswith("xl/worksheets/"):
                data = data.replace(str(MAX_ROWS).encode(), str(MAX_ROWS + 10).encode())
            crafted.writestr(item, data)
    with pytest.raises(ReadError, match="personal.xlsx: fler än 1 048 576 rader"):
        read_export(path)


def test_identity_numbers_in_what_a_reader_refuses_are_not_repeated(tmp_path, store, key):
    number = pnr("19800101", "123").replace("-", " ")
    path = staff_file(tmp_path, f"{HEADER.strip()};{number}\n".encode() + ROW.format(unit="A\0").encode())
    assert number not in refused(store, key, path)


def test_a_parquet_string_that_is_not_utf8_is_refused(tmp_path, store, key):
    """Found by the fuzz test: Parquet does not check its strings when read, and a flipped bit
    ended in an Arrow traceback in validation."""
    path = tmp_path / "personal.parquet"
    pq.write_table(pa.table({"municipality": ["1480"], "staff_id": ["S1"]}), path, compression="none")
    path.write_bytes(path.read_bytes().replace(b"S1", b"S\xff", 1))
    assert "kunde inte läsas som text" in refused(store, key, path)
