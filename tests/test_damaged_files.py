"""A crash while a cache file is written must not break Insyn (issue 18): caches are written
atomically, and a cache file damaged some other way (cut short, emptied, not what it claims to
be) is ignored and made again."""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

from insyn.cli import app
from insyn.files import write_atomically
from insyn.indicators import engine


def _insyn(data, *arguments):
    return CliRunner().invoke(app, ["--data-dir", str(data), *arguments])


def test_damaged_caches_are_made_again(tmp_path):
    engine._compiled.clear()  # as a new process: the compiled SQL is written to this folder's cache
    data = tmp_path / "data"
    assert _insyn(data, "demo").exit_code == 0
    caches = sorted((data / "cache").glob("*.sql")) + sorted((data / "cache").glob("disclosure-*.npy"))
    assert any(p.suffix == ".sql" for p in caches) and any(p.suffix == ".npy" for p in caches)
    for damage in (lambda content: b"", lambda content: content[: len(content) // 2]):
        for path in (p for p in caches if p.exists()):
            path.write_bytes(damage(path.read_bytes()))
        recomputed = _insyn(data, "indicators", "--recompute")
        assert recomputed.exit_code == 0, recomputed.output
        report = _insyn(data, "report", "--out", str(tmp_path / "rapport"))
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
