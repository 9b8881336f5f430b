"""The publication gateway: results passed through the disclosure layer once, indexed for every
table a reader sees. `prepare` is the only maker of a Publication (with `with_noise` for noisy
counts in place of holes), so nothing reaches a report, a workbook, a page or an export without
passing it.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from insyn.disclosure.grid import every_row
from insyn.disclosure.noise import METHOD, noise_applies
from insyn.disclosure.releases import Earlier
from insyn.disclosure.rules import DisclosureRules
from insyn.disclosure.status import NEVER_PUBLISHED, is_hidden
from insyn.disclosure.suppression import IN_FULL_ONLY, Unrepublishable, protect
from insyn.indicators.definitions import Definition, by_id, library
from insyn.indicators.engine import DIMENSIONS
from insyn.indicators.pooled import POOLED, with_pooled
from insyn.model.municipalities import municipality_names
from insyn.model.workforce_config import ReferenceDate, load_workforce
from insyn.publish.cells import Cell, shown_unless, value_cell
from insyn.swedish import COUNT, swedish_sort_key
from insyn.workforce.workload import Workload, unit_months

DEFAULT_TITLE = "Insyn – uppföljning av den sociala barn- och ungdomsvården"
SYNTHETIC_LABEL = "Syntetiska data – inga verkliga uppgifter"  # on everything made from the demo's data
log = logging.getLogger(__name__)
YEAR, QUARTER = "year", "quarter"


def month_start(month: str) -> dt.date:
    """The first day of a month written "2025-11"."""
    year, number = month.split("-")
    return dt.date(int(year), int(number), 1)


def best_first(definition: Definition, value: float) -> float:
    """Sort key of a value: the best first (the highest when the indicator has no better direction)."""
    return value if definition.higher_is_better is False else -value


@dataclass(frozen=True)
class UnitLoad:
    """A unit's workload on the first day of a month, as published: aggregated over its
    caseworkers and small-count protected."""

    municipality: str
    unit: str
    month: str  # "2025-11"
    caseworkers: Cell
    over_norm: Cell
    load: Cell  # the unit's points against the sum of its caseworkers' norms, in %


# --- the publication -------------------------------------------------------------------------

@dataclass(frozen=True)
class Publication:
    """Results after the disclosure layer, indexed for the tables below. Only `prepare` makes one,
    so nothing reaches a report or a workbook without passing it."""

    rows: pd.DataFrame
    rules: DisclosureRules
    definitions: tuple[Definition, ...]
    municipalities: tuple[str, ...]
    names: dict[str, str]
    years: tuple[str, ...]
    made: dt.date
    index: dict[tuple, dict]
    latest_years: dict[str, str]
    unit_loads: tuple[UnitLoad, ...]
    # The workforce indicators' reference date (workforce.yaml); the unit load shown is that
    # of its month.
    reference: ReferenceDate
    # Noise in place of holes (insyn.disclosure.noise): the method as every table states it,
    # e.g. "differentiell integritet, ε = 1,0"; None when small figures are suppressed.
    noise: str | None = None
    # The latest three years pooled (insyn.indicators.pooled) of the publication, e.g.
    # "2023–2025", and of each indicator pooled (an indicator that needs follow-up time may end
    # earlier).
    pooled_period: str | None = None
    latest_pooled: dict[str, str] = field(default_factory=dict)
    # Made from the demo's invented data only: every page, sheet and download says so.
    synthetic: bool = False
    _published_values: dict[tuple, list[float]] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def threshold(self) -> int:
        return self.rules.count_threshold

    def name(self, municipality: str) -> str:
        return self.names.get(municipality, municipality)

    def row(self, definition: Definition, municipality: str, period: str,
            **dimensions) -> dict | None:
        key = (definition.id, municipality, period, *(dimensions.get(d) for d in DIMENSIONS))
        return self.index.get(key)

    def cell(self, definition: Definition, municipality: str, period: str, **dimensions) -> Cell:
        return value_cell(definition, self.row(definition, municipality, period, **dimensions))

    def public_cell(self, definition: Definition, municipality: str, period: str, **dimensions) -> Cell:
        """The cell as everyone sees it: hidden where only this reader sees it (their own rows in
        full), so that every reader compares with the same figures."""
        row = self.row(definition, municipality, period, **dimensions)
        if row is not None and row.get(IN_FULL_ONLY):
            return Cell(None, definition.unit, suppressed=True)
        return value_cell(definition, row)

    def shown_in_full_only(self, definition: Definition, municipality: str, period: str, **dimensions) -> bool:
        """Whether the reader sees the figure only because it is their own (everyone else sees "..")."""
        row = self.row(definition, municipality, period, **dimensions)
        return bool(row is not None and row.get(IN_FULL_ONLY))

    @cached_property
    def _dimension_values(self) -> dict[tuple, set]:
        found: dict[tuple, set] = {}
        for indicator, municipality, period, *dimensions in self.index:
            for name, value in zip(DIMENSIONS, dimensions, strict=True):
                if value is not None:
                    for key in ((indicator, municipality, period, name), (indicator, None, period, name),
                                (indicator, None, None, name)):
                        found.setdefault(key, set()).add(value)
        return found

    def dimension_values(self, definition: Definition, dimension: str, municipality: str | None = None,
                         period: str | None = None) -> set:
        """The values of a breakdown (units, say, or categories) the indicator has rows for: of one
        municipality and period, of a period in any municipality (municipality None), or (both
        None) anywhere."""
        return self._dimension_values.get((definition.id, municipality, period, dimension), set())

    def published_values(self, definition: Definition, year: str, among: tuple[str, ...]) -> list[float]:
        """The totals of the municipalities `among` in the year as published to everyone (never a
        reader's own figure seen in full), best first (highest first when the indicator has no
        better direction). Kept: the web app asks for the same comparison group again and again,
        and a publication never changes."""
        key = (definition.id, year, among)
        found = self._published_values.get(key)
        if found is None:
            values = (self.public_cell(definition, code, year).value for code in among)
            found = sorted((v for v in values if v is not None), key=lambda v: best_first(definition, v))
            self._published_values[key] = found
        return found

    @cached_property
    def unit_loads_by_month(self) -> dict[str, list[UnitLoad]]:
        found: dict[str, list[UnitLoad]] = {}
        for load in self.unit_loads:
            found.setdefault(load.month, []).append(load)
        return found

    def pooled(self, definition: Definition, municipality: str) -> tuple[str, Cell] | None:
        """The indicator's latest three years pooled (the period, the municipality's figure),
        None for an indicator not pooled."""
        period = self.latest_pooled.get(definition.id)
        return None if period is None else (period, self.cell(definition, municipality, period))

    def latest_year(self, definition: Definition) -> str | None:
        """The latest year the indicator has a row in, for any municipality."""
        return self.latest_years.get(definition.id)

    @property
    def areas(self) -> list[str]:
        """The areas with published indicators, in library order."""
        return list(dict.fromkeys(d.area for d in self.definitions))

    @property
    def summary_definitions(self) -> list[Definition]:
        """Indicators with a total per municipality (not split into categories)."""
        return [d for d in self.definitions if not d.category]

    @property
    def category_definitions(self) -> list[Definition]:
        """Indicators split into categories that are shares of one total (report sources)."""
        return [d for d in self.definitions if d.category and d.category_shares == "of_all"]

    @property
    def coverage_definitions(self) -> list[Definition]:
        """Indicators whose every category is a share of its own counted denominator (training
        programmes); not sums per category (care days, cost per child per form)."""
        return [d for d in self.definitions if d.category and d.category_shares == "within_category"
                and d.numerator is not None and d.numerator.sum is None
                and d.denominator is not None and d.denominator.sum is None]

    @property
    def per_category_definitions(self) -> list[Definition]:
        """Indicators with a value of its own per category and no total (the cost per child per
        form, the list price per care day per form): shown as one value per category."""
        coverage = self.coverage_definitions
        return [d for d in self.definitions if d.category and d.category_shares == "within_category"
                and d not in coverage]

    @property
    def category_table_definitions(self) -> list[Definition]:
        """Indicators shown as a table of their categories: shares of one total or values of
        their own (category_table)."""
        return self.category_definitions + self.per_category_definitions


def _as_python(frame: pd.DataFrame) -> pd.DataFrame:
    """Missing values as None and numbers as floats, so rows read the same whatever the dtypes."""
    return frame.astype(object).where(frame.notna(), None)


def _unit_loads(workload: Workload | None, rules: DisclosureRules, names: dict[str, str],
                hidden_units: set[tuple[str, str, str]], reference: ReferenceDate,
                in_full: InFull | None = None) -> tuple[UnitLoad, ...]:
    """Unit totals from the workload (never a caseworker's row), by municipality, unit and month.
    Published: the reference month of each year only, where a unit's caseworkers and those over
    the norm are the share over the norm's denominator and numerator, so that every number shown
    is a cell of the protection's model; the unit shows nothing but ".." where that share is
    hidden (`hidden_units`: municipality, unit, year) or either count is small. A count is never
    hidden on its own: beside its unit's other figures that would say it is small. Other months
    only of units the reader may see in full (`in_full`)."""
    if workload is None or workload.caseworkers.empty:
        return ()
    units = unit_months(workload)
    own = in_full(units).to_numpy(dtype=bool) if in_full else np.zeros(len(units), dtype=bool)
    loads = []
    for row, shown_in_full in zip(_as_python(units).to_dict("records"), own, strict=True):
        month = month_start(row["period"])
        if month.month != reference.month and not shown_in_full:
            continue
        few = not shown_in_full and ((row["municipality"], row["unit"], str(month.year)) in hidden_units
                                     or rules.is_small(row["caseworkers"]) or rules.is_small(row["over_norm"]))
        ratio = row["load_ratio"]
        load = 100 * ratio if ratio is not None and math.isfinite(ratio) else None
        loads.append(UnitLoad(
            row["municipality"], row["unit"], row["period"],
            shown_unless(few, row["caseworkers"], COUNT), shown_unless(few, row["over_norm"], COUNT),
            shown_unless(few, load, "%")))
    loads.sort(key=lambda u: (swedish_sort_key(names.get(u.municipality, u.municipality)),
                              swedish_sort_key(u.unit), u.month))
    return tuple(loads)


UNIT_LOAD_INDICATOR = "andel_over_norm"  # the indicator the unit load table's reference month repeats


InFull = Callable[[pd.DataFrame], pd.Series]


def prepare(results: pd.DataFrame, rules: DisclosureRules, made: dt.date | None = None,
            workload: Workload | None = None, reference: ReferenceDate | None = None,
            cache_dir: Path | None = None, noise: Noise | None = None,
            in_full: InFull | None = None, earlier: Earlier | None = None, release: bool = True,
            synthetic: bool = False) -> Publication:
    """Pass the results through the disclosure layer and index what may be published, the
    workload (when given) as unit totals. Rows never to be published (a period the data do not
    yet cover, an unknown indicator) are left out. `reference` defaults to the shipped
    workforce.yaml's reference date; `cache_dir` keeps the disclosure statuses for the next
    publication of the same results. `noise` (insyn.disclosure.noise) publishes noisy counts in
    place of holes, of the indicators noise can protect.

    `in_full` is for internal follow-up in the web app, never for publishing: it marks the rows
    (of the results, or of the unit load, by municipality and unit) that the reader may see
    unprotected, their own municipality's or units'. The rest is protected against a reader who
    knows those rows (insyn.disclosure.suppression.protect), so nothing of anybody else's
    becomes easier to work out.

    `earlier` is what earlier publications with holes of the same years hid and showed (the
    store's ledger, insyn.disclosure.releases): what they hid stays hidden, and what they showed
    unchanged is never hidden to protect another, so that the publications cannot be read
    together. Where that cannot be done, a release (`release`) is refused (Unrepublishable); a
    view that is no release (the terminal's summary, the web app) hides what was hidden.

    `synthetic`: the results are of invented data (insyn demo); everything made of the
    publication carries the label that says so."""
    reference = reference or load_workforce().reference_date
    if noise is None:
        protected = protected_results(results, rules, cache_dir, in_full, earlier, release)
    elif in_full is not None:
        raise ValueError("A noisy publication is for publishing; it has no rows shown in full.")
    else:  # exact unit load beside noisy counts would undo the noise: it is left out
        protected, workload = with_noise(results, noise), None
    if IN_FULL_ONLY not in protected:
        protected = protected.assign(**{IN_FULL_ONLY: False})
    published = _as_python(protected[protected.status != NEVER_PUBLISHED]).reset_index(drop=True)
    shares = published[published.indicator == UNIT_LOAD_INDICATOR]
    hidden_units = {(r.municipality, r.unit, r.period) for r in shares.itertuples()
                    if r.unit is not None and r.period_type == YEAR and is_hidden(r.status)}
    present = set(published.indicator)
    names = municipality_names()
    found: set[str] = set(published.municipality)
    codes = sorted(found, key=lambda c: swedish_sort_key(names.get(c) or c))
    yearly = published[published.period_type == YEAR]
    pooled = published[published.period_type == POOLED]
    index = {(r["indicator"], r["municipality"], r["period"], *(r[d] for d in DIMENSIONS)): r
             for r in published.to_dict("records")}
    return Publication(rows=published, rules=rules,
                       definitions=tuple(d for d in library() if d.id in present),
                       municipalities=tuple(codes), names=names,
                       years=tuple(sorted(set(yearly.period))),
                       made=made or dt.date.today(), index=index,
                       latest_years=yearly.groupby("indicator").period.max().to_dict(),
                       unit_loads=_unit_loads(workload, rules, names, hidden_units, reference, in_full),
                       reference=reference,
                       noise=protected[METHOD].iloc[0] if noise is not None and len(protected) else None,
                       pooled_period=max(pooled.period, default=None),
                       latest_pooled=pooled.groupby("indicator").period.max().to_dict(), synthetic=synthetic)


def protected_results(results: pd.DataFrame, rules: DisclosureRules, cache_dir: Path | None = None,
                      in_full: InFull | None = None, earlier: Earlier | None = None,
                      release: bool = True) -> pd.DataFrame:
    """The results as `prepare` publishes them with holes, before they are indexed: every code's
    row, three years pooled, protected (see `prepare` for `in_full`, `earlier` and `release`).
    The import calls it ahead of the web app, so that the statuses the app's `prepare` needs are
    already kept in `cache_dir` under the same key."""
    # Which rows exist must say nothing: every code's row, zeros included (noise adds its own).
    # Three years pooled where a single year rests on too few (insyn.indicators.pooled).
    results = with_pooled(every_row(results.reset_index(drop=True), by_id(), strict=False), by_id())
    shown = in_full(results).to_numpy(dtype=bool) if in_full is not None else None
    earlier = earlier or Earlier()

    def protected_beside(before: Earlier) -> pd.DataFrame:
        hidden_before, shown_before = before.masks(results)
        return protect(results, rules, cache_dir=cache_dir, shown_in_full=shown, hidden_before=hidden_before,
                       shown_before=shown_before)

    try:
        return protected_beside(earlier)
    except Unrepublishable:
        if release:
            raise
        log.warning("The data have changed since a report of the same years in a way no new report could "
                    "protect; this view keeps only the report's hidden figures hidden")
        return protected_beside(earlier.hidden_only)


Noise = Callable[[pd.DataFrame], pd.DataFrame]


def with_noise(results: pd.DataFrame, noise: Noise) -> pd.DataFrame:
    """The complete periods of the indicators built from counts, every code's row included,
    through `noise`. Sums and medians are left out: noise cannot protect them, and an exact
    figure beside a noisy one of the same count would undo it."""
    applies = {d.id: d for d in library() if noise_applies(d)}
    complete = results.complete.fillna(True).astype(bool) if "complete" in results else True
    return noise(every_row(results[results.indicator.isin(applies) & complete].reset_index(drop=True), applies,
                           strict=False))

