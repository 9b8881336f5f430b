"""The statistics pages: Översikt, one page per area of the indicator library, and Jämförelse.
Each is built as data by insyn.web.pages from the viewer's publication (insyn.web.data) and is
shared: made once per publication and kept (insyn.web.registry.PageRouter.table_page)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from fastapi import Request
from fastapi.responses import Response

from insyn.indicators.definitions import area_names
from insyn.publish.analyst import write_analyst_table
from insyn.publish.brief import pdf_bytes, render_brief
from insyn.web import pages
from insyn.web.accounts import Role
from insyn.web.deps import Signed, Viewer
from insyn.web.registry import MenuPage, PageRouter
from insyn.web.scope import STATISTICS_ROLES
from insyn.web.tables import CSV_TYPE, XLSX_TYPE

IN_FULL_NOTE = {
    Role.MUNICIPALITY: "Den egna kommunen visas i sin helhet, utan dolda tal, för intern uppföljning: "
                       "sprid inte de egna små talen vidare. Andra kommuner visas som de publiceras.",
    Role.UNIT_MANAGER: "De egna enheterna visas utan dolda tal, för intern uppföljning: sprid inte de små "
                       "talen vidare. Allt annat visas som det publiceras.",
}
STATISTICS = "statistiksidorna"  # what a refusal names

OVERVIEW = MenuPage("/oversikt", "Översikt", STATISTICS_ROLES, STATISTICS)
# One menu page per area file of the library, all served by one route.
AREAS = tuple(MenuPage(f"/omrade/{area}", name, STATISTICS_ROLES, STATISTICS, route="/omrade/{area}")
              for area, name in area_names().items())
COMPARISON = MenuPage("/jamforelse", "Jämförelse", STATISTICS_ROLES, STATISTICS)

router = PageRouter()


def statistics_for(request: Request, viewer: Viewer):
    viewer.scope.require(viewer.scope.sees_statistics, STATISTICS)
    publication = request.app.state.statistics.publication(viewer.scope)
    return publication, pages.legend_lines(publication, IN_FULL_NOTE.get(viewer.user.role, ""))


def imported_values(request: Request):
    """The published values imported in Kolada's shape: public, the same for every reader."""
    return request.app.state.statistics.snapshot().imported


def overview(request: Request, viewer: Viewer) -> pages.Page:
    pub, notes = statistics_for(request, viewer)
    municipality = pages.chosen_municipality(pub, request.query_params.get("kommun"), viewer.user.municipality)
    return pages.overview_page(pub, municipality, request.query_params.get("grupp"), notes,
                               imported_values(request), viewer.scope.own_figures_beside_kolada)


def area(request: Request, viewer: Viewer) -> pages.Page:
    pub, notes = statistics_for(request, viewer)
    municipality = pages.chosen_municipality(pub, request.query_params.get("kommun"), viewer.user.municipality)
    return pages.area_page(pub, request.path_params["area"], municipality, notes)


def comparison(request: Request, viewer: Viewer) -> pages.Page:
    pub, notes = statistics_for(request, viewer)
    asked = request.query_params
    return pages.comparison_page(pub, asked.get("indikator"), asked.get("grupp"), notes,
                                 imported_values(request), viewer.scope.own_figures_beside_kolada)


router.table_page(OVERVIEW, build=overview, shared=True)
router.table_page(*AREAS, build=area, shared=True)
router.table_page(COMPARISON, build=comparison, shared=True)


@router.get(pages.BRIEF_ADDRESS + ".{fmt}")
def brief(request: Request, viewer: Signed, fmt: str):
    """The municipal brief for a nämnd, as published to everyone (nobody's figures in full: it
    leaves the app), kept until the store changes."""
    OVERVIEW.require(viewer)
    if fmt not in pages.BRIEF_FORMATS:
        raise pages.NotFound("Kommunbladet finns som PDF och HTML.")
    statistics = request.app.state.statistics
    pub = statistics.published()
    municipality = pages.chosen_municipality(pub, request.query_params.get("kommun"), viewer.user.municipality)

    def make() -> bytes:
        html = render_brief(pub, municipality, imported_values(request))
        return pdf_bytes(html) if fmt == "pdf" else html.encode("utf-8")

    body = statistics.kept(viewer.scope, ("kommunblad", municipality, fmt), make)
    viewer.log("download", target=f"{pages.BRIEF_ADDRESS}.{fmt}?kommun={municipality}",
               detail=f"Kommunblad {pub.name(municipality)}")
    media = "application/pdf" if fmt == "pdf" else "text/html; charset=utf-8"
    return Response(body, media_type=media, headers={
        "Content-Disposition": f"attachment; filename=\"kommunblad-{municipality}.{fmt}\""})


@router.get(pages.TABLE_ADDRESS + ".{fmt}")
def published_table(request: Request, viewer: Signed, fmt: str):
    """Everything published as one long table for an analyst, as published to everyone."""
    COMPARISON.require(viewer)
    if fmt not in pages.TABLE_FORMATS:
        raise pages.NotFound("Tabellen finns som Excel (xlsx) och CSV.")
    statistics = request.app.state.statistics
    pub = statistics.published()

    def make() -> bytes:
        with tempfile.TemporaryDirectory() as folder:
            return write_analyst_table(pub, Path(folder) / f"publicerat.{fmt}").read_bytes()

    body = statistics.kept(viewer.scope, ("allt-publicerat", fmt), make)
    viewer.log("download", target=f"{pages.TABLE_ADDRESS}.{fmt}", detail="Allt publicerat som en tabell")
    return Response(body, media_type=XLSX_TYPE if fmt == "xlsx" else CSV_TYPE, headers={
        "Content-Disposition": f"attachment; filename=\"publicerat.{fmt}\""})
