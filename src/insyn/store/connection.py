"""Open the store: a DuckDB file through Ibis, with the schema in place."""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import duckdb
import ibis
import pandas as pd
import pyarrow as pa
from ibis.backends.duckdb import Backend

from insyn.errors import Unavailable
from insyn.store.schema import create_statements


class StoreBusy(Unavailable):
    """The store file is locked by another process (an import, a report, insyn serve reading)
    or opened otherwise by this one: try again in a moment."""


@dataclass
class Store:
    """The Ibis backend for compute and the raw DuckDB connection for transactional loads. A
    ComputeBackend (insyn.store.backends) like PostgreSQL's and Spark's; `with` closes it."""

    ibis: Backend
    path: Path | None
    # The engine computes the library one area per statement here too (engine._statements): at
    # five national years, within a 4 GB memory limit, 51 s against 79 s for the whole library in
    # one statement, and within 1.5 GB the one statement ran out of memory where the areas did not.
    statement_per_area: ClassVar[bool] = True

    @property
    def raw(self):
        return self.ibis.con

    @property
    def staging_dir(self) -> Path | None:
        """Where an import keeps the checked rows of its files until the load, pseudonymised,
        beside the store's file (docs/privacy.md); an in-memory store keeps them in memory."""
        return self.path.with_name(f"{self.path.name}.staging") if self.path else None

    def table(self, name: str) -> ibis.Table:
        return self.ibis.table(name)

    def register(self, name: str, data: pa.Table) -> None:
        """`data` as a relation named `name`, until unregistered (insyn.store.backends has the same)."""
        self.raw.register(name, data)

    def unregister(self, name: str) -> None:
        # In a transaction a failed query aborted, DuckDB refuses even this; the caller rolls
        # back, and the failure that matters is already on its way up.
        with contextlib.suppress(duckdb.TransactionException):
            self.raw.unregister(name)

    def query(self, sql: str) -> pd.DataFrame:
        return self.raw.sql(sql).to_arrow_table().to_pandas()

    def extract_dates(self) -> dict[tuple[str, str], dt.date]:
        """(municipality, table) -> the extract date the latest import that gave one recorded, so
        that a wrong date can be corrected by importing again (docs/import-format.md)."""
        try:
            rows = self.raw.execute(
                "SELECT municipality, table_name, arg_max(extract_date, recorded_at) FROM extracts GROUP BY ALL"
            ).fetchall()
        except duckdb.CatalogException:  # a store opened read-only before the table existed
            return {}
        return {(municipality, table): day for municipality, table, day in rows}

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def count(self, name: str) -> int:
        return self.raw.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]

    @contextmanager
    def transaction(self):
        """All or nothing: an exception inside rolls every change back."""
        self.raw.execute("BEGIN TRANSACTION")
        try:
            yield self.raw
        except BaseException:
            self.raw.execute("ROLLBACK")
            raise
        self.raw.execute("COMMIT")

    def close(self) -> None:
        self.ibis.disconnect()


def open_store(path: Path | None, read_only: bool = False, memory_limit: str | None = None,
               spill_dir: Path | None = None) -> Store:
    """Open (and create if needed) the store at `path`; None gives an in-memory store. With
    `memory_limit` DuckDB keeps within it, spilling to `spill_dir` what does not fit."""
    if path is None:
        backend = ibis.duckdb.connect()
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            backend = ibis.duckdb.connect(str(path), read_only=read_only)
        except (duckdb.IOException, duckdb.ConnectionException) as error:
            if isinstance(error, duckdb.IOException) and "lock" not in str(error).lower():
                raise
            # DuckDB's message names the file's path and the other process: not for the user.
            raise StoreBusy("Datalagret används av en annan process just nu (till exempel en import). "
                            "Försök igen om en stund.") from error
    if memory_limit:
        backend.con.execute("SET memory_limit = ?", [memory_limit])
    if spill_dir is not None:
        spill_dir.mkdir(parents=True, exist_ok=True)
        backend.con.execute("SET temp_directory = ?", [str(spill_dir)])
    store = Store(ibis=backend, path=path)
    if not read_only:
        for statement in create_statements():
            backend.con.execute(statement)
        if store.staging_dir:  # what an import killed before its end left (no other writer is open)
            shutil.rmtree(store.staging_dir, ignore_errors=True)
    return store
