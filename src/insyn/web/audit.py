"""The audit log: who read row-level data or changed anything, what, when and from where.

Written in the same SQLite file as the rest of the app state, append-only from the app: no
route updates or deletes a row.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass

from insyn.scrub import scrub
from insyn.web.accounts import User

# What the log says each action is, in the words of the Logg page.
ACTIONS = {
    "login": "Inloggning",
    "login_failed": "Misslyckad inloggning",
    "login_blocked": "Inloggning spärrad (för många försök)",
    "logout": "Utloggning",
    "read_caseworkers": "Läste arbetstyngd per handläggare",
    "read_own_caseload": "Läste egen arbetstyngd",
    "rate_month": "Skattade arbetsbelastning",
    "read_import_report": "Läste valideringsrapport",
    "download": "Laddade ner tabell",
    "import_validate": "Validerade importfil",
    "import_load": "Läste in importfil",
    "session_create": "Skapade utbildningstillfälle",
    "session_cancel": "Ställde in utbildningstillfälle",
    "notice_dismiss": "Tog bort meddelande om inställt tillfälle",
    "names_import": "Läste in namnlista",
    "booking": "Bokade",
    "booking_cancel": "Avbokade",
    "attendance": "Registrerade närvaro",
    "user_create": "Skapade användare",
    "user_change": "Ändrade användare",
    "user_deactivate": "Inaktiverade användare",
    "user_reactivate": "Återaktiverade användare",
    "user_password": "Satte nytt lösenord",
    "denied": "Nekad åtkomst",
}


@dataclass(frozen=True)
class Entry:
    id: int
    at: dt.datetime
    username: str | None
    role: str | None
    client: str | None
    action: str
    target: str
    detail: str

    @property
    def action_label(self) -> str:
        return ACTIONS.get(self.action, self.action)


def record(con: sqlite3.Connection, action: str, *, user: User | None = None, username: str | None = None,
           client: str | None = None, target: str = "", detail: str = "") -> None:
    """Append an entry. What was typed or said (a user name at a failed login, the target, an
    error message in the detail) is scrubbed of anything shaped like a personnummer first."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    con.execute(
        "INSERT INTO audit_log (at, username, role, client, action, target, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [dt.datetime.now().isoformat(timespec="seconds"), user.username if user else username and scrub(username),
         user.role.value if user else None, client, action, scrub(target), scrub(detail)])


def recorded_since(con: sqlite3.Connection, action: str, username: str, client: str, within: dt.timedelta) -> bool:
    """Whether the action was recorded for this user name and address within the last `within`."""
    since = (dt.datetime.now() - within).isoformat(timespec="seconds")
    return con.execute("SELECT 1 FROM audit_log WHERE action = ? AND username = ? AND client = ? AND at >= ? LIMIT 1",
                       [action, scrub(username), client, since]).fetchone() is not None


def entries(con: sqlite3.Connection, *, username: str | None = None, action: str | None = None,
            since: dt.date | None = None, until: dt.date | None = None, text: str | None = None,
            limit: int = 500) -> list[Entry]:
    """The newest entries first, filtered; `text` searches target and detail."""
    where, params = [], []
    if username:
        where.append("username = ?")
        params.append(username)
    if action:
        where.append("action = ?")
        params.append(action)
    if since:
        where.append("at >= ?")
        params.append(since.isoformat())
    if until:
        where.append("at < ?")
        params.append((until + dt.timedelta(days=1)).isoformat())
    if text:
        where.append("(target LIKE ? OR detail LIKE ?)")
        params += [f"%{text}%"] * 2
    sql = "SELECT * FROM audit_log" + (f" WHERE {' AND '.join(where)}" if where else "")
    rows = con.execute(f"{sql} ORDER BY id DESC LIMIT ?", [*params, limit])
    return [Entry(r["id"], dt.datetime.fromisoformat(r["at"]), r["username"], r["role"], r["client"],
                  r["action"], r["target"], r["detail"]) for r in rows]
