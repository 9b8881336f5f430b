"""Subjects of case data: the things case-flow indicators count (events, pairs of events,
spells, closings), built from the events table. Every builder takes its spec and the
`Sources` and returns one row per subject with a `date` (or `start_date`/`end_date` for
subjects that last)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir

from insyn.indicators.definitions import SpellsSubject

PERIOD_KEYS = ["municipality", "period", "period_type"]  # what identifies a period of a municipality
SUBJECT_COLUMNS = ["municipality", "case_id", "person_key", "birth_year", "birth_month", "sex",
                   "unit", "caseworker_id", "source", "outcome", "intervention", "date",
                   "start_date", "end_date"]
EVENT_TYPES = {"municipality": "string", "case_id": "string", "person_key": "string",
               "birth_year": "int16", "birth_month": "int8", "sex": "string", "unit": "string",
               "caseworker_id": "string", "source": "string", "outcome": "string",
               "intervention": "string"}


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


def without_right(t: ir.Table) -> ir.Table:
    """Drop the right side's copies of join keys (Ibis names them `<column>_right`)."""
    return t.drop(*[c for c in t.columns if c.endswith("_right")])


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
    return as_subjects(events.filter(events.event == spec.event))


def pairs_subjects(spec, sources: Sources) -> ir.Table:
    """Each `event` row with the latest `after` date of its case on or before it."""
    events = sources.events
    rows = events.filter(events.event.isin([spec.event, spec.after]))
    is_target = (rows.event == spec.event).cast("int32")  # same day: the earlier event first
    window = ibis.window(group_by=[rows.municipality, rows.case_id],
                         order_by=[rows.date, is_target], rows=(None, 0))
    latest_after = ibis.cases((rows.event == spec.after, rows.date), else_=None).max().over(window)
    paired = rows.mutate(start_date=latest_after)
    paired = paired.filter((paired.event == spec.event) & paired.start_date.notnull())
    return as_subjects(paired, start_date=paired.start_date)


def spells(spec: SpellsSubject, sources: Sources) -> ir.Table:
    """From each start event to the next end event of the case with the same `same` values.

    An end on the day of a start closes that start (a one-day placement) unless an earlier
    spell is still open that day: then it closes the earlier one (a renewal), and the new
    start runs to the next end after that day. Computed on one row per case and day, with
    windows over earlier and later days, so it compiles the same way on every backend.
    """
    events = sources.events
    ends = [spec.end] if isinstance(spec.end, str) else spec.end
    rows = events.filter(events.event.isin([spec.start, *ends]))
    for column, values in spec.where.items():
        rows = rows.filter(rows[column].isin(values))
    group = ["municipality", "case_id", *spec.same]
    days = rows.group_by([*group, "date"]).aggregate(
        starts=rows.count(where=rows.event == spec.start),
        ends=rows.count(where=rows.event.isin(ends)))
    earlier = ibis.window(group_by=group, order_by="date", rows=(None, -1))
    later = ibis.window(group_by=group, order_by="date", rows=(1, None))
    days = days.mutate(
        open_before=ibis.greatest((days.starts - days.ends).sum().over(earlier).fill_null(0), 0),
        next_end=ibis.cases((days.ends > 0, days.date), else_=None).min().over(later))
    days = days.mutate(end_date=ibis.cases((days.ends > days.open_before, days.date),
                                           else_=days.next_end))
    starts = rows.filter(rows.event == spec.start)
    joined = starts.join(days.select(*group, "date", "end_date"), [*group, "date"])
    return as_subjects(joined, start_date=joined.date, end_date=joined.end_date)


def closings_subjects(spec, sources: Sources) -> ir.Table:
    """Investigations ended without intervention, and intervention ends after which the
    child has no intervention still ongoing in the municipality."""
    events = sources.events
    no_intervention = events.filter((events.event == "investigation_end")
                                    & (events.outcome == "no_intervention"))
    interventions = spells(SpellsSubject(start="intervention_start", end="intervention_end",
                                         same=["intervention"]), sources)
    ended = interventions.filter(interventions.end_date.notnull())
    other = interventions.view()
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
    return as_subjects(no_intervention).union(as_subjects(last_ends, end_date=last_ends.date))


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
