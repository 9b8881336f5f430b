"""The disclosure rules (disclosure.yaml): thresholds as data, editable per installation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from insyn import config_files
from insyn.config_files import Strict, load_model

PACKAGE = "insyn.disclosure"
RULES_FILE = "disclosure.yaml"


class SumRule(Strict):
    """A rule for sums that applies to the sums of subjects of the kinds in `about` (all sums
    when empty)."""

    about: list[str] = Field(default_factory=list)

    def applies_to(self, kind: str) -> bool:
        return not self.about or kind in self.about


class Dominance(SumRule):
    """The (n, k) dominance rule: a sum is hidden when its `n` largest records (1 or 2) make
    more than `percent` per cent of it."""

    n: Literal[1, 2] = 1
    percent: Annotated[float, Field(gt=0, le=100)]


class PPercent(SumRule):
    """The p% rule: a sum is hidden when the second largest record's holder could estimate the
    largest within `p` per cent: the sum less the two largest is under p % of the largest."""

    p: Annotated[float, Field(gt=0, le=100)]


class PublicFigures(Strict):
    """Figures that are public statistics already and are published in full with their n: no
    small-count or small-denominator rule, never hidden to protect another figure. A figure is
    one when it counts subjects of a kind in `about`, for a whole municipality (not a unit), in
    an indicator not listed in `except_indicators`."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    about: list[str]
    except_indicators: list[str] = Field(default_factory=list, alias="except")


COST_KINDS = ["care_costs", "care_days", "priced_care_days"]
# Sums that are never public, whatever a data folder's disclosure.yaml says (one made before
# they existed lists no exception for them): over one or two posts a personnel cost is those
# persons' salaries (docs/grants.md).
NEVER_PUBLIC_SUMS = frozenset({"personnel_cost", "monthly_salary"})


class DisclosureRules(Strict):
    count_threshold: Annotated[int, Field(ge=1)] = 5
    # A forecast's monthly history is published rounded to a multiple of this (absent from older
    # copies of disclosure.yaml: the shipped value).
    history_rounding: Annotated[int, Field(ge=1)] = 5
    denominator_threshold: Annotated[int, Field(ge=1)] = 10
    protection_width: Annotated[float | None, Field(gt=0)] = None
    sum_protection: Annotated[float, Field(gt=0)] = 1.0
    # As disclosure.yaml ships them: a data folder's file without these keys keeps the cost of
    # care protected (`dominance: null` turns a rule off).
    dominance: Dominance | None = Dominance(n=2, percent=85, about=COST_KINDS)
    p_percent: PPercent | None = PPercent(p=10, about=COST_KINDS)
    public: list[PublicFigures] = Field(default_factory=list)

    @property
    def width(self) -> float:
        """How wide a hidden count's possible values must be (default: the count threshold)."""
        return self.protection_width if self.protection_width is not None else float(self.count_threshold)

    def is_small(self, count: float | None) -> bool:
        """The small-count rule for one count: more than 0 and less than the threshold."""
        return count is not None and 0 < count < self.count_threshold


def load_rules(path: Path | None = None) -> DisclosureRules:
    return load_model(path or config_files.shipped(PACKAGE, RULES_FILE), DisclosureRules)


def resolve_rules(data_dir: Path | None) -> DisclosureRules:
    """The data folder's disclosure.yaml when there is one, else the shipped rules."""
    return load_rules(config_files.resolve(data_dir, PACKAGE, RULES_FILE))
