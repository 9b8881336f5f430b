"""The benchmark's hand-written SQL and pandas baselines compute what the engine computes,
on the hand-checked dataset, so the benchmark compares like with like."""

from __future__ import annotations

import sys
from pathlib import Path

from helpers import EVENT_COLUMNS, write_csv
from test_indicators import EVENTS

from insyn.indicators.engine import compute
from insyn.ingest.load import import_files

sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))
import baselines  # noqa: E402


def test_engine_sql_and_pandas_agree(tmp_path, store, key):
    import_files(store, [write_csv(tmp_path / "e.csv", EVENT_COLUMNS, EVENTS)], key)
    engine = baselines.engine_as_baseline(compute(store, quarters=False, breakdowns=False))
    population = baselines.reference_population()
    sql = baselines.sql_indicators(store.raw, population)
    pandas = baselines.pandas_indicators(store.raw.execute("SELECT * FROM events").df(), population)
    assert len(sql) >= 25
    assert baselines.compare(engine, sql) == []
    assert baselines.compare(engine, pandas) == []


def test_engine_and_the_pandas_workforce_baseline_agree(tmp_path, store):
    from test_workforce import import_dataset

    from insyn.indicators.definitions import library

    import_dataset(tmp_path, store)
    definitions = [d for d in library() if d.id in baselines.WORKFORCE_BASELINE]
    engine = baselines.engine_as_baseline(compute(store, definitions, quarters=False, breakdowns=False))
    engine = engine[engine.period == "2024"]  # the baseline is asked for 2024 only
    pandas = baselines.pandas_workforce(store.raw.execute("SELECT * FROM staff").df(), [2024])
    assert set(engine.indicator) == set(baselines.WORKFORCE_BASELINE) and len(pandas) == 4
    assert baselines.compare(engine, pandas) == []
