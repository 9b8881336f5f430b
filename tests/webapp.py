"""Shared fixtures and functions for the web app's tests (insyn.web), over a real data folder.

A test module uses them with::

    pytest_plugins = ["webapp"]          # the fixtures below, built once per session
    from webapp import login, tables_of  # the plain functions

Fixtures:

- ``web_data`` (session): a data folder built once — synthetic exports of three municipalities
  of the demo region over two years (insyn.synth), imported and computed with
  ``insyn.workflows.run_import`` — with the facts tests pick their targets from (``WebData``);
- ``web_users`` (session): one user of every role in that folder (``USERS``, all with ``PASSWORD``);
- ``web_app`` (session): the app over the folder (``create_app``), statistics cached across tests;
- ``role_clients`` (session): one logged-in TestClient per role, for tests that only read;
- ``client_as`` (function): a TestClient logged in through the real login form as a user name.

``serving(data_dir)`` runs `insyn serve` in its own process, for tests against the real server.

Mind the shared login rate limit: five failed logins from one client address lock that
address out for 15 minutes for every test after it. A test that fails logins on purpose uses
its own address (``client(app, address="10.0.0.7")``) and its own user.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from insyn.model.municipalities import region_municipalities
from insyn.settings import Settings
from insyn.synth.generate import generate, write_tables
from insyn.web import audit
from insyn.web.accounts import Role, User, add_user
from insyn.web.app import create_app
from insyn.web.appstate import APP_STATE_FILE, connect, open_app_state
from insyn.workflows import run_import, store_for

MUNICIPALITIES = ("0884", "0860", "1407")  # Vimmerby, Hultsfred, Öckerö: small, so many small counts
YEARS = (2023, 2024)
SEED = 7
OWN = "0884"  # the municipality of the kommun, enhetschef and handlaggare users
PASSWORD = "rätt-lösenord-123"
BASE_URL = "https://testserver"  # https, so that the Secure session cookie is sent back


# --- the data folder ---------------------------------------------------------------------------

@dataclass(frozen=True)
class WebData:
    """A built data folder and what tests need to know of it."""

    settings: Settings
    exports: dict[str, Path]          # the generated export files by table (events, staff, …)
    tables: dict[str, pd.DataFrame]   # the generated tables, as written to `exports`
    results: pd.DataFrame             # the stored indicator results (unprotected)
    caseworkers: pd.DataFrame         # the stored workload per caseworker and month

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir

    def units(self, municipality: str) -> list[str]:
        """The municipality's units with caseworkers, the most caseworkers in the latest month first."""
        frame = self.caseworkers[self.caseworkers.municipality == municipality]
        latest = frame[frame.period == frame.period.max()]
        sizes = latest.groupby("unit").staff_id.nunique().sort_values(ascending=False, kind="stable")
        return [*sizes.index, *sorted(set(frame.unit.dropna()) - set(sizes.index))]

    def staff_ids(self, municipality: str | None = None, unit: str | None = None) -> list[str]:
        """Caseworkers with a computed workload, sorted."""
        frame = self.caseworkers
        if municipality:
            frame = frame[frame.municipality == municipality]
        if unit:
            frame = frame[frame.unit == unit]
        return sorted(set(frame.staff_id))


def build_data_folder(folder: Path, municipalities=MUNICIPALITIES, years=YEARS, seed: int = SEED) -> WebData:
    """Synthetic exports of `municipalities` (demo region codes) written under folder/export and
    imported into folder/data, indicators and workload computed."""
    region = region_municipalities("demo")
    tables = generate(region[region.municipality_code.isin(list(municipalities))], list(years), seed=seed)
    paths = write_tables(tables, folder / "export")
    settings = Settings(data_dir=folder / "data")
    run_import(settings, paths)
    open_app_state(settings.data_dir).close()
    return web_data_of(settings, {p.stem: p for p in paths}, tables)


def web_data_of(settings: Settings, exports: dict[str, Path], tables: dict[str, pd.DataFrame]) -> WebData:
    from insyn.indicators.engine import stored_results
    from insyn.workforce.workload import stored_workload

    store = store_for(settings, read_only=True)
    try:
        results, workload = stored_results(store), stored_workload(store)
    finally:
        store.close()
    return WebData(settings, exports, tables, results, workload.caseworkers)


def copy_data_folder(data: WebData, folder: Path) -> WebData:
    """A copy of the built folder (store, key, app state and its users) for a test that changes it,
    such as loading an import; the copy's statistics are those of the original."""
    shutil.copytree(data.data_dir, folder, ignore=shutil.ignore_patterns("uppladdningar"))
    return WebData(Settings(data_dir=folder), data.exports, data.tables, data.results, data.caseworkers)


@pytest.fixture(scope="session")
def web_data(tmp_path_factory) -> WebData:
    return build_data_folder(tmp_path_factory.mktemp("webb"))


# --- users ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class UserSpec:
    username: str
    role: Role
    municipality: str | None = None
    units: tuple[str, ...] = ()
    staff_id: str | None = None
    display_name: str = ""


def user_specs(data: WebData) -> dict[Role, UserSpec]:
    """One user of every role: the municipality-bound ones in OWN; the unit manager of OWN's
    largest unit; the caseworker one of that unit's caseworkers."""
    unit = data.units(OWN)[0]
    return {
        Role.ADMINISTRATOR: UserSpec("admin", Role.ADMINISTRATOR, display_name="Ada Admin"),
        Role.ANALYST: UserSpec("analytiker", Role.ANALYST, display_name="Anna Analytiker"),
        Role.MUNICIPALITY: UserSpec("kommun", Role.MUNICIPALITY, OWN, display_name="Karl Kommun"),
        Role.UNIT_MANAGER: UserSpec("enhetschef", Role.UNIT_MANAGER, OWN, (unit,), display_name="Eva Enhetschef"),
        Role.CASEWORKER: UserSpec("handlaggare", Role.CASEWORKER, OWN, staff_id=data.staff_ids(OWN, unit)[0],
                                  display_name="Hugo Handläggare"),
    }


def add_users(data_dir: Path, specs, password: str = PASSWORD) -> dict[str, User]:
    """Creates the users in the folder's app state (insyn.web.accounts.add_user); by user name."""
    with app_state(data_dir) as con:
        return {s.username: add_user(con, s.username, password, s.role, display_name=s.display_name or None,
                                     municipality=s.municipality, units=s.units, staff_id=s.staff_id)
                for s in specs}


@dataclass(frozen=True)
class WebUsers:
    specs: dict[Role, UserSpec]
    users: dict[str, User] = field(default_factory=dict)

    def __getitem__(self, role: Role | str) -> User:
        return self.users[self.specs[Role(role)].username]


@pytest.fixture(scope="session")
def web_users(web_data) -> WebUsers:
    specs = user_specs(web_data)
    return WebUsers(specs, add_users(web_data.data_dir, specs.values()))


@contextmanager
def app_state(data_dir: Path) -> Iterator[sqlite3.Connection]:
    con = open_app_state(data_dir)
    try:
        yield con
    finally:
        con.close()


def audit_entries(data_dir: Path, **filters) -> list[audit.Entry]:
    """The folder's audit log, newest first (filters as insyn.web.audit.entries)."""
    con = connect(data_dir / APP_STATE_FILE)
    try:
        return audit.entries(con, **filters)
    finally:
        con.close()


def last_audit_id(data_dir: Path) -> int:
    """The newest entry's id, to read only what a test wrote after it (`audit_since`)."""
    found = audit_entries(data_dir, limit=1)
    return found[0].id if found else 0


def audit_since(data_dir: Path, after: int, **filters) -> list[audit.Entry]:
    return [e for e in audit_entries(data_dir, limit=100_000, **filters) if e.id > after]


# --- the app and its clients ---------------------------------------------------------------------

@pytest.fixture(scope="session")
def web_app(web_data, web_users) -> FastAPI:
    return create_app(web_data.settings)


def client(app: FastAPI, address: str = "testclient") -> TestClient:
    """A browser without a session, over https, that does not follow redirects (tests see them)."""
    return TestClient(app, base_url=BASE_URL, follow_redirects=False, client=(address, 50000))


def login(browser: TestClient, username: str, password: str = PASSWORD, nasta: str | None = None,
          headers: dict[str, str] | None = None):
    """Signs in through the real form: GET /logga-in (the csrf cookie and field), then POST.
    Returns the POST's response (303 to `nasta` when it worked)."""
    form = browser.get("/logga-in", headers=headers)
    assert form.status_code == 200, form.text
    data = {"anvandarnamn": username, "losenord": password, "csrf": hidden_field(form.text, "csrf")}
    if nasta is not None:
        data["nasta"] = nasta
    return browser.post("/logga-in", data=data, headers=headers)


def logged_in(app: FastAPI, username: str, password: str = PASSWORD, address: str = "testclient") -> TestClient:
    browser = client(app, address)
    response = login(browser, username, password)
    assert response.status_code == 303, response.text
    return browser


@pytest.fixture(scope="session")
def role_clients(web_app, web_users) -> Iterator[dict[Role, TestClient]]:
    """One logged-in client per role (the users of ``web_users``), shared by the whole session:
    for reading only — a test that logs out or changes the session logs in on its own."""
    browsers = {role: logged_in(web_app, spec.username) for role, spec in web_users.specs.items()}
    yield browsers
    for browser in browsers.values():
        browser.close()


@pytest.fixture
def client_as(web_app) -> Iterator[Callable[[str], TestClient]]:
    """client_as("enhetschef"): a client logged in as that user (closed after the test)."""
    opened = []

    def make(username: str) -> TestClient:
        opened.append(logged_in(web_app, username))
        return opened[-1]

    yield make
    for browser in opened:
        browser.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(data_dir: Path, *options: str) -> Iterator[str]:
    """`insyn serve` in its own process on the data folder; yields its base url."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", "from insyn.cli import app; app()", "--data-dir", str(data_dir),
         "serve", "--port", str(port), *options], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{base}/logga-in", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"insyn serve startade inte:\n{server.stdout.read()}")
            time.sleep(0.2)
    try:
        yield base
    finally:
        server.terminate()
        server.wait(timeout=20)


def wait_for_import(data_dir: Path, token: str, timeout: float = 120) -> str:
    """Waits until the upload `token`, asked to load (POST /import/<token>/las-in), is no longer
    loading in the background; returns its stage ("loaded", or "failed")."""
    report = data_dir / "uppladdningar" / token / "report.json"
    deadline = time.monotonic() + timeout
    while True:
        try:
            stage = json.loads(report.read_text(encoding="utf-8"))["stage"]
        except ValueError:  # caught while being written
            stage = "loading"
        if stage != "loading":
            return stage
        assert time.monotonic() < deadline, f"upload {token} still loading after {timeout} s"
        time.sleep(0.1)


# --- reading what comes back ---------------------------------------------------------------------

class _Page(HTMLParser):
    """The tables (by id, without the "tabell-" prefix), hidden form fields, links and every
    src/href/action of a page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, list[list[str]]] = {}
        self.hidden: dict[str, list[str]] = {}
        self.nav_links: list[str] = []
        self.references: list[str] = []
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._nav = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("src", "href", "action", "formaction", "data", "poster"):
            if attrs.get(name) is not None:
                self.references.append(attrs[name])
        if tag == "table":
            self._table = (attrs.get("id") or "").removeprefix("tabell-")
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []
        elif tag == "input" and attrs.get("type") == "hidden":
            self.hidden.setdefault(attrs.get("name", ""), []).append(attrs.get("value", ""))
        elif tag == "nav" and attrs.get("aria-label") == "Huvudmeny":
            self._nav = 1
        elif tag == "nav" and self._nav:
            self._nav += 1
        elif tag == "a" and self._nav and attrs.get("href"):
            self.nav_links.append(attrs["href"])

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            # ASCII white space collapsed; the no-break spaces of numbers ("1 234", "12,5 %") kept
            self.tables[self._table][-1].append(re.sub(r"[ \t\r\n]+", " ", "".join(self._cell)).strip())
            self._cell = None
        elif tag == "table":
            self._table = None
        elif tag == "nav" and self._nav:
            self._nav -= 1

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def tables_of(html: str) -> dict[str, list[list[str]]]:
    """Every table of a page by id, each row as its cells' text (header row first)."""
    return parse(html).tables


def hidden_field(html: str, name: str) -> str:
    values = parse(html).hidden.get(name)
    assert values, f"no hidden field {name!r} on the page"
    return values[0]


def nav_links(html: str) -> list[str]:
    """The main menu's links, in order."""
    return parse(html).nav_links


def csv_rows(body: bytes) -> list[list[str]]:
    """A downloaded CSV (UTF-8 with BOM, semicolons) as rows of strings, header first."""
    text = body.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def xlsx_rows(body: bytes) -> list[tuple]:
    """A downloaded workbook's only sheet as rows of values (heading, title and caption first)."""
    book = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
    try:
        assert len(book.worksheets) == 1
        return [tuple(row) for row in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()
