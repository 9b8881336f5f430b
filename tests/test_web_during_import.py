"""A reader of the real server while `insyn import` runs in another process (issue 20): every page
and download they get is the previous publication, whole, until the new one is served whole,
and never the previous one again after that.

The reference for "the previous publication" is made apart from the server: the same pages of
an app over a copy of the data folder taken before the import (and, for the new publication, of
an app over the folder after it)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time

import httpx
import pandas as pd
import pytest
from webapp import PASSWORD, copy_data_folder, hidden_field, logged_in, serving, tables_of

from insyn.settings import Settings
from insyn.synth.generate import write_tables
from insyn.web.app import create_app

pytest_plugins = ["webapp"]
pytestmark = pytest.mark.slow

READER = "analytiker"
TABLE = "/jamforelse/allt-publicerat.csv"  # everything published, with each row's status
PAGES = ("/oversikt?kommun=0884", "/oversikt?kommun=0860", "/oversikt?kommun=1407")


def _signed_in(browser: httpx.Client) -> httpx.Client:
    form = browser.get("/logga-in")
    response = browser.post("/logga-in", data={"anvandarnamn": READER, "losenord": PASSWORD,
                                                "csrf": hidden_field(form.text, "csrf")})
    assert response.status_code == 303, response.text
    return browser


def _read(browser) -> tuple:
    """What the reader sees: the published table's bytes and every page's tables."""
    table = browser.get(TABLE)
    assert table.status_code == 200
    pages = []
    for page in PAGES:
        response = browser.get(page)
        assert response.status_code == 200
        pages.append(tables_of(response.text))
    return table.content, pages


def _flat(read: tuple) -> list:
    table, pages = read
    return [table, *pages]


def publication_of(response, previous, new) -> str | None:
    if response == previous:
        return "both" if response == new else "previous"
    return "new" if response == new else None


def _as_served_by_an_app_over(settings: Settings) -> tuple:
    with logged_in(create_app(settings), READER) as browser:
        return _read(browser)


def _more_cases(tables: dict[str, pd.DataFrame], folder) -> str:
    """The events export with 40 of Hultsfred's cases added again under new case ids: an import
    that changes the statistics."""
    events = tables["events"]
    cases = events.case_id[events.municipality == "0860"].drop_duplicates().head(40)
    copies = events[events.case_id.isin(cases) & (events.municipality == "0860")].assign(
        case_id=lambda frame: frame.case_id + "-ny")
    written = write_tables({**tables, "events": pd.concat([events, copies], ignore_index=True)}, folder)
    return str(next(path for path in written if path.stem == "events"))


def test_a_reader_during_an_import_gets_the_previous_publication_whole(web_data, web_users, tmp_path):
    data = copy_data_folder(web_data, tmp_path / "data")
    before = tmp_path / "before"
    shutil.copytree(data.data_dir, before)
    events = _more_cases(web_data.tables, tmp_path / "export")
    previous = _as_served_by_an_app_over(Settings(data_dir=before))

    with serving(data.data_dir, "--utan-https") as base, httpx.Client(base_url=base, timeout=600) as browser:
        reader = _signed_in(browser)
        assert _read(reader) == previous
        importing = subprocess.Popen(
            [sys.executable, "-c", "from insyn.cli import app; app()", "--data-dir", str(data.data_dir),
             "import", events],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        during = []
        while importing.poll() is None:
            during.append(_read(reader))
        output = importing.stdout.read() if importing.stdout else ""
        assert importing.returncode == 0, output
        new = _as_served_by_an_app_over(data.settings)
        after = []
        deadline = time.monotonic() + 300
        while not after or after[-1] != new:  # until the new publication is served whole
            assert time.monotonic() < deadline, "the new publication was not served within 300 s"
            after.append(_read(reader))
            time.sleep(0.2)

    assert len(during) >= 3, f"the import took too short a time to read during it ({len(during)} reads)"
    assert new != previous  # the import changed what is published
    # The server switches publications at one moment, which a reader's series of requests may
    # straddle: each response is the previous publication's or the new one's, whole, and once
    # one is the new one's, none after it is the previous one's.
    served = [publication_of(response, before, now) for read in (*during, *after)
              for response, before, now in zip(_flat(read), _flat(previous), _flat(new), strict=True)]
    assert None not in served, "a response neither the previous publication's nor the new one's"
    switched = [which for which in served if which != "both"]
    assert switched == sorted(switched, key=["previous", "new"].index), "the previous publication came back"
