"""Swedish number formatting and the tables that both the HTML report and the Excel workbook
show, shaped once here from results that have passed the disclosure layer
(insyn.disclosure.suppression): `prepare` is the only way to a Publication.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import statistics
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from insyn.disclosure.noise import METHOD, noise_applies
from insyn.disclosure.rules import DisclosureRules
from insyn.disclosure.status import LABELS as STATUS_LABELS
from insyn.disclosure.status import NEVER_PUBLISHED, PRIMARY, SECONDARY, SUPPRESSED, is_hidden
from insyn.disclosure.suppression import protect
from insyn.indicators.definitions import Definition, area_names, library
from insyn.indicators.engine import DIMENSIONS
from insyn.model.codes import code_lists, label
from insyn.model.municipalities import AGE_YEAR, municipalities, municipality_names, reference_populations
from insyn.model.workforce_config import ReferenceDate, load_workforce
from insyn.workforce.workload import Workload, unit_months

DEFAULT_TITLE = "Insyn – uppföljning av den sociala barn- och ungdomsvården"

THOUSANDS_SEPARATOR = "\u202f"  # narrow no-break space: "1 234", never split over two lines
UNIT_SPACE = "\u00a0"  # no-break space between a number and its unit: "92,3 %"
MISSING = "–"
MISSES_TARGET_MARK = "▾"
COUNT = "antal"
WHOLE_NUMBER_UNITS = (COUNT, "personer")
PERCENTAGE_POINTS = "procentenheter"
CASE_FLOW, WORKFORCE = "arendeflode", "personal"  # the areas (library files)
YEAR, QUARTER = "year", "quarter"
PERIOD_TYPE_LABELS = {YEAR: "år", QUARTER: "kvartal", "month": "månad"}
BREAKDOWN_LABELS = {"sex": "kön", "age_group": "åldersgrupp", "unit": "enhet"}
CATEGORY_LABELS = {"source": "Anmälare", "programme": "Utbildningsprogram"}
MONTHS = ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti",
          "september", "oktober", "november", "december")
LONG_COLUMNS = ["Indikator", "Kommun", "Kommunkod", "Period", "Periodtyp", "Enhet", "Kön",
                "Åldersgrupp", "Kategori", "Täljare", "Nämnare", "Värde", "Status"]


# --- numbers ---------------------------------------------------------------------------------

def format_number(value: float, decimals: int = 1) -> str:
    """Decimal comma and narrow-space thousands: 1234.56 -> "1 234,6"."""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", THOUSANDS_SEPARATOR).replace(".", ",")


def format_value(value: float, unit: str) -> str:
    """A value as users read it: "92,3 %", "187,4", "1 234" for counts of things or people."""
    if unit in WHOLE_NUMBER_UNITS:
        return format_number(value, 0)
    if unit == "%":
        return f"{format_number(value)}{UNIT_SPACE}%"
    return format_number(value)


def format_date(day: dt.date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def month_start(month: str) -> dt.date:
    """The first day of a month written "2025-11"."""
    year, number = month.split("-")
    return dt.date(int(year), int(number), 1)


def swedish_sort_key(text: str) -> str:
    """Sort key putting å, ä, ö after z, in that order, as Swedish alphabetical order does."""
    return text.lower().translate(str.maketrans({"å": "{", "ä": "|", "ö": "}", "é": "e", "ü": "y"}))


def name_with_unit(definition: Definition) -> str:
    """The indicator's name, followed by its unit unless the name already says it."""
    if definition.unit.lower() in definition.name.lower():
        return definition.name
    return f"{definition.name} ({definition.unit})"


def format_target(definition: Definition) -> str:
    """The target as written in a plan: "100 %" rather than "100,0 %"."""
    if definition.target is None:
        return ""
    if definition.target.is_integer() and definition.unit == "%":
        return f"{format_number(definition.target, 0)}{UNIT_SPACE}%"
    return format_value(definition.target, definition.unit)


def target_text(definition: Definition) -> str:
    return f"mål {format_target(definition)}" if definition.target is not None else ""


def direction_text(definition: Definition) -> str:
    return {True: "Högre är bättre", False: "Lägre är bättre"}.get(definition.higher_is_better, "–")


def misses_target(definition: Definition, value: float | None) -> bool:
    if value is None or definition.target is None or definition.higher_is_better is None:
        return False
    return value < definition.target if definition.higher_is_better else value > definition.target


# --- cells -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Cell:
    """One published number: its value (None when missing or suppressed) and how to show it."""

    value: float | None
    unit: str
    suppressed: bool = False
    misses_target: bool = False

    @property
    def text(self) -> str:
        if self.suppressed:
            return SUPPRESSED
        if self.value is None:
            return MISSING
        return format_value(self.value, self.unit)


def shown_unless(hidden: bool, value: float | None, unit: str) -> Cell:
    """The value, or ".." (and no value at all) when it may not be shown."""
    return Cell(None, unit, suppressed=True) if hidden else Cell(value, unit)


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
        """The published totals of the municipalities `among` in the year, best first (highest
        first when the indicator has no better direction). Kept: the web app asks for the same
        comparison group again and again, and a publication never changes."""
        key = (definition.id, year, among)
        found = self._published_values.get(key)
        if found is None:
            values = (self.cell(definition, code, year).value for code in among)
            found = sorted((v for v in values if v is not None), key=lambda v: _best_first(definition, v))
            self._published_values[key] = found
        return found

    @cached_property
    def unit_loads_by_month(self) -> dict[str, list[UnitLoad]]:
        found: dict[str, list[UnitLoad]] = {}
        for load in self.unit_loads:
            found.setdefault(load.month, []).append(load)
        return found

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
        """Indicators whose every category has its own denominator (training programmes)."""
        return [d for d in self.definitions if d.category and d.category_shares == "within_category"]


def _as_python(frame: pd.DataFrame) -> pd.DataFrame:
    """Missing values as None and numbers as floats, so rows read the same whatever the dtypes."""
    return frame.astype(object).where(frame.notna(), None)


def _unit_loads(workload: Workload | None, rules: DisclosureRules, names: dict[str, str],
                hidden_units: set[tuple[str, str, str]], reference: ReferenceDate,
                in_full: InFull | None = None) -> tuple[UnitLoad, ...]:
    """Every unit's months from the workload, by municipality, unit and month. Only unit totals
    are kept, never a caseworker's row. A unit with fewer caseworkers than the threshold shows
    nothing but ".."; a number over the norm from 1 to threshold − 1 is hidden on its own. In
    the reference month the caseworkers and those over the norm are the share over the norm's
    denominator and numerator, so a unit whose share is hidden (`hidden_units`: municipality,
    unit, year) shows nothing either."""
    if workload is None or workload.caseworkers.empty:
        return ()
    units = unit_months(workload)
    own = in_full(units).to_numpy(dtype=bool) if in_full else np.zeros(len(units), dtype=bool)
    loads = []
    for row, shown_in_full in zip(_as_python(units).to_dict("records"), own, strict=True):
        month = month_start(row["period"])
        protected = (month.month == reference.month
                     and (row["municipality"], row["unit"], str(month.year)) in hidden_units)
        few = not shown_in_full and (protected or rules.is_small(row["caseworkers"]))
        ratio = row["load_ratio"]
        load = 100 * ratio if ratio is not None and math.isfinite(ratio) else None
        loads.append(UnitLoad(
            row["municipality"], row["unit"], row["period"],
            shown_unless(few, row["caseworkers"], COUNT),
            shown_unless(few or (not shown_in_full and rules.is_small(row["over_norm"])), row["over_norm"], COUNT),
            shown_unless(few, load, "%")))
    loads.sort(key=lambda u: (swedish_sort_key(names.get(u.municipality, u.municipality)),
                              swedish_sort_key(u.unit), u.month))
    return tuple(loads)


UNIT_LOAD_INDICATOR = "andel_over_norm"  # the indicator the unit load table's reference month repeats


InFull = Callable[[pd.DataFrame], pd.Series]


def prepare(results: pd.DataFrame, rules: DisclosureRules, made: dt.date | None = None,
            workload: Workload | None = None, reference: ReferenceDate | None = None,
            cache_dir: Path | None = None, noise: Noise | None = None,
            in_full: InFull | None = None) -> Publication:
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
    becomes easier to work out."""
    reference = reference or load_workforce().reference_date
    if noise is None:
        shown = in_full(results.reset_index(drop=True)).to_numpy(dtype=bool) if in_full is not None else None
        protected = protect(results, rules, cache_dir=cache_dir, shown_in_full=shown)
    elif in_full is not None:
        raise ValueError("A noisy publication is for publishing; it has no rows shown in full.")
    else:  # exact unit load beside noisy counts would undo the noise: it is left out
        protected, workload = with_noise(results, noise), None
    published = _as_python(protected[protected.status != NEVER_PUBLISHED]).reset_index(drop=True)
    shares = published[published.indicator == UNIT_LOAD_INDICATOR]
    hidden_units = {(r.municipality, r.unit, r.period) for r in shares.itertuples()
                    if r.unit is not None and r.period_type == YEAR and is_hidden(r.status)}
    present = set(published.indicator)
    names = municipality_names()
    codes = sorted(set(published.municipality), key=lambda c: swedish_sort_key(names.get(c, c)))
    yearly = published[published.period_type == YEAR]
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
                       noise=protected[METHOD].iloc[0] if noise is not None and len(protected) else None)


Noise = Callable[[pd.DataFrame], pd.DataFrame]


def with_noise(results: pd.DataFrame, noise: Noise) -> pd.DataFrame:
    """The complete periods of the indicators built from counts, through `noise`. Sums and
    medians are left out: noise cannot protect them, and an exact figure beside a noisy one of
    the same count would undo it."""
    applies = {d.id for d in library() if noise_applies(d)}
    complete = results.complete.fillna(True).astype(bool) if "complete" in results else True
    return noise(results[results.indicator.isin(applies) & complete].reset_index(drop=True))


def value_cell(definition: Definition, row: dict | None, against_target: bool = True) -> Cell:
    """The row's value; marked when it misses the target (unless `against_target` is False)."""
    if row is None:
        return Cell(None, definition.unit)
    if is_hidden(row["status"]):
        return Cell(None, definition.unit, suppressed=True)
    missed = against_target and misses_target(definition, row["value"])
    return Cell(row["value"], definition.unit, misses_target=missed)


def count_cell(row: dict, column: str) -> Cell:
    return Cell(row[column], COUNT, suppressed=is_hidden(row["status"]))


def place_text(place: tuple[int, int] | None) -> str:
    return MISSING if place is None else f"plats {place[0]} av {place[1]}"


def years_text(years: Iterable[str]) -> str:
    years = list(years)
    if not years:
        return MISSING
    return years[0] if len(years) == 1 else f"{years[0]}–{years[-1]}"


# --- overview: municipalities × indicators ---------------------------------------------------

@dataclass(frozen=True)
class OverviewColumn:
    definition: Definition
    year: str
    overview_year: str

    @property
    def year_note(self) -> str:
        """Said when the indicator's latest year is not the overview's (it needs follow-up time)."""
        return "" if self.year == self.overview_year else f"avser {self.year}"

    @property
    def target(self) -> str:
        return target_text(self.definition)

    @property
    def header(self) -> str:
        notes = [n for n in (self.target, self.year_note) if n]
        suffix = f" – {', '.join(notes)}" if notes else ""
        return f"{name_with_unit(self.definition)}{suffix}"


@dataclass(frozen=True)
class OverviewRow:
    municipality: str
    name: str
    cells: list[Cell]


@dataclass(frozen=True)
class Overview:
    year: str | None
    columns: list[OverviewColumn]
    rows: list[OverviewRow]


def overview(pub: Publication, area: str | None = None,
             indicators: Collection[str] | None = None) -> Overview:
    """The latest year with data: one row per municipality, one column per indicator (totals),
    of one area (library file) or all, or only of the given indicators. An indicator without
    data that year (one that needs follow-up time) shows its latest year."""
    definitions = [d for d in pub.summary_definitions
                   if (area is None or d.area == area) and (indicators is None or d.id in indicators)]
    latest = {d.id: pub.latest_year(d) for d in definitions}
    year = max((y for y in latest.values() if y), default=None)
    columns = [OverviewColumn(d, latest[d.id], year) for d in definitions if latest[d.id]]
    rows = [OverviewRow(code, pub.name(code),
                        [pub.cell(c.definition, code, c.year) for c in columns])
            for code in pub.municipalities]
    return Overview(year, columns, rows)


# --- one indicator across municipalities -----------------------------------------------------

@dataclass(frozen=True)
class RankedEntry:
    municipality: str
    name: str
    cell: Cell
    numerator: Cell
    denominator: Cell


@dataclass(frozen=True)
class Ranking:
    definition: Definition
    year: str
    entries: list[RankedEntry]
    median: float | None

    @property
    def order_text(self) -> str:
        if self.definition.higher_is_better is None:
            return "högsta värdet först"
        return "bästa värdet först"


def _best_first(definition: Definition, value: float) -> float:
    return value if definition.higher_is_better is False else -value


def ranking(pub: Publication, definition: Definition, year: str) -> Ranking:
    """Every municipality's total for the year, best value first (highest when no direction);
    suppressed and missing last. The median is of the published values."""
    entries = []
    for code in pub.municipalities:
        row = pub.row(definition, code, year)
        empty = Cell(None, COUNT)
        entries.append(RankedEntry(code, pub.name(code), value_cell(definition, row),
                                   count_cell(row, "numerator") if row else empty,
                                   count_cell(row, "denominator") if row else empty))
    published = [e.cell.value for e in entries if e.cell.value is not None]

    def order(entry: RankedEntry) -> tuple:
        value = entry.cell.value
        return (value is None, 0 if value is None else _best_first(definition, value),
                swedish_sort_key(entry.name))

    entries.sort(key=order)
    return Ranking(definition, year, entries, statistics.median(published) if published else None)


def place(pub: Publication, definition: Definition, municipality: str,
          year: str, among: Collection[str] | None = None) -> tuple[int, int] | None:
    """(place, of how many) among municipalities with a published value (of `among`, by default
    all); 1 is the best. None when the indicator has no better direction or the municipality no
    published value."""
    if definition.higher_is_better is None:
        return None
    own = pub.cell(definition, municipality, year).value
    if own is None:
        return None
    published = pub.published_values(definition, year, tuple(among or pub.municipalities))
    better = bisect.bisect_left(published, _best_first(definition, own), key=lambda v: _best_first(definition, v))
    return better + 1, len(published)


# --- one municipality ------------------------------------------------------------------------

def trend(pub: Publication, definition: Definition, municipality: str) -> list[Cell]:
    """The municipality's total for each year of the publication."""
    return [pub.cell(definition, municipality, year) for year in pub.years]


@dataclass(frozen=True)
class SexBreakdown:
    definition: Definition
    year: str
    girls: Cell
    boys: Cell
    total: Cell


def sex_breakdown(pub: Publication, municipality: str) -> list[SexBreakdown]:
    """Girls, boys and all, for each indicator broken down by sex, in its latest year."""
    rows = []
    for definition in pub.summary_definitions:
        year = pub.latest_year(definition)
        if "sex" not in definition.breakdowns or year is None:
            continue
        rows.append(SexBreakdown(definition, year,
                                 pub.cell(definition, municipality, year, sex="female"),
                                 pub.cell(definition, municipality, year, sex="male"),
                                 pub.cell(definition, municipality, year)))
    return rows


# --- categories (report sources) -------------------------------------------------------------

@dataclass(frozen=True)
class Category:
    code: str
    label: str


@dataclass(frozen=True)
class CategoryRow:
    municipality: str
    name: str
    total: Cell
    shares: list[Cell]


@dataclass(frozen=True)
class CategoryTable:
    definition: Definition
    year: str
    categories: list[Category]
    rows: list[CategoryRow]


def category_label(definition: Definition) -> str:
    """What the indicator's categories are, as a column header: "Anmälare"."""
    return CATEGORY_LABELS.get(definition.category, "Kategori")


def categories(pub: Publication, definition: Definition) -> list[Category]:
    """The code list's categories in its order, then any others found in the results."""
    listed = list(code_lists().get(definition.category, {}))
    found = pub.dimension_values(definition, "category")
    codes = listed + sorted(found - set(listed))
    return [Category(code, label(definition.category, code)) for code in codes]


def category_table(pub: Publication, definition: Definition) -> CategoryTable | None:
    """Each municipality's share per category in the indicator's latest year, with the total
    it is a share of (the denominator, shown as ".." when every category row is suppressed)."""
    return category_table_of(pub, definition, pub.municipalities)


def category_table_of(pub: Publication, definition: Definition, codes: Iterable[str]) -> CategoryTable | None:
    """The category table of the municipalities `codes` only (one, on its own page)."""
    year = pub.latest_year(definition)
    if year is None:
        return None
    cats = categories(pub, definition)
    rows = []
    for code in codes:
        found = [pub.row(definition, code, year, category=c.code) for c in cats]
        found = [r for r in found if r is not None]
        published_totals = [r["denominator"] for r in found if not is_hidden(r["status"])]
        total = (Cell(published_totals[0], COUNT) if published_totals
                 else Cell(None, COUNT, suppressed=bool(found)))
        shares = [pub.cell(definition, code, year, category=c.code) for c in cats]
        rows.append(CategoryRow(code, pub.name(code), total, shares))
    return CategoryTable(definition, year, cats, rows)


# --- coverage per category (training programmes) --------------------------------------------

@dataclass(frozen=True)
class CoverageRow:
    municipality: str
    name: str
    targeted: Cell   # the people the category is for: the denominator
    completed: Cell
    coverage: Cell
    gap: Cell        # 100 − coverage, in percentage points
    lacking: Cell    # targeted − completed: as a count of people, under the small-count rule


@dataclass(frozen=True)
class CoverageTable:
    definition: Definition
    year: str
    category: Category
    rows: list[CoverageRow]


def _coverage_row(pub: Publication, definition: Definition, code: str, row: dict | None) -> CoverageRow:
    coverage = value_cell(definition, row, against_target=False)
    if coverage.value is None:  # missing or suppressed: so is everything derived from it
        empty = Cell(None, COUNT, suppressed=coverage.suppressed)
        return CoverageRow(code, pub.name(code), empty, empty, coverage,
                           Cell(None, PERCENTAGE_POINTS, suppressed=coverage.suppressed), empty)
    lacking = row["denominator"] - row["numerator"]
    return CoverageRow(code, pub.name(code), count_cell(row, "denominator"),
                       count_cell(row, "numerator"), coverage,
                       Cell(100 - coverage.value, PERCENTAGE_POINTS),
                       shown_unless(not pub.noise and pub.rules.is_small(lacking), lacking, COUNT))


def coverage_tables(pub: Publication, definition: Definition) -> list[CoverageTable]:
    """For an indicator whose categories each have their own denominator (training coverage per
    programme): per category with data in the indicator's latest year, every municipality's
    coverage, the gap to full coverage and how many still lack it."""
    return coverage_tables_of(pub, definition, pub.municipalities)


def coverage_tables_of(pub: Publication, definition: Definition, codes: Iterable[str]) -> list[CoverageTable]:
    """The coverage tables with the rows of the municipalities `codes` only (one, on its own
    page); the categories are still those with data in any municipality."""
    year = pub.latest_year(definition)
    if year is None:
        return []
    present = pub.dimension_values(definition, "category", None, year)
    return [CoverageTable(definition, year, category, [
                _coverage_row(pub, definition, code, pub.row(definition, code, year, category=category.code))
                for code in codes])
            for category in categories(pub, definition) if category.code in present]


# --- workload per unit -----------------------------------------------------------------------

def reference_day(pub: Publication) -> str:
    """The reference date in words: "1 november"."""
    return f"{pub.reference.day} {MONTHS[pub.reference.month - 1]}"


def load_month(pub: Publication) -> str | None:
    """The month of the report's unit load: that of the reference date, in the latest
    published year with a measurement, so that it is the workforce indicators' month."""
    months = (f"{year}-{pub.reference.month:02d}" for year in pub.years)
    return max((m for m in months if m in pub.unit_loads_by_month), default=None)


def unit_loads(pub: Publication, month: str | None = None) -> list[UnitLoad]:
    """The published unit loads, of one month when given."""
    return list(pub.unit_loads) if month is None else pub.unit_loads_by_month.get(month, [])


# --- long form, definitions and notes --------------------------------------------------------

def _dimension_label(name: str, value: str | None, definition: Definition) -> str:
    if value is None:
        return ""
    if name == "unit":
        return value
    if name == "category":
        return label(definition.category, value)
    return label(name, value)


def long_rows(pub: Publication) -> list[dict]:
    """Every published row, with Swedish headers (LONG_COLUMNS); counts and values as Cells."""
    order = {d.id: i for i, d in enumerate(pub.definitions)}
    municipality_order = {c: i for i, c in enumerate(pub.municipalities)}
    records = sorted(pub.index.values(), key=lambda r: (
        order[r["indicator"]], municipality_order[r["municipality"]],
        r["period_type"] != YEAR, r["period"],
        *(r[d] is not None for d in DIMENSIONS), *((r[d] or "") for d in DIMENSIONS)))
    definitions = {d.id: d for d in pub.definitions}
    rows = []
    for r in records:
        definition = definitions[r["indicator"]]
        rows.append({
            "Indikator": definition.name,
            "Kommun": pub.name(r["municipality"]),
            "Kommunkod": r["municipality"],
            "Period": r["period"],
            "Periodtyp": PERIOD_TYPE_LABELS.get(r["period_type"], r["period_type"]),
            "Enhet": _dimension_label("unit", r["unit"], definition),
            "Kön": _dimension_label("sex", r["sex"], definition),
            "Åldersgrupp": _dimension_label("age_group", r["age_group"], definition),
            "Kategori": _dimension_label("category", r["category"], definition),
            "Täljare": count_cell(r, "numerator"),
            "Nämnare": count_cell(r, "denominator"),
            "Värde": value_cell(definition, r, against_target=False),
            "Status": STATUS_LABELS[r["status"]],
        })
    return rows


def definition_rows(definitions: Iterable[Definition]) -> list[dict[str, str]]:
    """What each indicator is, in the words users read."""
    areas = area_names()
    return [{
        "Indikator": d.name,
        "Id": d.id,
        "Område": areas.get(d.area, d.area),
        "Beskrivning": " ".join(d.description.split()),
        "Måttenhet": d.unit,
        "Mål": format_target(d) or MISSING,
        "Riktning": direction_text(d),
        "Redovisas per": ", ".join(BREAKDOWN_LABELS[b] for b in d.breakdowns) or MISSING,
        "Följer": " ".join(d.follows.split()),
    } for d in definitions]


@dataclass(frozen=True)
class Note:
    heading: str
    paragraphs: list[str]


def population_years(years: Iterable[str]) -> dict[int, int]:
    """Period year -> the shipped population year it is divided by (the nearest; the later on a
    tie), as the indicators choose it where no population is imported (docs/reference-data.md)."""
    shipped = sorted(set(reference_populations().year))
    return {int(y): min(shipped, key=lambda s, y=int(y): (abs(s - y), -s)) for y in years}


def _population_note(pub: Publication) -> Note:
    national = municipalities().population_year.max()
    used: dict[int, list[int]] = {}
    for year, population_year in population_years(pub.years).items():
        used.setdefault(population_year, []).append(year)
    spans = [f"{years_text(str(y) for y in sorted(years))}: {year} ({'räknad' if year == AGE_YEAR else 'uppskattad'})"
             for year, years in sorted(used.items())]
    return Note("Befolkning", [
        "Indikatorerna per 1 000 invånare har kommunens befolkning i åldern som nämnare. Importerade "
        "befolkningsuppgifter (till exempel SCB:s tabell BE0101N1 som kommunen laddar ned) används "
        "för de år och åldrar de täcker. Annars används befolkningen som följer med Insyn, närmaste år: "
        + "; ".join(spans) + ".",
        f"{AGE_YEAR} är SCB:s räknade folkmängd den 31 december {AGE_YEAR} per kommun och ettårsklass "
        f"(BE0101N1). {national} är uppskattad: kommunens egen åldersfördelning {AGE_YEAR}, uppräknad "
        f"så att den stämmer med kommunens folkmängd den 31 december {national} och med rikets antal "
        f"0–17, 18–20 och 21 år och äldre samma dag. Importera SCB:s tabell för exakta uppgifter.",
    ])


def legend(pub: Publication) -> Note:
    rules = pub.rules
    hidden = (f"Alla antal har fått brus ({pub.noise}); inga uppgifter är dolda, men varje antal och "
              "andel kan avvika något från det verkliga. Summor och medianer ingår inte." if pub.noise else
              f"{SUPPRESSED} = uppgiften visas inte: den bygger på färre än {rules.count_threshold} personer "
              f"(en andel eller median på färre än {rules.denominator_threshold}), eller den skulle låta "
              "någon räkna fram en annan dold uppgift")
    return Note("Teckenförklaring", [
        hidden,
        f"{MISSING} = uppgift saknas (inget underlag under perioden, eller ännu inte möjlig "
        "att beräkna)",
        f"{MISSES_TARGET_MARK} = når inte målet",
    ])


def unit_load_note(pub: Publication) -> Note:
    """How unit load is measured and protected: in the notes and beside the unit load table."""
    return Note("Arbetstyngd per enhet", [
        "Arbetstyngden mäts den första dagen i varje månad: poängen för det pågående arbetet i "
        "handläggarnas ärenden delat med summan av deras normer (efter erfarenhet och "
        "sysselsättningsgrad). 100 % betyder att enheten som helhet ligger precis vid normen.",
        f"Rapporten visar mätningen den 1 {MONTHS[pub.reference.month - 1]} det senaste publicerade "
        f"året, samma månad som personalindikatorerna mäts ({reference_day(pub)}); Excelfilen har "
        "alla månader.",
        f"Bara enhetens summor publiceras, aldrig en enskild handläggares. För en enhet med färre "
        f"än {pub.threshold} handläggare visas {SUPPRESSED} i alla kolumner, och antalet handläggare "
        f"över normen visas som {SUPPRESSED} när det är 1 till {pub.threshold - 1}.",
    ])


def notes(pub: Publication) -> list[Note]:
    """The text of "Om statistiken", shared by the report and the workbook."""
    later = [d.name for d in pub.definitions if d.requires_followup_months]
    periods = [
        "Ett år är kalenderåret 1 januari–31 december. En händelse räknas till den period då den "
        "inträffade (till exempel förhandsbedömningens datum), och en insats räknas till varje "
        "period som den pågår under.",
        "Rapporten visar hela år. Excelfilen har dessutom kvartal: 2024-Q1 är januari–mars 2024.",
        "En period som data ännu inte täcker till slutet (till exempel innevarande år i en export "
        "tagen i november) publiceras inte: den skulle se ut att ha färre händelser än den har.",
    ]
    if later:
        periods.append(
            f"{', '.join(later)} kräver uppföljningstid efter perioden och redovisas bara för "
            "perioder som data når tillräckligt långt efter. Därför kan det senaste året saknas "
            "för dem; översikten visar då deras senaste år.")
    rules, hidden = pub.rules, pub.rows.status.value_counts()
    small = [f"Rapporten är publicerad med brus i stället för dolda tal: {pub.noise}. Se docs/noise.md "
             "för vad det betyder. Indikatorer som bygger på summor eller medianer och arbetstyngden "
             "per enhet ingår därför inte."] if pub.noise else [
        f"Inget antal från 1 till {rules.count_threshold - 1} visas, och ingen andel, kvot eller "
        f"median som bygger på färre än {rules.denominator_threshold}. Noll visas. En rad som inte "
        f"visas har värde, täljare och nämnare {SUPPRESSED} (primär undertryckning: "
        f"{hidden.get(PRIMARY, 0)} rader).",
        "Ett dolt tal ska inte heller kunna räknas fram ur totalen och de andra delarna (kön, "
        "åldersgrupper, enheter, anmälare, kvartal inom året) eller ur samma tal i en annan "
        "indikator. Därför döljs också så få andra uppgifter som möjligt, så att varje dolt litet "
        f"tal bara kan ringas in till ett spann som är minst {format_number(rules.width, 0)} brett "
        f"(sekundär undertryckning: {hidden.get(SECONDARY, 0)} rader). Kolumnen Status i Excelfilen "
        "säger varför en rad inte visas.",
    ]
    if WORKFORCE in pub.areas:
        periods.append(
            "Personalindikatorerna redovisas per år. Antal, erfarenhet, konsulter, ärenden per "
            f"handläggare, mentorskap och utbildning räknas på mätdagen {reference_day(pub)}; "
            "personalomsättning, byte av enhet och introduktion räknas över hela året.")
        small.append(
            "Uppgifter om personal publiceras bara som summor och andelar för en kommun eller en "
            "enhet, aldrig för en enskild medarbetare. En summa (årsarbetare, timmar) som bygger "
            f"på färre än {rules.count_threshold} personer visas inte.")
    return [
        legend(pub),
        Note("Brus i stället för dolda tal" if pub.noise else "Små tal visas inte", small),
        Note("Perioder", periods),
        *([unit_load_note(pub)] if pub.unit_loads else []),
        Note("Jämförelser", [
            "Regionens median är medianen av de publicerade värdena för kommunerna i rapporten. "
            "Placeringen räknas bland kommunerna med ett publicerat värde samma år; plats 1 är det "
            "bästa värdet. Indikatorer där varken högre eller lägre värde är bättre har ingen "
            "placering.",
        ]),
        _population_note(pub),
    ]
