"""Locust users for bench/web_load.py: people reading the web app's statistics pages.

Each simulated user signs in once with one of the benchmark's accounts (taken in turn, so the
roles and municipalities mix), then browses: mostly page views (Översikt, the two area pages,
Jämförelse with various indicators and groups; the own municipality mostly, others too) and
now and then a download (Excel or CSV) of a table on a page it has just seen.

Configured by the JSON file named in $INSYN_BENCH_CONFIG (bench/web_load.py writes it):
accounts, municipalities, indicators, groups, think time, download share, and where to write
every request's timing (`samples`), from which web_load.py computes exact percentiles.

The session cookie is Secure: neither browsers' rules for plain http nor Python's cookie jars send
it to http://127.0.0.1, so the users set the Cookie header themselves and the server runs as it
is deployed (`insyn serve` without --utan-https).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import time
from collections import deque
from pathlib import Path
from urllib.parse import urlencode

from locust import FastHttpUser, between, constant, events, task

CONFIG = json.loads(Path(os.environ["INSYN_BENCH_CONFIG"]).read_text(encoding="utf-8"))
ACCOUNTS = itertools.cycle(CONFIG["accounts"])
PAGES = {"oversikt": "/oversikt", "arendeflode": "/omrade/arendeflode", "personal": "/omrade/personal",
         "jamforelse": "/jamforelse"}
PAGE_WEIGHTS = CONFIG.get("page_weights", {"oversikt": 30, "arendeflode": 20, "personal": 20, "jamforelse": 30})
DOWNLOAD_TYPES = {"xlsx": "application/vnd.openxmlformats", "csv": "text/csv"}
TABLE_ID = re.compile(r'id="tabell-([^"]+)"')
CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')
SESSION_COOKIE = re.compile(r"insyn_session=([^;]+)")

SAMPLES: list[tuple] = []
MARKS: dict[str, float] = {}


class Reader(FastHttpUser):
    """One person at the statistics pages: signs in, then reads and sometimes downloads."""

    wait_time = between(*CONFIG["think"]) if CONFIG["think"][1] > 0 else constant(0)

    def on_start(self) -> None:
        self.account = next(ACCOUNTS)
        self.viewed: deque[tuple[str, str, list[str]]] = deque(maxlen=5)  # (path, query, table ids)
        self.cookie = self.sign_in()

    def sign_in(self) -> str:
        account = self.account
        with self.client.get("/logga-in", name="login form", catch_response=True) as form:
            found = CSRF_FIELD.search(form.text or "")
            if form.status_code != 200 or not found:
                form.failure(f"login form: HTTP {form.status_code}")
                raise RuntimeError("no login form")
        token = found.group(1)
        body = urlencode({"anvandarnamn": account["username"], "losenord": account["password"],
                          "csrf": token, "nasta": "/oversikt"})
        with self.client.post("/logga-in", data=body, name="login", allow_redirects=False, catch_response=True,
                              headers={"Content-Type": "application/x-www-form-urlencoded",
                                       "Cookie": f"insyn_login_csrf={token}"}) as answer:
            cookies = " ".join(answer.headers.getlist("set-cookie")) if answer.headers else ""
            session = SESSION_COOKIE.search(cookies)
            if answer.status_code != 303 or not session:
                answer.failure(f"login: HTTP {answer.status_code}, no session cookie")
                raise RuntimeError("login failed")
        return f"insyn_session={session.group(1)}"

    @task
    def browse(self) -> None:
        if self.viewed and random.random() < CONFIG["download_share"]:
            self.download()
        else:
            self.view()

    def municipality(self) -> str:
        own = self.account.get("municipality")
        if own and random.random() < CONFIG["own_share"]:
            return own
        return random.choice(CONFIG["municipalities"])

    def view(self) -> None:
        kind = random.choices(list(PAGE_WEIGHTS), weights=list(PAGE_WEIGHTS.values()))[0]
        if kind == "jamforelse":
            group = "alla" if random.random() < CONFIG["all_share"] else random.choice(CONFIG["groups"])
            query = {"indikator": random.choice(CONFIG["indicators"]), "grupp": group}
        else:
            query = {"kommun": self.municipality()}
            if kind == "oversikt" and random.random() < CONFIG["all_share"]:
                query["grupp"] = "alla"
        path, query_text = PAGES[kind], urlencode(query)
        with self.client.get(f"{path}?{query_text}", name=f"page {kind}", headers={"Cookie": self.cookie},
                             allow_redirects=False, catch_response=True) as page:
            tables = TABLE_ID.findall(page.text or "") if page.status_code == 200 else []
            if page.status_code != 200:
                page.failure(f"HTTP {page.status_code}")
            elif not tables:
                page.failure("no table on the page")
            else:
                self.viewed.append((path, query_text, tables))

    def download(self) -> None:
        path, query_text, tables = random.choice(self.viewed)
        fmt = random.choice(list(DOWNLOAD_TYPES))
        with self.client.get(f"{path}/tabell/{random.choice(tables)}.{fmt}?{query_text}", name=f"download {fmt}",
                             headers={"Cookie": self.cookie}, allow_redirects=False, catch_response=True) as file:
            kind = (file.headers.get("content-type") if file.headers else None) or ""
            if file.status_code != 200:
                file.failure(f"HTTP {file.status_code}")
            elif not kind.startswith(DOWNLOAD_TYPES[fmt]) or not file.content:
                file.failure(f"not a {fmt} file: {kind}")


@events.request.add_listener
def _record(name, response_time, response_length, exception=None, start_time=None, **_) -> None:
    SAMPLES.append((start_time, name, response_time, response_length, None if exception is None else str(exception)))


@events.spawning_complete.add_listener
def _spawned(user_count, **_) -> None:
    MARKS.setdefault("spawned", time.time())


@events.test_start.add_listener
def _started(**_) -> None:
    MARKS["start"] = time.time()


@events.test_stopping.add_listener
def _stopping(**_) -> None:
    MARKS.setdefault("stop", time.time())


@events.quitting.add_listener
def _write(**_) -> None:
    MARKS.setdefault("stop", time.time())
    Path(CONFIG["samples"]).write_text(json.dumps({"marks": MARKS, "samples": SAMPLES}), encoding="utf-8")
