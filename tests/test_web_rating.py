"""Mitt arbete's monthly rating through the real app (FastAPI's TestClient) on a copy of the
shared data folder: a caseworker rates a month and reads it back, only for themselves; every
other role gets 403; the statistics pages are not rebuilt because a rating was saved."""

from __future__ import annotations

import datetime as dt

import pytest
from webapp import (
    OWN,
    UserSpec,
    add_users,
    audit_since,
    copy_data_folder,
    hidden_field,
    last_audit_id,
    logged_in,
    tables_of,
)

from insyn.swedish import MONTHS
from insyn.web.accounts import Role
from insyn.web.app import create_app
from insyn.workflows import store_for
from insyn.workforce.ratings import open_months

pytest_plugins = ["webapp"]

THIS_MONTH = dt.date.today().replace(day=1)
THIS_MONTH_NAME = f"{MONTHS[THIS_MONTH.month - 1]} {THIS_MONTH.year}"


@pytest.fixture(scope="module")
def site(web_data, web_users, tmp_path_factory):
    """A copy of the data folder with a second caseworker of another staff id, and its app."""
    data = copy_data_folder(web_data, tmp_path_factory.mktemp("skattning") / "data")
    other = next(s for s in web_data.staff_ids(OWN) if s != web_users[Role.CASEWORKER].staff_id)
    add_users(data.data_dir, [UserSpec("handl2", Role.CASEWORKER, OWN, staff_id=other)])
    return data, create_app(data.settings), other


def stored_ratings(data) -> list[tuple]:
    store = store_for(data.settings, read_only=True)
    try:
        return store.raw.execute("SELECT staff_id, month, rating, flex_hours FROM workload_ratings "
                                 "WHERE import_id = 'mitt-arbete' ORDER BY staff_id, month").fetchall()
    finally:
        store.close()


def rate(browser, month: dt.date, rating: str, flex: str = "", csrf: str | None = None):
    csrf = csrf if csrf is not None else hidden_field(browser.get("/mitt-arbete").text, "csrf")
    return browser.post("/mitt-arbete/skattning", data={"csrf": csrf, "manad": f"{month:%Y-%m}",
                                                        "skattning": rating, "flex": flex})


def test_a_caseworker_rates_a_month_and_sees_it(site, web_users):
    data, web, _ = site
    caseworker = web_users[Role.CASEWORKER]
    browser = logged_in(web, caseworker.username)
    page = browser.get("/mitt-arbete").text
    assert "Hur har din arbetsbelastning varit den här månaden?" in page
    assert f"Spara skattningen för {THIS_MONTH_NAME}" in page
    before = last_audit_id(data.data_dir)

    saved = rate(browser, THIS_MONTH, "4", "12,5")
    assert saved.status_code == 303 and saved.headers["location"].startswith("/mitt-arbete?besked=")
    assert stored_ratings(data) == [(caseworker.staff_id, THIS_MONTH, 4, 12.5)]
    (entry,) = audit_since(data.data_dir, before, action="rate_month")
    assert (entry.username, entry.target) == (caseworker.username,
                                              f"{OWN} {caseworker.staff_id} {THIS_MONTH:%Y-%m}")
    assert entry.detail == "skattning 4, flexsaldo 12,5 h"

    page = browser.get(saved.headers["location"]).text
    assert f"Din skattning för {THIS_MONTH_NAME} är sparad." in page
    newest = tables_of(page)["min-arbetstyngd"][1]
    assert newest[0] == f"{THIS_MONTH:%Y-%m}" and newest[-2:] == ["4", "12,5"]
    form = page[page.index(f'id="skatta-{THIS_MONTH:%Y-%m}"'):]
    form = form[:form.index("</form>")]
    assert 'value="4" required checked' in form and 'value="12,5"' in form
    assert f"Ändra skattningen för {THIS_MONTH_NAME}" in form

    changed = rate(browser, THIS_MONTH, "2")  # editable while open; no flexitime this time
    assert changed.status_code == 303
    assert stored_ratings(data) == [(caseworker.staff_id, THIS_MONTH, 2, None)]


def test_the_page_shows_the_points_of_the_latest_month_and_its_cases(site, web_users, web_data):
    _, web, _ = site
    caseworker = web_users[Role.CASEWORKER]
    own = web_data.caseworkers[(web_data.caseworkers.municipality == OWN)
                               & (web_data.caseworkers.staff_id == caseworker.staff_id)]
    latest = own[own.period == own.period.max()].iloc[0]
    tables = tables_of(logged_in(web, caseworker.username).get("/mitt-arbete").text)
    history = {row[0]: row for row in tables["min-arbetstyngd"][1:]}
    assert history[latest.period][3] == f"{latest.points:g}"
    cases = tables["mina-arenden"][1:]
    assert len({row[0] for row in cases}) == latest.cases
    assert sum(float(row[3].replace(",", ".")) for row in cases) == pytest.approx(latest.points)


def test_a_bad_value_or_a_closed_month_is_refused_with_a_swedish_message(site, web_users):
    data, web, _ = site
    browser = logged_in(web, web_users[Role.CASEWORKER].username)
    before = stored_ratings(data)
    for month, rating, flex, message in [
            (THIS_MONTH, "7", "", "Skattning: får inte vara större än 5."),
            (THIS_MONTH, "3", "många", "Flexsaldo: inte ett tal."),
            (dt.date(2024, 1, 1), "3", "", "2024-01 är stängd för skattning sedan 2024-02-11."),
            (open_months(data.settings.workload_config(), dt.date.today())[0].replace(year=THIS_MONTH.year + 1),
             "3", "", "har inte börjat än")]:
        refused = rate(browser, month, rating, flex)
        assert refused.status_code == 303
        assert message in browser.get(refused.headers["location"]).text
    assert stored_ratings(data) == before


def test_nobody_else_reads_or_rates_a_caseworkers_month(site, web_users):
    data, web, other_staff_id = site
    caseworker = web_users[Role.CASEWORKER]
    rate(logged_in(web, caseworker.username), THIS_MONTH, "5", "40")
    before = last_audit_id(data.data_dir)
    for role in (Role.ADMINISTRATOR, Role.ANALYST, Role.MUNICIPALITY, Role.UNIT_MANAGER):
        browser = logged_in(web, web_users[role].username)
        assert browser.get("/mitt-arbete").status_code == 403
        assert browser.get("/mitt-arbete/tabell/min-arbetstyngd.csv").status_code == 403
        csrf = hidden_field(browser.get("/kompetens").text, "csrf")
        refused = rate(browser, THIS_MONTH, "1", csrf=csrf)
        assert refused.status_code == 403 and "Ingen åtkomst" in refused.text
    assert len(audit_since(data.data_dir, before, action="denied")) == 12

    # Another caseworker sees only their own months, and a staff id slipped into the form is ignored.
    other = logged_in(web, "handl2")
    page = other.get("/mitt-arbete", params={"personal": caseworker.staff_id}).text
    assert caseworker.staff_id not in page
    csrf = hidden_field(page, "csrf")
    other.post("/mitt-arbete/skattning", data={"csrf": csrf, "manad": f"{THIS_MONTH:%Y-%m}", "skattning": "1",
                                               "personal": caseworker.staff_id})
    assert stored_ratings(data) == sorted([(caseworker.staff_id, THIS_MONTH, 5, 40.0),
                                           (other_staff_id, THIS_MONTH, 1, None)])


def test_a_rating_needs_the_sessions_csrf_token(site, web_users):
    data, web, _ = site
    before = stored_ratings(data)
    refused = rate(logged_in(web, web_users[Role.CASEWORKER].username), THIS_MONTH, "1", csrf="fel")
    assert refused.status_code == 403
    assert stored_ratings(data) == before


def test_a_saved_rating_keeps_the_statistics_pages(site, web_users):
    """The publications take seconds to make: a rating changes nothing in them, so they stay."""
    _, web, _ = site
    statistics = web.state.statistics
    manager = logged_in(web, web_users[Role.UNIT_MANAGER].username)
    assert manager.get("/oversikt").status_code == 200
    views, generation = dict(statistics._views), statistics._generation
    assert views

    rate(logged_in(web, web_users[Role.CASEWORKER].username), THIS_MONTH, "3", "-2,5")
    assert manager.get("/oversikt").status_code == 200
    assert statistics._generation == generation
    assert all(statistics._views[key] is view for key, view in views.items())  # the same objects
    ratings = statistics.snapshot().ratings  # while the snapshot holds the new rating
    own = ratings[(ratings.staff_id == web_users[Role.CASEWORKER].staff_id) & (ratings.month == THIS_MONTH)]
    assert own[["rating", "flex_hours"]].values.tolist() == [[3, -2.5]]


# --- in a real browser ---------------------------------------------------------------------------

@pytest.mark.browser
def test_in_the_browser_a_caseworker_rates_a_month_and_sees_it(page, web_data, web_users, tmp_path):
    from playwright.sync_api import expect
    from test_web_browser import ARTIFACTS, log_in
    from webapp import serving

    from insyn.web.data import current_staff

    data = copy_data_folder(web_data, tmp_path / "data")
    store = store_for(data.settings, read_only=True)
    try:
        employed = set(current_staff(store).query("municipality == @OWN").staff_id)
    finally:
        store.close()
    staff_id = next(s for s in web_data.staff_ids(OWN) if s in employed)  # in post today, with a load
    add_users(data.data_dir, [UserSpec("handl1", Role.CASEWORKER, OWN, staff_id=staff_id)])
    with serving(data.data_dir) as base:
        log_in(page, base, "handl1")
        page.goto(f"{base}/mitt-arbete", timeout=120_000)
        form = page.locator(f"#skatta-{THIS_MONTH:%Y-%m}")
        form.get_by_label("4 För hög – något fick vänta").check()
        form.get_by_label("Ditt flexsaldo vid månadens slut").fill("-3,5")
        form.get_by_role("button", name=f"Spara skattningen för {THIS_MONTH_NAME}").click()

        expect(page.get_by_role("status")).to_have_text(f"Din skattning för {THIS_MONTH_NAME} är sparad.")
        form = page.locator(f"#skatta-{THIS_MONTH:%Y-%m}")
        expect(form.get_by_label("4 För hög – något fick vänta")).to_be_checked()
        expect(form.get_by_label("Ditt flexsaldo vid månadens slut")).to_have_value("-3,5")
        newest = page.locator("#tabell-min-arbetstyngd tbody tr").first
        expect(newest.locator("th, td").first).to_have_text(f"{THIS_MONTH:%Y-%m}")
        expect(newest).to_contain_text("4")
        expect(newest).to_contain_text("3,5")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "mitt-arbete-skattning.png"), full_page=True)
    assert stored_ratings(data) == [(staff_id, THIS_MONTH, 4, -3.5)]
