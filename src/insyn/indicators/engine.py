"""Compile indicator definitions into Ibis expressions and precompute them into a table.

Every definition goes through the same steps: build its *subjects* (the things counted:
events, spells, closings, employments, caseworkers' loads, ...), place them in periods,
evaluate each count's condition, aggregate at each grouping level (total, sex, age group,
unit), join numerator and denominator when they count different subjects, and compute the
value. Nothing in this module is about one indicator, nor one kind of subject: the kinds are
looked up in their registry (indicators/kinds.py), filled by indicators/case_kinds.py (case
data) and workforce/subjects.py (staff data).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from insyn import model
from insyn.files import write_atomically
from insyn.indicators.deadlines import add_months, days_between
from insyn.indicators.definitions import Condition, Count, Definition, SpellsSubject, Subjects, event_names, library
from insyn.indicators.kinds import source_files, subject_kind
from insyn.indicators.periods import PERIOD_TYPES, PERIODS_SCHEMA, build_periods
from insyn.indicators.portable import rounded
from insyn.indicators.subjects import (
    EVENT_TYPES,
    PERIOD_KEYS,
    TIE_COLUMNS,
    Sources,
    at_period_end,
    at_reference_date,
)
from insyn.model.codes import age_groups
from insyn.model.municipalities import reference_populations
from insyn.model.workforce_config import WorkforceConfig, WorkloadConfig, load_workforce, load_workload

# For a sum (FTE, hours, kronor) the disclosure layer needs how many records it adds up and the
# largest two of them (the small-count, dominance and p% rules); null for counts and populations.
CONTRIBUTION_COLUMNS = ["numerator_contributors", "numerator_largest",
                        "denominator_contributors", "denominator_largest",
                        "numerator_second", "denominator_second"]
# For a count, its cell key for the cell-key method (docs/noise.md): the fractional part of
# the sum of the keys of the records it counts; null for sums and populations.
CELL_KEY_COLUMNS = ["numerator_cellkey", "denominator_cellkey"]
RESULT_COLUMNS = ["indicator", "municipality", "period", "period_type", "unit", "sex",
                  "age_group", "category", "numerator", "denominator", "value", "complete",
                  *CONTRIBUTION_COLUMNS, *CELL_KEY_COLUMNS]
FIGURE_COLUMNS = ["numerator", "denominator", "value", *CONTRIBUTION_COLUMNS, *CELL_KEY_COLUMNS]
DIMENSIONS = ["unit", "sex", "age_group", "category"]
KEYS = PERIOD_KEYS
MEASURES = ["numerator", "denominator", "statistic_value", *CONTRIBUTION_COLUMNS, *CELL_KEY_COLUMNS]
OPEN_END = dt.date(9999, 12, 31)


# --- periods ---------------------------------------------------------------------------------

POPULATION_SCHEMA = {"municipality": "string", "year": "int32", "age_from": "int32",
                     "age_to": "int32", "population": "int64"}
# Relations compute() binds by name in the backend, so that the compiled SQL does not depend
# on their content and can be cached: name -> schema.
BOUND_SCHEMAS = {
    "insyn_periods": PERIODS_SCHEMA,
    "insyn_reference_populations": POPULATION_SCHEMA,
    "insyn_programme_targets": {"programme": "string", "role": "string", "employment": "string",
                                "under_years_since_exam": "float64",
                                "under_years_in_municipality": "float64"},
    "insyn_workload_weights": {"phase": "string", "intervention": "string", "points": "float64"},
    "insyn_workload_norms": {"level": "string", "label": "string", "from_years": "float64",
                             "below_years": "float64", "norm_per_fte": "float64",
                             "for_missing": "boolean"},
    "insyn_caseworker_roles": {"role": "string"},
}


def period_types(definitions: Iterable[Definition], quarters: bool) -> tuple[str, ...]:
    """The period types the definitions are computed for; years only without quarters."""
    wanted = {t for d in definitions for t in d.periods}
    return tuple(t for t in PERIOD_TYPES if t in wanted and (quarters or t == "year"))


def _placements(definition: Definition) -> set[str]:
    groups = _subject_groups(definition).values()
    return {subject_kind(subjects.kind).placement(subjects.spec) for subjects, _ in groups}


def _types_of(definition: Definition, quarters: bool) -> list[str]:
    return [t for t in definition.periods if quarters or t == "year"]


def _periods_for(definition: Definition, periods: ir.Table, quarters: bool) -> ir.Table:
    """The periods a definition is computed for: its period types, where the municipality
    has the data it counts, where the data reach the reference date (for subjects counted
    on it), where the export covers the whole period (for subjects counted at its end) and
    (requires_followup_months) far enough past the period's end."""
    periods = periods.filter(periods.period_type.isin(_types_of(definition, quarters)))
    fixed_days = {day for s, _ in _subject_groups(definition).values()
                  if (day := getattr(s.spec, "reference_day", None))}
    if fixed_days:  # an official measure fixed to a day of the year, not the workforce reference date
        month, day = (int(part) for part in fixed_days.pop().split("-"))
        periods = periods.mutate(reference_date=ibis.date(periods.period_start.year(), month, day))
    needs = definition.data()
    if "events" in needs:
        periods = periods.filter(periods.has_events)
    if "staff" in needs:
        periods = periods.filter(periods.has_staff)
    if "costs" in needs:
        periods = periods.filter(periods.has_costs)
    if "prices" in needs:
        periods = periods.filter(periods.has_prices)
    placements = _placements(definition)
    if "reference_date" in placements:  # a stock on a day the data do not reach is unknown
        periods = periods.filter(periods.reference_date <= periods.data_end)
    if "period_end" in placements:
        periods = periods.filter(periods.complete)
    months = definition.requires_followup_months
    if months:
        periods = periods.filter(add_months(periods.period_end, months) <= periods.data_end)
    return periods


BREAKDOWN_COLUMNS = {"sex": ["sex"], "age_group": ["birth_year", "birth_month"], "unit": ["unit"]}


def _subject_groups(definition: Definition) -> dict[str, tuple[Subjects, list[tuple[str, Count]]]]:
    """The definition's counts grouped by the subjects they count (usually one group). A
    statistic belongs to the definition's own subjects."""
    groups: dict[str, tuple[Subjects, list[tuple[str, Count]]]] = {}
    if definition.statistic is not None:
        groups[definition.subjects.key()] = (definition.subjects, [])
    for name, count in (("numerator", definition.numerator), ("denominator", definition.denominator)):
        if count is None or count.population:
            continue
        subjects = definition.subjects_of(count)
        groups.setdefault(subjects.key(), (subjects, []))[1].append((name, count))
    return groups


def needed_columns(definition: Definition, breakdowns: bool) -> list[str]:
    """The event columns a definition reads: projecting to them before the window functions
    keeps DuckDB from carrying (and materialising) every column through them. Always those
    that order same-day events (TIE_COLUMNS), so that pairing is the same in every statement."""
    needed = {"municipality", "case_id", "event", "date", *TIE_COLUMNS}
    for subjects, counts in _subject_groups(definition).values():
        kind, spec = subject_kind(subjects.kind), subjects.spec
        needed |= kind.event_columns
        if isinstance(spec, SpellsSubject):
            needed |= set(spec.same) | set(spec.where) | ({spec.id} if spec.id else set())
        if not kind.rows_from_events:
            continue  # the other columns of these subjects do not come from the events
        for _, count in counts:
            if count.count_distinct == "person":
                needed.add("person_key")
            if count.where:
                needed |= count.where.columns()
                needed |= {p.with_event.lasting for p in count.where.parts() if p.with_event and p.with_event.lasting}
        if definition.category:
            needed.add(definition.category)
        for breakdown in definition.breakdowns if breakdowns else []:
            needed |= set(BREAKDOWN_COLUMNS[breakdown])
    return [c for c in ["municipality", "case_id", "event", "date", *EVENT_TYPES] if c in needed]


def build_subjects(subjects: Subjects, sources: Sources) -> ir.Table:
    """The subjects, built once per Sources: definitions with the same subjects share them.
    With the record key of the case or employee each belongs to (`<identifier>_key`), computed
    here once rather than in every definition and grouping level that counts them."""
    def build() -> ir.Table:
        built = subject_kind(subjects.kind).build(subjects.spec, sources)
        record = _subject_record(subjects.kind)
        return built.mutate(**{f"{record}_key": _record_key(built[record])})

    return sources.once(subjects.key(), build)


def place(subjects: Subjects, built: ir.Table, sources: Sources, periods: ir.Table,
          types: Sequence[str] = ("year", "quarter")) -> ir.Table:
    """Built subjects placed in the periods (of `types`, for subjects placed by their date),
    with the columns that depend on the period."""
    kind = subject_kind(subjects.kind)
    placement = kind.placement(subjects.spec)
    if placement == "reference_date":
        placed = at_reference_date(built, periods)
    elif placement == "period_end":
        placed = at_period_end(built, periods)
    elif placement == "overlap":
        placed = built.join(
            periods,
            [built.municipality == periods.municipality,
             built.start_date <= periods.period_end,
             built.end_date.fill_null(OPEN_END) >= periods.period_start],
        )
        placed = placed.drop(*[c for c in placed.columns if c.endswith("_right")])
        placed = placed.mutate(reference_date=ibis.greatest(placed.start_date, placed.period_start))
    else:
        placed = _dated(built, periods, types, kind.first_per_child)
    if kind.at_period:
        placed = kind.at_period(placed, subjects.spec, sources, periods)
    return placed


def _period_of(date: ir.DateValue, period_type: str) -> ir.StringValue:
    """The label of the period of `period_type` a date falls in: 2024, 2024-Q1, 2024-03."""
    year = date.year().cast("string")
    if period_type == "year":
        return year
    if period_type == "quarter":
        return year + "-Q" + date.quarter().cast("string")
    return year + "-" + date.month().cast("string").lpad(2, "0")


def _dated(subjects: ir.Table, periods: ir.Table, types: Sequence[str], first_per_child: bool) -> ir.Table:
    dated = ibis.union(*[subjects.mutate(period=_period_of(subjects.date, t), period_type=ibis.literal(t))
                         for t in types])
    placed = dated.join(periods, KEYS)
    # Nothing after the data's end has happened (a planned end of employment, say).
    placed = placed.filter(placed.date <= placed.data_end)
    placed = placed.mutate(reference_date=placed.date)
    if first_per_child:
        first = ibis.window(group_by=[placed.municipality, placed.person_key, placed.period,
                                      placed.period_type], order_by=[placed.date, placed.case_id])
        placed = placed.filter(ibis.row_number().over(first) == 0)
    return placed


# A birth month that is unknown (a coordination number with month 00) counts as July: the
# child is taken to turn a year older at mid-year.
UNKNOWN_BIRTH_MONTH = 7


def age_on(day: ir.DateValue, birth_year: ir.IntegerValue, birth_month: ir.IntegerValue) -> ir.IntegerValue:
    """Age in whole years on `day`, from birth year and month: the day of birth is not stored,
    so a child counts a year older from the first of the birth month."""
    month = birth_month.cast("int32").fill_null(UNKNOWN_BIRTH_MONTH)
    return day.year() - birth_year.cast("int32") - (day.month() < month).cast("int32")


def _with_age_group(t: ir.Table) -> ir.Table:
    age = age_on(t.reference_date, t.birth_year, t.birth_month)
    group = ibis.cases(*[((age >= lo) & (age <= hi), code) for code, lo, hi in age_groups()],
                       else_=None)
    return t.mutate(age_group=group)


# --- conditions and measures -----------------------------------------------------------------

def _condition(t: ir.Table, condition: Condition | None,
               events: ir.Table) -> tuple[ir.Table, ir.BooleanValue | None]:
    """The condition as one boolean (every part given must hold; a comparison with a missing
    value is not a hit). Parts that look elsewhere in the events join first."""
    if condition is None:
        return t, None
    parts = []
    if condition.within_days is not None:
        parts.append(days_between(t[condition.since], t[condition.until]) <= condition.within_days)
    if condition.within_months is not None:
        parts.append(t[condition.until] <= add_months(t[condition.since], condition.within_months))
    parts += [t[column] == value for column, value in (condition.equals or {}).items()]
    parts += [t[column].isin(values) for column, values in (condition.one_of or {}).items()]
    parts += [t[column] < value for column, value in (condition.less_than or {}).items()]
    parts += [t[column] >= value for column, value in (condition.at_least or {}).items()]
    parts += [t[column] > value for column, value in (condition.greater_than or {}).items()]
    parts += [t[column].notnull() for column in condition.present or []]
    if condition.months is not None:
        parts.append(t.date.month().isin(condition.months))
    if condition.age is not None:
        band = condition.age
        age = age_on(t[band.at], t.birth_year, t.birth_month)
        inside = (age >= band.age_from) & (age <= band.age_to)
        parts.append(inside.fill_null(True) if band.unknown else inside)
    if condition.followed_by is not None:
        t, followed = _followed_by(t, condition.followed_by, events)
        parts.append(followed)
    if condition.with_event is not None:
        t, happened = _with_event(t, condition.with_event, events)
        parts.append(happened)
    if condition.person_marked is not None:
        t, marked = _person_marked(t, condition.person_marked, events)
        parts.append(marked)
    for inner in condition.none_of or []:
        t, holds = _condition(t, inner, events)
        assert holds is not None  # a given condition is never empty (the model requires a part)
        parts.append(~holds)
    if not parts:
        raise ValueError(f"empty condition: {condition}")
    return t, ibis.and_(*parts).fill_null(False)


def _column_for(kind: str, spec) -> str:
    """A column name for what a condition part joins in, unique to the part."""
    digest = hashlib.sha256(f"{kind}|{spec.model_dump_json() if hasattr(spec, 'model_dump_json') else spec}"
                            .encode()).hexdigest()[:10]
    return f"{kind}_{digest}"


def _followed_by(t: ir.Table, spec, events: ir.Table) -> tuple[ir.Table, ir.BooleanValue]:
    """Whether the same child (or case) has a `spec.event` in the municipality after the
    subject's date (or on it, `from_same_day`) and no later than the window after it. The answer
    depends only on (municipality, person or case, date), which are never null, so the join
    needs no row ids. (A running minimum over a union, as first_on_or_after does, measured
    slower here: 7.9 s against 4.8 s for the protection assessments of four national years.)"""
    who = DISTINCT_COLUMNS[spec.same]
    key = ["municipality", who, "date"]
    name = _column_for("next", spec)
    dated = t.select(*key).distinct()
    later = events.filter(events.event == spec.event).select("municipality", who, later_date="date")
    after = later.later_date >= dated.date if spec.from_same_day else later.later_date > dated.date
    matched = dated.join(later, [dated.municipality == later.municipality, dated[who] == later[who], after])
    first_later = matched.group_by(key).aggregate(**{name: matched.later_date.min()})
    t = t.left_join(first_later, key).drop(*[f"{k}_right" for k in key])
    if spec.within_months is not None:
        limit = add_months(t.date, spec.within_months)
    else:
        limit = t.date + ibis.interval(days=spec.within_days)
    return t, t[name].notnull() & (t[name] <= limit)


def _with_event(t: ir.Table, spec, events: ir.Table) -> tuple[ir.Table, ir.BooleanValue]:
    """Whether the subject's case has a `spec.event` from its start date (with
    `spec.within_months`, from that many months before its reference date) to its reference date
    (with `spec.lasting`, one whose date in that column is on or after the reference date)."""
    key = ["municipality", "case_id", "start_date", "reference_date"]
    name = _column_for("with", spec)
    spans = t.select(*key).distinct()
    found = events.filter(events.event.isin(event_names(spec.event)))
    found = found.select("municipality", "case_id", found_date="date",
                         lasting=found[spec.lasting] if spec.lasting else ibis.null().cast("date"))
    since = (spans.start_date if spec.within_months is None
             else add_months(spans.reference_date, -spec.within_months))
    conditions = [spans.municipality == found.municipality, spans.case_id == found.case_id,
                  found.found_date >= since, found.found_date <= spans.reference_date]
    if spec.lasting:
        conditions.append(found.lasting >= spans.reference_date)
    matched = spans.join(found, conditions)
    hits = matched.select(*key).distinct().mutate(**{name: ibis.literal(True)})
    t = t.left_join(hits, key).drop(*[f"{k}_right" for k in key])
    return t, t[name].fill_null(False)


def _person_marked(t: ir.Table, column: str, events: ir.Table) -> tuple[ir.Table, ir.BooleanValue]:
    """Whether an event of the subject's child in the municipality has `column` = ja."""
    key = ["municipality", "person_key"]
    name = _column_for("marked", column)
    marked = events.filter(events[column] == "ja").select(*key).distinct().mutate(**{name: ibis.literal(True)})
    t = t.left_join(marked, key).drop(*[f"{k}_right" for k in key])
    return t, t[name].fill_null(False)


DISTINCT_COLUMNS = {"person": "person_key", "case": "case_id", "staff": "staff_id"}


def _measure(t: ir.Table, count: Count, hit: ir.BooleanValue | None) -> ir.NumericValue:
    if count.count_distinct:
        return t[DISTINCT_COLUMNS[count.count_distinct]].nunique(where=hit)
    if count.sum:
        return t[count.sum].sum(where=hit)
    return t.count(where=hit)


MEASURE_DECIMALS = 9  # numerators, denominators and values, far below any decimal shown
RECORD_KEY_BITS = 32  # record keys are the top 32 bits of an MD5: eight hex digits


@ibis.udf.scalar.builtin
def md5(value: str) -> str:  # type: ignore[empty-body]  # a builtin: the backend has the body
    """The MD5 digest as 32 hex digits: md5() of DuckDB, PostgreSQL and Spark SQL alike."""


HEX_DIGITS = ibis.literal("0123456789abcdef")


def _subject_record(kind: str) -> str:
    """What a subject belongs to: its case (case data) or its employee (staff data)."""
    return subject_kind(kind).record


def _record_column(count: Count, kind: str) -> str:
    """What identifies a counted record: the distinct thing counted, else the subject's own."""
    return DISTINCT_COLUMNS[count.count_distinct] if count.count_distinct else _subject_record(kind)


def _record_key(identifier: ir.StringValue) -> ir.IntegerValue:
    """A record's key, an integer below 2**RECORD_KEY_BITS: the top 32 bits of the MD5 of its
    identifier read as a little-endian 128-bit number (DuckDB's md5_number), which unlike a
    backend's hash() is the same in every version and on every backend. Written with md5(),
    substrings and a digit lookup, which all three backends have (PostgreSQL and Spark have no
    md5_number), so the cell keys are equal everywhere."""
    digest = md5(identifier)
    # The most significant byte of a little-endian number is the last. Summed as doubles (exact
    # below 2**53) and cast once: a backend would compute integer literals in 32 bits.
    digits = [digest.substr(2 * byte + nibble, 1) for byte in (15, 14, 13, 12) for nibble in (0, 1)]
    key = sum(HEX_DIGITS.find(d).cast("float64") * 16.0 ** (7 - i) for i, d in enumerate(digits))
    return key.cast("int64")


def _cell_key(keys: ir.IntegerColumn, hit: ir.BooleanValue | None) -> ir.FloatingValue:
    """The fractional part of the sum of the counted rows' record keys, summed as integers so
    that it does not depend on the order of the rows. A distinct count adds its record's key
    once per row counted (adding it once per record would cost a fifth of the library's time)."""
    return (keys.sum(where=hit) % 2**RECORD_KEY_BITS).cast("float64") / 2**RECORD_KEY_BITS


# --- compile ---------------------------------------------------------------------------------

def _levels(definition: Definition, breakdowns: bool) -> list[list[str]]:
    """The grouping levels: the total, then each breakdown on its own."""
    return [[]] + ([[b] for b in definition.breakdowns] if breakdowns else [])


def _prepared(definition: Definition, subjects: Subjects, counts: list[tuple[str, Count]],
              built: ir.Table, sources: Sources, periods: ir.Table, quarters: bool,
              breakdowns: bool) -> ir.Table:
    """Placed subjects with what the aggregation reads: age group, category, each count's
    condition as `hit_<count>` and its records' keys as `key_<count>` (once per row, not per
    grouping level), and the statistic's column."""
    placed = place(subjects, built, sources, periods, _types_of(definition, quarters))
    if breakdowns and "age_group" in definition.breakdowns:
        placed = _with_age_group(placed)
    placed = placed.mutate(category=placed[definition.category] if definition.category
                           else ibis.null().cast("string"))
    for name, count in counts:
        placed, hit = _condition(placed, count.where, sources.events)
        if hit is not None:
            placed = placed.mutate(**{f"hit_{name}": hit})
        if not count.sum:
            record = _record_column(count, subjects.kind)
            # Placing case work and caseworkers' loads re-projects them, without the keys.
            key = placed[f"{record}_key"] if f"{record}_key" in placed.columns else _record_key(placed[record])
            placed = placed.mutate(**{f"key_{name}": key})
    if definition.statistic is not None and definition.statistic.median == "duration_days":
        placed = placed.mutate(duration_days=days_between(placed.start_date, placed.date))
    return placed


def compile_definition(definition: Definition, sources: Sources, populations: ir.Table,
                       breakdowns: bool = True, quarters: bool = True) -> ir.Table:
    """One Ibis expression giving the result rows of one indicator. `sources.events` must hold
    the definition's needed_columns."""
    periods = _periods_for(definition, sources.periods, quarters)
    groups = []
    for number, (subjects, counts) in enumerate(_subject_groups(definition).values()):
        built = build_subjects(subjects, sources)
        prepared = _prepared(definition, subjects, counts, built, sources, periods, quarters, breakdowns)
        # Named, so that it is one CTE that every level aggregates: unnamed, Ibis merges it into
        # each level's query and the database computes the conditions once per level. By a hash
        # of the id: PostgreSQL cuts a name at 63 bytes.
        name = hashlib.sha256(definition.id.encode()).hexdigest()[:16]
        groups.append((counts, prepared.alias(f"prepared_{name}_{number}")))
    parts = []
    for level in _levels(definition, breakdowns):
        keys = KEYS + level
        aggregated = [_aggregate(definition, rows.filter(*[rows[k].notnull() for k in level]) if level else rows,
                                 counts, keys) for counts, rows in groups]
        combined = _combine(aggregated, keys + (["category"] if definition.category else []))
        if not level and not definition.category:
            combined = _every_period(combined, periods, definition)
        parts.append(_uniform(combined))
    result = ibis.union(*parts)
    for name, count in (("numerator", definition.numerator), ("denominator", definition.denominator)):
        if count is not None and count.population:
            result = _attach_population(result, populations, count.population, name)
    factor = definition.factor
    if definition.statistic is not None:
        value = result.statistic_value
    elif definition.denominator is None:
        value = result.numerator.cast("float64") * factor
    else:
        value = ibis.cases((result.denominator > 0,
                            result.numerator.cast("float64") * factor / result.denominator),
                           else_=None)
    # Sums of fractions (FTE, person-years) come out of each backend's floating-point sum in its
    # own order, different in the last bits; rounded, they are the same number on every backend
    # and never round differently when shown.
    result = result.mutate(indicator=ibis.literal(definition.id),
                           value=rounded(value, MEASURE_DECIMALS),
                           numerator=rounded(result.numerator, MEASURE_DECIMALS),
                           denominator=rounded(result.denominator, MEASURE_DECIMALS))
    if _placements(definition) <= {"reference_date", "period_end"}:
        # A stock is known once the data reach its day (_periods_for keeps only those).
        result = result.join(periods.select(*KEYS, complete=ibis.literal(True)), KEYS)
    else:
        result = result.join(periods.select(*KEYS, "complete"), KEYS)
    return result.select("indicator", *KEYS, *DIMENSIONS, "numerator", "denominator", "value", "complete",
                         *CONTRIBUTION_COLUMNS, *CELL_KEY_COLUMNS)


def _counted(definition: Definition) -> list[str]:
    """The measures that are counts (0 when nothing was counted), not populations or medians."""
    return [name for name, count in (("numerator", definition.numerator), ("denominator", definition.denominator))
            if count is not None and not count.population]


def _every_period(totals: ir.Table, periods: ir.Table, definition: Definition) -> ir.Table:
    """A total row for every period the data cover, so that none counted shows as 0 (with the
    cell key of no records, 0)."""
    joined = periods.select(*KEYS).left_join(totals, KEYS)
    zero = ibis.literal(0).cast("float64")
    filled = {column: joined[column].cast("float64").fill_null(zero) for name in _counted(definition)
              for column in (name, f"{name}_cellkey") if column in joined.columns}
    return joined.mutate(**filled).drop(*[f"{k}_right" for k in KEYS])


def _combine(tables: list[ir.Table], keys: list[str]) -> ir.Table:
    """Numerator and denominator aggregated over different subjects, side by side: a group
    one side lacks counts 0 there."""
    combined = tables[0]
    for right in tables[1:]:
        joined = combined.outer_join(right, [combined[k] == right[k] for k in keys])
        columns = {k: ibis.coalesce(joined[k], joined[f"{k}_right"]) for k in keys}
        for measure in MEASURES:
            if measure in joined.columns:
                columns[measure] = joined[measure].cast("float64").fill_null(0)
        combined = joined.select(**columns)
    return combined


def _uniform(part: ir.Table) -> ir.Table:
    """Every level in the same shape (absent dimensions null), so the levels can be unioned."""
    columns = {d: (part[d] if d in part.columns else ibis.null()).cast("string") for d in DIMENSIONS}
    for measure in MEASURES:
        columns[measure] = (part[measure] if measure in part.columns else ibis.null()).cast("float64")
    return part.select(*KEYS, **columns)


def _ranked_sums(definition: Definition, rows: ir.Table, counts: list[tuple[str, Count]],
                 keys: list[str]) -> ir.Table:
    """Each summed record's rank within the cell it is added to (`rank_<count>`: 0 the largest),
    for the second largest: a category's numerator is a cell of its own, its denominator one of
    every category when shares are of all."""
    for name, count in counts:
        if not count.sum:
            continue
        summed = rows[count.sum]
        hit = rows[f"hit_{name}"] if f"hit_{name}" in rows.columns else None
        contributing = summed.notnull() if hit is None else summed.notnull() & hit
        own_cell = definition.category and (definition.category_shares == "within_category" or name == "numerator")
        cell = ibis.window(group_by=[rows[k] for k in keys + (["category"] if own_cell else [])],
                           order_by=[ibis.desc(contributing.cast("int32")), ibis.desc(summed)])
        rows = rows.mutate(**{f"rank_{name}": ibis.row_number().over(cell)})
    return rows


def _aggregate(definition: Definition, rows: ir.Table, counts: list[tuple[str, Count]],
               keys: list[str]) -> ir.Table:
    rows = _ranked_sums(definition, rows, counts, keys)
    measures = _measures(definition, rows, counts)
    # A sum, and the cell key of a count, of no records is 0.
    empty = [name if count.sum else f"{name}_cellkey" for name, count in counts]
    if definition.category is None or definition.category_shares == "within_category":
        by = keys + (["category"] if definition.category else [])
        aggregated = rows.group_by(by).aggregate(**measures)
        return aggregated.mutate(**{column: aggregated[column].fill_null(0) for column in empty})
    # A category's share is of all subjects in the group, whatever their category. A subject in
    # several categories (a SIP meeting's organisations, "bup;skola") counts in each of them.
    if definition.overlapping_categories:
        each = rows.mutate(category=rows.category.split(";").unnest())
        # As the import stores them ("bup;skola"). An empty value, which backends split
        # differently, is no category. (Not strip(): Ibis's on Spark trims the letter f too.)
        each = each.filter(each.category != "")
        counted_measures = _measures(definition, each, counts)
    else:
        each, counted_measures = rows, measures
    sides = {name: {m: e for m, e in measures.items() if m.startswith(name)} for name, _ in counts}
    counted = each.group_by(keys + ["category"]).aggregate(
        **{m: e for m, e in counted_measures.items() if m.startswith("numerator")})
    totals = rows.group_by(keys).aggregate(**sides["denominator"])
    # The keys are never null here (_prepared's rows have them; a breakdown's nulls are filtered
    # out before): a plain equality join, which PostgreSQL can hash (IS NOT DISTINCT FROM made it
    # a nested loop, some 40 s of a national year).
    joined = counted.join(totals, keys)
    joined = joined.select(*keys, "category", *sides["numerator"], *sides["denominator"])
    return joined.mutate(**{column: joined[column].fill_null(0) for column in empty})


def _measures(definition: Definition, rows: ir.Table, counts: list[tuple[str, Count]]) -> dict[str, ir.Value]:
    """What each count adds up over `rows` (with `_ranked_sums`' ranks), its contributions and
    cell key, and the statistic."""
    measures = {}
    for name, count in counts:
        hit = rows[f"hit_{name}"] if f"hit_{name}" in rows.columns else None
        measures[name] = _measure(rows, count, hit)
        if count.sum:
            summed = rows[count.sum]
            contributing = summed.notnull() if hit is None else summed.notnull() & hit
            measures[f"{name}_contributors"] = rows.count(where=contributing)
            measures[f"{name}_largest"] = summed.max(where=contributing)
            measures[f"{name}_second"] = summed.max(where=contributing & (rows[f"rank_{name}"] == 1))
        else:
            measures[f"{name}_cellkey"] = _cell_key(rows[f"key_{name}"], hit)
    if definition.statistic is not None:
        # Over the subjects the denominator counts (its condition, if any).
        # Nulled outside it rather than median(where=…), which Spark cannot compile.
        values = rows[definition.statistic.median]
        if "hit_denominator" in rows.columns:
            values = ibis.cases((rows["hit_denominator"], values), else_=None)
        measures["statistic_value"] = values.median().cast("float64")
    return measures


def population_bands(store_populations: ir.Table, reference: ir.Table) -> ir.Table:
    """Imported and shipped populations together; `shipped` tells them apart, because the
    imported figures win wherever they cover the age range asked for."""
    imported = store_populations.select(*POPULATION_SCHEMA).cast(POPULATION_SCHEMA)
    shipped = reference.select(*POPULATION_SCHEMA).cast(POPULATION_SCHEMA)
    return imported.mutate(shipped=ibis.literal(0)).union(shipped.mutate(shipped=ibis.literal(1)))


def _attach_population(result: ir.Table, bands: ir.Table, ages: dict, measure: str) -> ir.Table:
    """Population of the age range in the period's year, or the nearest year that has it;
    imported figures before shipped ones for the same year. A year counts only where its
    bands cover the whole range. With no population at all the row stays, without a value."""
    lo, hi = ages["age_from"], ages["age_to"]
    inside = bands.filter((bands.age_from >= lo) & (bands.age_to <= hi))
    totals = inside.group_by(["municipality", "year", "shipped"]).aggregate(
        population=inside.population.sum(), covered=(inside.age_to - inside.age_from + 1).sum())
    totals = totals.filter(totals.covered == hi - lo + 1)
    keys = result.select(*KEYS).distinct()
    keys = keys.mutate(period_year=keys.period.substr(0, 4).cast("int32"))
    candidates = keys.join(totals, "municipality")
    nearest = ibis.window(group_by=[candidates[k] for k in KEYS],
                          order_by=[(candidates.year - candidates.period_year).abs(),
                                    candidates.shipped, candidates.year.desc()])
    chosen = candidates.filter(ibis.row_number().over(nearest) == 0).select(*KEYS, "population")
    joined = result.left_join(chosen, KEYS)
    return joined.mutate(**{measure: joined.population.cast("float64")}).drop(
        "population", *[f"{k}_right" for k in KEYS])


def compile_library(definitions: Iterable[Definition], sources: Sources, populations: ir.Table,
                    breakdowns: bool = True, quarters: bool = True) -> ir.Table:
    """All definitions as one expression. Definitions with the same subjects share one
    subject expression (one CTE in the SQL), as a hand-written query would."""
    definitions = list(definitions)
    needed = {c for d in definitions for c in needed_columns(d, breakdowns)}
    order = ["municipality", "case_id", "event", "date", *EVENT_TYPES]
    events = sources.events.select(*[c for c in dict.fromkeys(order) if c in needed])
    sources = dataclasses.replace(sources, events=events, shared={})
    return ibis.union(*[compile_definition(d, sources, populations, breakdowns, quarters)
                        for d in definitions])


def store_sources(store) -> Sources:
    """The store's tables and the bound relations, as Sources (the bound ones must be
    registered, as compute() does)."""
    return Sources(events=store.table("events"), staff=store.table("staff"),
                   trainings=store.table("trainings"), courses=store.table("courses"),
                   mentorships=store.table("mentorships"), periods=store.table("insyn_periods"),
                   programme_targets=store.table("insyn_programme_targets"),
                   workload_weights=store.table("insyn_workload_weights"),
                   workload_norms=store.table("insyn_workload_norms"),
                   caseworker_roles=store.table("insyn_caseworker_roles"),
                   care_prices=store.table("care_prices"), care_costs=store.table("care_costs"),
                   grants=store.table("grants"))


def _compiled_sources() -> str:
    """A hash of the code the compiled SQL comes from: the modules beside the engine and beside
    every registered kind's builder (they call helpers there: deadline arithmetic, subjects) and
    insyn.model (code lists, age groups)."""
    return _hash_of_packages(tuple(source_files()))


@functools.cache
def _hash_of_packages(kind_files: tuple[str, ...]) -> str:
    folders = {Path(__file__).parent, Path(model.__file__).parent,
               *(Path(f).parent for f in kind_files)}
    digest = hashlib.sha256()
    for module_file in sorted(p for folder in folders for p in folder.glob("*.py")):
        digest.update(module_file.read_bytes())
    return digest.hexdigest()


def _cache_key(parts: list, backend) -> str:
    """What compiled SQL depends on: the given parts, the backend, the Ibis version and the
    source of the modules that build it."""
    payload = json.dumps([parts, backend.name, ibis.__version__, _compiled_sources()], sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


_compiled: dict[str, str] = {}


def cached_sql(store, name: str, parts: list, build: Callable[[], ir.Table],
               cache_dir: Path | None = None) -> str:
    """SQL of the expression `build()` gives, for the store's backend. Compiling through Ibis
    costs about a second whatever the data size, so the SQL is kept per process and, given a
    folder, on disk as `<name>-<key>.sql`; the key covers `parts` (what the expression is
    built from), the Ibis version and Insyn's source (`_compiled_sources`)."""
    key = f"{name}-{_cache_key(parts, store.ibis)}"
    if key in _compiled:
        return _compiled[key]
    cached = cache_dir / f"{key}.sql" if cache_dir else None
    sql = _read_sql(cached) if cached else None
    if sql is None:
        sql = str(store.ibis.compile(build()))
        if cached:
            write_atomically(cached, sql + SQL_END)
    _compiled[key] = sql
    return sql


# The last line of a cached SQL file: a file without it was cut short, and is made again.
SQL_END = "\n-- insyn: end of the compiled query\n"


def _read_sql(path: Path) -> str | None:
    """The cached SQL, or None when there is none or it is damaged (cut short, not text)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return text[:-len(SQL_END)] if text.endswith(SQL_END) and text[:-len(SQL_END)].strip() else None


def compiled_sql(store, definitions: list[Definition], breakdowns: bool, quarters: bool,
                 cache_dir: Path | None = None) -> str:
    """The library as SQL for the store's backend (cached_sql)."""
    def build() -> ir.Table:
        populations = population_bands(store.table("populations"), store.table("insyn_reference_populations"))
        return compile_library(definitions, store_sources(store), populations, breakdowns, quarters)

    parts = [[d.model_dump(mode="json") for d in definitions], breakdowns, quarters]
    return cached_sql(store, "indicators", parts, build, cache_dir)


@contextlib.contextmanager
def bound_relations(store, periods: pd.DataFrame, workforce: WorkforceConfig, workload: WorkloadConfig):
    """Register the periods, shipped populations and workforce data files under their
    BOUND_SCHEMAS names for the duration of a query."""
    frames = {
        "insyn_periods": periods,
        "insyn_reference_populations": reference_populations(),
        "insyn_programme_targets": pd.DataFrame(workforce.target_rows()),
        "insyn_workload_weights": pd.DataFrame(workload.weight_rows()),
        "insyn_workload_norms": pd.DataFrame(workload.norm_rows()),
        "insyn_caseworker_roles": pd.DataFrame({"role": workforce.caseworker_roles}),
    }
    for name, frame in frames.items():
        schema = ibis.schema(BOUND_SCHEMAS[name]).to_pyarrow()
        # Through Arrow, so that a missing value is a null on every backend (never a NaN).
        store.register(name, pa.Table.from_pandas(frame.reindex(columns=schema.names), schema=schema,
                                                  preserve_index=False))
    try:
        yield
    finally:
        for name in frames:
            store.unregister(name)


def compute(store, definitions: Iterable[Definition] | None = None, quarters: bool = True,
            breakdowns: bool = True, cache_dir: Path | None = None,
            workforce: WorkforceConfig | None = None, workload: WorkloadConfig | None = None,
            extract_dates: dict[tuple[str, str], dt.date] | None = None) -> pd.DataFrame:
    """All result rows of the given definitions (default: the whole library) in one query (one
    per area where the backend asks for it: `_statements`);
    without quarters and breakdowns only the yearly totals per municipality. The workforce
    and workload files default to the shipped ones; the extract dates (municipality, table) ->
    day to the ones the store recorded."""
    definitions = list(definitions or library())
    if not definitions:
        return pd.DataFrame(columns=RESULT_COLUMNS)
    with _library_statements(store, definitions, quarters, breakdowns, cache_dir, workforce, workload,
                             extract_dates) as statements:
        # A backend that can run statements side by side does (PostgreSQL: query_each).
        query_each = getattr(store, "query_each", None)
        frames = query_each(statements) if query_each else [store.query(sql) for sql in statements]
    frames = [frame[RESULT_COLUMNS] for frame in frames]
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


@contextlib.contextmanager
def _library_statements(store, definitions: list[Definition], quarters: bool, breakdowns: bool,
                        cache_dir: Path | None, workforce: WorkforceConfig | None, workload: WorkloadConfig | None,
                        extract_dates: dict[tuple[str, str], dt.date] | None) -> Iterator[list[str]]:
    """The SQL statements of the definitions (`compute`), with the relations they read bound."""
    workforce = workforce or load_workforce()
    workload = workload or load_workload()
    periods = build_periods(store.ibis, store.table("events"), store.table("staff"), workforce,
                            period_types(definitions, quarters),
                            extract_dates=store.extract_dates() if extract_dates is None else extract_dates,
                            care_costs=store.table("care_costs"), care_prices=store.table("care_prices"))
    with bound_relations(store, periods, workforce, workload):
        yield [compiled_sql(store, part, breakdowns, quarters, cache_dir) for part in _statements(store, definitions)]


def _statements(store, definitions: list[Definition]) -> list[list[Definition]]:
    """The definitions in one statement, or one per area where the backend asks for it
    (`statement_per_area`, every built-in one): Spark inlines every shared subject into each
    place that reads it, and plans the whole library 2.5 times as slowly as its four areas apart;
    PostgreSQL runs the areas side by side, a core each; DuckDB holds fewer shared subjects at
    once, in less memory and time at national scale (docs/backends.md)."""
    if not getattr(store, "statement_per_area", False):
        return [definitions]
    areas = dict.fromkeys(d.area for d in definitions)
    return [[d for d in definitions if d.area == area] for area in areas]


def replace_results(store, cache_dir: Path | None = None, workforce: WorkforceConfig | None = None,
                    workload: WorkloadConfig | None = None) -> int:
    """Recompute every indicator into the local store's results table, in the caller's
    transaction; the number of rows. The rows go from the query to the table in the database:
    at national scale, millions of them never pass through Python."""
    with _library_statements(store, list(library()), True, True, cache_dir, workforce, workload, None) as statements:
        store.raw.execute("DELETE FROM indicator_results")
        # A missing figure is NULL, as the DataFrame's way through Arrow made a NaN too.
        columns = ", ".join(f"CASE WHEN isnan({c}) THEN NULL ELSE {c} END AS {c}" if c in FIGURE_COLUMNS else c
                            for c in RESULT_COLUMNS)
        # By name: a store made before a column was added has it last (schema.ADDED_COLUMNS).
        return sum(store.raw.execute(f"INSERT INTO indicator_results BY NAME SELECT {columns} "
                                     f"FROM ({sql}) AS library").fetchall()[0][0] for sql in statements)


def write_results(store, results: pd.DataFrame) -> None:
    """Replace the stored results (in the caller's transaction)."""
    store.raw.execute("DELETE FROM indicator_results")
    # By name: a store made before a column was added has it last (schema.ADDED_COLUMNS).
    store.raw.register("insyn_new_results", pa.Table.from_pandas(results[RESULT_COLUMNS], preserve_index=False))
    try:
        store.raw.execute("INSERT INTO indicator_results BY NAME SELECT * FROM insyn_new_results")
    finally:
        store.raw.unregister("insyn_new_results")


def stored_results(store) -> pd.DataFrame:
    return store.raw.execute("SELECT * FROM indicator_results").df()
