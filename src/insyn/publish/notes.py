"""'Om statistiken': the notes shared by the report and the workbook, written in the template
templates/om_statistiken.txt.j2 with the areas' own paragraphs from layout.yaml; the legend
and the unit load note are also shown on their own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, Template

from insyn.disclosure.status import PRIMARY, SECONDARY, SUPPRESSED
from insyn.model.municipalities import AGE_YEAR, municipalities, reference_populations
from insyn.publish.cells import MISSES_TARGET_MARK, MISSING
from insyn.publish.layout import report_layout
from insyn.publish.publication import Publication
from insyn.publish.views import reference_day, years_text
from insyn.swedish import MONTHS, format_number

TEMPLATE = "om_statistiken.txt.j2"


@dataclass(frozen=True)
class Note:
    heading: str
    paragraphs: list[str]


def population_years(years: Iterable[str]) -> dict[int, int]:
    """Period year -> the shipped population year it is divided by (the nearest; the later on a
    tie), as the indicators choose it where no population is imported (docs/reference-data.md)."""
    shipped = sorted(set(reference_populations().year))
    def nearest(year: int) -> int:
        return min(shipped, key=lambda s: (abs(s - year), -s))

    return {int(y): nearest(int(y)) for y in years}


def _population_spans(pub: Publication) -> list[str]:
    used: dict[int, list[int]] = {}
    for year, population_year in population_years(pub.years).items():
        used.setdefault(population_year, []).append(year)
    return [f"{years_text(str(y) for y in sorted(years))}: {year} ({'räknad' if year == AGE_YEAR else 'uppskattad'})"
            for year, years in sorted(used.items())]


@cache
def _environment() -> Environment:
    return Environment(loader=PackageLoader("insyn.publish", "templates"), autoescape=False,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                       keep_trailing_newline=True)


def _template() -> Template:
    return _environment().get_template(TEMPLATE)


def _context(pub: Publication, full: bool = False) -> dict:
    """What the template says of the publication; `full` adds what only the whole notes need
    (the counts of hidden rows, the populations, the areas' paragraphs)."""
    context: dict[str, object] = {
        "noise": pub.noise, "rules": pub.rules, "suppressed": SUPPRESSED, "missing": MISSING,
        "mark": MISSES_TARGET_MARK, "threshold": pub.threshold, "reference_day": reference_day(pub),
        "reference_month": MONTHS[pub.reference.month - 1], "pooled_period": pub.pooled_period,
    }
    if full:
        hidden = pub.rows.status.value_counts()
        layouts = [report_layout().area(area).notes for area in pub.areas]
        paragraphs = {part: [_environment().from_string(text).render(context)
                             for notes in layouts for text in getattr(notes, part)]
                      for part in ("periods", "small_figures")}
        context |= {
            "hidden": format_number(hidden.get(PRIMARY, 0) + hidden.get(SECONDARY, 0), 0),
            "width": format_number(pub.rules.width, 0),
            "later": [d.name for d in pub.definitions if d.requires_followup_months],
            "area_periods": paragraphs["periods"], "area_small_figures": paragraphs["small_figures"],
            "unit_load": bool(pub.unit_loads),
            "population_years": _population_spans(pub), "age_year": AGE_YEAR,
            "national": municipalities().population_year.max(),
        }
    return context


def _paragraphs(text: str) -> list[Note]:
    """Notes from the template's text: "# Heading" lines, paragraphs between blank lines."""
    found: list[Note] = []
    paragraph: list[str] = []

    def close() -> None:
        if paragraph:
            found[-1].paragraphs.append(" ".join(paragraph))
            paragraph.clear()

    for line in text.splitlines():
        line = line.strip()
        if line.startswith("# "):
            close()
            found.append(Note(line[2:], []))
        elif line:
            paragraph.append(line)
        else:
            close()
    close()
    return found


def _block(pub: Publication, block: str, heading: str) -> Note:
    template = _template()
    text = "".join(template.blocks[block](template.new_context(_context(pub))))
    return Note(heading, _paragraphs(f"# {heading}\n{text}")[0].paragraphs)


def legend(pub: Publication) -> Note:
    """What "..", "–" and "▾" mean, beside every table of values."""
    return _block(pub, "legend", "Teckenförklaring")


def unit_load_note(pub: Publication) -> Note:
    """How unit load is measured and protected: in the notes and beside the unit load table."""
    return _block(pub, "unit_load", "Arbetstyngd per enhet")


def notes(pub: Publication) -> list[Note]:
    """The text of "Om statistiken", shared by the report and the workbook."""
    return _paragraphs(_template().render(_context(pub, full=True)))
