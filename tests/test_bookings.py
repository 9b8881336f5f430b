"""Training sessions and bookings (insyn.web.bookings) over a real SQLite file, and cancelling a
session on the web (the routes of insyn.web.routes_bookings)."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from webapp import OWN, app_state, audit_since, copy_data_folder, hidden_field, last_audit_id, logged_in

from insyn.model.tables import TRAININGS
from insyn.web import bookings as bk
from insyn.web.accounts import Role
from insyn.web.app import create_app
from insyn.web.bookings import BookingError

pytest_plugins = ["webapp"]

NOW = dt.datetime(2025, 3, 3, 8, 0)
STARTS = dt.datetime(2025, 3, 10, 9, 0)
AFTER = STARTS + dt.timedelta(hours=3)


def connect(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    con.row_factory = sqlite3.Row
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA busy_timeout=5000")
    con.execute("PRAGMA foreign_keys=ON")
    return con


@pytest.fixture
def db(tmp_path) -> Path:
    path = tmp_path / "app.sqlite3"
    with connect(path) as con:
        con.executescript(bk.SCHEMA)
    return path


@pytest.fixture
def con(db):
    c = connect(db)
    yield c
    c.close()


def new_session(con: sqlite3.Connection, **changes) -> bk.TrainingSession:
    fields = dict(course="MHFA-1", course_name="Första hjälpen till psykisk hälsa", programme="mhfa",
                  title="MHFA vuxen, två dagar", kind="platser", starts=STARTS, place="Stadshuset, sal 2",
                  capacity=2, municipality=None, created_by="fou.anna")
    return bk.create_session(con, **(fields | changes))


def person(staff_id: str, municipality: str = "0884", unit: str = "Barn och unga") -> tuple[str, str, str]:
    return (municipality, unit, staff_id)


def statuses(con: sqlite3.Connection, session_id: int) -> list[tuple[str, str]]:
    rows = con.execute("SELECT staff_id, status FROM bookings WHERE session_id = ? ORDER BY id", [session_id])
    return [(r["staff_id"], r["status"]) for r in rows]


def test_create_session_reads_back_and_validates(con):
    created = new_session(con, municipality="0884", starts=STARTS.replace(microsecond=123))
    assert created == bk.TrainingSession(
        created.id, "MHFA-1", "Första hjälpen till psykisk hälsa", "mhfa", "MHFA vuxen, två dagar", bk.Kind.PLACES,
        STARTS, "Stadshuset, sal 2", 2, "0884", "fou.anna", False)
    bad = [({"kind": "webbinarium"}, "Okänd typ"), ({"programme": "yoga"}, "Okänt program"),
           ({"capacity": 0}, "minst 1"), ({"title": "  "}, "Rubrik saknas"), ({"place": ""}, "Plats saknas"),
           ({"municipality": "9999"}, "Okänd kommunkod")]
    for changes, message in bad:
        with pytest.raises(BookingError, match=message):
            new_session(con, **changes)
    assert con.execute("SELECT count(*) FROM training_sessions").fetchone()[0] == 1
    with pytest.raises(BookingError, match="Tillfället finns inte"):
        bk.session(con, 999)


def test_sessions_open_to_a_municipality_by_start(con):
    later = new_session(con, title="Senare", starts=STARTS + dt.timedelta(days=7))
    own = new_session(con, title="Vimmerby", municipality="0884")
    other = new_session(con, title="Växjö", municipality="0780", starts=STARTS - dt.timedelta(days=1))
    cancelled = new_session(con, title="Inställt")
    bk.cancel_session(con, cancelled.id, "fou.anna", "Kursledaren är sjuk", now=NOW)

    assert [s.session.title for s in bk.sessions(con, municipality="0884")] == ["Vimmerby", "Senare"]
    assert [s.session.id for s in bk.sessions(con)] == [other.id, own.id, later.id]
    assert [s.session.title for s in bk.sessions(con, municipality="0780", from_time=STARTS)] == ["Senare"]
    assert bk.session(con, cancelled.id).session.cancelled is True
    with pytest.raises(BookingError, match="redan inställt"):
        bk.cancel_session(con, cancelled.id, "fou.anna", "Kursledaren är sjuk", now=NOW)


def test_places_fill_then_waiting_list_in_order(con):
    s = new_session(con, capacity=2)
    made = bk.book_places(con, s.id, [person("A"), person("B"), person("C")], "chef.eva", now=NOW)
    made += bk.book_places(con, s.id, [person("D", unit="Vuxen")], "chef.olle", now=NOW)

    assert [(b.staff_id, b.status) for b in made] == [("A", "bokad"), ("B", "bokad"), ("C", "vantelista"),
                                                      ("D", "vantelista")]
    assert made[3] == bk.Booking(made[3].id, s.id, "0884", "Vuxen", "D", "chef.olle", bk.Status.WAITING, NOW, None)
    assert [b.staff_id for b in bk.waiting_list(con, s.id)] == ["C", "D"]
    summary = bk.session(con, s.id)
    assert (summary.booked, summary.waiting, summary.free) == (2, 2, 0)


def test_cancel_gives_the_place_to_the_first_waiting(con):
    s = new_session(con, capacity=1)
    a, b, c = bk.book_places(con, s.id, [person("A"), person("B"), person("C")], "chef.eva", now=NOW)

    assert bk.cancel(con, c.id, "chef.eva", now=NOW) is None  # a waiting booking frees no place
    promoted = bk.cancel(con, a.id, "chef.eva", now=NOW)
    assert (promoted.id, promoted.staff_id, promoted.status) == (b.id, "B", "bokad")
    assert statuses(con, s.id) == [("A", "avbokad"), ("B", "bokad"), ("C", "avbokad")]
    assert bk.cancel(con, b.id, "chef.eva", now=NOW) is None
    assert (bk.session(con, s.id).booked, bk.session(con, s.id).free) == (0, 1)
    with pytest.raises(BookingError, match="redan avbokad"):
        bk.cancel(con, a.id, "chef.eva", now=NOW)
    with pytest.raises(BookingError, match="Bokningen finns inte"):
        bk.cancel(con, 999, "chef.eva", now=NOW)


def test_double_booking_is_refused_and_the_whole_call_writes_nothing(con):
    s = new_session(con, capacity=5)
    bk.book_places(con, s.id, [person("C")], "chef.eva", now=NOW)

    with pytest.raises(BookingError, match="Personal-id C har redan en bokning"):
        bk.book_places(con, s.id, [person("A"), person("B"), person("C")], "chef.eva", now=NOW)
    with pytest.raises(BookingError, match="Personal-id A har redan en bokning"):
        bk.book_places(con, s.id, [person("A"), person("A")], "chef.eva", now=NOW)
    assert statuses(con, s.id) == [("C", "bokad")]

    # The same staff id in another municipality is another person; a cancelled booking can be remade.
    (c,) = bk.book_places(con, s.id, [person("C", municipality="0880")], "chef.eva", now=NOW)
    assert (c.municipality, c.status) == ("0880", "bokad")
    bk.cancel(con, c.id, "chef.eva", now=NOW)
    assert bk.book_places(con, s.id, [person("C", municipality="0880")], "chef.eva", now=NOW)[0].status == "bokad"


def test_workplace_booking_and_its_waiting_list(con):
    s = new_session(con, kind="arbetsplats", capacity=1, course="VNR-1", course_name="Våld i nära relationer",
                    programme="vnr", title="Information om våld i nära relationer", place="På enheten")
    first = bk.book_workplace(con, s.id, "0884", "Barn och unga", "chef.eva", now=NOW)
    second = bk.book_workplace(con, s.id, "0884", "Vuxen", "chef.olle", now=NOW)

    assert (first.staff_id, first.status, second.status) == (None, "bokad", "vantelista")
    with pytest.raises(BookingError, match="Enheten Barn och unga har redan en bokning"):
        bk.book_workplace(con, s.id, "0884", "Barn och unga", "chef.eva", now=NOW)
    with pytest.raises(BookingError, match="bokas per arbetsplats"):
        bk.book_places(con, s.id, [person("A")], "chef.eva", now=NOW)
    with pytest.raises(BookingError, match="bokas per plats"):
        bk.book_workplace(con, new_session(con).id, "0884", "Vuxen", "chef.olle", now=NOW)
    assert [b.unit for b in bk.waiting_list(con, s.id)] == ["Vuxen"]

    promoted = bk.cancel(con, first.id, "chef.eva", now=NOW)
    assert (promoted.unit, promoted.status) == ("Vuxen", "bokad")
    assert bk.waiting_list(con, s.id) == []


def test_a_session_of_one_municipality_refuses_another(con):
    own = new_session(con, municipality="0884")
    with pytest.raises(BookingError, match="bara öppet för kommun 0884"):
        bk.book_places(con, own.id, [person("A"), person("B", municipality="0780")], "chef.eva", now=NOW)
    workplace = new_session(con, municipality="0884", kind="arbetsplats", capacity=1)
    with pytest.raises(BookingError, match="bara öppet för kommun 0884"):
        bk.book_workplace(con, workplace.id, "0780", "Vuxen", "chef.olle", now=NOW)
    assert con.execute("SELECT count(*) FROM bookings").fetchone()[0] == 0

    open_to_all = new_session(con, municipality=None)
    made = bk.book_places(con, open_to_all.id, [person("A"), person("B", municipality="0780")], "fou", now=NOW)
    assert [(b.municipality, b.status) for b in made] == [("0884", "bokad"), ("0780", "bokad")]


def test_cancelled_or_started_sessions_take_no_bookings(con):
    cancelled = new_session(con)
    bk.cancel_session(con, cancelled.id, "fou.anna", "Kursledaren är sjuk", now=NOW)
    with pytest.raises(BookingError, match="Tillfället är inställt"):
        bk.book_places(con, cancelled.id, [person("A")], "chef.eva", now=NOW)

    s = new_session(con)
    (a,) = bk.book_places(con, s.id, [person("A")], "chef.eva", now=NOW)
    for now in (STARTS, AFTER):
        with pytest.raises(BookingError, match="redan börjat och kan inte bokas"):
            bk.book_places(con, s.id, [person("B")], "chef.eva", now=now)
    with pytest.raises(BookingError, match="redan börjat och kan inte avbokas"):
        bk.cancel(con, a.id, "chef.eva", now=STARTS)
    with pytest.raises(BookingError, match="redan börjat och kan inte ställas in"):
        bk.cancel_session(con, s.id, "fou.anna", "Kursledaren är sjuk", now=STARTS)
    assert statuses(con, s.id) == [("A", "bokad")]


def test_a_cancelled_session_leaves_the_lists_and_tells_everyone_booked(con):
    s = new_session(con, capacity=1, title="MHFA i Vimmerby")
    workplace = new_session(con, kind="arbetsplats", capacity=1, course="VNR-1", programme="vnr", title="VNR-träff")
    kept = new_session(con, title="Kvar")
    a, b = bk.book_places(con, s.id, [person("A"), person("B")], "chef.eva", now=NOW)  # B waits
    (c,) = bk.book_places(con, s.id, [person("C")], "chef.eva", now=NOW)
    bk.cancel(con, c.id, "chef.eva", now=NOW)  # cancelled before: not told
    bk.book_places(con, kept.id, [person("A")], "chef.eva", now=NOW)
    bk.book_workplace(con, workplace.id, "0884", "Barn och unga", "chef.eva", now=NOW)

    with pytest.raises(BookingError, match="Ange varför"):
        bk.cancel_session(con, s.id, "fou.anna", "  ", now=NOW)
    told = bk.cancel_session(con, s.id, "fou.anna", " Kursledaren\n är sjuk ", now=NOW)
    bk.cancel_session(con, workplace.id, "fou.anna", "Lokalen är upptagen", now=NOW + dt.timedelta(hours=1))

    assert [(t.staff_id, t.status) for t in told] == [("A", "bokad"), ("B", "vantelista")]
    assert [(x.session_id, x.staff_id) for x in bk.bookings(con, include_cancelled=True)] == [(kept.id, "A")]
    notice = bk.CancelledNotice(s.id, "MHFA i Vimmerby", STARTS, "Stadshuset, sal 2", "Kursledaren är sjuk", NOW)
    assert bk.notices_for(con, "0884", "A", now=NOW) == [notice]
    assert notice.message == ("Utbildningstillfället MHFA i Vimmerby den 2025-03-10 kl. 09:00 är inställt. "
                              "Orsak: Kursledaren är sjuk")
    assert [n.session_id for n in bk.notices_for(con, "0884", "B", now=NOW)] == [s.id]
    assert bk.notices_for(con, "0884", "C", now=NOW) == []
    assert bk.notices_for(con, "0780", "A", now=NOW) == []  # the same id in another municipality
    # The workplace's staff are told too, the newest cancellation first.
    assert [n.session_id for n in bk.notices_for(con, "0884", "A", ["Barn och unga"], now=NOW)] == [
        workplace.id, s.id]
    assert [n.session_id for n in bk.notices_for(con, "0884", "X", ["Barn och unga"], now=NOW)] == [workplace.id]
    assert bk.notices_for(con, "0884", "X", ["Vuxen"], now=NOW) == []

    bk.dismiss_notice(con, s.id, "0884", "A", now=NOW)
    bk.dismiss_notice(con, s.id, "0884", "A", now=NOW)
    bk.dismiss_notice(con, 999, "0884", "A", now=NOW)  # no such session: nothing
    assert bk.notices_for(con, "0884", "A", now=NOW) == []
    assert [n.session_id for n in bk.notices_for(con, "0884", "B", now=NOW)] == [s.id]
    # Undismissed, a notice stays for NOTICE_DAYS after the cancellation.
    last = NOW + dt.timedelta(days=bk.NOTICE_DAYS)
    assert [n.session_id for n in bk.notices_for(con, "0884", "B", now=last)] == [s.id]
    assert bk.notices_for(con, "0884", "B", now=last + dt.timedelta(seconds=1)) == []


def test_place_attendance_becomes_canonical_trainings_rows(con):
    s = new_session(con, capacity=3)
    bk.book_places(con, s.id, [person("A"), person("B"), person("C", municipality="0780"), person("D")],
                   "chef.eva", now=NOW)
    with pytest.raises(BookingError, match="först när tillfället har börjat"):
        bk.record_attendance(con, s.id, ["A"], "fou.anna", now=NOW)
    with pytest.raises(BookingError, match="Har ingen plats på tillfället: D, X"):
        bk.record_attendance(con, s.id, ["A", "D", "X"], "fou.anna", now=AFTER)
    assert bk.completions(con) == []

    for _ in range(2):  # recording again replaces, and reads back the same
        bk.record_attendance(con, s.id, ["A", "C", " "], "fou.anna", now=AFTER)
        assert bk.completions(con, s.id) == [
            {"municipality": "0780", "staff_id": "C", "course": "MHFA-1", "completed_date": "2025-03-10"},
            {"municipality": "0884", "staff_id": "A", "course": "MHFA-1", "completed_date": "2025-03-10"},
        ]
    assert list(bk.completions(con)[0]) == [c.name for c in TRAININGS.columns]
    attended = {b.staff_id: b.attended for b in bk.bookings(con, session_id=s.id)}
    assert attended == {"A": True, "B": False, "C": True, "D": None}

    bk.record_attendance(con, s.id, ["B"], "fou.anna", municipality="0884", now=AFTER)
    attended = {b.staff_id: b.attended for b in bk.bookings(con, session_id=s.id)}
    assert attended == {"A": False, "B": True, "C": True, "D": None}
    assert [(r["municipality"], r["staff_id"]) for r in bk.completions(con)] == [("0780", "C"), ("0884", "B")]


def test_the_same_staff_id_from_two_municipalities_needs_a_municipality(con):
    s = new_session(con)
    bk.book_places(con, s.id, [person("A"), person("A", municipality="0780")], "fou", now=NOW)
    with pytest.raises(BookingError, match="bokade från flera kommuner"):
        bk.record_attendance(con, s.id, ["A"], "fou.anna", now=AFTER)
    bk.record_attendance(con, s.id, ["A"], "fou.anna", municipality="0780", now=AFTER)
    assert [(r["municipality"], r["staff_id"]) for r in bk.completions(con)] == [("0780", "A")]


def test_workplace_attendance_is_the_staff_who_came(con):
    s = new_session(con, kind="arbetsplats", capacity=2, course="VNR-1", programme="vnr")
    booking = bk.book_workplace(con, s.id, "0884", "Barn och unga", "chef.eva", now=NOW)
    bk.book_workplace(con, s.id, "0884", "Vuxen", "chef.olle", now=NOW)
    with pytest.raises(BookingError, match="ange vilken enhet"):
        bk.record_attendance(con, s.id, ["A"], "fou.anna", now=AFTER)

    bk.record_attendance(con, s.id, ["A", "B", "A"], "fou.anna", unit="Barn och unga", now=AFTER)
    assert bk.completions(con, s.id) == [
        {"municipality": "0884", "staff_id": "A", "course": "VNR-1", "completed_date": "2025-03-10"},
        {"municipality": "0884", "staff_id": "B", "course": "VNR-1", "completed_date": "2025-03-10"},
    ]
    bk.record_attendance(con, s.id, ["B"], "fou.anna", unit="Barn och unga", now=AFTER)
    assert [r["staff_id"] for r in bk.completions(con, s.id)] == ["B"]

    # The attendees are not bookings: the counts and lists are the workplaces'.
    summary = bk.session(con, s.id)
    assert (summary.booked, summary.waiting, summary.free) == (2, 0, 0)
    listed = bk.bookings(con, session_id=s.id)
    assert [(b.unit, b.staff_id, b.attended) for b in listed] == [("Barn och unga", None, True), ("Vuxen", None, None)]
    assert listed[0].id == booking.id


def test_bookings_filters_are_anded(con):
    first, second = new_session(con, capacity=5), new_session(con, starts=STARTS - dt.timedelta(days=1))
    bk.book_places(con, first.id, [person("A"), person("B", unit="Vuxen"), person("C", municipality="0780")],
                   "chef.eva", now=NOW)
    (cancelled,) = bk.book_places(con, second.id, [person("A")], "chef.eva", now=NOW)
    bk.cancel(con, cancelled.id, "chef.eva", now=NOW)

    def staff(**filters) -> list[tuple[int, str]]:
        return [(b.session_id, b.staff_id) for b in bk.bookings(con, **filters)]

    assert staff() == [(first.id, "A"), (first.id, "B"), (first.id, "C")]
    assert staff(include_cancelled=True) == [(second.id, "A"), (first.id, "A"), (first.id, "B"), (first.id, "C")]
    assert staff(municipality="0884", units=["Vuxen", "Familjerätt"]) == [(first.id, "B")]
    assert staff(municipality="0884", units=[]) == []
    assert staff(staff_id="A", include_cancelled=True, session_id=second.id) == [(second.id, "A")]


def test_concurrent_bookings_never_overbook(db, con):
    s = new_session(con, capacity=3)
    start = threading.Barrier(8)
    errors = []

    def book(n: int) -> None:
        own = connect(db)
        try:
            start.wait()
            bk.book_places(own, s.id, [person(f"P{n}")], f"chef{n}", now=NOW)
        except Exception as e:
            errors.append(e)
        finally:
            own.close()

    threads = [threading.Thread(target=book, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    counted = [status for _, status in statuses(con, s.id)]
    assert counted == ["bokad"] * 3 + ["vantelista"] * 5  # in booking order: the first three got the places
    summary = bk.session(con, s.id)
    assert (summary.booked, summary.waiting, summary.free) == (3, 5, 0)
    assert len({staff for staff, _ in statuses(con, s.id)}) == 8


operations = st.lists(st.tuples(st.sampled_from(["book", "cancel"]), st.integers(0, 7), st.integers(1, 3)),
                      max_size=30)


@settings(max_examples=60, deadline=None)
@given(capacity=st.integers(1, 4), ops=operations)
def test_any_booking_sequence_keeps_the_places_and_the_queue_consistent(tmp_path_factory, capacity, ops):
    """Against a model: places are held first come, first served; a freed place goes to the
    first waiting; never more places taken than there are, never anyone waiting beside a free one."""
    con = connect(tmp_path_factory.mktemp("prop") / "app.sqlite3")
    con.executescript(bk.SCHEMA)
    s = new_session(con, capacity=capacity)
    held: list[str] = []
    waiting: list[str] = []
    booking_ids: dict[str, int] = {}
    for op, n, size in ops:
        if op == "book":
            group = [f"P{(n + i) % 8}" for i in range(size)]
            if any(p in held or p in waiting for p in group) or len(set(group)) < len(group):
                with pytest.raises(BookingError):
                    bk.book_places(con, s.id, [person(p) for p in group], "chef", now=NOW)
            else:
                for made in bk.book_places(con, s.id, [person(p) for p in group], "chef", now=NOW):
                    booking_ids[made.staff_id] = made.id
                    (held if len(held) < capacity else waiting).append(made.staff_id)
        else:
            staff_id = f"P{n}"
            if staff_id not in booking_ids:
                continue
            if staff_id not in held and staff_id not in waiting:
                with pytest.raises(BookingError, match="redan avbokad"):
                    bk.cancel(con, booking_ids[staff_id], "chef", now=NOW)
                continue
            promoted = bk.cancel(con, booking_ids[staff_id], "chef", now=NOW)
            if staff_id in held:
                held.remove(staff_id)
                if waiting:
                    held.append(waiting.pop(0))
                    assert promoted.staff_id == held[-1]
                else:
                    assert promoted is None
            else:
                waiting.remove(staff_id)
                assert promoted is None

        summary = bk.session(con, s.id)
        assert summary.booked <= capacity
        assert summary.waiting == 0 or summary.free == 0
        assert sorted(b.staff_id for b in bk.bookings(con, session_id=s.id) if b.status == "bokad") == sorted(held)
        assert [b.staff_id for b in bk.waiting_list(con, s.id)] == waiting
    con.close()


# --- on the web: cancelling a session, the notices on Mitt arbete, the municipality chosen by name ---

@pytest.fixture(scope="module")
def booked_site(web_data, web_users, tmp_path_factory):
    """A copy of the data folder with a session on which the caseworker holds a place, and its app."""
    data = copy_data_folder(web_data, tmp_path_factory.mktemp("installa") / "data")
    with app_state(data.data_dir) as con:
        made = new_session(con, title="MHFA som ställs in", municipality=OWN,
                           starts=dt.datetime.now().replace(microsecond=0) + dt.timedelta(days=21))
        bk.book_places(con, made.id, [(OWN, "Barn och unga", web_users[Role.CASEWORKER].staff_id)], "enhetschef")
    return data, create_app(data.settings), made


def own_trainings_section(html: str) -> str:
    return html[html.index('id="mina-utbildningar"'):]


def test_only_planners_cancel_a_session_and_the_booked_are_told_on_mitt_arbete(booked_site, web_users):
    data, web, made = booked_site
    caseworker = logged_in(web, web_users[Role.CASEWORKER].username)
    assert "MHFA som ställs in" in own_trainings_section(caseworker.get("/mitt-arbete").text)
    for role in (Role.MUNICIPALITY, Role.UNIT_MANAGER, Role.CASEWORKER):
        browser = logged_in(web, web_users[role].username)
        csrf = hidden_field(browser.get("/kompetens").text, "csrf")
        response = browser.post("/kompetens/installa", data={"csrf": csrf, "tillfalle": str(made.id), "orsak": "x"})
        assert response.status_code == 403 and "Ingen åtkomst" in response.text
    analyst = logged_in(web, web_users[Role.ANALYST].username)
    page = analyst.get("/kompetens").text
    assert 'action="/kompetens/installa"' in page
    csrf = hidden_field(page, "csrf")
    refused = analyst.post("/kompetens/installa", data={"csrf": csrf, "tillfalle": str(made.id), "orsak": " "},
                           follow_redirects=True)
    assert "Tillfället ställdes inte in: Ange varför tillfället ställs in." in refused.text
    with app_state(data.data_dir) as con:
        assert bk.session(con, made.id).session.cancelled is False

    before = last_audit_id(data.data_dir)
    done = analyst.post("/kompetens/installa", data={"csrf": csrf, "tillfalle": str(made.id),
                                                    "orsak": "Kursledaren är sjuk"}, follow_redirects=True)
    day = f"{made.starts:%Y-%m-%d}"
    assert (f"Tillfället MHFA som ställs in den {day} är inställt. 1 bokning berörs; de bokade ser det på sin "
            "sida Mitt arbete.") in done.text
    (entry,) = audit_since(data.data_dir, before, action="session_cancel")
    assert (entry.username, entry.target) == ("analytiker", f"tillfälle {made.id}")

    own = own_trainings_section(caseworker.get("/mitt-arbete").text)
    assert (f"Utbildningstillfället MHFA som ställs in den {day} kl. {made.starts:%H:%M} är inställt. "
            "Orsak: Kursledaren är sjuk") in own
    assert "Du är inte bokad på något kommande utbildningstillfälle" in own  # gone from the bookings
    assert "MHFA som ställs in" not in caseworker.get("/kompetens").text
    for role in (Role.UNIT_MANAGER, Role.ANALYST):
        response = logged_in(web, web_users[role].username).post(
            "/mitt-arbete/meddelanden/dolj", data={"csrf": csrf, "tillfalle": str(made.id)})
        assert response.status_code == 403
    csrf = hidden_field(caseworker.get("/mitt-arbete").text, "csrf")
    dismissed = caseworker.post("/mitt-arbete/meddelanden/dolj", data={"csrf": csrf, "tillfalle": str(made.id)})
    assert (dismissed.status_code, dismissed.headers["location"]) == (303, "/mitt-arbete")
    assert "MHFA som ställs in" not in caseworker.get("/mitt-arbete").text


def test_a_session_is_for_a_municipality_chosen_by_name(booked_site, web_users):
    data, web, _ = booked_site
    admin = logged_in(web, web_users[Role.ADMINISTRATOR].username)
    page = admin.get("/kompetens").text
    assert f'<option value="{OWN}">Vimmerby</option>' in page and 'name="kommun" pattern' not in page
    csrf = hidden_field(page, "csrf")
    course = web.state.statistics.snapshot().courses.course.iloc[0]
    fields = {"csrf": csrf, "kurs": course, "titel": "Bara Vimmerby", "typ": "platser", "tid": "09:00",
              "datum": (dt.date.today() + dt.timedelta(days=10)).isoformat(), "plats": "Stadshuset", "kapacitet": "5"}
    for other in ("0780", "9999"):  # Växjö is of the region, but has no staff in the data
        refused = admin.post("/kompetens/tillfallen", data=fields | {"kommun": other}, follow_redirects=True)
        assert "kommunen finns inte bland kommunerna med personal i underlaget" in refused.text
    made = admin.post("/kompetens/tillfallen", data=fields | {"kommun": OWN}, follow_redirects=True)
    assert "Tillfället Bara Vimmerby är upplagt." in made.text
    with app_state(data.data_dir) as con:
        assert [s.session.municipality for s in bk.sessions(con) if s.session.title == "Bara Vimmerby"] == [OWN]


def test_a_role_that_may_not_is_refused_before_its_form_is_read(role_clients):
    """A form with nothing in it from a role without the right is 403, not a complaint about
    the missing fields (422): the right is checked before any field is looked at."""
    from insyn.web.accounts import Role

    for role, path in ((Role.MUNICIPALITY, "/kompetens/installa"), (Role.CASEWORKER, "/kompetens/installa"),
                       (Role.ANALYST, "/kompetens/namnlista"), (Role.MUNICIPALITY, "/kompetens/namnlista"),
                       (Role.UNIT_MANAGER, "/mitt-arbete/meddelanden/dolj")):
        assert role_clients[role].post(path, data={}).status_code == 403, (role, path)
