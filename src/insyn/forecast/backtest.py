"""How well the forecast did on each series' own history: a rolling-origin backtest. From every
month with at least `min_history_months` behind it, forecast as if it were the last month known
and compare with what came; the seasonal-naive forecast (the same month a year earlier) is the
baseline the model must beat."""

from __future__ import annotations

import numpy as np
import pandas as pd

from insyn.forecast.config import ForecastConfig
from insyn.forecast.model import SERIES, SeriesFilter, forecast, interval_columns, seasonal_naive


def origins_of(history: pd.DataFrame, config: ForecastConfig, last: int | None = None) -> list[int]:
    """The months to forecast from: at least `min_history_months` of the earliest series behind
    them and at least one month to compare with after them (the last `last` of them, if given)."""
    first, end = int(history["month"].min()), int(history["month"].max())
    months = list(range(first + config.min_history_months - 1, end))
    return months[-last:] if last else months


def backtest(history: pd.DataFrame, config: ForecastConfig, origins: list[int] | None = None,
             municipality: str | None = None, only: SeriesFilter | None = None) -> pd.DataFrame:
    """One row per series (of `municipality`'s only and those `only` keeps, when given), origin
    and month ahead that has come: the actual value, the model's mean and intervals, and the
    seasonal-naive forecast."""
    frames = []
    for origin in origins_of(history, config) if origins is None else origins:
        known = history[history["month"] <= origin]
        predicted = forecast(known, config, draws=config.backtest_draws, municipality=municipality, only=only).table
        if predicted.empty:
            continue
        naive = seasonal_naive(known[known.set_index(SERIES).index.isin(
            predicted.set_index(SERIES).index.unique())], config.horizon_months)
        rows = predicted.merge(naive, on=[*SERIES, "month", "horizon"], how="left").merge(
            history.rename(columns={"value": "actual"}), on=[*SERIES, "month"])
        frames.append(rows.assign(origin=origin))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _scored(rows: pd.DataFrame, config: ForecastConfig) -> pd.DataFrame:
    """The rows with absolute percentage errors (undefined where the actual is 0) and whether
    each interval held the actual."""
    actual = rows["actual"].where(rows["actual"] > 0)
    scored = rows.assign(model_ape=(rows["median"] - actual).abs() / actual,
                         naive_ape=(rows["naive"] - actual).abs() / actual)
    for level, lower, upper in interval_columns(config.interval_levels):
        scored[f"covered_{round(level * 100)}"] = (rows["actual"] >= rows[lower]) & (rows["actual"] <= rows[upper])
    return scored


def _coverage_columns(config: ForecastConfig) -> list[str]:
    return [f"covered_{round(level * 100)}" for level in config.interval_levels]


def errors_by_horizon(rows: pd.DataFrame, config: ForecastConfig, by: list[str] | None = None) -> pd.DataFrame:
    """Per measure (and `by`) and month ahead: mean absolute percentage error of the model and of
    the seasonal-naive baseline, the intervals' coverage, and how many forecasts were compared."""
    scored = _scored(rows, config)
    keys = [*(by or []), "measure", "horizon"]
    aggregations = {"model_mape": ("model_ape", "mean"), "naive_mape": ("naive_ape", "mean"),
                    **{c: (c, "mean") for c in _coverage_columns(config)}, "compared": ("actual", "size")}
    return scored.groupby(keys).agg(**aggregations).reset_index()


def verdicts(rows: pd.DataFrame, config: ForecastConfig) -> pd.DataFrame:
    """Per series: the model's and the baseline's error over all horizons, the 95 % interval's
    coverage, and whether the model beats the baseline (a lower mean absolute percentage error;
    no baseline to compare — too short a history — counts as beating it)."""
    scored = _scored(rows, config)
    aggregations = {"model_mape": ("model_ape", "mean"), "naive_mape": ("naive_ape", "mean"),
                    **{c: (c, "mean") for c in _coverage_columns(config)}, "compared": ("actual", "size")}
    result = scored.groupby(SERIES).agg(**aggregations).reset_index()
    result["beats_baseline"] = np.where(result["naive_mape"].isna(), True,
                                        result["model_mape"] <= result["naive_mape"])
    return result
