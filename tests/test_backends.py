"""Parity: the whole indicator library on DuckDB, on a real PostgreSQL server and on PySpark in
local mode, from the same canonical tables, gives the same results — every row, exact counts,
values and medians equal, the same cell keys.

The PostgreSQL server is started here from Debian's binaries (`.ci/run` installs the package)
on loopback, in a temporary folder; PySpark runs on the machine's Java.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner
from webapp import copy_data_folder

from insyn.cli import app
from insyn.indicators.engine import DIMENSIONS, RESULT_COLUMNS, compute, stored_results
from insyn.store.backends import CANONICAL, BackendError, copy_canonical_tables, open_backend, spark_session
from insyn.workflows import store_for

pytest_plugins = ["webapp"]

KEYS = ["indicator", "municipality", "period", "period_type", *DIMENSIONS]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_url():
    """A throwaway PostgreSQL server on loopback for the session: its URL."""
    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not binaries:
        pytest.fail("PostgreSQL's server binaries are missing: .ci/run installs them (apt-get install postgresql)")
    bin_dir = Path(binaries[-1]).parent
    # Not under pytest's folder: the postgres user may not enter root's private one.
    folder = Path(tempfile.mkdtemp(prefix="insyn-postgres-"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: run the server as Debian's postgres user
        shutil.chown(folder, "postgres", "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    subprocess.run([*as_postgres, bin_dir / "initdb", "-D", folder / "data", "-U", "postgres", "--auth=trust",
                    "-E", "UTF8", "--locale=C.UTF-8"], check=True, capture_output=True)
    subprocess.run([*as_postgres, bin_dir / "pg_ctl", "-D", folder / "data", "-l", folder / "log", "-w", "-o",
                    f"-c listen_addresses=127.0.0.1 -p {port} -k {folder}", "start"], check=True, capture_output=True)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_postgres, bin_dir / "pg_ctl", "-D", folder / "data", "-m", "fast", "stop"],
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


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
        # Counts exactly. Sums of fractions (person-years) and the values made of them may differ
        # in the last bits with the order of summation: to far below the decimal shown.
        tolerance = np.where(a == np.round(a), 0.0, 1e-9 * np.maximum(1.0, np.abs(a)))
        same = (np.isnan(a) & np.isnan(b)) | (np.abs(a - b) <= tolerance)
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
    """The record keys are computed portably now; the results stored at import are the same."""
    assert_same_results(web_data.results, duckdb_results, "DuckDB again")


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
