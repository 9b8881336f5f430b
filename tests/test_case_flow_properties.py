"""The engine's pairing of case events against plain-Python statements of the rules, on random
event sequences (Hypothesis): interventions first in, first out or by decision id (ids on one
side only, ends before starts), with ends before any start; initial assessments with the
earliest report not yet decided on, leaving out reports during an ongoing investigation of the
child (SoL 2025:400 20 kap. 2 §), several assessments on one day taking the reports in turn."""

from __future__ import annotations

import datetime as dt
from collections import Counter, deque

import ibis
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insyn.indicators.definitions import Ongoing, PairsSubject, SpellsSubject
from insyn.indicators.subjects import Sources, pairs_subjects, spells

DAY0 = dt.date(2024, 1, 1)
MUNICIPALITY = "1480"
INTERVENTIONS = SpellsSubject(start="intervention_start", end="intervention_end", same=["intervention"],
                              id="intervention_id")
ASSESSMENTS = PairsSubject(event="initial_assessment", after="report", pick="earliest_undecided",
                           answered_by=["investigation_start"],
                           not_during=Ongoing(start="investigation_start", end="investigation_end"))
COLUMNS = ["municipality", "case_id", "event", "date", "intervention", "intervention_id", "person_key", "unit"]


def run(frame: pd.DataFrame, build) -> pd.DataFrame:
    """The subjects `build` makes from these events, computed by DuckDB."""
    events = ibis.memtable(frame[COLUMNS].astype({"date": "datetime64[s]"}),
                           schema={"municipality": "string", "case_id": "string", "event": "string",
                                   "date": "date", "intervention": "string", "intervention_id": "string",
                                   "person_key": "string", "unit": "string"})
    sources = Sources(events=events, **{name: events for name in (
        "staff", "trainings", "courses", "mentorships", "periods", "programme_targets", "workload_weights",
        "workload_norms", "caseworker_roles")})
    return ibis.duckdb.connect().execute(build(sources))


def as_date(value) -> dt.date | None:
    return None if pd.isna(value) else pd.Timestamp(value).date()


def first_day(events: list[dict]) -> dt.date | None:
    """The first day the municipality's data cover: its first report."""
    reports = [e["date"] for e in events if e["event"] == "report"]
    return min(reports) if reports else None


# --- interventions -------------------------------------------------------------------------------

def fifo(rows: list[dict], start: str, first: dt.date | None) -> list[tuple]:
    """(start, end) of the spells of one case and kind, first in, first out: starts before ends
    on one day; an end with nothing open began before the data (from `first`, if earlier)."""
    found, open_starts = [], deque()
    for e in sorted(rows, key=lambda e: (e["date"], e["event"] != start)):
        if e["event"] == start:
            open_starts.append(e["date"])
        elif open_starts:
            found.append((open_starts.popleft(), e["date"]))
        else:
            found.append((min(first, e["date"]) if first else e["date"], e["date"]))
    return found + [(day, None) for day in open_starts]


def reference_spells(events: list[dict]) -> Counter:
    """(case, kind, start, end) of every spell, by the rule in words: an id with a start and an
    end on or after its first start is one spell, from that start to its last end; every other
    row pairs first in, first out."""
    found: Counter = Counter()
    first = first_day(events)
    groups: dict[tuple, list[dict]] = {}
    for e in events:
        if e["event"] in ("intervention_start", "intervention_end"):
            groups.setdefault((e["case_id"], e["intervention"]), []).append(e)
    for (case, kind), rows in groups.items():
        by_id: dict[str, list[dict]] = {}
        for e in rows:
            if e["intervention_id"] is not None:
                by_id.setdefault(e["intervention_id"], []).append(e)
        pool = [e for e in rows if e["intervention_id"] is None]
        for decision in by_id.values():
            starts = [e["date"] for e in decision if e["event"] == "intervention_start"]
            ends = [e["date"] for e in decision if e["event"] == "intervention_end"]
            if starts and ends and max(ends) >= min(starts):
                found[(case, kind, min(starts), max(ends))] += 1
            else:
                pool += decision
        for span in fifo(pool, "intervention_start", first):
            found[(case, kind, *span)] += 1
    return found


kinds = st.sampled_from(["oppenvard", "familjehem"])


@st.composite
def intervention_histories(draw) -> list[dict]:
    """A few cases, each a random sequence of starts and ends of one or two kinds, some with
    decision ids (each id a start and/or an end), ends possibly before any start."""
    events: list[dict] = [dict(case_id="R", event="report", date=DAY0 + dt.timedelta(days=draw(st.integers(0, 30))),
                               intervention=None, intervention_id=None)]
    for c in range(draw(st.integers(1, 4))):
        case = f"K{c}"
        for _ in range(draw(st.integers(0, 7))):
            day = DAY0 + dt.timedelta(days=draw(st.integers(-20, 60)))
            kind = draw(kinds)
            event = draw(st.sampled_from(["intervention_start", "intervention_end"]))
            events.append(dict(case_id=case, event=event, date=day, intervention=kind, intervention_id=None))
        for d in range(draw(st.integers(0, 2))):
            start = DAY0 + dt.timedelta(days=draw(st.integers(-20, 60)))
            kind = draw(kinds)
            decision = f"{case}-B{d}"
            if draw(st.booleans()):
                events.append(dict(case_id=case, event="intervention_start", date=start, intervention=kind,
                                   intervention_id=decision))
            if draw(st.booleans()):
                events.append(dict(case_id=case, event="intervention_end",
                                   date=start + dt.timedelta(days=draw(st.integers(0, 40))),
                                   intervention=kind, intervention_id=decision))
    return events


def frame_of(events: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([{"person_key": "p", **e, "municipality": MUNICIPALITY, "unit": "U"} for e in events],
                        columns=COLUMNS)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(intervention_histories())
def test_interventions_pair_as_the_rule_says(events):
    computed = run(frame_of(events), lambda sources: spells(INTERVENTIONS, sources))
    engine = Counter((r.case_id, r.intervention, as_date(r.start_date), as_date(r.end_date))
                     for r in computed.itertuples())
    assert engine == reference_spells(events)


# --- initial assessments -------------------------------------------------------------------------

def reference_pairs(events: list[dict]) -> Counter:
    """(case, assessment day, report day) of every paired assessment, by the rule in words."""
    first = first_day(events)
    # Investigations first in, first out per case; whose child they concern.
    spans = []
    for case in {e["case_id"] for e in events}:
        rows = [e for e in events
                if e["case_id"] == case and e["event"] in ("investigation_start", "investigation_end")]
        person = next(e["person_key"] for e in events if e["case_id"] == case)
        spans += [(person, *span) for span in fifo(rows, "investigation_start", first)]

    def during(person: str, day: dt.date) -> bool:
        # An investigation of the child, started before that day and not ended before it.
        return any(p == person and start < day and (end is None or end >= day) for p, start, end in spans)

    pairs: Counter = Counter()
    for case in {e["case_id"] for e in events}:
        rows = [e for e in events if e["case_id"] == case]
        reports = sorted(e["date"] for e in rows if e["event"] == "report" and not during(e["person_key"], e["date"]))
        decisions = sorted({e["date"] for e in rows if e["event"] in ("initial_assessment", "investigation_start")})
        for day in sorted({e["date"] for e in rows if e["event"] == "initial_assessment"}):
            previous = max((d for d in decisions if d < day), default=None)
            waiting = [r for r in reports if r <= day and (previous is None or r > previous)]
            assessments = sum(1 for e in rows if e["event"] == "initial_assessment" and e["date"] == day)
            for report in waiting[:assessments]:  # several on one day take the reports in turn
                pairs[(case, day, report)] += 1
    return pairs


@st.composite
def case_histories(draw) -> list[dict]:
    """A few cases of one or two children (a child's investigation in one case holds the clock of
    a report in another), each a random sequence of reports, assessments and investigations."""
    events = []
    for c in range(draw(st.integers(1, 4))):
        person = draw(st.sampled_from(["p0", "p1"]))
        for _ in range(draw(st.integers(1, 9))):
            event = draw(st.sampled_from(["report", "report", "initial_assessment", "investigation_start",
                                          "investigation_end"]))
            events.append(dict(case_id=f"K{c}", event=event, date=DAY0 + dt.timedelta(days=draw(st.integers(0, 40))),
                               intervention=None, intervention_id=None, person_key=person))
    return events


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case_histories())
def test_assessments_pair_with_the_earliest_undecided_report(events):
    computed = run(frame_of(events), lambda sources: pairs_subjects(ASSESSMENTS, sources))
    engine = Counter((r.case_id, as_date(r.date), as_date(r.start_date)) for r in computed.itertuples())
    assert engine == reference_pairs(events)
