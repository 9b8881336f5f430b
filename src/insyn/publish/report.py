"""The HTML report: one self-contained page in Swedish (inline CSS and SVG charts, no request to
any other host) with a summary per area, the indicators of each area (grouped by the themes of
its layout, publish/layout.yaml, where it has them: the workforce's, with turnover over the
years, the experience mix, unit load and training gaps), one section per municipality, and
notes (templates/om_statistiken.txt.j2).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, partial
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from insyn.indicators.definitions import Definition, area_names
from insyn.publish import charts
from insyn.publish.cells import MISSES_TARGET_MARK, Cell
from insyn.publish.kolada import STATUS_LEGEND, comparisons, newest
from insyn.publish.layout import ThemePlan, report_layout
from insyn.publish.notes import Note, legend, notes, unit_load_note
from insyn.publish.publication import DEFAULT_TITLE, SYNTHETIC_LABEL, Publication, UnitLoad, month_start
from insyn.publish.views import (
    Category,
    CategoryTable,
    CoverageTable,
    Overview,
    Ranking,
    SexBreakdown,
    categories,
    category_label,
    category_table,
    coverage_tables,
    definition_rows,
    format_target,
    load_month,
    name_with_unit,
    overview,
    place,
    place_text,
    ranking,
    sex_breakdown,
    trend,
    unit_loads,
    years_text,
)
from insyn.swedish import format_date

if TYPE_CHECKING:  # statsmodels is imported only where a forecast is made
    from insyn.publish.forecast import HeadlineForecast


@dataclass(frozen=True)
class Programme:
    table: CoverageTable
    bars: list[Markup]


@dataclass(frozen=True)
class IndicatorSection:
    definition: Definition
    anchor: str
    heading: str
    level: int  # of the heading: 3 directly under an area, 4 under a theme
    target: str
    year: str | None
    ranking: Ranking | None = None
    chart: Markup | None = None
    categories: CategoryTable | None = None
    programmes: list[Programme] = field(default_factory=list)


@dataclass(frozen=True)
class TrendRow:
    definition: Definition
    heading: str
    cells: list[Cell]
    chart: Markup
    place: str
    place_year: str | None
    pooled: tuple[str, Cell] | None = None  # the latest three years pooled: (period, figure)


@dataclass(frozen=True)
class TrendTable:
    """Values per year with small charts and placings: one municipality's indicators of an area,
    or one indicator's municipalities."""

    name: str  # the area or the indicator
    caption: str
    first_header: str
    place_year: str | None
    rows: list[TrendRow]

    @property
    def pooled(self) -> bool:
        """Whether a row has three years pooled: the table has the column."""
        return any(row.pooled is not None for row in self.rows)


@dataclass(frozen=True)
class Mix:
    caption: str
    table: Overview


@dataclass(frozen=True)
class UnitLoadRow:
    load: UnitLoad
    name: str
    bar: Markup


@dataclass(frozen=True)
class UnitLoadTable:
    day: str  # "1 november 2025"
    note: Note
    rows: list[UnitLoadRow]


@dataclass(frozen=True)
class Theme:
    indicators: list[IndicatorSection]
    heading: str = ""  # none for an area shown as one run of indicators
    anchor: str = ""
    text: str = ""
    trends: list[TrendTable] = field(default_factory=list)
    mixes: list[Mix] = field(default_factory=list)
    unit_load: UnitLoadTable | None = None


@dataclass(frozen=True)
class AreaSection:
    area: str
    name: str
    anchor: str
    overview: Overview
    themes: list[Theme]


@dataclass(frozen=True)
class Share:
    category: Category
    cell: Cell
    bar: Markup


@dataclass(frozen=True)
class SharesOfMunicipality:
    definition: Definition
    year: str
    label: str  # what the categories are: "Anmälare", "Utbildningsprogram"
    shares: list[Share]


@dataclass(frozen=True)
class MunicipalitySection:
    code: str
    name: str
    anchor: str
    trends: list[TrendTable]
    sexes: list[SexBreakdown]
    shares: list[SharesOfMunicipality]
    forecast: Sequence[HeadlineForecast]  # the headline measures' year ahead (none without a history)


def write_report(pub: Publication, path: Path, title: str = DEFAULT_TITLE,
                 imported: pd.DataFrame | None = None,
                 forecasts: Mapping[str, Sequence[HeadlineForecast]] | None = None) -> Path:
    """Write the report of a publication (insyn.publish.publication.prepare) to `path`.
    `imported` (stored published values, insyn.publish.kolada) adds the comparison with them;
    `forecasts` each municipality's headline measures' year ahead
    (insyn.publish.forecast.headline_forecast)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(pub, title, imported, forecasts), encoding="utf-8")
    return path


def render_report(pub: Publication, title: str = DEFAULT_TITLE, imported: pd.DataFrame | None = None,
                  forecasts: Mapping[str, Sequence[HeadlineForecast]] | None = None) -> str:
    areas = [_area_section(pub, area) for area in pub.areas]
    forecasts = forecasts or {}
    return environment().get_template("report.html.j2").render(
        title=title,
        made=format_date(pub.made),
        years=years_text(pub.years),
        year_list=list(pub.years), pooled_period=pub.pooled_period,
        municipalities=[pub.name(code) for code in pub.municipalities],
        areas=areas,
        municipality_sections=[_municipality_section(pub, code, areas, forecasts.get(code, ()))
                               for code in pub.municipalities],
        notes=notes(pub),
        comparisons=newest(comparisons(pub, imported)),
        kolada_legend=STATUS_LEGEND,
        legend=legend(pub),
        definitions=definition_rows(pub.definitions),
        mark=MISSES_TARGET_MARK,
        synthetic=SYNTHETIC_LABEL if pub.synthetic else "",
    )


@cache
def environment() -> Environment:
    return Environment(loader=PackageLoader("insyn.publish", "templates"), autoescape=True,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _area_section(pub: Publication, area: str) -> AreaSection:
    """An area's summary and indicators: by theme when its layout (layout.yaml) has themes, else
    as one run in library order."""
    plans = report_layout().area(area).themes
    if plans:
        themes = [t for t in (_theme(pub, plan) for plan in plans) if t is not None]
    else:
        themes = [Theme([_indicator_section(pub, d, 3) for d in pub.definitions if d.area == area])]
    return AreaSection(area, area_names().get(area, area), f"omrade-{area}", overview(pub, area), themes)


def _theme(pub: Publication, plan: ThemePlan) -> Theme | None:
    """The theme's part of its area's section, or None when it has nothing to show."""
    published = {d.id: d for d in pub.definitions}
    definitions = [published[i] for i in plan.indicators if i in published]
    trends = [_indicator_trend(pub, d) for d in definitions] if plan.trends else []
    mixes = [Mix(mix.caption, table) for mix in plan.mixes
             if (table := overview(pub, indicators=mix.indicators)).columns]
    unit_load = _unit_load_table(pub) if plan.unit_load else None
    if not definitions and unit_load is None:
        return None
    return Theme([_indicator_section(pub, d, 4) for d in definitions], plan.heading, plan.anchor,
                 plan.text, trends, mixes, unit_load)


def _indicator_section(pub: Publication, definition: Definition, level: int) -> IndicatorSection:
    year = pub.latest_year(definition)
    target = format_target(definition)
    section = partial(IndicatorSection, definition, f"indikator-{definition.id}",
                      name_with_unit(definition), level, target, year)
    if definition in pub.category_table_definitions:
        return section(categories=category_table(pub, definition))
    if definition in pub.coverage_definitions:
        return section(programmes=[Programme(t, charts.row_bars([r.coverage for r in t.rows], "%"))
                                   for t in coverage_tables(pub, definition)])
    if year is None:
        return section()
    ranked = ranking(pub, definition, year)
    bars = [charts.Bar(entry.name, entry.cell) for entry in ranked.entries]
    description = (f"{definition.name} {year} per kommun, {ranked.order_text}: "
                   + "; ".join(f"{bar.label} {bar.cell.text}" for bar in bars) + ".")
    if target:
        description += f" Mål: {target}."
    if ranked.median is not None:
        description += f" Regionens median: {ranked.group.text(definition.unit)}."
    chart = charts.bar_chart(bars, f"diagram-{definition.id}", f"{definition.name} {year}",
                             description, definition.unit, definition.target, target,
                             ranked.median, f"Regionens {ranked.group.basis}")
    return section(ranking=ranked, chart=chart)


def _trend_row(pub: Publication, definition: Definition, heading: str, cells: list[Cell],
               chart_id: str, chart_title: str, code: str | None = None) -> TrendRow:
    """A row of values per year with its small chart, and the municipality's placing (none
    for a row that is not one municipality's)."""
    chart = charts.trend_chart(list(pub.years), cells, chart_id, chart_title)
    year = pub.latest_year(definition)
    placed = place(pub, definition, code, year) if code and year else None
    return TrendRow(definition, heading, cells, chart, place_text(placed) if code else "",
                    year if placed else None, pub.pooled(definition, code) if code else None)


def _indicator_trend(pub: Publication, definition: Definition) -> TrendTable:
    """The indicator per municipality and year, with the region's median last."""
    rows = [_trend_row(pub, definition, pub.name(code), trend(pub, definition, code),
                       f"utveckling-{definition.id}-{code}",
                       f"{definition.name}, {pub.name(code)}, per år", code)
            for code in pub.municipalities]
    medians = [Cell(ranking(pub, definition, year).median, definition.unit) for year in pub.years]
    rows.append(_trend_row(pub, definition, "Regionens median", medians,
                           f"utveckling-{definition.id}-median",
                           f"{definition.name}, regionens median, per år"))
    heading = name_with_unit(definition)
    return TrendTable(heading, f"{heading} per kommun och år", "Kommun", pub.latest_year(definition),
                      rows)


def _unit_load_table(pub: Publication) -> UnitLoadTable | None:
    month = load_month(pub)
    if month is None:
        return None
    loads = unit_loads(pub, month)
    bars = charts.row_bars([u.load for u in loads], "%", reference=100)
    return UnitLoadTable(format_date(month_start(month)), unit_load_note(pub),
                         [UnitLoadRow(u, pub.name(u.municipality), bar)
                          for u, bar in zip(loads, bars, strict=True)])


def _shares(pub: Publication, definition: Definition, code: str) -> SharesOfMunicipality | None:
    """The municipality's categories that have a row in the indicator's latest year, largest
    share first, suppressed last; None for an indicator without a year of data."""
    year = pub.latest_year(definition)
    if year is None:
        return None
    present = [(c, cell) for c in categories(pub, definition)
               if (cell := pub.cell(definition, code, year, category=c.code)).value is not None
               or cell.suppressed]
    present.sort(key=lambda item: (item[1].value is None, -(item[1].value or 0)))
    bars = charts.row_bars([cell for _, cell in present], "%")
    return SharesOfMunicipality(definition, year, category_label(definition),
                                [Share(c, cell, bar) for (c, cell), bar in zip(present, bars, strict=True)])


def _municipality_section(pub: Publication, code: str, areas: list[AreaSection],
                          forecast: Sequence[HeadlineForecast]) -> MunicipalitySection:
    name = pub.name(code)
    trends = [TrendTable(area.name,
                         f"{name}: {area.name.lower()}, värde per år och placering bland kommunerna",
                         "Indikator", area.overview.year,
                         [_trend_row(pub, d, name_with_unit(d), trend(pub, d, code),
                                     f"trend-{code}-{d.id}", f"{d.name}, {name}, per år", code)
                          for d in pub.summary_definitions if d.area == area.area])
              for area in areas]
    return MunicipalitySection(
        code, name, f"kommun-{code}", [t for t in trends if t.rows],
        sex_breakdown(pub, code),
        [shares for d in pub.category_definitions + pub.coverage_definitions
         if (shares := _shares(pub, d, code)) is not None],
        forecast,
    )
