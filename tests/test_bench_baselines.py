"""The benchmark's hand-written SQL and pandas baselines compute what the engine computes,
on the hand-checked datasets, so the benchmark compares like with like — on the indicators
they implement only (baselines.BASELINE), so that a new indicator needs no edit here."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest
from helpers import EVENT_COLUMNS, write_csv

from insyn.indicators.engine import compute
from insyn.ingest.load import import_files

sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))
import baselines  # noqa: E402


def _datasets():
    import test_case_flow_law as law
    import test_indicators as hand

    return {"indicators": (hand.EVENTS, EVENT_COLUMNS, None),
            "law": (law.EVENTS, law.COLUMNS, law.EXTRACT_DATE)}


def _synthetic_events(folder: Path) -> Path:
    """Three municipalities' synthetic events, 2022–2025: decision ids in some, exports from the
    first day in others, interventions of one kind at once, extensions."""
    from insyn.model.municipalities import municipalities
    from insyn.synth.generate import generate, write_tables

    region = municipalities()
    tables = generate(region[region.municipality_code.isin(["0884", "0860", "0780"])], [2022, 2023, 2024, 2025],
                      seed=11)
    return next(f for f in write_tables(tables, folder) if f.stem == "events")


@pytest.mark.parametrize("dataset", ["indicators", "law", pytest.param("synthetic", marks=pytest.mark.slow)])
def test_engine_sql_and_pandas_agree(tmp_path, store, key, dataset):
    if dataset == "synthetic":
        extract_date = dt.date(2025, 12, 31)
        import_files(store, [_synthetic_events(tmp_path)], key, extract_date=extract_date)
    else:
        events, columns, extract_date = _datasets()[dataset]
        import_files(store, [write_csv(tmp_path / "e.csv", columns, events)], key, extract_date=extract_date)
    # Only what the baselines implement: an indicator added to the library changes nothing here.
    engine = baselines.engine_as_baseline(compute(store, baselines.definitions(), quarters=False, breakdowns=False))
    population = baselines.reference_population()
    sql = baselines.sql_indicators(store.raw, population, extract_date)
    pandas = baselines.pandas_indicators(store.raw.execute("SELECT * FROM events").df(), population, extract_date)
    assert set(engine.indicator.str.split(":").str[0]) == set(baselines.BASELINE)
    assert len(sql) >= 20
    assert baselines.compare(engine, sql) == []
    assert baselines.compare(engine, pandas) == []


def test_engine_and_the_pandas_workforce_baseline_agree(tmp_path, store):
    from test_workforce import import_dataset

    import_dataset(tmp_path, store)
    definitions = baselines.definitions(baselines.WORKFORCE_BASELINE)
    engine = baselines.engine_as_baseline(compute(store, definitions, quarters=False, breakdowns=False),
                                          baselines.WORKFORCE_BASELINE)
    engine = engine[engine.period == "2024"]  # the baseline is asked for 2024 only
    pandas = baselines.pandas_workforce(store.raw.execute("SELECT * FROM staff").df(), [2024])
    assert set(engine.indicator) == set(baselines.WORKFORCE_BASELINE) and len(pandas) == 4
    assert baselines.compare(engine, pandas) == []
