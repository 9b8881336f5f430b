"""The unit manager's page: the caseworkers of the manager's own units and their load. Every read
is of row-level data about employees and goes to the audit log."""

from __future__ import annotations

from fastapi import Request

from insyn.publish.cells import MISSING
from insyn.swedish import swedish_sort_key
from insyn.web import pages
from insyn.web.accounts import Role
from insyn.web.pages import Choice, Page, Section
from insyn.web.registry import MenuPage, PageRouter
from insyn.web.tables import Table, count, number_cell, percent_cell

CASEWORKER_COLUMNS = ["Personal-id", "Roll", "Anställning", "Nivå", "Sysselsättning", "Ärenden", "Poäng",
                      "Norm (poäng)", "Arbetstyngd", "Månader över normen i följd", "Egen skattning",
                      "Flex (timmar)"]

def _caseworker_row(r: dict) -> list:
    return [r["staff_id"], r["role"], r["employment"], r["level"] or MISSING, number_cell(r["fte"]),
            count(r["cases"]), number_cell(r["points"]), number_cell(r["norm_points"]), percent_cell(r["load_ratio"]),
            count(r["months_over_norm"]), number_cell(r["rating"]), number_cell(r["flex_hours"])]


def caseworkers_page(request: Request, viewer) -> Page:
    """A unit manager's own units, caseworker by caseworker, one month (the latest by default)."""
    scope, stats = viewer.scope, request.app.state.statistics
    municipality = viewer.user.municipality
    workload = stats.snapshot().workload.caseworkers
    frame = workload[workload.municipality == municipality] if municipality else workload.iloc[:0]
    units = sorted(set(frame.unit.dropna()), key=swedish_sort_key)
    allowed = scope.caseworker_units(municipality, units) if municipality else []
    asked = request.query_params.get("enhet")
    scope.require(bool(allowed) and (asked is None or asked in allowed),
                  f"arbetstyngden per handläggare{' i den enheten' if asked else ''}: den visas bara för "
                  "enhetens egen chef")
    unit = asked or allowed[0]
    frame = frame[frame.unit == unit]
    months = sorted(set(frame.period), reverse=True)
    if not months:
        raise pages.NotFound(f"Ingen arbetstyngd beräknad för {unit}.")
    month = request.query_params.get("manad") or months[0]
    if month not in months:
        raise pages.NotFound(f"Ingen mätning för den månaden (finns: {', '.join(months[:6])} …).")
    rows = frame[frame.period == month].sort_values("load_ratio", ascending=False)
    viewer.log("read_caseworkers", target=f"{municipality} {unit} {month}", detail=f"{len(rows)} handläggare")
    records = rows.astype(object).where(rows.notna(), None).to_dict("records")
    return Page(
        f"Arbetstyngd per handläggare – {unit}",
        "Varje handläggares ärenden och poäng den första dagen i månaden, mot normen för hens erfarenhet och "
        "sysselsättningsgrad. Uppgifterna gäller enskilda medarbetare: de visas bara för enhetens chef, och "
        "varje visning loggas.",
        [Choice("enhet", "Enhet", [(u, u) for u in allowed], unit),
         Choice("manad", "Månad", [(m, m) for m in months], month)],
        [Section("Handläggare", "handlaggare", tables=[Table(
            "handlaggare", f"Arbetstyngd per handläggare, {unit}, {month}", CASEWORKER_COLUMNS,
            [_caseworker_row(r) for r in records])])])



CASEWORKERS = MenuPage("/personal/handlaggare", "Handläggare", {Role.UNIT_MANAGER},
                       "arbetstyngden per handläggare: den visas bara för enhetens egen chef")
router = PageRouter()
router.table_page(CASEWORKERS, build=caseworkers_page)
