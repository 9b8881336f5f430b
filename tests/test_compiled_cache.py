"""The compiled indicator SQL is cached by what it depends on, and the cache changes nothing."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from helpers import EVENT_COLUMNS, write_csv
from test_indicators import EVENTS

from insyn.indicators import engine
from insyn.indicators.definitions import library
from insyn.ingest.load import import_files


def test_cached_sql_gives_the_same_results(tmp_path, store, key):
    import_files(store, [write_csv(tmp_path / "e.csv", EVENT_COLUMNS, EVENTS)], key)
    engine._compiled.clear()
    cache = tmp_path / "cache"
    first = engine.compute(store, cache_dir=cache)
    files = list(cache.glob("indicators-*.sql"))
    assert len(files) == len({d.area for d in library()}) > 1  # a statement per area (engine._statements)
    engine._compiled.clear()  # as a new process would: the SQL now comes from disk
    sql = files[0].read_text()
    assert sql.endswith(engine.SQL_END)  # a file without the end line was cut short: made again
    files[0].write_text(sql[:-len(engine.SQL_END)] + "\n-- read from disk" + engine.SQL_END)
    second = engine.compute(store, cache_dir=cache)
    def ordered(frame):
        return frame.sort_values(list(frame.columns), na_position="first").reset_index(drop=True)

    pd.testing.assert_frame_equal(ordered(first), ordered(second))
    assert any("read from disk" in sql for sql in engine._compiled.values())


def test_the_key_follows_the_definitions_and_options(store):
    def key(definitions, breakdowns=True):
        return engine._cache_key([[d.model_dump(mode="json") for d in definitions], breakdowns, True], store.ibis)

    definitions = list(library())
    assert key(definitions) == key(list(library()))
    assert key(definitions) != key(definitions, breakdowns=False)
    changed = [definitions[0].model_copy(update={"factor": 10.0}), *definitions[1:]]
    assert key(definitions) != key(changed)


def test_the_key_follows_the_helpers_the_builders_call(store, monkeypatch):
    """Deadline arithmetic and code lists are compiled into the SQL: a change to their source
    (an upgrade) must not reuse SQL compiled from the old source."""
    parts = [[d.model_dump(mode="json") for d in library()], True, True]
    before = engine._cache_key(parts, store.ibis)
    for helper in ("indicators/deadlines.py", "model/codes.py"):
        original = Path(engine.__file__).parents[1] / helper
        monkeypatch.setattr(Path, "read_bytes", _edited(Path.read_bytes, original))
        engine._hash_of_packages.cache_clear()
        assert engine._cache_key(parts, store.ibis) != before, helper
        monkeypatch.undo()
        engine._hash_of_packages.cache_clear()
        assert engine._cache_key(parts, store.ibis) == before


def _edited(read_bytes, edited_file):
    def read(path):
        content = read_bytes(path)
        return content + b"\n# edited\n" if path == edited_file else content
    return read
