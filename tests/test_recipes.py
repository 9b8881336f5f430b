"""CONTRIBUTING.md's recipes, done the way the recipes say: through the registries alone.

The other recipes are exercised where their registries are tested: a subject kind in
tests/test_layers.py, a profile in tests/test_profiles.py, a web page in
tests/test_web_registry.py and an indicator in tests/test_new_indicator.py.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pandas as pd
import pytest
from helpers import EVENT_COLUMNS, write_csv
from test_indicators import EVENTS

from insyn.ingest.load import import_files
from insyn.settings import Settings
from insyn.store import open_store
from insyn.store.backends import (
    SCHEMES,
    BackendError,
    ComputeBackend,
    Scheme,
    copy_canonical_tables,
    open_backend,
    register_scheme,
)
from insyn.workflows import compute_indicators, compute_indicators_at, store_for


def _open_duckdb_file(url: str, spark=None) -> ComputeBackend:
    """The recipe's backend: another DuckDB file, read only (a Store is a ComputeBackend)."""
    return open_store(Path(urlparse(url).path), read_only=True)


@pytest.fixture
def duckdb_file_scheme():
    register_scheme(Scheme(("duckdb+fil",), "duckdb+fil:///sökväg/insyn.duckdb", _open_duckdb_file))
    yield
    del SCHEMES["duckdb+fil"]


def test_a_backend_added_as_a_scheme_computes_the_library(tmp_path, key, duckdb_file_scheme):
    """A new kind of store URL is one Scheme registered: `insyn indicators --lager` then
    computes there, and the results equal those of the data folder's own store."""
    elsewhere = Settings(data_dir=tmp_path / "elsewhere")
    store = store_for(elsewhere)
    try:
        import_files(store, [write_csv(tmp_path / "e.csv", EVENT_COLUMNS, EVENTS)], key)
    finally:
        store.close()
    own = compute_indicators(elsewhere)

    here = Settings(data_dir=tmp_path / "here")
    store_for(here).close()
    with open_backend(f"duckdb+fil://{elsewhere.database_path}") as backend:
        assert isinstance(backend, ComputeBackend) and backend.table("events").count().execute() == len(EVENTS)
    computed = compute_indicators_at(here, f"duckdb+fil://{elsewhere.database_path}")

    def ordered(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.sort_values(list(frame.columns), na_position="first").reset_index(drop=True)

    assert len(own) > 0
    pd.testing.assert_frame_equal(ordered(computed), ordered(own))
    with pytest.raises(BackendError, match="Kan inte kopiera till duckdb\\+fil"):  # it registered no copy
        copy_canonical_tables(store, f"duckdb+fil://{tmp_path / 'x.duckdb'}")


def test_an_unknown_scheme_names_the_registered_ones():
    with pytest.raises(BackendError) as error:
        open_backend("mysql://host/db")
    assert "postgresql://" in str(error.value) and "spark+parquet" in str(error.value)
