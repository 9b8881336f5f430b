"""Every scope rule of the web app, through the real app (FastAPI's TestClient) over a real data
folder, tried as an attacker would: changed ids in URLs, another unit's download, another user's
upload, forms without their token, guessed passwords. Each test reads what actually comes back
(cells, rows, files, the audit log), not only the status code.

The data folder, its users (one per role, in municipality OWN) and the app are shared by the
whole session (tests/webapp.py); the import tests load into a copy of it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import secrets
import time
from pathlib import Path
from urllib.parse import unquote_plus

import duckdb
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
from webapp import (
    BASE_URL,
    OWN,
    PASSWORD,
    UserSpec,
    add_users,
    audit_since,
    client,
    copy_data_folder,
    csv_rows,
    hidden_field,
    last_audit_id,
    logged_in,
    login,
    nav_links,
    parse,
    tables_of,
    wait_for_import,
    xlsx_rows,
)

from insyn.disclosure.status import is_hidden
from insyn.indicators.definitions import area_names, by_id
from insyn.model.municipalities import municipality_names
from insyn.publish.publication import prepare
from insyn.swedish import COUNT, format_value
from insyn.web import accounts
from insyn.web.accounts import Role
from insyn.web.app import create_app
from insyn.workflows import store_for

pytest_plugins = ["webapp"]

ADMIN, ANALYST, MUNICIPALITY, UNIT_MANAGER, CASEWORKER = Role
STATISTICS = {ADMIN, ANALYST, MUNICIPALITY, UNIT_MANAGER}
AREAS = list(area_names())
# Every page, with the roles that may open it (and download its tables); nobody else may.
ACCESS: dict[str, set[Role]] = {
    "/oversikt": STATISTICS,
    **{f"/omrade/{area}": STATISTICS for area in AREAS},
    "/jamforelse": STATISTICS,
    "/prognos": STATISTICS,
    "/personal/handlaggare": {UNIT_MANAGER},
    "/mitt-arbete": {CASEWORKER},
    "/kompetens": set(Role),
    "/logg": {ADMIN},
    "/anvandare": {ADMIN},
    "/import": {ADMIN, ANALYST, MUNICIPALITY},
}
TABLE_PAGES = [p for p in ACCESS if p != "/import"]  # pages made of downloadable tables
HIDDEN = ".."
DENIED = "Ingen åtkomst"


def html_of(response) -> str:
    assert response.headers["content-type"].startswith("text/html"), response.headers["content-type"]
    return response.text


def row_of(table: list[list[str]], first: str) -> list[str]:
    """The table's row whose first cell is `first`."""
    found = [r for r in table[1:] if r and r[0] == first]
    assert len(found) == 1, (first, table[:3])
    return found[0]


def number(text: str) -> float:
    """A number as the page shows it ("1 234", "12,5 %")."""
    return float(re.sub(r"[^\d,.-]", "", text.replace("\u202f", "")).replace(",", "."))


def assert_denied(response, *leaks: str) -> None:
    assert response.status_code == 403, (response.status_code, response.text[:300])
    text = html_of(response)
    assert DENIED in text and "Din roll" in text
    assert "<table" not in text and "content-disposition" not in response.headers
    for leak in leaks:
        assert leak not in text


# --- shared facts ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def download_ids(role_clients) -> dict[str, str]:
    """A table id of every table page, read off the page by a role that may see it."""
    ids = {}
    for path in TABLE_PAGES:
        role = next(r for r in (ADMIN, UNIT_MANAGER, CASEWORKER) if r in ACCESS[path])
        tables = tables_of(html_of(role_clients[role].get(path)))
        assert tables, path
        ids[path] = next(iter(tables))
    return ids


@pytest.fixture(scope="module")
def published(web_data) -> pd.DataFrame:
    """The rows as published (insyn report's view), from the stored results."""
    settings = web_data.settings
    return prepare(web_data.results, settings.disclosure_rules(), cache_dir=settings.cache_dir).rows


def _plain(frame: pd.DataFrame, *keep: str) -> pd.Series:
    """Rows without a breakdown, other than those in `keep`."""
    mask = pd.Series(True, index=frame.index)
    for dimension in ("unit", "sex", "age_group", "category"):
        if dimension not in keep:
            mask &= frame[dimension].isna()
    return mask


def _raw(results: pd.DataFrame, indicator: str, municipality: str, period: str, unit: str | None = None):
    rows = results[(results.indicator == indicator) & (results.municipality == municipality)
                   & (results.period == period) & _plain(results, "unit")
                   & (results.unit.isna() if unit is None else results.unit == unit)]
    assert len(rows) == 1
    return rows.iloc[0]


def hidden_cell(published, results, municipality: str, unit: str | None = None):
    """(definition, period, raw result) of a year a page shows that the publication hides but whose
    numerator was computed (a whole number): without breakdown (the page's "-ar" table), or of
    `unit` in the indicator's latest year (its "-unit" table). Case-flow indicators first."""
    definitions = by_id()
    latest = published[published.period_type == "year"].groupby("indicator").period.max()
    rows = published[(published.municipality == municipality) & (published.period_type == "year")
                     & _plain(published, "unit") & published.status.map(is_hidden)]
    rows = rows[rows.unit.isna()] if unit is None else rows[(rows.unit == unit)
                                                           & (rows.period == rows.indicator.map(latest))]
    for row in sorted(rows.itertuples(), key=lambda r: (definitions[r.indicator].area != "arendeflode",
                                                        r.indicator, r.period)):
        definition = definitions[row.indicator]
        if definition.category or (unit is not None and "unit" not in definition.breakdowns):
            continue
        raw = _raw(results, row.indicator, municipality, row.period, unit)
        if pd.notna(raw.numerator) and float(raw.numerator).is_integer() and pd.notna(raw.value):
            return definition, row.period, raw
    pytest.fail(f"no hidden cell of {municipality} {unit or ''} in the data: change the seed")


# --- not logged in ------------------------------------------------------------------------------

UNAUTHENTICATED = [
    *(("GET", path) for path in ACCESS), "/",
    *(("GET", f"{path}/tabell/{table}.{fmt}") for path, table in
      (("/oversikt", "oversikt-arendeflode"), ("/personal/handlaggare", "handlaggare"),
       ("/mitt-arbete", "min-arbetstyngd"), ("/logg", "logg"), ("/anvandare", "anvandare"))
      for fmt in ("xlsx", "csv")),
    ("GET", f"/omrade/{AREAS[0]}/tabell/tratt.csv?kommun={OWN}"),
    ("GET", "/personal/handlaggare?enhet=Utredning"),
    ("GET", "/import/" + "A" * 32), ("GET", "/import/" + "A" * 32 + "/tabell/fel.csv"),
    ("POST", "/logga-ut"), ("POST", "/import"), ("POST", "/import/" + "A" * 32 + "/las-in"),
    ("POST", "/import/" + "A" * 32 + "/avbryt"),
]


@pytest.mark.parametrize("forged", [False, True], ids=["no-cookie", "forged-cookie"])
@pytest.mark.parametrize(("method", "url"), [u if isinstance(u, tuple) else ("GET", u) for u in UNAUTHENTICATED])
def test_without_a_session_everything_redirects_to_the_login_page(web_app, method, url, forged):
    browser = client(web_app)
    if forged:
        browser.cookies.set("insyn_session", secrets.token_urlsafe(32), domain="testserver")
    response = browser.request(method, url, data={"csrf": "x"} if method == "POST" else None)
    assert response.status_code == 303
    path = url.split("?")[0]
    assert response.headers["location"] == f"/logga-in?nasta={path}"
    assert response.content == b"" and "content-disposition" not in response.headers


def test_the_login_page_shows_no_menu_and_no_data(web_app):
    page = client(web_app).get("/logga-in")
    assert page.status_code == 200
    assert nav_links(page.text) == [] and "<table" not in page.text
    assert 'name="anvandarnamn"' in page.text and hidden_field(page.text, "csrf")


# --- each role: pages, downloads, menu ------------------------------------------------------------

@pytest.fixture(scope="module")
def headers_seen() -> dict:
    """The header rows of each page's tables as each role saw them, for its downloads to match."""
    return {}


ROUTE_CASES = [(role, path, kind) for role in Role for path in ACCESS
               for kind in (("page",) if path == "/import" else ("page", "xlsx", "csv"))]


@pytest.mark.parametrize(("role", "path", "kind"), ROUTE_CASES,
                         ids=[f"{r.value}-{p}-{k}" for r, p, k in ROUTE_CASES])
def test_each_role_reaches_exactly_its_pages_and_downloads(role, path, kind, role_clients, download_ids,
                                                           web_data, web_users, headers_seen):
    browser = role_clients[role]
    url = path if kind == "page" else f"{path}/tabell/{download_ids[path]}.{kind}"
    before = last_audit_id(web_data.data_dir)
    response = browser.get(url)
    if role not in ACCESS[path]:
        assert_denied(response)
        denied = audit_since(web_data.data_dir, before, action="denied", username=web_users[role].username)
        assert [e.target for e in denied] == [url], "every refusal is logged, with what was asked"
        assert denied[0].client == "testclient" and denied[0].role == role.value
        return
    assert response.status_code == 200, response.text[:300]
    if kind == "page":
        page = parse(html_of(response))
        headers_seen[role, path] = {table_id: rows[0] for table_id, rows in page.tables.items()}
        assert set(page.nav_links) == {p for p, roles in ACCESS.items() if role in roles}
        if path == "/import":
            assert 'action="/import"' in response.text and 'type="file"' in response.text
        else:
            assert download_ids[path] in page.tables and len(page.tables[download_ids[path]]) > 1
        return
    if (role, path) not in headers_seen:
        headers_seen[role, path] = {t: rows[0] for t, rows in tables_of(html_of(browser.get(path))).items()}
    header = headers_seen[role, path][download_ids[path]]
    assert response.headers["content-disposition"] == f'attachment; filename="{download_ids[path]}.{kind}"'
    if kind == "csv":
        assert response.headers["content-type"].startswith("text/csv")
        assert csv_rows(response.content)[0] == header
    else:
        assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
        assert [str(c) for c in xlsx_rows(response.content)[4] if c is not None] == header


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_the_menu_shows_exactly_the_roles_pages_and_each_opens(role, role_clients):
    browser = role_clients[role]
    start = browser.get("/")
    assert start.status_code == 303
    assert start.headers["location"] == ("/mitt-arbete" if role == CASEWORKER else "/oversikt")
    links = nav_links(html_of(browser.get(start.headers["location"])))
    assert len(links) == len(set(links))
    assert set(links) == {p for p, roles in ACCESS.items() if role in roles}
    for link in links:
        assert browser.get(link).status_code == 200, link


# --- caseworker ----------------------------------------------------------------------------------

def test_caseworker_sees_only_their_own_caseload(role_clients, web_data, web_users):
    user = web_users[CASEWORKER]
    browser = role_clients[CASEWORKER]
    own = web_data.caseworkers[(web_data.caseworkers.municipality == OWN)
                               & (web_data.caseworkers.staff_id == user.staff_id)].sort_values("period",
                                                                                                ascending=False)
    others = [s for s in web_data.staff_ids() if s != user.staff_id]
    assert len(own) > 12 and others
    own = own.head(12)  # the last 12 months (no ratings beyond the data here)
    # Ids of others in the query string change nothing: the page is always the caseworker's own.
    for query in ("", f"?personal={others[0]}&staff_id={others[0]}&kommun=0860&enhet=Utredning"):
        html = html_of(browser.get(f"/mitt-arbete{query}"))
        table = tables_of(html)["min-arbetstyngd"]
        assert [r[0] for r in table[1:]] == list(own.period)
        assert [r[2] for r in table[1:]] == [format_value(c, COUNT) for c in own.cases]
        assert [r[1] for r in table[1:]] == list(own.unit)
        shown = html.replace(query[1:], "") if query else html  # the query is repeated in the download links
        assert not [s for s in others if s in shown]
    download = browser.get("/mitt-arbete/tabell/min-arbetstyngd.csv?personal=" + others[0])
    rows = csv_rows(download.content)
    assert [r[0] for r in rows[1:]] == list(own.period)
    assert not [s for s in others if s in download.content.decode()]
    book = xlsx_rows(browser.get("/mitt-arbete/tabell/min-arbetstyngd.xlsx").content)
    texts = " ".join(str(c) for row in book for c in row if c is not None)
    assert not [s for s in others if s in texts]


def test_caseworker_reaches_no_statistics_and_no_one_elses_load(role_clients, web_data, web_users, download_ids):
    browser = role_clients[CASEWORKER]
    others = [s for s in web_data.staff_ids(OWN) if s != web_users[CASEWORKER].staff_id]
    for url in ["/oversikt", f"/oversikt?kommun={OWN}", f"/omrade/{AREAS[0]}?kommun={OWN}", "/jamforelse",
                f"/omrade/{AREAS[-1]}/tabell/{download_ids[f'/omrade/{AREAS[-1]}']}.xlsx",
                "/personal/handlaggare", "/personal/handlaggare?enhet=Utredning",
                "/personal/handlaggare/tabell/handlaggare.csv", "/personal/handlaggare/tabell/handlaggare.xlsx"]:
        assert_denied(browser.get(url), *others)


# --- unit manager -------------------------------------------------------------------------------

def _unit_staff(web_data, unit: str, month: str | None = None) -> tuple[str, list[str]]:
    frame = web_data.caseworkers[(web_data.caseworkers.municipality == OWN) & (web_data.caseworkers.unit == unit)]
    month = month or frame.period.max()
    return month, sorted(frame[frame.period == month].staff_id)


def test_unit_manager_sees_each_caseworker_of_their_own_unit(role_clients, web_data, web_users):
    user = web_users[UNIT_MANAGER]
    unit = user.units[0]
    browser = role_clients[UNIT_MANAGER]
    month, staff = _unit_staff(web_data, unit)
    first = str(pd.Period(month, "M") - 11)
    before = last_audit_id(web_data.data_dir)
    page = html_of(browser.get("/personal/handlaggare"))
    table = tables_of(page)["handlaggare"]
    assert sorted(r[0] for r in table[1:-1]) == staff and len(staff) >= 3
    assert table[-1][0] == "Enheten totalt"
    assert page.count('class="chart load-chart"') == len(staff) + 1  # twelve months each, and the unit's
    reads = audit_since(web_data.data_dir, before, action="read_caseworkers")
    assert [(e.username, e.client, e.target) for e in reads] == [(user.username, "testclient",
                                                                 f"{OWN} {unit} {first}–{month}")]
    # The own unit's download opens in Excel and holds the ids the page shows, the months
    # as text where the page has its chart.
    book = xlsx_rows(browser.get("/personal/handlaggare/tabell/handlaggare.xlsx").content)
    assert book[4][0] == "Handläggare" and book[4][7] == "Månad för månad"
    assert sorted(r[0] for r in book[5:] if r[0] and str(r[0]).startswith(f"{OWN}-")) == staff
    assert all(str(r[7]).startswith(f"{first}: ") for r in book[5:5 + len(staff)])
    rows = csv_rows(browser.get("/personal/handlaggare/tabell/handlaggare.csv").content)
    assert sorted(r[0] for r in rows[1:-1]) == staff and rows[-1][0] == "Enheten totalt"


def test_unit_manager_cannot_read_another_units_caseworkers(role_clients, web_data, web_users):
    user = web_users[UNIT_MANAGER]
    browser = role_clients[UNIT_MANAGER]
    others = [u for u in web_data.units(OWN) if u not in user.units]
    assert others
    for other in others:
        _, staff = _unit_staff(web_data, other)
        leaks = [s for s in staff if s not in _unit_staff(web_data, user.units[0])[1]]
        for url in (f"/personal/handlaggare?enhet={other}",
                    f"/personal/handlaggare/tabell/handlaggare.xlsx?enhet={other}",
                    f"/personal/handlaggare/tabell/handlaggare.csv?enhet={other}&manad=2024-11"):
            before = last_audit_id(web_data.data_dir)
            assert_denied(browser.get(url), *leaks)
            entries = audit_since(web_data.data_dir, before, username=user.username)
            assert [e.action for e in entries] == ["denied"], "nothing read, nothing downloaded, one refusal"
            assert other not in entries[0].detail, "the page (its message) shows no text from the URL"
            assert unquote_plus(entries[0].target) == url, "the log says what was asked"


def test_unit_manager_cannot_reach_a_unit_of_the_same_name_in_another_municipality(role_clients, web_data,
                                                                                   web_users):
    unit = web_users[UNIT_MANAGER].units[0]
    browser = role_clients[UNIT_MANAGER]
    elsewhere = [m for m in web_data.caseworkers[web_data.caseworkers.unit == unit].municipality.unique() if m != OWN]
    assert elsewhere, "the same unit name in another municipality"
    _, own_staff = _unit_staff(web_data, unit)
    for municipality in elsewhere:
        response = browser.get(f"/personal/handlaggare?enhet={unit}&kommun={municipality}")
        ids = sorted(r[0] for r in tables_of(html_of(response))["handlaggare"][1:-1])
        assert ids == own_staff
        assert not [s for s in web_data.staff_ids(municipality) if s in response.text]


# --- in full against as published -----------------------------------------------------------------

def _year_cells(browser, definition, municipality: str, period: str) -> tuple[list[str], list[str]]:
    """The (value, numerator, denominator) of one year, on the area page and in its CSV."""
    table_id = f"{definition.id}-ar"
    page = tables_of(html_of(browser.get(f"/omrade/{definition.area}?kommun={municipality}")))
    download = browser.get(f"/omrade/{definition.area}/tabell/{table_id}.csv?kommun={municipality}")
    return row_of(page[table_id], period)[1:], row_of(csv_rows(download.content), period)[1:]


def test_municipality_sees_its_own_hidden_cells_and_the_analyst_does_not(role_clients, published, web_data):
    definition, period, raw = hidden_cell(published, web_data.results, OWN)
    shown, downloaded = _year_cells(role_clients[MUNICIPALITY], definition, OWN, period)
    assert shown[1] == format_value(raw.numerator, COUNT)
    assert shown[0].startswith(format_value(raw.value, definition.unit))
    assert downloaded[1] == f"{raw.numerator:.0f}" and HIDDEN not in downloaded[:2]
    for role in (ANALYST, ADMIN, UNIT_MANAGER):  # the unit manager: not a unit row, so as published
        shown, downloaded = _year_cells(role_clients[role], definition, OWN, period)
        assert shown == downloaded == [HIDDEN] * 3, role


def test_municipality_sees_other_municipalities_as_published(role_clients, published, web_data):
    for other in (m for m in web_data.results.municipality.unique() if m != OWN):
        definition, period, raw = hidden_cell(published, web_data.results, other)
        shown, downloaded = _year_cells(role_clients[MUNICIPALITY], definition, other, period)
        assert shown == downloaded == [HIDDEN] * 3, (other, definition.id, period)
        # Every table of the other municipality's pages, cell for cell, as the analyst (as published) sees it.
        for area in AREAS:
            published_view = tables_of(html_of(role_clients[ANALYST].get(f"/omrade/{area}?kommun={other}")))
            for role in (MUNICIPALITY, UNIT_MANAGER):
                assert tables_of(html_of(role_clients[role].get(f"/omrade/{area}?kommun={other}"))) == published_view


def _unit_cells(browser, definition, unit: str) -> tuple[list[str], list[str]]:
    table_id = f"{definition.id}-unit"
    page = tables_of(html_of(browser.get(f"/omrade/{definition.area}?kommun={OWN}")))
    download = browser.get(f"/omrade/{definition.area}/tabell/{table_id}.csv?kommun={OWN}")
    return row_of(page[table_id], unit)[1:], row_of(csv_rows(download.content), unit)[1:]


def test_unit_manager_sees_only_their_own_units_in_full(role_clients, published, web_data, web_users):
    own_unit = web_users[UNIT_MANAGER].units[0]
    definition, _, raw = hidden_cell(published, web_data.results, OWN, own_unit)
    for role in (UNIT_MANAGER, MUNICIPALITY):
        shown, downloaded = _unit_cells(role_clients[role], definition, own_unit)
        assert shown[1] == format_value(raw.numerator, COUNT) and downloaded[1] == f"{raw.numerator:.0f}", role
    shown, downloaded = _unit_cells(role_clients[ANALYST], definition, own_unit)
    assert shown == downloaded == [HIDDEN] * 3
    own_rows = published[published.municipality == OWN]
    other_unit = next(u for u in web_data.units(OWN)
                      if u != own_unit and own_rows[own_rows.unit == u].status.map(is_hidden).any())
    definition, _, raw = hidden_cell(published, web_data.results, OWN, other_unit)
    shown, downloaded = _unit_cells(role_clients[UNIT_MANAGER], definition, other_unit)
    assert shown == downloaded == [HIDDEN] * 3
    shown, _ = _unit_cells(role_clients[MUNICIPALITY], definition, other_unit)
    assert shown[1] == format_value(raw.numerator, COUNT)


def _derivable_unit(published: pd.DataFrame, results: pd.DataFrame):
    """An indicator and year of OWN whose total is published and whose unit counts add up to it,
    with at least two units hidden: a manager of all but one of them sees the total, the
    published units and their own in full."""
    definitions = by_id()
    latest = published[published.period_type == "year"].groupby("indicator").period.max()
    rows = published[(published.municipality == OWN) & _plain(published, "unit")
                     & (published.period == published.indicator.map(latest))]
    for (indicator, period), group in rows.groupby(["indicator", "period"]):
        total, units = group[group.unit.isna()], group[group.unit.notna()]
        hidden = sorted(units[units.status.map(is_hidden).astype(bool)].unit)
        if len(total) != 1 or is_hidden(total.status.iloc[0]) or len(hidden) < 2:
            continue
        raw = results[(results.indicator == indicator) & (results.municipality == OWN) & (results.period == period)
                      & _plain(results, "unit")]
        by_unit = raw[raw.unit.notna()].set_index("unit").numerator
        if (raw.numerator % 1 != 0).any() or by_unit.sum() != raw[raw.unit.isna()].numerator.iloc[0]:
            continue
        victim = next((u for u in hidden if 0 < by_unit[u] < 5), None)
        if victim:
            return definitions[indicator], period, tuple(u for u in hidden if u != victim), victim, by_unit[victim]
    pytest.fail("no unit count to attack in the data: change the seed")


def test_unit_manager_of_several_units_cannot_work_out_another_units_hidden_count(web_app, web_data, published):
    definition, period, units, victim, truth = _derivable_unit(published, web_data.results)
    username = "chef.flera.enheter"
    add_users(web_data.data_dir, [UserSpec(username, UNIT_MANAGER, OWN, units)])
    browser = logged_in(web_app, username)
    page = tables_of(html_of(browser.get(f"/omrade/{definition.area}")))
    total = row_of(page[f"{definition.id}-ar"], period)[2]
    others = [r[2] for r in page[f"{definition.id}-unit"][1:] if r[0] != victim]
    assert row_of(page[f"{definition.id}-unit"], victim)[2] == HIDDEN
    recovered = None if HIDDEN in [total, *others] else number(total) - sum(number(o) for o in others)
    assert recovered != truth, (f"{definition.id} {period}: the manager of {', '.join(units)} works out "
                                f"{victim}'s hidden {truth:.0f} as {total} − ({' + '.join(others)})")


# --- ids and paths in URLs ----------------------------------------------------------------------------

MARKER = "zq9marker"  # text from the URL, which no page may show


@pytest.mark.parametrize("url", [f"/oversikt?kommun={MARKER}", f"/omrade/{AREAS[0]}?kommun={MARKER}",
                                 f"/oversikt/tabell/oversikt-arendeflode.xlsx?kommun={MARKER}",
                                 f"/omrade/{AREAS[-1]}/tabell/{AREAS[-1]}.csv?kommun={MARKER}"])
def test_an_unknown_municipality_is_not_found_in_swedish(role_clients, url):
    response = role_clients[MUNICIPALITY].get(url)
    assert response.status_code == 404
    assert "Kommunen finns inte i underlaget." in html_of(response) and "<table" not in response.text
    assert MARKER not in response.text


@pytest.mark.parametrize(("url", "message"), [
    (f"/omrade/{MARKER}", "Området finns inte."),
    (f"/jamforelse?indikator={MARKER}", "Indikatorn finns inte i underlaget."),
    (f"/jamforelse?grupp={MARKER}", "Jämförelsegruppen finns inte."),
    (f"/oversikt?grupp={MARKER}", "Jämförelsegruppen finns inte för"),
    (f"/oversikt/tabell/{MARKER}.csv", "Tabellen finns inte på sidan."),
    (f"/oversikt/tabell/oversikt-arendeflode.{MARKER}", "Okänt filformat (xlsx eller csv)."),
    (f"/oversikt/tabell/{MARKER}.xlsx.csv", "Tabellen finns inte på sidan."),
    (f"/logg?handelse={MARKER}", "Okänd händelse."),
    (f"/logg?fran={MARKER}", "Ogiltigt datum"),
    (f"/import/{MARKER}x{MARKER}x{MARKER}", "Uppladdningen finns inte längre"),
    (f"/{MARKER}", "Sidan finns inte."),
])
def test_unknown_ids_are_not_found_with_a_swedish_message(role_clients, url, message):
    """No text from the URL on any page (docs/web.md): a message names what was not found, never
    the text asked for."""
    response = role_clients[ADMIN].get(url)
    assert response.status_code == 404
    assert message in html_of(response) and "<table" not in response.text
    assert "content-disposition" not in response.headers
    assert MARKER not in response.text


@pytest.mark.parametrize("url", ["/omrade/../logg", "/omrade/..%2Flogg", "/omrade/%2e%2e/logg",
                                 "/omrade/%2e%2e%2flogg", "/omrade/personal/../../logg",
                                 "/personal/handlaggare/../../logg", "/omrade/..%5clogg",
                                 "/mitt-arbete/../personal/handlaggare?enhet=Utredning",
                                 "/static/../../../etc/passwd", "/static/%2e%2e/%2e%2e/app.py"])
def test_path_tricks_never_show_data(role_clients, url, web_data):
    for role in (ANALYST, CASEWORKER):
        response = role_clients[role].get(url)
        assert response.status_code in (403, 404), (role, url, response.status_code)
        assert "<table" not in response.text and "content-disposition" not in response.headers
        assert "root:" not in response.text and "create_app" not in response.text
        assert not [s for s in web_data.staff_ids() if s in response.text]


@pytest.mark.parametrize("url", ["/oversikt?kommun=<b id=x>9999</b>", "/jamforelse?indikator=<b id=x>okand</b>",
                                 "/omrade/<b id=x>okand"])
def test_text_from_the_url_is_not_shown(role_clients, url):
    response = role_clients[ANALYST].get(url)
    assert response.status_code == 404
    assert "<b id=x>" not in response.text and "&lt;b id=x&gt;" not in response.text


def test_a_user_name_from_a_failed_login_is_escaped_in_the_log(web_app, role_clients):
    name = '<meta http-equiv="refresh" content="0;url=/logga-ut">'
    attacker = client(web_app, address="10.9.9.20")
    assert login(attacker, name, "fel-losenord-123").status_code == 401
    page = role_clients[ADMIN].get("/logg?handelse=login_failed")
    assert page.status_code == 200
    assert "<meta http-equiv" not in page.text and "&lt;meta http-equiv" in page.text


@pytest.mark.parametrize("nasta", ["https://evil.example/", "//evil.example/", "/\\evil.example/",
                                   "javascript:alert(1)", " //evil.example"])
def test_after_login_the_browser_never_leaves_the_site(web_app, nasta):
    browser = client(web_app)
    assert hidden_field(browser.get("/logga-in", params={"nasta": nasta}).text, "nasta") == "/"
    response = login(browser, "analytiker", nasta=nasta)
    assert response.status_code == 303 and response.headers["location"] == "/"
    browser.close()


def test_after_login_the_browser_goes_where_it_was_going(web_app):
    browser = client(web_app)
    assert browser.get("/omrade/personal").headers["location"] == "/logga-in?nasta=/omrade/personal"
    form = browser.get("/logga-in?nasta=/omrade/personal")
    assert hidden_field(form.text, "nasta") == "/omrade/personal"
    response = login(browser, "analytiker", nasta="/omrade/personal")
    assert response.headers["location"] == "/omrade/personal"
    assert browser.get("/omrade/personal").status_code == 200


# --- CSRF ----------------------------------------------------------------------------------------

def test_logout_with_a_wrong_token_is_refused_and_changes_nothing(web_app, web_data, role_clients):
    browser = logged_in(web_app, "analytiker")
    other_users_token = hidden_field(role_clients[MUNICIPALITY].get("/kompetens").text, "csrf")
    for token in ("fel", other_users_token, hidden_field(browser.get("/kompetens").text, "csrf")[:-1]):
        before = last_audit_id(web_data.data_dir)
        response = browser.post("/logga-ut", data={"csrf": token})
        assert response.status_code == 403 and "Formuläret kunde inte skickas" in html_of(response)
        assert "insyn_session" not in response.headers.get("set-cookie", "")
        assert browser.get("/oversikt").status_code == 200, "still logged in"
        assert "logout" not in [e.action for e in audit_since(web_data.data_dir, before)]
    browser.close()


def test_logout_with_its_token_ends_the_session_for_good(web_app, web_data):
    browser = logged_in(web_app, "analytiker")
    token = browser.cookies.get("insyn_session")
    before = last_audit_id(web_data.data_dir)
    response = browser.post("/logga-ut", data={"csrf": hidden_field(browser.get("/oversikt").text, "csrf")})
    assert response.status_code == 303 and response.headers["location"] == "/logga-in"
    assert re.search(r"insyn_session=.*(Max-Age=0|expires=Thu, 01 Jan 1970)", response.headers["set-cookie"], re.I)
    replay = client(web_app)
    replay.cookies.set("insyn_session", token, domain="testserver")
    assert replay.get("/oversikt").status_code == 303, "the old cookie opens nothing"
    [entry] = audit_since(web_data.data_dir, before, action="logout")
    assert (entry.username, entry.client) == ("analytiker", "testclient")


def _upload_folders(data_dir: Path) -> set[str]:
    folder = data_dir / "uppladdningar"
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


def test_import_with_a_wrong_token_is_refused_and_uploads_nothing(role_clients, web_data):
    browser = role_clients[ANALYST]
    before, folders = last_audit_id(web_data.data_dir), _upload_folders(web_data.data_dir)
    for token in ("fel", hidden_field(role_clients[MUNICIPALITY].get("/import").text, "csrf")):
        response = browser.post("/import", data={"csrf": token},
                                files={"filer": ("staff.csv", web_data.exports["staff"].read_bytes(), "text/csv")})
        assert response.status_code == 403 and "Formuläret kunde inte skickas" in html_of(response)
    assert _upload_folders(web_data.data_dir) == folders
    assert not audit_since(web_data.data_dir, before, action="import_validate")


@pytest.mark.parametrize("form", ["/logga-ut", "/import", "/logga-in"])
def test_a_form_without_its_token_is_refused_and_changes_nothing(web_app, web_data, form):
    browser = logged_in(web_app, "analytiker") if form != "/logga-in" else client(web_app)
    if form == "/logga-in":
        browser.get("/logga-in")
    before, folders = last_audit_id(web_data.data_dir), _upload_folders(web_data.data_dir)
    data = {"anvandarnamn": "analytiker", "losenord": PASSWORD} if form == "/logga-in" else {}
    files = {"filer": ("staff.csv", b"municipality,staff_id\n", "text/csv")} if form == "/import" else None
    response = browser.post(form, data=data, files=files)
    assert response.status_code in (403, 422) and "insyn_session" not in response.headers.get("set-cookie", "")
    assert _upload_folders(web_data.data_dir) == folders
    assert not [e for e in audit_since(web_data.data_dir, before) if e.action != "denied"]
    if form != "/logga-in":
        assert browser.get("/oversikt").status_code == 200, "still logged in"


@pytest.mark.parametrize("form", ["/logga-ut", "/import", "/logga-in"])
def test_a_form_without_its_token_gets_the_same_403_as_a_wrong_one(web_app, form):
    browser = logged_in(web_app, "analytiker") if form != "/logga-in" else client(web_app)
    browser.get("/logga-in")
    files = {"filer": ("staff.csv", b"municipality,staff_id\n", "text/csv")} if form == "/import" else None
    response = browser.post(form, data={"anvandarnamn": "analytiker", "losenord": PASSWORD}, files=files)
    assert response.status_code == 403 and "Formuläret kunde inte skickas" in response.text


def test_login_without_the_login_cookie_or_with_another_token_is_refused(web_app, web_data):
    for clear_cookie in (True, False):
        browser = client(web_app)
        field = hidden_field(browser.get("/logga-in").text, "csrf")
        if clear_cookie:
            browser.cookies.clear()
        else:
            field = hidden_field(client(web_app).get("/logga-in").text, "csrf")  # another browser's token
        before = last_audit_id(web_data.data_dir)
        response = browser.post("/logga-in", data={"anvandarnamn": "analytiker", "losenord": PASSWORD, "csrf": field})
        assert response.status_code == 403 and "Formuläret kunde inte skickas" in html_of(response)
        assert "insyn_session" not in response.headers.get("set-cookie", "")
        assert browser.get("/oversikt").status_code == 303
        assert not audit_since(web_data.data_dir, before)


# --- login rate limit ------------------------------------------------------------------------------

def test_five_wrong_passwords_lock_the_address_for_that_user_and_slow_the_user_down(web_app, web_data):
    add_users(web_data.data_dir, [UserSpec("sparrad", ANALYST), UserSpec("granne", ANALYST)])
    address = "10.9.9.9"
    before = last_audit_id(web_data.data_dir)
    browser = client(web_app, address)
    for attempt in range(5):
        response = login(browser, "sparrad", f"fel-losenord-{attempt}")
        assert response.status_code == 401 and "Fel användarnamn eller lösenord." in response.text
    for _ in range(30):  # the attacker keeps trying: one line in the log, not thirty
        blocked = login(browser, "sparrad", PASSWORD)
        assert blocked.status_code == 429
    assert "För många misslyckade inloggningar. Försök igen om 15 minuter." in blocked.text
    assert "insyn_session" not in blocked.headers.get("set-cookie", "")
    assert browser.get("/oversikt").status_code == 303
    # The address may still log in another user; the user, from another address, after a pause.
    assert login(client(web_app, address), "granne", PASSWORD).status_code == 303
    time.sleep(accounts.SLOWDOWN_START.total_seconds())
    assert login(client(web_app, "10.9.9.10"), "sparrad", PASSWORD).status_code == 303
    entries = list(reversed(audit_since(web_data.data_dir, before)))
    assert [(e.action, e.username, e.client) for e in entries] == [
        *[("login_failed", "sparrad", address)] * 5, ("login_blocked", "sparrad", address),
        ("login", "granne", address), ("login", "sparrad", "10.9.9.10")]


def test_a_long_user_name_is_cut_before_it_is_stored_and_one_of_a_megabyte_is_not_read(web_app, web_data):
    before = last_audit_id(web_data.data_dir)
    assert login(client(web_app, "10.9.8.1"), "x" * 60_000, "fel-losenord").status_code == 401
    (entry,) = audit_since(web_data.data_dir, before)
    assert entry.username == "x" * accounts.MAX_USERNAME_LENGTH
    assert login(client(web_app, "10.9.8.2"), "x" * 1_000_000, "fel-losenord").status_code == 400
    assert len(audit_since(web_data.data_dir, before)) == 1


def test_behind_a_trusted_proxy_the_client_is_the_forwarded_address(web_app, web_data):
    """Five failures through the proxy from one client lock that client only; a proxy not trusted
    cannot name another client (its X-Forwarded-For is ignored)."""
    add_users(web_data.data_dir, [UserSpec("bakom", ANALYST)])
    proxied = TestClient(ProxyHeadersMiddleware(web_app, trusted_hosts=["10.8.0.1"]), base_url=BASE_URL,
                         follow_redirects=False, client=("10.8.0.1", 50000))
    before = last_audit_id(web_data.data_dir)
    for attempt in range(5):
        assert login(proxied, "bakom", f"fel-{attempt}", headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 401
    assert login(proxied, "bakom", PASSWORD, headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 429
    time.sleep(accounts.SLOWDOWN_START.total_seconds())
    assert login(proxied, "bakom", PASSWORD, headers={"X-Forwarded-For": "198.51.100.4"}).status_code == 303
    clients = {e.client for e in audit_since(web_data.data_dir, before)}
    assert clients == {"203.0.113.7", "198.51.100.4"}  # the audit log says where from, not the proxy
    untrusted = TestClient(ProxyHeadersMiddleware(web_app, trusted_hosts=["10.8.0.1"]), base_url=BASE_URL,
                           follow_redirects=False, client=("10.8.0.2", 50000))
    before = last_audit_id(web_data.data_dir)
    assert login(untrusted, "bakom", "fel", headers={"X-Forwarded-For": "192.0.2.99"}).status_code == 401
    assert [e.client for e in audit_since(web_data.data_dir, before)] == ["10.8.0.2"]


# --- cookies, headers, nothing from other hosts ----------------------------------------------------

def _cookie(response, name: str) -> str:
    found = [c for c in response.headers.get_list("set-cookie") if c.startswith(f"{name}=")]
    assert len(found) == 1, response.headers.get_list("set-cookie")
    return found[0]


def test_session_and_login_cookies_are_httponly_secure_and_strict(web_app):
    browser = client(web_app)
    form = browser.get("/logga-in")
    response = login(browser, "analytiker")
    for cookie in (_cookie(form, "insyn_login_csrf"), _cookie(response, "insyn_session")):
        flags = {f.strip().lower() for f in cookie.split(";")[1:]}
        assert {"httponly", "secure", "samesite=strict", "path=/"} <= flags, cookie
        assert not [f for f in flags if f.startswith("domain")]


def test_every_response_carries_the_security_headers(role_clients, web_app, download_ids):
    browser = role_clients[UNIT_MANAGER]
    responses = [client(web_app).get("/logga-in"), client(web_app).get("/oversikt"),
                 browser.get("/oversikt"), browser.get("/logg"), browser.get("/omrade/okand"),
                 browser.get("/personal/handlaggare/tabell/handlaggare.xlsx"), browser.get("/static/insyn.css")]
    assert [r.status_code for r in responses] == [200, 303, 200, 403, 404, 200, 200]
    for response in responses:
        headers = response.headers
        policy = {d.split()[0]: d.split()[1:] for d in headers["content-security-policy"].split(";") if d.strip()}
        assert policy["script-src"] == ["'self'"] and policy["default-src"] == ["'self'"]
        assert policy["frame-ancestors"] == ["'none'"] and policy["object-src"] == ["'none'"]
        assert "unsafe-inline" not in headers["content-security-policy"]
        assert "unsafe-eval" not in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
        assert headers["strict-transport-security"].startswith("max-age=")
        if not response.url.path.startswith("/static/"):
            assert headers["cache-control"] == "no-store"


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_no_page_refers_to_another_host_or_runs_inline_code(role, role_clients):
    browser = role_clients[role]
    for path in (p for p, roles in ACCESS.items() if role in roles):
        html = html_of(browser.get(path))
        for reference in parse(html).references:
            assert reference.startswith(("/", "#")) and not reference.startswith("//"), (path, reference)
        assert not re.search(r"\s(src|href|action)\s*=\s*[\"']?\s*(https?:|//|javascript:)", html, re.I), path
        assert not re.search(r"<script(?![^>]*\ssrc=)", html), f"inline script on {path}"
        assert not re.search(r"\son[a-z]+\s*=", html), f"inline event handler on {path}"
        assert not re.search(r"\sstyle\s*=|<style", html), f"inline style on {path} (blocked by the CSP)"


# --- the audit log ------------------------------------------------------------------------------

def test_reads_downloads_and_sessions_are_logged_with_user_client_and_target(web_app, web_data, web_users):
    manager, caseworker = web_users[UNIT_MANAGER], web_users[CASEWORKER]
    before = last_audit_id(web_data.data_dir)
    browser = logged_in(web_app, manager.username, address="10.1.1.1")
    browser.get("/personal/handlaggare")
    browser.get(f"/omrade/personal/tabell/antal_anstallda-ar.csv?kommun={OWN}")
    browser.post("/logga-ut", data={"csrf": hidden_field(browser.get("/kompetens").text, "csrf")})
    own = logged_in(web_app, caseworker.username, address="10.1.1.2")
    own.get("/mitt-arbete")
    entries = [e for e in reversed(audit_since(web_data.data_dir, before)) if e.client in ("10.1.1.1", "10.1.1.2")]
    month = web_data.caseworkers[(web_data.caseworkers.municipality == OWN)
                                 & (web_data.caseworkers.unit == manager.units[0])].period.max()
    assert [(e.action, e.username, e.role, e.client, e.target) for e in entries] == [
        ("login", manager.username, "enhetschef", "10.1.1.1", ""),
        ("read_caseworkers", manager.username, "enhetschef", "10.1.1.1",
         f"{OWN} {manager.units[0]} {pd.Period(month, 'M') - 11}–{month}"),
        ("download", manager.username, "enhetschef", "10.1.1.1",
         f"/omrade/personal/tabell/antal_anstallda-ar.csv?kommun={OWN}"),
        ("logout", manager.username, "enhetschef", "10.1.1.1", ""),
        ("login", caseworker.username, "handlaggare", "10.1.1.2", ""),
        ("read_own_caseload", caseworker.username, "handlaggare", "10.1.1.2", f"{OWN} {caseworker.staff_id}"),
    ]
    staff = _unit_staff(web_data, manager.units[0])[1]
    assert entries[1].detail == f"{len(staff)} handläggare"
    assert entries[2].detail.endswith(f" – {municipality_names()[OWN]}")
    assert entries[5].detail.startswith("12 månader")


def test_only_the_administrator_reads_the_log_and_its_filters_work(role_clients, web_data):
    manager = role_clients[UNIT_MANAGER]
    manager.get("/personal/handlaggare/tabell/handlaggare.csv")
    admin = role_clients[ADMIN]
    table = tables_of(html_of(admin.get("/logg?handelse=download")))["logg"]
    assert len(table) > 1 and {r[4] for r in table[1:]} == {"Laddade ner tabell"}
    assert table[1][1:6] == ["enhetschef", "Enhetschef", "testclient", "Laddade ner tabell",
                             "/personal/handlaggare/tabell/handlaggare.csv"]
    table = tables_of(html_of(admin.get("/logg?anvandare=enhetschef&handelse=read_caseworkers")))["logg"]
    assert len(table) > 1 and {(r[1], r[4]) for r in table[1:]} == {("enhetschef", "Läste arbetstyngd per handläggare")}
    table = tables_of(html_of(admin.get(f"/logg?sok={OWN}+{web_data.units(OWN)[0]}")))["logg"]
    assert len(table) > 1 and all(f"{OWN} {web_data.units(OWN)[0]}" in r[5] + r[6] for r in table[1:])
    assert tables_of(html_of(admin.get("/logg?fran=2099-01-01")))["logg"][1:] == [["Inga rader."]]
    rows = csv_rows(admin.get("/logg/tabell/logg.csv?handelse=download").content)
    assert {r[4] for r in rows[1:]} == {"Laddade ner tabell"}
    for role in (ANALYST, MUNICIPALITY, UNIT_MANAGER, CASEWORKER):
        for url in ("/logg?handelse=download", "/logg/tabell/logg.csv?anvandare=admin",
                    "/anvandare/tabell/anvandare.xlsx"):
            assert_denied(role_clients[role].get(url), "Laddade ner tabell", "argon2")


# --- import -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def import_site(web_data, web_users, tmp_path_factory):
    """A copy of the data folder (loads change it), an app over it and its logged-in clients."""
    data = copy_data_folder(web_data, tmp_path_factory.mktemp("import") / "data")
    app = create_app(data.settings)
    browsers = {}

    def as_user(username: str):
        """A logged-in client of this app, one per user for the module (none logs out)."""
        if username not in browsers:
            browsers[username] = logged_in(app, username)
        return browsers[username]

    return data, app, as_user


def export_rows(web_data, table: str, municipalities=(OWN,)) -> tuple[list[str], list[dict]]:
    with web_data.exports[table].open(encoding="utf-8") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames), [r for r in reader if r.get("municipality", OWN) in municipalities]


def csv_file(columns: list[str], rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def upload(browser, name: str, body: bytes, **fields) -> str:
    """Uploads one file (with the form's other fields); returns the report's token."""
    response = browser.post("/import", data={"csrf": hidden_field(browser.get("/import").text, "csrf"), **fields},
                            files={"filer": (name, body, "text/csv")})
    assert response.status_code == 303, response.text[:500]
    token = response.headers["location"].removeprefix("/import/")
    assert re.fullmatch(r"[\w-]{20,64}", token)
    return token


def store_count(settings, sql: str) -> int:
    con = duckdb.connect(str(settings.database_path), read_only=True)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


def test_municipality_cannot_load_another_municipalitys_rows(import_site, web_data):
    data, _, as_user = import_site
    browser = as_user("kommun")
    columns, rows = export_rows(web_data, "staff", (OWN, "0860"))
    counts = store_count(data.settings, "SELECT count(*) FROM staff"), store_count(
        data.settings, "SELECT count(*) FROM staff WHERE municipality = '0860'")
    before = last_audit_id(data.data_dir)
    token = upload(browser, "personal.csv", csv_file(columns, rows))
    report = html_of(browser.get(f"/import/{token}"))
    assert "Filerna innehåller andra kommuner än din egen (0860): de kan inte läsas in med din roll." in report
    assert f'action="/import/{token}/las-in"' not in report
    csrf = hidden_field(report, "csrf")
    refused = browser.post(f"/import/{token}/las-in", data={"csrf": csrf})
    assert refused.status_code == 404 and "Uppladdningen kan inte läsas in" in html_of(refused)
    assert (store_count(data.settings, "SELECT count(*) FROM staff"), store_count(
        data.settings, "SELECT count(*) FROM staff WHERE municipality = '0860'")) == counts
    assert [e.action for e in reversed(audit_since(data.data_dir, before, username="kommun"))] == [
        "import_validate", "read_import_report"]
    assert browser.post(f"/import/{token}/avbryt", data={"csrf": csrf}).status_code == 303
    assert not (data.data_dir / "uppladdningar" / token).exists()


def test_municipality_cannot_load_the_shared_course_catalogue(import_site, web_data):
    data, _, as_user = import_site
    browser = as_user("kommun")
    columns, rows = export_rows(web_data, "courses")
    rows = [{**r, "programme": "annan"} for r in rows]  # every course moved out of its programme
    token = upload(browser, "kurser.csv", csv_file(columns, rows))
    report = html_of(browser.get(f"/import/{token}"))
    assert f'action="/import/{token}/las-in"' not in report
    refused = browser.post(f"/import/{token}/las-in", data={"csrf": hidden_field(report, "csrf")})
    assert refused.status_code == 404


def test_an_upload_with_errors_shows_each_by_row_and_column(import_site, web_data):
    data, _, as_user = import_site
    browser = as_user("kommun")
    columns, rows = export_rows(web_data, "events")
    rows = rows[:6]
    rows[1] = {**rows[1], "date": "2024-02-30"}   # spreadsheet row 3: the header is row 1
    rows[3] = {**rows[3], "event": "okand_handelse"}  # row 5
    token = upload(browser, "handelser.csv", csv_file(columns, rows))
    report = html_of(browser.get(f"/import/{token}"))
    tables = tables_of(report)
    assert tables["sammanfattning"][1] == ["handelser.csv", "händelser", "6", "4", "2"]
    errors = tables["fel"][1:]
    assert [r[:3] for r in errors] == [["handelser.csv", "3", "date"], ["handelser.csv", "5", "event"]]
    assert "datum" in errors[0][3] and "okand_handelse" in errors[1][3]
    download = csv_rows(browser.get(f"/import/{token}/tabell/fel.csv").content)
    assert [r[:3] for r in download[1:]] == [e[:3] for e in errors]
    numbers = {r["person_id"] for r in rows} | {r["person_id"].replace("-", "") for r in rows}
    assert not [n for n in numbers if n in report or n in str(download)], "no personal identity number shown"
    # The own municipality's: may be loaded (the rows with errors to quarantine), or discarded.
    assert f'action="/import/{token}/las-in"' in report
    assert browser.post(f"/import/{token}/avbryt", data={"csrf": hidden_field(report, "csrf")}).status_code == 303
    assert not (data.data_dir / "uppladdningar" / token).exists()


def test_a_valid_upload_loads_once_and_its_files_are_removed(import_site, web_data):
    data, _, as_user = import_site
    browser = as_user("kommun")
    columns, rows = export_rows(web_data, "staff")
    new = {**rows[0], "staff_id": f"{OWN}-S9999"}
    body = csv_file(columns, [*rows, new])
    count = f"SELECT count(*) FROM staff WHERE municipality = '{OWN}'"
    before_rows, before = store_count(data.settings, count), last_audit_id(data.data_dir)
    assert before_rows == len(rows)
    for replaced in (len(rows), len(rows) + 1):  # the first load adds one person; the second one nothing
        token = upload(browser, "personal.csv", body)
        folder = data.data_dir / "uppladdningar" / token
        assert (folder / "personal.csv").read_bytes() == body
        report = html_of(browser.get(f"/import/{token}"))
        loaded = browser.post(f"/import/{token}/las-in", data={"csrf": hidden_field(report, "csrf")})
        assert loaded.status_code == 303 and loaded.headers["location"] == f"/import/{token}"
        assert wait_for_import(data.data_dir, token) == "loaded"
        report = html_of(browser.get(f"/import/{token}"))
        assert "<h1>Inläst</h1>" in report and f'action="/import/{token}/las-in"' not in report
        tables = tables_of(report)
        assert tables["inlast"][1] == ["personal.csv", str(len(rows) + 1), str(replaced)]
        assert store_count(data.settings, count) == len(rows) + 1
        assert {p.name for p in folder.iterdir()} <= {"report.json", "upload.json", "progress.json"}
    assert store_count(data.settings, f"SELECT count(*) FROM staff WHERE staff_id = '{OWN}-S9999'") == 1
    entries = [e for e in reversed(audit_since(data.data_dir, before, username="kommun"))
               if e.action in ("import_validate", "import_load")]
    assert [(e.action, e.client, e.target) for e in entries] == [
        ("import_validate", "testclient", "personal.csv"), ("import_load", "testclient", "personal.csv")] * 2
    assert entries[1].detail.endswith(f"{len(rows) + 1} rader inlästa")


def test_an_upload_records_its_extract_date_and_refuses_rows_after_it(import_site, web_data):
    data, _, as_user = import_site
    browser = as_user("kommun")
    columns, rows = export_rows(web_data, "events")
    rows = rows[:4]
    last = max(r["date"] for r in rows)
    day_before = (dt.date.fromisoformat(last) - dt.timedelta(days=1)).isoformat()
    token = upload(browser, "handelser.csv", csv_file(columns, rows), uttagsdatum=day_before)
    report = html_of(browser.get(f"/import/{token}"))
    assert f"uttagsdatum {day_before}" in report
    late = [r for r in tables_of(report)["fel"][1:] if r[2] == "date"]
    assert late and all(r[3] == f"datum efter uttagsdatum {day_before}" for r in late)
    assert browser.post(f"/import/{token}/avbryt", data={"csrf": hidden_field(report, "csrf")}).status_code == 303
    for given, message in (("2024-02-30", "Uttagsdatum ska skrivas ÅÅÅÅ-MM-DD."),
                           ((dt.date.today() + dt.timedelta(days=1)).isoformat(), "ligger i framtiden")):
        refused = browser.post("/import", data={"csrf": hidden_field(browser.get("/import").text, "csrf"),
                                                "uttagsdatum": given},
                               files={"filer": ("handelser.csv", csv_file(columns, rows), "text/csv")})
        assert refused.status_code == 400 and message in html_of(refused)


def test_another_users_upload_is_not_found(import_site, web_data):
    data, _, as_user = import_site
    owner = as_user("kommun")
    columns, rows = export_rows(web_data, "staff")
    token = upload(owner, "personal.csv", csv_file(columns, rows[:2]))
    folder = data.data_dir / "uppladdningar" / token
    for username in ("analytiker", "admin"):
        browser = as_user(username)
        csrf = hidden_field(browser.get("/import").text, "csrf")
        for response in (browser.get(f"/import/{token}"), browser.get(f"/import/{token}/tabell/sammanfattning.csv"),
                         browser.post(f"/import/{token}/las-in", data={"csrf": csrf}),
                         browser.post(f"/import/{token}/avbryt", data={"csrf": csrf})):
            assert response.status_code == 404 and "Uppladdningen finns inte längre" in html_of(response)
            assert "personal.csv" not in response.text and "<table" not in response.text
        assert sorted(p.name for p in folder.iterdir()) == ["personal.csv", "report.json", "upload.json"]
    for bad in ("A" * 32, "..%2F..%2Fapp.sqlite3", token[:-1], f"..%2F{token}", "%2E%2E"):
        response = owner.get(f"/import/{bad}")
        assert response.status_code == 404 and "<table" not in response.text
    for role_user in ("enhetschef", "handlaggare"):
        assert_denied(as_user(role_user).get(f"/import/{token}"), "personal.csv")


@pytest.mark.parametrize("username", ["enhetschef", "handlaggare"])
def test_roles_without_import_cannot_upload(import_site, web_data, username):
    data, _, as_user = import_site
    browser = as_user(username)
    folders = _upload_folders(data.data_dir)
    csrf = hidden_field(browser.get("/kompetens").text, "csrf")
    response = browser.post("/import", data={"csrf": csrf},
                            files={"filer": ("personal.csv", web_data.exports["staff"].read_bytes(), "text/csv")})
    assert_denied(response)
    assert _upload_folders(data.data_dir) == folders


def test_pages_during_an_import_in_the_same_process_say_try_again(import_site):
    data, _, _ = import_site
    app = create_app(data.settings)  # nothing read yet, as after a restart or a finished import
    browser = logged_in(app, "analytiker")
    store = store_for(data.settings)  # what the background load holds while it runs
    try:
        response = browser.get("/oversikt")
    finally:
        store.close()
    assert response.status_code == 503 and "Försök igen om en stund" in html_of(response)


def test_a_refused_download_of_an_import_report_is_not_logged_as_a_download(import_site, web_data):
    data, _, as_user = import_site
    browser = as_user("kommun")
    columns, rows = export_rows(web_data, "staff")
    token = upload(browser, "personal.csv", csv_file(columns, rows[:2]))
    before = last_audit_id(data.data_dir)
    response = browser.get(f"/import/{token}/tabell/fel.pdf")
    assert response.status_code == 404 and "Okänt filformat (xlsx eller csv)" in html_of(response)
    assert not audit_since(data.data_dir, before, action="download")


def test_scbs_population_download_can_be_uploaded_and_loaded(import_site):
    """SCB's table as a municipality downloads it (here the API's JSON-stat) is read into
    populations on the web as in the terminal."""
    data, _, as_user = import_site
    browser = as_user("analytiker")
    body = (Path(__file__).parent / "data" / "scb" / "tab638_jsonstat2.json").read_bytes()
    token = upload(browser, "befolkning.json", body)
    report = html_of(browser.get(f"/import/{token}"))
    assert tables_of(report)["sammanfattning"][1][:4] == ["befolkning.json", "befolkning", "16", "16"]
    loaded = browser.post(f"/import/{token}/las-in", data={"csrf": hidden_field(report, "csrf")})
    assert loaded.status_code == 303 and wait_for_import(data.data_dir, token) == "loaded"
    assert store_count(data.settings, "SELECT count(*) FROM populations WHERE municipality = '0884' "
                                      "AND year = 2019 AND age_from = 17") == 1


# --- what leaves the app for a nämnd or an analyst is as published (issue 17) ----------------

def test_the_brief_and_the_long_table_are_as_published_for_every_reader(role_clients, web_data):
    """A municipality sees its own figures in full on its pages; the brief and the long table
    leave the app, so they are the published view, the same for every reader."""
    bodies = {}
    for role in (Role.MUNICIPALITY, Role.ANALYST):
        brief = role_clients[role].get("/oversikt/kommunblad.html?kommun=0884")
        table = role_clients[role].get("/jamforelse/allt-publicerat.csv")
        assert brief.status_code == table.status_code == 200
        assert "attachment" in brief.headers["content-disposition"]
        bodies[role] = (brief.text, table.content)
    assert bodies[Role.MUNICIPALITY] == bodies[Role.ANALYST]
    frame = pd.read_csv(io.BytesIO(bodies[Role.ANALYST][1]), sep=";", decimal=",", encoding="utf-8-sig",
                        dtype={"Kommunkod": str})
    assert "0884" in set(frame.Kommunkod) and pd.api.types.is_float_dtype(frame["Värde"])
    for role in (Role.CASEWORKER,):
        assert role_clients[role].get("/oversikt/kommunblad.pdf?kommun=0884").status_code == 403
        assert role_clients[role].get("/jamforelse/allt-publicerat.xlsx").status_code == 403
    assert role_clients[Role.ANALYST].get("/oversikt/kommunblad.doc?kommun=0884").status_code == 404
