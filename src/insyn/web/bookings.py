"""Training sessions and their bookings ("Kompetens och bokning"), over the app state.

A session has either individual places (kind "platser": an MHFA course, a Yrkesresan course
day) or is booked as a whole by a workplace for its staff (kind "arbetsplats": an information
session held at the unit). When the places are taken, bookings go on a waiting list, and a
cancelled place goes to the first on it. Attendance recorded after a session becomes rows of
the canonical `trainings` table (`completions`), which the web layer imports as usual.

A planner can cancel a whole session (`cancel_session`, with a reason): its bookings leave every
list, and each person booked (or of a unit that booked it) gets a notice (`notices_for`) until they
dismiss it or NOTICE_DAYS have passed.

Every function that reads and then writes does it in one `BEGIN IMMEDIATE` transaction
(appstate.write_transaction): it holds SQLite's write lock from its first read, so server
processes booking the last place at the same moment are served one after the other and
never overbook. Callers must therefore not be inside a transaction of their own.

Attendance at a workplace session is kept as one row per person who came, linked to the
workplace's booking by `parent_id`; such rows are not bookings and are left out of every
count and list here except `completions`.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import StrEnum

from insyn.errors import InputError
from insyn.model.codes import codes
from insyn.model.municipalities import municipality_codes
from insyn.web.appstate import write_transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS training_sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    course TEXT NOT NULL,                -- course code of the canonical courses table
    course_name TEXT NOT NULL,
    programme TEXT NOT NULL,             -- code list "programme"
    title TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('platser', 'arbetsplats')),
    starts TEXT NOT NULL,                -- ISO, naive local time, whole seconds
    place TEXT NOT NULL,
    capacity INTEGER NOT NULL CHECK (capacity >= 1),
    municipality TEXT,                   -- NULL: open to every municipality
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    cancelled INTEGER NOT NULL DEFAULT 0,
    cancelled_by TEXT
);
CREATE INDEX IF NOT EXISTS training_sessions_by_start ON training_sessions (starts);
CREATE TABLE IF NOT EXISTS bookings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- booking order: the waiting list is served by id
    session_id INTEGER NOT NULL REFERENCES training_sessions(id),
    parent_id INTEGER REFERENCES bookings(id),  -- set on a person who attended a workplace booking
    municipality TEXT NOT NULL,
    unit TEXT NOT NULL,
    staff_id TEXT,                       -- NULL on a workplace booking
    booked_by TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('bokad', 'vantelista', 'avbokad')),
    created_at TEXT NOT NULL,
    cancelled_by TEXT,
    cancelled_at TEXT,
    attended INTEGER,                    -- NULL until attendance is recorded
    attendance_by TEXT
);
CREATE INDEX IF NOT EXISTS bookings_by_session ON bookings (session_id, status, id);
CREATE UNIQUE INDEX IF NOT EXISTS bookings_one_active_place ON bookings (session_id, municipality, staff_id)
    WHERE parent_id IS NULL AND staff_id IS NOT NULL AND status != 'avbokad';
CREATE UNIQUE INDEX IF NOT EXISTS bookings_one_active_workplace ON bookings (session_id, municipality, unit)
    WHERE parent_id IS NULL AND staff_id IS NULL AND status != 'avbokad';
CREATE UNIQUE INDEX IF NOT EXISTS bookings_attendees ON bookings (parent_id, staff_id) WHERE parent_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS session_cancellations (
    session_id INTEGER PRIMARY KEY REFERENCES training_sessions(id),
    reason TEXT NOT NULL,
    cancelled_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS dismissed_notices (
    session_id INTEGER NOT NULL REFERENCES training_sessions(id),
    municipality TEXT NOT NULL,
    staff_id TEXT NOT NULL,
    dismissed_at TEXT NOT NULL,
    PRIMARY KEY (session_id, municipality, staff_id)
);
"""
# How long a cancelled session's notice stays on the Mitt arbete page of those booked, undismissed.
NOTICE_DAYS = 30


class Kind(StrEnum):
    PLACES = "platser"
    WORKPLACE = "arbetsplats"


class Status(StrEnum):
    BOOKED = "bokad"
    WAITING = "vantelista"
    CANCELLED = "avbokad"


class BookingError(InputError):
    """A session cannot be created or booked as asked (the message says why, in Swedish)."""


@dataclass(frozen=True)
class TrainingSession:
    id: int
    course: str
    course_name: str
    programme: str
    title: str
    kind: Kind
    starts: dt.datetime
    place: str
    capacity: int
    municipality: str | None
    created_by: str
    cancelled: bool


@dataclass(frozen=True)
class SessionSummary:
    session: TrainingSession
    booked: int
    waiting: int

    @property
    def free(self) -> int:
        return max(0, self.session.capacity - self.booked)


@dataclass(frozen=True)
class CancelledNotice:
    """A session someone was booked on (a place, or their unit's workplace booking) was cancelled."""

    session_id: int
    title: str
    starts: dt.datetime
    place: str
    reason: str
    cancelled_at: dt.datetime

    @property
    def message(self) -> str:
        return (f"Utbildningstillfället {self.title} den {self.starts:%Y-%m-%d} kl. {self.starts:%H:%M} är inställt."
                f" Orsak: {self.reason}")


@dataclass(frozen=True)
class Booking:
    id: int
    session_id: int
    municipality: str
    unit: str
    staff_id: str | None
    booked_by: str
    status: Status
    created_at: dt.datetime
    attended: bool | None


# A session with its counts of places taken and bookings waiting (attendee rows excluded).
_SUMMARY_SQL = """
SELECT s.*,
       count(b.id) FILTER (WHERE b.status = 'bokad') AS booked,
       count(b.id) FILTER (WHERE b.status = 'vantelista') AS waiting
FROM training_sessions s
LEFT JOIN bookings b ON b.session_id = s.id AND b.parent_id IS NULL
"""


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


def _inserted_id(cursor: sqlite3.Cursor) -> int:
    """The rowid an INSERT just wrote (sqlite3 types `lastrowid` as optional; after an INSERT it never is)."""
    if cursor.lastrowid is None:
        raise RuntimeError("INSERT gav inget radnummer")
    return cursor.lastrowid


def _text(value: dt.datetime) -> str:
    return value.isoformat(timespec="seconds")


def _session(row: sqlite3.Row) -> TrainingSession:
    return TrainingSession(
        row["id"], row["course"], row["course_name"], row["programme"], row["title"], Kind(row["kind"]),
        dt.datetime.fromisoformat(row["starts"]), row["place"], row["capacity"], row["municipality"],
        row["created_by"], bool(row["cancelled"]))


def _summary(row: sqlite3.Row) -> SessionSummary:
    return SessionSummary(_session(row), row["booked"], row["waiting"])


def _booking(row: sqlite3.Row) -> Booking:
    return Booking(
        row["id"], row["session_id"], row["municipality"], row["unit"], row["staff_id"], row["booked_by"],
        Status(row["status"]), dt.datetime.fromisoformat(row["created_at"]),
        None if row["attended"] is None else bool(row["attended"]))


def _check_municipality(municipality: str) -> None:
    if municipality not in municipality_codes():
        raise BookingError(f"Okänd kommunkod {municipality} (fyra siffror, t.ex. 0884).")


def create_session(con: sqlite3.Connection, *, course: str, course_name: str, programme: str, title: str,
                   kind: Kind | str, starts: dt.datetime, place: str, capacity: int, municipality: str | None,
                   created_by: str) -> TrainingSession:
    if kind not in tuple(Kind):
        raise BookingError(f"Okänd typ av tillfälle {kind!r} (platser eller arbetsplats).")
    if programme not in codes("programme"):
        raise BookingError(f"Okänt program {programme!r} ({', '.join(codes('programme'))}).")
    if capacity < 1:
        raise BookingError("Antalet platser måste vara minst 1.")
    for value, what in ((course, "Kurskod"), (course_name, "Kursnamn"), (title, "Rubrik"), (place, "Plats")):
        if not value.strip():
            raise BookingError(f"{what} saknas.")
    if starts.tzinfo is not None:
        raise BookingError("Starttiden ska anges i lokal tid utan tidszon.")
    if municipality is not None:
        _check_municipality(municipality)
    cursor = con.execute(
        "INSERT INTO training_sessions (course, course_name, programme, title, kind, starts, place, capacity, "
        "municipality, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [course.strip(), course_name.strip(), programme, title.strip(), Kind(kind).value,
         _text(starts), place.strip(), capacity, municipality, created_by, _text(_now())])
    return session(con, _inserted_id(cursor)).session


def cancel_session(con: sqlite3.Connection, session_id: int, cancelled_by: str, reason: str,
                   now: dt.datetime | None = None) -> list[Booking]:
    """A cancelled session is hidden from `sessions` and `bookings` and takes no bookings. Its
    bookings are kept as they were, for the notices of those booked; they are returned (the
    places and the waiting list, not yet cancelled)."""
    reason = " ".join(reason.split())
    if not reason:
        raise BookingError("Ange varför tillfället ställs in.")
    now = now or _now()
    with write_transaction(con):
        target = session(con, session_id).session
        if target.cancelled:
            raise BookingError("Tillfället är redan inställt.")
        if target.starts <= now:
            raise BookingError("Tillfället har redan börjat och kan inte ställas in.")
        con.execute("UPDATE training_sessions SET cancelled = 1, cancelled_by = ? WHERE id = ?",
                    [cancelled_by, session_id])
        con.execute("INSERT INTO session_cancellations (session_id, reason, cancelled_at) VALUES (?, ?, ?)",
                    [session_id, reason, _text(now)])
        rows = con.execute("SELECT * FROM bookings WHERE session_id = ? AND parent_id IS NULL "
                           "AND status != 'avbokad' ORDER BY id", [session_id])
        return [_booking(r) for r in rows]


def notices_for(con: sqlite3.Connection, municipality: str, staff_id: str, units: Collection[str] = (),
                now: dt.datetime | None = None) -> list[CancelledNotice]:
    """The cancelled sessions a person was booked on — a place of their own, or a workplace
    booking of one of their `units` — that they have not dismissed, cancelled within the last
    NOTICE_DAYS; the newest cancellation first."""
    since = (now or _now()) - dt.timedelta(days=NOTICE_DAYS)
    units = list(units)
    rows = con.execute(
        "SELECT DISTINCT s.id, s.title, s.starts, s.place, c.reason, c.cancelled_at "
        "FROM training_sessions s JOIN session_cancellations c ON c.session_id = s.id "
        "JOIN bookings b ON b.session_id = s.id AND b.parent_id IS NULL AND b.status != 'avbokad' "
        "AND b.municipality = ? "
        f"AND (b.staff_id = ? OR (b.staff_id IS NULL AND b.unit IN ({', '.join('?' * len(units))}))) "
        "WHERE c.cancelled_at >= ? AND NOT EXISTS (SELECT 1 FROM dismissed_notices d WHERE d.session_id = s.id "
        "AND d.municipality = ? AND d.staff_id = ?) ORDER BY c.cancelled_at DESC, s.id",
        [municipality, staff_id, *units, _text(since), municipality, staff_id])
    return [CancelledNotice(r["id"], r["title"], dt.datetime.fromisoformat(r["starts"]), r["place"], r["reason"],
                            dt.datetime.fromisoformat(r["cancelled_at"])) for r in rows]


def dismiss_notice(con: sqlite3.Connection, session_id: int, municipality: str, staff_id: str,
                   now: dt.datetime | None = None) -> None:
    """The person has read that the session is cancelled; dismissing twice, or a session that
    does not exist, changes nothing."""
    con.execute("INSERT OR IGNORE INTO dismissed_notices (session_id, municipality, staff_id, dismissed_at) "
                "SELECT id, ?, ?, ? FROM training_sessions WHERE id = ?",
                [municipality, staff_id, _text(now or _now()), session_id])


def sessions(con: sqlite3.Connection, *, municipality: str | None = None,
             from_time: dt.datetime | None = None) -> list[SessionSummary]:
    """Sessions not cancelled, by start; with a municipality, those open to it (its own and those
    open to all); without one, every municipality's."""
    where, params = ["s.cancelled = 0"], []
    if municipality is not None:
        where.append("(s.municipality IS NULL OR s.municipality = ?)")
        params.append(municipality)
    if from_time is not None:
        where.append("s.starts >= ?")
        params.append(_text(from_time))
    rows = con.execute(f"{_SUMMARY_SQL} WHERE {' AND '.join(where)} GROUP BY s.id ORDER BY s.starts, s.id", params)
    return [_summary(r) for r in rows]


def session(con: sqlite3.Connection, session_id: int) -> SessionSummary:
    row = con.execute(f"{_SUMMARY_SQL} WHERE s.id = ? GROUP BY s.id", [session_id]).fetchone()
    if row is None:
        raise BookingError("Tillfället finns inte.")
    return _summary(row)


def _bookable(con: sqlite3.Connection, session_id: int, kind: Kind, now: dt.datetime) -> SessionSummary:
    summary = session(con, session_id)
    if summary.session.cancelled:
        raise BookingError("Tillfället är inställt.")
    if summary.session.starts <= now:
        raise BookingError("Tillfället har redan börjat och kan inte bokas.")
    if summary.session.kind != kind:
        raise BookingError("Tillfället bokas per arbetsplats, inte per plats." if kind == Kind.PLACES
                           else "Tillfället bokas per plats, inte per arbetsplats.")
    return summary


def _check_open_to(target: TrainingSession, municipality: str) -> None:
    _check_municipality(municipality)
    if target.municipality not in (None, municipality):
        raise BookingError(f"Tillfället är bara öppet för kommun {target.municipality}.")


def _insert_booking(con: sqlite3.Connection, session_id: int, municipality: str, unit: str, staff_id: str | None,
                    booked_by: str, status: Status, now: dt.datetime) -> int:
    return _inserted_id(con.execute(
        "INSERT INTO bookings (session_id, municipality, unit, staff_id, booked_by, status, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [session_id, municipality, unit, staff_id, booked_by, status.value, _text(now)]))


def _bookings_by_id(con: sqlite3.Connection, ids: list[int]) -> list[Booking]:
    rows = con.execute(f"SELECT * FROM bookings WHERE id IN ({', '.join('?' * len(ids))}) ORDER BY id", ids)
    return [_booking(r) for r in rows]


def book_places(con: sqlite3.Connection, session_id: int, people: Iterable[tuple[str, str, str]], booked_by: str,
                now: dt.datetime | None = None) -> list[Booking]:
    """Books each (municipality, unit, staff id) in the order given: a place while any is free,
    else the waiting list. All or nothing: one refused person books no one."""
    people = [(m, u.strip(), s.strip()) for m, u, s in people]
    if not people:
        raise BookingError("Välj minst en person att boka.")
    now = now or _now()
    with write_transaction(con):
        summary = _bookable(con, session_id, Kind.PLACES, now)
        active = {(r["municipality"], r["staff_id"]) for r in con.execute(
            "SELECT municipality, staff_id FROM bookings WHERE session_id = ? AND parent_id IS NULL "
            "AND staff_id IS NOT NULL AND status != 'avbokad'", [session_id])}
        for municipality, unit, staff_id in people:
            _check_open_to(summary.session, municipality)
            if not unit or not staff_id:
                raise BookingError("Varje person behöver enhet och personal-id.")
            if (municipality, staff_id) in active:
                raise BookingError(f"Personal-id {staff_id} har redan en bokning på tillfället.")
            active.add((municipality, staff_id))
        ids = []
        for position, (municipality, unit, staff_id) in enumerate(people):
            status = Status.BOOKED if position < summary.free else Status.WAITING
            ids.append(_insert_booking(con, session_id, municipality, unit, staff_id, booked_by, status, now))
        return _bookings_by_id(con, ids)


def book_workplace(con: sqlite3.Connection, session_id: int, municipality: str, unit: str, booked_by: str,
                   now: dt.datetime | None = None) -> Booking:
    """Books the session for a unit's staff; on the waiting list when every slot is taken."""
    unit = unit.strip()
    if not unit:
        raise BookingError("Ange vilken enhet som bokar.")
    now = now or _now()
    with write_transaction(con):
        summary = _bookable(con, session_id, Kind.WORKPLACE, now)
        _check_open_to(summary.session, municipality)
        if con.execute("SELECT 1 FROM bookings WHERE session_id = ? AND parent_id IS NULL AND staff_id IS NULL "
                       "AND municipality = ? AND unit = ? AND status != 'avbokad'",
                       [session_id, municipality, unit]).fetchone():
            raise BookingError(f"Enheten {unit} har redan en bokning på tillfället.")
        status = Status.BOOKED if summary.free > 0 else Status.WAITING
        booking_id = _insert_booking(con, session_id, municipality, unit, None, booked_by, status, now)
        return _bookings_by_id(con, [booking_id])[0]


def cancel(con: sqlite3.Connection, booking_id: int, cancelled_by: str,
           now: dt.datetime | None = None) -> Booking | None:
    """Cancels a booking up to the session's start. A freed place goes to the first on the
    waiting list, who is returned (None when no one moved up)."""
    now = now or _now()
    with write_transaction(con):
        row = con.execute("SELECT * FROM bookings WHERE id = ? AND parent_id IS NULL", [booking_id]).fetchone()
        if row is None:
            raise BookingError("Bokningen finns inte.")
        if row["status"] == Status.CANCELLED:
            raise BookingError("Bokningen är redan avbokad.")
        target = session(con, row["session_id"]).session
        if target.starts <= now:
            raise BookingError("Tillfället har redan börjat och kan inte avbokas.")
        con.execute("UPDATE bookings SET status = 'avbokad', cancelled_by = ?, cancelled_at = ? WHERE id = ?",
                    [cancelled_by, _text(now), booking_id])
        if row["status"] != Status.BOOKED or target.cancelled:
            return None
        first = con.execute("SELECT id FROM bookings WHERE session_id = ? AND parent_id IS NULL "
                            "AND status = 'vantelista' ORDER BY id LIMIT 1", [target.id]).fetchone()
        if first is None:
            return None
        con.execute("UPDATE bookings SET status = 'bokad' WHERE id = ?", [first["id"]])
        return _bookings_by_id(con, [first["id"]])[0]


def waiting_list(con: sqlite3.Connection, session_id: int) -> list[Booking]:
    rows = con.execute("SELECT * FROM bookings WHERE session_id = ? AND parent_id IS NULL "
                       "AND status = 'vantelista' ORDER BY id", [session_id])
    return [_booking(r) for r in rows]


def bookings(con: sqlite3.Connection, *, municipality: str | None = None, units: Collection[str] | None = None,
             staff_id: str | None = None, session_id: int | None = None,
             include_cancelled: bool = False) -> list[Booking]:
    """Bookings of sessions not cancelled matching every filter given, by session start and
    booking order. An empty `units` matches nothing (a unit manager without units), unlike None,
    which matches all."""
    where, params = ["b.parent_id IS NULL", "s.cancelled = 0"], []
    for column, value in (("municipality", municipality), ("staff_id", staff_id), ("session_id", session_id)):
        if value is not None:
            where.append(f"b.{column} = ?")
            params.append(value)
    if units is not None:
        units = list(units)
        where.append(f"b.unit IN ({', '.join('?' * len(units))})")
        params += units
    if not include_cancelled:
        where.append("b.status != 'avbokad'")
    rows = con.execute("SELECT b.* FROM bookings b JOIN training_sessions s ON s.id = b.session_id "
                       f"WHERE {' AND '.join(where)} ORDER BY s.starts, s.id, b.id", params)
    return [_booking(r) for r in rows]


def record_attendance(con: sqlite3.Connection, session_id: int, staff_ids: Iterable[str], recorded_by: str, *,
                      municipality: str | None = None, unit: str | None = None,
                      now: dt.datetime | None = None) -> None:
    """Records who came, replacing what was recorded before for the same bookings.

    Place session: the listed staff attended, every other place taken did not; each listed id
    must hold a place. Workplace session: the listed staff of the booking unit came.
    `municipality` and `unit` narrow the recording to some bookings (one municipality's places,
    say); they are needed when a staff id is booked from two municipalities, or when more than
    one workplace has the session.
    """
    attendees = {s.strip() for s in staff_ids if s.strip()}
    now = now or _now()
    with write_transaction(con):
        target = session(con, session_id).session
        if target.cancelled:
            raise BookingError("Tillfället är inställt.")
        if target.starts > now:
            raise BookingError("Närvaro kan registreras först när tillfället har börjat.")
        where = ["session_id = ?", "parent_id IS NULL", "status = 'bokad'"]
        params: list[object] = [session_id]
        for column, value in (("municipality", municipality), ("unit", unit)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        held = con.execute(f"SELECT * FROM bookings WHERE {' AND '.join(where)} ORDER BY id", params).fetchall()
        if target.kind == Kind.PLACES:
            _record_places(con, held, attendees, recorded_by)
        else:
            _record_workplace(con, held, attendees, recorded_by, now)


def _record_places(con: sqlite3.Connection, held: list[sqlite3.Row], attendees: set[str], recorded_by: str) -> None:
    booked_ids = [r["staff_id"] for r in held]
    if missing := sorted(attendees - set(booked_ids)):
        raise BookingError(f"Har ingen plats på tillfället: {', '.join(missing)}.")
    if twice := sorted({s for s in attendees if booked_ids.count(s) > 1}):
        raise BookingError(f"Personal-id {', '.join(twice)} är bokade från flera kommuner: ange kommun.")
    con.executemany("UPDATE bookings SET attended = ?, attendance_by = ? WHERE id = ?",
                    [(int(r["staff_id"] in attendees), recorded_by, r["id"]) for r in held])


def _record_workplace(con: sqlite3.Connection, held: list[sqlite3.Row], attendees: set[str], recorded_by: str,
                      now: dt.datetime) -> None:
    if not held:
        raise BookingError("Ingen arbetsplats har tillfället bokat.")
    if len(held) > 1:
        raise BookingError("Flera arbetsplatser har tillfället bokat: ange vilken enhet närvaron gäller.")
    (workplace,) = held
    con.execute("DELETE FROM bookings WHERE parent_id = ?", [workplace["id"]])
    con.executemany(
        "INSERT INTO bookings (session_id, parent_id, municipality, unit, staff_id, booked_by, status, created_at, "
        "attended, attendance_by) VALUES (?, ?, ?, ?, ?, ?, 'bokad', ?, 1, ?)",
        [(workplace["session_id"], workplace["id"], workplace["municipality"], workplace["unit"], staff_id,
          recorded_by, _text(now), recorded_by) for staff_id in sorted(attendees)])
    con.execute("UPDATE bookings SET attended = ?, attendance_by = ? WHERE id = ?",
                [int(bool(attendees)), recorded_by, workplace["id"]])


def completions(con: sqlite3.Connection, session_id: int | None = None) -> list[dict]:
    """One row of the canonical `trainings` table per person who attended, completed on the
    session's start date."""
    sql = ("SELECT DISTINCT b.municipality, b.staff_id, s.course, substr(s.starts, 1, 10) AS completed_date "
           "FROM bookings b JOIN training_sessions s ON s.id = b.session_id "
           "WHERE b.attended = 1 AND b.status = 'bokad' AND b.staff_id IS NOT NULL AND s.cancelled = 0")
    params = []
    if session_id is not None:
        sql += " AND s.id = ?"
        params.append(session_id)
    rows = con.execute(f"{sql} ORDER BY completed_date, b.municipality, b.staff_id, s.course", params)
    return [dict(r) for r in rows]
