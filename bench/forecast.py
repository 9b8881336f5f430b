"""The forecast's rolling-origin backtest: its error per month ahead against the seasonal-naive
baseline (the same month last year), the intervals' coverage, and the run time.

    PYTHONPATH=src python bench/forecast.py --data-dir /tmp/insyn-demo   # the demo region's store
    PYTHONPATH=src python bench/forecast.py --national                   # 290 municipalities × 5 years

The national scale is monthly counts drawn per municipality (population-scaled levels, a trend,
the county's school-term season, over-dispersion; stocks as slowly wandering levels), not the
full event generator, whose five national years take far longer to generate and import than
the backtest itself. Municipal totals only (no units). `--every N` forecasts from every N-th
origin to keep the run short. Figures go into docs/performance.md.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from insyn.forecast.backtest import backtest, errors_by_horizon, origins_of
from insyn.forecast.config import load_forecast
from insyn.model.municipalities import municipalities

SEASON = np.log([1.0, 1.1, 1.15, 1.05, 1.1, 0.95, 0.6, 0.8, 1.2, 1.25, 1.2, 0.95])
FIRST = 2021 * 12


def national_history(years: int = 5, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    munis = municipalities()
    months = np.arange(FIRST, FIRST + 12 * years)
    frames = []
    for code, county, children in zip(munis.municipality_code, munis.county_code, munis.population_0_17,
                                      strict=True):
        reports = children * 0.006  # reports a month per child, about the national rate
        trend = rng.normal(0.03, 0.04)
        levels = {"reports": reports, "initial_assessments": 0.8 * reports, "investigations_started": 0.3 * reports}
        for measure, level in levels.items():
            mean = level * np.exp(SEASON[months % 12] + trend * (months - FIRST) / 12)
            frames.append((county, code, measure, months, rng.negative_binomial(mean / 0.3, 1 / 1.3)))
        for measure, level in {"open_investigations": 1.2 * reports, "open_interventions": 2.5 * reports}.items():
            walk = np.exp(np.cumsum(rng.normal(0, 0.03, months.size)) + trend * (months - FIRST) / 12)
            frames.append((county, code, measure, months, rng.poisson(level * walk)))
    return pd.concat([pd.DataFrame({"pool": p, "municipality": c, "unit": "", "measure": m, "month": mo,
                                    "value": v}) for p, c, m, mo, v in frames], ignore_index=True)


def store_history(data_dir: Path) -> pd.DataFrame:
    from insyn.forecast.history import store_history as read
    from insyn.settings import Settings
    from insyn.workflows import store_for

    settings = Settings(data_dir=data_dir)
    store = store_for(settings, read_only=True)
    try:
        history = read(store, settings.forecast_config(), settings.workforce_config(),
                       settings.workload_config(), settings.cache_dir).history
    finally:
        store.close()
    return history[history["unit"] == ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--national", action="store_true")
    parser.add_argument("--every", type=int, default=1)
    args = parser.parse_args()
    config = load_forecast()
    history = national_history() if args.national else store_history(args.data_dir)
    history = history[history["measure"].isin([m.id for m in config.shown])]
    origins = origins_of(history, config)[::args.every]
    started = time.perf_counter()
    rows = backtest(history, config, origins)
    seconds = time.perf_counter() - started
    table = errors_by_horizon(rows, config)
    print(f"{history.municipality.nunique()} municipalities, {history.month.nunique()} months, "
          f"{len(origins)} origins, {len(rows) // config.horizon_months} forecasts: {seconds:.0f} s")
    shown = table[table.horizon.isin([1, 3, 6, 12])].copy()
    for column in ("model_mape", "naive_mape", "covered_80", "covered_95"):
        shown[column] = (100 * shown[column]).round(0)
    print(shown.to_string(index=False))


if __name__ == "__main__":
    main()
