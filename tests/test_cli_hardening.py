"""The command line against a busy store, hostile values in files and a permissive umask (issue 18).
Each test is the attack, which today's Insyn must refuse."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import EVENT_COLUMNS, pnr, write_csv
from typer.testing import CliRunner

from insyn.cli import app
from insyn.settings import Settings
from insyn.store import StoreBusy, open_store

runner = CliRunner()


def insyn(data_dir: Path, *args: str):
    return runner.invoke(app, ["--data-dir", str(data_dir), *args])


def events_file(folder: Path, unit: str = "Mottagning") -> Path:
    return write_csv(folder / "arenden.csv", EVENT_COLUMNS, [
        dict(municipality="1480", case_id="K1", person_id=pnr("20120315", "123"), event="report",
             date="2024-01-02", unit=unit, source="skola")])


@pytest.mark.slow
def test_a_second_import_while_the_store_is_written_is_told_so_in_swedish(tmp_path):
    """A second concurrent import ended in DuckDB's traceback ("Could not set lock …")."""
    data_dir = tmp_path / "data"
    first = insyn(data_dir, "import", str(events_file(tmp_path)))
    assert first.exit_code == 0, first.output
    database = Settings(data_dir=data_dir).database_path
    holder = subprocess.Popen(  # another process writing: it holds DuckDB's lock until told to stop
        [sys.executable, "-c", f"import duckdb, sys; con = duckdb.connect({str(database)!r}); print('ja', flush=True); "
                               "sys.stdin.read()"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ja"
        result = insyn(data_dir, "import", str(events_file(tmp_path)))
        with pytest.raises(StoreBusy):
            open_store(database, read_only=True)
    finally:
        holder.communicate("", timeout=30)
    assert result.exit_code == 1
    assert "Fel: Datalagret används av en annan process just nu" in result.output
    assert "Inget har lästs in." in result.output
    assert "Traceback" not in result.output and "lock" not in result.output and str(database) not in result.output
    assert insyn(data_dir, "import", str(events_file(tmp_path))).exit_code == 0, "free again"


def test_values_from_files_print_as_they_are_never_as_rich_markup(tmp_path):
    """A code or a file name in Rich's markup made a clickable link (or vanished) in the terminal."""
    planted = "[link=http://evil.example]x[/link]"
    bad = write_csv(tmp_path / "[red]arenden.csv", EVENT_COLUMNS, [
        dict(municipality="1480", case_id="K1", person_id=pnr("20120315", "123"), event="report",
             date="2024-01-02", source=planted)])
    result = insyn(tmp_path / "data", "import", "--strict", str(bad))
    assert result.exit_code == 1
    assert f"'{planted}'" in result.output and "[red]arenden.csv" in result.output
    assert "Fel: Importen avbröts (--strict)" in result.output


@pytest.mark.slow
def test_everything_in_the_data_folder_is_owner_only_whatever_the_umask(tmp_path):
    """Uploads with clear personnummer, app.sqlite3 (password hashes, sessions, the audit log) and
    insyn.duckdb were 0644 in 0755 folders under the usual umask 022."""
    from webapp import UserSpec, add_users, client, hidden_field, login

    from insyn.web.accounts import Role
    from insyn.web.app import create_app

    started_with = os.umask(0o022)
    try:
        data_dir = tmp_path / "data"
        assert insyn(data_dir, "import", str(events_file(tmp_path))).exit_code == 0
        os.umask(0o022)  # as if the server were started on its own
        app = create_app(Settings(data_dir=data_dir))
        add_users(data_dir, [UserSpec("admin", Role.ADMINISTRATOR)])
        browser = client(app)
        assert login(browser, "admin").status_code == 303
        response = browser.post("/import", data={"csrf": hidden_field(browser.get("/import").text, "csrf")},
                                files={"filer": ("arenden.csv", events_file(tmp_path).read_bytes(), "text/csv")})
        assert response.status_code == 303, response.text
        assert browser.get("/oversikt").status_code in (200, 404)  # the statistics read, caches written
    finally:
        os.umask(started_with)
    found = [data_dir, *data_dir.rglob("*")]
    assert any(p.name == "app.sqlite3" for p in found) and any(p.parent.name == "uppladdningar" for p in found)
    loose = [(str(p.relative_to(tmp_path)), oct(stat.S_IMODE(p.stat().st_mode))) for p in found
             if stat.S_IMODE(p.stat().st_mode) & 0o077]
    assert loose == []
