"""The tables a reader sees, shaped once from a Publication (insyn.publish.publication) for the
HTML report, the Excel workbook, the web app and the terminal: the overview of municipalities
and indicators, rankings and placings, trends, breakdowns by sex and category, training
coverage, unit load, every row in long form and the definitions.
"""

from __future__ import annotations

import bisect
import statistics
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass

from insyn.disclosure.status import READER_LABELS, is_hidden
from insyn.indicators.definitions import Definition, area_names
from insyn.indicators.engine import DIMENSIONS
from insyn.indicators.pooled import POOLED
from insyn.model.codes import label
from insyn.publish.cells import (
    MISSING,
    PERCENTAGE_POINTS,
    Cell,
    count_cell,
    value_cell,
)
from insyn.publish.publication import QUARTER, YEAR, Publication, UnitLoad, best_first
from insyn.swedish import COUNT, day_and_month, format_percent, format_value, swedish_sort_key

PERIOD_TYPE_LABELS = {YEAR: "år", POOLED: "tre år tillsammans", QUARTER: "kvartal", "month": "månad"}
PERIOD_ORDER = {kind: i for i, kind in enumerate(PERIOD_TYPE_LABELS)}  # years, three years, quarters, months
BREAKDOWN_LABELS = {"sex": "kön", "age_group": "åldersgrupp", "unit": "enhet"}
CATEGORY_LABELS = {"source": "Anmälare", "programme": "Utbildningsprogram", "intervention": "Insatsform",
                   "organisations": "Organisation", "outcome": "Polisens svar", "legal_basis": "Lagrum"}
DIMENSION_HEADERS = {"unit": "Enhet", "sex": "Kön", "age_group": "Åldersgrupp", "category": "Kategori"}
LONG_COLUMNS = ["Indikator", "Kommun", "Kommunkod", "Period", "Periodtyp", "Enhet", "Kön",
                "Åldersgrupp", "Kategori", "Täljare", "Nämnare", "Värde", "Status"]


# --- indicators ------------------------------------------------------------------------------

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
        return format_percent(definition.target, 0)
    return format_value(definition.target, definition.unit)


def target_text(definition: Definition) -> str:
    return f"mål {format_target(definition)}" if definition.target is not None else ""


def direction_text(definition: Definition) -> str:
    if definition.higher_is_better is None:
        return "–"
    return "Högre är bättre" if definition.higher_is_better else "Lägre är bättre"


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
    overview_year: str | None

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
    latest = {d.id: y for d in definitions if (y := pub.latest_year(d))}
    year = max(latest.values(), default=None)
    columns = [OverviewColumn(d, latest[d.id], year) for d in definitions if d.id in latest]
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
class GroupMedian:
    """The median of a group's figures as published to everyone, and how many it rests on: the
    same for every reader, never with a reader's own figure seen in full mixed in."""

    value: float | None
    count: int  # municipalities with a published figure
    of: int  # municipalities in the group

    @property
    def basis(self) -> str:
        """"median av 4 av 13 kommuner"."""
        return f"median av {self.count} av {self.of} {'kommun' if self.of == 1 else 'kommuner'}"

    def text(self, unit: str) -> str:
        """"41,2 % (median av 4 av 13 kommuner)", or "–" without a published figure."""
        if self.value is None:
            return f"{MISSING} (inget publicerat värde av {self.of})"
        return f"{format_value(self.value, unit)} ({self.basis})"


def group_median(pub: Publication, definition: Definition, year: str, among: Collection[str]) -> GroupMedian:
    values = pub.published_values(definition, year, tuple(among))
    return GroupMedian(statistics.median(values) if values else None, len(values), len(tuple(among)))


@dataclass(frozen=True)
class Ranking:
    definition: Definition
    year: str
    entries: list[RankedEntry]
    group: GroupMedian

    @property
    def median(self) -> float | None:
        return self.group.value

    @property
    def order_text(self) -> str:
        if self.definition.higher_is_better is None:
            return "högsta värdet först"
        return "bästa värdet först"


def ranking(pub: Publication, definition: Definition, year: str) -> Ranking:
    """Every municipality's total for the year, best value first (highest when no direction);
    suppressed and missing last. The median is of the values published to everyone."""
    entries = []
    for code in pub.municipalities:
        row = pub.row(definition, code, year)
        empty = Cell(None, COUNT)
        entries.append(RankedEntry(code, pub.name(code), value_cell(definition, row),
                                   count_cell(row, "numerator") if row else empty,
                                   count_cell(row, "denominator") if row else empty))

    def order(entry: RankedEntry) -> tuple:
        value = entry.cell.value
        return (value is None, 0 if value is None else best_first(definition, value),
                swedish_sort_key(entry.name))

    entries.sort(key=order)
    return Ranking(definition, year, entries, group_median(pub, definition, year, pub.municipalities))


def place(pub: Publication, definition: Definition, municipality: str,
          year: str, among: Collection[str] | None = None) -> tuple[int, int] | None:
    """(place, of how many) among municipalities with a published value (of `among`, by default
    all); 1 is the best. None when the indicator has no better direction or the municipality no
    value published to everyone (its own figure seen in full is not placed among the others')."""
    if definition.higher_is_better is None:
        return None
    own = pub.public_cell(definition, municipality, year).value
    if own is None:
        return None
    published = pub.published_values(definition, year, tuple(among or pub.municipalities))
    better = bisect.bisect_left(published, best_first(definition, own), key=lambda v: best_first(definition, v))
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

    @property
    def label(self) -> str:
        return category_label(self.definition)

    @property
    def of_a_total(self) -> bool:
        """Whether the categories are shares of one total (shown beside them), or each has a
        value of its own."""
        return self.definition.category_shares == "of_all"


def category_label(definition: Definition) -> str:
    """What the indicator's categories are, as a column header: "Anmälare"."""
    return CATEGORY_LABELS.get(definition.category or "", "Kategori")


def categories(pub: Publication, definition: Definition) -> list[Category]:
    """The code list's categories in its order, then any others found in the results."""
    if definition.category is None:
        return []
    listed = definition.category_codes()
    found = pub.dimension_values(definition, "category")
    codes = listed + sorted(found - set(listed))
    return [Category(code, label(definition.category_code_list(), code)) for code in codes]


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
        found = [r for c in cats if (r := pub.row(definition, code, year, category=c.code)) is not None]
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
    lacking: Cell    # targeted − completed, shown with the two counts it is the difference of


@dataclass(frozen=True)
class CoverageTable:
    definition: Definition
    year: str
    category: Category
    rows: list[CoverageRow]


def _coverage_row(pub: Publication, definition: Definition, code: str, row: dict | None) -> CoverageRow:
    coverage = value_cell(definition, row, against_target=False)
    if row is None or coverage.value is None:  # missing or suppressed: so is everything derived from it
        empty = Cell(None, COUNT, suppressed=coverage.suppressed)
        return CoverageRow(code, pub.name(code), empty, empty, coverage,
                           Cell(None, PERCENTAGE_POINTS, suppressed=coverage.suppressed), empty)
    # Shown with the two counts it is the difference of: hiding a small one beside them would
    # hide nothing and tell the reader it is 1–4 (docs/disclosure.md).
    lacking = row["denominator"] - row["numerator"]
    return CoverageRow(code, pub.name(code), count_cell(row, "denominator"),
                       count_cell(row, "numerator"), coverage,
                       Cell(100 - coverage.value, PERCENTAGE_POINTS), Cell(lacking, COUNT))


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
    return day_and_month(pub.reference.month, pub.reference.day)


def load_month(pub: Publication) -> str | None:
    """The month of the report's unit load: that of the reference date, in the latest
    published year with a measurement, so that it is the workforce indicators' month."""
    months = (f"{year}-{pub.reference.month:02d}" for year in pub.years)
    return max((m for m in months if m in pub.unit_loads_by_month), default=None)


def unit_loads(pub: Publication, month: str | None = None) -> list[UnitLoad]:
    """The published unit loads, of one month when given."""
    return list(pub.unit_loads) if month is None else pub.unit_loads_by_month.get(month, [])


# --- long form and definitions ---------------------------------------------------------------

def _dimension_label(name: str, value: str | None, definition: Definition) -> str:
    if value is None:
        return ""
    if name == "unit":
        return value
    if name == "category":
        return label(definition.category_code_list(), value) if definition.category else value
    return label(name, value)


def long_records(pub: Publication) -> Iterator[tuple[Definition, dict, dict[str, str]]]:
    """Every published row in order (indicator, municipality, period type, period, breakdowns):
    its definition, the row, and its breakdowns in words under their Swedish headers."""
    order = {d.id: i for i, d in enumerate(pub.definitions)}
    municipality_order = {c: i for i, c in enumerate(pub.municipalities)}
    records = sorted(pub.index.values(), key=lambda r: (
        order[r["indicator"]], municipality_order[r["municipality"]],
        PERIOD_ORDER.get(r["period_type"], len(PERIOD_ORDER)), r["period"],
        *(r[d] is not None for d in DIMENSIONS), *((r[d] or "") for d in DIMENSIONS)))
    definitions = {d.id: d for d in pub.definitions}
    for r in records:
        definition = definitions[r["indicator"]]
        yield definition, r, {header: _dimension_label(name, r[name], definition)
                              for name, header in DIMENSION_HEADERS.items()}


def long_rows(pub: Publication) -> list[dict]:
    """Every published row, with Swedish headers (LONG_COLUMNS); counts and values as Cells."""
    return [{
        "Indikator": definition.name,
        "Kommun": pub.name(r["municipality"]),
        "Kommunkod": r["municipality"],
        "Period": r["period"],
        "Periodtyp": PERIOD_TYPE_LABELS.get(r["period_type"], r["period_type"]),
        **labels,
        "Täljare": count_cell(r, "numerator"),
        "Nämnare": count_cell(r, "denominator"),
        "Värde": value_cell(definition, r, against_target=False),
        "Status": READER_LABELS[r["status"]],
    } for definition, r, labels in long_records(pub)]


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
