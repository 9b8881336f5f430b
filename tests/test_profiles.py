"""Mapping profiles catch their own mistakes: unknown keys, value maps to codes that do not
exist, constants for columns that do not exist; every shipped profile loads; constant columns
fill what an export lacks and are checked as imported values; and the data folder's own
profiles are found by name by the terminal and offered by the web's Import page."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from helpers import EVENT_COLUMNS, pnr, write_csv
from typer.testing import CliRunner
from webapp import OWN, UserSpec, add_users, hidden_field, logged_in, tables_of, wait_for_import

from insyn.cli import app as cli_app
from insyn.ingest.load import import_files
from insyn.ingest.profiles import (
    PROFILE_FOLDER,
    Profile,
    ProfileError,
    available_profiles,
    load_profile,
    shipped_profiles,
)
from insyn.settings import Settings
from insyn.web.accounts import Role
from insyn.web.app import create_app

P1 = pnr("20120315", "123")
P2 = pnr("20080601", "242")
NO_MUNICIPALITY = [c for c in EVENT_COLUMNS if c != "municipality"]


def rows(case: str = "K1", person: str = P1) -> list[dict]:
    return [dict(case_id=case, person_id=person, event="report", date="2024-01-02", source="skola"),
            dict(case_id=case, person_id=person, event="initial_assessment", date="2024-01-10",
                 outcome="investigate")]


def profile_file(folder: Path, text: str, name: str = "min") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def refusal(path: Path) -> str:
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    return str(caught.value)


# --- a profile checks itself ---------------------------------------------------------------------

@pytest.mark.parametrize(("text", "said"), [
    ("name: min\ndate_fromat: '%d/%m/%Y'\n", "okänd nyckel 'date_fromat' (kända: name, description, date_format"),
    ("name: min\ntables:\n  events:\n    colums: {Kommun: municipality}\n",
     "okänd nyckel 'colums' under tables.events (kända: columns, values, constants)"),
    ("name: min\ntables:\n  events:\n    constant: {municipality: '0884'}\n", "okänd nyckel 'constant'"),
])
def test_an_unknown_key_is_refused_with_its_name(tmp_path, text, said):
    path = profile_file(tmp_path, text)
    message = refusal(path)
    assert message.startswith(f"{path}: ogiltig profil: ") and said in message, message
    assert "pydantic" not in message and "extra_forbidden" not in message


def test_a_value_map_to_a_code_not_in_the_code_list_is_refused_naming_it(tmp_path):
    path = profile_file(tmp_path, "name: min\ntables:\n  events:\n    values:\n"
                                  "      source: {Polisen: polisen, Skola: skola}\n"
                                  "      outcome: {Inleds ej: no_investigation, Utreds: investigat}\n"
                                  "  staff:\n    values:\n      role: {Chef: Enhetschef}\n")
    message = refusal(path)
    assert message.startswith(f"{path}: ogiltig profil: ")
    assert ("profilen 'min', tabell events, kolumn source: 'Polisen' översätts till 'polisen', som inte finns "
            "i kodlistan (tillåtna: polis, skola, forskola, halso_sjukvard, socialtjanst, anhorig, barnet_sjalv, "
            "annan_myndighet, ovrig)") in message
    # an outcome takes the codes of every event with one
    assert ("profilen 'min', tabell events, kolumn outcome: 'Utreds' översätts till 'investigat', som inte finns "
            "i kodlistan (tillåtna: investigate, no_investigation, transfer, intervention, no_intervention, "
            "granted, refused)") in message
    assert "Skola" not in message and "Inleds ej" not in message
    assert "Chef" not in message  # codes are matched without regard to case, as the import does


def test_value_maps_and_constants_for_columns_that_do_not_exist_are_refused(tmp_path):
    message = refusal(profile_file(tmp_path, "name: min\ntables:\n  events:\n"
                                             "    values: {kommun: {Vimmerby: '0884'}}\n"
                                             "    constants: {kommunkod: '0884', person_id: '20120315-1234'}\n"))
    assert "profilen 'min', tabell events: värden översätts för okänd kolumn 'kommun'" in message
    assert "profilen 'min', tabell events: konstant för okänd kolumn 'kommunkod'" in message
    assert "person_id kan inte vara en konstant" in message


def test_a_constant_must_be_quoted(tmp_path):
    """YAML reads 0114 as the octal number 76: only a quoted value is the code written."""
    message = refusal(profile_file(tmp_path, "name: min\ntables:\n  events:\n    constants: {municipality: 0114}\n"))
    assert "konstanten för 'municipality' ska skrivas inom citattecken" in message


def test_a_profile_that_is_not_yaml_or_empty_is_refused_in_swedish(tmp_path):
    assert "ogiltig profil: inte giltig YAML" in refusal(profile_file(tmp_path, "name: [min\n"))
    assert "ogiltig profil: filen ska innehålla nycklar med värden" in refusal(profile_file(tmp_path, ""))
    assert "nyckeln 'name' saknas" in refusal(profile_file(tmp_path, "tables: {}\n"))


@pytest.mark.parametrize("name", sorted(shipped_profiles()))
def test_every_shipped_profile_loads(name):
    profile = load_profile(name)
    assert profile.name == name and profile.tables


# --- constant columns ----------------------------------------------------------------------------

def constant_profile(value: str) -> Profile:
    return Profile.model_validate({"name": "kommunens", "tables": {"events": {"constants": {"municipality": value}}}})


@pytest.mark.parametrize("value", ["0884", "884", "Vimmerby"])
def test_a_constant_fills_a_missing_municipality_column(tmp_path, store, key, value):
    path = write_csv(tmp_path / "e.csv", NO_MUNICIPALITY, rows("K1") + rows("K2", P2))
    result = import_files(store, [path], key, profile=constant_profile(value))
    validated = result.files[0].validated
    assert validated.messages() == [] and validated.notices == []
    assert result.files[0].rows_loaded == 4
    assert store.raw.execute("SELECT DISTINCT municipality FROM events").fetchall() == [(OWN,)]


def test_a_bad_constant_is_reported_like_a_bad_value(tmp_path, store, key):
    path = write_csv(tmp_path / "e.csv", NO_MUNICIPALITY, rows())
    result = import_files(store, [path], key, profile=constant_profile("Vimerby"))
    assert result.files[0].validated.messages() == [
        f"e.csv, rad {row}, kolumn 'municipality (konstant i profilen kommunens)': okänd kommun 'Vimerby'"
        for row in (2, 3)]
    assert result.files[0].rows_loaded == 0
    assert store.raw.execute("SELECT row_number, column_name, record FROM quarantine ORDER BY 1").fetchall()[0][:2] \
        == (2, "municipality (konstant i profilen kommunens)")


def test_a_file_with_its_own_column_keeps_it_and_is_told_the_constant_is_not_used(tmp_path, store, key):
    path = write_csv(tmp_path / "e.csv", EVENT_COLUMNS, [{**r, "municipality": "1480"} for r in rows()])
    result = import_files(store, [path], key, profile=constant_profile("0884"))
    assert result.files[0].validated.notices == [
        "e.csv: filen har en egen kolumn för municipality; profilens konstant '0884' används inte"]
    assert store.raw.execute("SELECT DISTINCT municipality FROM events").fetchall() == [("1480",)]


def test_a_constant_of_another_table_does_not_fill_this_one(tmp_path, store, key):
    profile = Profile.model_validate({"name": "p", "tables": {"staff": {"constants": {"municipality": "0884"}}}})
    path = write_csv(tmp_path / "e.csv", NO_MUNICIPALITY, rows())
    with pytest.raises(Exception, match="kolumner saknas för tabellen events: municipality"):
        import_files(store, [path], key, profile=profile)


# --- the data folder's own profiles --------------------------------------------------------------

OWN_PROFILE = ("name: vimmerby\ntables:\n  events:\n"
               "    columns: {Ärende: case_id, Personnummer: person_id, Händelse: event, Datum: date,\n"
               "              Anmälare: source, Beslut: outcome}\n"
               "    values:\n      event: {Orosanmälan: report, Förhandsbedömning: initial_assessment}\n"
               "    constants: {municipality: Vimmerby}\n")
OWN_HEADERS = ["Ärende", "Personnummer", "Händelse", "Datum", "Anmälare", "Beslut"]


def own_export(path: Path) -> bytes:
    write_csv(path, OWN_HEADERS, [
        {"Ärende": "V-1", "Personnummer": P1, "Händelse": "Orosanmälan", "Datum": "2024-01-02", "Anmälare": "polis"},
        {"Ärende": "V-1", "Personnummer": P1, "Händelse": "Förhandsbedömning", "Datum": "2024-01-09",
         "Beslut": "investigate"}])
    return path.read_bytes()


def test_the_data_folder_profiles_are_found_by_name(tmp_path):
    data_dir = tmp_path / "data"
    path = profile_file(data_dir / PROFILE_FOLDER, OWN_PROFILE, "vimmerby")
    found = available_profiles(data_dir)
    assert found["vimmerby"] == path and set(shipped_profiles()) <= set(found)
    assert load_profile("vimmerby", data_dir).name == "vimmerby"
    with pytest.raises(ProfileError, match="Profilen 'vimmerby' finns inte"):
        load_profile("vimmerby")  # without the data folder: only shipped ones and paths
    with pytest.raises(ProfileError, match=f"egna profiler läggs i {re.escape(str(data_dir / PROFILE_FOLDER))}"):
        load_profile("finns_inte", data_dir)


def test_the_terminal_imports_with_a_data_folder_profile_by_name(tmp_path):
    data_dir = tmp_path / "data"
    profile_file(data_dir / PROFILE_FOLDER, OWN_PROFILE, "vimmerby")
    own_export(tmp_path / "export.csv")
    result = CliRunner().invoke(cli_app, ["--data-dir", str(data_dir), "import", "--profile", "vimmerby",
                                          "--uttagsdatum", "2024-12-31", str(tmp_path / "export.csv")])
    assert result.exit_code == 0, result.output
    assert "rad " not in result.output
    profile_file(data_dir / PROFILE_FOLDER, OWN_PROFILE + "    date_fromat: x\n", "vimmerby")
    broken = CliRunner().invoke(cli_app, ["--data-dir", str(data_dir), "import", "--profile", "vimmerby",
                                          str(tmp_path / "export.csv")])
    assert broken.exit_code == 1 and "okänd nyckel 'date_fromat'" in broken.output


# --- the web's Import page -----------------------------------------------------------------------

@pytest.fixture
def web_site(tmp_path):
    """A data folder with one municipality user (in OWN) and its own profile, and the app over it."""
    settings = Settings(data_dir=tmp_path / "data")
    profile_file(settings.data_dir / PROFILE_FOLDER, OWN_PROFILE, "vimmerby")
    app = create_app(settings)
    add_users(settings.data_dir, [UserSpec("kommun", Role.MUNICIPALITY, OWN)])
    browser = logged_in(app, "kommun")
    yield settings, browser
    browser.close()


def upload(browser, name: str, body: bytes, **fields):
    return browser.post("/import", data={"csrf": hidden_field(browser.get("/import").text, "csrf"), **fields},
                        files={"filer": (name, body, "text/csv")})


def test_the_web_form_offers_the_data_folder_profile_and_an_upload_with_it_loads(web_site, tmp_path):
    settings, browser = web_site
    form = browser.get("/import").text
    assert '<option value="vimmerby">vimmerby (egen, profiler/vimmerby.yaml)</option>' in form
    assert '<option value="svenska">svenska</option>' in form
    response = upload(browser, "export.csv", own_export(tmp_path / "export.csv"), profil="vimmerby",
                      uttagsdatum="2024-12-31")
    assert response.status_code == 303, response.text[:500]
    token = response.headers["location"].removeprefix("/import/")
    report = browser.get(f"/import/{token}").text
    tables = tables_of(report)
    assert tables["sammanfattning"][1] == ["export.csv", "händelser", "2", "2", "0"]
    assert tables["fel"][1:] == [["Inga rader."]]
    loaded = browser.post(f"/import/{token}/las-in", data={"csrf": hidden_field(report, "csrf")})
    assert loaded.status_code == 303 and wait_for_import(settings.data_dir, token) == "loaded"
    from insyn.workflows import store_for

    store = store_for(settings, read_only=True)
    try:
        assert store.raw.execute("SELECT municipality, case_id, event FROM events ORDER BY date").fetchall() == [
            (OWN, "V-1", "report"), (OWN, "V-1", "initial_assessment")]
        assert store.raw.execute("SELECT DISTINCT profile FROM imports").fetchall() == [("vimmerby",)]
    finally:
        store.close()


def test_a_profile_that_does_not_load_is_refused_on_the_upload_page(web_site, tmp_path):
    settings, browser = web_site
    body = own_export(tmp_path / "export.csv")
    broken = OWN_PROFILE.replace("Orosanmälan: report", "Orosanmälan: anmalan")
    profile_file(settings.data_dir / PROFILE_FOLDER, broken, "vimmerby")
    response = upload(browser, "export.csv", body, profil="vimmerby")
    assert response.status_code == 400, response.text[:500]
    page = html.unescape(response.text)
    assert "profiler/vimmerby.yaml: ogiltig profil" in page and 'role="alert"' in page
    assert "'Orosanmälan' översätts till 'anmalan', som inte finns i kodlistan" in page
    assert str(settings.data_dir) not in page
    assert not list((settings.data_dir / "uppladdningar").glob("*/export.csv"))
    unknown = upload(browser, "export.csv", body, profil="finns_inte")
    assert unknown.status_code == 404
