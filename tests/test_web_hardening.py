"""The web app against an attacker who sends too much, the wrong thing or nothing expected (issue 18):
bodies bounded and never read before login, bugs answered with the security headers, no text from
the URL on a page, repeated query parameters and invented units refused, failed uploads removed,
old uploads swept on a schedule. Each test is the attack, which today's app must refuse."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

import anyio
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from webapp import OWN, app_state, audit_since, client, copy_data_folder, hidden_field, last_audit_id, logged_in

from insyn.web import bookings, routes_import, security
from insyn.web.accounts import Role
from insyn.web.app import create_app
from insyn.web.registry import PageRouter
from insyn.web.security import HEADERS

pytest_plugins = ["webapp"]

MIB = 1 << 20
MARKER = "zq9marker"  # text from the URL, which no page may show


# --- calling the app as the server does, counting what it reads ---------------------------------

class Sent:
    """What the app answered, and how many bytes of the body it read."""

    def __init__(self):
        self.messages: list[dict] = []
        self.read = 0

    @property
    def status(self) -> int:
        return self.messages[0]["status"]

    @property
    def headers(self) -> dict[str, str]:
        return {k.decode().lower(): v.decode() for k, v in self.messages[0]["headers"]}

    @property
    def text(self) -> str:
        return b"".join(m.get("body", b"") for m in self.messages[1:]).decode("utf-8")


def send_asgi(app: FastAPI, path: str, chunks: Iterable[bytes], headers: dict[str, str],
              method: str = "POST") -> Sent:
    """One request straight to the ASGI app with a body streamed in `chunks` (as uvicorn hands it
    over), counting the bytes the app takes."""
    sent, stream = Sent(), iter(chunks)

    async def receive() -> dict:
        chunk = next(stream, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        sent.read += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict) -> None:
        sent.messages.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
             "scheme": "https", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
             "client": ("10.0.9.9", 50000), "server": ("testserver", 443)}
    run_apart(app, scope, receive, send)
    return sent


def run_apart(func, *args) -> None:
    """anyio.run in a thread of its own: Playwright's sync API (a browser test earlier in this
    process) leaves an event loop running in this one."""
    with ThreadPoolExecutor(1) as thread:
        thread.submit(anyio.run, func, *args).result()


def session_cookie(browser: TestClient) -> str:
    return f"{security.SESSION_COOKIE}={browser.cookies.get(security.SESSION_COOKIE)}"


def fields_of_a_megabyte(count: int) -> Iterable[bytes]:
    """An urlencoded form of `count` fields of 1 MiB each (the issue's 400 fields grew the process 330 MB)."""
    return (f"f{i}=".encode() + b"a" * MIB + b"&" for i in range(count))


# --- request bodies ------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/import", "/kompetens/boka", "/logga-ut", "/import/" + "A" * 32 + "/las-in"])
def test_no_body_is_read_before_login(web_app, path):
    """An anonymous 400 MB upload (or any POST) is sent to the login page before a byte of it is read."""
    answer = send_asgi(web_app, path, itertools.repeat(b"x" * MIB, 400),
                       {"content-type": "multipart/form-data; boundary=b", "content-length": str(400 * MIB)})
    assert answer.status == 303 and answer.headers["location"] == f"/logga-in?nasta={path}"
    assert answer.read == 0
    forged = send_asgi(web_app, path, itertools.repeat(b"x" * MIB, 400),
                       {"content-type": "application/x-www-form-urlencoded",
                        "cookie": f"{security.SESSION_COOKIE}=forged"})
    assert forged.status == 303 and forged.read == 0


def test_the_login_form_alone_is_read_without_a_session_and_it_is_small(web_app):
    answer = send_asgi(web_app, "/logga-in", fields_of_a_megabyte(400),
                       {"content-type": "application/x-www-form-urlencoded"})
    assert answer.status == 413 and "större än vad sidan tar emot" in answer.text
    assert answer.read <= security.MAX_FORM_BYTES + MIB + 64


def test_a_signed_in_form_is_bounded_while_it_is_read(web_app, client_as):
    """400 urlencoded fields of 1 MB, streamed without a Content-Length: the app stops reading at
    the form limit and answers 413 in Swedish, with the security headers."""
    cookie = session_cookie(client_as("kommun"))
    answer = send_asgi(web_app, "/kompetens/boka", fields_of_a_megabyte(400),
                       {"content-type": "application/x-www-form-urlencoded", "cookie": cookie})
    assert answer.status == 413 and "större än vad sidan tar emot" in answer.text
    assert answer.read <= security.MAX_FORM_BYTES + MIB + 64
    assert answer.headers["content-security-policy"] == HEADERS["Content-Security-Policy"]


def test_a_text_field_is_bounded(client_as):
    browser = client_as("kommun")
    csrf = hidden_field(browser.get("/kompetens").text, "csrf")
    response = browser.post("/kompetens/avboka", data={"csrf": csrf, "bokning": "1",
                                                       "x": "a" * (security.MAX_FIELD_BYTES + 1)})
    assert response.status_code == 400 and "Begäran kunde inte läsas" in response.text


def test_an_upload_is_bounded_as_a_whole_not_per_file(web_app, web_data, client_as):
    """Two files of 560 MB each passed the limit of 1 GiB per file; the whole request is bounded,
    refused by its Content-Length before anything is read or spooled, with no path of the server."""
    cookie = session_cookie(client_as("analytiker"))
    size = 2 * 560 * MIB
    assert size > routes_import.MAX_UPLOAD_BYTES
    folders = set((web_data.data_dir / routes_import.UPLOAD_FOLDER).glob("*"))
    answer = send_asgi(web_app, "/import", itertools.repeat(b"x" * MIB, 1120),
                       {"content-type": "multipart/form-data; boundary=b", "content-length": str(size),
                        "cookie": cookie})
    assert answer.status == 413 and answer.read == 0
    assert "större än vad sidan tar emot" in answer.text and str(web_data.data_dir) not in answer.text
    assert set((web_data.data_dir / routes_import.UPLOAD_FOLDER).glob("*")) == folders


# --- errors: headers, status, no text from the URL -----------------------------------------------

def test_a_bug_is_answered_with_the_security_headers(web_data, web_users):
    crashing = PageRouter()

    @crashing.get("/krasch")
    def crash():
        raise RuntimeError(f"a bug {MARKER}")

    response = client(create_app(web_data.settings, extra_pages=[crashing])).get(f"/krasch?x={MARKER}")
    assert response.status_code == 500 and "fel-id" in response.text and MARKER not in response.text
    for name, value in HEADERS.items():
        assert response.headers[name] == value
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(("path", "fields"), [
    ("/kompetens/boka-arbetsplats", {"tillfalle": str(2**70), "enhet": "x"}),
    ("/kompetens/avboka", {"bokning": str(2**70)}),
    ("/kompetens/avboka", {"bokning": str(-(2**70))}),
])
def test_an_integer_overflow_in_a_form_is_a_bad_request(role_clients, path, fields):
    browser = role_clients[Role.MUNICIPALITY]
    csrf = hidden_field(browser.get("/kompetens").text, "csrf")
    response = browser.post(path, data={"csrf": csrf, **fields})
    assert response.status_code == 400 and "Felaktig begäran" in response.text
    assert response.headers["x-frame-options"] == "DENY"


def test_an_overflowing_session_id_in_a_booking_is_refused_in_swedish(role_clients):
    browser = role_clients[Role.MUNICIPALITY]
    csrf = hidden_field(browser.get("/kompetens").text, "csrf")
    response = browser.post("/kompetens/boka", data={"csrf": csrf, "tillfalle": str(2**70), "personal": "x"})
    assert response.status_code in (303, 403)  # never a 500


@pytest.mark.parametrize("url", ["/oversikt?kommun=0884&kommun=0860", f"/jamforelse?grupp={MARKER}&grupp=x",
                                 "/logg?sok=a&sok=b", f"/oversikt/tabell/oversikt-arendeflode.csv?kommun={OWN}"
                                                      f"&kommun={MARKER}"])
def test_a_repeated_query_parameter_is_refused(role_clients, url):
    """Two readers of different municipalities shared one kept page through ?kommun=A&kommun=B."""
    response = role_clients[Role.ADMINISTRATOR].get(url)
    assert response.status_code == 400 and "samma val flera gånger" in response.text
    assert MARKER not in response.text and "<table" not in response.text
    assert "content-disposition" not in response.headers


@pytest.mark.parametrize("status", [404, 405, 413])
def test_starlettes_own_refusals_are_in_swedish_and_repeat_nothing(role_clients, status):
    browser = role_clients[Role.ADMINISTRATOR]
    response = {404: lambda: browser.get(f"/{MARKER}/{MARKER}"),
                405: lambda: browser.put(f"/oversikt?x={MARKER}"),
                413: lambda: browser.post(f"/kompetens/boka?x={MARKER}",
                                          content=b"a" * (security.MAX_FORM_BYTES + 1),
                                          headers={"content-type": "application/x-www-form-urlencoded"})}[status]()
    assert response.status_code == status and MARKER not in response.text
    assert '<html lang="sv">' in response.text


# --- bookings ------------------------------------------------------------------------------------

def test_a_workplace_session_is_booked_only_for_a_unit_in_the_data(web_data, web_users, tmp_path):
    """Two invented units filled a session and put a real unit on the waiting list."""
    web_data = copy_data_folder(web_data, tmp_path / "data")
    with app_state(web_data.data_dir) as con:
        made = bookings.create_session(con, course="VNR-1", course_name="Våld i nära relationer", programme="vnr",
                                       title="Arbetsplatsträff", kind="arbetsplats",
                                       starts=dt.datetime.now() + dt.timedelta(days=30), place="Vimmerby",
                                       capacity=2, municipality=OWN, created_by="admin")
    browser = logged_in(create_app(web_data.settings), "kommun")
    before = last_audit_id(web_data.data_dir)
    for invented in ("Påhittad enhet 1", f"<b>{MARKER}</b>"):
        csrf = hidden_field(browser.get("/kompetens").text, "csrf")
        response = browser.post("/kompetens/boka-arbetsplats", data={"csrf": csrf, "tillfalle": str(made.id),
                                                                    "enhet": invented}, follow_redirects=True)
        assert "Enheten finns inte bland de importerade enheterna" in response.text
        assert MARKER not in response.text
    with app_state(web_data.data_dir) as con:
        assert bookings.session(con, made.id).booked == 0
    assert not audit_since(web_data.data_dir, before, action="booking")
    real = web_data.units(OWN)[0]
    csrf = hidden_field(browser.get("/kompetens").text, "csrf")
    response = browser.post("/kompetens/boka-arbetsplats", data={"csrf": csrf, "tillfalle": str(made.id),
                                                                "enhet": real}, follow_redirects=True)
    assert "Bokad." in response.text


# --- uploads -------------------------------------------------------------------------------------

def test_an_upload_whose_check_fails_unexpectedly_is_removed(web_data, client_as, monkeypatch):
    """A bug in validation left the files, with clear personnummer, under a token the owner never learned."""
    def broken(*_):
        raise RuntimeError("a bug in a reader")

    monkeypatch.setattr(routes_import, "validate", broken)
    browser = client_as("analytiker")
    uploads = web_data.data_dir / routes_import.UPLOAD_FOLDER
    folders = set(uploads.glob("*"))
    before = last_audit_id(web_data.data_dir)
    response = browser.post("/import", data={"csrf": hidden_field(browser.get("/import").text, "csrf")},
                            files={"filer": ("events.csv", web_data.exports["events"].read_bytes(), "text/csv")})
    assert response.status_code == 400 and "fel-id" in response.text and "har tagits bort" in response.text
    assert set(uploads.glob("*")) == folders
    assert [e.detail for e in audit_since(web_data.data_dir, before, action="import_validate")][0].startswith("fel-id")


def test_old_uploads_are_swept_on_a_schedule(web_data, tmp_path):
    """Uploads expired only when someone opened the Import page; now the app sweeps them while it runs."""
    data = copy_data_folder(web_data, tmp_path / "data")
    old, new = (data.data_dir / routes_import.UPLOAD_FOLDER / name for name in ("gammal" * 4, "ny" * 12))
    for folder in (old, new):
        folder.mkdir(parents=True)
        (folder / "upload.json").write_text(json.dumps({"username": "admin", "files": []}))
    day_ago = time.time() - routes_import.UPLOAD_LIFETIME_SECONDS - 60
    os.utime(old, (day_ago, day_ago))
    with TestClient(create_app(data.settings)):  # the app's lifespan: the sweep starts with it
        deadline = time.monotonic() + 10
        while old.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    assert not old.exists() and new.exists()


def test_the_sweep_repeats(tmp_path, monkeypatch):
    from insyn.settings import Settings

    rounds = []
    monkeypatch.setattr(routes_import, "remove_old_uploads", lambda settings: rounds.append(time.monotonic()))

    async def sweep_a_while():
        with anyio.move_on_after(0.5):
            await routes_import.sweep_uploads(Settings(data_dir=tmp_path), every=0.1)

    run_apart(sweep_a_while)
    assert len(rounds) >= 3
