"""Inline SVG charts for the HTML report, drawn in Python: readable without colour (every value
is written out, reference lines are labelled and dashed) and described for screen readers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from markupsafe import Markup, escape

from insyn.publish.cells import MISSING, Cell
from insyn.swedish import format_value

BAR_CHART_WIDTH = 680
LABEL_WIDTH = 150
LABEL_CHARACTER_WIDTH = 7.3  # px per character of a 13 px sans-serif label, with some room
VALUE_LABEL_WIDTH = 90
ROW_HEIGHT = 24
BAR_HEIGHT = 16
MARGIN = 24
TREND_STEP = 62
TREND_HEIGHT = 74


@dataclass(frozen=True)
class Bar:
    label: str
    cell: Cell


# How each kind of mark is painted, as SVG presentation attributes rather than CSS, so that a
# chart looks the same wherever it is drawn: a browser, a PDF renderer (WeasyPrint paints inline
# SVG without the page's stylesheet), an image viewer.
INK, BAR, TARGET, BAND = "#1b1f24", "#3b7bbf", "#b3261e", "#f6f8fa"
PAINT = {
    "band": f'fill="{BAND}"',
    "bar": f'fill="{BAR}"',
    "axis": f'stroke="{INK}" stroke-width="1"',
    "target": f'stroke="{TARGET}" stroke-width="2" stroke-dasharray="6 4"',
    "median": f'stroke="{INK}" stroke-width="1.5"',
    "line": f'fill="none" stroke="{BAR}" stroke-width="2"',
    "point": f'fill="{BAR}"',
    "tick": f'stroke="{TARGET}" stroke-width="2"',
}


def _svg(chart_id: str, width: float, height: float, title: str, description: str,
         body: list[str], css_class: str) -> Markup:
    return Markup(
        f'<svg class="{css_class}" role="img" '
        f'aria-labelledby="{chart_id}-titel {chart_id}-beskrivning" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}">'
        f'<title id="{chart_id}-titel">{escape(title)}</title>'
        f'<desc id="{chart_id}-beskrivning">{escape(description)}</desc>'
        + "".join(body) + "</svg>")


def _text(x: float, y: float, text: str, css_class: str = "", anchor: str = "start") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" class="{css_class}">'
            f"{escape(text)}</text>")


def nice_maximum(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k that is at least `value`."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 2.5, 5, 10) if step * power >= value)


def _scale_maximum(values: list[float], unit: str) -> float:
    top = max(values, default=0)
    return 100.0 if unit == "%" and top <= 100 else nice_maximum(top)


def _reference_anchor(x: float, left: float, right: float) -> str:
    if x > left + 0.8 * (right - left):
        return "end"
    return "start" if x < left + 0.2 * (right - left) else "middle"


def bar_chart(bars: list[Bar], chart_id: str, title: str, description: str, unit: str,
              target: float | None = None, target_label: str = "",
              median: float | None = None, median_label: str = "Median") -> Markup:
    """Horizontal bars in the given order, each value written in a column to the right (".."
    and "–" where there is no published value). Dashed line: the target; solid: the median,
    labelled `median_label` ("Median av 4 av 13 kommuner")."""
    values = [b.cell.value for b in bars if b.cell.value is not None]
    maximum = _scale_maximum(values + [v for v in (target, median) if v is not None], unit)
    # Long labels widen the chart rather than run off its left edge.
    label_width = max(LABEL_WIDTH, math.ceil(LABEL_CHARACTER_WIDTH * max((len(b.label) for b in bars), default=0)))
    width = BAR_CHART_WIDTH + label_width - LABEL_WIDTH
    left = label_width + 8
    right = width - VALUE_LABEL_WIDTH
    bottom = MARGIN + len(bars) * ROW_HEIGHT
    height = bottom + MARGIN

    def x_of(value: float) -> float:
        return left + (right - left) * value / maximum

    body = []
    for i, bar in enumerate(bars):
        top = MARGIN + i * ROW_HEIGHT + (ROW_HEIGHT - BAR_HEIGHT) / 2
        baseline = top + BAR_HEIGHT / 2 + 4.5
        if i % 2:
            body.append(f'<rect class="band" {PAINT["band"]} x="0" y="{MARGIN + i * ROW_HEIGHT}" '
                        f'width="{width}" height="{ROW_HEIGHT}"/>')
        body.append(_text(label_width, baseline, bar.label, "label", "end"))
        body.append(_text(width - 6, baseline, bar.cell.text,
                          "value" if bar.cell.value is not None else "value muted", "end"))
        if bar.cell.value is not None:
            body.append(f'<rect class="bar" {PAINT["bar"]} x="{left}" y="{top:.1f}" '
                        f'width="{x_of(bar.cell.value) - left:.1f}" height="{BAR_HEIGHT}"/>')
    body.append(f'<line class="axis" {PAINT["axis"]} x1="{left}" y1="{MARGIN - 4}" x2="{left}" y2="{bottom}"/>')
    if target is not None:
        x = x_of(target)
        body.append(f'<line class="target" {PAINT["target"]} x1="{x:.1f}" y1="{MARGIN - 6}" x2="{x:.1f}" '
                    f'y2="{bottom + 2}"/>')
        body.append(_text(x, MARGIN - 10, f"Mål {target_label}", "reference",
                          _reference_anchor(x, left, right)))
    if median is not None:
        x = x_of(median)
        body.append(f'<line class="median" {PAINT["median"]} x1="{x:.1f}" y1="{MARGIN - 2}" x2="{x:.1f}" '
                    f'y2="{bottom + 6}"/>')
        body.append(_text(x, bottom + 18, f"{median_label} {format_value(median, unit)}",
                          "reference", _reference_anchor(x, left, right)))
    return _svg(chart_id, width, height, title, description, body, "chart bar-chart")


def _trend_range(values: list[float]) -> tuple[float, float]:
    """The vertical range: from zero (or the lowest value, if below) to the highest, so that a
    line's height is the amount itself and a change from 40,0 to 40,7 looks as small as it is."""
    if not values:
        return 0.0, 1.0
    low, high = min(0.0, min(values)), max(values)
    return low, high if high > low else low + 1.0


def trend_chart(years: list[str], cells: list[Cell], chart_id: str, title: str) -> Markup:
    """A small line over the years with every value written above its point; gaps where a
    value is missing or suppressed (written as "–" or "..")."""
    width = TREND_STEP * max(len(years), 2)
    top, bottom = 18, TREND_HEIGHT - 18
    low, high = _trend_range([c.value for c in cells if c.value is not None])

    def point(i: int, value: float) -> tuple[float, float]:
        return TREND_STEP * (i + 0.5), bottom - (bottom - top) * (value - low) / (high - low)

    body: list[str] = []
    segment: list[tuple[float, float]] = []
    for i, cell in enumerate(cells + [Cell(None, "")]):
        if cell.value is None:
            if len(segment) > 1:
                coordinates = " ".join(f"{x:.1f},{y:.1f}" for x, y in segment)
                body.append(f'<polyline class="line" {PAINT["line"]} points="{coordinates}"/>')
            segment = []
            continue
        segment.append(point(i, cell.value))
    for i, (year, cell) in enumerate(zip(years, cells, strict=True)):
        x = TREND_STEP * (i + 0.5)
        body.append(_text(x, TREND_HEIGHT - 3, year, "year", "middle"))
        if cell.value is None:
            body.append(_text(x, (top + bottom) / 2 + 4, cell.text, "point-value muted", "middle"))
            continue
        x, y = point(i, cell.value)
        body.append(f'<circle class="point" {PAINT["point"]} cx="{x:.1f}" cy="{y:.1f}" r="3"/>')
        body.append(_text(x, y - 6, cell.text, "point-value", "middle"))
    description = "; ".join(f"{year}: {cell.text}" for year, cell in zip(years, cells, strict=True))
    return _svg(chart_id, width, TREND_HEIGHT, title, description or MISSING, body,
                "chart trend-chart")


def row_bars(cells: list[Cell], unit: str, reference: float | None = None,
             width: int = 140) -> list[Markup]:
    """Decorative bars for a column of a table (the numbers are in their own cells), all on one
    scale: 0–100 for shares up to 100 %, else up to a round maximum. A tick marks `reference`
    (the norm, say)."""
    values = [c.value for c in cells if c.value is not None]
    maximum = _scale_maximum(values + ([] if reference is None else [reference]), unit)

    def length(value: float) -> float:
        return width * min(max(value, 0), maximum) / maximum

    tick = ("" if reference is None else
            f'<line class="reference" {PAINT["tick"]} x1="{length(reference):.1f}" y1="0" '
            f'x2="{length(reference):.1f}" y2="12"/>')
    return [Markup("") if cell.value is None else Markup(
        f'<svg class="row-bar" aria-hidden="true" viewBox="0 0 {width} 12" width="{width}" '
        f'height="12"><rect class="track" {PAINT["band"]} width="{width}" height="12"/>'
        f'<rect class="bar" {PAINT["bar"]} width="{length(cell.value):.1f}" height="12"/>{tick}</svg>')
        for cell in cells]


LOAD_STEP, LOAD_HEIGHT, LOAD_TOP = 12, 40, 1.6  # px per month; height; the top of the scale (160 %)
RATING_STRIP = 7  # px under the line for the month's own rating


def load_sparkline(months: list[str], loads: list[float | None], chart_id: str, title: str,
                   ratings: list[float | None] | None = None, rating_over: float | None = None) -> Markup:
    """A caseworker's load month by month as a small line against the norm (the dashed line at
    100 %); a load above the scale's top is drawn at the top, a month without a measurement is a
    gap, a month over the norm a red point. Under it, with `ratings`, a square for each month the
    person rated: red from `rating_over`, grey below. The description lists every month."""
    width = LOAD_STEP * max(len(months), 2)
    line_height = LOAD_HEIGHT - RATING_STRIP

    def y_of(load: float) -> float:
        return line_height - 2 - (line_height - 4) * min(max(load, 0.0), LOAD_TOP) / LOAD_TOP

    body = [f'<line class="target" stroke="{TARGET}" stroke-width="1" stroke-dasharray="3 2" x1="0" x2="{width}" '
            f'y1="{y_of(1.0):.1f}" y2="{y_of(1.0):.1f}"/>']
    segment: list[str] = []
    for i, load in enumerate([*loads, None]):
        if load is None or not math.isfinite(load):
            if len(segment) > 1:
                body.append(f'<polyline class="line" fill="none" stroke="{BAR}" stroke-width="1.5" '
                            f'points="{" ".join(segment)}"/>')
            segment = []
            continue
        x, y = LOAD_STEP * (i + 0.5), y_of(load)
        segment.append(f"{x:.1f},{y:.1f}")
        paint = f'fill="{TARGET}"' if load > 1 else PAINT["point"]
        body.append(f'<circle class="point" {paint} cx="{x:.1f}" cy="{y:.1f}" r="{2.5 if load > 1 else 1.5}"/>')
    rated = ratings or [None] * len(months)
    for i, rating in enumerate(rated):
        if rating is not None and math.isfinite(rating):
            high = rating_over is not None and rating >= rating_over
            body.append(f'<rect class="rating" fill="{TARGET if high else "#8a939d"}" x="{LOAD_STEP * i + 2}" '
                        f'y="{LOAD_HEIGHT - RATING_STRIP + 1}" width="{LOAD_STEP - 4}" height="{RATING_STRIP - 2}"/>')

    description = load_months_text(months, loads, rated)
    return _svg(chart_id, width, LOAD_HEIGHT, title, description, body, "chart load-chart")


def load_months_text(months: list[str], loads: list[float | None], ratings: list[float | None]) -> str:
    """The months of a load chart in words: "2025-10: 93,0 %, skattning 4; 2025-11: –"."""
    def month_text(month: str, load: float | None, rating: float | None) -> str:
        said = f"{month}: {'–' if load is None else format_value(100 * load, '%')}"
        return said + (f", skattning {rating:.0f}" if rating is not None and math.isfinite(rating) else "")

    return "; ".join(month_text(*m) for m in zip(months, loads, ratings, strict=True))
