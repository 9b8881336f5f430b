"""One-time messages after a form ("Bokad.", or why not), carried over the redirect by a random
token that only the user who caused them can read: the page never shows text from its URL."""

from __future__ import annotations

import datetime as dt
import secrets
import sqlite3
from dataclasses import dataclass

SCHEMA = """
CREATE TABLE IF NOT EXISTS flash_messages (
    token TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    message TEXT NOT NULL,
    error INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
"""
LIFETIME = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class Notice:
    message: str
    error: bool


def leave(con: sqlite3.Connection, username: str, message: str, error: bool = False) -> str:
    token = secrets.token_urlsafe(16)
    now = dt.datetime.now()
    con.execute("DELETE FROM flash_messages WHERE created_at < ?", [(now - LIFETIME).isoformat()])
    con.execute("INSERT INTO flash_messages VALUES (?, ?, ?, ?, ?)",
                [token, username, message, int(error), now.isoformat()])
    return token


def take(con: sqlite3.Connection, username: str, token: str | None) -> Notice | None:
    if not token:
        return None
    row = con.execute("DELETE FROM flash_messages WHERE token = ? AND username = ? RETURNING message, error",
                      [token, username]).fetchone()
    return Notice(row["message"], bool(row["error"])) if row else None
