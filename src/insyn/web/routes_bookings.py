"""Kompetens och bokning: training sessions, places and workplace sessions booked by managers
(their own people by name, from the local name list), cancelling a booking or a whole session,
the waiting list, and attendance that becomes training statistics.

The booking rules are in insyn.web.bookings and the name list in insyn.web.names; here is who may
do what (insyn.web.scope), the import of recorded attendance as ordinary `trainings` rows, so that
the training-coverage indicators count it, and the caseworker's own trainings and notices of
cancelled sessions (`own_trainings`), shown on Mitt arbete.
"""

from __future__ import annotations

import csv
import datetime as dt
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Form, Request, UploadFile
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from insyn.errors import InputError, user_message
from insyn.model.codes import label
from insyn.model.municipalities import municipality_names
from insyn.model.tables import TRAININGS
from insyn.publish.cells import MISSING
from insyn.swedish import count_of, swedish_sort_key
from insyn.web import bookings, flash, names
from insyn.web.accounts import Role
from insyn.web.bookings import BookingError, Kind, Status
from insyn.web.deps import Signed, Viewer
from insyn.web.pages import Page, Section
from insyn.web.registry import MenuPage, PageRouter
from insyn.web.tables import Row, Table

KIND_LABELS = {Kind.PLACES: "Platser", Kind.WORKPLACE: "Hel arbetsplats"}
STATUS_LABELS = {Status.BOOKED: "Bokad", Status.WAITING: "Väntelista", Status.CANCELLED: "Avbokad"}
ATTENDANCE_FOLDER = "narvaro"  # attendance files imported as trainings, kept as the record of what was sent
# SQLite's integers have 64 bits: a larger number in a form is a bad request (400), not an overflow.
LARGEST_INTEGER = 2**63 - 1
FormInteger = Annotated[int, Form(ge=1, le=LARGEST_INTEGER)]


def _when(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


def _municipality_filter(viewer: Viewer) -> str | None:
    """Planners see every municipality's sessions; everyone else those open to their own."""
    return None if viewer.scope.plans_sessions else viewer.user.municipality


def _visible_bookings(viewer: Viewer) -> list[bookings.Booking]:
    user = viewer.user
    if user.role == Role.CASEWORKER:
        return bookings.bookings(viewer.con, municipality=user.municipality, staff_id=user.staff_id,
                                 include_cancelled=True)
    if user.role == Role.UNIT_MANAGER:
        return bookings.bookings(viewer.con, municipality=user.municipality, units=user.units, include_cancelled=True)
    if user.role == Role.MUNICIPALITY:
        return bookings.bookings(viewer.con, municipality=user.municipality, include_cancelled=True)
    return bookings.bookings(viewer.con, include_cancelled=True)


def bookable_staff(request: Request, viewer: Viewer) -> list[tuple[str, str, str]]:
    """(municipality, unit, staff_id) of those the user may book places for: a manager's own units'
    staff, a municipality's all, a caseworker only themselves."""
    user = viewer.user
    if user.role == Role.CASEWORKER:
        staff = request.app.state.statistics.snapshot().staff
        units = staff[(staff.municipality == user.municipality) & (staff.staff_id == user.staff_id)].unit
        return [(user.own_municipality, unit, user.staff_id or "") for unit in units[:1]]
    if user.role not in (Role.UNIT_MANAGER, Role.MUNICIPALITY):
        return []
    staff = request.app.state.statistics.snapshot().staff
    staff = staff[staff.municipality == user.municipality]
    return [(r.municipality, r.unit, r.staff_id) for r in staff.itertuples()
            if viewer.scope.books_for(r.municipality, r.unit)]


def municipalities_in_data(request: Request) -> list[tuple[str, str]]:
    """(code, name) of the municipalities with staff in the data, by name: those a session can be for."""
    named = municipality_names()
    codes = set(request.app.state.statistics.snapshot().staff.municipality)
    return sorted(((c, named.get(c, c)) for c in codes), key=lambda item: swedish_sort_key(item[1]))


def staff_units(request: Request, municipality: str) -> dict[str, set[str]]:
    """Each staff id of the municipality in the data today, with its units."""
    staff = request.app.state.statistics.snapshot().staff
    staff = staff[staff.municipality == municipality]
    return {staff_id: set(group.unit) for staff_id, group in staff.groupby("staff_id")}


def units_in_data(request: Request, municipality: str) -> set[str]:
    """The municipality's units with staff today: the only units a session can be booked for."""
    staff = request.app.state.statistics.snapshot().staff
    return set(staff[staff.municipality == municipality].unit.dropna())


def _unit_staff(request: Request) -> dict[tuple[str, str], list[str]]:
    """Each unit's staff today, for attendance at a session the unit booked as a whole."""
    staff = request.app.state.statistics.snapshot().staff
    return {key: sorted(group.staff_id) for key, group in staff.groupby(["municipality", "unit"])}


def competence_page(request: Request, viewer: Viewer) -> Page:
    now = dt.datetime.now()
    upcoming = bookings.sessions(viewer.con, municipality=_municipality_filter(viewer), from_time=now)
    mine = _visible_bookings(viewer)
    titles = {s.session.id: s.session for s in upcoming}
    for booking in mine:
        if booking.session_id not in titles:
            titles[booking.session_id] = bookings.session(viewer.con, booking.session_id).session
    waiting = {b.id: i for s in upcoming for i, b in enumerate(bookings.waiting_list(viewer.con, s.session.id), 1)}
    session_rows: list[Row] = [[_when(s.session.starts), s.session.title, label("programme", s.session.programme),
                     s.session.place, KIND_LABELS[s.session.kind], s.session.capacity, s.booked, s.free, s.waiting,
                     s.session.municipality or "Alla"] for s in upcoming]
    booking_rows: list[Row] = [[_when(titles[b.session_id].starts), titles[b.session_id].title, b.municipality, b.unit,
                     b.staff_id or "Hela arbetsplatsen",
                     STATUS_LABELS[b.status] + (f" (plats {waiting[b.id]} i kön)" if b.id in waiting else ""),
                     {True: "Ja", False: "Nej", None: MISSING}[b.attended], b.booked_by] for b in mine]
    planned = bookings.sessions(viewer.con, municipality=None) if viewer.scope.plans_sessions else []
    notice = flash.take(viewer.con, viewer.user.username, request.query_params.get("besked"))
    staff = bookable_staff(request, viewer)
    shown = names.shown_names(viewer.con, viewer.scope, staff)
    labels = {staff_id: names.labelled(shown.get((m, staff_id)), staff_id) for m, _, staff_id in staff}
    return Page(
        "Kompetens och bokning",
        "Utbildningstillfällen i regionen: kurser med platser (t.ex. MHFA eller Yrkesresans kursdagar) och "
        "informationstillfällen som en arbetsplats bokar för sin personal (t.ex. om våld i nära relationer). "
        "När ett tillfälle är fullt hamnar nya bokningar på väntelistan, och en avbokad plats går till den "
        "som står först. Närvaron räknas in i utbildningstäckningen.",
        sections=[
            Section("Kommande tillfällen", "tillfallen", tables=[Table(
                "tillfallen", "Kommande tillfällen",
                ["Tid", "Tillfälle", "Program", "Plats", "Typ", "Platser", "Bokade", "Lediga", "Väntelista",
                 "För kommun"],
                session_rows)]),
            Section("Bokningar", "bokningar",
                    "Dina egna bokningar." if viewer.user.role == Role.CASEWORKER
                    else "Bokningarna du får se och ändra.",
                    [Table("bokningar", "Bokningar",
                           ["Tid", "Tillfälle", "Kommun", "Enhet", "Personal-id", "Status", "Närvarande", "Bokad av"],
                           booking_rows)])],
        forms={"notice": notice, "upcoming": upcoming, "bookings": mine, "titles": titles, "now": now,
               "staff": staff, "labels": labels,
               "units": sorted({unit for _, unit, _ in staff}) if viewer.user.role != Role.CASEWORKER else [],
               "municipalities": municipalities_in_data(request) if viewer.scope.plans_sessions else [],
               "planned": [s for s in planned if s.session.starts <= now and not s.session.cancelled],
               "unit_staff": _unit_staff(request) if viewer.scope.plans_sessions else {},
               "courses": request.app.state.statistics.snapshot().courses.to_dict("records")
               if viewer.scope.plans_sessions else []})


def _form_ids(form: FormData, name: str) -> list[str]:
    return [v for v in form.getlist(name) if isinstance(v, str) and v]


def _form_text(form: FormData, name: str) -> str | None:
    """A text field of a form read by hand (the ones with repeated fields); a file or a missing
    or empty field is None."""
    value = form.get(name)
    return value if isinstance(value, str) and value else None


def _form_session(form: FormData) -> int:
    try:
        chosen = int(_form_text(form, "tillfalle") or "")
    except ValueError:
        chosen = 0
    if not 1 <= chosen <= LARGEST_INTEGER:
        raise InputError("Välj ett tillfälle.")
    return chosen


COMPETENCE = MenuPage("/kompetens", "Kompetens och bokning", set(Role))

router = PageRouter()
router.table_page(COMPETENCE, build=competence_page, template="kompetens_body.html.j2")


def back(viewer: Viewer, message: str, error: bool = False):
    token = flash.leave(viewer.con, viewer.user.username, user_message(message), error)
    return RedirectResponse(f"/kompetens?besked={token}", status_code=303)


@router.post("/kompetens/boka")
async def book_places(request: Request, viewer: Signed):
    form = await request.form()
    viewer.check_csrf(_form_text(form, "csrf"))
    allowed = {staff_id: (m, u, staff_id) for m, u, staff_id in bookable_staff(request, viewer)}
    asked = _form_ids(form, "personal")
    if not asked:
        return back(viewer, error=True, message="Välj minst en person att boka.")
    viewer.scope.require(set(asked) <= set(allowed), "att boka platser för personal utanför dina enheter")
    try:
        made = bookings.book_places(viewer.con, _form_session(form), [allowed[s] for s in asked],
                                    viewer.user.username)
    except InputError as error:
        return back(viewer, error=True, message=str(error))
    for booking in made:
        viewer.log("booking", target=f"tillfälle {booking.session_id}",
                   detail=f"{booking.municipality} {booking.unit} {booking.staff_id}: {booking.status}")
    on_list = sum(b.status == Status.WAITING for b in made)
    return back(viewer, f"{len(made) - on_list} bokade, {on_list} på väntelistan.")


@router.post("/kompetens/boka-arbetsplats")
def book_workplace(request: Request, viewer: Signed, csrf: Annotated[str, Form()], tillfalle: FormInteger,
                   enhet: Annotated[str, Form()]):
    viewer.check_csrf(csrf)
    viewer.scope.require(viewer.user.municipality is not None
                         and viewer.scope.books_for(viewer.user.municipality, enhet), "att boka för den enheten")
    municipality = viewer.user.own_municipality
    if enhet not in units_in_data(request, municipality):  # an invented unit would take a real one's place
        return back(viewer, error=True, message="Enheten finns inte bland de importerade enheterna med personal i "
                                                "din kommun.")
    try:
        made = bookings.book_workplace(viewer.con, tillfalle, municipality, enhet, viewer.user.username)
    except BookingError as error:
        return back(viewer, error=True, message=str(error))
    viewer.log("booking", target=f"tillfälle {tillfalle}", detail=f"{municipality} {enhet}: {made.status}")
    return back(viewer, "Bokad." if made.status == Status.BOOKED
                else "Tillfället är fullt: enheten står på väntelistan.")


@router.post("/kompetens/avboka")
def cancel(viewer: Signed, csrf: Annotated[str, Form()], bokning: FormInteger):
    viewer.check_csrf(csrf)
    found = [b for b in _visible_bookings(viewer) if b.id == bokning]
    user = viewer.user
    may = found and (viewer.scope.books_for(found[0].municipality, found[0].unit)
                     or (user.role == Role.CASEWORKER and found[0].staff_id == user.staff_id))
    viewer.scope.require(bool(may), "att avboka den bokningen")
    try:
        promoted = bookings.cancel(viewer.con, bokning, user.username)
    except BookingError as error:
        return back(viewer, error=True, message=str(error))
    viewer.log("booking_cancel", target=f"bokning {bokning}",
               detail=f"platsen gick till bokning {promoted.id}" if promoted else "")
    return back(viewer, "Avbokad." + (" Platsen gick till den första på väntelistan." if promoted else ""))


@router.post("/kompetens/tillfallen")
def create(request: Request, viewer: Signed, csrf: Annotated[str, Form()], kurs: Annotated[str, Form()],
           titel: Annotated[str, Form()], typ: Annotated[str, Form()], datum: Annotated[str, Form()],
           tid: Annotated[str, Form()], plats: Annotated[str, Form()],
           kapacitet: Annotated[int, Form(le=LARGEST_INTEGER)],
           kommun: Annotated[str, Form()] = ""):
    viewer.check_csrf(csrf)
    viewer.scope.require(viewer.scope.plans_sessions, "att lägga upp utbildningstillfällen")
    courses = {c["course"]: c for c in request.app.state.statistics.snapshot().courses.to_dict("records")}
    if kurs not in courses:
        return back(viewer, error=True, message=f"Kursen {kurs} finns inte bland de importerade kurserna.")
    if kommun and kommun not in dict(municipalities_in_data(request)):
        return back(viewer, error=True, message="Tillfället skapades inte: kommunen finns inte bland kommunerna med "
                                                "personal i underlaget.")
    try:
        starts = dt.datetime.fromisoformat(f"{datum}T{tid}")
        made = bookings.create_session(
            viewer.con, course=kurs, course_name=courses[kurs]["name"], programme=courses[kurs]["programme"],
            title=titel, kind=typ, starts=starts, place=plats, capacity=kapacitet, municipality=kommun or None,
            created_by=viewer.user.username)
    except (BookingError, ValueError) as error:
        return back(viewer, error=True, message=f"Tillfället skapades inte: {error}")
    viewer.log("session_create", target=f"tillfälle {made.id}", detail=f"{made.title} {_when(made.starts)}")
    return back(viewer, f"Tillfället {made.title} är upplagt.")


def _plans_sessions(viewer: Signed) -> None:
    """403 (logged) before a form's fields are read: a wrong role with a broken form is still 403."""
    viewer.scope.require(viewer.scope.plans_sessions, "att ställa in utbildningstillfällen")


def _imports_names(viewer: Signed) -> None:
    viewer.scope.require(viewer.scope.imports_names, "att läsa in en namnlista")


def _own_notices(viewer: Signed) -> None:
    user = viewer.user
    viewer.scope.require(user.role == Role.CASEWORKER and bool(user.staff_id), "egna meddelanden")


@router.post("/kompetens/installa", dependencies=[Depends(_plans_sessions)])
def cancel_session(viewer: Signed, csrf: Annotated[str, Form()], tillfalle: FormInteger,
                   orsak: Annotated[str, Form(max_length=500)] = ""):
    """A planner cancels a whole session; everyone booked is told on their Mitt arbete page."""
    viewer.check_csrf(csrf)
    try:
        target = bookings.session(viewer.con, tillfalle).session
        told = bookings.cancel_session(viewer.con, tillfalle, viewer.user.username, orsak)
    except BookingError as error:
        return back(viewer, error=True, message=f"Tillfället ställdes inte in: {error}")
    affected = count_of(len(told), "bokning", "bokningar")
    viewer.log("session_cancel", target=f"tillfälle {tillfalle}", detail=f"{target.title} {_when(target.starts)}: "
                                                                          f"{affected}")
    return back(viewer, f"Tillfället {target.title} den {target.starts:%Y-%m-%d} är inställt. {affected} berörs; "
                        "de bokade ser det på sin sida Mitt arbete.")


@router.post("/kompetens/namnlista", dependencies=[Depends(_imports_names)])
def import_names(request: Request, viewer: Signed, fil: UploadFile, csrf: Annotated[str, Form()],
                 kommun: Annotated[str, Form()] = ""):
    """An administrator replaces a municipality's name list; a unit manager the names of their
    own units' staff. The file is read from a temporary folder removed at once."""
    viewer.check_csrf(csrf)
    user = viewer.user
    municipality = kommun if user.role == Role.ADMINISTRATOR else user.own_municipality
    if municipality not in dict(municipalities_in_data(request)):
        return back(viewer, error=True, message="Välj en kommun med personal i underlaget.")
    shown_name = Path(fil.filename or "").name or "namnlista"
    try:
        with tempfile.TemporaryDirectory(dir=request.app.state.settings.data_dir) as folder:
            path = Path(folder) / f"namnlista{Path(shown_name).suffix.lower()}"
            path.write_bytes(fil.file.read())
            rows = names.read_name_list(path, shown_name)
        count = names.replace_names(viewer.con, municipality, rows, staff_units(request, municipality),
                                    None if user.role == Role.ADMINISTRATOR else user.units, user.username,
                                    shown_name)
    except InputError as error:
        return back(viewer, error=True, message=f"Namnlistan lästes inte in: {error}")
    units = "" if user.role == Role.ADMINISTRATOR else f", enheterna {', '.join(user.units)}"
    viewer.log("names_import", target=f"namnlista {municipality}", detail=f"{count} namn{units}")
    return back(viewer, f"Namnlistan är inläst: {count} namn.")


@dataclass(frozen=True)
class OwnTrainings:
    """A caseworker's notices of cancelled sessions and their own bookings still to come."""

    notices: list[bookings.CancelledNotice]
    booked: list[tuple[bookings.TrainingSession, bookings.Booking]]


def own_trainings(request: Request, viewer: Viewer) -> OwnTrainings:
    """What the section "Mina utbildningar" of Mitt arbete shows (template mina_utbildningar.html.j2)."""
    user = viewer.user
    viewer.scope.require(user.role == Role.CASEWORKER and bool(user.staff_id), "egna utbildningar")
    municipality, staff_id = user.own_municipality, user.staff_id or ""
    units = staff_units(request, municipality).get(staff_id, set())
    now = dt.datetime.now()
    booked = [(bookings.session(viewer.con, b.session_id).session, b)
              for b in bookings.bookings(viewer.con, municipality=municipality, staff_id=staff_id)]
    return OwnTrainings(bookings.notices_for(viewer.con, municipality, staff_id, units, now),
                        [(s, b) for s, b in booked if s.starts > now])


@router.post("/mitt-arbete/meddelanden/dolj", dependencies=[Depends(_own_notices)])
def dismiss_notice(viewer: Signed, csrf: Annotated[str, Form()], tillfalle: FormInteger):
    viewer.check_csrf(csrf)
    user = viewer.user
    bookings.dismiss_notice(viewer.con, tillfalle, user.own_municipality, user.staff_id or "")
    viewer.log("notice_dismiss", target=f"tillfälle {tillfalle}")
    return RedirectResponse("/mitt-arbete", status_code=303)


@router.post("/kompetens/narvaro")
async def attendance(request: Request, viewer: Signed):
    from insyn.workflows import run_import

    form = await request.form()
    viewer.check_csrf(_form_text(form, "csrf"))
    viewer.scope.require(viewer.scope.plans_sessions, "att registrera närvaro")
    session_id = _form_session(form)
    present = _form_ids(form, "narvarande")
    try:
        bookings.record_attendance(viewer.con, session_id, present, viewer.user.username,
                                   municipality=_form_text(form, "kommun"), unit=_form_text(form, "enhet"))
    except BookingError as error:
        return back(viewer, error=True, message=str(error))
    rows = bookings.completions(viewer.con, session_id)
    settings = request.app.state.settings
    path = settings.data_dir / ATTENDANCE_FOLDER / f"tillfalle-{session_id}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=[c.name for c in TRAININGS.columns])
        writer.writeheader()
        writer.writerows(rows)
    if rows:  # in a worker thread: the import protects the published view, and other readers go on meanwhile
        await run_in_threadpool(run_import, settings, [path], table=TRAININGS.name)
        await run_in_threadpool(request.app.state.statistics.refresh)
    viewer.log("attendance", target=f"tillfälle {session_id}", detail=f"{len(present)} närvarande")
    return back(viewer, f"Närvaron är registrerad: {len(rows)} genomförda utbildningar räknas in i "
                        "utbildningstäckningen.")
