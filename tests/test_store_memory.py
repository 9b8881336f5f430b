"""The store keeps within a memory limit (Settings.memory_limit, INSYN_MEMORY_LIMIT) and spills
what does not fit to the data folder (Settings.spill_dir) rather than failing — except while an
import checks a file with clear identity numbers, which never spills."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
from pathlib import Path

import duckdb
import pytest
from helpers import EVENT_COLUMNS, pnr

from insyn.ingest import native
from insyn.ingest.load import IMPORTS, import_files
from insyn.ingest.native import TooLargeForMemory
from insyn.settings import Settings
from insyn.store import Store
from insyn.workflows import store_for

KEY = b"k" * 32

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


def _events_file(path: Path, rows: int) -> tuple[Path, list[str]]:
    """An events file of `rows` reports, each about a child with a valid personnummer."""
    numbers = [pnr((dt.date(2005, 1, 1) + dt.timedelta(days=i % 4000)).strftime("%Y%m%d"), f"{1 + i % 999:03d}")
               for i in range(rows)]
    with path.open("w", encoding="utf-8") as f:
        f.write(",".join(EVENT_COLUMNS) + "\n")
        f.writelines(f"0884,C{i},{number},report,2024-03-0{1 + i % 9},Barn och unga,,skola,,\n"
                     for i, number in enumerate(numbers))
    return path, numbers


def test_no_clear_identity_number_is_spilled_to_disk_while_a_file_is_checked(tmp_path, monkeypatch):
    """docs/privacy.md: no clear value touches disk. A file whose check does not fit the memory
    limit is refused, and nothing is written to the spill folder meanwhile (before, DuckDB spilled
    the file as read, numbers and all, some 50 MB here); a second import with room succeeds."""
    monkeypatch.setenv("INSYN_MEMORY_LIMIT", "40MB")
    settings = Settings(data_dir=tmp_path / "data")
    path, _ = _events_file(tmp_path / "handelser.csv", 200_000)
    store = store_for(settings)
    written: set[tuple[str, int]] = set()
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            for file in settings.spill_dir.glob("*") if settings.spill_dir.exists() else ():
                with contextlib.suppress(FileNotFoundError):
                    if (size := file.stat().st_size) > 0:
                        written.add((file.name, size))
            time.sleep(0.005)

    def read_again(*args, **kwargs):
        raise AssertionError("a file too large for the check is refused, not read again outside DuckDB's limit")

    monkeypatch.setattr(native, "read_export", read_again)
    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with pytest.raises(TooLargeForMemory, match=r"handelser\.csv: filen ryms inte i datalagrets minnesgräns "
                                                     r"\(38\.1 MiB\) medan den kontrolleras"):
            import_files(store, [path], KEY)
        assert store.raw.execute("SELECT count(*) FROM events").fetchone() == (0,)
        assert store.raw.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchone() == (0,)
        assert not (settings.database_path.with_name("insyn.duckdb.staging")).exists()
    finally:
        done.set()
        watcher.join()
        store.close()
    assert written == set()
    monkeypatch.undo()
    monkeypatch.setenv("INSYN_MEMORY_LIMIT", "400MB")
    store = store_for(Settings(data_dir=tmp_path / "data"))
    try:
        assert import_files(store, [path], KEY).files[0].rows_loaded == 200_000
        # The work after the check may spill again: pseudonymised rows only.
        assert store.raw.execute("SELECT current_setting('max_temp_directory_size')").fetchone() != ("0 bytes",)
    finally:
        store.close()


def test_the_numbers_a_check_holds_are_gone_before_the_load(tmp_path):
    """After the check, the import holds the rows as the store keeps them: no temporary table of
    the file as read, so what the recompute may spill has no clear number, and the checked rows
    wait in a Parquet file beside the store (insyn.duckdb.staging), pseudonymised, gone after the import."""
    path, numbers = _events_file(tmp_path / "handelser.csv", 50)
    store = store_for(Settings(data_dir=tmp_path / "data"))
    staging = tmp_path / "data" / "insyn.duckdb.staging"
    seen: list[tuple[list[str], list[str]]] = []
    try:
        def before_commit() -> None:
            assert IMPORTS.locked()  # one import at a time: the no-spill setting is the database's
            tables = [name for (name,) in store.raw.execute(
                "SELECT table_name FROM duckdb_tables() WHERE temporary ORDER BY 1").fetchall()]
            views = [name for (name,) in store.raw.execute(
                "SELECT view_name FROM duckdb_views() WHERE temporary AND NOT internal ORDER BY 1").fetchall()]
            seen.append(([*tables, *views], sorted(f.name for f in staging.iterdir())))
            for name in [*tables, *views]:
                text = " ".join(str(v) for row in store.raw.execute(f'SELECT * FROM "{name}"').fetchall() for v in row)
                assert not any(number in text or number.replace("-", "") in text for number in numbers[:10]), name
        import_files(store, [path], KEY, before_commit=before_commit)
    finally:
        store.close()
    assert seen == [(["incoming_0_stored", "incoming_0_stored_keys", "rejected_0"], ["incoming_0_stored.parquet"])]
    assert not staging.exists()


def test_many_files_are_checked_each_within_the_limit_not_all_together(tmp_path, monkeypatch):
    """A national import is hundreds of files. The rows of the files checked before wait on disk,
    pseudonymised (insyn.duckdb.staging), not in memory where, since nothing may spill while a file is
    checked, they would use up the limit: six files of 50,000 reports at 100 MB were refused at
    the fifth when they waited in temporary tables (as a store without a file, `staging_dir` None,
    still does)."""
    monkeypatch.setenv("INSYN_MEMORY_LIMIT", "100MB")
    paths = []
    for i in range(6):
        path, _ = _events_file(tmp_path / f"handelser_{i}.csv", 50_000)
        path.write_text(path.read_text(encoding="utf-8").replace("0884,C", f"0884,F{i}C"), encoding="utf-8")
        paths.append(path)
    store = store_for(Settings(data_dir=tmp_path / "data"))
    try:
        assert sum(f.rows_loaded for f in import_files(store, paths, KEY).files) == 300_000
        assert store.raw.execute("SELECT count(DISTINCT case_id) FROM events").fetchone() == (300_000,)
    finally:
        store.close()
    assert not (tmp_path / "data" / "insyn.duckdb.staging").exists()
    monkeypatch.setattr(Store, "staging_dir", property(lambda store: None))
    store = store_for(Settings(data_dir=tmp_path / "again"))
    try:
        with pytest.raises(TooLargeForMemory, match=r"handelser_[2-5]\.csv: filen ryms inte"):
            import_files(store, paths, KEY)
    finally:
        store.close()


def test_what_a_killed_import_left_is_removed_when_the_store_is_next_opened_for_writing(tmp_path):
    settings = Settings(data_dir=tmp_path / "data")
    store_for(settings).close()
    left = settings.database_path.with_name("insyn.duckdb.staging")
    left.mkdir()
    (left / "incoming_0_stored.parquet").write_bytes(b"pseudonymised rows")
    store_for(settings, read_only=True).close()  # a reader leaves a running import's rows alone
    assert left.exists()
    store_for(settings).close()
    assert not left.exists()
