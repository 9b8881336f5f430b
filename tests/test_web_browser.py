"""The web app in a real browser: Playwright driving Debian's Chromium against `insyn serve`
running in its own process on a copy of the test data folder (tests/webapp.py).

`.ci/run` installs Chromium; INSYN_CHROMIUM points at another binary. The overview's
screenshot is kept in test-results/ (or $INSYN_ARTIFACTS).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import openpyxl
import pandas as pd
import pytest
from playwright.sync_api import Page, expect
from webapp import PASSWORD, app_state, audit_entries, copy_data_folder, serving

from insyn.indicators.definitions import area_names
from insyn.web import bookings
from insyn.web.accounts import Role
from insyn.workflows import import_steps

pytest_plugins = ["webapp"]
pytestmark = pytest.mark.browser  # Chromium through Playwright (slow too: tests/conftest.py)

ARTIFACTS = Path(os.environ.get("INSYN_ARTIFACTS", "test-results"))
SHOTS = ARTIFACTS / "kompetens"  # the Kompetens and Mitt arbete pages, to look at
AREAS = list(area_names().values())
STATISTICS = ["Översikt", *AREAS, "Jämförelse", "Prognos"]
NAV = {
    Role.ADMINISTRATOR: [*STATISTICS, "Kompetens och bokning", "Import", "Logg", "Användare"],
    Role.ANALYST: [*STATISTICS, "Kompetens och bokning", "Import"],
    Role.MUNICIPALITY: [*STATISTICS, "Kompetens och bokning", "Import"],
    Role.UNIT_MANAGER: [*STATISTICS, "Handläggare", "Kompetens och bokning"],
    Role.CASEWORKER: ["Mitt arbete", "Kompetens och bokning"],
}
ALL_PAGES = {"/oversikt": "Översikt", "/jamforelse": "Jämförelse",
             "/personal/handlaggare": "Arbetstyngd per handläggare", "/mitt-arbete": "Mitt arbete",
             "/import": "Import", "/logg": "Logg", "/anvandare": "Användare",
             "/kompetens": "Kompetens och bokning"}
PAGE_FOR_LINK = {"Översikt": "/oversikt", "Jämförelse": "/jamforelse", "Handläggare": "/personal/handlaggare",
                 "Mitt arbete": "/mitt-arbete", "Import": "/import", "Logg": "/logg", "Användare": "/anvandare",
                 "Kompetens och bokning": "/kompetens"}


@pytest.fixture(scope="module")
def served(web_data, web_users, tmp_path_factory):
    """`insyn serve` on a copy of the data folder; yields (base url, data)."""
    data = copy_data_folder(web_data, tmp_path_factory.mktemp("webbserver") / "data")
    with serving(data.data_dir) as base:
        yield base, data


def log_in(page: Page, base: str, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/logga-in")
    page.get_by_label("Användarnamn").fill(username)
    page.get_by_label("Lösenord").fill(password)
    page.get_by_role("button", name="Logga in").click()
    expect(page.get_by_role("button", name="Logga ut")).to_be_visible()


@pytest.mark.parametrize("role", list(Role))
def test_each_role_sees_exactly_its_pages(page: Page, served, web_users, role):
    base, _ = served
    log_in(page, base, web_users[role].username)
    menu = page.get_by_role("navigation", name="Huvudmeny")
    assert menu.get_by_role("link").all_inner_texts() == NAV[role]
    allowed = {PAGE_FOR_LINK[link] for link in NAV[role] if link in PAGE_FOR_LINK}
    for path, heading in ALL_PAGES.items():
        page.goto(base + path)
        shown = page.get_by_role("heading", level=1).inner_text()
        if path in allowed:
            assert shown.startswith(heading), (role, path, shown)
        else:
            assert shown == "Ingen åtkomst", (role, path, shown)
            assert page.get_by_role("alert").inner_text().startswith("Din roll")


def test_prognos_for_a_municipality_and_a_unit(page: Page, served, web_users):
    """The page Prognos: the chart, the intervals in words and the month to recruit by, for the
    whole municipality and then one unit chosen in the form."""
    base, data = served
    log_in(page, base, web_users[Role.MUNICIPALITY].username)
    page.goto(f"{base}/prognos", timeout=180_000)
    expect(page.get_by_role("heading", level=1)).to_have_text("Prognos – Vimmerby")
    expect(page.locator("svg.forecast-chart").first).to_be_visible()
    expect(page.get_by_role("table", name=re.compile("Bemanning per enhet"))).to_contain_text("Rekrytera senast")
    unit = "Utredning" if "Utredning" in data.units("0884") else data.units("0884")[0]
    page.get_by_label("Enhet").select_option(unit)
    page.get_by_role("button", name="Visa").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Prognos – {unit}, Vimmerby")
    body = page.locator("main").inner_text()
    assert re.search(r"med 80 % sannolikhet .+, med 95 % sannolikhet ", body)
    assert re.search(r"Rekrytera (senast i [a-zäö]+ \d{4}|redan nu)|personalen räcker hela året"
                     r"|rekrytera om underskottet växer", body)
    assert page.locator("svg.forecast-chart polygon.band").count() >= 2
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "prognos.png"), full_page=True)


def test_overview_in_swedish_from_no_other_host(page: Page, served, web_users):
    base, _ = served
    requested, problems = [], []
    page.on("request", lambda request: requested.append(request.url))
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    log_in(page, base, web_users[Role.MUNICIPALITY].username)
    page.goto(f"{base}/oversikt")
    expect(page.get_by_role("heading", level=1)).to_have_text("Översikt – Vimmerby")
    assert page.locator("html").get_attribute("lang") == "sv"
    expect(page.get_by_role("heading", name="Behöver uppmärksamhet först")).to_be_visible()
    assert page.get_by_role("table").count() >= 2
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "oversikt.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    # Every form control has a label a screen reader can read.
    unlabelled = page.evaluate("""() => [...document.querySelectorAll('input:not([type=hidden]), select, button')]
        .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.innerText.trim())
        .map(e => e.outerHTML)""")
    assert unlabelled == []
    page.goto(f"{base}/omrade/arendeflode")
    expect(page.get_by_role("heading", name="Från anmälan till insats")).to_be_visible()
    assert {urlparse(u).netloc for u in requested} == {urlparse(base).netloc}
    assert problems == []  # a blocked inline script or style (CSP) would be reported here


def test_an_upload_with_errors_names_row_and_column(page: Page, served, web_users, tmp_path):
    base, data = served
    events = pd.read_csv(data.exports["events"], dtype=str, nrows=6)
    events.loc[2, "date"] = "2024-02-30"  # row 4 of the file: the header is row 1
    upload = tmp_path / "handelser.csv"
    events.to_csv(upload, index=False)
    log_in(page, base, web_users[Role.ANALYST].username)
    page.goto(f"{base}/import")
    page.get_by_label("Filer").set_input_files(str(upload))
    page.get_by_role("button", name="Kontrollera filerna").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Valideringsrapport")
    errors = page.locator("#tabell-fel tbody tr")
    expect(errors).to_have_count(1)
    assert errors.first.locator("th, td").all_inner_texts()[:3] == ["handelser.csv", "4", "date"]
    assert "datum" in errors.first.inner_text().lower()
    page.get_by_role("button", name="Läs in").click()
    # Loading recomputes every indicator: the page shows its progress and refreshes itself.
    expect(page.get_by_role("heading", level=1)).to_have_text("Läser in …")
    # Check and load the file, recompute, protect for the web (workflows.import_steps).
    assert int(page.locator("progress").get_attribute("max")) == import_steps(1) == 4
    expect(page.get_by_role("heading", level=1)).to_have_text("Inläst", timeout=300_000)
    expect(page.get_by_role("status")).to_contain_text("inlästa")
    assert page.locator("#tabell-inlast tbody tr td").first.inner_text() == "5"


def test_book_a_place_and_cancel_it(page: Page, served, web_users):
    base, _ = served
    log_in(page, base, web_users[Role.ANALYST].username)
    page.goto(f"{base}/kompetens")
    form = page.locator("#nytt-tillfalle")
    form.get_by_label("Kurs").select_option(label="Första hjälpen till psykisk hälsa (MHFA)")
    form.get_by_label("Rubrik").fill("MHFA för webbtestet")
    form.get_by_label("Datum").fill((dt.date.today() + dt.timedelta(days=14)).isoformat())
    form.get_by_label("Plats", exact=True).fill("Stadshuset, sal 2")
    form.get_by_label("Antal platser (arbetsplatser)").fill("1")
    form.get_by_role("button", name="Lägg upp").click()
    expect(page.get_by_role("status")).to_have_text("Tillfället MHFA för webbtestet är upplagt.")
    page.get_by_role("button", name="Logga ut").click()

    log_in(page, base, web_users[Role.UNIT_MANAGER].username)
    page.goto(f"{base}/kompetens")
    booking = page.locator("#boka-platser")
    booking.get_by_label("Tillfälle").select_option(label=next(
        t for t in booking.locator("option").all_inner_texts() if "MHFA för webbtestet" in t))
    people = booking.get_by_role("checkbox")
    people.nth(0).check()
    people.nth(1).check()
    booking.get_by_role("button", name="Boka").click()
    expect(page.get_by_role("status")).to_have_text("1 bokade, 1 på väntelistan.")
    rows = page.locator("#tabell-bokningar tbody tr", has_text="MHFA för webbtestet")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="Väntelista (plats 1 i kön)")).to_have_count(1)

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(".cancel-list li", has_text="MHFA för webbtestet").filter(has_text="(bokad)").get_by_role(
        "button").click()
    expect(page.get_by_role("status")).to_have_text("Avbokad. Platsen gick till den första på väntelistan.")
    expect(rows.filter(has_text="Avbokad")).to_have_count(1)
    expect(rows.filter(has_text="Väntelista")).to_have_count(0)


def test_a_cancelled_session_leaves_the_booked_caseworkers_page_with_a_notice(page: Page, served, web_users):
    base, data = served
    caseworker = web_users[Role.CASEWORKER]
    starts = (dt.datetime.now() + dt.timedelta(days=15)).replace(hour=13, minute=0, second=0, microsecond=0)
    with app_state(data.data_dir) as con:
        made = bookings.create_session(con, course="MHFA-1", course_name="MHFA", programme="mhfa",
                                       title="MHFA som ställs in", kind="platser", starts=starts, place="Stadshuset",
                                       capacity=3, municipality=None, created_by="admin")
        bookings.book_places(con, made.id, [(caseworker.municipality, "Barn och unga", caseworker.staff_id)],
                             "enhetschef")
    own = page.locator("section.own-trainings")
    log_in(page, base, caseworker.username)
    page.goto(f"{base}/mitt-arbete")
    expect(own.locator(".own-bookings li", has_text="MHFA som ställs in")).to_have_count(1)
    page.get_by_role("button", name="Logga ut").click()

    log_in(page, base, web_users[Role.ADMINISTRATOR].username)
    page.goto(f"{base}/kompetens")
    form = page.locator("#installa")
    form.get_by_label("Tillfälle").select_option(label=next(
        t for t in form.locator("option").all_inner_texts() if "MHFA som ställs in" in t))
    form.get_by_label("Orsak (visas för de bokade)").fill("Kursledaren är sjuk")
    page.once("dialog", lambda dialog: dialog.accept())
    form.get_by_role("button", name="Ställ in").click()
    expect(page.get_by_role("status")).to_contain_text("MHFA som ställs in")
    expect(page.get_by_role("status")).to_contain_text("är inställt. 1 bokning berörs")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "kompetens-administrator.png"), full_page=True)
    page.get_by_role("button", name="Logga ut").click()

    log_in(page, base, caseworker.username)
    page.goto(f"{base}/mitt-arbete")
    expect(own.get_by_role("status")).to_have_text(
        f"Utbildningstillfället MHFA som ställs in den {starts:%Y-%m-%d} kl. 13:00 är inställt. "
        "Orsak: Kursledaren är sjuk")
    expect(own.locator(".own-bookings li", has_text="MHFA som ställs in")).to_have_count(0)
    page.screenshot(path=str(SHOTS / "mitt-arbete-installt.png"), full_page=True)
    page.goto(f"{base}/kompetens")
    expect(page.locator("#tabell-bokningar tbody tr", has_text="MHFA som ställs in")).to_have_count(0)
    page.goto(f"{base}/mitt-arbete")
    own.get_by_role("button", name="Ta bort meddelandet").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mitt arbete")
    expect(own.get_by_role("status")).to_have_count(0)


def test_a_manager_uploads_a_name_list_and_books_by_name(page: Page, served, web_users, tmp_path):
    base, data = served
    manager = web_users[Role.UNIT_MANAGER]
    with app_state(data.data_dir) as con:
        bookings.create_session(con, course="MHFA-1", course_name="MHFA", programme="mhfa", title="MHFA med namn",
                                kind="platser", starts=dt.datetime.now() + dt.timedelta(days=16), place="Stadshuset",
                                capacity=3, municipality=None, created_by="admin")
    log_in(page, base, manager.username)
    page.goto(f"{base}/kompetens")
    people = page.locator("#boka-platser").get_by_role("checkbox")
    first = people.first.get_attribute("value")
    names = tmp_path / "namnlista.csv"
    names.write_text(f"personal-id;namn\n{first};Alma Andersson\n", encoding="utf-8")
    upload = page.locator("#namnlista-form")
    upload.get_by_label("Namnlista").set_input_files(str(names))
    upload.get_by_role("button", name="Läs in namnlistan").click()
    expect(page.get_by_role("status")).to_have_text("Namnlistan är inläst: 1 namn.")
    expect(page.locator("#boka-platser label", has_text=f"Alma Andersson ({first})")).to_have_count(1)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "kompetens-enhetschef.png"), full_page=True)


def test_a_download_arrives_and_opens_as_excel(page: Page, served, web_users, tmp_path):
    base, _ = served
    log_in(page, base, web_users[Role.ANALYST].username)
    page.goto(f"{base}/jamforelse")
    headers = page.locator("table thead th").all_inner_texts()
    first_row = page.locator("table tbody tr").first.locator("th, td").all_inner_texts()
    with page.expect_download() as arrived:
        page.locator(".downloads").first.get_by_role("link", name="Excel").click()
    saved = tmp_path / arrived.value.suggested_filename
    arrived.value.save_as(saved)
    assert saved.suffix == ".xlsx"
    sheet = openpyxl.load_workbook(saved).active
    rows = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    assert rows[0][0].startswith("Jämförelse – ")
    header_row = next(i for i, row in enumerate(rows) if row[0] == "Kommun")
    assert [str(h) for h in rows[header_row] if h is not None] == headers
    assert rows[header_row + 1][0] == first_row[0]


def _failed_login(base: str, forwarded_for: str) -> int:
    """One wrong password through the real form, as a proxy would pass it on; the status."""
    jar = urllib.request.HTTPCookieProcessor()
    opener = urllib.request.build_opener(jar)
    headers = {"X-Forwarded-For": forwarded_for}
    with opener.open(urllib.request.Request(f"{base}/logga-in", headers=headers)) as form:
        token = re.search(r'name="csrf" value="([^"]+)"', form.read().decode()).group(1)
    body = urllib.parse.urlencode({"anvandarnamn": "analytiker", "losenord": "fel-losenord", "csrf": token})
    try:
        opener.open(urllib.request.Request(f"{base}/logga-in", data=body.encode(), headers=headers))
    except urllib.error.HTTPError as answer:
        return answer.code
    return 200


@pytest.mark.parametrize("trusted", [True, False])
def test_insyn_serve_takes_the_client_address_from_a_trusted_proxy_only(web_data, web_users, tmp_path, trusted):
    data = copy_data_folder(web_data, tmp_path / "data")
    with serving(data.data_dir, "--utan-https", *(["--proxy", "127.0.0.1"] if trusted else [])) as base:
        assert _failed_login(base, "203.0.113.9") == 401
    where = {e.client for e in audit_entries(data.data_dir, action="login_failed")}
    assert where == ({"203.0.113.9"} if trusted else {"127.0.0.1"})


# --- the nämnd's picture (issue 17) ------------------------------------------------------------

def _pdf_text(path: Path) -> str:
    out = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True, text=True).stdout
    return " ".join(out.split())


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils (pdftotext) is not installed")
def test_the_municipal_brief_downloads_from_the_overview(page: Page, served, web_users, tmp_path):
    base, _ = served
    log_in(page, base, web_users[Role.MUNICIPALITY].username)
    page.goto(f"{base}/oversikt")
    saved = {}
    for fmt in ("PDF", "HTML"):
        with page.expect_download() as arrived:
            page.locator(".page-downloads").get_by_role("link", name=f"Kommunblad för nämnden, {fmt}").click()
        saved[fmt] = tmp_path / arrived.value.suggested_filename
        arrived.value.save_as(saved[fmt])
    assert saved["PDF"].name == "kommunblad-0884.pdf" and saved["PDF"].read_bytes().startswith(b"%PDF")
    text = _pdf_text(saved["PDF"])
    assert "Barn och unga och personalen – Vimmerby" in text and "median av" in text
    html = saved["HTML"].read_text(encoding="utf-8")
    assert "Barn och unga och personalen – Vimmerby" in html
    assert "Syntetiska data" not in text  # the test folder's data are imported, not the demo's


def test_the_overview_reads_at_820_pixels_without_sideways_scrolling(page: Page, served, web_users):
    base, _ = served
    page.set_viewport_size({"width": 820, "height": 900})
    log_in(page, base, web_users[Role.MUNICIPALITY].username)
    for path in ("/oversikt", "/omrade/arendeflode", "/jamforelse"):
        page.goto(base + path)
        widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert widths[0] <= widths[1], (path, widths)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.goto(f"{base}/oversikt")
    page.screenshot(path=str(ARTIFACTS / "oversikt-820.png"), full_page=True)


def test_demo_data_say_so_on_every_page_and_download(page: Page, web_data, web_users, tmp_path):
    import duckdb

    data = copy_data_folder(web_data, tmp_path / "data")
    with duckdb.connect(str(data.settings.database_path)) as con:  # as if `insyn demo` had imported it
        con.execute("UPDATE imports SET profile = 'demo'")
    with serving(data.data_dir) as base:
        log_in(page, base, web_users[Role.ANALYST].username)
        for path in ("/oversikt", "/omrade/personal", "/jamforelse", "/kompetens", "/import"):
            page.goto(base + path)
            expect(page.get_by_role("note")).to_have_text("Syntetiska data – inga verkliga uppgifter")
        page.goto(f"{base}/jamforelse")
        with page.expect_download() as arrived:
            page.locator(".downloads").first.get_by_role("link", name="CSV").click()
        saved = tmp_path / "jamforelse.csv"
        arrived.value.save_as(saved)
        frame = pd.read_csv(saved, sep=";", encoding="utf-8-sig")
        assert (frame["Uppgifter"] == "Syntetiska data – inga verkliga uppgifter").all()


# --- users from the web (issue 19) -------------------------------------------------------------

def test_an_administrator_makes_a_user_and_a_wrong_unit_is_refused(page: Page, served, web_users):
    base, data = served
    unit = data.units("0884")[0]
    log_in(page, base, web_users[Role.ADMINISTRATOR].username)
    page.goto(f"{base}/anvandare")
    page.get_by_label("Kommun").select_option(label="Vimmerby (0884)")  # the form is remade for Vimmerby
    page.wait_for_url(re.compile(r"/anvandare\?kommun=0884"))
    form = page.locator("#ny-anvandare")

    def fill(username: str) -> None:
        form.get_by_label("Användarnamn").fill(username)
        form.get_by_label("Namn", exact=True).fill("Nora Ny")
        form.get_by_label("Roll").select_option(label="Enhetschef")
        form.get_by_label(unit, exact=True).check()
        form.get_by_label("Lösenord").fill(PASSWORD)

    # A unit the data do not have, as a page made before a new import renamed the unit would send it.
    fill("nora.ny")
    form.get_by_label(unit, exact=True).evaluate("box => { box.value = 'Mottagnig' }")
    form.get_by_role("button", name="Skapa användaren").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "Användaren skapades inte: Enheten Mottagnig finns inte i underlaget för Vimmerby (enheter: ")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "anvandare-fel-enhet.png"), full_page=True)
    expect(page.locator("#tabell-anvandare tbody tr", has_text="nora.ny")).to_have_count(0)

    fill("nora.ny")
    form.get_by_role("button", name="Skapa användaren").click()
    expect(page.get_by_role("status")).to_have_text("Användaren nora.ny är skapad.")
    row = page.locator("#tabell-anvandare tbody tr", has_text="nora.ny")
    expect(row).to_contain_text("Enhetschef")
    expect(row).to_contain_text(unit)
    page.screenshot(path=str(ARTIFACTS / "anvandare.png"), full_page=True)
    page.set_viewport_size({"width": 820, "height": 900})
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], widths
    page.screenshot(path=str(ARTIFACTS / "anvandare-820.png"), full_page=True)
    unlabelled = page.evaluate("""() => [...document.querySelectorAll('input:not([type=hidden]), select, button')]
        .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.innerText.trim())
        .map(e => e.outerHTML)""")
    assert unlabelled == []
    row.get_by_role("link", name="nora.ny").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Användaren nora.ny")
    page.screenshot(path=str(ARTIFACTS / "anvandare-andra.png"), full_page=True)
    page.get_by_role("button", name="Sätt nytt lösenord").click()  # empty: one is made and shown once
    expect(page.get_by_role("status")).to_have_text("nora.ny har fått ett nytt lösenord och är utloggad överallt.")
    password = page.locator("#losenord-visat").inner_text()
    page.screenshot(path=str(ARTIFACTS / "anvandare-losenord.png"), full_page=True)

    page.get_by_role("button", name="Logga ut").click()
    log_in(page, base, "nora.ny", password)
    menu = page.get_by_role("navigation", name="Huvudmeny")
    assert menu.get_by_role("link").all_inner_texts() == NAV[Role.UNIT_MANAGER]
    page.goto(f"{base}/personal/handlaggare")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Arbetstyngd per handläggare – {unit}")
