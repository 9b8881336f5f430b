"""The statistics pages, as data: each builder takes the user's publication (insyn.web.data) and
the page's parameters and returns sections of Tables and charts. Templates only lay them out,
and the download route writes the same Tables, so a download holds exactly what the page shows.

Pages are made from the indicator library: an area (a library file) gets its page, its
indicators and its categories without code of its own here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd
from markupsafe import Markup

from insyn import errors
from insyn.disclosure.status import is_hidden
from insyn.indicators.definitions import Definition, area_funnels, area_names
from insyn.model.codes import label
from insyn.model.municipalities import municipalities, regions
from insyn.publish import charts
from insyn.publish.cells import MISSING, Cell
from insyn.publish.kolada import NATIONAL, STATUS_LEGEND, Comparison, comparisons, county_of, kolada_names, newest
from insyn.publish.layout import report_layout
from insyn.publish.notes import legend
from insyn.publish.publication import Publication, month_start
from insyn.publish.standing import Standing, n_text, standings
from insyn.publish.views import (
    category_label,
    category_table_of,
    coverage_tables_of,
    format_target,
    group_median,
    load_month,
    name_with_unit,
    ranking,
    trend,
    unit_loads,
)
from insyn.swedish import COUNT, format_date, swedish_sort_key
from insyn.web.tables import Row, Table, count

SEX_LABELS = {"female": "Flickor", "male": "Pojkar"}
BRIEF_ADDRESS = "/oversikt/kommunblad"  # the municipal brief (insyn.publish.brief), as published
BRIEF_FORMATS = ("pdf", "html")
TABLE_ADDRESS = "/jamforelse/allt-publicerat"  # everything published as one long table (insyn.publish.analyst)
TABLE_FORMATS = ("xlsx", "csv")
ATTENTION_SHOWN = 5


class NotFound(errors.NotFound):
    """A parameter names something the user's data does not have (the message says what)."""


@dataclass(frozen=True)
class Section:
    heading: str
    anchor: str
    text: str = ""
    tables: Sequence[Table] = ()
    charts: Sequence[Markup] = ()
    form: str = ""  # a template rendered before the tables (with the page's context)


@dataclass(frozen=True)
class Choice:
    """A field of the page's filter form: its parameter, label, options (value, text) of a select
    box, and the chosen value; `kind` "date" or "search" is an input field instead."""

    name: str
    label: str
    options: Sequence[tuple[str, str]]
    chosen: str
    kind: str = "select"


@dataclass(frozen=True)
class Page:
    title: str
    intro: str = ""
    choices: Sequence[Choice] = ()
    sections: Sequence[Section] = ()
    notes: Sequence[str] = field(default_factory=tuple)
    forms: Mapping[str, object] = field(default_factory=dict)  # what a page's own template needs besides tables
    downloads: Sequence[tuple[str, str]] = ()  # (label, address) of files made from the page's choices

    def table(self, table_id: str) -> Table:
        for section in self.sections:
            for table in section.tables:
                if table.id == table_id:
                    return table
        raise NotFound("Tabellen finns inte på sidan.")


def legend_lines(pub: Publication, in_full_note: str = "") -> tuple[str, ...]:
    return (*legend(pub).paragraphs, *([in_full_note] if in_full_note else []))


def chosen_municipality(pub: Publication, asked: str | None, own: str | None) -> str:
    if not pub.municipalities:
        raise NotFound("Underlaget har inga publicerade indikatorer ännu.")
    if asked is None:
        return own if own in pub.municipalities else pub.municipalities[0]
    if asked not in pub.municipalities:
        raise NotFound("Kommunen finns inte i underlaget.")
    return asked


def municipality_choice(pub: Publication, chosen: str) -> Choice:
    return Choice("kommun", "Kommun", [(c, pub.name(c)) for c in pub.municipalities], chosen)


# --- Översikt ------------------------------------------------------------------------------------

def _standing_row(s: Standing, areas: dict[str, str] | None = None) -> list:
    """One indicator's standing; with `areas`, its area's name too (for a table of all areas)."""
    unit = s.definition.unit
    area = [areas.get(s.definition.area, s.definition.area)] if areas else []
    has_pooled = s.pooled is not None and (s.pooled[1].value is not None or s.pooled[1].suppressed)
    pooled = f"{s.pooled[1].text} ({s.pooled[0]})" if s.pooled and has_pooled else MISSING
    return [name_with_unit(s.definition), *area, s.year, s.cell, n_text(s.n), pooled,
            format_target(s.definition) or MISSING, Cell(s.median.value, unit),
            f"{s.median.count} av {s.median.of}", s.place_text, s.change.label, s.reasons]


STANDING_COLUMNS = ["Indikator", "År", "Värde", "n", "Tre år tillsammans", "Mål", "Jämförelsegruppens median",
                    "Kommuner i medianen", "Placering", "Jämfört med året innan", "Behöver uppmärksamhet"]


def peer_group(pub: Publication, municipality: str, asked: str | None) -> Group:
    """(id, name, codes) of the municipalities the overview compares with: those asked for, else
    all in the data, or the municipality's county when the data has more than MANY."""
    found = [g for g in groups(pub) if municipality in g[2]]
    if asked is not None:
        chosen = next((g for g in found if g[0] == asked), None)
        if chosen is None:
            raise NotFound(f"Jämförelsegruppen finns inte för {pub.name(municipality)}.")
        return chosen
    if len(pub.municipalities) <= MANY:
        return found[0]
    return next((g for g in found if g[0].startswith(COUNTY)), found[0])


def overview_page(pub: Publication, municipality: str, group: str | None, notes: Sequence[str],
                  imported: pd.DataFrame | None = None, own: Collection[str] | None = None) -> Page:
    """`imported` (published values read with insyn import --format kolada) adds Kolada's figures
    beside the municipality's own; `own` limits whose own figures are shown beside them (None: any)."""
    group_id, group_name, peers = peer_group(pub, municipality, group)
    found = standings(pub, municipality, peers)
    areas = area_names()
    attention = sorted((s for s in found if s.attention), key=lambda s: -s.attention)[:ATTENTION_SHOWN]
    name = pub.name(municipality)
    sections = [Section(
        "Behöver uppmärksamhet först", "uppmarksamhet",
        "De indikatorer där kommunen inte når målet, ligger sämre till än jämförelsegruppens median eller "
        "har blivit sämre sedan året innan, de allvarligaste först. En skillnad räknas bara när den är "
        "större än slumpen kan ge för antalet den bygger på (n)." if attention else
        "Ingen indikator når inte målet, och ingen ligger sämre än jämförelsegruppens median eller har blivit "
        "sämre sedan året innan med mer än slumpen kan ge för antalet den bygger på (n).",
        [Table("uppmarksamhet", f"Behöver uppmärksamhet – {name}",
               [STANDING_COLUMNS[0], "Område", *STANDING_COLUMNS[1:]],
               [_standing_row(s, areas) for s in attention])] if attention else [])]
    for area, area_name in areas.items():
        rows = [_standing_row(s) for s in found if s.definition.area == area]
        if rows:
            sections.append(Section(area_name, f"omrade-{area}", tables=[Table(
                f"oversikt-{area}", f"{area_name} – {name}", STANDING_COLUMNS, rows,
                caption=f"Senaste året med data för varje indikator. Medianen och placeringen räknas bland "
                        f"{group_name.lower()} ({len(peers)} kommuner) med ett värde som är publicerat för "
                        "alla; ett eget värde som bara ni ser räknas inte in. n: antalet ärenden, barn "
                        "eller personer värdet bygger på.")]))
    kolada = kolada_overview_section(pub, municipality, imported, own)
    if kolada:
        sections.append(kolada)
    return Page(f"Översikt – {name}",
                "Varje indikator det senaste året: mot målet, mot de andra kommunerna i jämförelsegruppen och "
                "mot året innan.",
                [municipality_choice(pub, municipality),
                 Choice("grupp", "Jämför med", [(g[0], g[1]) for g in groups(pub) if municipality in g[2]], group_id)],
                sections, notes,
                downloads=[(f"Kommunblad för nämnden, {fmt.upper()}", f"{BRIEF_ADDRESS}.{fmt}?kommun={municipality}")
                           for fmt in BRIEF_FORMATS])


# --- an area's page ------------------------------------------------------------------------------

def _value_row(pub: Publication, definition: Definition, municipality: str, period: str, heading: str,
               **dimensions) -> list:
    """[heading, value, numerator, denominator] of one row (all ".." when it is hidden)."""
    row = pub.row(definition, municipality, period, **dimensions)
    cell = pub.cell(definition, municipality, period, **dimensions)
    if row is None or cell.suppressed:
        return [heading, cell, Cell(None, COUNT, cell.suppressed), Cell(None, COUNT, cell.suppressed)]
    return [heading, cell, count(row["numerator"]), count(row["denominator"])]


VALUE_COLUMNS = ["Värde", "Täljare", "Nämnare"]


def _breakdown_table(pub: Publication, definition: Definition, municipality: str, dimension: str,
                     heading: str, labels: Callable[[str], str]) -> Table | None:
    year = pub.latest_year(definition)
    if year is None:
        return None
    values = sorted(pub.dimension_values(definition, dimension, municipality, year), key=swedish_sort_key)
    if not values:
        return None
    return Table(f"{definition.id}-{dimension}", f"{definition.name} per {heading} {year}",
                 [heading.capitalize(), *VALUE_COLUMNS],
                 [_value_row(pub, definition, municipality, year, labels(v), **{dimension: v}) for v in values])


def indicator_section(pub: Publication, definition: Definition, municipality: str) -> Section:
    name = pub.name(municipality)
    pooled = pub.latest_pooled.get(definition.id)
    years = [_value_row(pub, definition, municipality, y, y) for y in pub.years]
    if pooled:
        years.append(_value_row(pub, definition, municipality, pooled, f"{pooled} (tre år tillsammans)"))
    tables = [Table(f"{definition.id}-ar", f"{name_with_unit(definition)} – {name}",
                    ["År", *VALUE_COLUMNS], years, caption=" ".join(definition.description.split()))]
    breakdowns: tuple[tuple[str, str, Callable[[str], str]], ...] = (
        ("sex", "kön", lambda v: SEX_LABELS.get(v, v)),
        ("age_group", "åldersgrupp", lambda v: label("age_group", v)),
        ("unit", "enhet", str))
    for dimension, heading, labels in breakdowns:
        if dimension in definition.breakdowns:
            table = _breakdown_table(pub, definition, municipality, dimension, heading, labels)
            if table:
                tables.append(table)
    cells = trend(pub, definition, municipality)
    chart = charts.trend_chart(list(pub.years), cells, f"trend-{definition.id}",
                               f"{definition.name}, {name}, år för år")
    target = f" Mål: {format_target(definition)}." if definition.target is not None else ""
    return Section(definition.name, definition.id, " ".join(definition.follows.split()) + target, tables, [chart])


def funnel_section(pub: Publication, area: str, municipality: str) -> Section | None:
    steps = area_funnels().get(area)
    definitions = {d.id: d for d in pub.definitions}
    if not steps or not pub.years:
        return None
    cells_by_year: dict[str, list[Cell]] = {}
    for year in pub.years:
        cells = []
        for step in steps:
            row = pub.row(definitions[step.indicator], municipality, year) if step.indicator in definitions else None
            hidden = row is not None and is_hidden(row["status"])
            cells.append(Cell(None, COUNT, hidden) if row is None or hidden else count(row[step.side]))
        cells_by_year[year] = cells
    rows: list[Row] = [[year, *cells] for year, cells in cells_by_year.items()]
    latest = pub.years[-1]
    bars = [charts.Bar(step.label, cell) for step, cell in zip(steps, cells_by_year[latest], strict=True)]
    chart = charts.bar_chart(bars, f"tratt-{area}", f"Ärendets steg {latest}, {pub.name(municipality)}",
                             "; ".join(f"{b.label}: {b.cell.text}" for b in bars), COUNT)
    return Section("Från anmälan till insats", "tratt",
                   "Hur många ärenden som når varje steg under året. Stegen räknas var för sig under "
                   "kalenderåret, så ett ärende kan ha anmälts ett år och utretts nästa.",
                   [Table("tratt", f"Från anmälan till insats – {pub.name(municipality)}",
                          ["År", *(s.label for s in steps)], rows)], [chart])


def category_section(pub: Publication, definition: Definition, municipality: str) -> Section | None:
    """Each category's share of the municipality's total, or (a value per category of its own:
    cost per child per form) each category's value."""
    table = category_table_of(pub, definition, [municipality])
    if table is None:
        return None
    row = table.rows[0]
    rows: list[Row] = [[c.label, share] for c, share in zip(table.categories, row.shares, strict=True)]
    bars = [charts.Bar(c.label, share) for c, share in zip(table.categories, row.shares, strict=True)]
    chart = charts.bar_chart(bars, f"kategori-{definition.id}", f"{definition.name} {table.year}",
                             "; ".join(f"{b.label}: {b.cell.text}" for b in bars), definition.unit)
    return Section(definition.name, definition.id, " ".join(definition.description.split()),
                   [Table(f"{definition.id}-kategori", f"{definition.name} {table.year} – {pub.name(municipality)}",
                          [category_label(definition), "Andel" if table.of_a_total else name_with_unit(definition)],
                          rows, caption=f"Antal totalt: {row.total.text}" if table.of_a_total else "")], [chart])


def coverage_section(pub: Publication, definition: Definition, municipality: str) -> Section | None:
    tables = coverage_tables_of(pub, definition, [municipality])
    if not tables:
        return None
    rows: list[Row] = [[t.category.label, t.rows[0].targeted, t.rows[0].completed, t.rows[0].coverage,
                        t.rows[0].lacking] for t in tables]
    return Section(definition.name, definition.id, " ".join(definition.description.split()),
                   [Table(f"{definition.id}-program", f"{definition.name} {tables[0].year} – {pub.name(municipality)}",
                          ["Program", "Målgrupp", "Har genomgått", "Täckning", "Saknar"], rows)])


def unit_load_section(pub: Publication, municipality: str) -> Section | None:
    month = load_month(pub)
    loads = [u for u in unit_loads(pub, month) if u.municipality == municipality] if month else []
    if not loads or month is None:
        return None
    return Section("Arbetstyngd per enhet", "arbetstyngd-enhet",
                   f"Mätningen den {format_date(month_start(month))}: enhetens poäng mot summan av "
                   "handläggarnas normer.",
                   [Table("arbetstyngd-enhet", f"Arbetstyngd per enhet {month} – {pub.name(municipality)}",
                          ["Enhet", "Handläggare", "Över normen", "Arbetstyngd"],
                          [[u.unit, u.caseworkers, u.over_norm, u.load] for u in loads])])


def area_page(pub: Publication, area: str, municipality: str, notes: Sequence[str],
              extra: Sequence[Section] = ()) -> Page:
    names = area_names()
    if area not in names:
        raise NotFound("Området finns inte.")
    sections = []
    funnel = funnel_section(pub, area, municipality)
    if funnel:
        sections.append(funnel)
    for definition in (d for d in pub.definitions if d.area == area):
        if definition in pub.category_table_definitions:
            section = category_section(pub, definition, municipality)
        elif definition in pub.coverage_definitions:
            section = coverage_section(pub, definition, municipality)
        else:
            section = indicator_section(pub, definition, municipality)
        if section:
            sections.append(section)
    if report_layout().area(area).unit_load:  # as the report shows it (publish/layout.yaml)
        load = unit_load_section(pub, municipality)
        if load:
            sections.append(load)
    return Page(f"{names[area]} – {pub.name(municipality)}", "", [municipality_choice(pub, municipality)],
                [*sections, *extra], notes)


# --- Jämförelse ----------------------------------------------------------------------------------

ALL = "alla"
COUNTY = "lan-"
MANY = 30  # with more municipalities than this in the data, the overview compares within the county


Group = tuple[str, str, tuple[str, ...]]


def groups(pub: Publication) -> tuple[Group, ...]:
    """(id, name, municipality codes) of the ways to compare: all in the data, each named region
    and each county with at least two of the data's municipalities."""
    return _groups(pub.municipalities)


@functools.cache
def _groups(codes_in_data: tuple[str, ...]) -> tuple[Group, ...]:
    present = set(codes_in_data)
    found = [(ALL, "Alla kommuner i underlaget", codes_in_data)]
    for region_id, region in regions().items():
        codes = tuple(c for c in region["municipalities"] if c in present)
        if len(codes) > 1 and set(codes) != present:
            found.append((region_id, region["name"], codes))
    table = municipalities()
    for code, county in table.groupby("county_code"):
        codes = tuple(c for c in county.municipality_code if c in present)
        if len(codes) > 1 and set(codes) != present:
            found.append((f"{COUNTY}{code}", county.county.iloc[0], codes))
    return tuple(found)


def comparison_page(pub: Publication, indicator: str | None, group: str | None, notes: Sequence[str],
                    imported: pd.DataFrame | None = None, own: Collection[str] | None = None) -> Page:
    """`imported` adds Kolada's figures for the group, Riket and the regions beside the own
    figures of the group's municipalities (of those in `own`, when given)."""
    definitions = pub.summary_definitions
    if not definitions:
        raise NotFound("Underlaget har inga publicerade indikatorer ännu.")
    chosen = next((d for d in definitions if d.id == indicator), None) if indicator else definitions[0]
    if chosen is None:
        raise NotFound("Indikatorn finns inte i underlaget.")
    found = groups(pub)
    chosen_group = next((g for g in found if g[0] == (group or ALL)), None)
    if chosen_group is None:
        raise NotFound("Jämförelsegruppen finns inte.")
    group_id, group_name, codes = chosen_group
    rows: list[Row] = [[pub.name(code), *trend(pub, chosen, code)]
                       for code in sorted(codes, key=lambda c: swedish_sort_key(pub.name(c)))]
    medians = {year: group_median(pub, chosen, year, codes) for year in pub.years}
    rows.append(["Median (publicerade värden)", *(Cell(m.value, chosen.unit) for m in medians.values())])
    rows.append(["Antal kommuner i medianen", *(f"{m.count} av {m.of}" for m in medians.values())])
    latest = pub.latest_year(chosen)
    entries = [e for e in ranking(pub, chosen, latest).entries if e.municipality in codes] if latest else []
    bars = [charts.Bar(e.name, e.cell) for e in entries]
    median = medians[latest] if latest else None
    chart = charts.bar_chart(bars, f"jamforelse-{chosen.id}", f"{chosen.name} {latest}, {group_name}",
                             "; ".join(f"{b.label}: {b.cell.text}" for b in bars), chosen.unit,
                             chosen.target, format_target(chosen), median.value if median else None,
                             f"Gruppens {median.basis}" if median else "Median") if bars else None
    return Page(
        f"Jämförelse – {chosen.name}",
        "En indikator för kommunerna i en region eller ett län, år för år. Små tal visas inte enligt "
        "reglerna för röjandekontroll.",
        [Choice("indikator", "Indikator", [(d.id, d.name) for d in definitions], chosen.id),
         Choice("grupp", "Jämför", [(g[0], g[1]) for g in found], group_id)],
        [Section(f"{name_with_unit(chosen)}, {group_name}", "jamforelse", " ".join(chosen.description.split()),
                 [Table(f"jamforelse-{chosen.id}", f"{name_with_unit(chosen)} – {group_name}",
                        ["Kommun", *pub.years], rows)],
                 [chart] if chart else []),
         *filter(None, [kolada_comparison_section(pub, chosen, codes, group_name, imported, own)])],
        notes, downloads=[(f"allt publicerat som en tabell ({'Excel' if fmt == 'xlsx' else 'CSV'})",
                           f"{TABLE_ADDRESS}.{fmt}") for fmt in TABLE_FORMATS])


# --- Kolada's figures beside the own ---------------------------------------------------------------

KOLADA_HEADING = "Jämförelsevärden från Kolada"
KOLADA_TEXT = ("Publicerade värden som har lästs in i Koladas format (insyn import --format kolada) bredvid "
               "Insyns egna: indikatorns närliggande nyckeltal i Kolada, som mäter något närliggande men inte "
               "exakt samma sak (Så skiljer sig måtten), och riket och regionen. Koladas värden är offentliga; "
               "Källa är filen de lästes in från. ")


def _own_codes(codes: Sequence[str], own: Collection[str] | None) -> list[str]:
    return [c for c in codes if own is None or c in own]


def _kolada_comparisons(pub: Publication, imported: pd.DataFrame | None, own: Collection[str],
                        areas: Collection[str] | None = None, definition: Definition | None = None) -> list[Comparison]:
    """The newest compared year of each indicator and each KPI of it: of an indicator by category,
    the KPIs set beside one category's figures."""
    if imported is None or imported.empty:
        return []
    return [c for c in newest(comparisons(pub, imported, own, areas))
            if (not c.definition.category or c.category) and (definition is None or c.definition.id == definition.id)]


def _notes_of(rows) -> str:
    return "; ".join(f"{r.name}: {r.note}" for r in rows if r is not None and r.note) or MISSING


def kolada_overview_section(pub: Publication, municipality: str, imported: pd.DataFrame | None,
                            own: Collection[str] | None) -> Section | None:
    """Each indicator's related (and own) Kolada KPIs in their newest imported year: the
    municipality's own figure, Kolada's figure for the municipality, Riket and the region."""
    shown_own = _own_codes([municipality], own)
    found = _kolada_comparisons(pub, imported, shown_own, areas=[municipality])
    if not found:
        return None
    name = pub.name(municipality)
    county = county_of(municipality)
    county_name = kolada_names().get(county, "Regionen") if county else "Regionen"
    rows = []
    for c in found:
        here, nation, region = c.row(municipality), c.row(NATIONAL), c.row(county) if county else None
        if not any(r is not None and r.value is not None for r in (here, nation, region)):
            continue
        own_cell = (here.own if here is not None and here.own is not None else Cell(None, c.definition.unit)) \
            if shown_own else None
        missing = Cell(None, c.unit)
        rows.append([c.indicator_with_unit, c.year, own_cell, c.label,
                     *((r.value if r is not None and r.value is not None else missing) for r in (here, nation, region)),
                     _notes_of((here, nation, region)),
                     ", ".join(dict.fromkeys(r.source for r in (here, nation, region) if r is not None and r.source)),
                     c.difference or MISSING])
    if not rows:
        return None
    caption = ("Det senaste året med inlästa värden för varje nyckeltal."
               + ("" if shown_own else " Insyns egna värden visas här bara för den egna kommunen."))
    return Section(KOLADA_HEADING, "kolada", KOLADA_TEXT + STATUS_LEGEND, [Table(
        "kolada", f"{KOLADA_HEADING} – {name}",
        ["Indikator", "År", "Insyn (eget värde)", "Nyckeltal", f"Kolada: {name}", "Riket", county_name,
         "Anmärkning", "Källa", "Så skiljer sig måtten"], rows, caption=caption, notes=(STATUS_LEGEND,))])


def kolada_comparison_section(pub: Publication, definition: Definition, codes: Sequence[str], group_name: str,
                              imported: pd.DataFrame | None, own: Collection[str] | None) -> Section | None:
    """The indicator's Kolada KPIs in their newest imported year: each municipality of the group
    with its own figure (where the reader may see it beside Kolada's) and Kolada's, then Riket and
    the regions."""
    found = _kolada_comparisons(pub, imported, _own_codes(codes, own), areas=codes, definition=definition)
    tables = [Table(f"kolada-{c.kpi}", f"{c.indicator_name} {c.year}: egna värden och {c.label} – {group_name}",
                    ["Område", f"Insyn (egna uppgifter), {c.definition.unit}", c.value_header, "Källa", "Anmärkning"],
                    # No imported value for an area: "–"; an own figure the reader may not see: blank.
                    [[r.name, r.own, r.value if r.value is not None else Cell(None, c.unit), r.source or MISSING,
                      r.note] for r in c.rows],
                    caption=f"Så skiljer sig måtten: {c.difference}" if c.difference else "",
                    notes=(STATUS_LEGEND,))
              for c in found]
    if not tables:
        return None
    return Section(KOLADA_HEADING, "kolada", KOLADA_TEXT + STATUS_LEGEND, tables)
