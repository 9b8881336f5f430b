"""The web app's statistics cache (insyn.web.data.Statistics) over a real data folder: one
publication per scope however many requests ask at once, pages kept until the statistics in the
store change."""

from __future__ import annotations

import os
import threading

from webapp import OWN, copy_data_folder

from insyn.web.accounts import Role, User
from insyn.web.data import Statistics
from insyn.web.scope import Scope
from insyn.workflows import store_for

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
    again = statistics.kept(analyst, ("/oversikt", ()), page("e"))
    assert made[-1] == "e" and again[0] == "e"
    assert again[1] is not publication  # made from the changed store's publication
    assert statistics.kept(analyst, ("/oversikt", ()), page("f")) is again
