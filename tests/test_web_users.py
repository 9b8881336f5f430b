"""The Användare page (insyn.web.routes_users) through the real app: an administrator creates,
changes, deactivates and reactivates users and sets passwords, with the units and staff ids of
the data only; every other role gets 403 on every route, and a form without its token changes
nothing. On a copy of the test data folder (tests/webapp.py), since the users change."""

from __future__ import annotations

import html
import re

import pytest
from webapp import (
    OWN,
    PASSWORD,
    app_state,
    audit_since,
    client,
    copy_data_folder,
    hidden_field,
    last_audit_id,
    logged_in,
    login,
    tables_of,
)

from insyn.swedish import swedish_sort_key
from insyn.web.accounts import Role, find_user
from insyn.web.app import create_app
from insyn.workflows import store_for
from insyn.workforce.organisation import organisations

pytest_plugins = ["webapp"]
NEW_PASSWORD = "ett-nytt-långt-lösenord"


@pytest.fixture(scope="module")
def folder(web_data, web_users, tmp_path_factory):
    return copy_data_folder(web_data, tmp_path_factory.mktemp("anvandare") / "data")


@pytest.fixture(scope="module")
def app(folder):
    return create_app(folder.settings)


@pytest.fixture(scope="module")
def admin(app):
    browser = logged_in(app, "admin")
    yield browser
    browser.close()


def _vimmerby(folder) -> tuple[list[str], list[str]]:
    """Vimmerby's units (in Swedish order) and staff ids, from the generated export files."""
    staff, events = folder.tables["staff"], folder.tables["events"]
    units = {*staff[staff.municipality == OWN].unit, *events[events.municipality == OWN].unit.dropna()}
    return sorted(units, key=swedish_sort_key), sorted(set(staff[staff.municipality == OWN].staff_id))


def _csrf(browser, path: str = "/anvandare") -> str:
    return hidden_field(browser.get(path).text, "csrf")


def _notice(browser, response) -> str:
    """The one-time message on the page the form's answer sends the browser to."""
    assert response.status_code == 303, response.text
    page = browser.get(response.headers["location"])
    found = re.search(r'<p class="(?:ok|error)" role="(?:status|alert)">(.*?)</p>', page.text, re.S)
    assert found, page.text
    return html.unescape(found.group(1))


def _create(admin, **fields):
    return admin.post("/anvandare", data={"csrf": _csrf(admin), **fields})


def test_organisations_are_the_units_and_staff_ids_of_the_imported_files(folder):
    staff, events = folder.tables["staff"], folder.tables["events"]
    store = store_for(folder.settings, read_only=True)
    try:
        found = organisations(store)
    finally:
        store.close()
    assert set(found) == set(staff.municipality) | set(events.municipality)
    for code, organisation in found.items():
        assert set(organisation.units) == ({*staff[staff.municipality == code].unit,
                                            *events[events.municipality == code].unit.dropna()})
        assert organisation.staff_ids == ({*staff[staff.municipality == code].staff_id,
                                           *events[events.municipality == code].caseworker_id.dropna()})


def test_the_form_offers_the_chosen_municipalitys_units_and_staff_ids(admin, folder):
    units, staff_ids = _vimmerby(folder)
    page = admin.get(f"/anvandare?kommun={OWN}").text
    assert re.findall(r'name="enhet" value="([^"]+)"', page) == units
    assert re.findall(r'<option value="(0884-[^"]+)">', page) == staff_ids
    assert re.findall(r'<select id="ny-roll" name="roll">(.*?)</select>', page, re.S)[0].count("<option") == 3
    without = admin.get("/anvandare").text  # no municipality: administrator or analyst, no units
    assert 'name="enhet"' not in without
    assert re.findall(r'id="ny-roll" name="roll">(.*?)</select>', without, re.S)[0].count("<option") == 2
    assert admin.get("/anvandare?kommun=9999").status_code == 404


def test_an_administrator_makes_a_unit_manager_who_can_log_in(app, admin, folder):
    units, _ = _vimmerby(folder)
    before = last_audit_id(folder.data_dir)
    answer = _create(admin, anvandarnamn="Chef.Test", namn="Cecilia Chef", roll="enhetschef", kommun=OWN,
                     enhet=units[:2], losenord=PASSWORD)
    assert _notice(admin, answer) == "Användaren chef.test är skapad."
    rows = {row[0]: row for row in tables_of(admin.get("/anvandare").text)["anvandare"][1:]}
    assert rows["chef.test"] == ["chef.test", "Cecilia Chef", "Enhetschef", "Vimmerby", ", ".join(units[:2]), "–",
                                 "aktiv"]
    assert 'href="/anvandare/chef.test"' in admin.get("/anvandare").text  # the name leads to the user's page
    [entry] = audit_since(folder.data_dir, before, action="user_create")
    assert (entry.username, entry.target) == ("admin", "chef.test")
    assert entry.detail == f"Enhetschef, {OWN}, enheter: {', '.join(units[:2])}"
    new = logged_in(app, "chef.test")
    assert new.get("/personal/handlaggare").status_code == 200
    new.close()


def test_a_unit_or_staff_id_not_in_the_data_is_refused_in_swedish(admin, folder):
    units, staff_ids = _vimmerby(folder)
    answer = _create(admin, anvandarnamn="fel.enhet", roll="enhetschef", kommun=OWN,
                     enhet=[units[0], "Påhittad enhet"], losenord=PASSWORD)
    assert answer.headers["location"].startswith(f"/anvandare?kommun={OWN}&besked=")  # the form as it was
    assert _notice(admin, answer) == ("Användaren skapades inte: Enheten Påhittad enhet finns inte i underlaget "
                                      f"för Vimmerby (enheter: {', '.join(units)}).")
    answer = _create(admin, anvandarnamn="fel.id", roll="handlaggare", kommun=OWN, personal_id="0884-X0000",
                     losenord=PASSWORD)
    assert _notice(admin, answer) == ("Användaren skapades inte: Personal-id 0884-X0000 finns inte i underlaget för "
                                      "Vimmerby.")
    answer = _create(admin, anvandarnamn="kort", roll="kommun", kommun=OWN, losenord="kort")
    assert _notice(admin, answer) == "Användaren skapades inte: Lösenordet måste ha minst 10 tecken."
    users = [row[0] for row in tables_of(admin.get("/anvandare").text)["anvandare"][1:]]
    assert not {"fel.enhet", "fel.id", "kort"} & set(users)


def test_a_generated_password_is_shown_once_and_opens_the_account(app, admin, folder):
    _, staff_ids = _vimmerby(folder)
    answer = _create(admin, anvandarnamn="ny.handlaggare", roll="handlaggare", kommun=OWN, personal_id=staff_ids[-1])
    assert answer.status_code == 200 and "Användaren ny.handlaggare är skapad." in answer.text
    password = re.search(r'id="losenord-visat"><code>([^<]+)</code>', answer.text).group(1)
    assert password not in admin.get("/anvandare").text
    new = logged_in(app, "ny.handlaggare", password)
    assert new.get("/mitt-arbete").status_code == 200
    new.close()


def test_a_change_of_role_and_scope_is_checked_saved_and_logged(app, admin, folder):
    units, staff_ids = _vimmerby(folder)
    _create(admin, anvandarnamn="byter.roll", roll="enhetschef", kommun=OWN, enhet=units[:1], losenord=PASSWORD)
    page = admin.get("/anvandare/byter.roll").text
    assert re.findall(r'name="enhet" value="([^"]+)" checked', page) == units[:1]
    csrf = hidden_field(page, "csrf")
    refused = admin.post("/anvandare/byter.roll/andra", data={
        "csrf": csrf, "namn": "Bo Byter", "roll": "handlaggare", "kommun": OWN, "personal_id": "nej"})
    assert _notice(admin, refused) == "Ändringen sparades inte: Personal-id nej finns inte i underlaget för Vimmerby."
    before = last_audit_id(folder.data_dir)
    saved = admin.post("/anvandare/byter.roll/andra", data={
        "csrf": csrf, "namn": "Bo Byter", "roll": "handlaggare", "kommun": OWN, "personal_id": staff_ids[0]})
    assert _notice(admin, saved) == "Ändringen av byter.roll är sparad."
    row = next(r for r in tables_of(admin.get("/anvandare").text)["anvandare"] if r[0] == "byter.roll")
    assert row[1:7] == ["Bo Byter", "Handläggare", "Vimmerby", "–", staff_ids[0], "aktiv"]
    [entry] = audit_since(folder.data_dir, before, action="user_change")
    assert entry.detail == f"Enhetschef, {OWN}, enheter: {units[0]} → Handläggare, {OWN}, personal-id {staff_ids[0]}"


def test_a_deactivated_user_is_logged_out_and_cannot_log_in_until_reactivated(app, admin, folder):
    _create(admin, anvandarnamn="gar.bort", roll="kommun", kommun=OWN, losenord=PASSWORD)
    theirs = logged_in(app, "gar.bort")
    csrf = _csrf(admin, "/anvandare/gar.bort")
    answer = admin.post("/anvandare/gar.bort/inaktivera", data={"csrf": csrf})
    assert _notice(admin, answer) == "gar.bort är inaktiverad: kan inte logga in, och är utloggad överallt."
    assert theirs.get("/oversikt").status_code == 303, "their session has ended"
    assert login(client(app), "gar.bort").status_code == 401
    row = next(r for r in tables_of(admin.get("/anvandare").text)["anvandare"] if r[0] == "gar.bort")
    assert row[6] == "inaktiverad"
    answer = admin.post("/anvandare/gar.bort/aktivera", data={"csrf": csrf})
    assert _notice(admin, answer) == "gar.bort kan logga in igen."
    assert login(client(app), "gar.bort").status_code == 303
    actions = [e.action for e in audit_since(folder.data_dir, 0, username="admin")]
    assert {"user_deactivate", "user_reactivate"} <= set(actions)
    theirs.close()


def test_an_administrator_cannot_deactivate_themselves(admin):
    answer = admin.post("/anvandare/admin/inaktivera", data={"csrf": _csrf(admin, "/anvandare/admin")})
    assert _notice(admin, answer) == "Du kan inte inaktivera dig själv."
    assert admin.get("/anvandare").status_code == 200


def test_a_new_password_set_or_generated_ends_the_users_sessions(app, admin, folder):
    _create(admin, anvandarnamn="glomsk", roll="analytiker", losenord=PASSWORD)
    theirs = logged_in(app, "glomsk")
    csrf = _csrf(admin, "/anvandare/glomsk")
    answer = admin.post("/anvandare/glomsk/losenord", data={"csrf": csrf, "losenord": NEW_PASSWORD})
    assert _notice(admin, answer) == "glomsk har fått ett nytt lösenord och är utloggad överallt."
    assert theirs.get("/oversikt").status_code == 303
    assert login(client(app), "glomsk").status_code == 401
    logged_in(app, "glomsk", NEW_PASSWORD).close()
    shown = admin.post("/anvandare/glomsk/losenord", data={"csrf": csrf})
    password = re.search(r'id="losenord-visat"><code>([^<]+)</code>', shown.text).group(1)
    logged_in(app, "glomsk", password).close()
    details = [e.detail for e in audit_since(folder.data_dir, 0, action="user_password")]
    assert details[:2] == ["genererat", "satt av administratören"]
    assert not any(NEW_PASSWORD in e.detail or password in e.detail for e in audit_since(folder.data_dir, 0))
    theirs.close()


def test_an_unknown_user_is_not_found_without_echoing_the_address(admin):
    answer = admin.get("/anvandare/ingen.sadan")
    assert answer.status_code == 404 and "Användaren finns inte." in answer.text and "ingen.sadan" not in answer.text
    answer = admin.post("/anvandare/ingen.sadan/aktivera", data={"csrf": _csrf(admin)})
    assert answer.status_code == 404


ROUTES = [("GET", "/anvandare"), ("GET", f"/anvandare?kommun={OWN}"), ("GET", "/anvandare/tabell/anvandare.csv"),
          ("GET", "/anvandare/admin"), ("POST", "/anvandare"), ("POST", "/anvandare/admin/andra"),
          ("POST", "/anvandare/admin/inaktivera"), ("POST", "/anvandare/admin/aktivera"),
          ("POST", "/anvandare/admin/losenord")]


@pytest.mark.parametrize("role", [r for r in Role if r != Role.ADMINISTRATOR])
def test_every_other_role_gets_403_on_every_route(app, folder, web_users, role):
    browser = logged_in(app, web_users[role].username)
    csrf = hidden_field(browser.get("/kompetens").text, "csrf")  # their own valid token
    before = last_audit_id(folder.data_dir)
    for method, url in ROUTES:
        form = {"csrf": csrf, "anvandarnamn": "intrang", "roll": "administrator", "losenord": PASSWORD}
        answer = browser.request(method, url, data=form if method == "POST" else None)
        assert answer.status_code == 403, (role, method, url)
        assert "Ingen åtkomst" in answer.text
    assert len(audit_since(folder.data_dir, before, action="denied")) == len(ROUTES)
    with app_state(folder.data_dir) as con:
        assert find_user(con, "intrang") is None and find_user(con, "admin").role == Role.ADMINISTRATOR
    browser.close()


@pytest.mark.parametrize(("method", "url"), [r for r in ROUTES if r[0] == "POST"])
def test_a_form_without_its_token_changes_nothing(admin, folder, method, url):
    before = last_audit_id(folder.data_dir)
    for token in ("fel", None):
        form = {"anvandarnamn": "utan.token", "roll": "analytiker", "losenord": NEW_PASSWORD}
        answer = admin.post(url, data=form if token is None else {**form, "csrf": token})
        assert answer.status_code == 403 and "Formuläret kunde inte skickas" in answer.text
    assert {e.action for e in audit_since(folder.data_dir, before)} == {"denied"}  # the refusals, no change
    assert admin.get("/anvandare").status_code == 200, "the administrator's password and session are as they were"
    with app_state(folder.data_dir) as con:
        assert find_user(con, "utan.token") is None and find_user(con, "admin").active
