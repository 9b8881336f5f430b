"""Subjects of staff data (and the case work caseworkers carry) for the indicator engine.

Their spec models (what a definition's `subjects:` may say) and builders, registered as subject
kinds by `register` (the entry point `insyn.subject_kinds` names it). Builders take their spec
and the `Sources` and return one row per subject; the columns that depend on the period's
reference date (years of experience, the caseworker responsible for a case, the load) are added
after placement by the `*_at_period` functions. docs/workforce.md states every rule in words.
"""

from __future__ import annotations

from typing import Literal

import ibis
import ibis.expr.types as ir

from insyn.indicators.cost_kinds import share_in_period
from insyn.indicators.deadlines import days_between
from insyn.indicators.definitions import Strict, Subjects
from insyn.indicators.kinds import Data, SubjectKind, always
from insyn.indicators.kinds import register as register_kinds
from insyn.indicators.portable import rounded
from insyn.indicators.subjects import (
    INTERVENTIONS,
    INVESTIGATIONS,
    PERIOD_KEYS,
    Sources,
    at_reference_date,
    first_on_or_after,
    spell_rows,
    without_right,
)
from insyn.model.codes import codes

DAYS_PER_YEAR = 365.25
# Events of a case in process order (codes.yaml lists them so), for the latest event when
# several fall on one day.
EVENT_ORDER = codes("event")



# --- specs -------------------------------------------------------------------------------------

CasePhase = Literal["forhandsbedomning", "utredning", "insats"]


class CaseWorkSubject(Strict):
    """Work going on in a case at the reference date: a report awaiting its initial
    assessment, an open investigation, an ongoing intervention (docs/workforce.md)."""

    phases: list[CasePhase] = ["forhandsbedomning", "utredning", "insats"]


class StaffFilter(Strict):
    """Employments of these roles and forms of employment (all when empty), and by `funding`:
    `grant` those a grant pays for, `budget` the others (both when not given)."""

    roles: list[str] = []
    employment: list[str] = []
    funding: Literal["grant", "budget"] | None = None

    def narrows(self, other: StaffFilter) -> bool:
        """Whether every employment this filter lets through, `other` lets through too."""
        def within(mine: list[str], theirs: list[str]) -> bool:
            return not theirs or bool(mine) and set(mine) <= set(theirs)

        rest = {"roles", "employment", "funding"}
        same_rest = self.model_dump(exclude=rest) == other.model_dump(exclude=rest)
        return (type(self) is type(other) and same_rest and within(self.roles, other.roles)
                and within(self.employment, other.employment) and other.funding in (None, self.funding))


class EmploymentsSubject(StaffFilter):
    """Employments in post at the period's reference date, or (`at: period`) in every period
    they overlap, with `fte_years`: FTE times the share of the period in post."""

    at: Literal["reference_date", "period"] = "reference_date"


class EmploymentEndsSubject(StaffFilter):
    """Employments ending in the period, each with `change`: slutat (left the municipality),
    bytt_enhet (in post in another unit the next day), fortsatt (a new employment in the same
    unit the next day)."""


class ArrivalsSubject(StaffFilter):
    """Employments that bring someone into the municipality (not in post the day before), dated
    by their start, with `programme_completed_date`: their first completed course of
    `completed_programme` on or after the start."""

    completed_programme: str | None = None


class ProgrammeTargetsSubject(Strict):
    """Each employment in post at the reference date paired with every training programme that
    targets it (workforce.yaml), with `completed_date` when completed by the reference date."""


class MentorshipsSubject(Strict):
    """Mentorships ongoing at the reference date, in the mentee's unit."""


class CaseworkerLoadsSubject(StaffFilter):
    """Caseworkers in post at the reference date with their weighted workload (workload.yaml)."""


# --- employments -------------------------------------------------------------------------------

def employment_facts(sources: Sources) -> ir.Table:
    """Every employment, with FTE (default 1), the person's first start in the municipality,
    the start of their first mentorship as a mentee, `financing` (bidrag where a grant pays for
    it, else ordinarie) and `funding_end`: the last day of its grant in the grants table (built
    once per Sources)."""
    return sources.once("employment_facts", lambda: _employment_facts(sources))


def _employment_facts(sources: Sources) -> ir.Table:
    staff = sources.staff
    person = ibis.window(group_by=[staff.municipality, staff.staff_id])
    facts = staff.mutate(fte=staff.fte.fill_null(1.0), first_start=staff.start_date.min().over(person))
    mentoring = sources.mentorships
    mentored = mentoring.group_by([mentoring.municipality, mentoring.mentee_id]).aggregate(
        mentor_start=mentoring.start_date.min())
    facts = facts.left_join(mentored, [facts.municipality == mentored.municipality,
                                       facts.staff_id == mentored.mentee_id])
    facts = facts.mutate(financing=ibis.cases((facts.funding.notnull(), "bidrag"), else_="ordinarie"))
    if sources.grants is None:
        facts = facts.mutate(funding_end=ibis.null().cast("date"))
    else:
        grants = sources.grants
        ends = grants.group_by([grants.municipality, grants.grant]).aggregate(funding_end=grants.end_date.max())
        facts = facts.left_join(ends, [facts.municipality == ends.municipality, facts.funding == ends.grant])
    return facts.select("municipality", "staff_id", "unit", "role", "employment", "fte", "exam_year",
                        "first_start", "mentor_start", "start_date", "end_date", "funding", "financing",
                        "funding_end", "monthly_salary")


def _filtered(rows: ir.Table, spec: StaffFilter) -> ir.Table:
    if spec.roles:
        rows = rows.filter(rows.role.isin(spec.roles))
    if spec.employment:
        rows = rows.filter(rows.employment.isin(spec.employment))
    if spec.funding:
        rows = rows.filter(rows.financing == ("bidrag" if spec.funding == "grant" else "ordinarie"))
    return rows


def employments(spec, sources: Sources) -> ir.Table:
    return _filtered(employment_facts(sources), spec)


def all_employments(spec, sources: Sources) -> ir.Table:
    return employment_facts(sources)


def years_since(day: ir.DateValue, reference: ir.DateValue) -> ir.FloatingValue:
    return days_between(day, reference).cast("float64") / DAYS_PER_YEAR


def employments_at_period(placed: ir.Table, spec, sources: Sources, periods: ir.Table) -> ir.Table:
    """Years since the degree and in the municipality at the reference date, whether a mentor
    had started by then, `fte_years`: FTE times the share of the period in post, over the
    part of an incomplete period the data reach (an unfinished year's turnover is of the
    months so far), and `personnel_cost`: what those FTE-years cost a year, the monthly salary
    × 12 × (1 + the year's personnel cost add-on) × `fte_years` (null without a salary).

    Only the degree's year is known: the degree counts from 1 July of that year (Swedish
    degrees are mostly awarded in June and January), so on 1 November someone who graduated
    the same year has 0.34 years, last year's graduates 1.34.
    """
    ref = placed.reference_date
    degree_day = ibis.date(placed.exam_year.cast("int32"), 7, 1)
    # A complete period is the whole period (its data may end a quiet week early).
    period_last = ibis.cases((placed.complete, placed.period_end), else_=ibis.least(placed.period_end, placed.data_end))
    in_post_from = ibis.greatest(placed.start_date, placed.period_start)
    in_post_until = ibis.least(placed.end_date.fill_null(period_last), period_last)
    period_days = days_between(placed.period_start, period_last) + 1
    days_in_post = ibis.greatest(days_between(in_post_from, in_post_until) + 1, 0).cast("float64")
    fte_years = placed.fte * days_in_post / period_days
    return placed.mutate(
        years_since_exam=ibis.cases((placed.exam_year.notnull(), years_since(degree_day, ref)), else_=None),
        years_in_municipality=years_since(placed.first_start, ref),
        mentor_since=ibis.cases((placed.mentor_start <= ref, placed.mentor_start), else_=None),
        fte_years=fte_years,
        # Whole kronor per employment: sums of them are exact in any order, so every backend
        # gives the same total (fractions of a krona summed as doubles differ in the last bits
        # at national scale, beyond what rounding the sum can mend).
        personnel_cost=rounded(placed.monthly_salary * 12 * (1 + placed.personnel_cost_addon) * fte_years, 0),
    )


def employment_ends(spec, sources: Sources) -> ir.Table:
    """Ended employments with what followed the next day: another employment of the same
    person in the municipality in force then, in the same unit (fortsatt) or another
    (bytt_enhet); else the person left (slutat)."""
    ends = _filtered(employment_facts(sources), spec)
    ends = ends.filter(ends.end_date.notnull())
    staff = sources.staff
    later = staff.select(next_municipality="municipality", next_staff_id="staff_id",
                         next_unit="unit", next_start="start_date", next_end="end_date")
    next_day = ends.end_date + ibis.interval(days=1)
    # Another employment: not this row (a second post may start the same day).
    same_row = ((later.next_start == ends.start_date) & (later.next_unit == ends.unit)
                & later.next_end.identical_to(ends.end_date))
    continued = ends.join(later, [ends.municipality == later.next_municipality,
                                  ends.staff_id == later.next_staff_id,
                                  ~same_row,
                                  later.next_start <= next_day,
                                  later.next_end.isnull() | (later.next_end >= next_day)])
    key = ["municipality", "staff_id", "start_date"]
    followed = continued.group_by(key).aggregate(
        same_unit=(continued.unit == continued.next_unit).any())
    ends = without_right(ends.left_join(followed, key))
    change = ibis.cases((ends.same_unit.isnull(), "slutat"), (ends.same_unit, "fortsatt"),
                        else_="bytt_enhet")
    return ends.mutate(change=change, date=ends.end_date).drop("same_unit")


def arrivals(spec, sources: Sources) -> ir.Table:
    """Employments of someone not in post in the municipality the day before, dated by
    their start, with the first completion of `completed_programme` on or after it."""
    starts = _filtered(employment_facts(sources), spec)
    staff = sources.staff
    earlier = staff.select(prev_municipality="municipality", prev_staff_id="staff_id",
                           prev_start="start_date", prev_end="end_date")
    day_before = starts.start_date - ibis.interval(days=1)
    starts = starts.anti_join(earlier, [starts.municipality == earlier.prev_municipality,
                                        starts.staff_id == earlier.prev_staff_id,
                                        earlier.prev_start < starts.start_date,
                                        earlier.prev_end.isnull() | (earlier.prev_end >= day_before)])
    starts = starts.mutate(date=starts.start_date)
    if not spec.completed_programme:
        return starts.mutate(programme_completed_date=ibis.null().cast("date"))
    done = _completions(sources)
    done = done.filter(done.programme == spec.completed_programme)
    key = ["municipality", "staff_id", "start_date"]
    matched = starts.select(*key).join(done, [starts.municipality == done.done_municipality,
                                              starts.staff_id == done.done_staff_id,
                                              done.completed_date >= starts.start_date])
    first = matched.group_by(key).aggregate(programme_completed_date=matched.completed_date.min())
    return without_right(starts.left_join(first, key))


def _completions(sources: Sources) -> ir.Table:
    """Completed courses with their programme (built once per Sources)."""
    return sources.once("completions", lambda: _completed_courses(sources))


def _completed_courses(sources: Sources) -> ir.Table:
    trainings, courses = sources.trainings, sources.courses
    joined = trainings.join(courses, trainings.course == courses.course)
    return joined.select(done_municipality=joined.municipality, done_staff_id=joined.staff_id,
                         programme=joined.programme, completed_date=joined.completed_date)


# --- training programmes -------------------------------------------------------------------

def programme_targets_at_period(placed: ir.Table, spec, sources: Sources, periods: ir.Table) -> ir.Table:
    """Each employment in post paired with every programme that targets it at the reference
    date, and `completed_date`: the first completion of that programme, if by then."""
    placed = employments_at_period(placed, spec, sources, periods)
    targets = sources.programme_targets
    paired = placed.join(targets, [placed.role == targets.role, placed.employment == targets.employment])
    paired = paired.filter(
        paired.under_years_since_exam.isnull()
        | (paired.years_since_exam < paired.under_years_since_exam),
        paired.under_years_in_municipality.isnull()
        | (paired.years_in_municipality < paired.under_years_in_municipality))
    done = _completions(sources)
    first = done.group_by(["done_municipality", "done_staff_id", "programme"]).aggregate(
        first_completed=done.completed_date.min())
    paired = paired.left_join(first, [paired.municipality == first.done_municipality,
                                      paired.staff_id == first.done_staff_id,
                                      paired.programme == first.programme])
    paired = without_right(paired)
    return paired.mutate(completed_date=ibis.cases(
        (paired.first_completed <= paired.reference_date, paired.first_completed), else_=None))


# --- grants --------------------------------------------------------------------------------

class GrantsSubject(Strict):
    """The grants table's decisions of the grants some employment names in its `funding` (a
    grant that pays for no post — a training project, say — is not among them), in every
    period they overlap, with `amount_in_period`: the part of the amount that falls in the
    period by days (both ends counted)."""


def grant_rows(spec, sources: Sources) -> ir.Table:
    grants = sources.grants
    if grants is None:
        raise ValueError("grants subjects need the store's grants table")
    staff = sources.staff
    named = staff.filter(staff.funding.notnull()).select("municipality", grant=staff.funding).distinct()
    grants = grants.semi_join(named, ["municipality", "grant"])
    return grants.select("municipality", "grant", "purpose", "start_date", "end_date", "amount",
                         unit=ibis.null().cast("string"))


def grants_at_period(placed: ir.Table, spec, sources: Sources, periods: ir.Table) -> ir.Table:
    # Whole kronor: totals then equal their parts exactly on every backend (as the cost ledger).
    return placed.mutate(amount_in_period=rounded(placed.amount * share_in_period(placed), 0))


# --- mentorships ---------------------------------------------------------------------------

def mentorships(spec, sources: Sources) -> ir.Table:
    m = sources.mentorships
    return m.select("municipality", "mentor_id", "hours_per_month", "start_date", "end_date",
                    staff_id=m.mentee_id)


def mentorships_at_period(placed: ir.Table, spec, sources: Sources, periods: ir.Table) -> ir.Table:
    """The mentee's unit at the reference date (the first, should they hold two posts)."""
    staff = sources.staff.select(in_municipality="municipality", in_staff_id="staff_id",
                                 in_unit="unit", in_start="start_date", in_end="end_date")
    key = [*PERIOD_KEYS, "staff_id", "mentor_id", "start_date"]
    held = placed.join(staff, [placed.municipality == staff.in_municipality,
                               placed.staff_id == staff.in_staff_id,
                               staff.in_start <= placed.reference_date,
                               staff.in_end.isnull() | (staff.in_end >= placed.reference_date)])
    units = held.group_by(key).aggregate(unit=held.in_unit.min())
    return without_right(placed.left_join(units, key))


# --- case work -----------------------------------------------------------------------------

# Investigations and interventions are spells (the engine's, as the case-flow indicators
# count them); a report awaits its initial assessment until the case's first step on or after
# its day that takes it up — a report on a case already under investigation or intervention
# is taken up by the next step of that work. Two reports awaiting one step are one wait.
PHASE_SPELLS = {"utredning": INVESTIGATIONS, "insats": INTERVENTIONS}
TAKES_UP_A_REPORT = ["initial_assessment", "investigation_start", "investigation_end", "intervention_start",
                     "intervention_end"]


def case_work(spec, sources: Sources) -> ir.Table:
    """Spells of work in a case, each ended no later than the case's next `case_closed`."""
    events = sources.events
    parts = []
    for phase in spec.phases:
        if phase == "forhandsbedomning":
            waits = first_on_or_after(events.filter(events.event == "report"),
                                       events.filter(events.event.isin(TAKES_UP_A_REPORT)))
            spell = waits.mutate(intervention=ibis.null().cast("string"), end_date=waits.next_date)
        else:
            spell = spell_rows(PHASE_SPELLS[phase], sources)
        parts.append(spell.select("municipality", "case_id", "intervention", "start_date", "end_date",
                                  phase=ibis.literal(phase)))
    work = ibis.union(*parts)
    closing = first_on_or_after(work.select("municipality", "case_id", date=work.start_date),
                                 events.filter(events.event == "case_closed"))
    work = without_right(work.left_join(closing, ["municipality", "case_id", "start_date"]))
    end = ibis.cases((work.next_date.notnull() & (work.end_date.isnull() | (work.next_date < work.end_date)),
                      work.next_date), else_=work.end_date)
    return work.mutate(end_date=end).drop("next_date")


def all_case_work(sources: Sources) -> ir.Table:
    """Every kind of case work, built once per Sources (the caseload indicator counts the
    same subjects, so the SQL computes them once)."""
    spec = CaseWorkSubject()
    return sources.once(Subjects.of("case_work", spec).key(), lambda: case_work(spec, sources))


def case_work_at_period(placed: ir.Table, spec, sources: Sources, periods: ir.Table) -> ir.Table:
    """Each kind of work once per case and period, with the case's unit and caseworker at the
    reference date: those on its latest event on or before it (docs/workforce.md)."""
    placed = placed.select(*PERIOD_KEYS, "reference_date", "case_id", "phase", "intervention").distinct()
    # Only the histories of the cases placed: most cases have nothing ongoing on a given date.
    open_cases = placed.select("municipality", "case_id").distinct()
    responsible = _responsibility(sources.events.semi_join(open_cases, ["municipality", "case_id"]))
    joined = placed.join(responsible, [placed.municipality == responsible.ev_municipality,
                                       placed.case_id == responsible.ev_case_id,
                                       responsible.ev_date <= placed.reference_date,
                                       responsible.valid_until.isnull()
                                       | (responsible.valid_until > placed.reference_date)])
    return joined.select(*placed.columns, unit=joined.ev_unit, caseworker_id=joined.ev_caseworker)


def _responsibility(events: ir.Table) -> ir.Table:
    """Who is responsible for a case from each of its event days until its next one: the unit
    and caseworker on the day's last event in process order. As intervals, so that placing a
    case at a date is a range join rather than a search through its history."""
    rank = ibis.cases(*[(events.event == e, i) for i, e in enumerate(EVENT_ORDER)], else_=0)
    history = events.select(ev_municipality="municipality", ev_case_id="case_id", ev_date="date",
                            ev_rank=rank, ev_unit="unit", ev_caseworker="caseworker_id")
    same_day = ibis.window(group_by=[history.ev_municipality, history.ev_case_id, history.ev_date],
                           order_by=[history.ev_rank.desc(), history.ev_caseworker.asc(nulls_first=False),
                                     history.ev_unit.asc(nulls_first=False)])
    days = history.filter(ibis.row_number().over(same_day) == 0)
    following = ibis.window(group_by=[days.ev_municipality, days.ev_case_id], order_by=days.ev_date)
    return days.mutate(valid_until=days.ev_date.lead().over(following))


# --- caseworkers' load ---------------------------------------------------------------------

def caseworkers(spec, sources: Sources) -> ir.Table:
    """Employments in the case-holding roles (workforce.yaml), unless the spec names roles."""
    facts = _filtered(employment_facts(sources), spec)
    if spec.roles:
        return facts
    return facts.semi_join(sources.caseworker_roles, "role")


def placed_weighted_work(sources: Sources, periods: ir.Table) -> ir.Table:
    """Every kind of case work on the periods' reference dates, with its case's unit and
    caseworker then and its points."""
    at_date = at_reference_date(all_case_work(sources), periods)
    return weighted_work(case_work_at_period(at_date, CaseWorkSubject(), sources, periods), sources)


def weighted_work(work: ir.Table, sources: Sources) -> ir.Table:
    """Placed case work with its points (workload.yaml)."""
    weights = sources.workload_weights
    joined = work.join(weights, [work.phase == weights.phase,
                                 work.intervention.fill_null("") == weights.intervention.fill_null("")])
    return without_right(joined)


def caseworker_loads_at_period(placed: ir.Table, spec, sources: Sources, periods: ir.Table) -> ir.Table:
    """One row per caseworker in post at the reference date: the points of the cases they
    hold, the norm for their experience and FTE, and `load_ratio` = points ÷ norm. Someone
    in two posts at once is one caseworker: FTE summed, the first unit (alphabetically)."""
    placed = employments_at_period(placed, spec, sources, periods)
    person = placed.group_by([*PERIOD_KEYS, "reference_date", "staff_id"]).aggregate(
        unit=placed.unit.min(), role=placed.role.max(), employment=placed.employment.min(),
        fte=placed.fte.sum(), years_since_exam=placed.years_since_exam.max())
    work = sources.weighted_work if sources.weighted_work is not None else placed_weighted_work(sources, periods)
    held = work.group_by([*PERIOD_KEYS, "caseworker_id"]).aggregate(
        points=work.points.sum(), cases=work.case_id.nunique())
    loads = person.left_join(held, [person.municipality == held.municipality, person.period == held.period,
                                    person.period_type == held.period_type,
                                    person.staff_id == held.caseworker_id])
    loads = without_right(loads).drop("caseworker_id")
    norms = sources.workload_norms
    # A degree later than the measuring day (a January graduate in spring, a student hired
    # before the degree) is the least experience there is, not none.
    years = ibis.cases((loads.years_since_exam < 0, 0.0), else_=loads.years_since_exam)
    rated = loads.join(norms, ibis.cases(
        (years.isnull(), norms.for_missing),
        else_=(years >= norms.from_years) & (norms.below_years.isnull() | (years < norms.below_years))))
    rated = rated.mutate(points=rated.points.fill_null(0.0), cases=rated.cases.fill_null(0),
                         norm_points=rated.norm_per_fte * rated.fte)
    return rated.mutate(load_ratio=ibis.cases((rated.norm_points > 0, rated.points / rated.norm_points),
                                              else_=None))


# --- the kinds ---------------------------------------------------------------------------------

_CASE_WORK_COLUMNS = frozenset({"unit", "caseworker_id", "intervention", "intervention_id"})
STAFF: frozenset[Data] = frozenset({"staff"})


def register() -> None:
    """Register the staff-data kinds and case work with the engine (entry point)."""
    register_kinds(
        SubjectKind("case_work", CaseWorkSubject, case_work, always("reference_date"),
                    at_period=case_work_at_period, event_columns=_CASE_WORK_COLUMNS, rows_from_events=False),
        SubjectKind("employments", EmploymentsSubject, employments,
                    lambda spec: "overlap" if spec.at == "period" else "reference_date", data=STAFF,
                    at_period=employments_at_period, rows_from_events=False, record="staff_id",
                    narrows=EmploymentsSubject.narrows),
        SubjectKind("employment_ends", EmploymentEndsSubject, employment_ends, always("date"), data=STAFF,
                    rows_from_events=False, record="staff_id"),
        SubjectKind("arrivals", ArrivalsSubject, arrivals, always("date"), data=STAFF,
                    rows_from_events=False, record="staff_id"),
        SubjectKind("programme_targets", ProgrammeTargetsSubject, all_employments, always("reference_date"),
                    data=STAFF, at_period=programme_targets_at_period, rows_from_events=False, record="staff_id"),
        SubjectKind("grants", GrantsSubject, grant_rows, always("overlap"), data=STAFF,
                    at_period=grants_at_period, rows_from_events=False, record="grant"),
        SubjectKind("mentorships", MentorshipsSubject, mentorships, always("reference_date"), data=STAFF,
                    at_period=mentorships_at_period, rows_from_events=False, record="staff_id"),
        # Caseworkers, with the points of the cases they hold: both kinds of data.
        SubjectKind("caseworker_loads", CaseworkerLoadsSubject, caseworkers, always("reference_date"),
                    data=STAFF | {"events"}, at_period=caseworker_loads_at_period,
                    event_columns=_CASE_WORK_COLUMNS, rows_from_events=False, record="staff_id"))
