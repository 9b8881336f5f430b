"""Whether a difference is larger than chance allows for its n: the rule behind "Behöver
uppmärksamhet" (docs/report.md, "Mer än slumpen").

A municipality with 12 investigations a year moves 8 percentage points when one more of them is
late. A difference is flagged only when an exact test rejects "the same underlying rate" at the
5 % level (two-sided), on the published numerator and denominator:

- a share of subjects (unit %, numerator among the denominator's subjects): Fisher's exact test
  on the 2×2 table of this year and the year before, and the exact binomial test of the share
  against a reference value (a group's median);
- a rate per residents, a count per caseworker and a plain count: the numerator as a Poisson
  count over its denominator (the residents, the caseworkers, or none); two years compared by the
  exact conditional test (the second year's count given the sum is binomial with the second
  year's part of the exposure), against a reference value by the exact Poisson test;
- sums of full-time equivalents (turnover, consultants) as counts of people, rounded: one FTE is
  about one person;
- a median (of days) is never flagged: the publication holds the median and its n, not the days
  it is the median of, so no test can say what chance allows.
"""

from __future__ import annotations

from dataclasses import dataclass

from scipy import stats

from insyn.indicators.definitions import Definition

SIGNIFICANCE = 0.05


@dataclass(frozen=True)
class Counts:
    """A published row's numerator and denominator (None: the indicator has none)."""

    numerator: float
    denominator: float | None

    @staticmethod
    def of(row: dict | None) -> Counts | None:
        if row is None or row.get("numerator") is None:
            return None
        return Counts(row["numerator"], row.get("denominator"))


def testable(definition: Definition) -> bool:
    """Whether the rule can say anything about the indicator (not of a median)."""
    return definition.statistic is None


def _is_share(definition: Definition) -> bool:
    denominator = definition.denominator
    return definition.unit == "%" and denominator is not None and denominator.population is None


def _whole(value: float) -> int:
    return int(round(value))


def _poisson_p(observed: int, expected: float) -> float:
    """Two-sided exact Poisson test (twice the smaller tail, at most 1)."""
    if expected <= 0:
        return 1.0 if observed == 0 else 0.0
    tail = min(stats.poisson.cdf(observed, expected), stats.poisson.sf(observed - 1, expected))
    return min(1.0, 2 * float(tail))


def change_beyond_chance(definition: Definition, before: Counts | None, now: Counts | None) -> bool | None:
    """True when this year's rate differs from last year's by more than chance allows, False when
    it does not, None when it cannot be told (a median, a figure missing or hidden)."""
    if not testable(definition) or before is None or now is None:
        return None
    x1, x2 = _whole(before.numerator), _whole(now.numerator)
    if _is_share(definition):
        if before.denominator is None or now.denominator is None:
            return None
        n1, n2 = _whole(before.denominator), _whole(now.denominator)
        if n1 <= 0 or n2 <= 0 or x1 > n1 or x2 > n2:
            return None
        return float(stats.fisher_exact([[x1, n1 - x1], [x2, n2 - x2]]).pvalue) < SIGNIFICANCE
    if definition.denominator is None:
        exposure_before, exposure_now = 1.0, 1.0
    elif before.denominator and now.denominator:
        exposure_before, exposure_now = float(before.denominator), float(now.denominator)
    else:
        return None
    if x1 + x2 == 0:
        return False
    part = exposure_now / (exposure_before + exposure_now)
    return float(stats.binomtest(x2, x1 + x2, part).pvalue) < SIGNIFICANCE


def differs_beyond_chance(definition: Definition, own: Counts | None, reference: float | None) -> bool | None:
    """True when the municipality's figure differs from a reference value (its comparison group's
    median) by more than chance allows for its n; None when it cannot be told."""
    if not testable(definition) or own is None or reference is None:
        return None
    x = _whole(own.numerator)
    if _is_share(definition):
        if own.denominator is None or _whole(own.denominator) <= 0 or x > _whole(own.denominator):
            return None
        share = min(max(reference / definition.factor, 0.0), 1.0)
        return float(stats.binomtest(x, _whole(own.denominator), share).pvalue) < SIGNIFICANCE
    if definition.denominator is None:
        expected = reference / definition.factor
    elif own.denominator:
        expected = float(own.denominator) * reference / definition.factor
    else:
        return None
    return _poisson_p(x, expected) < SIGNIFICANCE
