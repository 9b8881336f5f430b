"""Import: every kind of bad input named by file, row and column; all-or-nothing loads;
re-imports that add nothing; and no clear personal identity number anywhere afterwards."""

from __future__ import annotations

import logging

import duckdb
import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import EVENT_COLUMNS, pnr, write_csv

from insyn.ingest.load import ImportRejected, import_files
from insyn.ingest.profiles import load_profile
from insyn.ingest.readers import ReadError, read_export
from insyn.ingest.validate import SchemaError
from insyn.store import open_store

P1 = pnr("20120315", "123")
P2 = pnr("20080601", "242")
STAFF_COLUMNS = ["municipality", "staff_id", "unit", "role", "employment", "start_date"]
BAD_CHECKSUM = P1[:-1] + str((int(P1[-1]) + 1) % 10)


def good_rows(case="K1", person=P1):
    return [
        dict(municipality="1480", case_id=case, person_id=person, event="report",
             date="2024-01-02", source="skola", unit="Mottagning"),
        dict(municipality="1480", case_id=case, person_id=person, event="initial_assessment",
             date="2024-01-10", outcome="investigate", unit="Mottagning"),
    ]


def snapshot(store) -> dict[str, list]:
    return {t: sorted(map(str, store.raw.execute(f"SELECT * EXCLUDE (import_id) FROM {t}").fetchall()))
            for t in ("events", "staff", "populations")} | {
        t: sorted(map(str, store.raw.execute(f"SELECT * FROM {t}").fetchall()))
        for t in ("quarantine", "quality_warnings")}


@pytest.mark.parametrize(("row", "column", "reason"), [
    (dict(person_id=BAD_CHECKSUM), "person_id", "ogiltigt personnummer: fel kontrollsiffra"),
    (dict(person_id="20120230-1234"), "person_id", "ogiltigt personnummer"),
    (dict(person_id="12345"), "person_id", "ogiltigt personnummer: ogiltigt format"),
    (dict(municipality="9999"), "municipality", "okänd kommun '9999'"),
    (dict(event="anmalan"), "event", "okänd kod 'anmalan'"),
    (dict(source="grannen"), "source", "okänd kod 'grannen'"),
    (dict(source=""), "source", "värde saknas (krävs för report)"),
    (dict(case_id=""), "case_id", "värde saknas"),
    (dict(date="2024-02-30"), "date", "ogiltigt datum"),
    (dict(date="02/01/2024"), "date", "ogiltigt datum"),
    (dict(date="2999-01-01"), "date", "datum i framtiden"),
    (dict(date="1850-01-01"), "date", "omöjligt datum"),
])
def test_each_kind_of_error_names_file_row_and_column(tmp_path, store, key, row, column, reason):
    rows = good_rows() + [{**good_rows("K2", P2)[0], **row}]
    path = write_csv(tmp_path / "export.csv", EVENT_COLUMNS, rows)
    result = import_files(store, [path], key)
    messages = result.files[0].validated.messages()
    assert any(m.startswith(f"export.csv, rad 4, kolumn '{column}': {reason}") for m in messages), messages
    assert result.files[0].rows_loaded == 2
    quarantined = store.raw.execute("SELECT row_number, column_name, reason FROM quarantine").fetchall()
    assert (4, column) in {(r[0], r[1]) for r in quarantined}


def test_outcome_must_fit_the_event(tmp_path, store, key):
    rows = good_rows()
    rows[1]["outcome"] = "intervention"  # an investigation outcome on an initial assessment
    path = write_csv(tmp_path / "e.csv", EVENT_COLUMNS, rows)
    messages = import_files(store, [path], key).files[0].validated.messages()
    assert messages == ["e.csv, rad 3, kolumn 'outcome': okänt beslut för initial_assessment "
                        "'intervention' (tillåtna: investigate, no_investigation, transfer)"]


def test_missing_required_column_rejects_the_file_and_changes_nothing(tmp_path, store, key):
    ok = write_csv(tmp_path / "ok.csv", EVENT_COLUMNS, good_rows())
    import_files(store, [ok], key)
    before = snapshot(store)
    broken = write_csv(tmp_path / "broken.csv", [c for c in EVENT_COLUMNS if c != "date"],
                       good_rows("K9"))
    with pytest.raises(SchemaError, match=r"broken.csv: kolumner saknas för tabellen events: date \(datum\)"):
        import_files(store, [write_csv(tmp_path / "ok2.csv", EVENT_COLUMNS, good_rows("K8")), broken], key)
    assert snapshot(store) == before


def test_strict_rejects_everything_on_one_error(tmp_path, store, key):
    rows = good_rows() + [{**good_rows("K2", P2)[0], "municipality": "9999"}]
    path = write_csv(tmp_path / "e.csv", EVENT_COLUMNS, rows)
    with pytest.raises(ImportRejected, match="1 fel, inget har lästs in"):
        import_files(store, [path], key, strict=True)
    assert store.count("events") == 0 and store.count("quarantine") == 0


def test_a_failure_inside_the_load_rolls_everything_back(tmp_path, store, key):
    first = write_csv(tmp_path / "a.csv", EVENT_COLUMNS, good_rows("K1"))
    import_files(store, [first], key)
    before = snapshot(store)
    # The second file's table is dropped under the importer's feet: its INSERT fails
    # after the first file's rows were already written in the same transaction.
    staff = write_csv(tmp_path / "staff.csv", ["municipality", "staff_id", "unit", "role",
                                               "employment", "start_date"],
                      [dict(municipality="1480", staff_id="S1", unit="U", role="socialsekreterare",
                            employment="tillsvidare", start_date="2020-01-01")])
    store.raw.execute("ALTER TABLE staff RENAME TO staff_moved")
    with pytest.raises(duckdb.CatalogException, match="staff"):
        import_files(store, [write_csv(tmp_path / "b.csv", EVENT_COLUMNS, good_rows("K2", P2)), staff], key)
    store.raw.execute("ALTER TABLE staff_moved RENAME TO staff")
    assert snapshot(store) == before


def test_reimport_adds_nothing_and_a_correction_replaces(tmp_path, store, key):
    path = write_csv(tmp_path / "e.csv", EVENT_COLUMNS, good_rows("K1") + good_rows("K2", P2))
    import_files(store, [path], key)
    before = snapshot(store)
    again = import_files(store, [path], key)
    assert snapshot(store) == before
    assert again.files[0].rows_replaced == again.files[0].rows_loaded == 4
    # The corrected export moves K1's assessment to another date and drops nothing else.
    corrected = good_rows("K1")
    corrected[1]["date"] = "2024-01-20"
    import_files(store, [write_csv(tmp_path / "e.csv", EVENT_COLUMNS, corrected)], key)
    dates = store.raw.execute("SELECT case_id, event, date::VARCHAR FROM events ORDER BY ALL").fetchall()
    assert ("K1", "initial_assessment", "2024-01-20") in dates
    assert ("K1", "initial_assessment", "2024-01-10") not in dates
    assert len(dates) == 4


def test_fixed_rows_leave_the_quarantine(tmp_path, store, key):
    rows = good_rows()
    rows[0]["source"] = "grannen"
    path = write_csv(tmp_path / "e.csv", EVENT_COLUMNS, rows)
    import_files(store, [path], key)
    assert store.count("quarantine") == 1
    rows[0]["source"] = "ovrig"
    import_files(store, [write_csv(path, EVENT_COLUMNS, rows)], key)
    assert store.count("quarantine") == 0 and store.count("events") == 2


def test_identical_rows_are_one_fact_except_events(tmp_path, store, key):
    # Two identical report rows can be two reports (same day, same kind of reporter).
    rows = good_rows() + good_rows()[:1]
    result = import_files(store, [write_csv(tmp_path / "e.csv", EVENT_COLUMNS, rows)], key)
    assert result.files[0].duplicates_dropped == 0 and store.count("events") == 3
    staff = dict(municipality="1480", staff_id="S1", unit="U", role="socialsekreterare",
                 employment="tillsvidare", start_date="2020-01-01")
    path = write_csv(tmp_path / "s.csv", list(staff), [staff, staff])
    assert import_files(store, [path], key).files[0].duplicates_dropped == 1
    assert store.count("staff") == 1


def test_sequence_problems_are_warnings_per_case(tmp_path, store, key):
    rows = good_rows() + [
        dict(municipality="1480", case_id="K1", person_id=P1, event="investigation_end",
             date="2024-02-01", outcome="intervention"),
        dict(municipality="1480", case_id="K1", person_id=P1, event="investigation_start",
             date="2024-03-01"),
        dict(municipality="1480", case_id="K3", person_id=P2, event="intervention_start",
             date="2024-03-01", intervention="hvb"),
    ]
    result = import_files(store, [write_csv(tmp_path / "e.csv", EVENT_COLUMNS, rows)], key)
    assert store.count("events") == 5  # nothing rejected
    warnings = store.raw.execute("SELECT case_id, check_id FROM quality_warnings ORDER BY ALL").fetchall()
    assert warnings == [("K1", "utredning_avslutad_utan_start"), ("K3", "insats_utan_beslut")]
    assert result.quality_warnings == 2


def test_pseudonyms_are_keyed_and_derive_birth_and_sex(tmp_path, store, key):
    import_files(store, [write_csv(tmp_path / "e.csv", EVENT_COLUMNS, good_rows())], key)
    rows = store.raw.execute("SELECT DISTINCT person_key, birth_year, birth_month, sex FROM events").fetchall()
    assert len(rows) == 1 and rows[0][1:] == (2012, 3, "male") and len(rows[0][0]) == 32
    other = open_store(None)
    import_files(other, [tmp_path / "e.csv"], b"another-key-another-key-another!")
    assert other.raw.execute("SELECT DISTINCT person_key FROM events").fetchone()[0] != rows[0][0]
    # 10 digits, 12 digits, with and without separator: one person.
    forms = [P1, P1.replace("-", ""), P1[2:], P1[2:].replace("-", "")]
    rows = [dict(good_rows()[0], case_id=f"F{i}", person_id=f) for i, f in enumerate(forms)]
    import_files(store, [write_csv(tmp_path / "forms.csv", EVENT_COLUMNS, rows)], key)
    assert store.raw.execute("SELECT count(DISTINCT person_key) FROM events").fetchone()[0] == 1


def test_no_clear_personal_identity_number_anywhere(tmp_path, key, caplog, capsys):
    from typer.testing import CliRunner

    from insyn.cli import app

    caplog.set_level(logging.DEBUG)
    bad_person = pnr("20100101", "582")[:-1] + "0"
    if bad_person == pnr("20100101", "582"):
        bad_person = bad_person[:-1] + "1"
    lost_zero = pnr("20051212", "123")[2:].replace("-", "").lstrip("0")  # as Excel stores it
    rows = good_rows() + good_rows("K2", P2) + good_rows("K5", UNKNOWN_DATE) + good_rows("K6", RESERVE) + [
        dict(good_rows("K3", bad_person)[0]),  # checksum error: quarantined
        dict(good_rows("K4", P2)[0], municipality="9999"),  # valid number, other error
        dict(good_rows("K7", IVO_RESERVE)[0], municipality="9999"),  # reserve number, other error
        dict(good_rows("K8", lost_zero)[0], municipality="9999"),
    ]
    # The HR export's employee id and the case export's caseworker are a personnummer.
    worker = pnr("19800101", "123")
    rows = [dict(r, caseworker_id=worker) for r in rows]
    path = write_csv(tmp_path / "e.csv", EVENT_COLUMNS, rows)
    staff = write_csv(tmp_path / "s.csv", STAFF_COLUMNS, [
        dict(municipality="1480", staff_id=worker.replace("-", ""), unit="Mottagning", role="socialsekreterare",
             employment="tillsvidare", start_date="2020-01-01")])
    data_dir = tmp_path / "data"
    output = CliRunner().invoke(app, ["--data-dir", str(data_dir), "import", str(path), str(staff)])
    assert output.exit_code == 0, output.output
    assert "rad 10, kolumn 'person_id'" in output.output
    clear = [P1, P2, bad_person, UNKNOWN_DATE, RESERVE, IVO_RESERVE, worker]
    forms = {form for p in clear for form in (p, p.replace("-", ""), p[2:], p[2:].replace("-", ""))}
    forms.add(lost_zero)
    texts = [output.output, caplog.text, capsys.readouterr().out]
    for file in data_dir.rglob("*"):
        if file.is_file():
            texts.append(file.read_bytes().decode("latin-1"))
    store = open_store(data_dir / "insyn.duckdb", read_only=True)
    assert store.raw.execute("SELECT count(*) FROM workload_monthly").fetchall()[0][0] > 0
    for table in ("events", "staff", "quarantine", "imports", "quality_warnings", "indicator_results",
                  "workload_monthly"):
        texts.append(str(store.raw.execute(f"SELECT * FROM {table}").fetchall()))
    store.close()
    for text in texts:
        for form in forms:
            assert form not in text


UNKNOWN_DATE = pnr("20110000", "244", coordination=True)  # a child whose birth date is uncertain
RESERVE, IVO_RESERVE = "20100315-T123", "20090101-TF10"
TEMPORARY = "TMP-0042"


def test_every_kind_of_id_is_imported_and_kept_apart(tmp_path, store, key):
    """Samordningsnummer with unknown month and day, reserve numbers in both forms and a
    municipality's temporary ids are imported with their kind; the same temporary id in two
    municipalities is two children, a reserve number one child wherever it is written."""
    rows = [*good_rows("K1", UNKNOWN_DATE), *good_rows("K2", RESERVE), *good_rows("K3", IVO_RESERVE),
            *[dict(r, temporary_number="ja") for r in good_rows("K4", TEMPORARY)],
            *[dict(r, temporary_number="ja", municipality="0884") for r in good_rows("K5", TEMPORARY)],
            *[dict(r, municipality="0884") for r in good_rows("K6", RESERVE.replace("-", ""))]]
    path = write_csv(tmp_path / "ids.csv", [*EVENT_COLUMNS, "temporary_number"], rows)
    result = import_files(store, [path], key)
    assert result.files[0].validated.messages() == []
    found = store.raw.execute("SELECT case_id, id_kind, birth_year, birth_month, sex, person_key "
                              "FROM events WHERE event = 'report' ORDER BY case_id").fetchall()
    assert [row[:5] for row in found] == [
        ("K1", "samordningsnummer", 2011, None, "female"),
        ("K2", "reservnummer", 2010, 3, "female"),
        ("K3", "reservnummer", 2009, 1, "male"),
        ("K4", "tillfalligt", None, None, None),
        ("K5", "tillfalligt", None, None, None),
        ("K6", "reservnummer", 2010, 3, "female"),
    ]
    keys = {case: person_key for case, *_, person_key in found}
    assert keys["K4"] != keys["K5"]
    assert keys["K2"] == keys["K6"]
    assert store.raw.execute("SELECT case_id FROM quality_warnings WHERE check_id = 'barn_utan_fodelsear' "
                             "ORDER BY 1").fetchall() == [("K4",), ("K5",)]


def test_a_profile_says_the_file_holds_temporary_ids(tmp_path, store, key):
    """With `temporary_ids: true` a value not shaped like a number is a temporary id; a number
    with a wrong check digit is still refused (a typo is not a temporary id)."""
    profile = load_profile("svenska").model_copy(update={"temporary_ids": True})
    rows = good_rows("K1", "Barn 17/2024") + good_rows("K2", BAD_CHECKSUM)
    result = import_files(store, [write_csv(tmp_path / "t.csv", EVENT_COLUMNS, rows)], key, profile=profile)
    assert [m.split(": ", 1)[1] for m in result.files[0].validated.messages()] == [
        "ogiltigt personnummer: fel kontrollsiffra"] * 2
    assert store.raw.execute("SELECT DISTINCT id_kind FROM events").fetchall() == [("tillfalligt",)]
    without = import_files(store, [write_csv(tmp_path / "u.csv", EVENT_COLUMNS, good_rows("K3", "Barn 18/2024"))], key)
    assert without.files[0].validated.messages()[0].endswith("ogiltigt personnummer: ogiltigt format "
                                                              "(10 eller 12 siffror väntas)")


def test_a_number_in_scientific_notation_is_refused_with_advice(tmp_path, store, key):
    rows = good_rows("K1", "2,01203E+11")
    result = import_files(store, [write_csv(tmp_path / "e.csv", EVENT_COLUMNS, rows)], key)
    assert result.files[0].validated.messages()[0] == (
        "e.csv, rad 2, kolumn 'person_id': ogiltigt personnummer: sparat som tal i exponentform, "
        "siffror har gått förlorade: exportera kolumnen som text (i Excel: Formatera celler → Text) "
        "och läs in filen igen")


def test_swedish_profile_from_excel(tmp_path, store, key):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Kommun", "Ärende-ID", "Personnummer", "Händelse", "Datum", "Anmälare", "Beslut"])
    import datetime as dt
    sheet.append([1480, "A-1", P1, "Orosanmälan", dt.datetime(2024, 1, 2), "Polisen", None])
    sheet.append([884, "A-2", P2, "Förhandsbedömning", dt.datetime(2024, 1, 9), None, "Inleds ej"])
    sheet.append([None] * 7)  # an empty row is skipped, but counted
    sheet.append(["Vimmerby", "A-3", P2, "Anmälan", "2024-13-01", "Skola", None])
    path = tmp_path / "export.xlsx"
    workbook.save(path)
    result = import_files(store, [path], key, profile=load_profile("svenska"))
    validated = result.files[0].validated
    assert validated.messages() == ["export.xlsx, rad 5, kolumn 'Datum': ogiltigt datum (ÅÅÅÅ-MM-DD väntas)"]
    rows = store.raw.execute(
        "SELECT municipality, event, source, outcome FROM events ORDER BY case_id").fetchall()
    assert rows == [("1480", "report", "polis", None), ("0884", "initial_assessment", None, "no_investigation")]


def test_parquet_and_semicolon_cp1252_csv(tmp_path, store, key):
    table = pa.table({c: [r.get(c) for r in good_rows()] for c in EVENT_COLUMNS})
    pq.write_table(table, tmp_path / "e.parquet")
    import_files(store, [tmp_path / "e.parquet"], key)
    assert store.count("events") == 2
    staff = tmp_path / "personal.csv"
    staff.write_bytes("Kommun;Personal-ID;Enhet;Befattning;Anställningsform;Startdatum;Sysselsättningsgrad\n"
                      "1480;S1;Utredning Väst;Socialsekreterare;Tillsvidare;2021-08-16;0,75\n".encode("cp1252"))
    import_files(store, [staff], key, profile=load_profile("svenska"))
    assert store.raw.execute("SELECT unit, role, fte FROM staff").fetchall() == [
        ("Utredning Väst", "socialsekreterare", 0.75)]


def test_unreadable_files(tmp_path, store, key):
    (tmp_path / "x.xlsx").write_bytes(b"not a workbook")
    with pytest.raises(ReadError, match="x.xlsx: kunde inte läsas som Excel"):
        import_files(store, [tmp_path / "x.xlsx"], key)
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(ReadError, match="okänt filformat '.json'"):
        import_files(store, [tmp_path / "x.json"], key)
    with pytest.raises(ReadError, match="saknas.csv: filen finns inte"):
        import_files(store, [tmp_path / "saknas.csv"], key)


def test_one_import_of_several_files(tmp_path, store, key):
    # Two municipalities' exports with the same file name, and two files sharing a case.
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = write_csv(tmp_path / "a" / "events.csv", EVENT_COLUMNS, good_rows("K1"))
    b = write_csv(tmp_path / "b" / "events.csv", EVENT_COLUMNS,
                  [dict(r, municipality="0884") for r in good_rows("K1")])
    jan = write_csv(tmp_path / "jan.csv", EVENT_COLUMNS, good_rows("K7", P2)[:1])
    feb = write_csv(tmp_path / "feb.csv", EVENT_COLUMNS, good_rows("K7", P2)[1:])
    result = import_files(store, [a, b, jan, feb], key)
    assert [f.rows_replaced for f in result.files] == [0, 0, 0, 0]
    assert store.count("events") == 6
    assert store.count("imports") == 4


def test_published_and_stored_text_never_holds_a_number(tmp_path, store, key):
    # A shifted row puts the number under 'event'; an extra column holds a guardian's number.
    guardian = pnr("19800101", "123")
    path = tmp_path / "e.csv"
    path.write_text("municipality,case_id,person_id,event,date,source,guardian\n"
                    f"1480,K1,{P1},report,2024-01-02,skola,{guardian}\n"
                    f"1480,K2,{P2},{P1},2024-01-02,skola,{guardian}\n", encoding="utf-8")
    result = import_files(store, [path], key)
    texts = result.files[0].validated.messages() + result.files[0].validated.notices
    texts.append(str(store.raw.execute("SELECT * FROM quarantine").fetchall()))
    ragged = tmp_path / "ragged.csv"
    ragged.write_text(f"municipality,case_id,person_id,event,date,source\n1480,K1,{P1},report,2024-01-02,skola,x\n")
    with pytest.raises(ReadError) as error:
        import_files(store, [ragged], key)
    headerless = tmp_path / "utan_rubrik.csv"
    headerless.write_text(f"1480,K1,{P1},report,2024-01-02,skola\n")
    with pytest.raises(SchemaError, match="Saknar filen rubrikrad") as missing:
        import_files(store, [headerless], key)
    texts += [str(error.value), str(missing.value)]
    assert any("[borttaget]" in t for t in texts)
    for number in (P1, P2, guardian):
        for form in (number, number.replace("-", ""), number[2:]):
            assert not any(form in t for t in texts), form


def test_reader_quirks(tmp_path, store, key):
    # Headers with spaces around the delimiter; UTF-8 'Ä' cut by the encoding sample;
    # a float-typed municipality column; a 10-digit number saved as a number in Excel.
    rows = "\n".join(f"1480.0 ; K{i} ; {P1} ; report ; 2024-01-02 ; skola" for i in range(4000))
    path = tmp_path / "spaces.csv"
    path.write_text(" municipality ; case_id ; person_id ; event ; date ; source \n" + rows + "\n")
    import_files(store, [path], key)
    assert store.count("events") == 4000
    # UTF-8 file whose 64 KiB encoding sample ends in the middle of an 'ä'.
    header = "Kommun;Ärende-ID;Personnummer;Händelse;Datum;Anmälare\n".encode()
    filler_length = 65535 - len(header) - len(b"1480;K")
    line = b"1480;F;;;;" + b"x" * 989 + b"\n"  # six columns, values within the reader's limit
    filler = line * (filler_length // len(line))
    filler += b"1480;F;;;;" + b"x" * (filler_length - len(filler) - 11) + b"\n"
    cut = tmp_path / "cut.csv"
    cut.write_bytes(header + filler + f"1480;Kä;{P1};Anmälan;2024-01-02;Skola\n".encode())
    assert cut.read_bytes()[65535:65537] == "ä".encode()
    assert read_export(cut).column_names[:2] == ["Kommun", "Ärende-ID"]
    young = pnr("20050512", "123")
    workbook = openpyxl.Workbook()
    workbook.active.append(EVENT_COLUMNS[:5] + ["source"])
    workbook.active.append(["1480", "E1", int(young.replace("-", "")[2:]), "report", "2024-01-02", "skola"])
    workbook.save(tmp_path / "tal.xlsx")
    result = import_files(store, [tmp_path / "tal.xlsx"], key)
    assert result.files[0].rows_loaded == 1, result.files[0].validated.messages()


def test_a_failing_recompute_undoes_the_import(tmp_path, store, key):
    import_files(store, [write_csv(tmp_path / "a.csv", EVENT_COLUMNS, good_rows("K1"))], key)
    before = snapshot(store)

    def failing_compute():
        raise RuntimeError("the indicator computation failed")

    with pytest.raises(RuntimeError, match="computation failed"):
        import_files(store, [write_csv(tmp_path / "b.csv", EVENT_COLUMNS, good_rows("K2", P2))], key,
                     before_commit=failing_compute)
    assert snapshot(store) == before


def test_personnummer_as_employee_id_is_pseudonymised_and_still_joins(tmp_path, store, key):
    """The attack: an HR export that uses the personnummer as employee id, and a case export that
    names the caseworker by it in another form (ten digits, a space), put clear numbers in the
    store. Every form of one number is one pseudonym, so staff and cases still join; a ten-digit
    case number whose date does not exist is no identity number and stays as it is."""
    worker, other = pnr("19800101", "123"), pnr("19751224", "246")
    staff = write_csv(tmp_path / "personal.csv", STAFF_COLUMNS, [
        dict(municipality="1480", staff_id=worker, unit="Mottagning", role="socialsekreterare",
             employment="tillsvidare", start_date="2020-01-01"),
        dict(municipality="1480", staff_id=other.replace("-", ""), unit=f"Enhet {other}",
             role="enhetschef", employment="tillsvidare", start_date="2020-01-01")])
    rows = [dict(r, caseworker_id=worker[2:].replace("-", " ")) for r in good_rows("2024001234")]
    rows += [dict(r, caseworker_id=other[2:]) for r in good_rows(f"K-{worker}", P2)]
    events = write_csv(tmp_path / "arenden.csv", EVENT_COLUMNS, rows)
    path = tmp_path / "insyn.duckdb"
    on_disk = open_store(path)
    import_files(on_disk, [staff, events], key)
    joined = on_disk.raw.execute("SELECT e.case_id = '2024001234', s.role FROM events e "
                                 "JOIN staff s ON e.caseworker_id = s.staff_id ORDER BY 1, 2").fetchall()
    stored = str([on_disk.raw.execute(f"SELECT * FROM {t}").fetchall() for t in ("events", "staff", "quarantine")])
    on_disk.close()
    assert joined == [(False, "enhetschef"), (False, "enhetschef"), (True, "socialsekreterare"),
                      (True, "socialsekreterare")]
    assert "2024001234" in stored
    file = path.read_bytes().decode("latin-1")
    for number in (worker, other):
        digits = number.replace("-", "")
        for form in (number, digits, number[2:], digits[2:], number[2:].replace("-", " ")):
            assert form not in stored and form not in file, form


def test_headers_with_a_number_in_any_form_reach_no_message_or_record(tmp_path, store, key):
    """The attack: personnummer as column headers, one with a space separator, and an unknown
    code of a thousand characters. Neither header reaches a notice, a message or the quarantine,
    and the long value is not quoted whole."""
    spaced = P2[2:].replace("-", " ")
    path = tmp_path / "e.csv"
    long_code = "x" * 900
    rows = good_rows() + [dict(good_rows("K2", P2)[0], event=long_code)]
    write_csv(path, [*EVENT_COLUMNS, P1, spaced], rows)
    result = import_files(store, [path], key)
    validated = result.files[0].validated
    texts = validated.notices + validated.messages()
    texts.append(str(store.raw.execute("SELECT column_name, reason FROM quarantine").fetchall()))
    with pytest.raises(SchemaError) as error:
        import_files(store, [write_csv(tmp_path / "x.csv", ["municipality", spaced], [{}])], key)
    texts.append(str(error.value))
    assert any("[borttaget]" in t for t in validated.notices)
    assert not any(long_code[:100] in t for t in texts)
    texts.append(str(store.raw.execute("SELECT record FROM quarantine").fetchall()))  # the row, as imported
    for form in (P1, P1.replace("-", ""), spaced, P2, P2[2:]):
        assert not any(form in t for t in texts), form
