"""The registry of subject kinds: the one place where a kind of subject is declared.

A kind is what a definition's `subjects:` names (`pairs`, `spells`, `employments`, …): its
spec model (what the YAML may say), how its rows are built from the sources, how they are
placed in periods and what they add once placed. The engine knows no kind by name; it looks
each up here. The packages that implement kinds register them through the entry-point group
`insyn.subject_kinds` (pyproject.toml): the case-data kinds from `insyn.indicators.case_kinds`,
the staff-data kinds from `insyn.workforce.subjects`. So the indicators package never imports
the workforce package, and a new package can add kinds without editing this one
(CONTRIBUTING.md).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Literal

from pydantic import BaseModel

ENTRY_POINT_GROUP = "insyn.subject_kinds"
Placement = Literal["date", "overlap", "reference_date", "period_end"]
Data = Literal["events", "staff", "costs", "prices"]


@dataclass(frozen=True)
class SubjectKind:
    """How a kind of subject is read, built and placed.

    `placement` (of the spec): "date" — in the period of its date; "overlap" — in every period it
    overlaps; "reference_date" — in every period whose reference date it covers; "period_end" —
    at the period's last day. `at_period` adds what depends on the period (experience at the
    date, the caseworker of the case at the date). `data`: which of a municipality's data the
    subjects come from; a period is computed only where the municipality has them."""

    name: str
    spec: type[BaseModel]
    build: Callable
    placement: Callable[[Any], Placement]  # of the kind's spec
    data: frozenset[Data] = frozenset({"events"})
    at_period: Callable | None = None
    first_per_child: bool = False  # counted once per child and period: the child's first
    event_columns: frozenset[str] = frozenset()  # event columns it reads beyond the basics
    # Its rows are the events' own, so the columns a count's conditions and breakdowns read
    # come from the events; False where the rows are built from elsewhere (staff, case work).
    rows_from_events: bool = True
    record: Literal["case_id", "staff_id", "grant"] = "case_id"  # what one subject row is about
    # Whether every subject of the first spec is one of the second's (roles within roles, say):
    # nested counts are relations the disclosure control knows of. None: only equal specs.
    narrows: Callable[[Any, Any], bool] | None = None


def always(placement: Placement) -> Callable[[Any], Placement]:
    """A placement that does not depend on the spec."""
    return lambda spec: placement


_registry: dict[str, SubjectKind] = {}
_loaded = False


def register(*kinds: SubjectKind) -> None:
    """Add kinds; a name may be registered once (the same kind again is a no-op)."""
    for kind in kinds:
        known = _registry.get(kind.name)
        if known is not None and known != kind:
            raise ValueError(f"subject kind {kind.name!r} is registered twice")
        _registry[kind.name] = kind


def _load_plugins() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    found = entry_points(group=ENTRY_POINT_GROUP)
    if not found:
        raise RuntimeError(f"no subject kinds are registered (entry points {ENTRY_POINT_GROUP!r}): "
                           "is Insyn installed (pip install -e .)?")
    for entry in found:
        entry.load()()


def subject_kinds() -> dict[str, SubjectKind]:
    """Every registered kind by name, the installed packages' kinds loaded on first use."""
    _load_plugins()
    return _registry


def subject_kind(name: str) -> SubjectKind:
    kinds = subject_kinds()
    if name not in kinds:
        raise ValueError(f"okänd sorts subjekt '{name}' (kända: {', '.join(kinds)})")
    return kinds[name]


def source_files() -> list[str]:
    """The files the registered kinds are built in: compiled SQL depends on them."""
    functions = [f for kind in subject_kinds().values() for f in (kind.build, kind.at_period) if f]
    return sorted({inspect.getfile(f) for f in functions})
