"""One error model (insyn.errors): the faces show an InsynError's Swedish message (with its HTTP
status on the web) and treat anything else as a bug, logged with its traceback under an id the
user can quote; every message shown or audited is scrubbed of personnummer."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner
from webapp import audit_entries, hidden_field, logged_in

from insyn import errors
from insyn.cli import app as cli_app
from insyn.logs import ScrubbingFormatter, log_file
from insyn.settings import Settings
from insyn.web import accounts, audit
from insyn.web.app import create_app
from insyn.web.appstate import open_app_state

PERSONNUMMER = "19121212-1212"  # Skatteverket's test number, shaped like a real one
PASSWORD = "rätt-lösenord-123"
BUG_ID = re.compile(r"fel-id ([a-z]{12})")
runner = CliRunner()


def _words(text: str) -> str:
    return " ".join(text.split())


def test_error_classes_keep_their_builtin_bases_and_statuses():
    from insyn.config_files import ConfigError
    from insyn.disclosure.noise import PrivacyBudgetExceeded
    from insyn.ingest.load import ExtractDateError, ImportRejected
    from insyn.ingest.readers import ReadError
    from insyn.ingest.scb import ScbFileError
    from insyn.publish.extract import ExtractError
    from insyn.publish.kolada import KoladaFileError
    from insyn.store import StoreBusy
    from insyn.web import pages, scope
    from insyn.workflows import StoreInUse

    for error in (ReadError, ScbFileError, ImportRejected, ExtractDateError, KoladaFileError, ExtractError,
                  ConfigError, PrivacyBudgetExceeded, accounts.AccountError):
        assert issubclass(error, errors.InputError) and issubclass(error, ValueError), error
    assert issubclass(pages.NotFound, errors.NotFound) and pages.NotFound.status == 404
    assert issubclass(errors.NotFound, LookupError) and errors.NoData.heading == "Inga uppgifter"
    assert issubclass(scope.Forbidden, errors.Forbidden) and scope.Forbidden.status == 403
    assert StoreBusy.status == 503 and StoreInUse.status == 409
    assert not issubclass(KeyError, errors.InsynError)


def test_user_message_scrubs_personnummer():
    assert errors.user_message(errors.InputError(f"Rad 3: {PERSONNUMMER} är fel.")) == "Rad 3: [borttaget] är fel."
    assert re.fullmatch(r"Ett oväntat fel inträffade \(fel-id [a-z]{12}\)\. Uppgiften har loggats\.",
                        errors.bug_message(errors.bug_id()))
    # The id survives the personnummer scrub every message goes through (a hex id with nine or
    # ten digits in a row did not, about one in thirty).
    messages = [errors.bug_message(errors.bug_id()) for _ in range(3000)]
    assert [errors.user_message(m) for m in messages] == messages


# --- the web app -----------------------------------------------------------------------------------

@pytest.fixture
def web(tmp_path):
    """An app over an empty data folder (no store yet) with an administrator signed in."""
    settings = Settings(data_dir=tmp_path / "data")
    con = open_app_state(settings.data_dir)
    try:
        accounts.add_user(con, "admin", PASSWORD, "administrator")
    finally:
        con.close()
    app = create_app(settings)
    return settings, logged_in(app, "admin", PASSWORD)


def test_an_insyn_error_gives_its_status_and_swedish_message(web):
    _, browser = web
    response = browser.get("/oversikt")  # nothing imported yet: NoData
    assert response.status_code == 404
    assert "Inga uppgifter" in response.text and "Det finns inga data ännu" in response.text


def test_a_bug_gives_a_500_page_with_an_id_and_the_traceback_in_the_log(web, monkeypatch, caplog):
    settings, browser = web

    def broken(*_args, **_kwargs):
        raise KeyError(f"kolumn {PERSONNUMMER}")  # a bug's KeyError, not a missing thing

    monkeypatch.setattr(audit, "entries", broken)
    with caplog.at_level(logging.ERROR, logger="insyn"):
        response = browser.get("/logg")
    assert response.status_code == 500
    assert "Inga uppgifter" not in response.text and "Traceback" not in response.text
    assert PERSONNUMMER not in response.text and "KeyError" not in response.text
    error_id = BUG_ID.search(_words(response.text)).group(1)
    assert "Uppgiften har loggats" in response.text
    assert response.headers["Content-Security-Policy"]  # the security headers are on the error page too
    [record] = [r for r in caplog.records if error_id in r.getMessage()]
    assert record.exc_info and record.exc_info[0] is KeyError and record.name == "insyn.web.app"
    logged = ScrubbingFormatter().format(record)  # as the faces' handlers write it
    assert "Traceback" in logged and "broken" in logged and PERSONNUMMER not in logged
    assert browser.get("/anvandare").status_code == 200  # the app goes on


def test_a_message_is_scrubbed_before_it_is_shown_and_audited(web, monkeypatch):
    settings, browser = web

    def refused(*_args, **_kwargs):
        raise errors.Forbidden(f"Du får inte se {PERSONNUMMER}.")

    monkeypatch.setattr(audit, "entries", refused)
    response = browser.get("/logg")
    assert response.status_code == 403 and "Ingen åtkomst" in response.text
    assert "Du får inte se [borttaget]." in response.text and PERSONNUMMER not in response.text
    monkeypatch.undo()
    [denied] = audit_entries(settings.data_dir, action="denied")
    assert denied.detail == "Du får inte se [borttaget]." and denied.target == "/logg"


def test_a_user_name_shaped_like_a_personnummer_is_not_audited(web):
    settings, browser = web
    form = browser.get("/logga-in")
    browser.post("/logga-in", data={"anvandarnamn": PERSONNUMMER, "losenord": "fel-losenord-123",
                                    "csrf": hidden_field(form.text, "csrf")})
    [failed] = audit_entries(settings.data_dir, action="login_failed")
    assert failed.username == "[borttaget]"


# --- the command line ------------------------------------------------------------------------------

def insyn(data_dir: Path, *args: str):
    return runner.invoke(cli_app, ["--data-dir", str(data_dir), *args])


def test_cli_prints_an_insyn_errors_message_with_exit_code_1(tmp_path, monkeypatch):
    result = insyn(tmp_path, "generate", "--out", str(tmp_path / "ut"), "--region", "ingenstans")
    assert result.exit_code == 1
    assert "Fel: Okänd region eller länskod: ingenstans" in _words(result.output)

    def refused(*_args, **_kwargs):
        raise accounts.AccountError(f"Användaren {PERSONNUMMER} finns inte.")

    monkeypatch.setattr(accounts, "deactivate_user", refused)
    result = insyn(tmp_path, "users", "remove", "någon")
    assert result.exit_code == 1
    assert "Fel: Användaren [borttaget] finns inte." in _words(result.output)
    assert PERSONNUMMER not in result.output
    result = insyn(tmp_path, "status")  # the command's own refusal (typer.Exit) is no bug either
    assert result.exit_code == 1 and "Fel: inget datalager" in result.output
    assert not log_file(tmp_path).exists()  # expected errors are not logged as bugs


def test_cli_answers_a_bug_with_an_id_and_logs_the_traceback(tmp_path, monkeypatch):
    def broken(*_args, **_kwargs):
        raise KeyError(f"kolumn {PERSONNUMMER}")

    monkeypatch.setattr(accounts, "list_users", broken)
    result = insyn(tmp_path, "users", "list")
    assert result.exit_code == 1
    output = _words(result.output)
    assert "Ett oväntat fel inträffade" in output and "Uppgiften har loggats." in output
    assert "Traceback" not in result.output and PERSONNUMMER not in result.output
    error_id = BUG_ID.search(output).group(1)
    logged = log_file(tmp_path).read_text(encoding="utf-8")
    assert error_id in logged and "Traceback" in logged and "KeyError" in logged and "broken" in logged
    assert PERSONNUMMER not in logged and "[borttaget]" in logged
    assert not [h for h in logging.getLogger("insyn").handlers if getattr(h, "_insyn_face", False)]
