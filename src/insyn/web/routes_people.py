"""Pages about people: the caseworker's own work and their monthly rating, and the audit log (the
unit manager's page is routes_team's, the users routes_users'). Every read here is of row-level
data and goes to the audit log."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated

import pandas as pd
from fastapi import Form, Request
from fastapi.responses import RedirectResponse
from markupsafe import Markup

from insyn.errors import InputError, InsynError, user_message
from insyn.model.codes import label
from insyn.model.workforce_config import WorkloadConfig
from insyn.publish.cells import MISSING
from insyn.publish.charts import Bar, bar_chart
from insyn.store import StoreBusy
from insyn.swedish import MONTHS, decimal_comma
from insyn.web import audit, flash, pages
from insyn.web.accounts import ROLE_LABELS, Role, list_users
from insyn.web.deps import Signed
from insyn.web.pages import Choice, Page, Section
from insyn.web.registry import MenuPage, PageRouter
from insyn.web.routes_bookings import own_trainings
from insyn.web.scope import AUDIT_LOG_ROLES
from insyn.web.tables import Table, count, number_cell, percent_cell
from insyn.workforce.ratings import RATING_COLUMNS, last_open_day, open_months

MONTHS_SHOWN = 12


@dataclass(frozen=True)
class OpenMonth:
    """A month the caseworker can rate now, with their rating of it so far."""

    month: dt.date
    closes: dt.date  # the last day it can be changed
    rating: int | None
    flex_hours: float | None

    @property
    def value(self) -> str:
        return f"{self.month:%Y-%m}"

    @property
    def name(self) -> str:
        return f"{MONTHS[self.month.month - 1]} {self.month.year}"

    @property
    def flex_text(self) -> str:
        return "" if self.flex_hours is None else decimal_comma(self.flex_hours)


def _own_rows(frame: pd.DataFrame, municipality: str, staff_id: str) -> pd.DataFrame:
    return frame[(frame.municipality == municipality) & (frame.staff_id == staff_id)]


def _open_months(config: WorkloadConfig, ratings: pd.DataFrame, today: dt.date) -> list[OpenMonth]:
    rated = ratings.set_index("month")
    found = []
    for month in open_months(config, today):
        row = rated.loc[month] if month in rated.index else None
        found.append(OpenMonth(month, last_open_day(month, config),
                               None if row is None or pd.isna(row.rating) else int(row.rating),
                               None if row is None or pd.isna(row.flex_hours) else float(row.flex_hours)))
    return found


def _history(load: pd.DataFrame, ratings: pd.DataFrame) -> pd.DataFrame:
    """The latest months with points or a rating, newest first: the load of each (from the
    workload) beside the rating (from the ratings, which also reach months the data do not)."""
    periods = pd.Series([f"{m:%Y-%m}" for m in ratings.month], index=ratings.index, dtype=object)
    rated = ratings.assign(period=periods)[["period", "rating", "flex_hours"]]  # text even when none
    months = load.drop(columns=list(RATING_COLUMNS)).astype({"period": object}).merge(rated, on="period", how="outer")
    return months.sort_values("period", ascending=False).head(MONTHS_SHOWN).reset_index(drop=True)


def _load_chart(history: pd.DataFrame, staff_id: str) -> list[Markup]:
    months = history[history.load_ratio.notna()].sort_values("period")
    if months.empty:
        return []
    bars = [Bar(period, percent_cell(ratio)) for period, ratio in zip(months.period, months.load_ratio, strict=True)]
    return [bar_chart(bars, "min-arbetstyngd-diagram", f"Arbetstyngd mot normen, {staff_id}",
                      "Poängen i procent av normen, månad för månad; linjen är normen, 100 procent.", "%",
                      median=100.0, median_label="Normen")]


def _cases_table(request: Request, municipality: str, staff_id: str, month: str | None) -> Table:
    """The work in the caseworker's cases on the first of their latest month, as their load counts it."""
    title = f"Mina ärenden {month}-01" if month else "Mina ärenden"
    columns = ["Ärende", "Arbete", "Insats", "Poäng"]
    if month is None:
        return Table("mina-arenden", title, columns, [], "Du har ingen beräknad arbetstyngd än.")
    from insyn.workflows import own_cases

    settings = request.app.state.settings
    try:
        work = own_cases(settings, municipality, staff_id, dt.date.fromisoformat(f"{month}-01"))
    except StoreBusy:
        return Table("mina-arenden", title, columns, [], "Ärendena kan inte visas just nu: data läses in. "
                     "Ladda om sidan om en stund.")
    rows = [[case_id, label("case_phase", phase),
             MISSING if pd.isna(intervention) else label("intervention", intervention), count(points)]
            for case_id, phase, intervention, points in work.itertuples(index=False)]
    return Table("mina-arenden", title, columns, rows,
                 "Arbetet som pågår den första dagen i månaden i de ärenden du har, och poängen det ger.")


def own_caseload_page(request: Request, viewer) -> Page:
    """The caseworker's own load and ratings over the last months, the work in their cases, and
    the form to rate the months still open."""
    user = viewer.user
    viewer.scope.require(user.role == Role.CASEWORKER and bool(user.staff_id), "egen arbetstyngd")
    municipality, staff_id = user.municipality or "", user.staff_id or ""
    snapshot = request.app.state.statistics.snapshot()
    config = request.app.state.settings.workload_config()
    load = _own_rows(snapshot.workload.caseworkers, municipality, staff_id)
    ratings = _own_rows(snapshot.ratings, municipality, staff_id)
    history = _history(load, ratings)
    latest = load.period.max() if len(load) else None
    cases = _cases_table(request, municipality, staff_id, latest)
    viewer.log("read_own_caseload", target=f"{municipality} {staff_id}",
               detail=f"{len(history)} månader, {len(cases.rows)} ärendemoment {latest or ''}".strip())
    records = history.astype(object).where(history.notna(), None).to_dict("records")
    scale = config.self_rating.scale
    return Page(
        "Mitt arbete",
        "Din arbetstyngd den första dagen i varje månad: ärenden och poäng mot din norm, bredvid din egen "
        "skattning. Bara du och din chef ser dina egna siffror.",
        sections=[
            Section("Min arbetstyngd", "arbetstyngd",
                    f"De senaste {MONTHS_SHOWN} månaderna med poäng eller skattning.",
                    tables=[Table(
                        "min-arbetstyngd", f"Arbetstyngd för {user.display_name}",
                        ["Månad", "Enhet", "Ärenden", "Poäng", "Norm (poäng)", "Arbetstyngd",
                         "Månader över normen i följd", "Egen skattning", "Flexsaldo (timmar)"],
                        [[r["period"], r["unit"] or MISSING, count(r["cases"]), count(r["points"]),
                          count(r["norm_points"]), percent_cell(r["load_ratio"]),
                          count(r["months_over_norm"]), count(r["rating"]), number_cell(r["flex_hours"])]
                         for r in records],
                        "Egen skattning: " + ", ".join(f"{s.value} {s.label.lower()}" for s in scale)
                        + ". En månad utan poäng finns inte i de inlästa uppgifterna än.")],
                    charts=_load_chart(history, staff_id)),
            Section("Mina ärenden", "arenden", tables=[cases])],
        forms={"trainings": own_trainings(request, viewer),
               "rating": {"question": config.self_rating.question, "scale": scale,
                          "flex_question": config.self_rating.flex_question,
                          "months": _open_months(config, ratings, dt.date.today()),
                          "notice": flash.take(viewer.con, user.username, request.query_params.get("besked"))}})


def _rated_month(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(f"{text}-01")
    except ValueError:
        raise InputError("Välj en månad att skatta.") from None


def _back_to_own_page(viewer, message: str, error: bool = False) -> RedirectResponse:
    token = flash.leave(viewer.con, viewer.user.username, user_message(message), error)
    return RedirectResponse(f"/mitt-arbete?besked={token}#skattning", status_code=303)


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


@caseload_router.post("/mitt-arbete/skattning")
def rate_own_month(request: Request, viewer: Signed, csrf: Annotated[str, Form()] = "",
                   manad: Annotated[str, Form()] = "", skattning: Annotated[str, Form()] = "",
                   flex: Annotated[str, Form()] = ""):
    """A caseworker's rating of one of the open months, for themselves only."""
    from insyn.workflows import rate_month

    user = viewer.user
    OWN_CASELOAD.require(viewer)
    viewer.scope.require(user.role == Role.CASEWORKER and bool(user.staff_id), "att skatta arbetsbelastning")
    viewer.check_csrf(csrf)
    municipality, staff_id = user.municipality or "", user.staff_id or ""
    try:
        month = _rated_month(manad)
        row = rate_month(request.app.state.settings, municipality, staff_id, month, skattning or None, flex or None)
    except InsynError as error:
        return _back_to_own_page(viewer, str(error), error=True)
    flex_text = "" if row["flex_hours"] is None else f", flexsaldo {decimal_comma(row['flex_hours'])} h"
    viewer.log("rate_month", target=f"{municipality} {staff_id} {month:%Y-%m}",
               detail=f"skattning {row['rating']}{flex_text}")
    return _back_to_own_page(viewer, f"Din skattning för {MONTHS[month.month - 1]} {month.year} är sparad.")
admin_router = PageRouter()
admin_router.table_page(AUDIT_LOG, build=audit_log_page)
