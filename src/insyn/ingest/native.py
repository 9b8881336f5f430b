"""The import's fast path: DuckDB reads an export into the store's connection and types, checks
and pseudonymises it over its distinct values, so a national file never passes through Python
row by row.

Every column's distinct values are judged by the same functions `validate` uses (dates, codes,
municipalities, numbers, ids in free text), and the personal identity numbers once per distinct
number, municipality and temporary mark (their HMAC computed in memory, in a connection of its
own). The verdicts are joined back to the rows in SQL. The file as read, clear numbers included,
is held in temporary tables of the import's connection only while it is checked (as the
reference path holds it in Arrow memory): `settle` then writes the rows as the store keeps them
to a Parquet file beside the store (`Store.staging_dir`) and drops the rest, and no stored table
ever receives a number. No
clear value touches disk (docs/privacy.md): while a file is read and checked DuckDB may not
spill (`clear_values_in_memory`), and a file too large for the store's memory limit is refused
rather than spilled. A row with any value
judged bad, or whose columns together break a rule, is a suspect: the suspects alone go through
`validate` itself, so the quarantine and the messages are the reference path's, row by row and
byte for byte (tests/test_native_import.py holds the two paths to that).

DuckDB reads plain UTF-8 CSV and Parquet of text, date and integer columns itself. Anything else
(another encoding, blank lines, XLSX, SCB's population files, a value the reader refuses) is read
by `readers.read_export`, whose rows are then checked the same way.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from insyn.errors import InputError
from insyn.ingest.profiles import Profile
from insyn.ingest.readers import MAX_VALUE_CHARS, ROW_NUMBER, checked_names, csv_layout, read_export
from insyn.ingest.validate import (
    Checker,
    Rules,
    Validated,
    across_columns,
    check_across_columns,
    check_column,
    column_text,
    person_column_of,
    person_columns,
    resolve_columns,
    validate,
    value_maps_of,
)
from insyn.model.tables import Table
from insyn.store.schema import stored_columns

# Parquet column types whose text DuckDB writes as Arrow does (readers._as_text); a file with any
# other type is read by the reference reader.
_PARQUET_TEXT = ("VARCHAR", "DATE", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT",
                 "UINTEGER", "UBIGINT")
_PARQUET_DATES = ("TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS")


@dataclass
class Staged:
    """One file checked, ready to load: `incoming` is a relation of its good rows as the store
    keeps them, `keys` one of their key columns and municipality (cheaper to read where only those
    are needed). `validated` has the file's problems, quarantine and notices; on the native path
    its `clean` holds only the suspect rows that passed."""

    validated: Validated
    incoming: str
    keys: str
    rows_valid: int


# The name in SQL of a column without a header (and its position).
UNNAMED = "insyn_namnlos_"


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def stage(connection: duckdb.DuckDBPyConnection, path: Path, key: bytes, import_id: str, name: str,
          profile: Profile | None = None, table_name: str | None = None,
          extract_date: dt.date | None = None, today: dt.date | None = None) -> Staged:
    """Read, check and pseudonymise one file: `name` is then a view of its rows as the store
    keeps them, over temporary tables that stay until `drop_staged`."""
    rules = Rules.of(profile, key, today, extract_date)
    headers, rows = _read(connection, path, profile, f"{name}_raw")
    table, mapping = resolve_columns(headers, profile, table_name, path)
    header_of = {column: header for header, column in mapping.items()}
    constants = {header: value for header, (_, value) in (profile.constants_of(table.name) if profile else {}).items()
                 if header in mapping and header not in headers}
    source = (f"(SELECT *, {', '.join(f'{_literal(v)} AS {quoted(h)}' for h, v in constants.items())} FROM {rows})"
              if constants else rows)
    encoding = profile.encoding if profile else None
    if _values_refused(connection, rows, [h for h in headers if h not in mapping]):
        _refuse(path, encoding)
    checked = _Columns(connection, source, table, header_of, value_maps_of(profile, table), rules, name,
                       bool(profile and profile.temporary_ids), lambda: _refuse(path, encoding))
    suspects = checked.suspects(f"{name}_suspects")
    suspect_rows = connection.sql(
        f"SELECT {', '.join(quoted(h) for h in headers)}, {ROW_NUMBER} FROM {rows} "
        f"WHERE {ROW_NUMBER} IN (SELECT {ROW_NUMBER} FROM {suspects}) ORDER BY {ROW_NUMBER}").to_arrow_table()
    # Columns without a header get their empty names back, so the messages are the reference's.
    suspect_rows = suspect_rows.rename_columns(
        ["" if name.startswith(UNNAMED) else name for name in suspect_rows.column_names])
    reference = validate(suspect_rows, path, profile, table_name, key, rules.today, extract_date)
    stored = [n for n, _ in stored_columns(table) if n != "import_id"]
    passed = reference.clean.select(stored).append_column(
        "import_id", pa.array([import_id] * reference.clean.num_rows, pa.string()))
    _materialise(connection, f"{name}_passed", passed)
    good = f"r.{ROW_NUMBER} NOT IN (SELECT {ROW_NUMBER} FROM {suspects})"
    for view, columns in ((name, stored), (f"{name}_keys", [c for c in stored if c in (*table.key, "municipality")])):
        connection.execute(
            f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT {checked.select(columns)}, "
            f"{_literal(import_id)} AS import_id FROM {source} r {checked.joins(columns)} WHERE {good} "
            f"UNION ALL BY NAME SELECT {', '.join(columns)}, import_id FROM {name}_passed").fetchall()
    rows_read = connection.execute(f"SELECT count(*) FROM {rows}").fetchall()[0][0]
    rejected = connection.execute(f"SELECT count(*) FROM {suspects}").fetchall()[0][0]
    validated = Validated(file=path, table=table, rows_read=rows_read, clean=reference.clean,
                          problems=reference.problems, quarantine=reference.quarantine, notices=reference.notices)
    return Staged(validated=validated, incoming=name, keys=f"{name}_keys",
                  rows_valid=rows_read - rejected + passed.num_rows)


class TooLargeForMemory(InputError):
    """A file that cannot be checked within the store's memory limit without spilling."""


@contextlib.contextmanager
def clear_values_in_memory(connection: duckdb.DuckDBPyConnection, path: Path):
    """While a file is read and checked, clear identity numbers included, DuckDB may write
    nothing to its spill folder: past the memory limit the import fails (and changes nothing)
    rather than put a clear value on disk. The setting is the database's, shared by every
    connection to it in the process: imports run one at a time (`load.IMPORTS`)."""
    connection.execute("SET max_temp_directory_size = '0B'")
    try:
        yield
    except duckdb.OutOfMemoryException:
        (limit,) = connection.execute("SELECT current_setting('memory_limit')").fetchall()[0]
        raise TooLargeForMemory(
            f"{path.name}: filen ryms inte i datalagrets minnesgräns ({limit}) medan den kontrolleras, och "
            "personnummer får inte skrivas till disk. Inget har lästs in. Höj gränsen med INSYN_MEMORY_LIMIT, "
            "eller dela filen och importera delarna var för sig.") from None
    finally:
        connection.execute("RESET max_temp_directory_size")


def settle(connection: duckdb.DuckDBPyConnection, staged: Staged, folder: Path | None) -> Staged:
    """The staged rows as the store keeps them (pseudonymised) copied out, and every table and
    view that held the file as read dropped. With a `folder` they go to a Parquet file there:
    while the next file is checked nothing may spill, not even the rows of the files checked
    before, so held in memory they would use up the limit file by file (a national import of
    hundreds of files). Without one, to a temporary table, which may spill like any other work."""
    name = staged.incoming
    stored = f"{name}_stored"
    if folder is None:
        connection.execute(f"CREATE OR REPLACE TEMP TABLE {stored} AS SELECT * FROM {name}").fetchall()
    else:
        file = _literal(str(folder / f"{stored}.parquet"))
        connection.execute(f"COPY (SELECT * FROM {name}) TO {file} (FORMAT parquet)").fetchall()
        connection.execute(f"CREATE OR REPLACE TEMP VIEW {stored} AS SELECT * FROM read_parquet({file})").fetchall()
    key_columns = [c[0] for c in connection.execute(f"SELECT * FROM {staged.keys} LIMIT 0").description]
    drop_staged(connection, name, keep=stored)
    keys = f"{stored}_keys"
    connection.execute(
        f"CREATE OR REPLACE TEMP VIEW {keys} AS SELECT {', '.join(key_columns)} FROM {stored}").fetchall()
    return Staged(validated=staged.validated, incoming=stored, keys=keys, rows_valid=staged.rows_valid)


def drop_staged(connection: duckdb.DuckDBPyConnection, name: str, keep: str | None = None) -> None:
    """The temporary tables and views `stage` (and `settle`) made for `name`, but `keep`."""
    for kind, table in connection.execute(
            "SELECT 'VIEW', view_name FROM duckdb_views() WHERE temporary AND (view_name = $1 "
            "OR starts_with(view_name, $1 || '_')) UNION ALL SELECT 'TABLE', table_name FROM duckdb_tables() "
            "WHERE temporary AND (table_name = $1 OR starts_with(table_name, $1 || '_')) ORDER BY 1 DESC",
            [name]).fetchall():
        if table != keep:
            connection.execute(f"DROP {kind} IF EXISTS {quoted(table)}").fetchall()


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _read(connection, path: Path, profile: Profile | None, raw: str) -> tuple[list[str], str]:
    """The file into the temporary table `raw`; its headers and the relation of its rows that
    hold a value, with their numbers as the reference reader gives them."""
    encoding = profile.encoding if profile else None
    read = duckdb_source(path, encoding)
    if read is not None and "" in read[1]:
        read = None  # a column without a header cannot be named in SQL: read as the reference does
    if read is not None:
        select, headers = read
        try:
            connection.execute(f"CREATE OR REPLACE TEMP TABLE {raw} AS {select}").fetchall()
        except duckdb.OutOfMemoryException:
            raise  # too large to check in memory: refused (clear_values_in_memory), not read again
        except duckdb.Error:  # what DuckDB refuses, the reference reader refuses or reads
            read = None
    if read is not None:
        columns = ", ".join(quoted(h) for h in headers)
        number = f"rowid + 2 AS {ROW_NUMBER}" if path.suffix.lower() != ".parquet" else ROW_NUMBER
        connection.execute(f"CREATE OR REPLACE TEMP VIEW {raw}_rows AS SELECT {columns}, {number} FROM {raw} "
                           f"WHERE coalesce({columns}) IS NOT NULL").fetchall()
        if path.suffix.lower() != ".parquet" and \
                connection.execute(f"SELECT count(*) FROM {raw}").fetchall()[0][0] != _data_lines(path):
            read = None  # a blank line or a line break within quotes: DuckDB and pyarrow number rows apart
    if read is None:
        table = read_export(path, encoding)  # raises the reader's message where it has one
        # A column without a header is no column of the import (it is named for SQL only).
        table = table.rename_columns([name or f"{UNNAMED}{i}" for i, name in enumerate(table.column_names)])
        headers = [n for n in table.column_names if n != ROW_NUMBER]
        connection.register(f"{raw}_arrow", table)
        try:
            connection.execute(f"CREATE OR REPLACE TEMP TABLE {raw} AS SELECT * FROM {raw}_arrow").fetchall()
        finally:
            connection.unregister(f"{raw}_arrow")
        connection.execute(f"CREATE OR REPLACE TEMP VIEW {raw}_rows AS SELECT * FROM {raw}").fetchall()
    return headers, f"{raw}_rows"


def duckdb_source(path: Path, encoding: str | None) -> tuple[str, list[str]] | None:
    """The SELECT by which DuckDB reads the file as the reference reader would, with its headers;
    None when only the reference reader reads it alike."""
    suffix = path.suffix.lower()
    if not path.exists():
        return None
    if suffix == ".parquet":
        try:
            kinds = duckdb.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
        except duckdb.Error:
            return None
        if any(not (t in _PARQUET_TEXT or t in _PARQUET_DATES) for _, t, *_ in kinds):
            return None
        headers = checked_names([n for n, *_ in kinds] + [ROW_NUMBER], path)[:-1]
        casts = [f"{quoted(n)}{'::DATE' if t in _PARQUET_DATES else ''}::VARCHAR AS {quoted(h)}"
                 for (n, t, *_), h in zip(kinds, headers, strict=True)]
        return (f"SELECT {', '.join(casts)}, file_row_number + 2 AS {ROW_NUMBER} "
                f"FROM read_parquet({_literal(str(path))}, file_row_number = true)", headers)
    if suffix not in (".csv", ".txt", ".tsv"):
        return None
    file_encoding, delimiter, headers = csv_layout(path, encoding)
    if file_encoding != "utf-8":
        return None
    headers = checked_names([*headers, ROW_NUMBER], path)[:-1]
    columns = "{" + ", ".join(f"{_literal(h)}: 'VARCHAR'" for h in headers) + "}"
    return (f"SELECT * FROM read_csv({_literal(str(path))}, delim = {_literal(delimiter)}, quote = '\"', "
            f"escape = '\"', header = false, skip = 1, columns = {columns}, auto_detect = false, "
            "strict_mode = true, null_padding = false)", headers)


def _data_lines(path: Path) -> int | None:
    """The lines after the header, when every line ends in LF or CRLF (else None): DuckDB reads
    as many rows exactly when no line is blank and no quoted value spans lines, and then numbers
    them as pyarrow does."""
    breaks, lone_returns, last = 0, 0, b"\n"
    with path.open("rb") as f:
        while chunk := f.read(1 << 24):
            breaks += chunk.count(b"\n")
            returns = chunk.count(b"\r")
            if returns:  # a CRLF split between two chunks counts as lone here: a safe refusal
                lone_returns += returns - chunk.count(b"\r\n")
            last = chunk[-1:]
    if lone_returns:
        return None
    return breaks - 1 + (last != b"\n")


def _values_refused(connection, rows: str, headers: list[str]) -> bool:
    """A value of these columns the reference reader refuses (a NUL byte, too long)."""
    if not headers:
        return False
    checks = " OR ".join(f"bool_or(length({quoted(h)}) > {MAX_VALUE_CHARS} OR contains({quoted(h)}, chr(0)))"
                         for h in headers)
    return bool(connection.execute(f"SELECT coalesce({checks}, false) FROM {rows}").fetchall()[0][0])


def _refused(values: pa.Array) -> bool:
    """The same on a column's distinct values."""
    return bool(len(values)) and ((pc.max(pc.utf8_length(values)).as_py() or 0) > MAX_VALUE_CHARS
                                  or pc.any(pc.match_substring(values, "\0")).as_py())


def _refuse(path: Path, encoding: str | None) -> NoReturn:
    """The reference reader's ReadError, which names the first refused value's row and column."""
    read_export(path, encoding)
    raise RuntimeError(f"{path.name}: the reader accepted a value the import refused")


def _materialise(connection, name: str, data: pa.Table) -> None:
    connection.register(f"{name}_arrow", data)
    try:
        connection.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_arrow").fetchall()
    finally:
        connection.unregister(f"{name}_arrow")


@dataclass
class _Lookup:
    """A column's (or the person's) distinct values with their verdicts, as a temporary table."""

    table: str
    on: str  # how it joins the rows `r`
    typed: dict[str, str]  # stored column -> its SQL over the rows (joined or not)
    bad: bool  # any value judged bad
    joined: bool  # the typed SQL reads the lookup (else the value itself, cast)
    unmatched: str = "true"  # whether a row it has no entry for is a suspect

    def flag(self) -> str:
        return f"coalesce({self.table}.bad, {self.unmatched})"

    def join(self) -> str:
        return f" LEFT JOIN {self.table} ON {self.on}"


class _Columns:
    """Each column's distinct values checked once into a lookup table. A column whose typed
    values are its text cast to the stored type (ISO dates, known codes, ids without a number
    in them) is read straight from the rows; the others, and the person's pseudonyms, are joined."""

    def __init__(self, connection, source: str, table: Table, header_of: dict[str, str],
                 value_maps: dict[str, dict[str, str]], rules: Rules, name: str, temporary_ids: bool,
                 refuse: Callable[[], NoReturn]):
        self.connection, self.source, self.header_of, self.rules = connection, source, header_of, rules
        self.table, self.name, self.refuse = table, name, refuse
        self.lookups: list[_Lookup] = []
        sql_types = dict(stored_columns(table))
        for i, column in enumerate(table.columns):
            if column.kind == "person_id":
                continue
            header = header_of.get(column.name)
            values = self._distinct([header])[0] if header else pa.nulls(1, pa.string())
            checker = Checker(header_of, np.arange(len(values)))
            typed = check_column(column, column_text(column, values, value_maps.get(column.name)), checker, rules)
            lookup = f"{name}_lookup_{i}"
            _materialise(connection, lookup, pa.table({"v": values, "typed": typed, "bad": pa.array(checker.bad)}))
            sql_type = sql_types[column.name]
            direct = header is None or connection.execute(
                f"SELECT coalesce(bool_and(typed IS NOT DISTINCT FROM TRY_CAST(v AS {sql_type})), true) "
                f"FROM {lookup}").fetchall()[0][0]
            self.lookups.append(_Lookup(
                lookup, f"{lookup}.v IS NOT DISTINCT FROM r.{quoted(header)}" if header else "true",
                {column.name: (f"TRY_CAST(r.{quoted(header)} AS {sql_type})" if header else f"NULL::{sql_type}")
                 if direct else f"{lookup}.typed"}, bool(checker.bad.any()), not direct))
        person = person_column_of(table)
        if person:
            self.lookups.append(self._person(person, value_maps, temporary_ids))
        self.lookups.append(self._across())

    def select(self, columns: list[str]) -> str:
        typed = {c: sql for lookup in self.lookups for c, sql in lookup.typed.items()}
        return ", ".join(f"{typed[c]} AS {c}" for c in columns)

    def joins(self, columns: list[str]) -> str:
        return "".join(lookup.join() for lookup in self.lookups if lookup.joined and set(lookup.typed) & set(columns))

    def suspects(self, name: str) -> str:
        """A temporary table of the numbers of the rows with a value or a rule judged bad."""
        bad = [lookup for lookup in self.lookups if lookup.bad]
        if not bad:
            self.connection.execute(f"CREATE OR REPLACE TEMP TABLE {name} ({ROW_NUMBER} BIGINT)").fetchall()
            return name
        self.connection.execute(
            f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT DISTINCT r.{ROW_NUMBER} FROM {self.source} r "
            f"{''.join(lookup.join() for lookup in bad)} "
            f"WHERE {' OR '.join(lookup.flag() for lookup in bad)}").fetchall()
        return name

    def _distinct(self, headers: list[str]) -> list[pa.Array]:
        columns = ", ".join(quoted(h) for h in headers)
        found = self.connection.sql(f"SELECT DISTINCT {columns} FROM {self.source}").to_arrow_table()
        values = [found.column(i).combine_chunks().cast(pa.string()) for i in range(len(headers))]
        if any(_refused(v) for v in values):
            self.refuse()
        return values

    def _person(self, person: str, value_maps, temporary_ids: bool) -> _Lookup:
        """The person id judged and pseudonymised once per distinct id, municipality and
        temporary mark (a temporary id's pseudonym has its municipality in the key)."""
        table = self.table
        involved = [person, "municipality", "temporary_number"]
        present = [c for c in involved if c in self.header_of]
        found = dict(zip(present, self._distinct([self.header_of[c] for c in present]), strict=True))
        n = len(found[person])
        checker = Checker(self.header_of, np.arange(n))
        text = {c: column_text(table.column(c), found[c], value_maps.get(c)) if c in found
                else pa.nulls(n, pa.string()) for c in involved}
        scratch = Checker(self.header_of, np.arange(n))  # these columns' own verdicts are their lookups'
        municipality = check_column(table.column("municipality"), text["municipality"], scratch, self.rules)
        # Only events mark a municipality's temporary ids; other tables carry the numbers.
        temporary = (check_column(table.column("temporary_number"), text["temporary_number"], scratch, self.rules)
                     if any(c.name == "temporary_number" for c in table.columns) else text["temporary_number"])
        check_column(table.column(person), text[person], checker, self.rules)
        derived = person_columns(text[person], municipality, temporary, checker, person, self.rules.key,
                                 temporary_ids)
        lookup = f"{self.name}_persons"
        _materialise(self.connection, lookup, pa.table(
            {**{f"v{i}": found[c] for i, c in enumerate(present)}, **derived, "bad": pa.array(checker.bad)}))
        on = " AND ".join(f"{lookup}.v{i} IS NOT DISTINCT FROM r.{quoted(self.header_of[c])}"
                          for i, c in enumerate(present))
        return _Lookup(lookup, on, {c: f"{lookup}.{c}" for c in derived}, bool(checker.bad.any()), True)

    def _across(self) -> _Lookup:
        """The rules that read several columns (a report without its source, an end before its
        start), run on the distinct combinations of those columns' values: the bad ones."""
        lookup = f"{self.name}_across"
        columns = across_columns(self.table)
        headers = [self.header_of[c] for c in columns if c in self.header_of]
        keys = [f"r.{quoted(h)} AS v{i}" for i, h in enumerate(headers)]
        found = self.connection.sql(
            f"SELECT DISTINCT {', '.join([*keys, self.select(columns)])} FROM {self.source} r "
            f"{self.joins(columns)}").to_arrow_table() if columns else pa.table({})
        checker = Checker({}, np.arange(found.num_rows))
        if columns and found.num_rows:
            check_across_columns(self.table, {c: found[c].combine_chunks() for c in columns}, checker)
        bad = found.filter(pa.array(checker.bad)).select([f"v{i}" for i in range(len(headers))]) \
            if checker.bad.any() else pa.table({})
        if bad.num_columns:
            _materialise(self.connection, lookup, bad.append_column("bad", pa.array([True] * bad.num_rows)))
        on = " AND ".join(f"{lookup}.v{i} IS NOT DISTINCT FROM r.{quoted(h)}" for i, h in enumerate(headers))
        return _Lookup(lookup, on or "true", {}, bool(bad.num_columns), False, unmatched="false")
