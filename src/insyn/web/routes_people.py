"""Pages about people: the caseworker's own work and the audit log (the unit manager's page is
routes_team's, the users routes_users'). Every read here is of row-level data and goes to the
audit log."""

from __future__ import annotations

import datetime as dt

from fastapi import Request

from insyn.publish.cells import MISSING
from insyn.web import audit, pages
from insyn.web.accounts import ROLE_LABELS, Role, list_users
from insyn.web.pages import Choice, Page, Section
from insyn.web.registry import MenuPage, PageRouter
from insyn.web.routes_bookings import own_trainings
from insyn.web.scope import AUDIT_LOG_ROLES
from insyn.web.tables import Table, count, number_cell, percent_cell


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
            [[r["period"], r["unit"], count(r["cases"]), number_cell(r["points"]), number_cell(r["norm_points"]),
              percent_cell(r["load_ratio"]), count(r["months_over_norm"])] for r in records])])],
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


OWN_CASELOAD = MenuPage("/mitt-arbete", "Mitt arbete", {Role.CASEWORKER}, "egen arbetstyngd")
AUDIT_LOG = MenuPage("/logg", "Logg", AUDIT_LOG_ROLES, "loggen")

# Two routers, for the menu's order: the caseworker's page after the statistics, the log near the end.
caseload_router = PageRouter()
caseload_router.table_page(OWN_CASELOAD, build=own_caseload_page, template="mitt_arbete_body.html.j2")
admin_router = PageRouter()
admin_router.table_page(AUDIT_LOG, build=audit_log_page)
