"""Compile indicator definitions into Ibis expressions and precompute them into a table.

Every definition goes through the same steps: build its *subjects* (the things counted:
events, pairs of events, spells, closings), place them in periods, evaluate its condition,
aggregate at each grouping level (total, sex, age group, unit), attach the denominator and
compute the value. Nothing in this module is about one indicator in particular.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable
from pathlib import Path

import duckdb
import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from insyn.indicators.deadlines import add_months, days_between
from insyn.indicators.definitions import Condition, Count, Definition, SpellsSubject, library
from insyn.model.codes import age_groups
from insyn.model.municipalities import reference_populations

RESULT_COLUMNS = ["indicator", "municipality", "period", "period_type", "unit", "sex",
                  "age_group", "category", "numerator", "denominator", "value", "complete"]
DIMENSIONS = ["unit", "sex", "age_group", "category"]
SUBJECT_COLUMNS = ["municipality", "case_id", "person_key", "birth_year", "birth_month", "sex",
                   "unit", "source", "outcome", "intervention", "date", "start_date", "end_date"]
OPEN_END = dt.date(9999, 12, 31)
KEYS = ["municipality", "period", "period_type"]


# --- periods ---------------------------------------------------------------------------------

PERIODS_SCHEMA = {"municipality": "string", "period": "string", "period_type": "string",
                  "period_start": "date", "period_end": "date", "data_end": "date",
                  "complete": "boolean"}
# A period counts as complete when the municipality's last event is at most this close to
# its end: the export date is not in the data, and a small municipality can have a quiet
# last week. An export taken mid-period leaves it incomplete; publications show complete
# periods only.
COMPLETE_WITHIN = dt.timedelta(days=7)
POPULATION_SCHEMA = {"municipality": "string", "year": "int32", "age_from": "int32",
                     "age_to": "int32", "population": "int64"}
# Names under which compute() binds the periods and the shipped populations in the backend,
# so that the compiled SQL does not depend on the data and can be cached.
PERIODS_RELATION = "insyn_periods"
REFERENCE_RELATION = "insyn_reference_populations"


def build_periods(backend, events: ir.Table, quarters: bool = True) -> pd.DataFrame:
    """Years (and quarters) each municipality's data covers: from its first report to its
    last event. `data_end` is the last event date, for indicators that need follow-up time;
    `complete` says whether the data reach the period's end (COMPLETE_WITHIN)."""
    coverage = events.group_by("municipality").aggregate(
        first=events.date.min(where=events.event == "report"), last=events.date.max())
    rows = []

    def add(municipality, period, period_type, start, end, last):
        rows.append((municipality, period, period_type, start, end, last, end - last <= COMPLETE_WITHIN))

    for row in backend.to_pyarrow(coverage).to_pylist():
        if row["first"] is None:
            continue
        municipality, last = row["municipality"], row["last"]
        for year in range(row["first"].year, last.year + 1):
            add(municipality, str(year), "year", dt.date(year, 1, 1), dt.date(year, 12, 31), last)
            for q in range(4) if quarters else ():
                start = dt.date(year, 3 * q + 1, 1)
                end = (dt.date(year + 1, 1, 1) if q == 3 else dt.date(year, 3 * q + 4, 1)) - dt.timedelta(days=1)
                add(municipality, f"{year}-Q{q + 1}", "quarter", start, end, last)
    return pd.DataFrame(rows, columns=list(PERIODS_SCHEMA))


# --- subjects --------------------------------------------------------------------------------

def _null_date():
    return ibis.null().cast("date")


def _as_subjects(t: ir.Table, **columns) -> ir.Table:
    """Project to the common subject shape; columns the definition does not need are null."""
    defaults = {"start_date": _null_date(), "end_date": t.date}
    exprs = {}
    for name in SUBJECT_COLUMNS:
        if name in columns:
            exprs[name] = columns[name]
        elif name in defaults:
            exprs[name] = defaults[name]
        elif name in t.columns:
            exprs[name] = t[name]
        else:
            exprs[name] = ibis.null().cast(EVENT_TYPES[name])
    return t.select(**exprs)


EVENT_TYPES = {"municipality": "string", "case_id": "string", "person_key": "string",
               "birth_year": "int16", "birth_month": "int8", "sex": "string", "unit": "string",
               "source": "string", "outcome": "string", "intervention": "string"}
BREAKDOWN_COLUMNS = {"sex": ["sex"], "age_group": ["birth_year", "birth_month"], "unit": ["unit"]}


def needed_columns(definition: Definition, breakdowns: bool) -> list[str]:
    """The event columns a definition reads: projecting to them before the window functions
    keeps DuckDB from carrying (and materialising) every column through them."""
    needed = {"municipality", "case_id", "event", "date"}
    spec = definition.subjects.spec
    kind = definition.subjects.kind
    if kind == "spells":
        needed |= set(spec.same) | set(spec.where)
    if kind == "closings":
        needed |= {"person_key", "outcome", "intervention"}
    for count in (definition.numerator, definition.denominator):
        if count is None:
            continue
        if count.count_distinct:
            needed.add("person_key")
        if count.where and count.where.equals:
            needed |= set(count.where.equals)
        if count.where and count.where.followed_by:
            needed.add("person_key")
    if definition.category:
        needed.add(definition.category)
    for breakdown in definition.breakdowns if breakdowns else []:
        needed |= set(BREAKDOWN_COLUMNS[breakdown])
    return [c for c in ["municipality", "case_id", "event", "date", *EVENT_TYPES] if c in needed]


def _events_subjects(spec, events: ir.Table) -> ir.Table:
    return _as_subjects(events.filter(events.event == spec.event))


def _pairs_subjects(spec, events: ir.Table) -> ir.Table:
    """Each `event` row with the latest `after` date of its case on or before it."""
    rows = events.filter(events.event.isin([spec.event, spec.after]))
    is_target = (rows.event == spec.event).cast("int8")  # same day: the earlier event first
    window = ibis.window(group_by=[rows.municipality, rows.case_id],
                         order_by=[rows.date, is_target], rows=(None, 0))
    latest_after = ibis.cases((rows.event == spec.after, rows.date), else_=None).max().over(window)
    paired = rows.mutate(start_date=latest_after)
    paired = paired.filter((paired.event == spec.event) & paired.start_date.notnull())
    return _as_subjects(paired, start_date=paired.start_date)


def _spells(spec, events: ir.Table) -> ir.Table:
    """From each start event to the next end event of the case with the same `same` values.

    An end on the day of a start closes that start (a one-day placement) unless an earlier
    spell is still open that day: then it closes the earlier one (a renewal), and the new
    start runs to the next end after that day. Computed on one row per case and day, with
    windows over earlier and later days, so it compiles the same way on every backend.
    """
    rows = events.filter(events.event.isin([spec.start, spec.end]))
    for column, values in spec.where.items():
        rows = rows.filter(rows[column].isin(values))
    group = ["municipality", "case_id", *spec.same]
    days = rows.group_by([*group, "date"]).aggregate(
        starts=rows.count(where=rows.event == spec.start),
        ends=rows.count(where=rows.event == spec.end))
    earlier = ibis.window(group_by=group, order_by="date", rows=(None, -1))
    later = ibis.window(group_by=group, order_by="date", rows=(1, None))
    days = days.mutate(
        open_before=ibis.greatest((days.starts - days.ends).sum().over(earlier).fill_null(0), 0),
        next_end=ibis.cases((days.ends > 0, days.date), else_=None).min().over(later))
    days = days.mutate(end_date=ibis.cases((days.ends > days.open_before, days.date),
                                           else_=days.next_end))
    starts = rows.filter(rows.event == spec.start)
    spells = starts.join(days.select(*group, "date", "end_date"), [*group, "date"])
    return _as_subjects(spells, start_date=spells.date, end_date=spells.end_date)


def _closings_subjects(spec, events: ir.Table) -> ir.Table:
    """Investigations ended without intervention, and intervention ends after which the
    child has no intervention still ongoing in the municipality."""
    no_intervention = events.filter((events.event == "investigation_end")
                                    & (events.outcome == "no_intervention"))
    spells = _spells(SpellsSubject(start="intervention_start", end="intervention_end",
                                   same=["intervention"]), events)
    ended = spells.filter(spells.end_date.notnull())
    other = spells.view()
    still_ongoing = ended.semi_join(
        other,
        [ended.municipality == other.municipality, ended.person_key == other.person_key,
         other.start_date <= ended.end_date,
         other.end_date.isnull() | (other.end_date > ended.end_date)],
    )
    # A spell is identified by these, none of them null in an ended spell (other subject
    # columns may be null, and null never equals null in a join).
    spell_key = ["municipality", "case_id", "intervention", "start_date", "end_date"]
    last_ends = ended.anti_join(still_ongoing, spell_key)
    last_ends = last_ends.mutate(date=last_ends.end_date)
    return _as_subjects(no_intervention).union(_as_subjects(last_ends, end_date=last_ends.date))


SUBJECT_BUILDERS: dict[str, Callable] = {
    "events": _events_subjects,
    "pairs": _pairs_subjects,
    "spells": _spells,
    "closings": _closings_subjects,
}

# Subjects that last (spells) belong to every period they overlap; the rest to their date's.
LASTING = {"spells"}
# Subjects counted once per child and period: the child's first one.
FIRST_PER_CHILD = {"closings"}


def _followed_up(periods: ir.Table, months: int | None) -> ir.Table:
    """Only periods whose data reaches `months` past their end (all periods when None)."""
    if not months:
        return periods
    return periods.filter(add_months(periods.period_end, months) <= periods.data_end)


def _in_periods(subjects: ir.Table, periods: ir.Table, kind: str, quarters: bool) -> ir.Table:
    if kind in LASTING:
        placed = subjects.join(
            periods,
            [subjects.municipality == periods.municipality,
             subjects.start_date <= periods.period_end,
             subjects.end_date.fill_null(OPEN_END) >= periods.period_start],
        )
        return placed.mutate(reference_date=ibis.greatest(placed.start_date, placed.period_start))
    year = subjects.date.year().cast("string")
    dated = subjects.mutate(period=year, period_type=ibis.literal("year"))
    if quarters:
        dated = dated.union(subjects.mutate(
            period=year + "-Q" + subjects.date.quarter().cast("string"),
            period_type=ibis.literal("quarter")))
    placed = dated.join(periods, KEYS)
    placed = placed.mutate(reference_date=placed.date)
    if kind in FIRST_PER_CHILD:
        first = ibis.window(group_by=[placed.municipality, placed.person_key, placed.period,
                                      placed.period_type], order_by=[placed.date, placed.case_id])
        placed = placed.filter(ibis.row_number().over(first) == 0)
    return placed


def _with_age_group(t: ir.Table) -> ir.Table:
    ref = t.reference_date
    age = ref.year() - t.birth_year - (ref.month() < t.birth_month).cast("int16")
    group = ibis.cases(*[((age >= lo) & (age <= hi), code) for code, lo, hi in age_groups()],
                       else_=None)
    return t.mutate(age_group=group)


# --- conditions and measures -----------------------------------------------------------------

def _condition(t: ir.Table, condition: Condition | None,
               events: ir.Table) -> tuple[ir.Table, ir.BooleanValue | None]:
    if condition is None:
        return t, None
    if condition.within_days is not None:
        return t, days_between(t.start_date, t.date) <= condition.within_days
    if condition.within_months is not None:
        return t, t.date <= add_months(t.start_date, condition.within_months)
    if condition.equals is not None:
        hits = [t[column] == value for column, value in condition.equals.items()]
        return t, ibis.and_(*hits)
    if condition.followed_by is not None:
        return _followed_by(t, condition.followed_by, events)
    raise ValueError(f"empty condition: {condition}")


def _followed_by(t: ir.Table, spec, events: ir.Table) -> tuple[ir.Table, ir.BooleanValue]:
    """Whether the same child has a `spec.event` in the municipality after the subject's date
    and no later than `spec.within_months` calendar months after it. The answer depends only
    on (municipality, person, date), which are never null, so the join needs no row ids."""
    key = ["municipality", "person_key", "date"]
    dated = t.select(*key).distinct()
    later = events.filter(events.event == spec.event).select(
        "municipality", "person_key", later_date="date")
    matched = dated.join(later, [dated.municipality == later.municipality,
                                 dated.person_key == later.person_key,
                                 later.later_date > dated.date])
    first_later = matched.group_by(key).aggregate(next_date=matched.later_date.min())
    t = t.left_join(first_later, key).drop(*[f"{k}_right" for k in key])
    hit = t.next_date.notnull() & (t.next_date <= add_months(t.date, spec.within_months))
    return t, hit


def _count(t: ir.Table, count: Count, hit: ir.BooleanValue | None) -> ir.NumericValue:
    if count.count_distinct == "person":
        return t.person_key.nunique(where=hit)
    return t.count(where=hit)


# --- compile ---------------------------------------------------------------------------------

def _levels(definition: Definition, breakdowns: bool) -> list[list[str]]:
    """The grouping levels: the total, then each breakdown on its own."""
    return [[]] + ([[b] for b in definition.breakdowns] if breakdowns else [])


def build_subjects(definition: Definition, events: ir.Table) -> ir.Table:
    return SUBJECT_BUILDERS[definition.subjects.kind](definition.subjects.spec, events)


def compile_definition(definition: Definition, events: ir.Table, periods: ir.Table,
                       populations: ir.Table, breakdowns: bool = True, quarters: bool = True,
                       subjects: ir.Table | None = None) -> ir.Table:
    """One Ibis expression giving the result rows of one indicator. `events` must hold the
    definition's needed_columns; `subjects` can be passed in when built already."""
    kind = definition.subjects.kind
    if subjects is None:
        subjects = build_subjects(definition, events)
    periods = _followed_up(periods, definition.requires_followup_months)
    placed = _in_periods(subjects, periods, kind, quarters)
    placed = _with_age_group(placed)
    placed = placed.mutate(category=placed[definition.category] if definition.category
                           else ibis.null().cast("string"))
    if definition.numerator is not None:
        placed, hit = _condition(placed, definition.numerator.where, events)
        if hit is not None:
            placed = placed.mutate(hit=hit)
    else:
        placed = placed.mutate(duration_days=days_between(placed.start_date, placed.date))

    parts = []
    for level in _levels(definition, breakdowns):
        keys = KEYS + level
        rows = placed.filter(*[placed[k].notnull() for k in level]) if level else placed
        aggregated = _aggregate(definition, rows, keys + ["category"], keys)
        if not level and not definition.category:
            aggregated = _every_period(aggregated, periods, definition)
        parts.append(_uniform(aggregated))
    result = ibis.union(*parts)
    if definition.denominator.population:
        result = _attach_population(result, populations, definition.denominator.population)
    factor = definition.factor
    if definition.statistic is None:
        value = ibis.cases((result.denominator > 0,
                            result.numerator.cast("float64") * factor / result.denominator),
                           else_=None)
    else:
        value = result.statistic_value
    result = result.mutate(indicator=ibis.literal(definition.id), value=value.cast("float64"))
    result = result.join(periods.select(*KEYS, "complete"), KEYS)
    return result.select("indicator", *KEYS, *DIMENSIONS, "numerator", "denominator", "value", "complete")


def _every_period(totals: ir.Table, periods: ir.Table, definition: Definition) -> ir.Table:
    """A total row for every period the data covers, so that none counted shows as 0."""
    joined = periods.select(*KEYS).left_join(totals, KEYS)
    zero = ibis.literal(0).cast("float64")
    filled = {}
    if definition.statistic is None:  # a median of nothing stays empty
        filled["numerator"] = joined.numerator.cast("float64").fill_null(zero)
    if not definition.denominator.population:  # the population is attached later
        filled["denominator"] = joined.denominator.cast("float64").fill_null(zero)
    return joined.mutate(**filled).drop(*[f"{k}_right" for k in KEYS])


def _uniform(part: ir.Table) -> ir.Table:
    """Every level in the same shape (absent dimensions null), so the levels can be unioned."""
    columns = {d: (part[d] if d in part.columns else ibis.null()).cast("string") for d in DIMENSIONS}
    for measure in ("numerator", "denominator", "statistic_value"):
        columns[measure] = (part[measure] if measure in part.columns else ibis.null()).cast("float64")
    return part.select(*KEYS, **columns)


def _aggregate(definition: Definition, rows: ir.Table, keys: list[str], without_category: list[str]) -> ir.Table:
    hit = rows.hit if "hit" in rows.columns else None
    if definition.statistic is not None:
        return rows.group_by(keys).aggregate(
            numerator=ibis.null().cast("float64"),
            denominator=rows.count(),
            statistic_value=rows.duration_days.median().cast("float64"))
    numerator = _count(rows, definition.numerator, hit)
    if definition.denominator.population:
        return rows.group_by(keys).aggregate(numerator=numerator, denominator=ibis.null().cast("float64"))
    denominator = _count(rows, definition.denominator, None)
    if not definition.category:
        return rows.group_by(keys).aggregate(numerator=numerator, denominator=denominator)
    # A category's share is of all subjects in the group, whatever their category.
    counted = rows.group_by(keys).aggregate(numerator=numerator)
    totals = rows.group_by(without_category).aggregate(denominator=denominator)
    joined = counted.join(totals, [counted[k].identical_to(totals[k]) for k in without_category])
    return joined.select(*keys, "numerator", "denominator")


def population_bands(store_populations: ir.Table, reference: ir.Table) -> ir.Table:
    """Imported and shipped populations together; `shipped` tells them apart, because the
    imported figures win wherever they cover the age range asked for."""
    imported = store_populations.select(*POPULATION_SCHEMA).cast(POPULATION_SCHEMA)
    shipped = reference.select(*POPULATION_SCHEMA).cast(POPULATION_SCHEMA)
    return imported.mutate(shipped=ibis.literal(0)).union(shipped.mutate(shipped=ibis.literal(1)))


def _attach_population(result: ir.Table, bands: ir.Table, ages: dict) -> ir.Table:
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
    return joined.mutate(denominator=joined.population.cast("float64")).drop(
        "population", *[f"{k}_right" for k in KEYS])


def compile_library(definitions: Iterable[Definition], events: ir.Table, periods: ir.Table,
                    populations: ir.Table, breakdowns: bool = True, quarters: bool = True) -> ir.Table:
    """All definitions as one expression. Definitions with the same subjects share one
    subject expression (one CTE in the SQL), as a hand-written query would."""
    definitions = list(definitions)
    needed = {c for d in definitions for c in needed_columns(d, breakdowns)}
    order = ["municipality", "case_id", "event", "date", *EVENT_TYPES]
    events = events.select(*[c for c in dict.fromkeys(order) if c in needed])
    shared: dict[str, ir.Table] = {}
    parts = []
    for definition in definitions:
        spec = definition.subjects.model_dump_json(exclude_none=True)
        if spec not in shared:
            shared[spec] = build_subjects(definition, events)
        parts.append(compile_definition(definition, events, periods, populations, breakdowns,
                                        quarters, subjects=shared[spec]))
    return ibis.union(*parts)


def _cache_key(definitions: list[Definition], breakdowns: bool, quarters: bool, backend) -> str:
    """What the compiled SQL depends on, this module's own source included."""
    engine_source = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    payload = json.dumps([[d.model_dump(mode="json") for d in definitions], breakdowns, quarters,
                          backend.name, ibis.__version__, engine_source], sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


_compiled: dict[str, str] = {}


def compiled_sql(store, definitions: list[Definition], breakdowns: bool, quarters: bool,
                 cache_dir: Path | None = None) -> str:
    """The library as SQL for the store's backend. Compiling through Ibis costs about a second
    whatever the data size, so the SQL is kept per process and, given a folder, on disk; the
    key covers the definitions, the options and the Ibis and Insyn versions."""
    key = _cache_key(definitions, breakdowns, quarters, store.ibis)
    if key in _compiled:
        return _compiled[key]
    cached = cache_dir / f"indicators-{key}.sql" if cache_dir else None
    if cached and cached.exists():
        sql = cached.read_text(encoding="utf-8")
    else:
        expr = compile_library(
            definitions, store.table("events"), store.table(PERIODS_RELATION),
            population_bands(store.table("populations"), store.table(REFERENCE_RELATION)),
            breakdowns, quarters)
        sql = str(store.ibis.compile(expr))
        if cached:
            cached.parent.mkdir(parents=True, exist_ok=True)
            cached.write_text(sql, encoding="utf-8")
    _compiled[key] = sql
    return sql


def compute(store, definitions: Iterable[Definition] | None = None, quarters: bool = True,
            breakdowns: bool = True, cache_dir: Path | None = None) -> pd.DataFrame:
    """All result rows of the given definitions (default: the whole library) in one query;
    without quarters and breakdowns only the yearly totals per municipality."""
    definitions = list(definitions or library())
    if not definitions:
        return pd.DataFrame(columns=RESULT_COLUMNS)
    periods = build_periods(store.ibis, store.table("events"), quarters)
    bound = {PERIODS_RELATION: pa.Table.from_pandas(periods, schema=_arrow_schema(PERIODS_SCHEMA),
                                                    preserve_index=False),
             REFERENCE_RELATION: pa.Table.from_pandas(reference_populations(),
                                                      schema=_arrow_schema(POPULATION_SCHEMA),
                                                      preserve_index=False)}
    for name, table in bound.items():
        store.raw.register(name, table)
    try:
        sql = compiled_sql(store, definitions, breakdowns, quarters, cache_dir)
        return store.raw.sql(sql).to_arrow_table().to_pandas()[RESULT_COLUMNS]
    finally:
        for name in bound:
            # In a transaction a failed query aborted, DuckDB refuses even this; the caller
            # rolls back, and the failure that matters is already on its way up.
            with contextlib.suppress(duckdb.TransactionException):
                store.raw.unregister(name)


def _arrow_schema(schema: dict[str, str]) -> pa.Schema:
    return ibis.schema(schema).to_pyarrow()


def replace_results(store, cache_dir: Path | None = None) -> pd.DataFrame:
    """Recompute every indicator into the results table, in the caller's transaction."""
    results = compute(store, cache_dir=cache_dir)
    store.raw.execute("DELETE FROM indicator_results")
    store.raw.from_arrow(pa.Table.from_pandas(results[RESULT_COLUMNS], preserve_index=False)) \
        .insert_into("indicator_results")
    return results


def refresh_results(store, cache_dir: Path | None = None) -> pd.DataFrame:
    """Recompute every indicator and replace the precomputed results in one transaction."""
    with store.transaction():
        return replace_results(store, cache_dir)


def stored_results(store) -> pd.DataFrame:
    return store.raw.execute("SELECT * FROM indicator_results").df()
