"""Accounts, sessions, the login rate limit and the `insyn users` commands, over a real app-state file."""

from __future__ import annotations

import datetime as dt

import pytest
from typer.testing import CliRunner

from insyn.cli import app as cli
from insyn.web import accounts
from insyn.web.accounts import AccountError, Role, TooManyAttempts
from insyn.web.appstate import open_app_state
from insyn.workforce.organisation import Organisation

PASSWORD = "ett-långt-lösenord"


@pytest.fixture
def con(tmp_path):
    connection = open_app_state(tmp_path)
    yield connection
    connection.close()


def test_a_user_is_stored_with_an_argon2_hash_never_the_password(con):
    user = accounts.add_user(con, "Anna.Berg", PASSWORD, "enhetschef", municipality="0884", units=("Utredning",))
    assert (user.username, user.role, user.municipality, user.units) == ("anna.berg", Role.UNIT_MANAGER, "0884",
                                                                         ("Utredning",))
    stored = con.execute("SELECT password_hash FROM users").fetchone()[0]
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


@pytest.mark.parametrize(("role", "options", "message"), [
    ("kommun", {}, "kräver en kommun"),
    ("analytiker", {"municipality": "0884"}, "gäller alla kommuner"),
    ("enhetschef", {"municipality": "0884"}, "minst en enhet"),
    ("handlaggare", {"municipality": "0884"}, "personal-id"),
    ("kommun", {"municipality": "9999"}, "Okänd kommunkod 9999"),
])
def test_each_role_needs_its_scope(con, role, options, message):
    with pytest.raises(AccountError, match=message):
        accounts.add_user(con, "x", PASSWORD, role, **options)
    assert accounts.list_users(con) == []


def test_short_passwords_odd_names_and_duplicates_are_refused(con):
    with pytest.raises(AccountError, match="minst 10 tecken"):
        accounts.add_user(con, "anna", "kort", "administrator")
    with pytest.raises(AccountError, match="bara innehålla"):
        accounts.add_user(con, "anna berg", PASSWORD, "administrator")
    accounts.add_user(con, "anna", PASSWORD, "administrator")
    with pytest.raises(AccountError, match="finns redan"):
        accounts.add_user(con, "ANNA", PASSWORD, "analytiker")


def test_authentication_and_the_rate_limit(con):
    accounts.add_user(con, "anna", PASSWORD, "administrator")
    now = dt.datetime(2026, 11, 23, 10, 0)
    assert accounts.authenticate(con, "Anna", PASSWORD, "10.0.0.1", now).username == "anna"
    for minute in range(accounts.MAX_FAILURES):
        assert accounts.authenticate(con, "anna", "fel", "10.0.0.1", now + dt.timedelta(minutes=minute)) is None
    # This address is locked for this user name, the right password too …
    with pytest.raises(TooManyAttempts) as locked:
        accounts.authenticate(con, "anna", PASSWORD, "10.0.0.1", now + dt.timedelta(minutes=5))
    assert locked.value.seconds == 600 and "Försök igen om 10 minuter." in str(locked.value)
    # … but the user name is only slowed down: from another address, 2 s after the last failure.
    with pytest.raises(TooManyAttempts) as slowed:
        accounts.authenticate(con, "anna", PASSWORD, "10.0.0.2", now + dt.timedelta(minutes=4, seconds=1))
    assert slowed.value.seconds == 1 and "Försök igen om 1 sekund." in str(slowed.value)
    assert accounts.authenticate(con, "anna", PASSWORD, "10.0.0.2", now + dt.timedelta(minutes=5))
    # Fifteen minutes after the oldest failure, the first address may try again.
    assert accounts.authenticate(con, "anna", PASSWORD, "10.0.0.1", now + dt.timedelta(minutes=15, seconds=1))
    assert accounts.authenticate(con, "nobody", PASSWORD, "10.0.0.3", now) is None


def test_guessing_from_many_addresses_is_slowed_to_a_try_a_minute(con):
    accounts.add_user(con, "bo", PASSWORD, "administrator")
    now = dt.datetime(2026, 11, 23, 10, 0)
    waits, tried = [], 0
    for second in range(0, 600):
        at = now + dt.timedelta(seconds=second)
        try:
            accounts.authenticate(con, "bo", "fel", f"10.1.{second // 200}.{second % 200}", at)
            tried += 1
        except TooManyAttempts as error:
            waits.append(error.seconds)
    # 5 free tries, then 2, 4, 8, 16 and 32 s apart, then a minute: 18 tries in ten minutes.
    assert tried == 18 and max(waits) <= 60
    # The user can still get in between two of the attacker's tries (not locked out).
    assert accounts.authenticate(con, "bo", PASSWORD, "192.0.2.1", now + dt.timedelta(minutes=11))


def test_one_address_spraying_many_user_names_is_locked(con):
    now = dt.datetime(2026, 11, 23, 10, 0)
    for i in range(accounts.MAX_CLIENT_FAILURES):
        assert accounts.authenticate(con, f"namn{i}", "fel", "10.2.0.1", now + dt.timedelta(seconds=i)) is None
    with pytest.raises(TooManyAttempts):
        accounts.authenticate(con, "ytterligare", "fel", "10.2.0.1", now + dt.timedelta(minutes=1))
    assert accounts.authenticate(con, "ytterligare", "fel", "10.2.0.2", now + dt.timedelta(minutes=1)) is None


def test_sessions_are_stored_as_hashes_and_end_with_the_user(con):
    user = accounts.add_user(con, "anna", PASSWORD, "administrator")
    accounts.add_user(con, "bo", PASSWORD, "administrator")  # the last administrator cannot go
    token = accounts.start_session(con, user, "127.0.0.1")
    assert con.execute("SELECT count(*) FROM sessions WHERE token_hash = ?", [token]).fetchone()[0] == 0
    session = accounts.find_session(con, token)
    assert session.user == user and len(session.csrf_token) >= 40
    assert accounts.find_session(con, token + "x") is None
    accounts.deactivate_user(con, "anna")
    assert accounts.find_session(con, token) is None
    assert accounts.authenticate(con, "anna", PASSWORD, "127.0.0.1") is None


def test_an_expired_session_is_gone(con):
    user = accounts.add_user(con, "anna", PASSWORD, "administrator")
    token = accounts.start_session(con, user, "127.0.0.1")
    con.execute("UPDATE sessions SET expires_at = ?", [(dt.datetime.now() - dt.timedelta(seconds=1)).isoformat()])
    assert accounts.find_session(con, token) is None


def test_the_users_commands(tmp_path):
    runner = CliRunner()
    base = ["--data-dir", str(tmp_path)]
    added = runner.invoke(cli, [*base, "users", "add", "hanna", "--roll", "kommun", "--kommun", "0884",
                                "--namn", "Hanna Hansson"], env={"INSYN_LOSENORD": PASSWORD})
    assert added.exit_code == 0, added.output
    assert "Skapade hanna (Kommun (ledning, socialchef))" in added.output
    refused = runner.invoke(cli, [*base, "users", "add", "x", "--roll", "chef"], env={"INSYN_LOSENORD": PASSWORD})
    assert refused.exit_code == 1 and "Okänd roll chef" in refused.output
    # Nothing imported: no staff id is in the data (tests/test_cli.py tries one against the demo's).
    refused = runner.invoke(cli, [*base, "users", "add", "bertil.b", "--roll", "handlaggare", "--kommun", "0884",
                                  "--personal-id", "0884-S0011"], env={"INSYN_LOSENORD": PASSWORD})
    assert refused.exit_code == 1 and "Personal-id 0884-S0011 finns inte i underlaget för Vimmerby" in refused.output
    listed = runner.invoke(cli, [*base, "users", "list"])
    assert "hanna" in listed.output and "Hanna Hansson" in listed.output and "bertil.b" not in listed.output
    removed = runner.invoke(cli, [*base, "users", "remove", "hanna"])
    assert removed.exit_code == 0 and "kan inte längre logga in" in removed.output
    assert "hanna" not in runner.invoke(cli, [*base, "users", "list"]).output


# --- what an administrator does (the Användare page; tests/test_web_users.py for the routes) ----------

VIMMERBY = Organisation("0884", ("Mottagning", "Utredning"), frozenset({"0884-S0011", "0884-S0012"}))


def test_units_and_staff_ids_must_be_the_municipalitys_in_the_data(con):
    with pytest.raises(AccountError, match=r"^Enheten Utredningen finns inte i underlaget för Vimmerby "
                                           r"\(enheter: Mottagning, Utredning\)\.$"):
        accounts.add_user(con, "eva", PASSWORD, "enhetschef", municipality="0884", units=("Mottagning", "Utredningen"),
                          known=VIMMERBY)
    with pytest.raises(AccountError, match=r"^Personal-id 0884-S0099 finns inte i underlaget för Vimmerby\.$"):
        accounts.add_user(con, "hugo", PASSWORD, "handlaggare", municipality="0884", staff_id="0884-S0099",
                          known=VIMMERBY)
    with pytest.raises(AccountError, match="inga enheter har importerats"):
        accounts.add_user(con, "eva", PASSWORD, "enhetschef", municipality="0860", units=("Mottagning",),
                          known=Organisation("0860"))
    assert accounts.list_users(con, include_inactive=True) == []
    made = accounts.add_user(con, "hugo", PASSWORD, "handlaggare", municipality="0884", staff_id="0884-S0012",
                             known=VIMMERBY)
    assert made.staff_id == "0884-S0012"


def test_units_belong_to_unit_managers_and_staff_ids_to_caseworkers(con):
    with pytest.raises(AccountError, match="Bara en enhetschef har enheter"):
        accounts.add_user(con, "karl", PASSWORD, "kommun", municipality="0884", units=("Mottagning",))
    with pytest.raises(AccountError, match="Bara en handläggare har ett personal-id"):
        accounts.add_user(con, "eva", PASSWORD, "enhetschef", municipality="0884", units=("Mottagning",),
                          staff_id="0884-S0011")


def test_a_change_is_checked_like_a_new_user_and_holds_in_the_running_session(con):
    accounts.add_user(con, "eva", PASSWORD, "enhetschef", municipality="0884", units=("Mottagning",), known=VIMMERBY)
    token = accounts.start_session(con, accounts.find_user(con, "eva"), "127.0.0.1")
    with pytest.raises(AccountError, match="Enheten Öppenvård finns inte"):
        accounts.change_user(con, "eva", "enhetschef", display_name="Eva", municipality="0884",
                             units=("Öppenvård",), known=VIMMERBY)
    changed = accounts.change_user(con, "eva", "handlaggare", display_name=" Eva Ek ", municipality="0884",
                                   staff_id="0884-S0011", known=VIMMERBY)
    assert (changed.display_name, changed.role, changed.units, changed.staff_id) == (
        "Eva Ek", Role.CASEWORKER, (), "0884-S0011")
    assert accounts.find_session(con, token).user == changed


def test_deactivated_users_are_listed_as_such_and_can_come_back(con):
    accounts.add_user(con, "anna", PASSWORD, "administrator")
    accounts.add_user(con, "karl", PASSWORD, "kommun", municipality="0884")
    accounts.deactivate_user(con, "karl", by="anna")
    assert [u.username for u in accounts.list_users(con)] == ["anna"]
    assert [(u.username, u.active) for u in accounts.list_users(con, include_inactive=True)] == [
        ("anna", True), ("karl", False)]
    accounts.reactivate_user(con, "karl")
    assert accounts.authenticate(con, "karl", PASSWORD, "127.0.0.1").username == "karl"


def test_an_administrator_cannot_go_alone_or_remove_the_last_one(con):
    accounts.add_user(con, "anna", PASSWORD, "administrator")
    accounts.add_user(con, "bo", PASSWORD, "administrator")
    with pytest.raises(AccountError, match="^Du kan inte inaktivera dig själv.$"):
        accounts.deactivate_user(con, "anna", by="anna")
    accounts.deactivate_user(con, "bo", by="anna")
    with pytest.raises(AccountError, match="anna är den enda aktiva administratören"):
        accounts.deactivate_user(con, "anna")
    with pytest.raises(AccountError, match="anna är den enda aktiva administratören"):
        accounts.change_user(con, "anna", "analytiker", display_name="Anna")
    assert accounts.find_user(con, "anna").role == Role.ADMINISTRATOR
    accounts.reactivate_user(con, "bo")  # with another administrator, anna may become an analyst
    assert accounts.change_user(con, "anna", "analytiker", display_name="Anna").role == Role.ANALYST


def test_a_new_password_ends_the_users_sessions(con):
    user = accounts.add_user(con, "karl", PASSWORD, "kommun", municipality="0884")
    token = accounts.start_session(con, user, "127.0.0.1")
    with pytest.raises(AccountError, match="minst 10 tecken"):
        accounts.set_password(con, "karl", "kort")
    assert accounts.find_session(con, token) is not None
    accounts.set_password(con, "karl", "ett-annat-lösenord")
    assert accounts.find_session(con, token) is None
    assert accounts.authenticate(con, "karl", PASSWORD, "127.0.0.1") is None
    assert accounts.authenticate(con, "karl", "ett-annat-lösenord", "127.0.0.1").username == "karl"
    with pytest.raises(AccountError, match="Användaren nils finns inte"):
        accounts.set_password(con, "nils", "ett-annat-lösenord")


def test_a_generated_password_is_long_and_unambiguous():
    made = {accounts.generated_password() for _ in range(50)}
    assert len(made) == 50
    for password in made:
        groups = password.split("-")
        assert len(groups) == 4 and all(len(g) == 4 for g in groups) and len(password) >= accounts.MIN_PASSWORD_LENGTH
        assert not set(password) & set("lo01")
