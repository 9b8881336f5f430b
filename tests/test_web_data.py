"""The web app's statistics cache (insyn.web.data.Statistics) over a real data folder: one
publication per scope however many requests ask at once, pages kept until the statistics in the
store change, and the previous publications served whole while an import writes and while the
new ones are made."""

from __future__ import annotations

import os
import threading
import time

from webapp import OWN, copy_data_folder

import insyn.web.data
from insyn.disclosure import suppression
from insyn.web.accounts import Role, User
from insyn.web.data import Statistics
from insyn.web.scope import Scope
from insyn.workflows import WEB_PROTECTION_STEP, run_import, store_for

pytest_plugins = ["webapp"]


def _scope(role: Role, municipality: str | None = None) -> Scope:
    return Scope(User("test", "Test", role, municipality, (), None))


def _touch(path: os.PathLike) -> None:
    """The store's file written to with nothing changed in it: a new modification time."""
    stat = os.stat(path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def _change_results(settings) -> None:
    """The stored results changed, as a recompute after an import changes them."""
    store = store_for(settings)
    try:
        store.raw.execute("DELETE FROM indicator_results WHERE rowid = (SELECT min(rowid) FROM indicator_results)")
    finally:
        store.close()


def test_concurrent_first_requests_build_one_publication_per_scope(web_data, tmp_path):
    statistics = Statistics(copy_data_folder(web_data, tmp_path / "data").settings)
    scopes = [_scope(Role.ANALYST), _scope(Role.MUNICIPALITY, OWN)]
    found: list[tuple[int, object]] = []
    threads = [threading.Thread(target=lambda i=i: found.append((i, statistics.publication(scopes[i % 2]))))
               for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    by_scope = [{id(p) for i, p in found if i % 2 == s} for s in (0, 1)]
    assert [len(ids) for ids in by_scope] == [1, 1]  # every request of a scope got the one built
    assert by_scope[0] != by_scope[1]                # and the two scopes their own


def test_kept_pages_are_made_once_and_again_after_the_statistics_change(web_data, tmp_path):
    data = copy_data_folder(web_data, tmp_path / "data")
    statistics = Statistics(data.settings)
    analyst, municipality = _scope(Role.ANALYST), _scope(Role.MUNICIPALITY, OWN)
    made: list[str] = []

    def page(name: str):
        def make():
            made.append(name)
            return [name, statistics.publication(analyst)]
        return make

    first = statistics.kept(analyst, ("/oversikt", ()), page("a"))
    assert statistics.kept(analyst, ("/oversikt", ()), page("b")) is first
    assert statistics.kept(municipality, ("/oversikt", ()), page("c")) == ["c", first[1]]  # its own scope
    assert statistics.kept(analyst, ("/jamforelse", ()), page("d"))[0] == "d"
    assert made == ["a", "c", "d"]

    publication = statistics.publication(analyst)
    _touch(data.settings.database_path)  # read again, but the same statistics: kept
    assert statistics.kept(analyst, ("/oversikt", ()), page("x")) is first
    assert statistics.publication(analyst) is publication
    _change_results(data.settings)
    statistics.refresh()  # the changed statistics' publications made (readers meanwhile get the previous)
    again = statistics.kept(analyst, ("/oversikt", ()), page("e"))
    assert made[-1] == "e" and again[0] == "e"
    assert again[1] is not publication  # made from the changed store's publication
    assert statistics.kept(analyst, ("/oversikt", ()), page("f")) is again


def test_readers_get_the_previous_publication_whole_while_the_new_one_is_made(web_data, tmp_path, monkeypatch):
    data = copy_data_folder(web_data, tmp_path / "data")
    statistics = Statistics(data.settings)
    analyst, municipality = _scope(Role.ANALYST), _scope(Role.MUNICIPALITY, OWN)
    before = statistics.snapshot()
    old = {scope.key: statistics.publication(scope) for scope in (analyst, municipality)}
    making, go_on = threading.Event(), threading.Event()
    real_prepare = insyn.web.data.prepare

    def slow_prepare(*args, **kwargs):
        making.set()
        assert go_on.wait(60)
        return real_prepare(*args, **kwargs)

    monkeypatch.setattr(insyn.web.data, "prepare", slow_prepare)
    _change_results(data.settings)  # one result row fewer: every scope's publication changes
    assert statistics.publication(analyst) is old[analyst.key]  # the first reader after the change waits for nothing
    assert making.wait(60)  # the new publications are being made, in the background
    seen: list[tuple] = []

    def read() -> None:
        for _ in range(5):
            seen.append((statistics.snapshot(), statistics.publication(analyst), statistics.publication(municipality)))

    readers = [threading.Thread(target=read) for _ in range(4)]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join(60)
    assert len(seen) == 20
    assert all(s is before and a is old[analyst.key] and m is old[municipality.key] for s, a, m in seen)

    go_on.set()
    deadline = time.monotonic() + 120
    while statistics.snapshot() is before and time.monotonic() < deadline:
        time.sleep(0.1)
    after = statistics.snapshot()
    assert len(after.results) == len(before.results) - 1
    new = {scope.key: statistics.publication(scope) for scope in (analyst, municipality)}
    # Both scopes in use were made before the switch: the new snapshot and its publications at once.
    assert all(new[key] is not old[key] for key in old)
    assert statistics.publication(analyst) is new[analyst.key]


def test_the_import_protects_the_published_view_the_web_reads_and_readers_meanwhile_get_the_previous_one(
        web_data, tmp_path, monkeypatch):
    data = copy_data_folder(web_data, tmp_path / "data")
    for kept in data.settings.cache_dir.glob("disclosure-*.npy"):
        kept.unlink()
    statistics = Statistics(data.settings)
    analyst = _scope(Role.ANALYST)
    previous = statistics.publication(analyst)
    steps: list[str] = []
    importing, seen = threading.Event(), []

    def read() -> None:
        while importing.is_set():
            seen.append(statistics.publication(analyst))

    importing.set()
    reader = threading.Thread(target=read)
    reader.start()
    try:
        # The same exports again: the store is written (and busy) throughout, the statistics stay.
        run_import(data.settings, list(data.exports.values()), progress=steps.append)
    finally:
        importing.clear()
        reader.join(60)
    assert seen and all(p is previous for p in seen)
    assert WEB_PROTECTION_STEP in steps

    for kept in data.settings.cache_dir.glob("disclosure-*.npy"):
        kept.unlink()
    run_import(data.settings, list(data.exports.values()))
    assert len(list(data.settings.cache_dir.glob("disclosure-*.npy"))) == 1  # the published view's statuses

    def no_lp(*args, **kwargs):
        raise AssertionError("the published view's protection was computed again")

    monkeypatch.setattr(suppression, "_statuses", no_lp)
    fresh = Statistics(data.settings).publication(analyst)  # a web app started after the import
    assert fresh.rows.equals(previous.rows)
