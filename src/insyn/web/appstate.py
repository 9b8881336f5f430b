"""The web app's own state (users, sessions, login attempts, the audit log, training sessions and
bookings, the local name list) in one SQLite file beside the DuckDB store.

SQLite in WAL mode lets several server processes read while one writes, and a short busy
timeout makes concurrent writers wait rather than fail; DuckDB, by contrast, allows one
writing process per file, so the indicator store is only opened briefly for what it is needed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    municipality TEXT,
    units TEXT NOT NULL DEFAULT '',      -- unit names, one per line (unit managers)
    staff_id TEXT,                       -- the caseworker's own staff id
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,         -- SHA-256 of the cookie's token: a stolen file opens no session
    username TEXT NOT NULL REFERENCES users(username),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    client TEXT
);
CREATE TABLE IF NOT EXISTS login_attempts (
    client TEXT NOT NULL,
    username TEXT NOT NULL,
    attempted_at TEXT NOT NULL,
    succeeded INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS login_attempts_by_client ON login_attempts (client, attempted_at);
CREATE INDEX IF NOT EXISTS login_attempts_by_user ON login_attempts (username, attempted_at);
CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    username TEXT,
    role TEXT,
    client TEXT,
    action TEXT NOT NULL,
    target TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log (at);
"""

APP_STATE_FILE = "app.sqlite3"


def connect(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode (callers open their own transactions), rows by name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
    con.row_factory = sqlite3.Row
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA busy_timeout=10000")
    con.execute("PRAGMA foreign_keys=ON")
    con.execute("PRAGMA synchronous=NORMAL")
    return con


def open_app_state(data_dir: Path) -> sqlite3.Connection:
    """The data folder's app state, created on first use."""
    from insyn.web import bookings, flash, names

    con = connect(data_dir / APP_STATE_FILE)
    con.executescript(SCHEMA + bookings.SCHEMA + flash.SCHEMA + names.SCHEMA)
    return con


@contextmanager
def write_transaction(con: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """All or nothing, holding SQLite's write lock from the start, so that what is read inside
    (free places, say) cannot change before it is written."""
    con.execute("BEGIN IMMEDIATE")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
