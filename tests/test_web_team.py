"""The unit manager's page (insyn.web.routes_team) through the real app, on a copy of the test
data folder: the alerts follow the ratings stored now, the what-if shows the changed load and
saves nothing, and the names of the local name list are shown to the manager but never leave
the page in a download."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest
from webapp import OWN, copy_data_folder, logged_in, tables_of, xlsx_rows

from insyn.web.app import create_app
from insyn.web.appstate import open_app_state
from insyn.workflows import store_for

pytest_plugins = ["webapp"]


@pytest.fixture(scope="module")
def folder(web_data, web_users, tmp_path_factory):
    return copy_data_folder(web_data, tmp_path_factory.mktemp("enhetschef") / "data")


@pytest.fixture(scope="module")
def manager(folder):
    browser = logged_in(create_app(folder.settings), "enhetschef")
    yield browser
    browser.close()


def _unit_now(folder, unit: str) -> tuple[str, pd.DataFrame]:
    store = store_for(folder.settings, read_only=True)
    try:
        frame = store.raw.execute("SELECT * FROM workload_monthly WHERE municipality = ? AND unit = ?",
                                  [OWN, unit]).df()
    finally:
        store.close()
    latest = frame.period.max()
    return latest, frame[frame.period == latest].set_index("staff_id")


def _stored(folder) -> pd.DataFrame:
    store = store_for(folder.settings, read_only=True)
    try:
        return store.raw.execute("SELECT * FROM workload_monthly ORDER BY ALL").df()
    finally:
        store.close()


def _unit(web_users) -> str:
    return next(spec for spec in web_users.specs.values() if spec.username == "enhetschef").units[0]


def test_the_what_if_shows_the_changed_load_and_saves_nothing(manager, folder, web_users):
    unit = _unit(web_users)
    latest, now = _unit_now(folder, unit)
    stored_before = _stored(folder)
    page = manager.get("/personal/handlaggare").text
    # A case held by the most loaded caseworker, moved to the least loaded.
    heaviest, lightest = now.load_ratio.idxmax(), now.load_ratio.idxmin()
    option = re.search(rf'<option value="([^"]+)">[^<]* – {re.escape(heaviest)}, (\d+) poäng</option>', page)
    assert option, "the case list names each case's caseworker and its points"
    case, points = option.group(1), float(option.group(2))
    asked = manager.get("/personal/handlaggare", params={"enhet": unit, "arende": case, "till": lightest,
                                                          "extra": "1", "niva": "ny"})
    assert asked.status_code == 200
    tables = tables_of(asked.text)
    # The unit: one more caseworker at the level "ny" adds its norm of 100 points (workload.yaml).
    [_, before, after] = tables["vad-hander-om"]
    norm = now.norm_points.sum()
    assert before[0] == "nu" and after[0] == "efter ändringen"
    assert _number(before[3]) == pytest.approx(norm, abs=0.05)
    assert _number(after[3]) == pytest.approx(norm + 100, abs=0.05)
    assert _number(after[4]) == pytest.approx(100 * now.points.sum() / (norm + 100), abs=0.05)
    touched = {row[0]: row for row in tables["vad-hander-om-handlaggare"][1:]}
    assert _number(touched[heaviest][2]) == pytest.approx(now.points[heaviest] - points, abs=0.05)
    assert _number(touched[lightest][2]) == pytest.approx(now.points[lightest] + points, abs=0.05)
    assert "ingenting sparas" in asked.text
    pd.testing.assert_frame_equal(_stored(folder), stored_before)
    assert latest in asked.text


def test_a_rating_stored_now_raises_the_alert(manager, folder, web_users):
    unit = _unit(web_users)
    latest, now = _unit_now(folder, unit)
    calm = now.index[now.months_over_norm == 0][0]
    assert "Larm" in manager.get("/personal/handlaggare").text
    before = tables_of(manager.get("/personal/handlaggare").text).get("larm", [[]])
    assert calm not in [row[0] for row in before[1:]]
    # Rated "för hög" (4) the latest three months, as if on Mitt arbete: the next view has the alert.
    months = [(pd.Period(latest, "M") - k).start_time.date() for k in range(3)]
    store = store_for(folder.settings)
    try:
        store.raw.execute("DELETE FROM workload_ratings WHERE municipality = ? AND staff_id = ?", [OWN, calm])
        store.raw.executemany("INSERT INTO workload_ratings (municipality, staff_id, month, rating, flex_hours) "
                              "VALUES (?, ?, ?, 4, 10.0)", [(OWN, calm, m) for m in months])
    finally:
        store.close()
    page = manager.get("/personal/handlaggare").text
    alerts = {row[0]: row for row in tables_of(page)["larm"][1:]}
    assert calm in alerts
    # …and in the caseworker's months: three red squares under the line (and their description).
    table = page[page.index('id="tabell-handlaggare"'):]
    row = table[table.index(f"<th scope=\"row\">{calm}</th>"):]
    row = row[:row.index("</tr>")]
    assert row.count('<rect class="rating" fill="#b3261e"') == 3
    assert f"{latest}: " in row and ", skattning 4" in row
    assert alerts[calm][2] == "3" and "skattar sin belastning som för hög i 3 månader i följd" in alerts[calm][3]


def test_names_are_shown_to_the_manager_and_never_downloaded(manager, folder, web_users):
    unit = _unit(web_users)
    _, now = _unit_now(folder, unit)
    person = now.index[0]
    con = open_app_state(folder.settings.data_dir)  # as an imported list keeps it (tests/test_names.py)
    try:
        con.execute("INSERT INTO staff_names VALUES (?, ?, 'Ingrid Testsson', 'admin', '2026-01-01')", [OWN, person])
    finally:
        con.close()
    page = manager.get("/personal/handlaggare").text
    assert f"Ingrid Testsson ({person})" in page
    for fmt in ("xlsx", "csv"):
        body = manager.get(f"/personal/handlaggare/tabell/handlaggare.{fmt}").content
        text = " ".join(str(c) for row in xlsx_rows(body) for c in row) if fmt == "xlsx" else body.decode("utf-8-sig")
        assert person in text and "Ingrid" not in text and "Testsson" not in text
    # The what-if names the person in its form and its result; its tables are not for download.
    other = next(s for s in now.index if s != person)
    asked = manager.get("/personal/handlaggare", params={"enhet": unit, "extra": "1"}).text
    assert f'<option value="{person}">Ingrid Testsson ({person})</option>' in asked
    assert "/tabell/vad-hander-om" not in asked
    assert manager.get("/personal/handlaggare/tabell/vad-hander-om.csv", params={"enhet": unit}).status_code == 404
    assert other in asked
    # Nothing the app wrote to the data folder (store, logs, audit) holds the name but the list.
    for path in folder.settings.data_dir.rglob("*"):
        if path.is_file() and path.name != "app.sqlite3":
            assert b"Testsson" not in path.read_bytes(), path
    con = open_app_state(folder.settings.data_dir)
    try:
        logged = con.execute("SELECT group_concat(target || detail, ' ') FROM audit_log").fetchone()[0]
    finally:
        con.close()
    assert "Testsson" not in logged and "handläggare" in logged


def _number(text: str) -> float:
    return float(text.replace("\u00a0", "").replace(" ", "").replace("%", "").replace(",", "."))


def test_the_manager_sees_the_posts_whose_grant_ends_within_six_months(manager, folder, web_users):
    """Three posts of the unit in post on the first day of the latest month are marked in the
    store: one paid by a grant whose last decision ended before that day, one by a grant ending
    within six months, one by a grant the grants table does not know. The first two are listed,
    the one ending first first; nobody else."""
    unit = _unit(web_users)
    latest, _ = _unit_now(folder, unit)
    now = dt.date.fromisoformat(f"{latest}-01")
    store = store_for(folder.settings)
    try:
        in_post = store.raw.execute(
            "SELECT DISTINCT staff_id FROM staff WHERE municipality = ? AND unit = ? AND start_date <= ? "
            "AND (end_date IS NULL OR end_date >= ?) ORDER BY staff_id", [OWN, unit, now, now]).fetchall()
        ended, ending, unknown = (staff_id for (staff_id,) in in_post[:3])
        store.raw.execute("UPDATE staff SET funding = NULL WHERE municipality = ?", [OWN])
        store.raw.execute("INSERT INTO grants VALUES (?, 'Projekt A', ?, ?, 100000, NULL, 'test'), "
                          "(?, 'Projekt B', ?, ?, 200000, NULL, 'test')",
                          [OWN, now - dt.timedelta(days=400), now - dt.timedelta(days=1),
                           OWN, now - dt.timedelta(days=100), now + dt.timedelta(days=150)])
        for staff_id, grant in ((ended, "Projekt A"), (ending, "Projekt B"), (unknown, "Projekt okänt")):
            store.raw.execute("UPDATE staff SET funding = ? WHERE municipality = ? AND staff_id = ?",
                              [grant, OWN, staff_id])
    finally:
        store.close()
    page = manager.get("/personal/handlaggare", params={"enhet": unit})
    assert page.status_code == 200
    [header, *rows] = tables_of(page.text)["bidrag-upphor"]
    assert header[:4] == ["Medarbetare", "Bidrag", "Sista dag i beslutat bidrag", "Status"]
    assert [(re.sub(r".*\((.+)\)$", r"\1", row[0]), row[1], row[3]) for row in rows] == [
        (ended, "Projekt A", "har upphört"), (ending, "Projekt B", "upphör")]


# --- in a real browser ---------------------------------------------------------------------------

@pytest.mark.browser
def test_in_the_browser_a_rating_reaches_the_managers_trend_and_alert(page, web_data, web_users, tmp_path):
    """A caseworker in post rates the open months "för hög" on Mitt arbete (the month before them
    came in a file); their unit manager sees the ratings in the caseworker's chart and the alert,
    and the what-if's changed load without anything saved; the manager of another unit and
    another caseworker get 403."""
    from playwright.sync_api import expect
    from test_web_browser import ARTIFACTS, log_in
    from webapp import UserSpec, add_users, serving

    from insyn.settings import Settings
    from insyn.swedish import MONTHS
    from insyn.web.accounts import Role
    from insyn.web.data import current_staff
    from insyn.workforce.ratings import open_months

    page.set_default_timeout(120_000)  # the first statistics page after a login builds the publication
    data = copy_data_folder(web_data, tmp_path / "data")
    unit = _unit(web_users)
    latest, now = _unit_now(data, unit)
    store = store_for(data.settings, read_only=True)
    try:
        employed = set(current_staff(store).query("municipality == @OWN").staff_id)
    finally:
        store.close()
    staff_id = next(s for s in now.index if s in employed and now.months_over_norm[s] == 0)
    other_unit = next(u for u in web_data.units(OWN) if u != unit)
    add_users(data.data_dir, [UserSpec("handl1", Role.CASEWORKER, OWN, staff_id=staff_id),
                              UserSpec("handl2", Role.CASEWORKER, OWN, staff_id=next(s for s in employed
                                                                                     if s != staff_id)),
                              UserSpec("chef2", Role.UNIT_MANAGER, OWN, units=(other_unit,))])
    months = open_months(Settings(data_dir=data.data_dir).workload_config(), dt.date.today())
    earlier = [(months[-1] - dt.timedelta(days=1)).replace(day=1)]
    if len(months) == 1:  # after the tenth: one more month from the file, for a run of three
        earlier.append((earlier[0] - dt.timedelta(days=1)).replace(day=1))
    store = store_for(data.settings)
    try:  # as an imported workload_ratings file would hold them
        store.raw.executemany("INSERT INTO workload_ratings (municipality, staff_id, month, rating, flex_hours) "
                              "VALUES (?, ?, ?, 5, 20.0)", [(OWN, staff_id, m) for m in earlier])
    finally:
        store.close()
    before = _stored(data)
    with serving(data.data_dir) as base:
        log_in(page, base, "handl1")
        page.goto(f"{base}/mitt-arbete", timeout=120_000)
        for month in months:
            name = f"{MONTHS[month.month - 1]} {month.year}"
            form = page.locator(f"#skatta-{month:%Y-%m}")
            form.get_by_label("4 För hög – något fick vänta").check()
            form.get_by_label("Ditt flexsaldo vid månadens slut").fill("12")
            form.get_by_role("button", name=f"Spara skattningen för {name}").click()
            expect(page.get_by_role("status")).to_have_text(f"Din skattning för {name} är sparad.")
        page.get_by_role("button", name="Logga ut").click()

        log_in(page, base, "enhetschef")
        page.goto(f"{base}/personal/handlaggare", timeout=120_000)
        alert = page.locator("#tabell-larm tbody tr", has_text=staff_id)
        expect(alert).to_contain_text("skattar sin belastning som för hög i 3 månader i följd")
        row = page.locator("#tabell-handlaggare tbody tr", has_text=staff_id)
        for month in months:  # beyond the imported workload: the load a gap, the rating a red square
            expect(row).to_contain_text(f"{month:%Y-%m}: –, skattning 4")
        for month in earlier:
            expect(row).to_contain_text(f"{month:%Y-%m}: –, skattning 5")
        assert row.locator('rect.rating[fill="#b3261e"]').count() >= 3
        expect(row).to_contain_text(f"{months[0]:%Y-%m}")  # the latest rating's month
        page.locator("#om-extra").select_option("1")
        page.locator("#om-niva").select_option(label="Ny")
        page.get_by_role("button", name="Räkna").click()
        result = page.locator("#tabell-vad-hander-om")
        expect(result).to_contain_text("efter ändringen")
        norm = now.norm_points.sum() + 100
        expect(result.locator("tbody tr").nth(1)).to_contain_text(f"{norm:,.1f}".replace(",", "\u00a0")
                                                                  .replace(".", ","))
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "enhetschef-arbetstyngd.png"), full_page=True)
        page.get_by_role("button", name="Logga ut").click()

        for username in ("chef2", "handl2"):
            log_in(page, base, username)
            response = page.goto(f"{base}/personal/handlaggare?enhet={unit}")
            assert response is not None and response.status == 403, username
            expect(page.locator("body")).not_to_contain_text(staff_id)
            page.get_by_role("button", name="Logga ut").click()
    after = _stored(data)
    rated = after.rating.notna() & before.rating.isna()  # what the ratings wrote, and nothing else
    pd.testing.assert_frame_equal(after[~rated].drop(columns=["rating", "flex_hours"]),
                                  before[~rated].drop(columns=["rating", "flex_hours"]))
    assert latest in set(after.period)

