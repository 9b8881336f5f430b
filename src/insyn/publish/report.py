"""The HTML report: one self-contained page in Swedish (inline CSS and SVG charts, no request to
any other host) with the overview, one section per indicator and per municipality, and notes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from insyn.indicators.definitions import Definition
from insyn.publish import charts
from insyn.publish.formatting import (
    DEFAULT_TITLE,
    MISSES_TARGET_MARK,
    Category,
    CategoryTable,
    Cell,
    Publication,
    Ranking,
    SexBreakdown,
    category_table,
    definition_rows,
    format_date,
    format_target,
    format_value,
    legend,
    name_with_unit,
    notes,
    overview,
    place,
    place_text,
    prepare,
    ranking,
    sex_breakdown,
    trend,
    years_text,
)


@dataclass(frozen=True)
class IndicatorSection:
    definition: Definition
    anchor: str
    heading: str
    target: str
    year: str | None
    ranking: Ranking | None
    chart: Markup | None
    categories: CategoryTable | None


@dataclass(frozen=True)
class TrendRow:
    definition: Definition
    heading: str
    cells: list[Cell]
    chart: Markup
    place: str
    place_year: str | None


@dataclass(frozen=True)
class Share:
    category: Category
    cell: Cell
    bar: Markup


@dataclass(frozen=True)
class SharesOfMunicipality:
    definition: Definition
    year: str
    shares: list[Share]


@dataclass(frozen=True)
class MunicipalitySection:
    code: str
    name: str
    anchor: str
    trends: list[TrendRow]
    sexes: list[SexBreakdown]
    shares: list[SharesOfMunicipality]


def write_report(results: pd.DataFrame, path: Path, threshold: int = 5,
                 title: str = DEFAULT_TITLE) -> Path:
    """Apply the small-count rule to `results` and write the report to `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(prepare(results, threshold), title), encoding="utf-8")
    return path


def render_report(pub: Publication, title: str = DEFAULT_TITLE) -> str:
    tables = {d.id: category_table(pub, d) for d in pub.category_definitions}
    return _environment().get_template("report.html.j2").render(
        title=title,
        made=format_date(pub.made),
        years=years_text(pub.years),
        year_list=list(pub.years),
        municipalities=[pub.name(code) for code in pub.municipalities],
        overview=overview(pub),
        indicators=[_indicator_section(pub, d, tables.get(d.id)) for d in pub.definitions],
        municipality_sections=[_municipality_section(pub, code, tables)
                               for code in pub.municipalities],
        notes=notes(pub),
        legend=legend(pub.threshold),
        definitions=definition_rows(pub.definitions),
        mark=MISSES_TARGET_MARK,
    )


@cache
def _environment() -> Environment:
    return Environment(loader=PackageLoader("insyn.publish", "templates"), autoescape=True,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _indicator_section(pub: Publication, definition: Definition,
                       categories: CategoryTable | None) -> IndicatorSection:
    anchor = f"indikator-{definition.id}"
    heading = name_with_unit(definition)
    year = pub.latest_year(definition)
    target = format_target(definition)
    if categories is not None or year is None:
        return IndicatorSection(definition, anchor, heading, target, year, None, None, categories)
    ranked = ranking(pub, definition, year)
    bars = [charts.Bar(entry.name, entry.cell) for entry in ranked.entries]
    description = (f"{definition.name} {year} per kommun, {ranked.order_text}: "
                   + "; ".join(f"{bar.label} {bar.cell.text}" for bar in bars) + ".")
    if target:
        description += f" Mål: {target}."
    if ranked.median is not None:
        description += f" Regionens median: {format_value(ranked.median, definition.unit)}."
    chart = charts.bar_chart(bars, f"diagram-{definition.id}", f"{definition.name} {year}",
                             description, definition.unit, definition.target, target,
                             ranked.median)
    return IndicatorSection(definition, anchor, heading, target, year, ranked, chart, None)


def _trend_row(pub: Publication, definition: Definition, code: str, name: str) -> TrendRow:
    cells = trend(pub, definition, code)
    chart = charts.trend_chart(list(pub.years), cells, f"trend-{code}-{definition.id}",
                               f"{definition.name}, {name}, per år")
    year = pub.latest_year(definition)
    placed = place(pub, definition, code, year) if year else None
    return TrendRow(definition, name_with_unit(definition), cells, chart, place_text(placed),
                    year if placed else None)


def _shares(table: CategoryTable, code: str) -> SharesOfMunicipality:
    """The municipality's categories that have a row, largest share first, suppressed last."""
    row = next(r for r in table.rows if r.municipality == code)
    present = [(c, cell) for c, cell in zip(table.categories, row.shares, strict=True)
               if cell.value is not None or cell.suppressed]
    present.sort(key=lambda item: (item[1].value is None, -(item[1].value or 0)))
    return SharesOfMunicipality(table.definition, table.year,
                                [Share(c, cell, charts.share_bar(cell)) for c, cell in present])


def _municipality_section(pub: Publication, code: str,
                          tables: dict[str, CategoryTable | None]) -> MunicipalitySection:
    name = pub.name(code)
    return MunicipalitySection(
        code, name, f"kommun-{code}",
        [_trend_row(pub, d, code, name) for d in pub.summary_definitions],
        sex_breakdown(pub, code),
        [_shares(table, code) for table in tables.values() if table is not None],
    )
