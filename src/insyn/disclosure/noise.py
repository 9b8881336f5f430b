"""Noise instead of holes: the cell-key method and differential privacy (docs/noise.md).

Both take indicator results (insyn.indicators.engine.RESULT_COLUMNS) and return them with noisy
numerators and denominators (never below 0), values recomputed from those (shares clipped to
0–100), `status` PUBLISHABLE and `method` naming the method for the note on every table.
Populations are public and keep their value. Only indicators built from counts can be given
noise (`noise_applies`): sums (FTE, hours) and medians are refused, and published with
suppression instead. The cell keys are dropped from what is returned: with them and the
p-table anyone could take the noise away.
"""

from __future__ import annotations

import dataclasses
from functools import cache
from importlib import resources

import numpy as np
import opendp.prelude as dp
import pandas as pd
import yaml

from insyn.disclosure.grid import SIDES, every_row, is_count
from insyn.disclosure.status import PUBLISHABLE
from insyn.errors import InputError
from insyn.indicators.definitions import Definition, library
from insyn.indicators.engine import CELL_KEY_COLUMNS, DIMENSIONS, KEYS
from insyn.swedish import format_number

METHOD = "method"  # the column naming the method
CELL_KEY_METHOD = "cellnyckel"
CELL = ["indicator", *KEYS, *DIMENSIONS]  # what identifies a cell, with its side
# Budgets are sums of floats: 0.1 + 0.2 spends a budget of 0.3 exactly.
BUDGET_TOLERANCE = 1e-9


def noise_applies(definition: Definition) -> bool:
    """Whether noise can protect the indicator: its value is built from counts (and public
    populations). A sum or a median would need noise scaled to magnitudes."""
    return definition.statistic is None and not any(count.sum for count in definition.counts())


class NoiseError(InputError):
    """Noise that cannot be added as asked (the message says why, in Swedish); a ValueError."""


def _definitions(results: pd.DataFrame, definitions: list[Definition] | None) -> dict[str, Definition]:
    """The definitions of the results' indicators (default: the library's), refusing those
    noise cannot protect."""
    known = {d.id: d for d in (definitions or library())}
    ids = sorted(set(results.indicator))
    refused = [i for i in ids if i not in known or not noise_applies(known[i])]
    if refused:
        raise NoiseError("Brus kan bara läggas på indikatorer som bygger på antal; publicera dessa med "
                         f"dolda små tal i stället: {', '.join(refused)}")
    return {i: known[i] for i in ids}


def _by_indicator(table: pd.DataFrame, definitions: dict[str, Definition], what) -> np.ndarray:
    """`what(definition)` for every row's indicator."""
    return table.indicator.map({i: what(d) for i, d in definitions.items()}).to_numpy()


def _counted(table: pd.DataFrame, definitions: dict[str, Definition], side: str) -> np.ndarray:
    """The rows whose numerator or denominator (`side`) is a count."""
    return _by_indicator(table, definitions, lambda d: is_count(getattr(d, side))).astype(bool)


def _published(noisy: pd.DataFrame, definitions: dict[str, Definition], method: str) -> pd.DataFrame:
    """Values recomputed from the noisy counts, with status and method, without cell keys."""
    factor = _by_indicator(noisy, definitions, lambda d: d.factor).astype(float)
    ratio = _by_indicator(noisy, definitions, lambda d: d.denominator is not None).astype(bool)
    share = _by_indicator(noisy, definitions, lambda d: d.unit == "%").astype(bool)
    numerator = noisy.numerator.to_numpy(float)
    denominator = noisy.denominator.to_numpy(float)
    divisor = np.where(ratio, np.where(denominator > 0, denominator, np.nan), 1.0)
    value = numerator * factor / divisor
    noisy["value"] = np.where(share, np.clip(value, 0, 100), value)
    noisy["status"] = PUBLISHABLE
    noisy[METHOD] = method
    return noisy.drop(columns=CELL_KEY_COLUMNS, errors="ignore")


# --- the cell-key method -----------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class PTable:
    """The cell-key method's perturbation table (ptable.yaml): `rows[i][noise]` of the `slots`
    equal slices of the cell key's range move a count of i (the last row: of i or more) by
    `noise`."""

    slots: int
    max_noise: int
    variance: float
    rows: tuple[dict[int, int], ...]

    def noise(self, counts: np.ndarray, keys: np.ndarray) -> np.ndarray:
        """The noise for each count and its cell key in [0, 1): the noise whose slice of the
        count's row holds the key, slices ordered from the most negative noise up."""
        noises = np.arange(-self.max_noise, self.max_noise + 1)
        bounds = np.cumsum([[row.get(n, 0) for n in noises.tolist()] for row in self.rows], axis=1)
        row = np.minimum(np.asarray(counts), len(self.rows) - 1)
        slot = np.floor(np.asarray(keys) * self.slots)
        return noises[(slot[..., None] >= bounds[row]).sum(axis=-1)]


@cache
def load_ptable() -> PTable:
    """The shipped p-table, checked: each row's slices fill the range, and no noise moves a
    count below 0 or by more than max_noise."""
    data = yaml.safe_load(resources.files("insyn.disclosure").joinpath("ptable.yaml").read_text(encoding="utf-8"))
    rows = tuple({int(noise): int(slices) for noise, slices in row.items()} for row in data["rows"])
    for count, row in enumerate(rows):
        moves = [noise for noise, slices in row.items() if slices]
        if (sum(row.values()) != data["slots"] or min(row.values()) < 0
                or any(count + noise < 0 or abs(noise) > data["max_noise"] for noise in moves)):
            raise ValueError(f"ptable.yaml: raden för {count} är ogiltig: {row}")
    return PTable(slots=data["slots"], max_noise=data["max_noise"], variance=data["variance"], rows=rows)


def cell_key_noise(results: pd.DataFrame, ptable: PTable | None = None,
                   definitions: list[Definition] | None = None) -> pd.DataFrame:
    """The results with the cell-key method's noise: each count moved by the p-table's noise
    for its value and its cell key (numerator_cellkey, denominator_cellkey), so that the same
    cell always gets the same noise, in every table and every run, and 0 stays 0."""
    by_id = _definitions(results, definitions)
    ptable = ptable or load_ptable()
    noisy = results.copy()
    for side in SIDES:
        rows = _counted(results, by_id, side)
        counts = results[side].to_numpy(float)[rows]
        keys = results[f"{side}_cellkey"].to_numpy(float)[rows]
        if np.isnan(keys[counts > 0]).any():
            raise NoiseError("Resultaten saknar cellnycklar: beräkna indikatorerna på nytt.")
        noisy.loc[rows, side] = counts + ptable.noise(counts.astype(int), np.nan_to_num(keys))
    return _published(noisy, by_id, CELL_KEY_METHOD)


# --- differential privacy ----------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Release:
    """Tables published together under a name, drawing on the data set's privacy budget (ε):
    the total that every release of the same store and year shares, whatever it is called."""

    name: str
    budget: float


class PrivacyBudgetExceeded(NoiseError):
    """Publishing a table would spend more than is left of a year's budget."""


def spent(store, year: str) -> float:
    """The ε spent so far on the year's data by every release (the store's privacy_budget
    ledger, one row per table and year; rows written before it kept years count for every year)."""
    # A row from before the ledger kept years counts against every year: spent is spent.
    return store.raw.execute("SELECT coalesce(sum(epsilon), 0) FROM privacy_budget WHERE period = ? OR period IS NULL",
                             [year]).fetchone()[0]


def _spend(store, release: Release, table: str, epsilon: float, sensitivity: int, years: list[str]) -> None:
    """Record the table's ε against each year it shows, in the caller's transaction if there is
    one; refuse a budget other than the one the year's data were first given, or the ε that would
    overspend it. Releases under other names draw on the same budget: sixty releases at ε = 1
    would otherwise pin every count."""
    for year in years:
        budgets = store.raw.execute("SELECT DISTINCT budget FROM privacy_budget WHERE period = ?", [year]).fetchall()
        if budgets and budgets != [(release.budget,)]:
            raise NoiseError(f"Uppgifterna för {year} har redan integritetsbudgeten ε = {_swedish(budgets[0][0])}, "
                             f"inte ε = {_swedish(release.budget)}: alla utgåvor av samma år delar en budget.")
        left = release.budget - spent(store, year)
        if epsilon > left + BUDGET_TOLERANCE:
            raise PrivacyBudgetExceeded(
                f"Integritetsbudgeten för {year} räcker inte: tabellen «{table}» behöver ε = {_swedish(epsilon)}, "
                f"men bara ε = {_swedish(max(left, 0))} av {_swedish(release.budget)} återstår (alla utgåvor "
                "av samma år delar budgeten).")
    for year in years:
        store.raw.execute("INSERT INTO privacy_budget (release, budget, table_name, epsilon, sensitivity, spent_at, "
                          "period) VALUES (?, ?, ?, ?, ?, current_localtimestamp(), ?)",
                          [release.name, release.budget, table, epsilon, sensitivity, year])


def _swedish(number: float) -> str:
    """1.0 → "1,0", 0.25 → "0,25": as the table notes write ε."""
    return format_number(number, 3, thousands="", min_decimals=1)


def _cell_identities(table: pd.DataFrame, definitions: dict[str, Definition], side: str) -> pd.DataFrame:
    """What identifies each row's count cell on `side`: a denominator all the categories of a
    group share (their shares are of the group's total) is one cell."""
    shared = _by_indicator(table, definitions, lambda d: side == "denominator" and d.category is not None
                           and d.category_shares == "of_all").astype(bool)
    identities = table[CELL].copy()
    identities.loc[shared, "category"] = None
    return identities[_counted(table, definitions, side)]


def _discrete_laplace(sensitivity: int, epsilon: float) -> dp.Measurement:
    """OpenDP's Laplace mechanism on integer counts (discrete Laplace noise from OpenDP's own
    secure generator) with the smallest scale that keeps the privacy loss within ε for
    neighbouring data whose counts differ by `sensitivity` in all."""
    dp.enable_features("contrib")
    space = dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int)
    return dp.binary_search_chain(lambda scale: dp.m.make_laplace(*space, scale=scale),
                                  d_in=sensitivity, d_out=epsilon)


def dp_noise(results: pd.DataFrame, store, release: Release, table: str, epsilon: float,
             definitions: list[Definition] | None = None) -> pd.DataFrame:
    """The results as table `table` of `release`, with differentially private counts: every
    count cell of the table (zeros and every code's row included) gets discrete Laplace noise
    of scale Δ/ε, Δ the number of count cells of the municipality with the most: one person,
    in one municipality, changes each count by at most 1 (docs/noise.md).

    The table's ε is spent in the store's ledger, against every year the table shows, before any
    noise is drawn; PrivacyBudgetExceeded when a year has less left. Every call draws new noise
    and spends again."""
    if not epsilon > 0:
        raise NoiseError(f"ε måste vara större än 0, inte {_swedish(epsilon)}.")
    by_id = _definitions(results, definitions)
    noisy = every_row(results, by_id)
    identities = {side: _cell_identities(noisy, by_id, side) for side in SIDES}
    cells = pd.concat([ids.assign(side=side, count=noisy.loc[ids.index, side]) for side, ids in identities.items()])
    cells = cells.drop_duplicates([*CELL, "side"], ignore_index=True)
    sensitivity = int(cells.groupby("municipality").size().max())
    measurement = _discrete_laplace(sensitivity, epsilon)
    _spend(store, release, table, epsilon, sensitivity, sorted(set(results.period.str.slice(0, 4))))
    cells["noisy"] = np.maximum(measurement(cells["count"].astype(int).tolist()), 0)
    for side, ids in identities.items():
        drawn = ids.merge(cells[cells.side == side], how="left", on=CELL)
        noisy.loc[ids.index, side] = drawn["noisy"].to_numpy(float)
    return _published(noisy, by_id, f"differentiell integritet, ε = {_swedish(epsilon)}")
