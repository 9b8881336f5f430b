"""The scale-out backends: the indicator library computed where the data already are, in
PostgreSQL or in Spark, from the same Ibis expressions as on the DuckDB file.

A store URL chooses the backend (`open_backend`, through the scheme registry SCHEMES, which
`copy_canonical_tables` uses too; a new backend is a `Scheme` registered, CONTRIBUTING.md):

- ``postgresql://user@host:port/database`` — the canonical tables in that database;
- ``spark+parquet:///path/to/folder`` — each canonical table read from ``<folder>/<table>``
  (a Parquet file or folder of files) by a Spark session: local mode by default, a cluster's
  master from ``$INSYN_SPARK_MASTER`` (``spark://host:7077``, ``yarn``, …);
- ``spark+catalog://database`` — the tables of a Spark catalog database (Hive metastore,
  Unity, …) in the session's configuration.

Each backend does what the engine needs beside Ibis: registers a small relation (the
periods, the shipped populations, the workforce and workload files) for the duration of a
query — a temporary table in PostgreSQL, a temporary view in Spark — and runs compiled SQL,
returning the result. The query runs in the backend; only the indicator results (thousands of
rows) come back into Python.

`copy_canonical_tables` puts a DuckDB store's canonical tables into PostgreSQL (COPY, in one
transaction) or into a Parquet folder for Spark (each table written beside and then renamed
into place), for a national actor's platform or for the parity tests.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import shutil
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable
from urllib.parse import urlparse

import ibis
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import csv

from insyn.errors import InsynError
from insyn.model.tables import TABLES
from insyn.store.schema import stored_columns

# The canonical tables (insyn.model.tables): what the indicators read and a backend holds.
CANONICAL = list(TABLES)
SPARK_MASTER = "local[2]"
# For this session only. The library is one query of many joins whose sizes PostgreSQL's planner
# underestimates (one row where there are millions), so it picks nested loops: without them,
# two national years took 225 s instead of more than five minutes (not waited for). Nor merge
# joins: believing both sides tiny, it merges on the municipality alone and filters the rest
# of the key pair by pair (253 million pairs, 57 s, for one indicator of one national year,
# 11 s hashing). JIT compiling a query this size costs more than it saves.
SESSION_SETTINGS = ["SET enable_nestloop = off", "SET enable_mergejoin = off", "SET jit = off"]


class BackendError(InsynError, RuntimeError):
    """A store URL or backend that cannot be used (the message says why, in Swedish)."""


@runtime_checkable
class ComputeBackend(Protocol):
    """What the indicator engine computes on: the DuckDB store (insyn.store.Store) and every
    backend a store URL opens. Each is a context manager that closes it."""

    ibis: ibis.BaseBackend

    def table(self, name: str) -> ibis.Table: ...

    def register(self, name: str, data: pa.Table) -> None: ...

    def unregister(self, name: str) -> None: ...

    def query(self, sql: str) -> pd.DataFrame: ...

    def extract_dates(self) -> dict[tuple[str, str], dt.date]: ...

    def close(self) -> None: ...

    def __enter__(self) -> ComputeBackend: ...

    def __exit__(self, *exc) -> None: ...


def postgres_sessions() -> int:
    """How many statements of the library PostgreSQL runs side by side (query_each):
    `$INSYN_POSTGRES_SESSIONS`, by default 2 — each is a server process on a core of its own."""
    value = os.environ.get("INSYN_POSTGRES_SESSIONS", "2")
    if not (value.isascii() and value.isdigit()) or int(value) < 1:
        raise BackendError(f"INSYN_POSTGRES_SESSIONS ska vara ett heltal från 1, inte {value!r}.")
    return int(value)


def _set_session(connection, search_path: str | None = None, time_zone: str | None = None) -> None:
    with connection.cursor() as cursor:
        for setting in SESSION_SETTINGS:
            cursor.execute(setting)
        for name, value in (("search_path", search_path), ("TimeZone", time_zone)):
            if value is not None:
                cursor.execute("SELECT set_config(%s, %s, false)", (name, value))
    connection.commit()


def _create_temporary(connection, name: str, data: pa.Table, commit: bool = True) -> None:
    columns = ", ".join(f'"{f.name}" {_postgres_type(f.type)}' for f in data.schema)
    with connection.cursor() as cursor:
        cursor.execute(f'DROP TABLE IF EXISTS "{name}"')
        cursor.execute(f'CREATE TEMPORARY TABLE "{name}" ({columns})')
        _copy_into(cursor, name, data)
        cursor.execute(f'ANALYZE "{name}"')
    if commit:
        connection.commit()


class _Stopped(Exception):
    """A statement not run because another failed (query_each raises that one)."""


def _fetch(connection, sql: str, stopping: threading.Event | None = None) -> pd.DataFrame:
    with connection.cursor() as cursor:
        if stopping is not None and stopping.is_set():
            raise _Stopped
        cursor.execute(sql)
        frame = pd.DataFrame(cursor.fetchall(), columns=[c.name for c in cursor.description])
    connection.commit()
    return frame


class ClosesOnExit:
    """`with open_backend(url) as backend:` closes it however the block ends."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass
class PostgresBackend(ClosesOnExit):
    """The canonical tables in a PostgreSQL database; Ibis's postgres backend compiles."""

    url: str
    ibis: ibis.BaseBackend = field(init=False)
    # What register() put in the session, to put in the sessions query_each() opens beside it.
    registered: dict[str, pa.Table] = field(default_factory=dict, init=False)
    # The engine computes the library one area per statement here, and query_each runs them side
    # by side: PostgreSQL runs one statement on one core. (One per area and kind of subjects,
    # sharing less, took 427 s at five national years against 370 s.)
    statement_per_area: ClassVar[bool] = True

    def __post_init__(self) -> None:
        self.ibis = ibis.connect(self.url)
        _set_session(self.raw)

    @property
    def raw(self):  # the psycopg 3 connection
        return self.ibis.con

    def table(self, name: str) -> ibis.Table:
        return self.ibis.table(name)

    def register(self, name: str, data: pa.Table) -> None:
        """A temporary table of the session, filled by COPY."""
        _create_temporary(self.raw, name, data)
        self.registered[name] = data

    def unregister(self, name: str) -> None:
        self.registered.pop(name, None)
        with self.raw.cursor() as cursor:
            cursor.execute(f'DROP TABLE IF EXISTS "{name}"')
        self.raw.commit()

    def query(self, sql: str) -> pd.DataFrame:
        return _fetch(self.raw, sql)

    def query_each(self, sqls: list[str]) -> list[pd.DataFrame]:
        """Each statement's result, up to `postgres_sessions()` statements at a time, each in a
        session of its own with this one's search path, time zone and registered tables (a
        temporary table is its session's), all reading this session's snapshot, as one
        statement would. The first failure, or Ctrl-C, stops the others on the server."""
        sessions = postgres_sessions()
        if len(sqls) == 1 or sessions == 1:
            return [self.query(sql) for sql in sqls]
        import psycopg
        import psycopg.sql

        with self.raw.cursor() as cursor:
            cursor.execute("SELECT current_setting('search_path'), current_setting('TimeZone')")
            search_path, time_zone = cursor.fetchone()
        self.raw.commit()
        dsn, password = self.raw.info.dsn, self.raw.info.password
        stopping = threading.Event()
        running: set = set()  # connections with a statement under way, to cancel on a failure
        lock = threading.Lock()

        def run(sql: str, snapshot: str) -> pd.DataFrame:
            if stopping.is_set():
                raise _Stopped
            try:
                connection = psycopg.connect(dsn, password=password)
            except psycopg.OperationalError as refused:
                raise BackendError(f"PostgreSQL öppnade ingen ytterligare session ({refused}). Sätt "
                                   "INSYN_POSTGRES_SESSIONS=1 för att räkna i en enda.") from refused
            with connection:
                with lock:
                    if stopping.is_set():
                        raise _Stopped
                    running.add(connection)
                try:
                    _set_session(connection, search_path, time_zone)
                    # In the snapshot's transaction, so that it sees its own temporary rows.
                    connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
                    with connection.cursor() as cursor:
                        cursor.execute(psycopg.sql.SQL("SET TRANSACTION SNAPSHOT {}").format(
                            psycopg.sql.Literal(snapshot)))
                    for name, data in self.registered.items():
                        _create_temporary(connection, name, data, commit=False)
                    return _fetch(connection, sql, stopping)
                finally:
                    with lock:
                        running.discard(connection)

        previous = self.raw.isolation_level
        self.raw.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        try:
            # The transaction that exports the snapshot stays open until every statement has read it.
            with self.raw.transaction(force_rollback=True), self.raw.cursor() as cursor:
                cursor.execute("SELECT pg_export_snapshot()")
                snapshot = cursor.fetchone()[0]
                futures = self._run_side_by_side(run, sqls, snapshot, sessions, stopping, running, lock)
        finally:
            self.raw.isolation_level = previous
        return [future.result() for future in futures]

    @staticmethod
    def _run_side_by_side(run, sqls: list[str], snapshot: str, sessions: int, stopping: threading.Event,
                          running: set, lock: threading.Lock) -> list:
        """The statements' futures, all ended: at the first failure, or Ctrl-C, nothing more
        starts and what runs is cancelled on the server — again until all have ended, since a
        cancel that reaches a session between two of its statements is lost."""
        pool = ThreadPoolExecutor(min(sessions, len(sqls)))
        futures = [pool.submit(run, sql, snapshot) for sql in sqls]
        try:
            for done in as_completed(futures):
                done.result()  # raises the first failure as it happens
        except BaseException:
            stopping.set()
            for future in futures:
                future.cancel()
            while not all(future.done() for future in futures):
                with lock:
                    under_way = list(running)
                for connection in under_way:
                    with contextlib.suppress(Exception):
                        connection.cancel_safe(timeout=5)
                wait(futures, timeout=0.5)
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return futures

    def extract_dates(self) -> dict:
        """None recorded here: the data folder's store keeps them (compute_indicators_at passes them)."""
        return {}

    def close(self) -> None:
        self.ibis.disconnect()


@dataclass
class SparkBackend(ClosesOnExit):
    """The canonical tables as Spark tables: temporary views of Parquet, or a catalog's."""

    url: str
    session: Any = None  # a pyspark.sql.SparkSession (pyspark is an optional dependency)
    ibis: ibis.BaseBackend = field(init=False)
    # The engine computes the library one area per statement here (engine._statements).
    statement_per_area: ClassVar[bool] = True

    def __post_init__(self) -> None:
        parsed = urlparse(self.url)
        self.session = self.session or spark_session()
        if parsed.scheme == "spark+parquet":
            folder = Path(parsed.path)
            for name in CANONICAL:
                if not (folder / name).exists():
                    raise BackendError(f"Tabellen {name} saknas i {folder} (väntade {folder / name}).")
                self.session.read.parquet(str(folder / name)).createOrReplaceTempView(name)
        elif parsed.scheme == "spark+catalog":
            self.session.catalog.setCurrentDatabase(parsed.netloc)
        self.ibis = ibis.pyspark.connect(self.session)

    def table(self, name: str) -> ibis.Table:
        return self.ibis.table(name)

    def register(self, name: str, data: pa.Table) -> None:
        self.session.createDataFrame(data).createOrReplaceTempView(name)

    def unregister(self, name: str) -> None:
        self.session.catalog.dropTempView(name)

    def query(self, sql: str) -> pd.DataFrame:
        return self.session.sql(sql).toPandas()

    def extract_dates(self) -> dict:
        """None recorded here: the data folder's store keeps them (compute_indicators_at passes them)."""
        return {}

    def close(self) -> None:
        """The session stays: starting one costs seconds, and it is shared by the process."""


def spark_session(master: str | None = None):
    """The process's Spark session: on loopback in local mode, a cluster's by configuration."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    master = master or os.environ.get("INSYN_SPARK_MASTER", SPARK_MASTER)
    builder = (SparkSession.builder.appName("insyn").master(master)
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.ui.showConsoleProgress", "false"))
    if master.startswith("local"):
        builder = (builder.config("spark.driver.bindAddress", "127.0.0.1").config("spark.driver.host", "127.0.0.1")
                   .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "4")
                   .config("spark.driver.memory", os.environ.get("INSYN_SPARK_DRIVER_MEMORY", "4g")))
    return builder.getOrCreate()


def without_credentials(url: str) -> str:
    """The URL as shown in messages: no user name or password."""
    parsed = urlparse(url)
    if "@" not in parsed.netloc:
        return url
    return parsed._replace(netloc=parsed.netloc.rsplit("@", 1)[1]).geturl()


@dataclass(frozen=True)
class Scheme:
    """A kind of store URL: how to open a backend on it and, where that can be done, how to copy
    a DuckDB store's canonical tables there. Registered in SCHEMES (register_scheme)."""

    names: tuple[str, ...]  # URL schemes, e.g. ("postgresql", "postgres")
    example: str  # as messages show it: postgresql://…
    open: Callable[[str, object | None], ComputeBackend]
    copy: Callable[[object, str, int], dict[str, int]] | None = None


SCHEMES: dict[str, Scheme] = {}


def register_scheme(scheme: Scheme) -> None:
    for name in scheme.names:
        SCHEMES[name] = scheme


def _scheme(url: str) -> Scheme | None:
    return SCHEMES.get(urlparse(url).scheme)


def _examples(copyable: bool = False) -> str:
    shown = list(dict.fromkeys(s.example for s in SCHEMES.values() if s.copy or not copyable))
    return ", ".join(shown[:-1]) + f" eller {shown[-1]}" if len(shown) > 1 else shown[0]


def open_backend(url: str, spark=None) -> ComputeBackend:
    """The backend a store URL names (SCHEMES), open; use it in a `with` block."""
    scheme = _scheme(url)
    if scheme is None:
        raise BackendError(f"Okänd adress till datalager: {without_credentials(url)} ({_examples()}).")
    return scheme.open(url, spark)


# --- putting the canonical tables there -----------------------------------------------------

_POSTGRES_TYPES = {"VARCHAR": "TEXT", "DOUBLE": "DOUBLE PRECISION", "TINYINT": "SMALLINT"}


def postgres_ddl(name: str) -> list[str]:
    """CREATE TABLE of a canonical table in PostgreSQL's types, and every column added to it
    since (a database filled by an earlier version has the table without them)."""
    columns = [(column, _POSTGRES_TYPES.get(kind, kind)) for column, kind in stored_columns(TABLES[name])]
    listed = ", ".join(f'"{column}" {kind}' for column, kind in columns)
    return [f'CREATE TABLE IF NOT EXISTS "{name}" ({listed})',
            *(f'ALTER TABLE "{name}" ADD COLUMN IF NOT EXISTS "{column}" {kind}' for column, kind in columns)]


def _postgres_type(kind: pa.DataType) -> str:
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return "TEXT"
    if pa.types.is_floating(kind):
        return "DOUBLE PRECISION"
    if pa.types.is_integer(kind):
        return "BIGINT"
    if pa.types.is_boolean(kind):
        return "BOOLEAN"
    if pa.types.is_date(kind):
        return "DATE"
    if pa.types.is_timestamp(kind):
        return "TIMESTAMP"
    raise BackendError(f"Typen {kind} kan inte föras till PostgreSQL.")


def _copy_into(cursor, name: str, data: pa.Table) -> None:
    """COPY the rows in, as CSV written by Arrow: a null is an empty unquoted field, an empty
    string a quoted one, integers stay integers."""
    text = io.BytesIO()
    csv.write_csv(data, text, csv.WriteOptions(include_header=False, quoting_style="needed"))
    columns = ", ".join(f'"{c}"' for c in data.column_names)
    with cursor.copy(f'COPY "{name}" ({columns}) FROM STDIN WITH (FORMAT csv)') as copy:
        copy.write(text.getvalue())


def copy_canonical_tables(source, url: str, batch_rows: int = 1_000_000) -> dict[str, int]:
    """Copy the canonical tables of the DuckDB store `source` to the backend at `url`,
    replacing what is there; returns the rows per table (each scheme's copy says how atomic)."""
    scheme = _scheme(url)
    if scheme is None or scheme.copy is None:
        raise BackendError(f"Kan inte kopiera till {without_credentials(url)}: ange {_examples(copyable=True)}.")
    return scheme.copy(source, url, batch_rows)


def _copy_to_postgres(source, url: str, batch_rows: int) -> dict[str, int]:
    """One transaction: a failure leaves the database as it was."""
    counts: dict[str, int] = {}
    with PostgresBackend(url) as target:
        with target.raw.transaction(), target.raw.cursor() as cursor:
            for name in CANONICAL:
                for statement in postgres_ddl(name):
                    cursor.execute(statement)
                cursor.execute(f'TRUNCATE "{name}"')
                reader = source.raw.sql(f"SELECT * FROM {name}").to_arrow_reader(batch_rows)
                counts[name] = 0
                for batch in reader:
                    _copy_into(cursor, name, pa.Table.from_batches([batch]))
                    counts[name] += batch.num_rows
        with target.raw.cursor() as cursor:  # statistics, or the planner joins blind
            for name in CANONICAL:
                cursor.execute(f'ANALYZE "{name}"')
        target.raw.commit()
    return counts


def _copy_to_parquet(source, url: str, batch_rows: int) -> dict[str, int]:
    """Every table is written to a folder beside its place and moved in when all are written;
    each move is atomic, the set of them is not (a reader between two moves sees some tables
    new and some old)."""
    folder = Path(urlparse(url).path)
    folder.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    staged = {}
    for name in CANONICAL:
        staging = folder / f".{name}.new"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        reader = source.raw.sql(f"SELECT * FROM {name}").to_arrow_reader(batch_rows)
        with pq.ParquetWriter(staging / "part-0.parquet", reader.schema) as writer:
            counts[name] = 0
            for batch in reader:
                writer.write_batch(batch)
                counts[name] += batch.num_rows
        staged[name] = staging
    for name, staging in staged.items():
        old = folder / f".{name}.old"
        shutil.rmtree(old, ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            (folder / name).rename(old)
        staging.rename(folder / name)
        shutil.rmtree(old, ignore_errors=True)
    return counts


register_scheme(Scheme(("postgresql", "postgres"), "postgresql://…", lambda url, spark: PostgresBackend(url),
                       _copy_to_postgres))
register_scheme(Scheme(("spark+parquet",), "spark+parquet:///mapp", SparkBackend, _copy_to_parquet))
register_scheme(Scheme(("spark+catalog",), "spark+catalog://databas", SparkBackend))
