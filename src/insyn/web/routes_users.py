"""Användare: the administrator creates users, changes their role and scope, deactivates and
reactivates them and sets new passwords. The rules are insyn.web.accounts' — those of `insyn users
add` — with the units and staff ids of the imported data (insyn.workforce.organisation, read with
the statistics' snapshot). Every route is the administrator's only, and every change is audited.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from insyn.errors import NoData, user_message
from insyn.model.municipalities import municipality_codes, municipality_names
from insyn.publish.cells import MISSING
from insyn.swedish import swedish_sort_key
from insyn.web import flash, pages
from insyn.web.accounts import (
    MIN_PASSWORD_LENGTH,
    MUNICIPAL_ROLES,
    ROLE_LABELS,
    AccountError,
    Role,
    User,
    add_user,
    any_user,
    change_user,
    deactivate_user,
    generated_password,
    list_users,
    reactivate_user,
    set_password,
)
from insyn.web.deps import Signed, Viewer, render
from insyn.web.pages import Page, Section
from insyn.web.registry import MenuPage, PageRouter
from insyn.web.tables import Table
from insyn.workforce.organisation import Organisation

USERS = MenuPage("/anvandare", "Användare", {Role.ADMINISTRATOR}, "användarna")
STATUS_LABELS = {True: "aktiv", False: "inaktiverad"}
Text = Annotated[str, Form()]

router = PageRouter()


def _administrator(viewer: Signed) -> None:
    """403 (logged) for every other role, before a form's fields are even looked at."""
    USERS.require(viewer)


ADMINISTRATOR_ONLY = [Depends(_administrator)]


def _organisations(request: Request) -> dict[str, Organisation]:
    """The data's municipalities with their units and staff ids; none before anything is imported
    (users can be made before the data come)."""
    try:
        return request.app.state.statistics.snapshot().organisations
    except NoData:
        return {}


def _known(request: Request, municipality: str | None) -> Organisation | None:
    return _organisations(request).get(municipality, Organisation(municipality)) if municipality else None


def _municipality_groups(request: Request) -> list[tuple[str, list[tuple[str, str]]]]:
    """The municipalities to choose from: those of the data first, then every other."""
    names = municipality_names()
    in_data = set(_organisations(request)) & set(names)

    def named(codes: set[str]) -> list[tuple[str, str]]:
        return sorted(((c, names[c]) for c in codes), key=lambda option: swedish_sort_key(option[1]))

    return [("Kommuner i underlaget", named(in_data)), ("Övriga kommuner", named(set(names) - in_data))]


def _chosen_municipality(request: Request, default: str | None) -> str:
    """The municipality the form is for (?kommun=, empty for none), the user's own by default."""
    chosen = request.query_params.get("kommun", default or "")
    if chosen and chosen not in municipality_codes():
        raise pages.NotFound("Kommunen finns inte.")
    return chosen


def _scope_form(request: Request, municipality: str) -> dict:
    """What the fields of a user's role and scope offer for the municipality (or none)."""
    known = _known(request, municipality)
    return {"municipality": municipality, "municipality_name": municipality_names().get(municipality, ""),
            "groups": _municipality_groups(request),
            "roles": [(r.value, ROLE_LABELS[r]) for r in Role if (r in MUNICIPAL_ROLES) == bool(municipality)],
            "units": known.units if known else (),
            "staff_ids": sorted(known.staff_ids) if known else [], "min_password": MIN_PASSWORD_LENGTH}


def _scope_text(user: User) -> str:
    """A user's role and scope, for the audit log."""
    parts = [user.role_label, user.municipality or "alla kommuner"]
    if user.units:
        parts.append("enheter: " + ", ".join(user.units))
    if user.staff_id:
        parts.append(f"personal-id {user.staff_id}")
    return ", ".join(parts)


def users_page(request: Request, viewer: Viewer) -> Page:
    users = list_users(viewer.con, include_inactive=True)
    names = municipality_names()
    rows = [[u.username, u.display_name, u.role_label,
             names.get(u.municipality, u.municipality) if u.municipality else MISSING,
             ", ".join(u.units) or MISSING, u.staff_id or MISSING, STATUS_LABELS[u.active]] for u in users]
    return Page(
        "Användare",
        "Vem som kan logga in, med vilken roll och för vilken kommun, vilka enheter eller vilket personal-id. "
        "Välj ett användarnamn för att ändra roll och behörighet, sätta nytt lösenord eller inaktivera. En "
        "inaktiverad användare kan inte logga in, men namnet finns kvar i loggen. Varje ändring loggas.",
        sections=[Section("Användare", "anvandare", tables=[Table(
            "anvandare", "Användare", ["Användarnamn", "Namn", "Roll", "Kommun", "Enheter", "Personal-id", "Status"],
            rows)])],
        forms={"notice": flash.take(viewer.con, viewer.user.username, request.query_params.get("besked")),
               "users": users, "new": _scope_form(request, _chosen_municipality(request, None))})


router.table_page(USERS, build=users_page, template="anvandare_body.html.j2")


def _user_named(viewer: Viewer, username: str) -> User:
    """The user of the address; 404 naming nothing from it when there is none."""
    try:
        return any_user(viewer.con, username)
    except AccountError:
        raise pages.NotFound("Användaren finns inte.") from None


def _back(viewer: Viewer, path: str, message: str, error: bool = False, municipality: str = "",
          anchor: str = "") -> RedirectResponse:
    """To the page of the form, for the municipality the form was for (a known one only), with the
    message and at the form's `anchor`."""
    token = flash.leave(viewer.con, viewer.user.username, user_message(message), error)
    chosen = f"kommun={municipality}&" if municipality in municipality_codes() else ""
    return RedirectResponse(f"{path}?{chosen}besked={token}{'#' + anchor if anchor else ''}", status_code=303)


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise AccountError("Välj en roll.") from None


def _shown_once(request: Request, viewer: Viewer, user: User, password: str, done: str) -> HTMLResponse:
    """The generated password, on this response only: it is stored nowhere but as its hash."""
    return render(request, "anvandare_losenord.html.j2", viewer, page=Page(f"Lösenord för {user.username}"),
                  user=user, password=password, done=done)


@router.get("/anvandare/{username}", response_class=HTMLResponse, dependencies=ADMINISTRATOR_ONLY)
def user_page(request: Request, viewer: Signed, username: str):
    user = _user_named(viewer, username)
    return render(request, "anvandare_andra.html.j2", viewer, page=Page(f"Användaren {user.username}"),
                  user=user, status=STATUS_LABELS[user.active],
                  municipality_name=municipality_names().get(user.municipality or "", ""),
                  form=_scope_form(request, _chosen_municipality(request, user.municipality)),
                  notice=flash.take(viewer.con, viewer.user.username, request.query_params.get("besked")))


@router.post("/anvandare", dependencies=ADMINISTRATOR_ONLY)
def create(request: Request, viewer: Signed, csrf: Text, anvandarnamn: Text, roll: Text,
           namn: Text = "", kommun: Text = "", personal_id: Text = "",
           losenord: Text = "", enhet: Annotated[list[str] | None, Form()] = None):
    viewer.check_csrf(csrf)
    password = losenord or generated_password()
    try:
        made = add_user(viewer.con, anvandarnamn, password, _role(roll), display_name=namn.strip() or None,
                        municipality=kommun or None, units=tuple(enhet or ()), staff_id=personal_id.strip() or None,
                        known=_known(request, kommun or None))
    except AccountError as error:
        return _back(viewer, "/anvandare", f"Användaren skapades inte: {error}", True, kommun, "ny")
    viewer.log("user_create", target=made.username, detail=_scope_text(made))
    if not losenord:
        return _shown_once(request, viewer, made, password, f"Användaren {made.username} är skapad.")
    return _back(viewer, "/anvandare", f"Användaren {made.username} är skapad.", municipality=kommun, anchor="ny")


@router.post("/anvandare/{username}/andra", dependencies=ADMINISTRATOR_ONLY)
def change(request: Request, viewer: Signed, username: str, csrf: Text, roll: Text, namn: Text = "",
           kommun: Text = "", personal_id: Text = "",
           enhet: Annotated[list[str] | None, Form()] = None):
    viewer.check_csrf(csrf)
    user = _user_named(viewer, username)
    try:
        changed = change_user(viewer.con, user.username, _role(roll), display_name=namn,
                              municipality=kommun or None, units=tuple(enhet or ()),
                              staff_id=personal_id.strip() or None, known=_known(request, kommun or None))
    except AccountError as error:
        return _back(viewer, f"/anvandare/{user.username}", f"Ändringen sparades inte: {error}", True, kommun,
                     "andra")
    viewer.log("user_change", target=user.username, detail=f"{_scope_text(user)} → {_scope_text(changed)}")
    return _back(viewer, f"/anvandare/{user.username}", f"Ändringen av {user.username} är sparad.")


@router.post("/anvandare/{username}/inaktivera", dependencies=ADMINISTRATOR_ONLY)
def deactivate(viewer: Signed, username: str, csrf: Text):
    viewer.check_csrf(csrf)
    user = _user_named(viewer, username)
    try:
        deactivate_user(viewer.con, user.username, by=viewer.user.username)
    except AccountError as error:
        return _back(viewer, f"/anvandare/{user.username}", str(error), error=True)
    viewer.log("user_deactivate", target=user.username)
    return _back(viewer, f"/anvandare/{user.username}",
                 f"{user.username} är inaktiverad: kan inte logga in, och är utloggad överallt.")


@router.post("/anvandare/{username}/aktivera", dependencies=ADMINISTRATOR_ONLY)
def reactivate(viewer: Signed, username: str, csrf: Text):
    viewer.check_csrf(csrf)
    user = _user_named(viewer, username)
    reactivate_user(viewer.con, user.username)
    viewer.log("user_reactivate", target=user.username)
    return _back(viewer, f"/anvandare/{user.username}", f"{user.username} kan logga in igen.")


@router.post("/anvandare/{username}/losenord", dependencies=ADMINISTRATOR_ONLY)
def new_password(request: Request, viewer: Signed, username: str, csrf: Text, losenord: Text = ""):
    viewer.check_csrf(csrf)
    user = _user_named(viewer, username)
    password = losenord or generated_password()
    try:
        set_password(viewer.con, user.username, password)
    except AccountError as error:
        return _back(viewer, f"/anvandare/{user.username}", str(error), error=True)
    viewer.log("user_password", target=user.username, detail="satt av administratören" if losenord else "genererat")
    done = f"{user.username} har fått ett nytt lösenord och är utloggad överallt."
    return _back(viewer, f"/anvandare/{user.username}", done) if losenord else _shown_once(
        request, viewer, user, password, done)
