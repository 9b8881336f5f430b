"""Pages about people: each caseworker's load (for their own unit manager), the caseworker's own
caseload and the audit log (the users are routes_users'). Every read here is of row-level data
and goes to the audit log."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
from fastapi import Request

from insyn.publish.cells import MISSING, Cell
from insyn.swedish import swedish_sort_key
from insyn.web import audit, pages
from insyn.web.accounts import ROLE_LABELS, Role, list_users
from insyn.web.pages import Choice, Page, Section
from insyn.web.registry import MenuPage, PageRouter
from insyn.web.routes_bookings import own_trainings
from insyn.web.scope import AUDIT_LOG_ROLES
from insyn.web.tables import Table, count

CASEWORKER_COLUMNS = ["Personal-id", "Roll", "Anställning", "Nivå", "Sysselsättning", "Ärenden", "Poäng",
                      "Norm (poäng)", "Arbetstyngd", "Månader över normen i följd", "Egen skattning",
                      "Flex (timmar)"]

def _percent(value) -> Cell:
    return Cell(100 * value if value is not None and math.isfinite(value) else None, "%")


def _number(value, unit: str = "") -> Cell:
    return Cell(None if value is None or pd.isna(value) else float(value), unit)


def _caseworker_row(r: dict) -> list:
    return [r["staff_id"], r["role"], r["employment"], r["level"] or MISSING, _number(r["fte"]),
            count(r["cases"]), _number(r["points"]), _number(r["norm_points"]), _percent(r["load_ratio"]),
            count(r["months_over_norm"]), _number(r["rating"]), _number(r["flex_hours"])]


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


def own_caseload_page(request: Request, viewer) -> Page:
    """The caseworker's own load, month by month."""
    user = viewer.user
    viewer.scope.require(user.role == Role.CASEWORKER and bool(user.staff_id), "egen arbetstyngd")
    workload = request.app.state.statistics.snapshot().workload.caseworkers
    frame = workload[(workload.municipality == user.municipality) & (workload.staff_id == user.staff_id)]
    frame = frame.sort_values("period", ascending=False)
    viewer.log("read_own_caseload", target=f"{user.municipality} {user.staff_id}", detail=f"{len(frame)} månader")
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return Page(
        "Mitt arbete",
        "Din arbetstyngd den första dagen i varje månad: ärenden och poäng mot din norm. Bara du och din chef ser "
        "dina egna siffror.",
        sections=[Section("Min arbetstyngd", "arbetstyngd", tables=[Table(
            "min-arbetstyngd", f"Arbetstyngd för {user.display_name}",
            ["Månad", "Enhet", "Ärenden", "Poäng", "Norm (poäng)", "Arbetstyngd", "Månader över normen i följd"],
            [[r["period"], r["unit"], count(r["cases"]), _number(r["points"]), _number(r["norm_points"]),
              _percent(r["load_ratio"]), count(r["months_over_norm"])] for r in records])])],
        forms={"trainings": own_trainings(request, viewer)})


def _date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        raise pages.NotFound("Ogiltigt datum (ÅÅÅÅ-MM-DD).") from None


def audit_log_page(request: Request, viewer) -> Page:
    viewer.scope.require(viewer.scope.reads_audit_log, "loggen")
    q = request.query_params
    action = q.get("handelse") or None
    if action and action not in audit.ACTIONS:
        raise pages.NotFound("Okänd händelse.")
    found = audit.entries(viewer.con, username=q.get("anvandare") or None, action=action,
                          since=_date(q.get("fran")), until=_date(q.get("till")), text=q.get("sok") or None)
    users = [u.username for u in list_users(viewer.con)]
    return Page(
        "Logg",
        "Vem som har läst uppgifter om enskilda eller ändrat något, vad, när och varifrån. De senaste 500 "
        "händelserna som matchar filtret visas, nyast först.",
        [Choice("anvandare", "Användare", [("", "Alla"), *((u, u) for u in users)], q.get("anvandare", "")),
         Choice("handelse", "Händelse", [("", "Alla"), *audit.ACTIONS.items()], action or ""),
         Choice("fran", "Från och med", (), q.get("fran", ""), "date"),
         Choice("till", "Till och med", (), q.get("till", ""), "date"),
         Choice("sok", "Sök i vad och detaljer", (), q.get("sok", ""), "search")],
        [Section("Händelser", "handelser", tables=[Table(
            "logg", "Logg", ["Tid", "Användare", "Roll", "Varifrån", "Händelse", "Vad", "Detaljer"],
            [[e.at.isoformat(sep=" "), e.username or MISSING, ROLE_LABELS[Role(e.role)] if e.role else MISSING,
              e.client or MISSING, e.action_label, e.target, e.detail] for e in found])])])


CASEWORKERS = MenuPage("/personal/handlaggare", "Handläggare", {Role.UNIT_MANAGER},
                       "arbetstyngden per handläggare: den visas bara för enhetens egen chef")
OWN_CASELOAD = MenuPage("/mitt-arbete", "Mitt arbete", {Role.CASEWORKER}, "egen arbetstyngd")
AUDIT_LOG = MenuPage("/logg", "Logg", AUDIT_LOG_ROLES, "loggen")

# Two routers, for the menu's order: the caseload pages after the statistics, the log near the end.
caseload_router = PageRouter()
caseload_router.table_page(CASEWORKERS, build=caseworkers_page)
caseload_router.table_page(OWN_CASELOAD, build=own_caseload_page, template="mitt_arbete_body.html.j2")
admin_router = PageRouter()
admin_router.table_page(AUDIT_LOG, build=audit_log_page)
