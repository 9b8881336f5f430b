"""The indicator vocabulary (docs/indicators.md) as Pydantic models, and the library loader.

A definition says *what* is counted; engine.py knows *how* to count each kind of subject
and condition. Adding an indicator is adding YAML to library/, never code in the engine.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, model_validator

Breakdown = Literal["sex", "age_group", "unit"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EventsSubject(Strict):
    event: str


class PairsSubject(Strict):
    """Each `event` row, with the date of the latest `after` event of the case on or before it."""

    event: str
    after: str


class SpellsSubject(Strict):
    """From each `start` event to the next `end` event of the case with the same `same` columns."""

    start: str
    end: str
    same: list[str] = []
    where: dict[str, list[str]] = {}


class ClosingsSubject(Strict):
    """A child's closings: an investigation ended without intervention, or the end of the
    child's last ongoing intervention."""


class Subjects(Strict):
    events: EventsSubject | None = None
    pairs: PairsSubject | None = None
    spells: SpellsSubject | None = None
    closings: ClosingsSubject | None = None

    @model_validator(mode="after")
    def _exactly_one(self):
        if sum(v is not None for v in (self.events, self.pairs, self.spells, self.closings)) != 1:
            raise ValueError("subjects needs exactly one of events, pairs, spells, closings")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in ("events", "pairs", "spells", "closings") if getattr(self, k))

    @property
    def spec(self):
        return getattr(self, self.kind)


class FollowedBy(Strict):
    event: str
    within_months: int


class Condition(Strict):
    within_days: int | None = None
    within_months: int | None = None
    equals: dict[str, str] | None = None
    followed_by: FollowedBy | None = None


class Count(Strict):
    count: Literal["subjects"] | None = None
    count_distinct: Literal["person"] | None = None
    where: Condition | None = None
    population: dict[Literal["age_from", "age_to"], int] | None = None


class Statistic(Strict):
    median: Literal["duration_days"]


class Definition(Strict):
    id: str
    name: str
    description: str
    unit: str
    follows: str
    area: str = ""
    target: float | None = None
    higher_is_better: bool | None = None
    subjects: Subjects
    numerator: Count | None = None
    denominator: Count
    statistic: Statistic | None = None
    factor: float = 1.0
    category: str | None = None
    breakdowns: list[Breakdown] = []
    requires_followup_months: int | None = None

    @model_validator(mode="after")
    def _numerator_or_statistic(self):
        if (self.numerator is None) == (self.statistic is None):
            raise ValueError(f"{self.id}: give either a numerator or a statistic")
        if self.denominator.population and self.breakdowns:
            raise ValueError(f"{self.id}: population denominators have no breakdowns")
        return self


@cache
def _area_files() -> dict[str, dict]:
    folder = resources.files("insyn.indicators").joinpath("library")
    return {entry.name.removesuffix(".yaml"): yaml.safe_load(entry.read_text(encoding="utf-8"))
            for entry in sorted(folder.iterdir(), key=lambda p: p.name)
            if entry.name.endswith(".yaml")}


def area_names() -> dict[str, str]:
    """Area id (the library file's name) -> its Swedish name."""
    return {area: content["area_name"] for area, content in _area_files().items()}


@cache
def library() -> tuple[Definition, ...]:
    """Every shipped definition; the file name (one per area) is the definition's area."""
    definitions = [Definition.model_validate({"area": area, **item})
                   for area, content in _area_files().items()
                   for item in content["indicators"]]
    ids = [d.id for d in definitions]
    duplicated = {i for i in ids if ids.count(i) > 1}
    if duplicated:
        raise ValueError(f"indicator ids defined twice: {sorted(duplicated)}")
    return tuple(definitions)


def by_id() -> dict[str, Definition]:
    return {d.id: d for d in library()}
