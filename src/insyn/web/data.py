"""The statistics the web app shows: the stored results and workload, read once per change of
the store and kept in memory, and one Publication per scope (insyn.web.scope) made from them.

The DuckDB store is opened read-only only while reading, so that `insyn import` (or the app's
own import) can write to it between requests. While an import writes, and then while the
publications of the changed statistics are made (in the background), readers get the previous
ones, whole: a reader never waits for a new publication, nor sees half of one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar, cast

import pandas as pd

from insyn.disclosure.releases import Earlier
from insyn.errors import NoData
from insyn.publish.publication import InFull, Publication, prepare
from insyn.settings import Settings
from insyn.store import Store, StoreBusy
from insyn.web.scope import PUBLISHED, Scope
from insyn.workforce.organisation import Organisation
from insyn.workforce.ratings import RATING_COLUMNS
from insyn.workforce.workload import Workload

log = logging.getLogger(__name__)
MAX_VIEWS = 32  # publications kept in memory, one per scope
MAX_KEPT = 2048  # pages (and the like) kept in memory, made from those publications
T = TypeVar("T")
CURRENT_STAFF = """
    SELECT DISTINCT municipality, staff_id, unit, role FROM staff
    WHERE start_date <= current_date AND (end_date IS NULL OR end_date >= current_date)
    ORDER BY municipality, unit, staff_id"""


def current_staff(store: Store) -> pd.DataFrame:
    """Who is employed today (municipality, staff_id, unit, role), from an open store."""
    return store.raw.execute(CURRENT_STAFF).df()


@dataclass(frozen=True)
class Snapshot:
    results: pd.DataFrame
    workload: Workload
    imported: pd.DataFrame  # published values imported in Kolada's shape
    staff: pd.DataFrame     # who is employed today (municipality, staff_id, unit, role): for bookings
    courses: pd.DataFrame   # the courses (course, name, programme) sessions can be of
    organisations: dict[str, Organisation]  # each municipality's units and staff ids: for users' scopes
    earlier: Earlier  # what publications with holes of these years hid and showed (the ledger)
    ratings: pd.DataFrame   # the caseworkers' own ratings (workload_ratings), months beyond the workload's too

    def same_statistics(self, other: Snapshot) -> bool:
        """Whether everything besides the caseworkers' ratings is the same: what publications and
        kept pages are made from (a rating saved on Mitt arbete changes nothing of them)."""
        def without_ratings(snapshot: Snapshot) -> tuple:
            caseworkers = snapshot.workload.caseworkers.drop(columns=list(RATING_COLUMNS), errors="ignore")
            frames = (snapshot.results, caseworkers, snapshot.workload.unassigned, snapshot.imported,
                      snapshot.staff, snapshot.courses)
            return (*map(_fingerprint, frames), snapshot.organisations, snapshot.earlier)

        return without_ratings(self) == without_ratings(other)


def _fingerprint(frame: pd.DataFrame) -> tuple:
    """The frame's columns, dtypes and rows whatever their order (a store read without ORDER BY
    may return them in another)."""
    rows = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return tuple(frame.columns), tuple(map(str, frame.dtypes)), len(frame), int(rows.sum(dtype="uint64"))


def _version(settings: Settings) -> tuple[tuple, tuple]:
    """(the store's, the editable rules files') versions: change whenever the store or a rules
    file does."""
    def stamp(f: Path) -> tuple | None:
        return (f.stat().st_mtime_ns, f.stat().st_size) if f.exists() else None

    rules = (settings.data_dir / n for n in ("disclosure.yaml", "workforce.yaml", "workload.yaml"))
    return (stamp(settings.database_path),), tuple(map(stamp, rules))


class Statistics:
    """Thread-safe cache of the snapshot and of the publications made from it."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._lock = threading.Lock()
        self._version: tuple | None = None
        self._snapshot: Snapshot | None = None
        self._views: OrderedDict[tuple, Publication] = OrderedDict()
        self._kept: OrderedDict[tuple, object] = OrderedDict()
        self._generation = 0  # of the snapshot: what is kept was made from this one
        self._building: dict[tuple, threading.Lock] = {}
        self._in_full: dict[tuple, InFull | None] = {}  # of each scope asked for: to make its view again
        self._pending: tuple | None = None  # the store's version whose publications are being made
        self._rebuilding: threading.Thread | None = None
        self._synthetic: tuple[tuple, bool] | None = None  # (the store's version, whether it is the demo's)

    def _read(self) -> Snapshot:
        from insyn.disclosure.releases import earlier_releases, published_years
        from insyn.indicators.engine import stored_results
        from insyn.publish.kolada import stored_published_values
        from insyn.workflows import store_for
        from insyn.workforce.organisation import organisations
        from insyn.workforce.ratings import ratings_of
        from insyn.workforce.workload import stored_workload

        store = store_for(self.settings, read_only=True)  # StoreBusy while an import writes
        try:
            results = stored_results(store)
            return Snapshot(results, stored_workload(store), stored_published_values(store),
                            current_staff(store),
                            store.raw.execute("SELECT course, name, programme FROM courses ORDER BY name").df(),
                            organisations(store), earlier_releases(store, published_years(results.period)),
                            ratings_of(store))
        finally:
            store.close()

    def snapshot(self) -> Snapshot:
        return self._current()[0]

    def _current(self) -> tuple[Snapshot, int]:
        """The snapshot, read anew when the store has changed, and the generation of what is
        kept: a new one only when the statistics have changed, not the ratings alone. Changed
        statistics are served once the publications of the scopes in use are made from them
        (`_rebuild`, in the background); until then the previous snapshot and publications are."""
        with self._lock:
            version = _version(self.settings) if self.settings.database_path.exists() else None
            if version is None:
                raise NoData("Det finns inga data ännu: importera data (sidan Import) eller kör insyn demo.")
            if self._snapshot is not None and version in (self._version, self._pending):
                return self._snapshot, self._generation
            try:
                snapshot = self._read()
            except StoreBusy:
                if self._snapshot is None:
                    raise
                return self._snapshot, self._generation  # the previous state, until the import is done
            if self._snapshot is None:
                self._snapshot, self._version, self._generation = snapshot, version, self._generation + 1
            elif (self._version is not None and version[1] == self._version[1]
                  and snapshot.same_statistics(self._snapshot)):
                self._snapshot, self._version = snapshot, version  # the ratings alone: nothing to make again
            else:
                self._pending = version
                in_use = [(key, self._in_full.get(key)) for key in dict.fromkeys([PUBLISHED, *self._views])]
                self._rebuilding = threading.Thread(target=self._rebuild, args=(snapshot, version, in_use),
                                                    name="insyn-publications", daemon=True)
                self._rebuilding.start()
            return self._snapshot, self._generation

    def _rebuild(self, snapshot: Snapshot, version: tuple, in_use: list[tuple[tuple, InFull | None]]) -> None:
        """Make the publications of the scopes in use from the changed snapshot, then serve them
        and it in place of the previous ones, all at once (what a failure leaves unmade is made
        by the first request that needs it)."""
        started, views = time.perf_counter(), OrderedDict[tuple, Publication]()
        try:
            for key, in_full in in_use:
                views[key] = self._prepare(snapshot, in_full)
        finally:
            with self._lock:
                if self._pending == version:  # not overtaken by a later change of the store
                    self._snapshot, self._version, self._pending = snapshot, version, None
                    self._views, self._kept = views, OrderedDict()
                    self._generation += 1
            log.info("Made %d publication(s) of the changed statistics in %.1f s", len(views),
                     time.perf_counter() - started)

    def refresh(self) -> None:
        """Read the store again and make the publications in use from it before returning, while
        readers get the previous ones: after the app's own import, in its background job."""
        with self._lock:
            self._version = None  # read again, whatever the store's file says
        self._current()
        with self._lock:
            rebuilding = self._rebuilding
        if rebuilding is not None:
            rebuilding.join()

    def synthetic(self) -> bool:
        """Whether the data are the demo's invented data only, for the label every page and
        download carries: one small query per change of the store, not the snapshot's read."""
        from insyn.workflows import only_synthetic, store_for

        if not self.settings.database_path.exists():
            return False
        version = _version(self.settings)
        with self._lock:
            if self._synthetic is not None and self._synthetic[0] == version:
                return self._synthetic[1]
        try:
            store = store_for(self.settings, read_only=True)
        except StoreBusy:  # an import is running: as it was
            return self._synthetic is not None and self._synthetic[1]
        try:
            synthetic = only_synthetic(store)
        finally:
            store.close()
        with self._lock:
            self._synthetic = (version, synthetic)
        return synthetic

    def publication(self, scope: Scope) -> Publication:
        """The user's view: as published, with their own municipality or units in full. Built once
        per scope: a second request for the same scope waits for the first one's build."""
        return self._view(scope.key, scope.in_full if scope.has_rows_in_full else None)

    def published(self) -> Publication:
        """The view everyone outside the organisation would have: nobody's figures in full (for
        what leaves the app for a nämnd, such as the municipal brief)."""
        return self._view(PUBLISHED, None)

    def _view(self, key: tuple, in_full: InFull | None) -> Publication:
        snapshot, generation = self._current()
        with self._lock:
            building = self._building.setdefault(key, threading.Lock())
        with building:
            with self._lock:
                view = self._views.get(key)
                if view is not None:
                    self._views.move_to_end(key)
                    return view
            started = time.perf_counter()
            view = self._prepare(snapshot, in_full)
            log.info("Made the publication for the scope %s in %.1f s", " ".join(map(str, key)),
                     time.perf_counter() - started)
            with self._lock:
                self._in_full[key] = in_full
                if self._generation == generation:  # not made from statistics that have changed since
                    self._views[key] = view
                while len(self._views) > MAX_VIEWS:
                    self._views.popitem(last=False)
            return view

    def _prepare(self, snapshot: Snapshot, in_full: InFull | None) -> Publication:
        settings = self.settings
        return prepare(snapshot.results, settings.disclosure_rules(), workload=snapshot.workload,
                       reference=settings.workforce_config().reference_date, cache_dir=settings.cache_dir,
                       in_full=in_full, earlier=snapshot.earlier, release=False, synthetic=self.synthetic())

    def kept(self, scope: Scope, key: tuple, make: Callable[[], T]) -> T:
        """What `make` makes of the scope's publication (a page, say), made once and kept until
        the store changes. `key` must hold everything besides the publication that it depends on."""
        _, generation = self._current()  # forgets what was kept if the statistics have changed
        full_key = (scope.key, *key)
        with self._lock:
            if full_key in self._kept:
                self._kept.move_to_end(full_key)
                return cast(T, self._kept[full_key])  # kept by `make` of this same key
        made = make()
        with self._lock:
            if generation == self._generation:  # not made from a store that has changed since
                self._kept[full_key] = made
                while len(self._kept) > MAX_KEPT:
                    self._kept.popitem(last=False)
        return made
