"""The indicator vocabulary (docs/indicators.md) as Pydantic models, and the library loader.

A definition says *what* is counted; engine.py knows *how* to count each kind of subject
and condition. Adding an indicator is adding YAML to library/, never code in the engine.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_serializer, model_validator

from insyn.indicators.kinds import subject_kind, subject_kinds
from insyn.model.codes import code_lists
from insyn.model.tables import EVENTS, OUTCOME_CODES

Breakdown = Literal["sex", "age_group", "unit"]
PeriodType = Literal["year", "quarter", "month"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def values_of(self, column: str) -> list[str] | None:
        """The only values the subjects can have in `column`, where the spec restricts them
        (None: any of its code list's)."""
        return None

    def widened(self) -> tuple[BaseModel, dict[str, list[str]]]:
        """The widest spec of the kind and the values this one keeps, as a condition would say
        (`one_of`): the ledger's five out-of-home forms are all its rows of those forms. The
        disclosure control compares counts through it."""
        return self, {}


# --- subjects of case data (registered in case_kinds.py; staff data: insyn.workforce) ---------

def event_names(event: str | list[str]) -> list[str]:
    """The events a spec names: one, or a list of them (the SIP meetings, held or followed up)."""
    return [event] if isinstance(event, str) else list(event)


class EventsSubject(Strict):
    """Each row of `event` (or of any of a list of events)."""

    event: str | list[str]


class Ongoing(Strict):
    """Spells of a case from a `start` event to its `end` event (as SpellsSubject pairs them)."""

    start: str
    end: str


class PairsSubject(Strict):
    """Each `event` row with the date of an `after` event of its case, chosen by `pick`:
    `latest` — the latest `after` on or before it; `earliest_undecided` — the earliest `after`
    since the case's previous decision (an `event` or one of `answered_by`; one on the day of a
    decision belongs to it), leaving out `after` events that came in while a spell of
    `not_during` was ongoing for the child (started before that day and not ended before it).
    Several `event`s on one day take the earliest `after`s in turn."""

    event: str
    after: str
    pick: Literal["latest", "earliest_undecided"] = "latest"
    answered_by: list[str] = []
    not_during: Ongoing | None = None


class WaitsSubject(Strict):
    """Each `event` row as a wait from its date to the case's first `until` event on or after
    that day (ongoing while there is none), leaving out `event` rows that came in while a spell
    of `not_during` was ongoing for the child."""

    event: str
    until: list[str]
    not_during: Ongoing | None = None


SpellPlacement = Literal["overlap", "start", "reference_date", "period_end"]


class SpellsSubject(Strict):
    """From each `start` event to the `end` event that closes it, per case and `same` columns.

    Where the `id` column is given on both, a start and an end pair by it. Otherwise an end
    closes the earliest start still open (first in, first out; on one day starts come before
    ends); an end with nothing open began before the data, and runs from the first day they
    cover. `at` places a spell in every period it overlaps, in the period of its start, on
    the period's reference date, or at the period's end."""

    start: str
    end: str | list[str]
    same: list[str] = []
    where: dict[str, list[str]] = {}
    id: str | None = None
    at: SpellPlacement = "overlap"
    # With `at: reference_date`: this calendar day of the year ("11-01") rather than the
    # workforce reference date, for an official measure fixed to a day.
    reference_day: str | None = None


class ClosingsSubject(Strict):
    """A child's closings: an investigation ended without intervention, or the end of the
    child's last ongoing intervention."""


class Subjects(BaseModel):
    """One kind of subject and its spec, written in YAML as `{kind: spec}` (`{pairs: {event:
    initial_assessment, after: report}}`). The kinds are those registered (insyn.indicators.kinds),
    looked up when a definition is read."""

    model_config = ConfigDict(frozen=True)

    kind: str
    spec: BaseModel

    @model_validator(mode="before")
    @classmethod
    def _one_kind(cls, data):
        if isinstance(data, Subjects):
            return data
        if not isinstance(data, dict) or len(data) != 1:
            raise ValueError(f"subjects needs exactly one of {', '.join(subject_kinds())}")
        (name, given), = data.items()
        spec_model = subject_kind(name).spec
        spec = given if isinstance(given, spec_model) else spec_model.model_validate(given or {})
        return {"kind": name, "spec": spec}

    @classmethod
    def of(cls, kind: str, spec: BaseModel) -> Subjects:
        """The subjects of a registered kind, from code (YAML reads `{kind: spec}`)."""
        return cls.model_validate({kind: spec})

    @model_serializer
    def _as_written(self) -> dict:
        return {self.kind: self.spec.model_dump(mode="json", exclude_none=True)}

    @property
    def data(self) -> set[str]:
        """Which data the subjects come from: "staff", "events" or both."""
        return set(subject_kind(self.kind).data)

    def key(self) -> str:
        return self.model_dump_json()


class FollowedBy(Strict):
    """The same child (`same: person`) or case (`same: case`) has an `event` after the subject's
    date — or on it, with `from_same_day` — and no later than `within_months` calendar months or
    `within_days` days after it."""

    event: str
    within_months: int | None = None
    within_days: int | None = None
    same: Literal["person", "case"] = "person"
    from_same_day: bool = False

    @model_validator(mode="after")
    def _one_window(self):
        if (self.within_months is None) == (self.within_days is None):
            raise ValueError("followed_by needs exactly one of within_months, within_days")
        return self


class WithEvent(Strict):
    """The subject's case has an `event` (or one of a list) from the subject's start date — with
    `within_months`, from that many calendar months before the reference date — to its reference
    date; with `lasting: column`, one whose `column` (a date) is on or after the reference date."""

    event: str | list[str]
    lasting: str | None = None
    within_months: int | None = None


class AgeRange(Strict):
    """The subject's age in whole years on its reference date (`at: period_end`: the period's
    last day) lies from `from` to `to`; a subject of unknown age counts as inside with
    `unknown: true`. (Not `on:`: YAML 1.1 reads that key as a boolean.)"""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    age_from: int = Field(alias="from")
    age_to: int = Field(alias="to")
    unknown: bool = False
    at: Literal["reference_date", "period_end"] = "reference_date"


class Condition(Strict):
    """Every part given must hold."""

    within_days: int | None = None
    within_months: int | None = None
    until: str = "date"  # the column within_days/within_months measure to
    since: str = "start_date"  # the column they measure from
    equals: dict[str, str] | None = None
    one_of: dict[str, list[str]] | None = None
    less_than: dict[str, float] | None = None
    at_least: dict[str, float] | None = None
    greater_than: dict[str, float] | None = None
    present: list[str] | None = None
    followed_by: FollowedBy | None = None
    age: AgeRange | None = None
    months: list[int] | None = None  # the subject's date falls in one of these months (1–12)
    with_event: WithEvent | None = None
    person_marked: str | None = None  # an event of the same child in the municipality has this column = ja
    none_of: list[Condition] | None = None  # each of these fails

    def columns(self) -> set[str]:
        """Subject columns the condition reads (beyond the dates every subject has)."""
        names = set(self.present or [])
        for part in (self.equals, self.one_of, self.less_than, self.at_least, self.greater_than):
            names |= set(part or {})
        for inner in self.none_of or []:
            names |= inner.columns()
        if self.age:
            names |= {"birth_year", "birth_month"}
        if self.followed_by:
            names.add("person_key")
        if self.person_marked:
            names |= {"person_key", self.person_marked}
        return names

    def parts(self) -> list[Condition]:
        """This condition and every condition nested in it."""
        return [self, *[p for inner in self.none_of or [] for p in inner.parts()]]

    def implies(self, other: Condition | None) -> bool:
        """Whether every subject meeting this condition meets `other` (None: no condition), as
        far as the comparisons show; False when unsure. A comparison on a column holds only
        where the column has a value, so it implies `present` of that column."""
        if other is None:
            return True
        for name in other.model_fields_set:
            wanted, given = getattr(other, name), getattr(self, name)
            if wanted is None:
                continue
            if name == "present":
                if not set(wanted) <= set(self.present or []) | self._compared():
                    return False
            elif name in _BOUNDS:
                if not all(self._within(name, column, bound) for column, bound in wanted.items()):
                    return False
            elif name == "one_of":
                for column, values in wanted.items():
                    allowed = ([self.equals[column]] if self.equals and column in self.equals
                               else (self.one_of or {}).get(column))
                    if allowed is None or not set(allowed) <= set(values):
                        return False
            elif given != wanted:
                return False
        return True

    def excludes(self, other: Condition | None) -> bool:
        """Whether no subject can meet both conditions (as far as the comparisons show)."""
        if other is None:
            return False
        for first, second in ((self, other), (other, self)):
            for column, below in (first.less_than or {}).items():
                floors = [(second.at_least or {}).get(column), (second.greater_than or {}).get(column)]
                if any(floor is not None and below <= floor for floor in floors):
                    return True
        return any(value != (other.equals or {}).get(column, value) for column, value in (self.equals or {}).items())

    def _compared(self) -> set[str]:
        return {column for part in (self.equals, self.one_of, self.less_than, self.at_least, self.greater_than)
                for column in part or {}}

    def _within(self, kind: str, column: str, bound: float) -> bool:
        """Whether this condition keeps `column` within `kind` (less_than, at_least,
        greater_than) `bound`."""
        if kind == "less_than":
            below = (self.less_than or {}).get(column)
            return below is not None and below <= bound
        at_least, above = (self.at_least or {}).get(column), (self.greater_than or {}).get(column)
        if kind == "at_least":
            return any(floor is not None and floor >= bound for floor in (at_least, above))
        return (above is not None and above >= bound) or (at_least is not None and at_least > bound)


_BOUNDS = ("less_than", "at_least", "greater_than")


class Count(Strict):
    """What a numerator or denominator adds up, over its own `subjects` when given (else the
    definition's)."""

    count: Literal["subjects"] | None = None
    count_distinct: Literal["person", "case", "staff"] | None = None
    sum: str | None = None
    where: Condition | None = None
    population: dict[Literal["age_from", "age_to"], int] | None = None
    subjects: Subjects | None = None

    @model_validator(mode="after")
    def _one_measure(self):
        given = [m for m in ("count", "count_distinct", "sum", "population") if getattr(self, m) is not None]
        if len(given) != 1:
            raise ValueError("a count needs exactly one of count, count_distinct, sum, population")
        return self


class Statistic(Strict):
    median: Literal["duration_days"]


class RelatedKpi(Strict):
    """An official measure close to the indicator: its id (Kolada's N…/U…), title, and how
    the indicator differs from it (docs/indicators.md); for an indicator by category, the
    `category` whose figure the measure is set beside (HVB's cost per care day beside `hvb`)."""

    id: str
    title: str
    difference: str
    category: str | None = None


class Definition(Strict):
    id: str
    name: str
    description: str
    unit: str
    follows: str
    # The official Kolada KPI id (N…/U…) when this indicator is that KPI, same definition and
    # unit; Kolada-shaped exports and imports use it, else `id` (docs/kolada.md).
    kolada: str | None = None
    related_kpis: list[RelatedKpi] = []
    area: str = ""
    target: float | None = None
    higher_is_better: bool | None = None
    subjects: Subjects
    numerator: Count | None = None
    # None: the value is the numerator itself (a number of people, say).
    denominator: Count | None = None
    statistic: Statistic | None = None
    factor: float = 1.0
    category: str | None = None
    # of_all: a category's share is of all subjects; within_category: each category has its
    # own denominator (the staff a training programme targets, say).
    category_shares: Literal["of_all", "within_category"] = "of_all"
    breakdowns: list[Breakdown] = []
    periods: list[PeriodType] = ["year", "quarter"]
    requires_followup_months: int | None = None

    def category_code_list(self) -> str:
        """The code list the categories come from: the column's own, or for an event's outcome
        that of the event the subjects are (a police assistance request's answer, say)."""
        assert self.category is not None
        if self.category == "outcome":
            event = getattr(self.subjects.spec, "event", None)
            if isinstance(event, str) and event in OUTCOME_CODES:
                return OUTCOME_CODES[event]
        return self.category

    @property
    def overlapping_categories(self) -> bool:
        """Whether a subject can be in several categories at once (the organisations at a SIP
        meeting): then the categories do not add up to the total."""
        return self.category is not None and any(
            c.name == self.category and c.kind == "codes" for c in EVENTS.columns)

    def category_codes(self) -> list[str]:
        """The codes of the indicator's categories: its code list's, or only those its subjects
        can have (care days are of out-of-home forms: no row of öppenvård at 0 %)."""
        if self.category is None:
            return []
        restricted = self.subjects.spec.values_of(self.category) if isinstance(self.subjects.spec, Strict) else None
        listed = list(code_lists().get(self.category_code_list(), {}))
        return [c for c in listed if c in restricted] if restricted else listed

    @model_validator(mode="after")
    def _consistent(self):
        fixed = [c for c in [self.subjects, *[c.subjects for c in self.counts() if c.subjects]]
                 if getattr(c.spec, "reference_day", None)]
        if fixed and self.periods != ["year"]:
            raise ValueError(f"{self.id}: a reference_day needs periods: [year]")
        if (self.numerator is None) == (self.statistic is None):
            raise ValueError(f"{self.id}: give either a numerator or a statistic")
        if self.statistic is not None and self.denominator is None:
            raise ValueError(f"{self.id}: a statistic needs a denominator (the subjects counted)")
        if self.category and any(c.subjects for c in self.counts()):
            raise ValueError(f"{self.id}: a category needs numerator and denominator over the same subjects")
        if self.overlapping_categories and (self.category_shares != "of_all" or any(c.sum for c in self.counts())):
            raise ValueError(f"{self.id}: a subject in several categories is counted, with category_shares: of_all")
        # An indicator by category has no total figure: a related measure is set beside one category's.
        beside = [k.category for k in self.related_kpis]
        if self.category and (None in beside or not set(beside) <= set(self.category_codes())):
            raise ValueError(f"{self.id}: each related KPI needs the category it is set beside "
                             f"({', '.join(self.category_codes())})")
        if not self.category and any(beside):
            raise ValueError(f"{self.id}: a related KPI's category needs an indicator by category")
        populations = [c for c in self.counts() if c.population]
        if populations and self.breakdowns:
            raise ValueError(f"{self.id}: population counts have no breakdowns")
        if len(populations) == len(self.counts()):
            raise ValueError(f"{self.id}: something besides a population must be counted")
        return self

    def counts(self) -> list[Count]:
        return [c for c in (self.numerator, self.denominator) if c is not None]

    @property
    def poolable(self) -> bool:
        """A share or a rate of counted records, not split into categories: three years of it can
        be added up (insyn.indicators.pooled)."""
        numerator, denominator = self.numerator, self.denominator
        return (self.statistic is None and not self.category and numerator is not None
                and denominator is not None and numerator.sum is None and numerator.population is None
                and denominator.sum is None)

    def subjects_of(self, count: Count) -> Subjects:
        return count.subjects or self.subjects

    def data(self) -> set[str]:
        """The data the definition needs ("events", "staff"): its periods are those that have it."""
        return self.subjects.data.union(*[self.subjects_of(c).data for c in self.counts() if not c.population])


@cache
def _area_files(folder: Path | None = None) -> dict[str, dict]:
    """The library's area files by area id: the shipped library/, or those of `folder`."""
    root = resources.files("insyn.indicators").joinpath("library") if folder is None else Path(folder)
    return {entry.name.removesuffix(".yaml"): yaml.safe_load(entry.read_text(encoding="utf-8"))
            for entry in sorted(root.iterdir(), key=lambda p: p.name)
            if entry.name.endswith(".yaml")}


def area_names() -> dict[str, str]:
    """Area id (the library file's name) -> its Swedish name."""
    return {area: content["area_name"] for area, content in _area_files().items()}


def area_headlines(folder: Path | None = None) -> dict[str, list[str] | None]:
    """Area id -> the indicators a short summary (the terminal's) shows: the file's `headline`
    list, or None for all of them."""
    return {area: content.get("headline") for area, content in _area_files(folder).items()}


def pooled_indicators(folder: Path | None = None) -> frozenset[str]:
    """The indicators published for three years pooled too: each area file's `pooled` list."""
    return frozenset(i for content in _area_files(folder).values() for i in content.get("pooled", []))


class FunnelStep(BaseModel):
    """One step of an area's funnel (the web app's Ärendeflöde): a count the library already makes."""

    model_config = ConfigDict(extra="forbid")

    label: str
    indicator: str
    side: Literal["numerator", "denominator"]


def area_funnels() -> dict[str, list[FunnelStep]]:
    """Area id -> the steps of its funnel (the file's `funnel` list); areas without one are left out."""
    funnels = {area: [FunnelStep.model_validate(step) for step in content["funnel"]]
               for area, content in _area_files().items() if content.get("funnel")}
    ids = {d.id for d in library()}
    unknown = {s.indicator for steps in funnels.values() for s in steps} - ids
    if unknown:
        raise ValueError(f"funnel names indicators that do not exist: {sorted(unknown)}")
    return funnels


@cache
def library(folder: Path | None = None) -> tuple[Definition, ...]:
    """Every shipped definition; the file name (one per area) is the definition's area.
    `folder`: another directory of area files to read instead of the shipped library/ (a test's
    copy of it with one more indicator, say)."""
    definitions = [Definition.model_validate({"area": area, **item})
                   for area, content in _area_files(folder).items()
                   for item in content["indicators"]]
    ids = [d.id for d in definitions]
    unknown = {i for headline in area_headlines(folder).values() for i in headline or [] if i not in ids}
    if unknown:
        raise ValueError(f"headline names indicators that do not exist: {sorted(unknown)}")
    poolable = {d.id for d in definitions if d.poolable}
    not_poolable = {i for area in _area_files(folder).values() for i in area.get("pooled", [])} - poolable
    if not_poolable:
        raise ValueError(f"pooled names indicators that are no shares or rates of counts: {sorted(not_poolable)}")
    duplicated = {i for i in ids if ids.count(i) > 1}
    if duplicated:
        raise ValueError(f"indicator ids defined twice: {sorted(duplicated)}")
    return tuple(definitions)


def by_id() -> dict[str, Definition]:
    return {d.id: d for d in library()}
