"""The store keeps within a memory limit (Settings.memory_limit, INSYN_MEMORY_LIMIT) and spills
what does not fit to the data folder (Settings.spill_dir) rather than failing."""

from __future__ import annotations

import duckdb
import pytest

from insyn.settings import Settings
from insyn.workflows import store_for

# Four million distinct keys grouped: some 300 MB of hash table, three times the limit below.
GROUPED = ("SELECT count(*) FROM (SELECT h, count(*) AS n FROM "
           "(SELECT md5(i::VARCHAR) AS h FROM range(4000000) t(i)) GROUP BY h)")


def test_the_store_has_the_settings_memory_limit_and_spill_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("INSYN_MEMORY_LIMIT", "100MB")
    settings = Settings(data_dir=tmp_path)
    for read_only in (False, True):
        store = store_for(settings, read_only=read_only)
        try:
            limit, spill = store.raw.execute(
                "SELECT current_setting('memory_limit'), current_setting('temp_directory')").fetchone()
            assert (limit, spill) == ("95.3 MiB", str(tmp_path / "spill"))
            assert store.raw.execute(GROUPED).fetchone() == (4_000_000,)  # spilled, not failed
        finally:
            store.close()


def test_without_the_spill_folder_the_same_work_would_fail(tmp_path, monkeypatch):
    """The test above exercises spilling: the same query in the same limit fails without it."""
    monkeypatch.setenv("INSYN_MEMORY_LIMIT", "100MB")
    store = store_for(Settings(data_dir=tmp_path))
    try:
        store.raw.execute("SET temp_directory = ''")
        with pytest.raises(duckdb.OutOfMemoryException):
            store.raw.execute(GROUPED).fetchone()
    finally:
        store.close()


def test_the_default_limit_is_four_gigabytes(tmp_path, monkeypatch):
    monkeypatch.delenv("INSYN_MEMORY_LIMIT", raising=False)
    store = store_for(Settings(data_dir=tmp_path))
    try:
        assert store.raw.execute("SELECT current_setting('memory_limit')").fetchone() == ("3.7 GiB",)
    finally:
        store.close()
