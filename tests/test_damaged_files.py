"""A crash while a cache file is written must not break Insyn (issue 18): caches are written
atomically, and a cache file damaged some other way (cut short, emptied, not what it claims to
be) is ignored and made again."""

from __future__ import annotations

import os

import numpy as np
import pytest
from typer.testing import CliRunner

from insyn.cli import app
from insyn.files import write_atomically
from insyn.indicators import engine


def _insyn(data, *arguments):
    return CliRunner().invoke(app, ["--data-dir", str(data), *arguments])


def test_a_damaged_compiled_query_is_compiled_again(tmp_path, store):
    def build():
        return store.table("events").count().as_table()

    first = engine.cached_sql(store, "antal", [], build, tmp_path)
    [cached] = tmp_path.glob("antal-*.sql")
    for damage in (lambda text: "", lambda text: text[: len(text) // 2], lambda text: "\udcff"):
        cached.write_text(damage(cached.read_text()), errors="surrogateescape")
        engine._compiled.clear()  # as a new process: the SQL is read from this folder's cache
        assert engine.cached_sql(store, "antal", [], build, tmp_path) == first
        assert cached.read_text() == first + engine.SQL_END


def test_damaged_protection_caches_are_made_again(tmp_path):
    data, exports = tmp_path / "data", tmp_path / "exporter"
    assert _insyn(data, "generate", "--municipalities", "0884,0860", "--years", "2023-2025",
                  "--out", str(exports)).exit_code == 0
    assert _insyn(data, "import", *map(str, sorted(exports.glob("*.csv")))).exit_code == 0
    for damage in (lambda content: b"", lambda content: content[: len(content) // 2]):
        for kept in (data / "cache").glob("disclosure-*.npy"):
            kept.unlink()  # left by the previous release's keys
        shown = _insyn(data, "indicators")  # the protected summary, its statuses kept anew
        caches = sorted((data / "cache").glob("disclosure-*.npy"))
        assert shown.exit_code == 0 and caches
        for path in caches:
            path.write_bytes(damage(path.read_bytes()))
        recomputed = _insyn(data, "indicators", "--recompute")
        assert recomputed.exit_code == 0, recomputed.output
        assert recomputed.output == shown.output  # protected again, the same
        for path in caches:
            assert np.load(path, allow_pickle=False).size > 0  # made again
        report = _insyn(data, "report", "--out", str(tmp_path / "rapport"))  # a release: new keys
        assert report.exit_code == 0, report.output
    assert (tmp_path / "rapport" / "insyn.xlsx").stat().st_size > 0


def test_an_atomic_write_leaves_the_old_file_when_it_fails(tmp_path, monkeypatch):
    path = tmp_path / "tillstand.json"
    write_atomically(path, "gammal")

    def crash(fd):
        raise KeyboardInterrupt  # as if the process were stopped while writing

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(KeyboardInterrupt):
        write_atomically(path, "ny")
    assert path.read_text() == "gammal" and [p.name for p in tmp_path.iterdir()] == ["tillstand.json"]
    assert oct(path.stat().st_mode & 0o777) == "0o600"
