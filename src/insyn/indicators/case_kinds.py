"""The kinds of subject built from case data (docs/indicators.md), registered with the engine
through the entry point `insyn.subject_kinds` like any other package's kinds."""

from __future__ import annotations

from insyn.indicators.cost_kinds import KINDS as COST_KINDS
from insyn.indicators.definitions import (
    ClosingsSubject,
    EventsSubject,
    PairsSubject,
    SpellsSubject,
    WaitsSubject,
)
from insyn.indicators.kinds import Placement, SubjectKind, always
from insyn.indicators.kinds import register as register_kinds
from insyn.indicators.subjects import closings_subjects, events_subjects, pairs_subjects, spells, waits_subjects

# A spell's `at` -> its placement.
SPELL_PLACEMENTS: dict[str, Placement] = {"overlap": "overlap", "start": "date", "reference_date": "reference_date",
                    "period_end": "period_end"}
PERSON = frozenset({"person_key"})


def register() -> None:
    register_kinds(
        SubjectKind("events", EventsSubject, events_subjects, always("date")),
        SubjectKind("pairs", PairsSubject, pairs_subjects, always("date"), event_columns=PERSON),
        SubjectKind("waits", WaitsSubject, waits_subjects, always("period_end"), event_columns=PERSON),
        SubjectKind("spells", SpellsSubject, spells, lambda spec: SPELL_PLACEMENTS[spec.at]),
        SubjectKind("closings", ClosingsSubject, closings_subjects, always("date"), first_per_child=True,
                    event_columns=PERSON | {"outcome", "intervention", "intervention_id"}),
        *COST_KINDS,
    )
