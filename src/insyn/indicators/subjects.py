"""Subjects of case data: the things case-flow indicators count (events, pairs of events,
spells, closings), built from the events table. Every builder takes its spec and the
`Sources` and returns one row per subject with a `date` (or `start_date`/`end_date` for
subjects that last)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir

from insyn.indicators.definitions import Ongoing, PairsSubject, SpellsSubject, WaitsSubject, event_names

PERIOD_KEYS = ["municipality", "period", "period_type"]  # what identifies a period of a municipality
SUBJECT_COLUMNS = ["municipality", "case_id", "person_key", "birth_year", "birth_month", "sex",
                   "unit", "caseworker_id", "source", "outcome", "intervention", "provider", "organisations",
                   "legal_basis", "date", "start_date", "end_date"]
EVENT_TYPES = {"municipality": "string", "case_id": "string", "person_key": "string",
               "birth_year": "int16", "birth_month": "int8", "sex": "string", "unit": "string",
               "caseworker_id": "string", "source": "string", "outcome": "string",
               "intervention": "string", "intervention_id": "string", "extended_until": "date",
               "unaccompanied": "string", "provider": "string", "organisations": "string",
               "legal_basis": "string"}


@dataclass(frozen=True)
class Sources:
    """The relations subjects are built from. `events` holds only the columns the compiled
    definitions read; the bound relations (periods, programme targets, workload weights and
    norms) are named tables, so that the compiled SQL does not depend on their content."""

    events: ir.Table
    staff: ir.Table
    trainings: ir.Table
    courses: ir.Table
    mentorships: ir.Table
    periods: ir.Table
    programme_targets: ir.Table
    workload_weights: ir.Table
    workload_norms: ir.Table
    caseworker_roles: ir.Table
    # The cost data (docs/costs.md); absent where a caller computes no cost indicators.
    care_prices: ir.Table | None = None
    care_costs: ir.Table | None = None
    # Grants that finance employments (docs/grants.md); absent: no employment has a grant's end.
    grants: ir.Table | None = None
    # Expressions built once and used wherever they are needed again (the same Python object
    # twice becomes one CTE in the SQL): subjects shared by definitions, the case work that
    # both caseload and workload read.
    shared: dict[str, ir.Table] = field(default_factory=dict, compare=False, repr=False)
    # Case work already placed on the periods' reference dates and weighted, when a caller has
    # computed it once for several queries (the monthly workload); built from the above if not.
    weighted_work: ir.Table | None = None

    def once(self, key: str, build: Callable[[], ir.Table]) -> ir.Table:
        if key not in self.shared:
            self.shared[key] = build()
        return self.shared[key]


# The columns that order same-day events, in turn, when pairs (_earliest_undecided) and spells
# (numbered_spell_rows) are made. Every compiled statement carries them all
# (engine.needed_columns), so the pairing does not depend on which other definitions share the
# statement: the library is one statement per area, and a definition may be computed alone.
PAIR_TIES = ("outcome", "unit", "caseworker_id", "person_key", "intervention")
SPELL_TIES = ("unit", "caseworker_id", "person_key", "intervention", "provider")
TIE_COLUMNS = tuple(dict.fromkeys(PAIR_TIES + SPELL_TIES))


def without_right(t: ir.Table) -> ir.Table:
    """Drop the right side's copies of join keys (Ibis names them `<column>_right`)."""
    return t.drop(*[c for c in t.columns if c.endswith("_right")])


def not_among(rows: ir.Table, excluded: ir.Table, keys: list[str]) -> ir.Table:
    """The rows whose `keys` are not among the distinct rows of `excluded` (which has just those
    columns). A left join on a marker rather than an anti-join: anti-joining the result of a
    semi-join compiles to `LEFT ANTI JOIN` for PostgreSQL, which it does not have."""
    marked = excluded.mutate(excluded_marker=ibis.literal(1))
    joined = without_right(rows.left_join(marked, keys))
    return joined.filter(joined.excluded_marker.isnull()).drop("excluded_marker")


def null_date():
    return ibis.null().cast("date")


def as_subjects(t: ir.Table, **columns) -> ir.Table:
    """Project to the common shape of case subjects; columns not in the table are null."""
    defaults = {"start_date": null_date(), "end_date": t.date}
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


def events_subjects(spec, sources: Sources) -> ir.Table:
    events = sources.events
    return as_subjects(events.filter(events.event.isin(event_names(spec.event))))


def pairs_subjects(spec: PairsSubject, sources: Sources) -> ir.Table:
    """Each `event` row with the date of the `after` event it answers (PairsSubject.pick)."""
    if spec.pick == "earliest_undecided":
        return _earliest_undecided(spec, sources)
    events = sources.events
    rows = events.filter(events.event.isin([spec.event, spec.after]))
    is_target = (rows.event == spec.event).cast("int32")  # same day: the earlier event first
    window = ibis.window(group_by=[rows.municipality, rows.case_id],
                         order_by=[rows.date, is_target], rows=(None, 0))
    latest_after = ibis.cases((rows.event == spec.after, rows.date), else_=None).max().over(window)
    paired = rows.mutate(start_date=latest_after)
    paired = paired.filter((paired.event == spec.event) & paired.start_date.notnull())
    return as_subjects(paired, start_date=paired.start_date)


def _earliest_undecided(spec: PairsSubject, sources: Sources) -> ir.Table:
    """Each `event` with the earliest `after` of its case that no earlier decision answered.

    Every `after` (left out: those that came in while a `not_during` spell of the child was
    ongoing) is answered by the case's first decision — an `event`, or one of `answered_by` — on
    or after its day. An `event` is paired with the earliest of the ones it answers; when one
    day has several `event`s, the k-th of them takes the k-th earliest (an `event` left without
    one is paired with none, a data-quality warning like an assessment without a report)."""
    events = sources.events
    targets = events.filter(events.event == spec.event)
    waiting = events.filter(events.event == spec.after)
    if spec.not_during is not None:
        waiting = outside_spells(waiting, spec.not_during, sources)
    decisions = events.filter(events.event.isin([spec.event, *spec.answered_by]))
    answered = first_on_or_after(waiting, decisions, each_row=True)
    answered = answered.filter(answered.next_date.notnull())
    in_turn = ibis.window(group_by=[answered.municipality, answered.case_id, answered.next_date],
                          order_by=[answered.start_date])
    answered = answered.mutate(turn=ibis.row_number().over(in_turn))
    tie = [targets[c] for c in PAIR_TIES if c in targets.columns]
    same_day = ibis.window(group_by=[targets.municipality, targets.case_id, targets.date], order_by=tie)
    targets = targets.mutate(turn=ibis.row_number().over(same_day))
    paired = targets.join(answered, [targets.municipality == answered.municipality,
                                     targets.case_id == answered.case_id,
                                     targets.date == answered.next_date, targets.turn == answered.turn])
    paired = without_right(paired)
    return as_subjects(paired, start_date=paired.start_date)


def waits_subjects(spec: WaitsSubject, sources: Sources) -> ir.Table:
    """Each `event` row (left out: those during a `not_during` spell) as a wait from its day to
    the case's first `until` event on or after it; no such event: still waiting."""
    events = sources.events
    waiting = events.filter(events.event == spec.event)
    if spec.not_during is not None:
        waiting = outside_spells(waiting, spec.not_during, sources)
    ended = first_on_or_after(waiting, events.filter(events.event.isin(spec.until)))
    joined = waiting.join(ended, [waiting.municipality == ended.municipality, waiting.case_id == ended.case_id,
                                  waiting.date == ended.start_date])
    joined = without_right(joined)
    return as_subjects(joined, start_date=joined.date, end_date=joined.next_date)


def first_on_or_after(starts: ir.Table, stops: ir.Table, each_row: bool = False) -> ir.Table:
    """Per case and distinct start `date` (with `each_row`, per start row), the case's first
    `stops` date on or after it (null: none): a running minimum over both in date order, a stop
    on a start's day sorting after it, so no range join is needed. Returns (municipality,
    case_id, start_date, next_date)."""
    starting = starts.select("municipality", "case_id", "date", is_stop=ibis.literal(0))
    both = (starting if each_row else starting.distinct()).union(
        stops.select("municipality", "case_id", "date", is_stop=ibis.literal(1)))
    onwards = ibis.window(group_by=[both.municipality, both.case_id], order_by=[both.date, both.is_stop],
                          rows=(0, None))
    both = both.mutate(next_date=ibis.cases((both.is_stop == 1, both.date), else_=None).min().over(onwards))
    return both.filter(both.is_stop == 0).select("municipality", "case_id", "next_date", start_date=both.date)


def outside_spells(rows: ir.Table, ongoing: Ongoing, sources: Sources) -> ir.Table:
    """The rows that did not come in while a spell from `ongoing.start` to `ongoing.end` was
    ongoing for their child in the municipality (in any of the child's cases): one started
    before their day and not ended before it. (The days that fall within a spell are found
    first and then left out by equality, as PostgreSQL has no anti-join on inequalities.)"""
    spans = spell_rows(SpellsSubject(start=ongoing.start, end=ongoing.end), sources)
    spans = spans.select(span_municipality="municipality", span_person="person_key",
                         span_start="start_date", span_end="end_date")
    days = rows.select("municipality", "person_key", "date").distinct()
    during = days.semi_join(spans, [days.municipality == spans.span_municipality,
                                    days.person_key == spans.span_person,
                                    spans.span_start < days.date,
                                    spans.span_end.isnull() | (spans.span_end >= days.date)])
    return not_among(rows, during, ["municipality", "person_key", "date"])


def spell_rows(spec: SpellsSubject, sources: Sources) -> ir.Table:
    """The spells of `spec`, built once per Sources (shared by the subjects that need them)."""
    return sources.once(f"spells|{spec.model_dump_json()}", lambda: spells(spec, sources))


def first_days(sources: Sources) -> ir.Table:
    """Per municipality, the first day its case data cover: its first report."""
    def build() -> ir.Table:
        reports = sources.events.filter(sources.events.event == "report")
        return reports.group_by("municipality").aggregate(first_day=reports.date.min())

    return sources.once("first_days", build)


def spells(spec: SpellsSubject, sources: Sources) -> ir.Table:
    """From each start event to the end event that closes it, per case and `same` columns.

    An id (the `id` column) that has a start and an end on or after it pairs them: from its
    first start to its last end. Every other row pairs first in, first out: an end closes the
    earliest start still open, starts before ends on one day — so an end on the day of a start
    closes that start (a one-day placement) unless an earlier one is still open, which it closes
    instead (a renewal). An end with nothing open is a spell that began before the data: from
    the first day they cover (or its own day, if earlier) — left out when spells are placed by
    their start, which the data do not know. Window functions only, so it compiles the same way
    on every backend.
    """
    events = sources.events
    ends = [spec.end] if isinstance(spec.end, str) else spec.end
    rows = events.filter(events.event.isin([spec.start, *ends]))
    for column, values in spec.where.items():
        rows = rows.filter(rows[column].isin(values))
    group = ["municipality", "case_id", *spec.same]
    parts = []
    if spec.id:
        rows, by_id = _paired_by_id(rows, spec, group)
        parts.append(by_id)
    rows = numbered_spell_rows(rows, spec.start, group)
    closes = rows.filter((rows.is_end == 1) & ~rows.orphan).select(*group, "number", end_date=rows.date)
    starts = rows.filter(rows.is_start == 1)
    paired = without_right(starts.left_join(closes, [*group, "number"]))
    parts.append(as_subjects(paired, start_date=paired.date, end_date=paired.end_date))
    if spec.at != "start":
        parts.append(_began_before(rows.filter(rows.orphan), sources))
    return ibis.union(*parts)


def numbered_spell_rows(rows: ir.Table, start: str, group: list[str]) -> ir.Table:
    """Start and end rows numbered for pairing first in, first out within `group`: `number` is
    a start's rank, or the rank of the start an end closes; `orphan` marks an end with nothing
    open (the running maximum of ends over starts rises at it)."""
    # Booleans cast to int32: PostgreSQL casts a boolean to no other integer type.
    rows = rows.mutate(is_start=(rows.event == start).cast("int32"), is_end=(rows.event != start).cast("int32"))

    def in_order(t: ir.Table, frame: tuple) -> ibis.expr.types.generic.Value:
        # Same-day starts are interchangeable but for what they carry; ordering by it as well
        # makes the pairing the same on every backend.
        tie = [t[c] for c in SPELL_TIES if c in t.columns]
        return ibis.window(group_by=[t[g] for g in group], order_by=[t.date, t.is_end, *tie], rows=frame)

    so_far = in_order(rows, (None, 0))
    rows = rows.mutate(started=rows.is_start.sum().over(so_far), ended=rows.is_end.sum().over(so_far))
    excess = rows.ended - rows.started
    rows = rows.mutate(unmatched=ibis.greatest(excess.max().over(in_order(rows, (None, 0))), 0),
                       unmatched_before=ibis.greatest(excess.max().over(in_order(rows, (None, -1))).fill_null(0), 0))
    orphan = (rows.is_end == 1) & (rows.unmatched > rows.unmatched_before)
    # The k-th end that closes something closes the k-th start.
    return rows.mutate(orphan=orphan, number=ibis.cases((rows.is_start == 1, rows.started),
                                                        else_=rows.ended - rows.unmatched))


def _began_before(ends: ir.Table, sources: Sources) -> ir.Table:
    """Spells whose only sign in the data is their end: from the first day the data cover."""
    joined = without_right(ends.left_join(first_days(sources), "municipality"))
    start = ibis.least(joined.first_day.fill_null(joined.date), joined.date)
    return as_subjects(joined, date=start, start_date=start, end_date=joined.date)


def _paired_by_id(rows: ir.Table, spec: SpellsSubject, group: list[str]) -> tuple[ir.Table, ir.Table]:
    """(the rows left to pair first in, first out, the spells of sound ids). An id is sound when
    it has a start and an end on or after its first start: from that start to its last end. An
    id seen only at one end, or ending before it starts, says nothing certain: its rows pair
    with the rest."""
    key = [*group, spec.id]
    carrying = rows.filter(rows[spec.id].notnull())
    span = carrying.group_by(key).aggregate(first_start=carrying.date.min(where=carrying.event == spec.start),
                                            last_end=carrying.date.max(where=carrying.event != spec.start))
    sound = span.filter(span.first_start.notnull() & span.last_end.notnull() & (span.last_end >= span.first_start))
    first_start = ibis.window(group_by=[carrying[k] for k in key], order_by=[carrying.date])
    starts = carrying.filter(carrying.event == spec.start)
    starts = starts.filter(ibis.row_number().over(first_start) == 0)
    paired = without_right(starts.join(sound, key))
    left = rows.filter(rows[spec.id].isnull()).union(carrying.anti_join(sound, key))
    return left, as_subjects(paired, start_date=paired.date, end_date=paired.last_end)


INTERVENTIONS = SpellsSubject(start="intervention_start", end="intervention_end", same=["intervention"],
                              id="intervention_id")
INVESTIGATIONS = SpellsSubject(start="investigation_start", end="investigation_end")


def closings_subjects(spec, sources: Sources) -> ir.Table:
    """A child's closings: the day an investigation ended without intervention or an
    intervention ended, when nothing of any kind — no intervention, no investigation — is still
    open for the child in the municipality after that day."""
    events = sources.events
    no_intervention = events.filter((events.event == "investigation_end")
                                    & (events.outcome == "no_intervention"))
    interventions = spell_rows(INTERVENTIONS, sources)
    ended = interventions.filter(interventions.end_date.notnull())
    ended = ended.mutate(date=ended.end_date)
    candidates = as_subjects(no_intervention).union(as_subjects(ended, end_date=ended.date))
    open_spells = ibis.union(*[spell_rows(s, sources).select("municipality", "person_key", "start_date", "end_date")
                               for s in (INTERVENTIONS, INVESTIGATIONS)])
    days = candidates.select("municipality", "person_key", "date").distinct()
    spans = open_spells.select(open_municipality="municipality", open_person="person_key",
                               open_start="start_date", open_end="end_date")
    still_open = days.semi_join(spans, [days.municipality == spans.open_municipality,
                                        days.person_key == spans.open_person, spans.open_start <= days.date,
                                        spans.open_end.isnull() | (spans.open_end > days.date)])
    return not_among(candidates, still_open, ["municipality", "person_key", "date"])


def at_period_end(subjects: ir.Table, periods: ir.Table) -> ir.Table:
    """Subjects that last, placed in each period at whose end they are still going on (begun
    by its last day, not ended by it), with that day as their reference date."""
    placed = subjects.join(
        periods,
        [subjects.municipality == periods.municipality,
         subjects.start_date <= periods.period_end,
         subjects.end_date.isnull() | (subjects.end_date > periods.period_end)],
    )
    placed = without_right(placed)
    return placed.mutate(reference_date=placed.period_end)


def at_reference_date(subjects: ir.Table, periods: ir.Table) -> ir.Table:
    """Subjects that last, placed in each period whose reference date they cover (start and
    end day included; no end: still going on)."""
    placed = subjects.join(
        periods,
        [subjects.municipality == periods.municipality,
         subjects.start_date <= periods.reference_date,
         subjects.end_date.isnull() | (subjects.end_date >= periods.reference_date)],
    )
    return without_right(placed)
