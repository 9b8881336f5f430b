"""The page Prognos: a municipality's or unit's next twelve months — reports, assessments,
investigations and the caseload — as charts with their intervals in words, how well the
forecast did on the municipality's own history against the same month last year, and the
staffing need with the month to recruit by (docs/forecast.md).

Counts under the disclosure threshold are never shown as such (insyn.publish.forecast). A
municipality's users see their own municipality, a unit manager their municipality and own
units, the region's roles every municipality. The outlook is computed once per store version,
municipality and viewer's scope (`Statistics.kept`); another recruitment lead time only moves
the recruit-by month.
"""

from __future__ import annotations

import dataclasses

from fastapi import Request

from insyn.model.municipalities import municipality_names
from insyn.publish.forecast import (
    count_text,
    error_sentence,
    forecast_chart,
    interval_sentence,
    interval_text,
    month_name,
    recruit_by,
    series_view,
    staffing_sentence,
)
from insyn.swedish import format_number, swedish_sort_key
from insyn.web import pages
from insyn.web.accounts import Role
from insyn.web.pages import Choice, Page, Section
from insyn.web.registry import MenuPage, PageRouter
from insyn.web.scope import STATISTICS_ROLES
from insyn.web.tables import Row, Table
from insyn.workflows import forecast_outlook

WHOLE = ""  # the enhet choice for the whole municipality
LEAD_CHOICES = range(0, 13)


def _municipalities(viewer, organisations) -> list[str]:
    if viewer.user.role in (Role.MUNICIPALITY, Role.UNIT_MANAGER):
        return [viewer.user.municipality] if viewer.user.municipality in organisations else []
    return sorted(organisations)


def _units(viewer, units: list[str]) -> list[str]:
    if viewer.user.role == Role.UNIT_MANAGER:
        return [u for u in units if u in viewer.user.units]
    return units


def forecast_page(request: Request, viewer) -> Page:
    stats, settings = request.app.state.statistics, request.app.state.settings
    config, rules = settings.forecast_config(), settings.disclosure_rules()
    names = municipality_names()
    allowed = _municipalities(viewer, stats.snapshot().organisations)
    asked = request.query_params.get("kommun")
    viewer.scope.require(bool(allowed) and (asked is None or asked in allowed),
                         f"prognosen{' för den kommunen' if asked else ''}")
    municipality = asked or allowed[0]
    result = stats.kept(viewer.scope, ("prognos", municipality),
                        lambda: forecast_outlook(settings, municipality))
    lead = _lead(request, config.recruitment_lead_months)
    result = dataclasses.replace(result, lead_months=lead)
    units = _units(viewer, sorted(result.units(), key=swedish_sort_key))
    unit = request.query_params.get("enhet", WHOLE if viewer.user.role != Role.UNIT_MANAGER else None)
    if unit is None:
        unit = units[0] if units else WHOLE
    if unit != WHOLE and unit not in units:
        raise pages.NotFound(f"{names.get(municipality, municipality)} har ingen enhet {unit} att visa.")
    where = f"{unit}, {names.get(municipality, municipality)}" if unit else names.get(municipality, municipality)
    views = [series_view(result, unit, m.id, m.label) for m in config.shown]
    views = [v for v in views if len(v.forecast)]
    unit_options = ([] if viewer.user.role == Role.UNIT_MANAGER else [(WHOLE, "Hela kommunen")]) + [
        (u, u) for u in units]
    choices = [Choice("kommun", "Kommun", [(c, names.get(c, c)) for c in allowed], municipality),
               Choice("enhet", "Enhet", unit_options, unit),
               Choice("ledtid", "Ledtid för rekrytering (månader)", [(str(n), str(n)) for n in LEAD_CHOICES],
                      str(lead))]
    sections = [_staffing_section(result, unit, units), *[
        Section(view.label, f"matt-{i}", " ".join([interval_sentence(view, config.interval_levels, rules),
                                                    error_sentence(view)]),
                charts=[forecast_chart(view, f"prognos-{i}", config.interval_levels, rules)])
        for i, view in enumerate(views)], _numbers_section(views, rules, where)]
    return Page(
        f"Prognos – {where}",
        f"De kommande tolv månaderna, från månad för månad efter {month_name(result.origin)}, ur kommunens egen "
        "historik med dess säsonger (länets säsongsmönster, kommunens egen nivå). Den mörka linjen är utfallet, "
        "den blå prognosens median; det mörkare bandet rymmer utfallet med 80 % sannolikhet, det ljusare med 95 %.",
        choices, sections,
        notes=[f"Färre än {rules.count_threshold} visas inte som ett tal (röjandekontroll): i diagrammet saknas "
               "sådana månader i linjerna och banden går ner till noll.",
               "Prövad i efterhand: prognosen gjord från varje månad med minst två års historik bakom sig och "
               "jämförd med utfallet; genomsnittligt fel i procent av utfallet, mot den enkla prognosen samma "
               "månad förra året.",
               "Bemanning: prognosens pågående ärenden i poäng enligt arbetstyngdens vikter, delat med enhetens "
               "norm per årsarbetare; mot årsarbetarna i tjänst minus visstidsanställningar som tar slut och "
               "förväntade avgångar enligt enhetens personalomsättning det senaste året."])


def _lead(request: Request, default: int) -> int:
    asked = request.query_params.get("ledtid")
    if asked is None:
        return default
    if not asked.isdigit() or int(asked) not in LEAD_CHOICES:
        raise pages.NotFound(f"Ledtiden ska vara 0–{LEAD_CHOICES[-1]} månader.")
    return int(asked)


def _staffing_section(result, unit: str, units: list[str]) -> Section:
    plans = [result.staffing[u] for u in ([unit] if unit else units) if u in result.staffing]
    if not plans:
        return Section("Bemanning och rekrytering", "bemanning",
                       "Inga handläggare i tjänst att räkna bemanningen på för det valda.")
    text = " ".join(staffing_sentence(plan, result.lead_months, result.smallest_recruitment_fte) for plan in plans)
    if unit:
        months = plans[0].result.months
        rows: list[Row] = [[month_name(int(r.month)), format_number(r.need_fte, 1),
                            f"{format_number(r.need_lower_80, 1)}–{format_number(r.need_upper_80, 1)}",
                            f"{format_number(r.need_lower_95, 1)}–{format_number(r.need_upper_95, 1)}",
                            format_number(r.available_fte, 1), f"{format_number(100 * r.chance_short, 0)} %"]
                           for r in months.itertuples()]
        table = Table("bemanning", f"Bemanning per månad, {unit}",
                      ["Månad", "Behov (årsarbetare, median)", "Behov 80 %", "Behov 95 %", "I tjänst",
                       "Risk för underskott"], rows,
                      caption="Behovet: prognosens ärenden i poäng delat med enhetens norm per årsarbetare.")
    else:
        rows = [[plan.unit, format_number(plan.staff.fte_now, 1),
                 format_number(plan.result.months["need_fte"].iloc[0], 1),
                 month_name(plan.result.first_short) if plan.result.first_short is not None else "räcker",
                 _recruit_text(plan, result)] for plan in plans]
        table = Table("bemanning", "Bemanning per enhet",
                      ["Enhet", "I tjänst nu (årsarbetare)", "Behov nästa månad", "Första månad med underskott",
                       "Rekrytera senast"], rows)
    return Section("Bemanning och rekrytering", "bemanning", text, tables=[table])


def _recruit_text(plan, result) -> str:
    month = recruit_by(plan, result.lead_months, result.smallest_recruitment_fte)
    if month is None:
        return "–" if plan.result.first_short is None else "ingen rekrytering (litet underskott)"
    return "redan nu" if month <= result.origin else month_name(month)


def _numbers_section(views, rules, where: str) -> Section:
    rows: list[Row] = []
    for view in views:
        for r in view.forecast.itertuples():
            rows.append([view.label, month_name(int(r.month)), count_text(r.median, rules),
                         interval_text(r.lower_80, r.upper_80, rules), interval_text(r.lower_95, r.upper_95, rules)])
    return Section("Prognosen i siffror", "siffror", tables=[Table(
        "prognos", f"Prognos, {where}", ["Mått", "Månad", "Median", "80 % intervall", "95 % intervall"], rows)])


FORECAST = MenuPage("/prognos", "Prognos", STATISTICS_ROLES)
router = PageRouter()
router.table_page(FORECAST, build=forecast_page)
