"""The unit manager's page (Handläggare): for the manager's own units, each caseworker's load
against their norm over the last twelve months, the unit's total, the work nobody in post
holds, the alerts, and the what-if — the unit's load with one more caseworker, or with a case
moved — computed and shown, never saved.

Read from the store on every view (insyn.workforce.team), so a rating saved on Mitt arbete a
moment ago is in it. Names come from the local name list (insyn.web.names) and are shown only
here, to the person's own manager: a download holds the staff id (tables.Shown). Every view is
of row-level data about employees and goes to the audit log.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from fastapi import Request
from markupsafe import Markup, escape

from insyn.errors import InsynError
from insyn.model.workforce_config import ReferenceDate
from insyn.publish.cells import MISSING
from insyn.publish.charts import load_months_text, load_sparkline
from insyn.swedish import day_and_month, format_date, format_number, swedish_sort_key
from insyn.web import names, pages
from insyn.web.accounts import Role
from insyn.web.pages import Choice, Page, Section
from insyn.web.registry import MenuPage, PageRouter
from insyn.web.tables import Row, Shown, Table, count, number_cell, percent_cell
from insyn.workflows import team_workload, unit_funding_ending
from insyn.workforce.team import TeamView
from insyn.workforce.workload import WhatIf, scenario

MONTHS = 12
EXTRA_FTE = ("0.5", "1", "2")  # the what-if's choices of more caseworker FTE


@dataclass(frozen=True)
class WhatIfForm:
    """The what-if's fields, their options and what was asked (the page's `forms["what_if"]`)."""

    municipality: str
    unit: str
    month: str
    levels: list[tuple[str, str]]
    extra_fte: tuple[str, ...]
    cases: list[tuple[str, str]]
    caseworkers: list[tuple[str, str]]
    asked: dict[str, str]


def caseworkers_page(request: Request, viewer) -> Page:
    """A unit manager's own units, one at a time: the last twelve months, the alerts, the what-if."""
    scope, stats, settings = viewer.scope, request.app.state.statistics, request.app.state.settings
    municipality = viewer.user.municipality
    frame = stats.snapshot().workload.caseworkers
    units = sorted(set(frame.loc[frame.municipality == municipality, "unit"].dropna()) if municipality else (),
                   key=swedish_sort_key)
    allowed = scope.caseworker_units(municipality, units) if municipality else []
    asked = request.query_params.get("enhet")
    scope.require(bool(allowed) and (asked is None or asked in allowed),
                  f"arbetstyngden per handläggare{' i den enheten' if asked else ''}: den visas bara för "
                  "enhetens egen chef")
    unit = asked or allowed[0]
    workload = settings.workload_config()
    team, latest = team_workload(settings, municipality, unit, MONTHS)
    if team is None:
        raise pages.NotFound(f"Ingen arbetstyngd beräknad för {unit}.")
    caseworkers, cases = latest
    now = dt.date.fromisoformat(f"{team.latest}-01")
    ending, notice = unit_funding_ending(settings, municipality, unit, now)
    people = sorted(set(team.caseworkers.staff_id) | set(caseworkers.index) | set(ending.staff_id))
    shown = names.shown_names(viewer.con, scope, [(municipality, unit, s) for s in people])
    scale = ", ".join(f"{step.value} = {step.label}" for step in workload.self_rating.scale)
    form = _what_if_form(request, team, workload, caseworkers, cases[cases.unit == unit], shown)
    result = _what_if(workload, caseworkers, cases, form)
    viewer.log("read_caseworkers", target=f"{municipality} {unit} {team.months[0]}–{team.latest}",
               detail=f"{len(people)} handläggare" + (", vad händer om" if result is not None else ""))
    return Page(
        f"Arbetstyngd per handläggare – {unit}",
        "Varje handläggares ärenden och poäng den första dagen i varje månad, mot normen för hens erfarenhet och "
        "sysselsättningsgrad, de senaste tolv månaderna, bredvid hens egen skattning. Uppgifterna gäller enskilda "
        "medarbetare: de visas bara för enhetens chef, och varje visning loggas.",
        [Choice("enhet", "Enhet", [(u, u) for u in allowed], unit)],
        [_alerts_section(team, shown, workload.alert_months),
         _caseworkers_section(team, shown, workload),
         _unit_section(team),
         _unassigned_section(team),
         _funding_section(ending, shown, municipality, unit, now, notice, settings.workforce_config().reference_date),
         _what_if_section(form, result, shown)],
        notes=["Arbetstyngd: poängen delade med normen (100 % = precis vid normen). Egen skattning: "
               f"{workload.self_rating.question} ({scale})."],
        forms={"what_if": form})


def _person(staff_id: str, shown: dict[tuple[str, str], str], municipality: str) -> Shown:
    return Shown(escape(names.labelled(shown.get((municipality, staff_id)), staff_id)), staff_id)


def _funding_section(ending: pd.DataFrame, shown, municipality: str, unit: str, now: dt.date,
                     notice: int, reference: ReferenceDate) -> Section:
    """The unit's posts whose grant ends within `notice` months of `now`, or has ended."""
    rows: list[Row] = []
    for r in ending.itertuples():
        last_day = pd.Timestamp(r.funding_end).date()
        rows.append([_person(r.staff_id, shown, municipality), r.funding, format_date(last_day),
                     "har upphört" if last_day < now else "upphör", number_cell(r.fte),
                     MISSING if pd.isna(r.end_date) else format_date(pd.Timestamp(r.end_date).date())])
    day = format_date(now)
    text = (f"Medarbetare i tjänst {day} (den första dagen i den senaste månaden med data) i en anställning som enligt "
            f"personalexporten betalas av ett bidrag, där kommunens sista beslut om bidraget tar slut inom {notice} "
            "månader eller redan har tagit slut: tjänster som behöver annan finansiering eller ett nytt beslut. "
            "Den publicerade statistiken räknar detsamma från mätdagen "
            f"{day_and_month(reference.month, reference.day)}."
            if rows else
            f"Ingen medarbetare i {unit} är {day} i en tjänst där bidraget tar slut inom {notice} månader eller "
            "redan har tagit slut.")
    return Section("Bidrag som upphör", "bidrag-upphor", text, tables=[Table(
        "bidrag-upphor", f"Tjänster där bidraget upphör, {unit}, {day}",
        ["Medarbetare", "Bidrag", "Sista dag i beslutat bidrag", "Status", "Sysselsättning",
         "Anställningens slutdatum"], rows)] if rows else [])


def _alerts_section(team: TeamView, shown, alert_months: int) -> Section:
    rows: list[Row] = [[_person(a.staff_id, shown, team.municipality), count(a.by_points), count(a.by_rating),
             a.text(alert_months)] for a in team.alerts]
    text = (f"Handläggare över normen {alert_months} månader i följd eller mer — efter poängen eller efter sin egen "
            f"skattning — i {team.latest}." if rows else
            f"Ingen handläggare har varit över normen {alert_months} månader i följd, varken efter poängen eller "
            "efter sin egen skattning.")
    return Section("Larm", "larm", text, tables=[Table(
        "larm", f"Larm, {team.unit}, {team.latest}",
        ["Handläggare", "Över normen efter poäng (månader i följd)", "Egen skattning för hög (månader i följd)",
         "Larm"], rows)] if rows else [])


def _months_chart(team: TeamView, chart_id: str, title: str, loads: dict[str, float],
                  ratings: dict[str, float], rating_over: int) -> Shown:
    """The months of the view as a small chart on the page, as text in a download."""
    load_list = [None if pd.isna(v := loads.get(m, float("nan"))) else float(v) for m in team.months]
    rating_list = [None if pd.isna(v := ratings.get(m, float("nan"))) else float(v) for m in team.months]
    chart = load_sparkline(team.months, load_list, chart_id, title, rating_list, rating_over)
    return Shown(chart, load_months_text(team.months, load_list, rating_list))


def _caseworkers_section(team: TeamView, shown, workload) -> Section:
    frame, latest = team.caseworkers, team.latest
    rating_over = workload.self_rating.over_norm_from
    levels = {norm.level: norm.label for norm in workload.norms}
    span = f"{team.months[0]}–{team.months[-1]}"
    rows: list[Row] = []
    now = frame[frame.period == latest].sort_values("load_ratio", ascending=False)
    for r in now.astype(object).where(now.notna(), None).to_dict("records"):
        own = frame[frame.staff_id == r["staff_id"]]
        rated = team.ratings[team.ratings.staff_id == r["staff_id"]]
        chart = _months_chart(team, f"last-{r['staff_id']}", f"Arbetstyngd och egen skattning {span}",
                              dict(zip(own.period, own.load_ratio, strict=True)),
                              dict(zip(rated.period, rated.rating, strict=True)), rating_over)
        last = rated.iloc[-1] if len(rated) else None
        rows.append([_person(r["staff_id"], shown, team.municipality), levels.get(r["level"], MISSING),
                     number_cell(r["fte"]),
                     count(r["cases"]), number_cell(r["points"]), number_cell(r["norm_points"]),
                     percent_cell(r["load_ratio"]), chart, count(r["months_over_norm"]),
                     number_cell(None if last is None else last.rating), MISSING if last is None else last.period,
                     number_cell(None if last is None else last.flex_hours)])
    total = team.units[team.units.period == latest]
    if len(total):
        t = total.iloc[0]
        units = team.units
        rows.append([Shown(Markup("<strong>Enheten totalt</strong>"), "Enheten totalt"), MISSING,
                     number_cell(t.fte), count(t.cases), number_cell(t.points), number_cell(t.norm_points),
                     percent_cell(t.load_ratio),
                     _months_chart(team, "last-enheten", f"Enhetens arbetstyngd {span}",
                                   dict(zip(units.period, units.load_ratio, strict=True)),
                                   dict(zip(units.period, units.mean_rating, strict=True)), rating_over),
                     None, number_cell(t.mean_rating), latest, number_cell(t.mean_flex_hours)])
    return Section("Handläggare", "handlaggare", f"Arbetstyngden den första dagen i {latest}. Kurvan visar "
                   f"{span} mot normen (streckad linje = 100 %, röd punkt = över normen); rutorna under den de "
                   f"månader hen har skattat sin belastning (röd = {rating_over} eller mer). Sista raden: enheten "
                   "som helhet (årsarbetare, ärenden och poäng sammanlagt mot normerna; medel av skattning och flex).",
                   tables=[Table("handlaggare", f"Arbetstyngd per handläggare, {team.unit}, {latest}",
                                 ["Handläggare", "Nivå", "Sysselsättning", "Ärenden", "Poäng", "Norm (poäng)",
                                  "Arbetstyngd", "Månad för månad", "Månader över normen i följd",
                                  "Senaste egna skattning", "Skattad månad", "Flex (timmar)"], rows)])


def _unit_section(team: TeamView) -> Section:
    units = team.units.sort_values("period", ascending=False)
    rows = [[r.period, count(r.caseworkers), number_cell(r.fte), count(r.cases), number_cell(r.points),
             number_cell(r.norm_points), percent_cell(r.load_ratio), count(r.over_norm), number_cell(r.mean_rating),
             count(r.unassigned_cases), number_cell(r.unassigned_points)] for r in units.itertuples()]
    return Section("Enheten månad för månad", "enheten", tables=[Table(
        "enheten", f"{team.unit} månad för månad", ["Månad", "Handläggare", "Årsarbetare", "Ärenden", "Poäng",
                                                    "Norm (poäng)", "Arbetstyngd", "Över normen (antal)",
                                                    "Egen skattning (medel)", "Ärenden utan handläggare",
                                                    "Poäng utan handläggare"], rows)])


def _unassigned_section(team: TeamView) -> Section:
    rows = [[r.reason, count(r.cases), number_cell(r.points)]
            for r in team.unassigned.sort_values("points", ascending=False).itertuples()]
    return Section("Arbete utan handläggare i tjänst", "utan-handlaggare",
                   f"Pågående arbete i enhetens ärenden den första dagen i {team.latest} som ingen handläggare i "
                   "tjänst på enheten har: ärendet saknar handläggare, handläggaren har slutat, eller hen har en "
                   "annan roll.", tables=[Table("utan-handlaggare", f"Arbete utan handläggare, {team.unit}, "
                                                f"{team.latest}", ["Orsak", "Ärenden", "Poäng"], rows)])


def _what_if_form(request: Request, team: TeamView, workload, caseworkers: pd.DataFrame, cases: pd.DataFrame,
                  shown) -> WhatIfForm:
    def label(staff_id) -> str:
        return names.labelled(shown.get((team.municipality, staff_id)), staff_id) if staff_id else "ingen"

    held = cases.sort_values(["caseworker_id", "case_id"], na_position="first")
    case_options = [(str(c.case_id), f"{c.case_id} – {label(c.caseworker_id if pd.notna(c.caseworker_id) else None)}, "
                     f"{format_number(c.points, 0)} poäng") for c in held.itertuples()]
    people = sorted(caseworkers.index, key=lambda s: swedish_sort_key(label(s)))
    q = request.query_params
    return WhatIfForm(team.municipality, team.unit, team.latest, [(n.level, n.label) for n in workload.norms],
                      EXTRA_FTE, case_options, [(s, label(s)) for s in people],
                      {k: q.get(k, "") for k in ("extra", "niva", "arende", "till")})


def _what_if(workload, caseworkers: pd.DataFrame, cases: pd.DataFrame, form: WhatIfForm) -> WhatIf | str | None:
    """The what-if asked for (None: nothing asked); a Swedish message when it cannot be made."""
    asked = form.asked
    extra = asked["extra"] if asked["extra"] in EXTRA_FTE else ""
    move = asked["arende"] if asked["arende"] in {c for c, _ in form.cases} else ""
    if not extra and not move:
        return None
    if move and asked["till"] not in {s for s, _ in form.caseworkers}:
        return "Välj vem ärendet ska flyttas till."
    if move and asked["till"] in set(cases.loc[cases.case_id == move, "caseworker_id"]):
        return "Ärendet har redan den handläggaren: välj en annan."
    level = asked["niva"] if asked["niva"] in {value for value, _ in form.levels} else None
    try:
        return scenario(workload, caseworkers, cases, form.month, float(extra or 0), level, move or None,
                        asked["till"] or None)
    except InsynError as exc:
        return str(exc)


def _what_if_section(form: WhatIfForm, result: WhatIf | str | None, shown) -> Section:
    text = (f"Räkna på {form.month}: en handläggare till på en viss nivå, och/eller ett ärende flyttat till en annan "
            "handläggare. Resultatet visas här; ingenting sparas eller ändras.")
    if not isinstance(result, WhatIf):
        return Section("Vad händer om …", "vad-hander-om", text + (f" {result}" if result else ""),
                       form="team_what_if.html.j2")
    unit: list[Row] = [[str(r.scenario), number_cell(r.fte), number_cell(r.points), number_cell(r.norm_points),
             percent_cell(r.load_ratio)] for r in result.unit.itertuples()]
    touched: list[Row] = [[_person(r.staff_id, shown, form.municipality), number_cell(r.points_before),
                number_cell(r.points_after), percent_cell(r.load_before), percent_cell(r.load_after)]
               for r in result.caseworkers.itertuples()]
    tables = [Table("vad-hander-om", f"{form.unit} {form.month}: nu och efter ändringen",
                    ["", "Årsarbetare", "Poäng", "Norm (poäng)", "Arbetstyngd"], unit, downloadable=False)]
    if touched:
        tables.append(Table("vad-hander-om-handlaggare", "Berörda handläggare",
                            ["Handläggare", "Poäng nu", "Poäng efter", "Arbetstyngd nu", "Arbetstyngd efter"],
                            touched, downloadable=False))
    return Section("Vad händer om …", "vad-hander-om", text, tables=tables, form="team_what_if.html.j2")


CASEWORKERS = MenuPage("/personal/handlaggare", "Handläggare", {Role.UNIT_MANAGER},
                       "arbetstyngden per handläggare: den visas bara för enhetens egen chef")
router = PageRouter()
router.table_page(CASEWORKERS, build=caseworkers_page)
