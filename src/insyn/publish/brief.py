"""The municipal brief: one municipality's headline indicators on one or two A4 pages, for a
nämnd. HTML (self-contained, as the report) and PDF (WeasyPrint, Debian's fonts).

Each headline indicator (the library files' `headline` lists) with its trend, target, the
region's published median with the number it rests on, the national value where one is imported
(Kolada), its n and one sentence saying what changed and whether that is more than chance
(insyn.publish.standing). Made only from a Publication, so through disclosure control: a year
hidden for the municipality shows ".." and the three years pooled beside it where there are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from markupsafe import Markup

from insyn.errors import InsynError, NotFound
from insyn.indicators.definitions import area_headlines, area_names
from insyn.publish import charts
from insyn.publish.cells import MISSING, Cell
from insyn.publish.kolada import NATIONAL, comparisons
from insyn.publish.notes import legend
from insyn.publish.publication import SYNTHETIC_LABEL, Publication
from insyn.publish.report import environment
from insyn.publish.standing import Standing, n_text, standings
from insyn.publish.views import format_target, name_with_unit, trend, years_text
from insyn.swedish import format_date

if TYPE_CHECKING:  # statsmodels is imported only where a forecast is made
    from insyn.publish.forecast import HeadlineForecast


class BriefUnavailable(InsynError):
    """The PDF cannot be made on this machine (WeasyPrint's system libraries are missing)."""

    heading = "PDF kunde inte skapas"


@dataclass(frozen=True)
class BriefIndicator:
    standing: Standing
    heading: str
    target: str
    chart: Markup
    national: str  # "41,0 % (2024)", or "" when nothing is imported
    sentence: str

    @property
    def n(self) -> str:
        return n_text(self.standing.n)


@dataclass(frozen=True)
class BriefArea:
    name: str
    indicators: list[BriefIndicator]


def _national(found: list, definition, year: str) -> str:
    """Riket's imported value of the indicator's own KPI, the latest year up to the brief's."""
    for comparison in found:  # newest year first
        if comparison.definition.id != definition.id or comparison.related or comparison.year > year:
            continue
        row = comparison.row(NATIONAL)
        if row is not None and row.value is not None and row.value.value is not None:
            return f"{row.value.text} ({comparison.year})"
    return ""


def brief_areas(pub: Publication, municipality: str, imported: pd.DataFrame | None = None) -> list[BriefArea]:
    """The municipality's headline indicators by area, compared with every municipality of the
    publication (the region)."""
    found = {s.definition.id: s for s in standings(pub, municipality, pub.municipalities)}
    imported_found = comparisons(pub, imported, own=[municipality])
    name = pub.name(municipality)
    areas = []
    for area, headline in area_headlines().items():
        indicators = []
        for indicator in headline or []:
            standing = found.get(indicator)
            if standing is None:
                continue
            definition = standing.definition
            cells: list[Cell] = trend(pub, definition, municipality)
            chart = charts.trend_chart(list(pub.years), cells, f"kort-{definition.id}",
                                       f"{definition.name}, {name}, per år")
            indicators.append(BriefIndicator(standing, name_with_unit(definition), format_target(definition) or MISSING,
                                             chart, _national(imported_found, definition, standing.year),
                                             standing.sentence(name)))
        if indicators:
            areas.append(BriefArea(area_names().get(area, area), indicators))
    return areas


def render_brief(pub: Publication, municipality: str, imported: pd.DataFrame | None = None,
                 forecast: Sequence[HeadlineForecast] = ()) -> str:
    if municipality not in pub.municipalities:
        raise NotFound(f"Kommunen {municipality} finns inte i underlaget.")
    areas = brief_areas(pub, municipality, imported)
    attention = [i for area in areas for i in area.indicators if i.standing.attention]
    return environment().get_template("brief.html.j2").render(
        name=pub.name(municipality), code=municipality, made=format_date(pub.made), years=years_text(pub.years),
        region=len(pub.municipalities), areas=areas, attention=attention, legend=legend(pub),
        synthetic=SYNTHETIC_LABEL if pub.synthetic else "", forecast=forecast)


def pdf_bytes(html: str) -> bytes:
    """The HTML as an A4 PDF (its print stylesheet decides the pages)."""
    try:
        from weasyprint import HTML
    except OSError as error:  # Pango is missing: WeasyPrint cannot load its libraries
        raise BriefUnavailable("PDF kräver Pango (Debian: apt-get install libpango-1.0-0 libpangoft2-1.0-0). "
                               "HTML-versionen går att skriva ut som PDF från webbläsaren.") from error
    return HTML(string=html).write_pdf()


def write_brief(pub: Publication, municipality: str, out_dir: Path,
                imported: pd.DataFrame | None = None, forecast: Sequence[HeadlineForecast] = ()) -> dict[str, Path]:
    """Write out_dir/kommunblad-<code>.html and .pdf; return their paths. `forecast`: the
    headline measures' year ahead (insyn.publish.forecast.headline_forecast), when there is one."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    html = render_brief(pub, municipality, imported, forecast)
    paths = {"html": out_dir / f"kommunblad-{municipality}.html", "pdf": out_dir / f"kommunblad-{municipality}.pdf"}
    paths["html"].write_text(html, encoding="utf-8")
    paths["pdf"].write_bytes(pdf_bytes(html))
    return paths
