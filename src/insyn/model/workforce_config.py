"""The workforce data files: reference date and training targets (workforce.yaml), workload
weights and norms (workload.yaml). Both ship with defaults; a copy in the data folder wins, so
a municipality edits its own without touching the package. A bad file is refused with the
file, the place in it and what is wrong, in Swedish."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from insyn import config_files
from insyn.config_files import ConfigError, Strict, load_model  # noqa: F401  (ConfigError: raised from here)
from insyn.model.codes import codes

PACKAGE = "insyn.model"
WORKFORCE_FILE = "workforce.yaml"
WORKLOAD_FILE = "workload.yaml"


def _known(values: list[str], code_list: str) -> list[str]:
    unknown = sorted(set(values) - set(codes(code_list)))
    if unknown:
        raise ValueError(f"okänd kod {', '.join(unknown)} (giltiga: {', '.join(codes(code_list))})")
    return values


class ReferenceDate(Strict):
    month: Annotated[int, Field(ge=1, le=12)]
    day: Annotated[int, Field(ge=1, le=31)]

    @model_validator(mode="after")
    def _exists(self):
        dt.date(2023, self.month, self.day)  # a date every year has (no 29 February)
        return self

    def in_year(self, year: int) -> dt.date:
        return dt.date(year, self.month, self.day)


class ProgrammeTarget(Strict):
    roles: list[str]
    employment: list[str]
    under_years_since_exam: float | None = None
    under_years_in_municipality: float | None = None

    _roles = field_validator("roles")(lambda v: _known(v, "role"))
    _employment = field_validator("employment")(lambda v: _known(v, "employment"))


class WorkforceConfig(Strict):
    reference_date: ReferenceDate
    caseworker_roles: list[str]
    programmes: dict[str, ProgrammeTarget]
    personnel_cost_addon_percent: dict[int, Annotated[float, Field(ge=0, le=100)]] = Field(min_length=1)

    _roles = field_validator("caseworker_roles")(lambda v: _known(v, "role"))

    def personnel_cost_addon(self, year: int) -> float:
        """The add-on on salaries in `year`, as a fraction: the latest listed year's at or
        before it, else the first listed year's."""
        listed = sorted(self.personnel_cost_addon_percent)
        at_or_before = [y for y in listed if y <= year]
        return self.personnel_cost_addon_percent[at_or_before[-1] if at_or_before else listed[0]] / 100

    @field_validator("programmes")
    @classmethod
    def _programmes_known(cls, value: dict) -> dict:
        _known(list(value), "programme")
        return value

    def target_rows(self) -> list[dict]:
        """One row per (programme, role, employment) targeted, for the engine to join on."""
        return [{"programme": programme, "role": role, "employment": employment,
                 "under_years_since_exam": target.under_years_since_exam,
                 "under_years_in_municipality": target.under_years_in_municipality}
                for programme, target in self.programmes.items()
                for role in target.roles for employment in target.employment]


class Norm(Strict):
    level: str
    label: str
    below_years: float | None = None
    points: Annotated[float, Field(gt=0)]


class Weights(Strict):
    forhandsbedomning: Annotated[float, Field(ge=0)]
    utredning: Annotated[float, Field(ge=0)]
    insats: dict[str, Annotated[float, Field(ge=0)]]

    @field_validator("insats")
    @classmethod
    def _every_intervention(cls, value: dict) -> dict:
        _known(list(value), "intervention")
        missing = [c for c in codes("intervention") if c not in value]
        if missing:
            raise ValueError(f"vikt saknas för insats {', '.join(missing)}")
        return value


class ScaleStep(Strict):
    value: int
    label: str


class SelfRating(Strict):
    """The caseworker's own monthly rating (Mitt arbete): the question, its scale (the values the
    workload_ratings table accepts), from which value a month counts as over the norm, the
    flexitime question, and how many days into the next month a rating can still be changed."""

    question: str
    scale: list[ScaleStep]
    over_norm_from: int
    flex_question: str
    open_days_after_month: Annotated[int, Field(ge=0, le=31)]

    @model_validator(mode="after")
    def _scale_within_table(self):
        values = [step.value for step in self.scale]
        if not values or values != sorted(set(values)) or values[0] < 1 or values[-1] > 5:
            raise ValueError("self_rating.scale: stigande värden, vart och ett från 1 till 5")
        if self.over_norm_from not in values:
            raise ValueError("self_rating.over_norm_from: ska vara ett av skalans värden")
        return self


class WorkloadConfig(Strict):
    weights: Weights
    norms: list[Norm]
    missing_exam_year_level: str
    self_rating: SelfRating
    alert_months: Annotated[int, Field(ge=1)]

    @model_validator(mode="after")
    def _norm_ladder(self):
        bounds = [n.below_years for n in self.norms]
        if not self.norms or bounds[-1] is not None or any(b is None for b in bounds[:-1]):
            raise ValueError("norms: varje nivå utom den sista behöver below_years, den sista ingen")
        if bounds[:-1] != sorted(bounds[:-1]):
            raise ValueError("norms: below_years ska öka nivå för nivå")
        levels = [n.level for n in self.norms]
        if len(set(levels)) != len(levels):
            raise ValueError("norms: samma nivå står två gånger")
        if self.missing_exam_year_level not in levels:
            raise ValueError(f"missing_exam_year_level: {self.missing_exam_year_level} är ingen nivå i norms")
        return self

    def weight_rows(self) -> list[dict]:
        """(phase, intervention, points) rows; intervention empty outside interventions."""
        rows = [{"phase": "forhandsbedomning", "intervention": None, "points": self.weights.forhandsbedomning},
                {"phase": "utredning", "intervention": None, "points": self.weights.utredning}]
        return rows + [{"phase": "insats", "intervention": code, "points": points}
                       for code, points in self.weights.insats.items()]

    def norm_rows(self) -> list[dict]:
        lower = [0.0] + [n.below_years for n in self.norms[:-1]]
        return [{"level": n.level, "label": n.label, "from_years": lo, "below_years": n.below_years,
                 "norm_per_fte": n.points, "for_missing": n.level == self.missing_exam_year_level}
                for n, lo in zip(self.norms, lower, strict=True)]


def shipped(name: str) -> Path:
    return config_files.shipped(PACKAGE, name)


def resolve(data_dir: Path | None, name: str) -> Path:
    """The data folder's copy of a file when there is one, else the shipped default."""
    return config_files.resolve(data_dir, PACKAGE, name)


def load_workforce(path: Path | None = None) -> WorkforceConfig:
    return load_model(path or shipped(WORKFORCE_FILE), WorkforceConfig, sections_from=shipped(WORKFORCE_FILE))


def load_workload(path: Path | None = None) -> WorkloadConfig:
    return load_model(path or shipped(WORKLOAD_FILE), WorkloadConfig, sections_from=shipped(WORKLOAD_FILE))
