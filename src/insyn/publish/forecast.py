"""A forecast as people read it: the chart (history, the median ahead, the 80 % and 95 %
intervals as bands, the seasonal-naive baseline where the model did not beat it), the intervals
and the staffing need in words — for the terminal, the page Prognos and the report.

Through disclosure control like every published count: a forecast is a figure about children
too, so a count (history, median or interval bound) under the count threshold is written
"färre än N", left out of the chart's line and drawn at 0 in its bands.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from markupsafe import Markup

from insyn.disclosure.rules import DisclosureRules
from insyn.forecast.model import MONTHS_PER_YEAR, interval_columns
from insyn.forecast.outlook import Outlook, UnitStaffing
from insyn.publish.charts import BAND, BAR, INK, TARGET, _svg, _text, nice_maximum
from insyn.swedish import MONTHS, format_number

CHART_WIDTH, CHART_HEIGHT = 680, 230
PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM = 48, 664, 16, 196
HISTORY_MONTHS = 24
OUTER_BAND, INNER_BAND = "#dbe7f3", "#a9c6e6"


def month_name(index: int) -> str:
    """month_index -> "mars 2026"."""
    return f"{MONTHS[index % MONTHS_PER_YEAR]} {index // MONTHS_PER_YEAR}"


def count_text(value: float, rules: DisclosureRules) -> str:
    """A forecast or counted value as shown: whole, or "färre än N" under the threshold."""
    rounded = round(float(value))
    if rules.is_small(rounded):
        return f"färre än {rules.count_threshold}"
    return format_number(rounded, 0)


def interval_text(lower: float, upper: float, rules: DisclosureRules) -> str:
    """An interval as shown: "38–67"; "högst 12" where its lower end is 0 or under the count
    threshold (not "0–färre än 5" nor a small count); "färre än 5" where all of it is."""
    low, high = round(float(lower)), round(float(upper))
    if high == 0:
        return "0"
    if rules.is_small(high):
        return f"färre än {rules.count_threshold}"
    if low == 0 or rules.is_small(low):
        return f"högst {format_number(high, 0)}"
    return f"{format_number(low, 0)}–{format_number(high, 0)}"


def hidden(value: float, rules: DisclosureRules) -> bool:
    return rules.is_small(round(float(value)))


@dataclass(frozen=True)
class SeriesView:
    """One series of an outlook: its history, forecast, baseline and whether the model beat it."""

    label: str
    history: pd.DataFrame    # month, value
    forecast: pd.DataFrame   # month, median, lower_80 … upper_95
    baseline: pd.DataFrame   # month, naive
    beats_baseline: bool
    model_mape: float | None
    naive_mape: float | None
    coverage_95: float | None


def series_view(result: Outlook, unit: str, measure: str, label: str) -> SeriesView:
    def own(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[(frame["unit"] == unit) & (frame["measure"] == measure)]

    judged = own(result.verdicts) if len(result.verdicts) else pd.DataFrame()
    first = judged.iloc[0] if len(judged) else None

    def figure(column: str) -> float | None:
        return None if first is None or pd.isna(first[column]) else float(first[column])

    return SeriesView(label, own(result.history).sort_values("month"), own(result.forecast).sort_values("month"),
                      own(result.baseline).sort_values("month"),
                      bool(first["beats_baseline"]) if first is not None else True,
                      figure("model_mape"), figure("naive_mape"), figure("covered_95"))


def interval_sentence(view: SeriesView, levels: list[float], rules: DisclosureRules, horizon: int = 1) -> str:
    """ "April 2026: anmälningar väntas bli 52; med 80 % sannolikhet 45–60, med 95 % sannolikhet 38–67." """
    if view.forecast.empty:
        return f"{view.label}: för kort historik för en prognos."
    row = view.forecast.iloc[horizon - 1]
    bounds = [f"med {round(level * 100)} % sannolikhet {interval_text(row[lo], row[hi], rules)}"
              for level, lo, hi in interval_columns(levels)]
    return (f"{month_name(int(row['month'])).capitalize()}: {view.label.lower()} väntas bli "
            f"{count_text(row['median'], rules)}; {', '.join(bounds)}.")


def error_sentence(view: SeriesView) -> str:
    """How the model did on the municipality's own history, against last year's month."""
    if view.model_mape is None:
        return "Ingen efterhandsprövning: historiken är för kort."
    said = (f"Prövad i efterhand på egen historik: prognosen missade i snitt med "
            f"{format_number(100 * view.model_mape, 0)} %")
    if view.naive_mape is not None:
        said += f", samma månad förra året med {format_number(100 * view.naive_mape, 0)} %"
    if view.coverage_95 is not None:
        said += f"; 95-procentsintervallet rymde {format_number(100 * view.coverage_95, 0)} % av utfallen"
    if not view.beats_baseline:
        said += (". Modellen slog inte den enkla prognosen (samma månad förra året) här: den visas i "
                 "diagrammet som streckad linje och är den att gå efter")
    return said + "."


def published_history(view: SeriesView, rules: DisclosureRules) -> pd.DataFrame:
    """The last two years (month, value) as published: each month rounded to a multiple of
    `history_rounding`, so that months beside published quarters and years subtract to no
    hidden figure; a small count is kept as it is, to be written "färre än N" and left out."""
    history = view.history.tail(HISTORY_MONTHS)[["month", "value"]]
    base = rules.history_rounding
    rounded = (history["value"].astype(float) / base).round() * base
    small = history["value"].map(lambda v: hidden(v, rules))
    return history.assign(value=rounded.where(~small, history["value"].astype(float)))


def forecast_chart(view: SeriesView, chart_id: str, levels: list[float], rules: DisclosureRules) -> Markup:
    """History (the last two years, as published) and the year ahead: the median as a line, the
    80 % and 95 % intervals as bands, the baseline dashed where the model did not beat it."""
    history = published_history(view, rules)
    ahead = view.forecast
    months = list(history["month"]) + list(ahead["month"])
    if not months:
        return Markup("")
    first, last = min(months), max(months)
    widest = max(interval_columns(levels))[2]
    top = nice_maximum(max([*history["value"], *ahead[widest], 1.0]))

    def x(month: float) -> float:
        return PLOT_LEFT + (PLOT_RIGHT - PLOT_LEFT) * (month - first) / max(last - first, 1)

    def y(value: float) -> float:
        return PLOT_BOTTOM - (PLOT_BOTTOM - PLOT_TOP) * max(value, 0.0) / top

    def shown(value: float) -> float:
        return 0.0 if hidden(value, rules) else float(value)

    body = [f'<line stroke="{INK}" stroke-width="1" x1="{PLOT_LEFT}" x2="{PLOT_RIGHT}" '
            f'y1="{PLOT_BOTTOM}" y2="{PLOT_BOTTOM}"/>']
    for tick in (0, top / 2, top):
        body.append(f'<line stroke="{BAND}" stroke-width="1" x1="{PLOT_LEFT}" x2="{PLOT_RIGHT}" '
                    f'y1="{y(tick):.1f}" y2="{y(tick):.1f}"/>')
        body.append(_text(PLOT_LEFT - 6, y(tick) + 4, format_number(tick, 0), "axis-label", "end"))
    colours = [OUTER_BAND, INNER_BAND]
    for i, (_, lower, upper) in enumerate(sorted(interval_columns(levels), reverse=True)):
        top_edge = [f"{x(m):.1f},{y(shown(v)):.1f}" for m, v in zip(ahead["month"], ahead[upper], strict=True)]
        bottom_edge = [f"{x(m):.1f},{y(shown(v)):.1f}" for m, v in zip(ahead["month"], ahead[lower], strict=True)]
        body.append(f'<polygon class="band" fill="{colours[min(i, 1)]}" '
                    f'points="{" ".join(top_edge + bottom_edge[::-1])}"/>')
    body += _line(history["month"], history["value"], x, y, rules, f'stroke="{INK}" stroke-width="2"', "historik")
    body += _line(ahead["month"], ahead["median"], x, y, rules, f'stroke="{BAR}" stroke-width="2.5"', "prognos")
    if not view.beats_baseline and len(view.baseline):
        body += _line(view.baseline["month"], view.baseline["naive"], x, y, rules,
                      f'stroke="{TARGET}" stroke-width="2" stroke-dasharray="6 4"', "basprognos")
    if len(ahead):
        start = x(ahead["month"].iloc[0] - 0.5)
        body.append(f'<line stroke="{INK}" stroke-width="1" stroke-dasharray="2 3" x1="{start:.1f}" '
                    f'x2="{start:.1f}" y1="{PLOT_TOP}" y2="{PLOT_BOTTOM}"/>')
        body.append(_text(start + 4, PLOT_TOP + 10, "prognos →", "axis-label"))
    for month in months:
        if month % 6 == 0:
            body.append(_text(x(month), PLOT_BOTTOM + 16, f"{MONTHS[month % 12][:3]} {month // 12}",
                              "axis-label", "middle"))
    title = f"{view.label}: två år bakåt och ett år framåt"
    return _svg(chart_id, CHART_WIDTH, CHART_HEIGHT, title, _description(view, rules), body,
                "chart forecast-chart")


def _line(months, values, x, y, rules: DisclosureRules, paint: str, css_class: str) -> list[str]:
    """A polyline, broken where a value is hidden."""
    parts: list[str] = []
    segment: list[str] = []
    for month, value in [*zip(months, values, strict=True), (None, None)]:
        if value is None or hidden(value, rules):
            if len(segment) > 1:
                parts.append(f'<polyline class="{css_class}" fill="none" {paint} points="{" ".join(segment)}"/>')
            segment = []
            continue
        segment.append(f"{x(month):.1f},{y(value):.1f}")
    return parts


def _description(view: SeriesView, rules: DisclosureRules) -> str:
    history = published_history(view, rules)
    said = [f"{month_name(int(m))}: {count_text(v, rules)}" for m, v in
            zip(history["month"], history["value"], strict=True)]
    ahead = [f"{month_name(int(r.month))}: {count_text(r.median, rules)} "
             f"(95 %: {interval_text(r.lower_95, r.upper_95, rules)})"
             for r in view.forecast.itertuples()]
    rounding = f" (avrundat till {rules.history_rounding}-tal)" if rules.history_rounding > 1 else ""
    return f"Utfall{rounding} {'; '.join(said)}. Prognos {'; '.join(ahead)}."


def short_by_a_post(plan: UnitStaffing, smallest_fte: float) -> int | None:
    """The first month the median shortfall reaches `smallest_fte` (forecast.yaml's
    smallest_recruitment_fte); none where it never does within the forecast."""
    months = plan.result.months
    reached = months[months["need_fte"] - months["available_fte"] >= max(smallest_fte, 1e-9)]
    return int(reached["month"].iloc[0]) if len(reached) else None


def recruit_by(plan: UnitStaffing, lead_months: int, smallest_fte: float) -> int | None:
    """The month to recruit by: the lead time before the shortfall reaches `smallest_fte`; none
    where the staff carries the need or the shortfall stays under it all year."""
    month = short_by_a_post(plan, smallest_fte)
    return None if month is None else month - lead_months


def staffing_sentence(plan: UnitStaffing, lead_months: int, smallest_fte: float) -> str:
    """When and by how much the unit's need exceeds its staff, and when to recruit (a shortfall
    under `smallest_fte` is not a post to advertise)."""
    result = plan.result
    if result.first_short is None or result.shortfall is None:
        top = result.months["need_fte"].max()
        return (f"{plan.unit}: personalen räcker hela året enligt prognosen (behovet högst "
                f"{format_number(top, 1)} årsarbetare mot {format_number(result.months['available_fte'].min(), 1)} "
                "i tjänst som lägst).")
    median, lower, upper = result.shortfall
    chance = result.months.set_index("month").loc[result.first_short, "chance_short"]
    missing = "under 0,1" if median < 0.05 else format_number(median, 1)
    said = (f"{plan.unit}: från {month_name(result.first_short)} räcker personalen inte — det fattas "
            f"{missing} årsarbetare (80 %: {format_number(max(lower, 0.0), 1)}–"
            f"{format_number(upper, 1)}; risk för underskott {format_number(100 * chance, 0)} %). ")
    post = short_by_a_post(plan, smallest_fte)
    if post is None:
        return said + (f"Det är mindre än {format_number(smallest_fte, 1)} årsarbetare hela året: ändrad "
                       "tjänstgöringsgrad eller fördelning av ärenden kan räcka; rekrytera om underskottet växer.")
    by = post - lead_months
    first_month = int(result.months["month"].iloc[0])
    when = "redan nu — ledtiden har gått" if by < first_month else f"senast i {month_name(by)}"
    if post != result.first_short:
        row = result.months.set_index("month").loc[post]
        said += (f"I {month_name(post)} fattas {format_number(row['need_fte'] - row['available_fte'], 1)} "
                 "årsarbetare. ")
    return said + f"Rekrytera {when} (ledtid {lead_months} {'månad' if lead_months == 1 else 'månader'})."


HEADLINE_MEASURES = ("reports", "open_interventions")  # the brief's: the inflow and the caseload


@dataclass(frozen=True)
class HeadlineForecast:
    """A headline measure's year ahead in the brief and the report: its chart and its
    intervals and error in words."""

    label: str
    chart: Markup
    text: str


def headline_forecast(result: Outlook, config, rules: DisclosureRules, chart_prefix: str = "kort") -> list:
    """The headline measures' year ahead for the municipality as a whole (HeadlineForecast);
    none of a measure with too short a history. `chart_prefix` keeps the charts' ids apart
    where several municipalities share a page."""
    shown = []
    for measure in HEADLINE_MEASURES:
        label = config.measure(measure).label
        view = series_view(result, "", measure, label)
        if len(view.forecast):
            shown.append(HeadlineForecast(label, forecast_chart(view, f"{chart_prefix}-prognos-{measure}",
                                                                config.interval_levels, rules),
                                          f"{interval_sentence(view, config.interval_levels, rules)} "
                                          f"{error_sentence(view)}"))
    return shown
