"""The staff a unit needs to carry its forecast caseload, against the staff it will have.

The caseload's simulated futures (awaiting initial assessment, open investigations, open
interventions) become points with workload.yaml's weights — an intervention at the unit's own
mix of kinds over the last twelve months — and points become FTE needed at the unit's own norm
per FTE today (its caseworkers' experience). The staff it will have: the caseworker FTE in post
on the first forecast day, less fixed-term contracts as they end, less expected leavers among
the rest at the unit's turnover of the last twelve months. Recruit by: the first month the
median need exceeds the staff, less the recruitment lead time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from insyn.forecast.model import MONTHS_PER_YEAR, interval_columns


@dataclass(frozen=True)
class UnitStaff:
    """What the staffing arithmetic needs of one unit, on the first forecast day."""

    fte_now: float            # caseworker FTE in post
    norm_per_fte: float       # points a full-time caseworker carries at the unit's experience mix
    annual_turnover: float    # leavers' FTE over the last 12 months ÷ FTE in post, fixed-term ends left out
    fixed_term_ends: dict[int, float] = field(default_factory=dict)  # first month without them -> FTE

    def available(self, months: np.ndarray) -> np.ndarray:
        """The FTE in post on the first day of each month (month_index): fixed-term contracts
        gone as they end, the rest thinned by the turnover taken as a constant rate of leaving
        (leavers per FTE and year: after h months exp(-turnover · h/12) remain, which also holds
        for a unit that lost more than its number of posts in a year)."""
        origin = months[0] - 1
        fixed_term = sum(self.fixed_term_ends.values())
        ended = np.array([sum(f for m, f in self.fixed_term_ends.items() if m <= month) for month in months])
        staying = np.exp(-self.annual_turnover * (months - origin) / MONTHS_PER_YEAR)
        return self.fte_now - ended - (self.fte_now - fixed_term) * (1 - staying)


@dataclass(frozen=True)
class Weights:
    """Points per piece of ongoing work, as workload.yaml sets them; an intervention at the
    unit's mix of kinds."""

    awaiting: float
    investigation: float
    intervention: float

    def points(self, awaiting: np.ndarray, investigations: np.ndarray, interventions: np.ndarray) -> np.ndarray:
        return self.awaiting * awaiting + self.investigation * investigations + self.intervention * interventions


@dataclass
class Staffing:
    """A unit's months ahead (`months`: need and staff) and the first month short (None when
    the need stays within the staff)."""

    months: pd.DataFrame
    first_short: int | None
    shortfall: tuple[float, float, float] | None  # median and 80 % interval in FTE, the first month short

    def recruit_by(self, lead_months: int) -> int | None:
        """The month to recruit by: the first month short less the recruitment lead time."""
        return None if self.first_short is None else self.first_short - lead_months


def staffing(caseload: np.ndarray, weights: Weights, staff: UnitStaff, origin: int, levels: list[float]) -> Staffing:
    """`caseload`: draws × horizon × 3 (awaiting, investigations, interventions) of one unit."""
    points = weights.points(caseload[..., 0], caseload[..., 1], caseload[..., 2])
    need = points / staff.norm_per_fte
    months = origin + np.arange(1, need.shape[1] + 1)
    available = staff.available(months)
    frame = pd.DataFrame({"month": months, "points": points.mean(axis=0), "need_fte": np.median(need, axis=0),
                          "available_fte": available})
    for level, lower, upper in interval_columns(levels):
        frame[f"need_{lower}"], frame[f"need_{upper}"] = np.quantile(need, [(1 - level) / 2, (1 + level) / 2], axis=0)
    frame["chance_short"] = (need > available).mean(axis=0)
    short = np.flatnonzero(frame["need_fte"].to_numpy() > available)
    if not short.size:
        return Staffing(frame, None, None)
    first = int(short[0])
    gap = need[:, first] - available[first]
    lower, median, upper = np.quantile(gap, [0.1, 0.5, 0.9])
    return Staffing(frame, int(months[first]), (float(median), float(lower), float(upper)))
