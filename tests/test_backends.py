"""Parity: the whole indicator library on DuckDB, on a real PostgreSQL server and on PySpark in
local mode, from the same canonical tables, gives the same results — every row, exact counts,
values and medians equal, the same cell keys.

The PostgreSQL server is started here from Debian's binaries (`.ci/run` installs the package)
on loopback, in a temporary folder; PySpark runs on the machine's Java.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from typer.testing import CliRunner
from webapp import copy_data_folder

from insyn.cli import app
from insyn.indicators import engine
from insyn.indicators.engine import DIMENSIONS, RESULT_COLUMNS, compute, stored_results
from insyn.store import open_store
from insyn.store.backends import CANONICAL, BackendError, copy_canonical_tables, open_backend, spark_session
from insyn.workflows import store_for

pytest_plugins = ["webapp"]
pytestmark = pytest.mark.backends  # a PostgreSQL server and PySpark (slow too: tests/conftest.py)
sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))
from throwaway_postgres import NoPostgres, throwaway_postgres  # noqa: E402

KEYS = ["indicator", "municipality", "period", "period_type", *DIMENSIONS]


@pytest.fixture(scope="session")
def postgres_url():
    """A throwaway PostgreSQL server on loopback for the session: its URL."""
    try:
        with throwaway_postgres() as url:
            yield url
    except NoPostgres as missing:
        pytest.fail(str(missing))


@pytest.fixture(scope="module")
def duckdb_results(web_data) -> pd.DataFrame:
    store = store_for(web_data.settings, read_only=True)
    try:
        return compute(store)
    finally:
        store.close()


def _compute_at(url: str, spark=None) -> pd.DataFrame:
    backend = open_backend(url, spark)
    try:
        return compute(backend)
    finally:
        backend.close()


def assert_same_results(expected: pd.DataFrame, found: pd.DataFrame, backend: str) -> None:
    expected = expected[RESULT_COLUMNS].set_index(KEYS).sort_index()
    found = found[RESULT_COLUMNS].set_index(KEYS).sort_index()
    assert expected.index.equals(found.index), (
        f"{backend}: rows only on DuckDB {expected.index.difference(found.index)[:5].tolist()}, "
        f"only on {backend} {found.index.difference(expected.index)[:5].tolist()}")
    for column in expected.columns:
        a, b = expected[column], found[column]
        if column == "complete":
            assert a.astype("boolean").equals(b.astype("boolean")), (backend, column)
            continue
        a, b = a.astype(float).to_numpy(), b.astype(float).to_numpy()
        # Exactly: the engine rounds sums of fractions, which each backend adds in its own order.
        same = (np.isnan(a) & np.isnan(b)) | (a == b)
        assert same.all(), f"{backend}: {column} differs in {(~same).sum()} rows, e.g. " \
                           f"{expected.index[~same][:3].tolist()}: {a[~same][:3]} against {b[~same][:3]}"


def test_the_library_gives_the_same_results_on_postgresql(web_data, duckdb_results, postgres_url):
    source = store_for(web_data.settings, read_only=True)
    try:
        copied = copy_canonical_tables(source, postgres_url)
        assert copied == {name: source.count(name) for name in CANONICAL}
    finally:
        source.close()
    found = _compute_at(postgres_url)
    assert len(found) == len(duckdb_results) > 1000
    assert_same_results(duckdb_results, found, "PostgreSQL")


def test_the_library_gives_the_same_results_on_spark(web_data, duckdb_results, tmp_path):
    url = f"spark+parquet://{tmp_path / 'tables'}"
    source = store_for(web_data.settings, read_only=True)
    try:
        copy_canonical_tables(source, url)
    finally:
        source.close()
    found = _compute_at(url, spark_session())
    assert_same_results(duckdb_results, found, "Spark")


def test_the_stored_results_match_a_fresh_computation(web_data, duckdb_results):
    """The import writes the results from the query straight into the table (replace_results);
    they are the rows `compute` returns, a missing figure NULL as it is there, never a NaN."""
    assert_same_results(web_data.results, duckdb_results, "DuckDB again")
    assert len(web_data.results) == len(duckdb_results)
    store = store_for(web_data.settings, read_only=True)
    try:
        numbers = [c for c, kind in store.raw.execute("SELECT column_name, data_type FROM information_schema.columns "
                                                      "WHERE table_name = 'indicator_results'").fetchall()
                   if kind == "DOUBLE"]
        assert len(numbers) == 11
        any_nan = " OR ".join(f"isnan({c})" for c in numbers)
        assert store.raw.execute(f"SELECT count(*) FROM indicator_results WHERE {any_nan}").fetchall()[0][0] == 0
    finally:
        store.close()


def test_a_figure_the_query_makes_nan_is_stored_null(monkeypatch):
    """replace_results writes the query's rows in SQL; a NaN (DuckDB's 0.0 / 0.0) is stored as the
    missing figure it is, as the way through pandas and Arrow stored it."""
    store = open_store(None)
    row = ", ".join(f"0.0 / 0.0 AS {c}" if c in engine.FIGURE_COLUMNS else "true AS complete" if c == "complete"
                    else f"'x' AS {c}" for c in RESULT_COLUMNS)

    @contextlib.contextmanager
    def one_row(*args):
        yield [f"SELECT {row}"]

    monkeypatch.setattr(engine, "_library_statements", one_row)
    try:
        assert engine.replace_results(store) == 1
        figures = store.raw.execute(f"SELECT {', '.join(engine.FIGURE_COLUMNS)} FROM indicator_results").fetchall()
        assert figures == [(None,) * len(engine.FIGURE_COLUMNS)]
    finally:
        store.close()


def test_a_copy_that_fails_leaves_postgresql_as_it_was(web_data, postgres_url):
    source = store_for(web_data.settings, read_only=True)
    try:
        copy_canonical_tables(source, postgres_url)
        before = open_backend(postgres_url).query("SELECT count(*) AS n FROM events").n[0]
        source.raw.execute("CREATE OR REPLACE TEMP VIEW populations AS SELECT 1 AS wrong")  # the last table
        with pytest.raises(Exception):  # noqa: B017 (psycopg's error for the wrong columns)
            copy_canonical_tables(source, postgres_url)
    finally:
        source.close()
    assert open_backend(postgres_url).query("SELECT count(*) AS n FROM events").n[0] == before > 0


def test_a_database_filled_before_a_column_was_added_takes_the_copy(web_data, postgres_url):
    """A staff table made by an earlier version, without `funding`, gains the column."""
    backend = open_backend(postgres_url)
    try:
        with backend.raw.cursor() as cursor:
            cursor.execute('DROP TABLE IF EXISTS "staff"')
            cursor.execute('CREATE TABLE "staff" ("municipality" TEXT, "staff_id" TEXT, "unit" TEXT, "role" TEXT, '
                           '"employment" TEXT, "start_date" DATE, "end_date" DATE, "fte" DOUBLE PRECISION, '
                           '"exam_year" INTEGER, "import_id" TEXT)')
        backend.raw.commit()
    finally:
        backend.close()
    source = store_for(web_data.settings, read_only=True)
    try:
        copied = copy_canonical_tables(source, postgres_url)
        funded = source.raw.execute("SELECT count(*) FROM staff WHERE funding IS NOT NULL").fetchone()[0]
    finally:
        source.close()
    assert copied["staff"] > 0 and funded > 0
    found = open_backend(postgres_url).query('SELECT count(*) AS n FROM "staff" WHERE "funding" IS NOT NULL')
    assert found.n[0] == funded


def test_postgresql_runs_statements_each_in_a_session_with_what_was_registered(postgres_url, monkeypatch):
    """query_each opens a session per statement (the library's areas run side by side) and puts
    the registered relations there too: a temporary table is its own session's."""
    monkeypatch.setenv("INSYN_POSTGRES_SESSIONS", "2")
    backend = open_backend(postgres_url)
    try:
        backend.register("insyn_numbers", pa.table({"n": [1, 2, 3]}))
        frames = backend.query_each([f"SELECT sum(n) * {k} AS total, pg_backend_pid() AS pid FROM insyn_numbers"
                                     for k in (1, 10, 100)])
        own = backend.query("SELECT pg_backend_pid() AS pid").pid[0]
        backend.unregister("insyn_numbers")
        assert "insyn_numbers" not in backend.registered
    finally:
        backend.close()
    assert [frame.total[0] for frame in frames] == [6, 60, 600]
    assert own not in {frame.pid[0] for frame in frames}


def test_a_failing_statement_stops_the_others_on_the_server(postgres_url, monkeypatch):
    """The first failure is raised as it happens; the statements still running are cancelled on
    the server and those queued behind never run: none of them writes its row."""
    monkeypatch.setenv("INSYN_POSTGRES_SESSIONS", "2")
    backend = open_backend(postgres_url)
    try:
        with backend.raw.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS insyn_test_written")
            cursor.execute("CREATE TABLE insyn_test_written (n integer)")
        backend.raw.commit()
        writes = "INSERT INTO insyn_test_written SELECT {n} FROM pg_sleep({seconds}) RETURNING n"
        with pytest.raises(Exception, match="division by zero"):
            backend.query_each([writes.format(n=1, seconds=600), "SELECT 1 / 0 AS never",
                                writes.format(n=2, seconds=2), writes.format(n=3, seconds=2)])
        written = backend.query("SELECT count(*) AS n FROM insyn_test_written").n[0]
        left = backend.query("SELECT count(*) AS n FROM pg_stat_activity "
                             "WHERE query LIKE 'INSERT INTO insyn_test_written%' AND state = 'active'")
    finally:
        backend.close()
    assert (written, left.n[0]) == (0, 0)


def test_every_session_reads_the_same_snapshot(postgres_url, monkeypatch):
    """The areas read the database as of one moment, as one statement would, although each
    session commits its own temporary tables first."""
    monkeypatch.setenv("INSYN_POSTGRES_SESSIONS", "2")
    backend = open_backend(postgres_url)
    try:
        backend.register("insyn_numbers", pa.table({"n": [1]}))
        frames = backend.query_each(["SELECT pg_current_snapshot()::text AS seen FROM insyn_numbers"] * 3)
    finally:
        backend.close()
    assert len({frame.seen[0] for frame in frames}) == 1


def test_a_wrong_number_of_postgresql_sessions_is_named(postgres_url, monkeypatch):
    monkeypatch.setenv("INSYN_POSTGRES_SESSIONS", "0")
    backend = open_backend(postgres_url)
    try:
        with pytest.raises(BackendError, match="INSYN_POSTGRES_SESSIONS ska vara ett heltal från 1"):
            backend.query_each(["SELECT 1 AS one", "SELECT 2 AS two"])
    finally:
        backend.close()


def test_an_unknown_store_url_is_refused_in_swedish():
    with pytest.raises(BackendError, match="Okänd adress till datalager"):
        open_backend("mysql://localhost/insyn")


def test_the_cli_copies_the_tables_and_computes_in_postgresql(web_data, duckdb_results, postgres_url, tmp_path):
    data = copy_data_folder(web_data, tmp_path / "data")
    store = store_for(data.settings)
    store.raw.execute("DELETE FROM indicator_results")
    store.close()
    copied = CliRunner().invoke(app, ["--data-dir", str(data.data_dir), "copy-tables", postgres_url])
    assert copied.exit_code == 0, copied.output
    assert f"events: {len(web_data.tables['events']):,}".replace(",", " ") in copied.output
    computed = CliRunner().invoke(app, ["--data-dir", str(data.data_dir), "indicators", "--lager", postgres_url])
    assert computed.exit_code == 0, computed.output
    store = store_for(data.settings, read_only=True)
    try:
        assert_same_results(duckdb_results, stored_results(store), "PostgreSQL through the CLI")
    finally:
        store.close()


def test_the_cli_names_an_unknown_store_url(web_data, tmp_path):
    data = copy_data_folder(web_data, tmp_path / "data")
    answer = CliRunner().invoke(app, ["--data-dir", str(data.data_dir), "indicators", "--lager", "sqlite:///x"])
    assert answer.exit_code != 0 and "Okänd adress till datalager: sqlite:///x" in answer.output
    assert "Inget har räknats om" in answer.output
