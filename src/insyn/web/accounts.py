"""Local accounts, sessions and the login rate limit, over the app state (insyn.web.appstate).

Passwords are kept as Argon2id hashes (argon2-cffi). A session is a random token in an
HTTP-only cookie; the app state keeps only its SHA-256, with a CSRF token of its own.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import secrets
import sqlite3
from dataclasses import dataclass
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from insyn.errors import Forbidden, InputError, InsynError
from insyn.model.municipalities import municipality_codes, municipality_names
from insyn.web.appstate import write_transaction
from insyn.workforce.organisation import Organisation

SESSION_LIFETIME = dt.timedelta(hours=8)
# Login limits, within FAILURE_WINDOW. An address that fails MAX_FAILURES times for one user
# name waits until the oldest failure is out of the window, and so does an address that fails
# MAX_CLIENT_FAILURES times over any names (password spraying). A user name alone is never
# locked, which would let anyone lock anyone out: after MAX_FAILURES failures from anywhere,
# each try for it waits SLOWDOWN_START seconds after the last failure, doubling per failure up
# to SLOWDOWN_MAX, so that guessing from many addresses is slowed to a try a minute.
MAX_FAILURES = 5
MAX_CLIENT_FAILURES = 20
FAILURE_WINDOW = dt.timedelta(minutes=15)
SLOWDOWN_START = dt.timedelta(seconds=2)
SLOWDOWN_MAX = dt.timedelta(seconds=60)
MIN_PASSWORD_LENGTH = 10
MAX_USERNAME_LENGTH = 64  # longer is refused when a user is made, cut when a try is recorded
# A generated password: four groups of four from letters and digits that cannot be mistaken for
# each other (no l/1, o/0), about 80 bits.
GENERATED_PASSWORD_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"
GENERATED_PASSWORD_GROUPS = 4


class Role(StrEnum):
    ADMINISTRATOR = "administrator"
    ANALYST = "analytiker"
    MUNICIPALITY = "kommun"
    UNIT_MANAGER = "enhetschef"
    CASEWORKER = "handlaggare"


ROLE_LABELS = {
    Role.ADMINISTRATOR: "Administratör",
    Role.ANALYST: "Regional analytiker",
    Role.MUNICIPALITY: "Kommun (ledning, socialchef)",
    Role.UNIT_MANAGER: "Enhetschef",
    Role.CASEWORKER: "Handläggare",
}


# The roles that belong to one municipality (and need one); the others see every municipality.
MUNICIPAL_ROLES = frozenset({Role.MUNICIPALITY, Role.UNIT_MANAGER, Role.CASEWORKER})


class AccountError(InputError):
    """A user cannot be created or changed as asked (the message says why, in Swedish)."""


class TooManyAttempts(InsynError):
    """Too many failed logins from the client, or for the user name: wait `seconds`."""

    status = 429
    heading = "Inloggningen är spärrad"

    def __init__(self, seconds: int):
        self.seconds = seconds
        wait = (f"{-(-seconds // 60)} minuter" if seconds > 90
                else "1 sekund" if seconds == 1 else f"{seconds} sekunder")
        super().__init__(f"För många misslyckade inloggningar. Försök igen om {wait}.")


@dataclass(frozen=True)
class User:
    username: str
    display_name: str
    role: Role
    municipality: str | None
    units: tuple[str, ...]
    staff_id: str | None
    active: bool = True

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[self.role]

    @property
    def own_municipality(self) -> str:
        """The municipality of a municipal role (check_user requires one of them)."""
        if self.municipality is None:
            raise Forbidden(f"Rollen {self.role_label.lower()} hör inte till en kommun.")
        return self.municipality


@dataclass(frozen=True)
class Session:
    user: User
    csrf_token: str
    expires_at: dt.datetime


_hasher = PasswordHasher()
# Verified against when the user name is unknown, so that a wrong name takes as long as a wrong password.
_UNKNOWN_USER_HASH = _hasher.hash(secrets.token_urlsafe(16))


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


def _user(row: sqlite3.Row) -> User:
    return User(row["username"], row["display_name"], Role(row["role"]), row["municipality"],
                tuple(u for u in row["units"].split("\n") if u), row["staff_id"], bool(row["active"]))


def check_user(role: Role, municipality: str | None, units: tuple[str, ...], staff_id: str | None) -> None:
    """What each role needs: a municipality for the municipality's, the unit manager's and the
    caseworker's; units for the unit manager; a staff id for the caseworker."""
    if municipality is not None and municipality not in municipality_codes():
        raise AccountError(f"Okänd kommunkod {municipality} (fyra siffror, t.ex. 0884).")
    if role in MUNICIPAL_ROLES and municipality is None:
        raise AccountError(f"Rollen {ROLE_LABELS[role].lower()} kräver en kommun (--kommun).")
    if role not in MUNICIPAL_ROLES and municipality is not None:
        raise AccountError(f"Rollen {ROLE_LABELS[role].lower()} gäller alla kommuner: ange ingen kommun.")
    if role == Role.UNIT_MANAGER and not units:
        raise AccountError("En enhetschef behöver minst en enhet (--enhet).")
    if role == Role.CASEWORKER and not staff_id:
        raise AccountError("En handläggare behöver sitt personal-id (--personal-id).")
    if role != Role.UNIT_MANAGER and units:
        raise AccountError("Bara en enhetschef har enheter.")
    if role != Role.CASEWORKER and staff_id:
        raise AccountError("Bara en handläggare har ett personal-id.")


def check_in_data(known: Organisation, units: tuple[str, ...], staff_id: str | None) -> None:
    """The units and the staff id must be the municipality's in the imported data: a typo would
    otherwise give a unit manager an empty unit, or a caseworker nobody's load."""
    name = municipality_names().get(known.municipality, known.municipality)
    for unit in units:
        if unit not in known.units:
            raise AccountError(f"Enheten {unit} finns inte i underlaget för {name} " + (
                f"(enheter: {', '.join(known.units)})." if known.units
                else "(inga enheter har importerats för kommunen)."))
    if staff_id and staff_id not in known.staff_ids:
        raise AccountError(f"Personal-id {staff_id} finns inte i underlaget för {name}.")


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"Lösenordet måste ha minst {MIN_PASSWORD_LENGTH} tecken.")


def generated_password() -> str:
    return "-".join("".join(secrets.choice(GENERATED_PASSWORD_ALPHABET) for _ in range(4))
                    for _ in range(GENERATED_PASSWORD_GROUPS))


def _check_scope(role: Role, municipality: str | None, units: tuple[str, ...], staff_id: str | None,
                 known: Organisation | None) -> None:
    """check_user, and with `known` (the municipality's organisation in the data, which both the
    command line and the web app give) check_in_data too."""
    check_user(role, municipality, units, staff_id)
    if known is not None:
        check_in_data(known, units, staff_id)


def add_user(con: sqlite3.Connection, username: str, password: str, role: Role | str, *,
             display_name: str | None = None, municipality: str | None = None,
             units: tuple[str, ...] = (), staff_id: str | None = None,
             known: Organisation | None = None) -> User:
    """A new active user; `known` is the municipality's organisation in the data, which its units
    and staff id must be part of (insyn.workforce.organisation)."""
    role = Role(role)
    username = username.strip().lower()
    if not username or not username.replace(".", "").replace("-", "").replace("_", "").isalnum():
        raise AccountError("Användarnamnet får bara innehålla bokstäver, siffror, punkt, bindestreck och understreck.")
    if len(username) > MAX_USERNAME_LENGTH:
        raise AccountError(f"Användarnamnet får ha högst {MAX_USERNAME_LENGTH} tecken.")
    _check_password(password)
    _check_scope(role, municipality, units, staff_id, known)
    try:
        con.execute(
            "INSERT INTO users (username, display_name, password_hash, role, municipality, units, staff_id, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [username, display_name or username, _hasher.hash(password), role.value, municipality,
             "\n".join(units), staff_id, _now().isoformat()])
    except sqlite3.IntegrityError:
        raise AccountError(f"Användaren {username} finns redan.") from None
    return User(username, display_name or username, role, municipality, tuple(u for u in units if u), staff_id)


def find_user(con: sqlite3.Connection, username: str) -> User | None:
    row = con.execute("SELECT * FROM users WHERE username = ? AND active = 1", [username]).fetchone()
    return _user(row) if row else None


def list_users(con: sqlite3.Connection, include_inactive: bool = False) -> list[User]:
    where = "" if include_inactive else " WHERE active = 1"
    return [_user(r) for r in con.execute(f"SELECT * FROM users{where} ORDER BY username")]


def any_user(con: sqlite3.Connection, username: str) -> User:
    """The user, active or not; AccountError when there is none of that name."""
    row = con.execute("SELECT * FROM users WHERE username = ?", [username]).fetchone()
    if row is None:
        raise AccountError(f"Användaren {username} finns inte.")
    return _user(row)


def _keep_an_administrator(con: sqlite3.Connection, user: User) -> None:
    """Refuses to take away the last active administrator (inside the caller's write transaction)."""
    others = con.execute("SELECT count(*) FROM users WHERE role = ? AND active = 1 AND username != ?",
                         [Role.ADMINISTRATOR.value, user.username]).fetchone()[0]
    if user.role == Role.ADMINISTRATOR and user.active and not others:
        raise AccountError(f"{user.username} är den enda aktiva administratören: det måste finnas minst en.")


def change_user(con: sqlite3.Connection, username: str, role: Role | str, *, display_name: str,
                municipality: str | None = None, units: tuple[str, ...] = (), staff_id: str | None = None,
                known: Organisation | None = None) -> User:
    """A user's new name, role and scope (as add_user checks them). Their sessions go on: every
    request reads the user anew, so the new scope holds from the next page."""
    role = Role(role)
    _check_scope(role, municipality, units, staff_id, known)
    with write_transaction(con):
        user = any_user(con, username)
        if role != Role.ADMINISTRATOR:
            _keep_an_administrator(con, user)
        con.execute("UPDATE users SET display_name = ?, role = ?, municipality = ?, units = ?, staff_id = ? "
                    "WHERE username = ?", [display_name.strip() or username, role.value, municipality,
                                           "\n".join(units), staff_id, username])
    return any_user(con, username)


def deactivate_user(con: sqlite3.Connection, username: str, by: str | None = None) -> None:
    """Deactivated users keep their name in the audit log, and lose every session at once. `by`,
    the administrator doing it, cannot deactivate themselves; nobody the last active administrator."""
    if by == username:
        raise AccountError("Du kan inte inaktivera dig själv.")
    with write_transaction(con):
        _keep_an_administrator(con, any_user(con, username))
        con.execute("UPDATE users SET active = 0 WHERE username = ?", [username])
        con.execute("DELETE FROM sessions WHERE username = ?", [username])


def reactivate_user(con: sqlite3.Connection, username: str) -> None:
    """The user may log in again, with the password they had."""
    any_user(con, username)
    con.execute("UPDATE users SET active = 1 WHERE username = ?", [username])


def set_password(con: sqlite3.Connection, username: str, password: str) -> None:
    """A new password (set by an administrator); the user's sessions end, as after a theft."""
    _check_password(password)
    with write_transaction(con):
        any_user(con, username)
        con.execute("UPDATE users SET password_hash = ? WHERE username = ?", [_hasher.hash(password), username])
        con.execute("DELETE FROM sessions WHERE username = ?", [username])


def _failures(con: sqlite3.Connection, where: str, values: list[str], since: dt.datetime, limit: int) -> list[str]:
    """The times of the newest failures (at most `limit`) matching `where`, newest first."""
    return [r[0] for r in con.execute(
        f"SELECT attempted_at FROM login_attempts WHERE {where} AND succeeded = 0 AND attempted_at > ? "
        "ORDER BY attempted_at DESC LIMIT ?", [*values, since.isoformat(), limit])]


def _wait_seconds(con: sqlite3.Connection, client: str, username: str, now: dt.datetime) -> int | None:
    """Seconds until a try is allowed (the limits above), or None when it is allowed now."""
    since = now - FAILURE_WINDOW
    waits = []
    for where, values, limit in (("client = ? AND username = ?", [client, username], MAX_FAILURES),
                                 ("client = ?", [client], MAX_CLIENT_FAILURES)):
        failures = _failures(con, where, values, since, limit)
        if len(failures) >= limit:
            waits.append(dt.datetime.fromisoformat(failures[-1]) + FAILURE_WINDOW - now)
    failures = _failures(con, "username = ?", [username], since, MAX_FAILURES + 6)
    if len(failures) >= MAX_FAILURES:
        slowdown = min(SLOWDOWN_START * 2 ** (len(failures) - MAX_FAILURES), SLOWDOWN_MAX)
        waits.append(dt.datetime.fromisoformat(failures[0]) + slowdown - now)
    wait = max(waits, default=dt.timedelta(0))
    return math.ceil(wait.total_seconds()) if wait > dt.timedelta(0) else None


def authenticate(con: sqlite3.Connection, username: str, password: str, client: str,
                 now: dt.datetime | None = None) -> User | None:
    """The user when the password is right; None when not. Raises TooManyAttempts while the
    client is locked out, or the user name slowed down, without checking the password at all."""
    now = now or _now()
    username = username.strip().lower()[:MAX_USERNAME_LENGTH]
    seconds = _wait_seconds(con, client, username, now)
    if seconds is not None:
        raise TooManyAttempts(seconds)
    row = con.execute("SELECT * FROM users WHERE username = ? AND active = 1", [username]).fetchone()
    try:
        _hasher.verify(row["password_hash"] if row else _UNKNOWN_USER_HASH, password)
        ok = row is not None
    except (VerificationError, InvalidHashError):
        ok = False
    con.execute("INSERT INTO login_attempts VALUES (?, ?, ?, ?)", [client, username, now.isoformat(), int(ok)])
    return _user(row) if ok else None


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(con: sqlite3.Connection, user: User, client: str) -> str:
    """A new session for the user; returns the token for the cookie (stored only as a hash)."""
    token, now = secrets.token_urlsafe(32), _now()
    con.execute("DELETE FROM sessions WHERE expires_at < ?", [now.isoformat()])
    con.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?)",
                [_token_hash(token), user.username, secrets.token_urlsafe(32), now.isoformat(),
                 (now + SESSION_LIFETIME).isoformat(), client])
    return token


def find_session(con: sqlite3.Connection, token: str | None) -> Session | None:
    if not token:
        return None
    row = con.execute(
        "SELECT s.csrf_token, s.expires_at, u.* FROM sessions s JOIN users u USING (username) "
        "WHERE s.token_hash = ? AND u.active = 1", [_token_hash(token)]).fetchone()
    if row is None or dt.datetime.fromisoformat(row["expires_at"]) < _now():
        return None
    return Session(_user(row), row["csrf_token"], dt.datetime.fromisoformat(row["expires_at"]))


def end_session(con: sqlite3.Connection, token: str | None) -> None:
    if token:
        con.execute("DELETE FROM sessions WHERE token_hash = ?", [_token_hash(token)])
