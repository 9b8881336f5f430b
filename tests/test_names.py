"""The local name list (insyn.web.names): read, replaced within the importer's scope, shown only to
the person and their own unit manager, and never written to the store, a download, an extract,
the audit log or a log file."""

from __future__ import annotations

import datetime as dt
import io
import sqlite3
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner
from webapp import (
    OWN,
    UserSpec,
    add_users,
    app_state,
    audit_since,
    copy_data_folder,
    hidden_field,
    last_audit_id,
    logged_in,
)

from insyn.cli import app as cli
from insyn.web import bookings, names
from insyn.web.accounts import Role, User
from insyn.web.app import create_app
from insyn.web.appstate import APP_STATE_FILE, open_app_state
from insyn.web.data import current_staff
from insyn.web.names import NameListError, NameRow
from insyn.web.scope import Scope
from insyn.workflows import store_for

pytest_plugins = ["webapp"]


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def user(role: Role, municipality: str | None = "0884", units: tuple[str, ...] = (), staff_id: str | None = None):
    return Scope(User("u", "U", role, municipality, units, staff_id))


@pytest.fixture
def con(tmp_path):
    c = open_app_state(tmp_path)
    yield c
    c.close()


# --- the library -------------------------------------------------------------------------------

def test_a_name_list_is_read_from_csv_or_xlsx(tmp_path):
    csv_path = write_csv(tmp_path / "namn.csv", "Personal-ID;Namn\nS1; Anna  Berg \n\nS2;Olle Ek\n")
    expected = [NameRow(2, "S1", "Anna Berg"), NameRow(4, "S2", "Olle Ek")]
    assert names.read_name_list(csv_path) == expected
    book = openpyxl.Workbook()
    book.active.append(["personal-id", "namn"])
    book.active.append(["S1", "Anna Berg"])
    book.active.append(["S2", "Olle Ek"])
    book.save(tmp_path / "namn.xlsx")
    assert names.read_name_list(tmp_path / "namn.xlsx") == [NameRow(2, "S1", "Anna Berg"), NameRow(3, "S2", "Olle Ek")]


@pytest.mark.parametrize(("text", "message"), [
    ("personal-id;förnamn\nS1;Anna\n", "lista.csv: kolumnen 'namn' saknas"),
    ("personal-id;namn\nS1;Anna\n;Olle\n", "lista.csv, rad 3, kolumn 'personal-id': personal-id saknas"),
    ("personal-id;namn\nS1;Anna\nS2; \n", "lista.csv, rad 3, kolumn 'namn': namnet saknas"),
    ("personal-id;namn\nS1;Anna\nS2;Olle\nS1;Eva\n",
     "lista.csv, rad 4, kolumn 'personal-id': personal-id S1 finns redan på rad 2"),
    ("personal-id;namn\nS1;" + "A" * 201 + "\n", "rad 2, kolumn 'namn': namnet är längre än 200 tecken"),
    ("personal-id;namn\n", "lista.csv: filen har inga rader med namn"),
])
def test_a_bad_name_list_names_file_row_and_column_and_never_a_name(tmp_path, text, message):
    with pytest.raises(NameListError, match=message) as raised:
        names.read_name_list(write_csv(tmp_path / "upload-1234.csv", text), "lista.csv")
    assert "Anna" not in str(raised.value) and "Eva" not in str(raised.value)


STAFF = {"S1": {"Barn och unga"}, "S2": {"Barn och unga", "Vuxen"}, "S3": {"Vuxen"}, "S4": {"Familjerätt"}}


def stored(con: sqlite3.Connection) -> dict[tuple[str, str], str]:
    return {(r["municipality"], r["staff_id"]): r["name"] for r in con.execute("SELECT * FROM staff_names")}


def test_an_import_replaces_the_names_of_the_staff_it_covers(con):
    rows = [NameRow(2, "S1", "Anna Berg"), NameRow(3, "S3", "Sara Ek"), NameRow(4, "S4", "Per Al")]
    assert names.replace_names(con, "0884", rows, STAFF, None, "admin", "alla.csv") == 3
    names.replace_names(con, "0780", [NameRow(2, "S1", "Annan Kommun")], {"S1": {"X"}}, None, "admin", "v.csv")

    # A unit manager of Vuxen replaces the names of S2 and S3 (S3 dropped), nobody else's.
    assert names.replace_names(con, "0884", [NameRow(2, "S2", "Bo Ås")], STAFF, ["Vuxen"], "chef", "v.csv") == 1
    assert stored(con) == {("0884", "S1"): "Anna Berg", ("0884", "S2"): "Bo Ås", ("0884", "S4"): "Per Al",
                           ("0780", "S1"): "Annan Kommun"}
    for rows, message in (([NameRow(2, "S2", "Bo"), NameRow(3, "S4", "Per")],
                           "v.csv, rad 3, kolumn 'personal-id': personal-id S4 hör inte till dina enheter"),
                          ([NameRow(2, "S9", "Nils")], "rad 2, kolumn 'personal-id': personal-id S9 finns inte "
                                                       "bland kommunens personal i underlaget")):
        with pytest.raises(NameListError, match=message):
            names.replace_names(con, "0884", rows, STAFF, ["Vuxen"], "chef", "v.csv")
    assert stored(con)[("0884", "S2")] == "Bo Ås"  # all or nothing
    # An administrator's list replaces the municipality's whole list.
    names.replace_names(con, "0884", [NameRow(2, "S3", "Sara Ek")], STAFF, None, "admin", "alla.csv")
    assert stored(con) == {("0884", "S3"): "Sara Ek", ("0780", "S1"): "Annan Kommun"}


def test_a_name_is_shown_only_to_the_person_and_their_own_unit_manager(con):
    names.replace_names(con, "0884", [NameRow(2, "S1", "Anna Berg"), NameRow(3, "S2", "Bo Ås")], STAFF, None,
                        "admin", "alla.csv")
    people = [("0884", "Barn och unga", "S1"), ("0884", "Barn och unga", "S2"), ("0884", "Vuxen", "S2"),
              ("0884", "Vuxen", "S3")]
    manager = user(Role.UNIT_MANAGER, units=("Vuxen",))
    assert names.shown_names(con, manager, people) == {("0884", "S2"): "Bo Ås"}  # S3 has no name
    assert names.shown_names(con, user(Role.UNIT_MANAGER, units=("Barn och unga",)), people) == {
        ("0884", "S1"): "Anna Berg", ("0884", "S2"): "Bo Ås"}
    assert names.shown_names(con, user(Role.CASEWORKER, staff_id="S1"), people) == {("0884", "S1"): "Anna Berg"}
    for nobody in (user(Role.ADMINISTRATOR, None), user(Role.ANALYST, None), user(Role.MUNICIPALITY),
                   user(Role.UNIT_MANAGER, "0780", ("Vuxen",)), user(Role.CASEWORKER, "0780", staff_id="S1")):
        assert names.shown_names(con, nobody, people) == {}

    assert (names.labelled("Bo Ås", "S2"), names.labelled(None, "S3")) == ("Bo Ås (S2)", "S3")


# --- on the web and in the terminal ------------------------------------------------------------

NAME_PREFIX = "Zqxnamn"  # found nowhere else: every name on the lists starts with it


@pytest.fixture(scope="module")
def site(web_data, web_users, tmp_path_factory):
    """A copy of the data folder with a second unit's manager and caseworker, and its app."""
    data = copy_data_folder(web_data, tmp_path_factory.mktemp("namn") / "data")
    store = store_for(data.settings, read_only=True)
    try:
        staff = current_staff(store)
    finally:
        store.close()
    staff = staff[staff.municipality == OWN]
    own_unit = web_users[Role.UNIT_MANAGER].units[0]
    other_unit = next(u for u in staff.unit.unique() if u != own_unit)
    add_users(data.data_dir, [
        UserSpec("chef2", Role.UNIT_MANAGER, OWN, (other_unit,)),
        UserSpec("handl1", Role.CASEWORKER, OWN, staff_id=staff[staff.unit == own_unit].staff_id.iloc[0]),
        UserSpec("handl2", Role.CASEWORKER, OWN, staff_id=staff[staff.unit == other_unit].staff_id.iloc[0])])
    with app_state(data.data_dir) as con:  # the booking form lists people when there is a session to book
        bookings.create_session(con, course="MHFA-1", course_name="MHFA", programme="mhfa", title="Att boka",
                                kind="platser", starts=dt.datetime.now() + dt.timedelta(days=30), place="Vimmerby",
                                capacity=5, municipality=None, created_by="admin")
    return data, create_app(data.settings), staff, own_unit, other_unit


def name_list(staff_ids, prefix: str = NAME_PREFIX) -> bytes:
    lines = ["personal-id;namn", *(f"{s};{prefix}{i} Testsson" for i, s in enumerate(staff_ids))]
    return ("\n".join(lines) + "\n").encode("utf-8")


def post_names(browser, body: bytes, **fields):
    csrf = hidden_field(browser.get("/kompetens").text, "csrf")
    return browser.post("/kompetens/namnlista", data={"csrf": csrf, **fields},
                        files={"fil": ("namnlista.csv", body, "text/csv")}, follow_redirects=True)


def test_a_manager_imports_names_of_own_staff_and_books_them_by_name(site, web_users):
    data, web, staff, own_unit, other_unit = site
    own = sorted(set(staff[staff.unit == own_unit].staff_id))
    other = sorted(set(staff[staff.unit == other_unit].staff_id) - set(own))
    manager = logged_in(web, web_users[Role.UNIT_MANAGER].username)
    before = last_audit_id(data.data_dir)

    refused = post_names(manager, name_list([own[0], other[0]]))
    assert (f"namnlista.csv, rad 3, kolumn &#39;personal-id&#39;: personal-id {other[0]} hör inte till dina "
            "enheter") in refused.text
    done = post_names(manager, name_list(own))
    assert f"Namnlistan är inläst: {len(own)} namn." in done.text
    assert f"{NAME_PREFIX}0 Testsson ({own[0]})" in done.text  # the booking form's people
    (entry,) = audit_since(data.data_dir, before, action="names_import")
    assert (entry.target, entry.detail) == (f"namnlista {OWN}", f"{len(own)} namn, enheterna {own_unit}")

    # The manager of the other unit, the municipality and the administrator see ids only.
    for username in ("chef2", "kommun", "admin"):
        page = logged_in(web, username).get("/kompetens").text
        assert NAME_PREFIX not in page
    # The caseworker sees their own name, and nobody else's.
    page = logged_in(web, "handl1").get("/kompetens").text
    assert f"{NAME_PREFIX}0 Testsson ({own[0]})" in page
    assert page.count(NAME_PREFIX) == 1


@pytest.mark.parametrize("username", ["handlaggare", "kommun", "analytiker"])
def test_roles_without_a_name_list_cannot_import_one(site, username):
    data, web, staff, own_unit, _ = site
    with app_state(data.data_dir) as con:
        before = stored(con)
    response = post_names(logged_in(web, username), name_list(staff.staff_id.iloc[:2], "Nekad"))
    assert response.status_code == 403 and "Ingen åtkomst" in response.text
    with app_state(data.data_dir) as con:
        assert stored(con) == before


def test_an_administrator_imports_a_municipalitys_list_and_the_terminal_too(site, tmp_path):
    data, web, staff, own_unit, other_unit = site
    admin = logged_in(web, "admin")
    ids = sorted(set(staff.staff_id))
    assert "Välj en kommun med personal" in post_names(admin, name_list(ids, "Admin"), kommun="9999").text
    assert "Namnlistan är inläst" in post_names(admin, name_list(ids, "Admin"), kommun=OWN).text
    with app_state(data.data_dir) as con:
        assert len(stored(con)) == len(ids)
    file = tmp_path / "namn.csv"
    file.write_bytes(name_list(ids[:3], "Terminal"))
    result = CliRunner().invoke(cli, ["--data-dir", str(data.data_dir), "users", "names", "import", str(file),
                                      "--kommun", OWN])
    assert result.exit_code == 0, result.output
    assert f"Namnlistan för {OWN} är inläst: 3 namn." in result.output
    with app_state(data.data_dir) as con:
        assert sorted(stored(con).values()) == ["Terminal0 Testsson", "Terminal1 Testsson", "Terminal2 Testsson"]
    file.write_bytes(name_list(["finns-inte"], "Terminal"))
    result = CliRunner().invoke(cli, ["--data-dir", str(data.data_dir), "users", "names", "import", str(file),
                                      "--kommun", OWN])
    assert result.exit_code == 1
    assert ("namn.csv, rad 2, kolumn 'personal-id': personal-id finns-inte finns inte bland kommunens personal i "
            "underlaget") in " ".join(result.output.split())


def test_no_name_is_in_the_store_a_download_an_extract_the_audit_log_or_a_log(site, web_users, tmp_path):
    """Like the personnummer test of the import: after the lists are used everywhere they could
    leak to, every name is only in the app state's name list."""
    data, web, staff, own_unit, other_unit = site
    manager = logged_in(web, web_users[Role.UNIT_MANAGER].username)
    own = sorted(set(staff[staff.unit == own_unit].staff_id))
    post_names(manager, name_list(own, "Hemlig"))
    bad = ("personal-id;namn\n" + f"{own[0]};Hemligfel Testsson\n" * 2).encode()
    post_names(manager, bad)  # refused: the message names the row, not the name
    listed = [f"Hemlig{i} Testsson" for i in range(len(own))] + ["Hemligfel Testsson"]
    with app_state(data.data_dir) as con:
        assert "Hemlig0 Testsson" in stored(con).values()  # the check below would find it
        session = bookings.create_session(
            con, course="MHFA-1", course_name="MHFA", programme="mhfa", title="Namntest", kind="platser",
            starts=dt.datetime.now() + dt.timedelta(days=20), place="Vimmerby", capacity=1, municipality=OWN,
            created_by="admin")
    csrf = hidden_field(manager.get("/kompetens").text, "csrf")
    booked = manager.post("/kompetens/boka", data={"csrf": csrf, "tillfalle": str(session.id),
                                                   "personal": own[:2]}, follow_redirects=True)
    assert "1 bokade, 1 på väntelistan." in booked.text
    admin = logged_in(web, "admin")
    csrf = hidden_field(admin.get("/kompetens").text, "csrf")
    admin.post("/kompetens/installa", data={"csrf": csrf, "tillfalle": str(session.id), "orsak": "Sjukdom"})
    caseworker = logged_in(web, web_users[Role.CASEWORKER].username)

    texts = []
    for browser, path in ((manager, "/kompetens/tabell/bokningar"), (manager, "/kompetens/tabell/tillfallen"),
                          (manager, "/personal/handlaggare/tabell/handlaggare"),
                          (caseworker, "/mitt-arbete/tabell/min-arbetstyngd"),
                          (caseworker, "/kompetens/tabell/bokningar"),
                          (admin, "/logg/tabell/logg")):
        for fmt in ("csv", "xlsx"):
            response = browser.get(f"{path}.{fmt}")
            assert response.status_code == 200, (path, response.text[:200])
            if fmt == "csv":
                texts.append(response.content.decode("utf-8"))
            else:
                book = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
                texts.append(str([list(r) for sheet in book.worksheets for r in sheet.iter_rows(values_only=True)]))
    out = tmp_path / "uttag"
    extracted = CliRunner().invoke(cli, ["--data-dir", str(data.data_dir), "extract", "--tabeller",
                                         "staff,trainings", "--ut", str(out), "--k", "3"])
    assert extracted.exit_code == 0, extracted.output
    texts.append(extracted.output)
    for folder in (data.data_dir, out):
        for file in folder.rglob("*"):
            if file.is_file() and not file.name.startswith(APP_STATE_FILE):
                texts.append(file.read_bytes().decode("latin-1"))
                texts.append(file.read_bytes().decode("utf-8", errors="replace"))
    with app_state(data.data_dir) as con:
        for table in ("audit_log", "flash_messages", "users", "bookings", "training_sessions",
                      "session_cancellations"):
            texts.append(str([tuple(r) for r in con.execute(f"SELECT * FROM {table}")]))
    assert any("insyn.duckdb" in str(p) for p in data.data_dir.rglob("*.duckdb"))
    for text in texts:
        for name in listed:
            assert name not in text
