"""The local name list: staff id → name, so that a manager books and sees their own people by name.

Names are kept in the app state only (the SQLite file beside the store), never in the DuckDB store,
an export, an extract, the audit log or a log file: the audit log names a list by municipality and
counts its rows. A name is shown only to the person and to their own unit manager
(`insyn.web.scope.Scope.sees_name_of`); everyone else sees the staff id.

A list is a small CSV or XLSX file with the columns `personal-id` and `namn`, imported by an
administrator for one municipality (replacing its list) or by a unit manager for their own units'
staff (replacing the names of those staff). Every staff id must be one of the municipality's staff
in the data — and, for a unit manager, of their own units.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from insyn.errors import InputError
from insyn.ingest.readers import ROW_NUMBER, read_export
from insyn.web.appstate import write_transaction
from insyn.web.scope import Scope

SCHEMA = """
CREATE TABLE IF NOT EXISTS staff_names (
    municipality TEXT NOT NULL,
    staff_id TEXT NOT NULL,
    name TEXT NOT NULL,
    imported_by TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    PRIMARY KEY (municipality, staff_id)
);
"""
STAFF_ID_COLUMN, NAME_COLUMN = "personal-id", "namn"
MAX_NAME_CHARS = 200

# (municipality, unit, staff id) of a person in the data, as the booking forms list them.
Person = tuple[str, str, str]


class NameListError(InputError):
    """A name list that cannot be imported (the message names file, row and column, never a name)."""


@dataclass(frozen=True)
class NameRow:
    row: int  # as a spreadsheet shows it: the header is row 1
    staff_id: str
    name: str


def read_name_list(path: Path, shown_name: str | None = None) -> list[NameRow]:
    """The rows of a name list file. `shown_name` is the file's name in messages (an upload is
    read from a file of another name)."""
    label = shown_name or path.name
    try:
        table = read_export(path)
    except InputError as error:
        raise NameListError(str(error).replace(path.name, label)) from None
    headers = {str(h).strip().lower(): h for h in table.column_names if h != ROW_NUMBER}
    missing = [c for c in (STAFF_ID_COLUMN, NAME_COLUMN) if c not in headers]
    if missing:
        raise NameListError(f"{label}: kolumnen {' och '.join(repr(c) for c in missing)} saknas "
                            f"(namnlistan ska ha kolumnerna '{STAFF_ID_COLUMN}' och '{NAME_COLUMN}').")
    rows: list[NameRow] = []
    seen: dict[str, int] = {}
    for row, staff_id, name in zip(table[ROW_NUMBER].to_pylist(), table[headers[STAFF_ID_COLUMN]].to_pylist(),
                                   table[headers[NAME_COLUMN]].to_pylist(), strict=True):
        staff_id, name = (staff_id or "").strip(), " ".join((name or "").split())
        if not staff_id:
            raise NameListError(f"{label}, rad {row}, kolumn '{STAFF_ID_COLUMN}': personal-id saknas.")
        if not name:
            raise NameListError(f"{label}, rad {row}, kolumn '{NAME_COLUMN}': namnet saknas.")
        if len(name) > MAX_NAME_CHARS:
            raise NameListError(f"{label}, rad {row}, kolumn '{NAME_COLUMN}': namnet är längre än "
                                f"{MAX_NAME_CHARS} tecken.")
        if staff_id in seen:
            raise NameListError(f"{label}, rad {row}, kolumn '{STAFF_ID_COLUMN}': personal-id {staff_id} finns "
                                f"redan på rad {seen[staff_id]}.")
        seen[staff_id] = row
        rows.append(NameRow(row, staff_id, name))
    if not rows:
        raise NameListError(f"{label}: filen har inga rader med namn.")
    return rows


def replace_names(con: sqlite3.Connection, municipality: str, rows: Iterable[NameRow],
                  staff: Mapping[str, Collection[str]], units: Collection[str] | None, imported_by: str,
                  file_name: str) -> int:
    """Replaces the names of the staff covered — every one of the municipality's (`units` None)
    or those of `units` — by `rows`. `staff` is each staff id of the municipality in the data with
    its units. All or nothing; returns how many names the list now holds for those covered."""
    rows = list(rows)
    for r in rows:
        where = f"{file_name}, rad {r.row}, kolumn '{STAFF_ID_COLUMN}': personal-id {r.staff_id}"
        if r.staff_id not in staff:
            raise NameListError(f"{where} finns inte bland kommunens personal i underlaget.")
        if units is not None and not set(staff[r.staff_id]) & set(units):
            raise NameListError(f"{where} hör inte till dina enheter.")
    covered = [s for s, of in staff.items() if units is None or set(of) & set(units)]
    now = dt.datetime.now().isoformat(timespec="seconds")
    with write_transaction(con):
        if units is None:
            con.execute("DELETE FROM staff_names WHERE municipality = ?", [municipality])
        else:
            con.executemany("DELETE FROM staff_names WHERE municipality = ? AND staff_id = ?",
                            [(municipality, s) for s in covered])
        con.executemany("INSERT INTO staff_names (municipality, staff_id, name, imported_by, imported_at) "
                        "VALUES (?, ?, ?, ?, ?)", [(municipality, r.staff_id, r.name, imported_by, now) for r in rows])
    return len(rows)


def shown_names(con: sqlite3.Connection, scope: Scope, people: Iterable[Person]) -> dict[tuple[str, str], str]:
    """The names the user may see of these people, by (municipality, staff id); people without a
    name on the list, or whose name the user may not see, are left out."""
    units: dict[tuple[str, str], set[str]] = {}
    for municipality, unit, staff_id in people:
        units.setdefault((municipality, staff_id), set()).add(unit)
    return _visible_names(con, scope, units)


def _visible_names(con: sqlite3.Connection, scope: Scope,
                   units: Mapping[tuple[str, str], Collection[str]]) -> dict[tuple[str, str], str]:
    visible = {key for key, of in units.items() if scope.sees_name_of(key[0], of, key[1])}
    municipalities = sorted({m for m, _ in visible})
    rows = con.execute(f"SELECT municipality, staff_id, name FROM staff_names "
                       f"WHERE municipality IN ({', '.join('?' * len(municipalities))})", municipalities)
    return {key: r["name"] for r in rows if (key := (r["municipality"], r["staff_id"])) in visible}


def labelled(name: str | None, staff_id: str) -> str:
    """"Name (id)" for a form, or the id alone."""
    return f"{name} ({staff_id})" if name else staff_id
