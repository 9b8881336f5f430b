"""The forecast model, from statsmodels: for a flow (reports, assessments, investigations
started) a quasi-Poisson regression per series with its own level and trend; for a stock (the
caseload on the first of the month) exponential smoothing with a damped trend. Both on the
seasonal shape of the series' pool (the county), with intervals read from simulated futures and
the median as the point forecast.

Partial pooling, in the simplest form that holds: the seasonal shape — how much higher
September is than July — is fitted once per pool and measure on all its municipalities together
(each with its own level and trend), so a municipality with twenty reports a month borrows the
region's shape; the level and the trend are the series' own. A series is a municipality's total
or one of its units (`unit` "" is the whole municipality).

History is a long frame: pool, municipality, unit, measure, month (an integer, year * 12 +
month - 1) and value, one row per series and month with no months missing.
"""

from __future__ import annotations

import warnings
import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning
from statsmodels.tsa.holtwinters import ExponentialSmoothing

from insyn.forecast.config import ForecastConfig

SERIES = ["pool", "municipality", "unit", "measure"]
HISTORY_COLUMNS = [*SERIES, "month", "value"]
MONTHS_PER_YEAR = 12
STOCK_CEILING = 3.0  # the most a simulated caseload may be, times the most it has been


def interval_columns(levels: list[float]) -> list[tuple[float, str, str]]:
    """(level, lower column, upper column) for each interval level: 0.8 -> lower_80, upper_80."""
    return [(level, f"lower_{round(level * 100)}", f"upper_{round(level * 100)}") for level in levels]


@dataclass(frozen=True)
class Season:
    """A pool's seasonal effects on the log scale (January 0) and their variances."""

    effect: np.ndarray    # 12
    variance: np.ndarray  # 12

    @classmethod
    def flat(cls) -> Season:
        return cls(np.zeros(MONTHS_PER_YEAR), np.zeros(MONTHS_PER_YEAR))


def _quiet_fit(model: sm.GLM):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (ConvergenceWarning, PerfectSeparationWarning, RuntimeWarning))
        return model.fit(scale="X2")


def season_of_pool(totals: pd.DataFrame) -> Season:
    """The seasonal shape of one pool and measure, from its municipalities' totals (municipality,
    month, value): log(mean) = municipality level + municipality trend + month effect."""
    totals = totals[totals.groupby("municipality")["value"].transform("sum") > 0]
    if totals.empty or totals["month"].nunique() < 2 * MONTHS_PER_YEAR:  # two of each month at least
        return Season.flat()
    codes, municipality = np.unique(totals["municipality"].to_numpy(), return_inverse=True)
    month = totals["month"].to_numpy()
    years = (month - month.max()) / MONTHS_PER_YEAR
    levels = np.eye(len(codes))[municipality]
    calendar = np.eye(MONTHS_PER_YEAR)[month % MONTHS_PER_YEAR][:, 1:]
    exog = np.hstack([levels, levels * years[:, None], calendar])
    fit = _quiet_fit(sm.GLM(totals["value"].to_numpy(dtype=float), exog, family=sm.families.Poisson()))
    seasonal = slice(2 * len(codes), None)
    effect = np.concatenate([[0.0], np.asarray(fit.params)[seasonal]])
    variance = np.concatenate([[0.0], np.diag(np.asarray(fit.cov_params()))[seasonal]])
    return Season(effect, np.nan_to_num(variance))


def season_by_pool(history: pd.DataFrame) -> dict[tuple[str, str], Season]:
    """Each (pool, measure)'s seasonal shape, from the municipalities' totals (unit "")."""
    totals = history[history["unit"] == ""]
    return {key: season_of_pool(frame) for key, frame in totals.groupby(["pool", "measure"])}


def _normal_draws(mean: np.ndarray, cov: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Draws of the fitted parameters (n × len(mean)); a covariance that is not positive
    definite (a series of almost only zeros) draws the parameters as fitted."""
    try:
        return mean + rng.standard_normal((n, len(mean))) @ np.linalg.cholesky(cov).T
    except np.linalg.LinAlgError:
        return np.tile(mean, (n, 1))


def flow_draws(values: np.ndarray, months: np.ndarray, season: Season, config: ForecastConfig,
               rng: np.random.Generator, draws: int) -> np.ndarray:
    """Simulated futures of a flow (draws × horizon): a quasi-Poisson GLM of its level and trend
    on the last `fit_months`, on the pool's seasonal shape, with the uncertainty of both and
    negative binomial noise with the fitted dispersion."""
    horizon = config.horizon_months
    values, months = values[-config.fit_months:], months[-config.fit_months:]
    if values.sum() == 0:
        return np.zeros((draws, horizon))
    origin = months[-1]
    exog = np.column_stack([np.ones(len(months)), (months - origin) / MONTHS_PER_YEAR])
    offset = season.effect[months % MONTHS_PER_YEAR]
    fit = _quiet_fit(sm.GLM(values.astype(float), exog, family=sm.families.Poisson(), offset=offset))
    dispersion = max(float(fit.scale), 1.0)
    beta = _normal_draws(np.asarray(fit.params), np.asarray(fit.cov_params()), draws, rng)
    ahead = origin + np.arange(1, horizon + 1)
    seasonal = season.effect[ahead % MONTHS_PER_YEAR] + rng.standard_normal((draws, horizon)) * np.sqrt(
        season.variance[ahead % MONTHS_PER_YEAR])
    mean = np.exp(np.minimum(beta[:, :1] + beta[:, 1:] * (ahead - origin) / MONTHS_PER_YEAR + seasonal, 30))
    if dispersion <= 1.0:
        return rng.poisson(mean).astype(float)
    # Negative binomial with variance = dispersion × mean (quasi-Poisson's variance).
    return rng.negative_binomial(mean / (dispersion - 1.0), 1.0 / dispersion).astype(float)


def stock_draws(values: np.ndarray, months: np.ndarray, season: Season, config: ForecastConfig,
                rng: np.random.Generator, draws: int) -> np.ndarray:
    """Simulated futures of a stock (draws × horizon). A caseload moves slowly from where it is,
    which a trend over three years misses: exponential smoothing with a damped trend (Holt,
    statsmodels) on log(1 + count) with the pool's seasonal shape taken out, simulated from the
    last month with its own residuals, the shape put back."""
    horizon = config.horizon_months
    values, months = values[-config.fit_months:], months[-config.fit_months:]
    if values.sum() == 0:
        return np.zeros((draws, horizon))
    adjusted = np.log1p(values.astype(float)) - season.effect[months % MONTHS_PER_YEAR]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (ConvergenceWarning, RuntimeWarning))
        fit = ExponentialSmoothing(adjusted, trend="add", damped_trend=True,
                                   initialization_method="estimated").fit()
        paths = np.asarray(fit.simulate(horizon, repetitions=draws, error="add", anchor="end",
                                        rng=rng)).reshape(horizon, draws).T
    ahead = months[-1] + np.arange(1, horizon + 1)
    # A short or jumpy history can give a smoother wild residuals; no caseload is taken to
    # more than treble the most it has been within a year.
    ceiling = np.log1p(STOCK_CEILING * values.max())
    return np.maximum(np.rint(np.expm1(np.minimum(paths + season.effect[ahead % MONTHS_PER_YEAR], ceiling))), 0)


DRAWS = {"flow": flow_draws, "stock": stock_draws}


@dataclass(frozen=True)
class SeriesFilter:
    """The series of these units and measures (all of either when None)."""

    units: frozenset[str] | None = None
    measures: frozenset[str] | None = None

    def of(self, history: pd.DataFrame) -> pd.DataFrame:
        keep = np.ones(len(history), dtype=bool)
        if self.units is not None:
            keep &= history["unit"].isin(self.units).to_numpy()
        if self.measures is not None:
            keep &= history["measure"].isin(self.measures).to_numpy()
        return history[keep]


def series_random(seed: int, key: tuple) -> np.random.Generator:
    """The random stream of one series: from the configured seed and the series' key."""
    return np.random.default_rng([seed, zlib.crc32("\x1f".join(map(str, key)).encode())])


@dataclass
class Forecast:
    """Per series and month ahead: the mean, the median and the intervals (`table`); and, when
    kept, the simulated futures of each series (`draws`, draws × horizon), for sums of series."""

    table: pd.DataFrame
    draws: dict[tuple[str, str, str, str], np.ndarray]


def forecast(history: pd.DataFrame, config: ForecastConfig, keep_draws: bool = False,
             draws: int | None = None, municipality: str | None = None,
             only: SeriesFilter | None = None) -> Forecast:
    """The next `horizon_months` of every series in `history` (of `municipality`'s only, and
    only those `only` keeps, when given: the seasonal shapes still come from all of the pool)
    with at least `min_history_months` months, from each series' last month (`draws` simulated
    futures, default the configured number). Each series draws from its own random stream, so a
    series' forecast is the same whichever others are forecast with it."""
    if only is not None and only.measures is not None:  # a shape is per measure: only those needed
        history = history[history["measure"].isin(only.measures)]
    seasons = season_by_pool(history)
    if municipality is not None:
        history = history[history["municipality"] == municipality]
    if only is not None:
        history = only.of(history)
    draws = draws or config.draws
    horizon = config.horizon_months
    keys, origins, summaries, kept = [], [], [], {}
    probabilities = [0.5] + [p for level in config.interval_levels for p in ((1 - level) / 2, (1 + level) / 2)]
    for key, frame in history.sort_values("month").groupby(SERIES, sort=True):
        if len(frame) < config.min_history_months:
            continue
        months = frame["month"].to_numpy()
        simulate = DRAWS[config.measure(key[3]).kind]
        futures = simulate(frame["value"].to_numpy(), months, seasons.get((key[0], key[3]), Season.flat()),
                           config, series_random(config.seed, key), draws)
        if keep_draws:
            kept[key] = futures
        keys.append(key)
        origins.append(months[-1])
        summaries.append(np.vstack([futures.mean(axis=0), np.quantile(futures, probabilities, axis=0)]))
    return Forecast(_table(keys, origins, summaries, horizon, config.interval_levels), kept)


def _table(keys: list[tuple], origins: list[int], summaries: list[np.ndarray], horizon: int,
           levels: list[float]) -> pd.DataFrame:
    bounds = [c for _, lower, upper in interval_columns(levels) for c in (lower, upper)]
    if not keys:
        return pd.DataFrame(columns=[*SERIES, "month", "horizon", "mean", "median", *bounds])
    table = pd.DataFrame(np.repeat(np.array(keys, dtype=object), horizon, axis=0), columns=SERIES)
    steps = np.tile(np.arange(1, horizon + 1), len(keys))
    table["month"] = np.repeat(origins, horizon) + steps
    table["horizon"] = steps
    values = np.hstack(summaries)  # (2 + bounds) × (series · horizon)
    for row, column in enumerate(["mean", "median", *bounds]):
        table[column] = values[row]
    return table


def seasonal_naive(history: pd.DataFrame, horizon: int) -> pd.DataFrame:
    """The baseline: each month ahead is the same month a year earlier (SERIES, month, naive)."""
    origin = history.groupby(SERIES)["month"].transform("max")
    rows = []
    for h in range(1, horizon + 1):
        back = MONTHS_PER_YEAR * -(-h // MONTHS_PER_YEAR)  # the same calendar month, at or before the origin
        source = history[history["month"] == origin + h - back]
        rows.append(source.assign(month=source["month"] + back, horizon=h)[[*SERIES, "month", "horizon", "value"]])
    return pd.concat(rows, ignore_index=True).rename(columns={"value": "naive"})


def month_index(period: str) -> int:
    """'2024-03' -> 2024 * 12 + 2."""
    year, month = period.split("-")
    return int(year) * MONTHS_PER_YEAR + int(month) - 1


def month_text(index: int) -> str:
    return f"{index // MONTHS_PER_YEAR}-{index % MONTHS_PER_YEAR + 1:02d}"
