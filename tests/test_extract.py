"""Research extracts (`insyn extract`) on a real DuckDB store of synthetic data: the written
files are read back and checked — k persons per combination of quasi-identifiers, no stored
identifier left, keys that link only when asked, a dictionary and a report that match the
files — and the generalisation search is checked as a property on random tables."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from insyn.cli import app
from insyn.disclosure.kanonymity import (
    PersonRows,
    group_sizes,
    hierarchy_for,
    information_loss,
    protect,
    search,
)
from insyn.model.municipalities import municipalities
from insyn.model.tables import TABLES
from insyn.publish.extract import IDENTIFIERS, SUBJECTS, ExtractError, extractable_columns
from insyn.settings import Settings
from insyn.store import open_store
from insyn.synth.generate import generate, write_tables
from insyn.workflows import run_import, write_extract

# Two small municipalities in each of two counties, so that groups under k occur and a
# municipality can be generalised to its county.
MUNICIPALITIES = ["0761", "0764", "0860", "0884"]
PERSONAL = ["events", "staff", "trainings", "mentorships", "workload_ratings"]
SYNTHETIC_IDS = re.compile(r"\b\d{4}-(?:\d{4}-\d{6}|S\d{4})\b")  # case and staff ids of insyn.synth


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Settings:
    folder = tmp_path_factory.mktemp("extract")
    selected = municipalities()[lambda m: m.municipality_code.isin(MUNICIPALITIES)]
    files = write_tables(generate(selected, [2024], seed=3), folder / "files")
    data = Settings(data_dir=folder / "data")
    run_import(data, files, compute=False)
    return data


def extract(data: Settings, out: Path, tables=PERSONAL, columns=None, quasi=None, k=5, percent=5.0,
            fmt="csv", key_file=None):
    return write_extract(data, out, tables, columns, quasi, k, percent, fmt, key_file)


@pytest.fixture(scope="module")
def default_extract(data, tmp_path_factory):
    return extract(data, tmp_path_factory.mktemp("uttag") / "ut")


def read(out: Path, table: str) -> pd.DataFrame:
    path = out / f"{table}.csv"
    return pd.read_csv(path, dtype=str) if path.exists() else pq.read_table(out / f"{table}.parquet").to_pandas()


def stored(data: Settings, sql: str) -> pd.DataFrame:
    store = open_store(data.database_path, read_only=True)
    try:
        return store.raw.execute(sql).df()
    finally:
        store.close()


def identifiers(out: Path, tables=PERSONAL) -> set[str]:
    """Every value of an identifier column in the extract's files of `tables`."""
    values = set()
    for table in tables:
        frame = read(out, table)
        values |= {value for column in IDENTIFIERS[table] for value in frame[column].dropna()}
    return values


def test_every_table_is_k_anonymous_in_persons_and_the_report_matches_the_files(data, default_extract):
    out, report = default_extract.out_dir, default_extract.report
    assert {q["column"] for q in report["quasi_identifiers"]} == {"birth_year", "sex", "municipality"}
    for summary in report["tables"]:
        table, quasi, persons = summary["table"], summary["quasi_identifiers"], summary["persons_counted"]
        written = read(out, table)
        sizes = group_sizes(written, quasi, persons)
        assert (sizes >= 5).all(), table
        assert summary["smallest_group"] == (sizes.min() if len(written) else None)
        assert summary["rows_written"] == len(written)
        assert summary["rows_read"] - summary["rows_dropped"] == len(written)
        assert summary["rows_read"] == len(stored(data, f"SELECT * FROM {table}"))
        store_persons = stored(data, " UNION ".join(f"SELECT DISTINCT {p} FROM {table}" for p in persons))
        assert summary["persons_read"] == len(store_persons)
        written_persons = set().union(*(set(written[p]) for p in persons))
        assert summary["persons_written"] == len(written_persons)
        assert summary["persons_dropped"] == summary["persons_read"] - summary["persons_written"]
    assert report["rows_dropped"] == sum(t["rows_dropped"] for t in report["tables"])
    # The small municipalities do have groups under 5: some rows are dropped, within the limit.
    assert 0 < report["rows_dropped"] <= 0.05 * report["rows"] and report["within_limit"]
    # Eight mentorships in four municipalities cannot be shown by municipality: the whole table
    # is dropped rather than every table generalised for its sake.
    mentorships = next(t for t in report["tables"] if t["table"] == "mentorships")
    assert mentorships["rows_written"] == 0 and mentorships["smallest_group"] is None


def test_no_identifier_of_the_store_is_in_the_extract(data, default_extract):
    out = default_extract.out_dir
    ids = stored(data, """SELECT person_key AS id FROM events UNION SELECT case_id FROM events
                          UNION SELECT caseworker_id FROM events UNION SELECT staff_id FROM staff
                          UNION SELECT mentor_id FROM mentorships UNION SELECT mentee_id FROM mentorships""")
    assert len(ids) > 1000
    cells = {value for path in out.glob("*.csv") for value in pd.read_csv(path, dtype=str).stack()}
    assert not cells & set(ids["id"].dropna())
    for path in out.iterdir():
        assert not SYNTHETIC_IDS.search(path.read_text(encoding="utf-8")), path.name
    assert all(re.fullmatch(r"[0-9a-f]{32}", value) for value in identifiers(out))


def test_extracts_link_only_through_a_kept_key_file(data, default_extract, tmp_path):
    linked = ["events", "staff"]
    other = extract(data, tmp_path / "annat", tables=linked)
    assert identifiers(default_extract.out_dir, linked).isdisjoint(identifiers(other.out_dir, linked))
    assert not default_extract.report["key"]["linkable"] and not list(tmp_path.glob("*.key"))

    key_file = tmp_path / "nycklar" / "uttag.key"
    first = extract(data, tmp_path / "forsta", key_file=key_file)
    assert key_file.stat().st_mode & 0o777 == 0o600 and len(key_file.read_bytes()) == 32
    second = extract(data, tmp_path / "andra", tables=linked, key_file=key_file)
    assert first.report["key"]["key_file_created"] and not second.report["key"]["key_file_created"]
    assert first.report["key"]["linkable"] and second.report["key"]["linkable"]
    assert "uttag.key" in (first.out_dir / "riskrapport.md").read_text()
    assert identifiers(first.out_dir, linked) == identifiers(second.out_dir, linked)


def test_identifiers_are_keyed_as_documented_and_agree_across_tables(data, tmp_path):
    key_file = tmp_path / "uttag.key"
    result = extract(data, tmp_path / "ut", key_file=key_file)
    key = key_file.read_bytes()

    def keyed(entity, municipality, value):
        return hmac.new(key, f"{entity}\x1f{municipality}\x1f{value}".encode(), hashlib.sha256).hexdigest()[:32]

    staff = {keyed("staff", m, s) for m, s in stored(data, "SELECT municipality, staff_id FROM staff").values}
    people = {keyed("person", "", p) for p in stored(data, "SELECT person_key FROM events")["person_key"]}
    out = result.out_dir
    assert {t["table"]: t["rows_dropped"] for t in result.report["tables"]}["staff"] == 0
    assert set(read(out, "staff")["staff_id"]) == staff
    events = read(out, "events")
    assert set(events["person_key"]) <= people
    # A case's caseworker, a mentor, a mentee and a trainee are the same keys as in staff.
    for table, column in (("events", "caseworker_id"), ("mentorships", "mentor_id"),
                          ("mentorships", "mentee_id"), ("trainings", "staff_id"),
                          ("workload_ratings", "staff_id")):
        assert set(read(out, table)[column].dropna()) <= staff, (table, column)
    # The same case id in two municipalities stays two cases.
    cases = stored(data, "SELECT DISTINCT municipality, case_id FROM events")
    assert events["case_id"].nunique() <= len(cases)
    assert events.groupby("case_id")["municipality"].nunique().max() == 1


def test_the_dictionary_covers_every_written_column(default_extract):
    out = default_extract.out_dir
    dictionary = pd.read_csv(out / "datakatalog.csv", dtype=str)
    assert list(dictionary.columns) == ["tabell", "kolumn", "betydelse", "typ", "bearbetning"]
    written = {(table, column) for table in PERSONAL for column in read(out, table).columns}
    assert set(zip(dictionary["tabell"], dictionary["kolumn"], strict=True)) == written
    assert dictionary.notna().all().all()
    by_column = dictionary.set_index(["tabell", "kolumn"])["bearbetning"]
    assert by_column["events", "person_key"].startswith("omkodad")
    assert by_column["mentorships", "mentee_id"].startswith("omkodad")
    levels = {q["column"]: q["level_name"] for q in default_extract.report["quasi_identifiers"]}
    assert by_column["events", "birth_year"].startswith("kvasiidentifierare, generaliserad till 5-årsintervall")
    assert levels["birth_year"] == "5-årsintervall" and read(out, "events")["birth_year"].str.contains("–").all()
    assert by_column["events", "event"] == "oförändrad"
    # Defaults: every stored column but the birth month (on request only) and the bookkeeping.
    assert "birth_month" not in set(dictionary["kolumn"]) and "import_id" not in set(dictionary["kolumn"])


def test_the_risk_report_is_written_in_both_forms(default_extract):
    out, report = default_extract.out_dir, default_extract.report
    assert json.loads((out / "riskrapport.json").read_text(encoding="utf-8")) == report
    assert report["insyn_version"] and report["created"][:4].isdigit() and report["k"] == 5
    markdown = (out / "riskrapport.md").read_text(encoding="utf-8")
    for heading in ("Sammanfattning", "Kvasiidentifierare och vald generalisering", "Tabeller", "Metod",
                    "Kvarstående risker", "Datakatalog"):
        assert f"## {heading}" in markdown
    assert f"Insyn {report['insyn_version']}" in markdown and "**k = 5**" in markdown
    for table in report["tables"]:
        assert f"| {table['table']} | {table['file']} | {table['rows_read']} | {table['rows_written']} |" in markdown
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["datakatalog.csv", "riskrapport.json", "riskrapport.md", *(f"{t}.csv" for t in PERSONAL)])


def test_a_larger_k_generalises_and_dates_can_be_quasi_identifiers(data, tmp_path):
    result = extract(data, tmp_path / "ut", tables=["events", "courses"], k=25,
                     columns=["events.municipality", "events.person_key", "events.birth_year", "events.sex",
                              "events.date", "events.event"],
                     quasi=["birth_year", "sex", "municipality", "date"], percent=10, fmt="parquet")
    levels = {q["column"]: q["level_name"] for q in result.report["quasi_identifiers"]}
    assert levels["date"] != "dag" and any(levels[q] != first for q, first in
                                           (("birth_year", "år"), ("sex", "värde"), ("municipality", "kommun")))
    events = read(result.out_dir, "events")
    assert list(events.columns) == ["municipality", "event", "date", "person_key", "birth_year", "sex"]
    assert group_sizes(events, ["birth_year", "sex", "municipality", "date"], ["person_key"]).min() >= 25
    formats = {"månad": r"\d{4}-\d{2}", "kvartal": r"\d{4}-Q[1-4]", "år": r"\d{4}"}
    assert events["date"].str.fullmatch(formats[levels["date"]]).all()
    if levels["municipality"] == "län":
        assert set(events["municipality"]) <= {"07", "08"}
    assert len(read(result.out_dir, "courses")) == 6  # no personal data: written as stored


@pytest.mark.parametrize(("tables", "columns", "quasi", "k", "fmt", "message"), [
    ([], None, None, 5, "csv", "minst en tabell"),
    (["events", "quarantine"], None, None, 5, "csv", "Okänd tabell: quarantine"),
    (["staff"], ["staff.salary"], None, 5, "csv", "Okänd kolumn staff.salary"),
    (["staff"], ["events.date"], None, 5, "csv", "inte är vald med --tabeller"),
    (["staff"], ["municipality"], None, 5, "csv", "tabell.kolumn"),
    (["staff"], None, ["birth_year"], 5, "csv", "Kvasiidentifieraren birth_year finns inte"),
    (["staff"], None, ["staff_id"], 5, "csv", "staff_id är en identifierare"),
    (["events"], None, None, 1, "csv", "k måste vara minst 2"),
    (["events"], None, None, 5, "xlsx", "Okänt format xlsx"),
])
def test_bad_input_fails_in_swedish_and_writes_nothing(data, tmp_path, tables, columns, quasi, k, fmt, message):
    with pytest.raises(ExtractError, match=message):
        extract(data, tmp_path / "ut", tables, columns, quasi, k, fmt=fmt, key_file=tmp_path / "uttag.key")
    assert list(tmp_path.iterdir()) == []


def test_a_used_folder_or_the_installation_key_is_refused(data, tmp_path):
    (tmp_path / "ut").mkdir()
    (tmp_path / "ut" / "gammal.csv").write_text("x\n")
    with pytest.raises(ExtractError, match="inte en tom katalog"):
        extract(data, tmp_path / "ut")
    with pytest.raises(ExtractError, match="installationens pseudonymiseringsnyckel"):
        extract(data, tmp_path / "ny", key_file=data.key_path)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["gammal.csv", "ut"]


def test_the_command_writes_an_extract_and_reports_bad_input(data, tmp_path):
    runner = CliRunner()
    ok = runner.invoke(app, ["--data-dir", str(data.data_dir), "extract", "--tabeller", "staff,trainings",
                             "--ut", str(tmp_path / "ut"), "--k", "3"])
    assert ok.exit_code == 0, ok.output
    assert "trainings" in ok.output and "kan inte länkas" in ok.output.replace("\n", " ")
    assert (tmp_path / "ut" / "riskrapport.md").exists()
    bad = runner.invoke(app, ["--data-dir", str(data.data_dir), "extract", "--tabeller", "staff",
                              "--kvasi", "sex", "--ut", str(tmp_path / "fel")])
    assert bad.exit_code == 1 and "Fel:" in bad.output and "Inget uttag har skrivits" in bad.output
    assert not (tmp_path / "fel").exists()


def test_every_identifier_of_the_canonical_tables_is_re_keyed():
    for table in TABLES:
        ids = {c for c in extractable_columns(table) if c.endswith("_id") or c == "person_key"}
        assert set(IDENTIFIERS.get(table, {})) == ids, table
        assert (table in SUBJECTS) == bool(ids) and set(SUBJECTS.get(table, ())) <= ids


def test_the_hierarchies_generalise_as_their_names_say():
    birth_years = pd.Series([2012, 2019, None], dtype="Int16")
    year = hierarchy_for("birth_year", "int")
    assert [year.generalise(birth_years, level).tolist() for level in range(year.top + 1)] == [
        [2012, 2019, pd.NA], ["2010–2014", "2015–2019", pd.NA], ["2010–2019", "2010–2019", pd.NA],
        [pd.NA] * 3]
    municipality = hierarchy_for("municipality", "municipality")
    assert municipality.generalise(pd.Series(["0860", "0764"]), 1).tolist() == ["08", "07"]
    assert municipality.generalise(pd.Series(["0860"]), municipality.top).tolist() == ["riket"]
    date = hierarchy_for("date", "date")
    days = pd.Series(pd.to_datetime(["2024-05-31", None]))
    assert [date.generalise(days, level).tolist()[0] for level in (1, 2, 3)] == ["2024-05", "2024-Q2", "2024"]
    assert date.generalise(days, 2).isna().tolist() == [False, True]
    assert hierarchy_for("month", "month").generalise(pd.Series(["2024-11"]), 1).tolist() == ["2024-Q4"]
    assert [level.name for level in hierarchy_for("sex", "code").levels] == ["värde", "borttaget"]


QUASI = ("birth_year", "municipality")
HIERARCHIES = {"birth_year": hierarchy_for("birth_year", "int"),
               "municipality": hierarchy_for("municipality", "municipality")}
rows = st.tuples(st.integers(0, 12), st.integers(0, 12), st.one_of(st.none(), st.integers(2000, 2020)),
                 st.sampled_from(["0761", "0764", "0860", "0884", "1480"]))


def person_rows(drawn: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(drawn, columns=["person", "other", *QUASI], dtype=object)
    return frame.astype({"person": str, "other": str, "birth_year": "Int16", "municipality": "string"})


@settings(max_examples=15, deadline=None)
@given(st.lists(rows, max_size=30), st.lists(rows, max_size=10), st.integers(2, 5),
       st.sampled_from([0.0, 0.05, 0.3, 1.0]))
def test_every_group_left_has_k_persons_and_every_dropped_row_is_counted(first, second, k, limit):
    # One table of one person per row, one naming two (as a mentorship does).
    tables = [PersonRows(person_rows(first), ("person",), QUASI),
              PersonRows(person_rows(second), ("person", "other"), ("municipality",))]
    chosen = search(tables, HIERARCHIES, k, limit)
    dropped = 0
    for table in tables:
        kept = protect(table, HIERARCHIES, chosen.levels, k)
        assert (group_sizes(kept, table.quasi, table.persons) >= k).all()
        dropped += len(table.frame) - len(kept)
    assert dropped == chosen.suppressed_rows and chosen.rows == len(first) + len(second)
    assert chosen.within_limit == (dropped <= limit * chosen.rows)
    # Nothing less generalised would have stayed within the limit.
    for node in itertools.product(*(range(h.top + 1) for h in HIERARCHIES.values())):
        levels = dict(zip(HIERARCHIES, node, strict=True))
        if information_loss(levels, HIERARCHIES) < chosen.loss:
            lost = sum(len(t.frame) - len(protect(t, HIERARCHIES, levels, k)) for t in tables)
            assert lost > limit * chosen.rows, levels

