"""Parity of the DuckDB-native import (insyn.ingest.native, what `insyn import` runs) with the
reference path through Arrow in Python (`import_files(native=False)`): the same files give the
same stored rows, quarantine, messages, notices and counts, on hand-made files with every kind of
error and id, on SCB's population files, on a synthetic municipality as CSV and Parquet, and on
rows Hypothesis spoils (docs/import-format.md)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import EVENT_COLUMNS, pnr, write_csv
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insyn.ingest.load import ImportRejected, import_files
from insyn.ingest.native import duckdb_source
from insyn.ingest.profiles import load_profile
from insyn.model.municipalities import municipalities
from insyn.store import open_store
from insyn.synth.generate import generate, write_tables

KEY = b"test-key-0123456789abcdef0123456"
DATA = Path(__file__).parent / "data"
EXTRACT_DATE = dt.date(2024, 12, 31)
P1, P2 = pnr("20120315", "123"), pnr("20080601", "242")
BAD_CHECKSUM = P1[:-1] + str((int(P1[-1]) + 1) % 10)
TABLES = ("events", "staff", "courses", "trainings", "mentorships", "populations", "workload_ratings")


def _rows(store, sql: str) -> list[str]:
    return sorted(map(str, store.raw.execute(sql).fetchall()))


def imported(files: list[Path], native: bool, **options) -> dict:
    """Everything an import leaves behind that the two paths must agree on."""
    store = open_store(None)
    try:
        result = import_files(store, files, KEY, native=native, **options)
        found = {t: _rows(store, f"SELECT * EXCLUDE (import_id) FROM {t}") for t in TABLES}
        found["quarantine"] = _rows(store, "SELECT * EXCLUDE (import_id) FROM quarantine")
        found["quality_warnings"] = _rows(store, "SELECT * FROM quality_warnings")
        found["imports"] = _rows(store, "SELECT file, table_name, profile, rows_read, rows_loaded, "
                                        "rows_quarantined, rows_replaced, extract_date FROM imports")
        found["extracts"] = _rows(store, "SELECT municipality, table_name, extract_date FROM extracts")
        found["files"] = [(f.validated.messages(), f.validated.notices, f.validated.rows_read,
                           f.validated.rows_rejected, f.rows_loaded, f.rows_replaced, f.duplicates_dropped)
                          for f in result.files]
        return found
    finally:
        store.close()


def assert_same(files: list[Path], **options) -> dict:
    native, reference = imported(files, True, **options), imported(files, False, **options)
    for part in reference:
        assert native[part] == reference[part], part
    return native


def good_rows(case: str, person: str = P1) -> list[dict]:
    return [dict(municipality="1480", case_id=case, person_id=person, event="report", date="2024-01-02",
                 source="skola", unit="Mottagning"),
            dict(municipality="1480", case_id=case, person_id=person, event="initial_assessment",
                 date="2024-01-10", outcome="investigate", unit="Mottagning")]


SPOILED = [dict(person_id=BAD_CHECKSUM), dict(person_id="20120230-1234"), dict(person_id="12345"),
           dict(person_id="2,01203E+11"), dict(person_id=" "), dict(municipality="9999"),
           dict(municipality="884"), dict(municipality="Vimmerby"), dict(event="anmalan"),
           dict(event=" REPORT "), dict(source="grannen"), dict(source=""), dict(case_id=""),
           dict(case_id="199001011234"), dict(date="2024-02-30"), dict(date="02/01/2024"),
           dict(date="2999-01-01"), dict(date="1850-01-01"), dict(date="2025-01-01"),
           dict(event="initial_assessment", source="", outcome="intervention"),
           dict(event="intervention_start", source="", intervention=""),
           dict(unit="Enhet 20120315-1234"), dict(caseworker_id=P2)]


def test_every_kind_of_error_gives_the_same_rows_and_messages(tmp_path):
    rows = [row for i, spoil in enumerate(SPOILED) for row in good_rows(f"K{i}", P2)[:1] + [
        {**good_rows(f"K{i}")[1], **spoil}]]
    path = write_csv(tmp_path / "export.csv", EVENT_COLUMNS, rows)
    found = assert_same([path], extract_date=EXTRACT_DATE)
    assert found["quarantine"] and found["files"][0][0]


UNKNOWN_DATE = pnr("20110000", "244", coordination=True)
IDS = [UNKNOWN_DATE, "20100315-T123", "20090101-TF10", "201003157123", "100315-T123", P1.replace("-", ""),
       P1[2:], "512121234"]


def test_every_kind_of_id_and_temporary_number(tmp_path):
    rows = [dict(row, temporary_number="") for i, person in enumerate(IDS) for row in good_rows(f"K{i}", person)]
    rows += [dict(row, temporary_number="ja", municipality=m) for m in ("1480", "0884")
             for row in good_rows(f"T{m}", "TMP-0042")]
    rows += [dict(good_rows("X")[0], temporary_number="kanske")]
    path = write_csv(tmp_path / "ids.csv", [*EVENT_COLUMNS, "temporary_number"], rows, delimiter=";")
    assert_same([path])
    profile = load_profile("svenska").model_copy(update={"temporary_ids": True})
    spoken = write_csv(tmp_path / "t.csv", EVENT_COLUMNS,
                       good_rows("K1", "Barn 17/2024") + good_rows("K2", BAD_CHECKSUM))
    assert_same([spoken], profile=profile)


def test_a_profile_an_excel_file_and_scb_population_files(tmp_path):
    """Files the reference reader reads (XLSX, cp1252, SCB's downloads) and a profile's headers,
    value mappings and date format."""
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Kommun", "Ärende-ID", "Personnummer", "Händelse", "Datum", "Anmälare", "Beslut"])
    sheet.append([1480, "A-1", P1, "Orosanmälan", dt.datetime(2024, 1, 2), "Polisen", None])
    sheet.append([None] * 7)
    sheet.append(["Vimmerby", "A-3", P2, "Anmälan", "2024-13-01", "Skola", None])
    workbook.save(tmp_path / "export.xlsx")
    svenska = tmp_path / "svenska.csv"
    svenska.write_text("Kommun;Ärende-ID;Personnummer;Händelse;Datum;Anmälare;Beslut\n"
                       f"1480;A-1;{P1};Orosanmälan;2024-01-02;Polisen;\n"
                       f"884;A-2;{P2};Förhandsbedömning;2024-01-09;;Inleds ej\n"
                       f"0884;A-3;{P2};Förhandsbedömning;2024-01-09;;Okänt beslut\n", encoding="cp1252")
    assert_same([tmp_path / "export.xlsx", svenska], profile=load_profile("svenska"))
    scb = sorted(p for p in (DATA / "scb").iterdir() if p.suffix in (".csv", ".px"))
    assert_same(scb[:2])


def test_blank_lines_quotes_spaces_and_strict(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text(",".join(EVENT_COLUMNS) + "\n"
                    f' 1480 ,"K1",{P1},report,2024-01-02,"Enhet, norr",,skola,,\n'
                    "\n"
                    f'1480,"K1",{P1},initial_assessment,2024-01-10,"",,,"investigate",\n'
                    ",,,,,,,,,\n"
                    f'1480,"K2",{P2},report,2024-01-32,"a ""quoted"" unit",,polis,,\n', encoding="utf-8")
    # A blank line: pyarrow counts it, DuckDB skips it; the file is then read as the reference reads it.
    assert_same([path])
    crlf = tmp_path / "crlf.csv"
    crlf.write_bytes(path.read_bytes().replace(b"\n\n", b"\n").replace(b"\n", b"\r\n"))
    assert duckdb_source(crlf, None) is not None
    assert_same([crlf])
    for native in (True, False):
        with pytest.raises(ImportRejected):
            imported([crlf], native, strict=True)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> dict[str, list[Path]]:
    """One municipality's year, as CSV and as Parquet, with spoiled rows in the events."""
    folder = tmp_path_factory.mktemp("native")
    one = municipalities()
    tables = generate(one[one.municipality_code == "0884"].reset_index(drop=True), [2024], seed=5)
    events = tables["events"]
    events.loc[events.index[::97], "person_id"] = "20120230-1234"
    events.loc[events.index[5::211], "source"] = "grannen"
    csv = write_tables(tables, folder / "csv")
    return {"csv": csv, "parquet": write_tables(tables, folder / "parquet", fmt="parquet")}


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_a_synthetic_municipality_gives_the_same_store(synthetic, kind):
    events = next(path for path in synthetic[kind] if path.stem == "events")
    assert duckdb_source(events, None)  # DuckDB reads it, not the reference reader
    found = assert_same(synthetic[kind], extract_date=EXTRACT_DATE)
    assert found["quarantine"] and len(found["events"]) > 1000


def test_a_parquet_file_of_other_types_is_read_as_the_reference_reads_it(tmp_path):
    table = pa.table({"municipality": pa.array([1480, 884], pa.int64()), "case_id": ["K1", "K2"],
                      "person_id": [P1, P2], "event": ["report", "report"],
                      "date": pa.array([dt.datetime(2024, 1, 2, 13), dt.datetime(2024, 1, 3)]),
                      "source": pa.array(["skola", "polis"]).dictionary_encode(),
                      "unit": pa.array([1.0, 2.5])})
    pq.write_table(table, tmp_path / "typed.parquet")
    assert duckdb_source(tmp_path / "typed.parquet", None) is None
    assert_same([tmp_path / "typed.parquet"])


# Values a spoiled export holds: empty, spaced, wrong case, impossible, in the future, other ids.
NASTY = st.sampled_from(["", " ", "  x ", "REPORT", "report", "polis", "Polis", "ja", "nej", "2024-02-29",
                         "2023-02-29", "2024-1-5", "2030-01-01", "1899-12-31", "0884", "884", "9999", "Vimmerby",
                         P1, P2, BAD_CHECKSUM, P1[2:], "20100315-T123", "TMP-1", "1,5", "2,01203E+11",
                         "investigate", "intervention", "hvb", "ÅÄÖ", "a;b", '"', "0"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spoils=st.lists(st.tuples(st.integers(0, 39), st.sampled_from([*EVENT_COLUMNS, "temporary_number"]),
                                 NASTY), min_size=1, max_size=12))
def test_rows_spoiled_at_random_give_the_same_quarantine_and_messages(tmp_path_factory, spoils):
    rows = [dict(row, temporary_number="") for i in range(20) for row in good_rows(f"K{i}", [P1, P2][i % 2])]
    for index, column, value in spoils:
        rows[index][column] = value
    path = write_csv(tmp_path_factory.mktemp("spoiled") / "spoiled.csv", [*EVENT_COLUMNS, "temporary_number"], rows)
    assert_same([path], extract_date=EXTRACT_DATE)


def test_a_column_without_a_header_is_read_alike(tmp_path):
    """A column with an empty header cannot be named in SQL (the fuzz test found it): the native
    path reads such a file as the reference does, with or without a blank line in it."""
    header = '"municipality","staff_id","unit","role","employment","start_date",""\n'
    row = '"0884","S{}","U","socialsekreterare","tillsvidare",2024-01-01,"x"\n'
    plain = tmp_path / "personal.csv"
    plain.write_text(header + row.format(1) + row.format(2), encoding="utf-8")
    blank = tmp_path / "personal_tom_rad.csv"
    blank.write_text(header + row.format(1) + "\n" + row.format(2), encoding="utf-8")
    for path in (plain, blank):
        found = assert_same([path])
        assert len(found["staff"]) == 2
