"""Synthetic case flow and workforce data for Insyn, calibrated to published national figures.

`generate` draws, for a set of municipalities and years, the canonical tables a municipality
exports to Insyn (events, staff, courses, trainings, mentorships, workload ratings);
`write_tables` writes them as import files. The data are fiction calibrated to national
statistics: every rate lives in calibration.yaml with its source, and every municipality gets
its own mild variation of the rates (drawn from the seed and its code) so that comparisons
have something to show.

The model, in order:

- children are reported for the first time at a rate per child 0–17; when a case closes the
  child may be reported again within a year, which opens a new case;
- a case runs report → protection assessment → initial assessment → investigation →
  interventions → closing, with durations drawn per step, and reports keep arriving while it
  is open (those go to the unit handling the case, not to intake);
- the flow starts a burn-in period before the first year. Burn-in cases still under
  investigation or intervention when the data begin are kept as *stock* cases without their
  early reports, and interventions older than the flow are drawn from the flow's own
  rates, so that long placements are in steady state from the first day;
- units, caseworker posts sized to the open cases, employments with turnover (municipalities
  with shorter tenure have more open cases per caseworker); then a caseworker for each event,
  trainings and mentorships;
- each month, most caseworkers rate their workload and report their flexitime balance, both
  rising with the cases they hold on the first of the month.

Synthetic personal identity numbers are random valid numbers: they may coincide with a real
person's number but carry no information about anyone (see personnummer.py). Everything is
vectorised numpy and deterministic for a given seed and set of municipalities.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import yaml

from insyn.errors import InputError
from insyn.model.codes import codes
from insyn.model.tables import TABLES
from insyn.model.workforce_config import load_workload
from insyn.synth.collaboration import with_collaboration
from insyn.synth.costs import cost_tables
from insyn.synth.grants import grant_tables
from insyn.synth.personnummer import personal_numbers, with_other_ids

# Every canonical table but the populations, which are reference data shipped with Insyn.
TABLE_NAMES = tuple(name for name in TABLES if name != "populations")
DAYS_PER_YEAR = 365.25
# Legal time limits (SoL 2025:400 20 kap. 2–3 §§). A förhandsbedömning is due within 14 days.
_ASSESSMENT_DAYS = 14
# Four calendar months last between 120 and 123 days (SoL 20 kap. 3 §): an investigation of
# under 120 days is always within the limit, one of over 123 days always beyond it.
_WITHIN_FOUR_MONTHS_MAX_DAYS = 119
_OVER_FOUR_MONTHS_MIN_DAYS = 124

_EVENT = {name: i for i, name in enumerate(codes("event"))}
_SOURCES = codes("source")
_INTERVENTIONS = codes("intervention")
_OUTCOMES = list(dict.fromkeys(codes("initial_assessment_outcome")
                               + codes("investigation_outcome")))
_OUTCOME = {name: i for i, name in enumerate(_OUTCOMES)}
_PHASES = ("intake", "investigation_children", "investigation_youth", "community", "out_of_home")
_PHASE = {name: i for i, name in enumerate(_PHASES)}
_ROLES = ("socialsekreterare", "forste_socialsekreterare", "enhetschef")
_CASEWORKER, _SENIOR, _CHEF = range(3)
_EMPLOYMENTS = ("tillsvidare", "visstid", "konsult")
_EMPLOYMENT = {name: i for i, name in enumerate(_EMPLOYMENTS)}
_STAYS = ("short", "long", "konsult", "chef")
_SHORT, _LONG, _KONSULT, _CHEF_STAY = range(4)

Progress = Callable[[str, float], None]


@cache
def calibration() -> dict:
    """The calibration (rates, targets and their sources) from calibration.yaml."""
    with resources.files("insyn.synth").joinpath("calibration.yaml").open(encoding="utf-8") as f:
        return yaml.safe_load(f)


@dataclass(frozen=True)
class Drift:
    """A change in first reports over the years, for forecasts to find: a trend (a share more
    each year than the one before, from the first year) and a shock (one year's reports times a
    factor). No drift is the calibrated steady state."""

    trend_per_year: float = 0.0
    shock_year: int | None = None
    shock_factor: float = 1.0

    def factor(self, days: np.ndarray, first: int) -> np.ndarray:
        """The multiplier of each day's first reports (days since 1970-01-01)."""
        year = days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
        first_year = int(np.datetime64(first, "D").astype("datetime64[Y]").astype(np.int64)) + 1970
        shocked = np.where(year == self.shock_year, self.shock_factor, 1.0)
        return (1 + self.trend_per_year) ** np.maximum(year - first_year, 0) * shocked


def generate(municipalities: pd.DataFrame, years: list[int], seed: int = 1,
             progress: Progress | None = None, drift: Drift | None = None) -> dict[str, pd.DataFrame]:
    """The canonical tables for these municipalities, from the first to the last of `years`.

    `municipalities` has municipality_code, municipality, population_0_17, population_0_20
    and population_total. Returns events, staff, courses, trainings, mentorships,
    workload_ratings, care_prices, care_costs and grants with the column names of insyn.model.tables;
    dates are datetime64, months text (YYYY-MM), missing values null. `drift` adds a trend
    and a shock to the first reports.
    """
    if municipalities.empty or not years:
        raise InputError("Syntetiska data behöver minst en kommun och ett år.")
    cal = calibration()
    notify = progress or (lambda step, fraction: None)
    rng = np.random.default_rng(seed)
    window = _Window.of(years, cal["window"]["burn_in_days"])
    munis = _Municipalities.draw(municipalities, seed, cal)

    notify("Barn, anmälningar och ärendeförlopp", 0.0)
    children = _Children()
    flow, flow_interventions = _case_flow(rng, children, munis, window, cal, drift or Drift())
    notify("Insatser som började före perioden", 0.3)
    earlier = _earlier_interventions(rng, children, flow, flow_interventions, munis, window, cal)
    cases, interventions = _cases_in_data([(flow, flow_interventions), earlier], window)
    events = _case_events(rng, cases, interventions, children, munis, window, cal)

    notify("Personal, omsättning och handläggare", 0.5)
    points = _Points.shipped()
    posts = _posts(cases, interventions, munis, window, points, cal)
    staff = _employments(rng, posts, munis, window, cal)
    caseworker = _assign_caseworkers(rng, events, cases, interventions, staff, munis, window, points, cal)
    events, caseworker = _distinct(events, caseworker)

    notify("Utbildningar, mentorskap och skattad arbetsbelastning", 0.7)
    trainings = _trainings(rng, staff, munis, window, cal)
    mentorships = _mentorships(rng, staff, munis, window, cal)
    ratings = _workload_ratings(rng, events, caseworker, cases, interventions, staff, window, points, cal)

    notify("Tabeller", 0.85)
    staff_ids = _staff_ids(staff, munis)
    tables = {
        "events": _as_exported(_events_frame(events, caseworker, cases, children, staff_ids, rng, munis, cal),
                               munis, window),
        "staff": _staff_frame(staff, staff_ids, munis, window),
        "courses": pd.DataFrame(cal["courses"], columns=_columns("courses")).astype("str"),
        "trainings": _trainings_frame(trainings, staff, staff_ids, munis),
        "mentorships": _mentorships_frame(mentorships, staff, staff_ids, munis, window),
        "workload_ratings": _workload_ratings_frame(ratings, staff, staff_ids, munis),
    }
    tables |= cost_tables(tables["events"], years, seed)  # providers, price list and ledger
    tables["events"] = with_collaboration(tables["events"], tables["staff"], years, seed)  # SIP, police
    tables |= grant_tables(tables["staff"], municipalities, years, seed)  # grants, funded posts
    notify("Klart", 1.0)
    return tables


def write_tables(tables: dict[str, pd.DataFrame], out_dir: Path, fmt: str = "csv") -> list[Path]:
    """One file per table (events.csv, staff.csv, …; or .parquet). Dates as ISO, missing empty."""
    if fmt not in ("csv", "parquet"):
        raise InputError(f"Okänt filformat {fmt} (csv eller parquet).")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in TABLE_NAMES:
        table = _with_plain_dates(pa.Table.from_pandas(tables[name], preserve_index=False))
        path = out_dir / f"{name}.{fmt}"
        if fmt == "csv":
            pa_csv.write_csv(table, path, pa_csv.WriteOptions(quoting_style="needed"))
        else:
            pq.write_table(table, path)
        paths.append(path)
    return paths


def _with_plain_dates(table: pa.Table) -> pa.Table:
    """Timestamps as calendar dates, written YYYY-MM-DD."""
    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):
            table = table.set_column(i, field.name, pc.cast(table[i], pa.date32()))
    return table


# --- time ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Window:
    """The period the data cover (days since 1970-01-01, inclusive) and where the flow starts."""

    first: int
    last: int
    flow_start: int

    @classmethod
    def of(cls, years: list[int], burn_in_days: int) -> _Window:
        first = _day(min(years), 1, 1)
        return cls(first, _day(max(years), 12, 31), first - burn_in_days)

    @property
    def days(self) -> int:
        return self.last - self.first + 1

    @property
    def years(self) -> float:
        return self.days / DAYS_PER_YEAR


def _day(year: int, month: int, day: int) -> int:
    return int(np.datetime64(f"{year:04d}-{month:02d}-{day:02d}", "D").astype(np.int64))


def _add_years(day: np.ndarray, years: int) -> np.ndarray:
    """The same calendar day `years` later (29 February becomes 1 March)."""
    date = day.astype("datetime64[D]")
    month = date.astype("datetime64[M]")
    return ((month + 12 * years).astype("datetime64[D]") + (date - month)).astype(np.int64)


def _add_months(day: np.ndarray, months: int) -> np.ndarray:
    """The same day `months` calendar months later, or the month's last day where it has none
    (31 October + 4 months = 28/29 February), as SoL's four months are counted."""
    date = day.astype("datetime64[D]")
    month = date.astype("datetime64[M]")
    target = month + months
    last = (target + 1).astype("datetime64[D]") - 1
    return np.minimum(target.astype("datetime64[D]") + (date - month), last).astype(np.int64)


def _age(day: np.ndarray, birth: np.ndarray) -> np.ndarray:
    return (day - birth) / DAYS_PER_YEAR


def _uniform_days(rng: np.random.Generator, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """A day between low and high, both included."""
    return low + np.floor(rng.random(low.size) * (high - low + 1)).astype(np.int64)


# --- workload points ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Points:
    """The workload measure's weights and norms (insyn/model/workload.yaml), which the generator
    sizes posts to and deals cases by, so that units sit around their norm as Insyn measures it."""

    assessment: float  # a case awaiting its initial assessment
    investigation: float
    intervention: np.ndarray  # by intervention code
    norm_below_years: np.ndarray  # each level's upper bound in years since the degree but the last's
    norm_points: np.ndarray  # each level's norm per FTE
    missing_exam_norm: float
    typical_norm: float  # the middle level's norm, which posts are sized against

    @classmethod
    def shipped(cls) -> _Points:
        config = load_workload()
        norms = {n.level: n.points for n in config.norms}
        return cls(assessment=config.weights.forhandsbedomning, investigation=config.weights.utredning,
                   intervention=np.array([config.weights.insats[kind] for kind in _INTERVENTIONS]),
                   norm_below_years=np.array([n.below_years for n in config.norms[:-1]]),
                   norm_points=np.array([n.points for n in config.norms]),
                   missing_exam_norm=norms[config.missing_exam_year_level],
                   typical_norm=float(np.median([n.points for n in config.norms])))

    def norm(self, years_since_degree: np.ndarray, exam_known: np.ndarray) -> np.ndarray:
        """The norm per FTE of caseworkers with this experience."""
        level = np.searchsorted(self.norm_below_years, np.maximum(years_since_degree, 0), side="right")
        return np.where(exam_known, self.norm_points[level], self.missing_exam_norm)


def _case_points(cases: pd.DataFrame, interventions: pd.DataFrame,
                 days: np.ndarray, points: _Points) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(case, index into the sorted `days`, points) of the work ongoing in each case on each of
    `days`: awaiting its initial assessment, under investigation, each intervention running."""
    investigated = np.flatnonzero(cases["investigated"].to_numpy())
    live = np.flatnonzero(~cases["stock"].to_numpy())
    kind = interventions["kind"].to_numpy()
    row, at = _days_within(
        np.concatenate([cases["investigation_start"].to_numpy()[investigated], interventions["start"].to_numpy(),
                        cases["first_report"].to_numpy()[live]]),
        np.concatenate([cases["investigation_end"].to_numpy()[investigated] - 1, interventions["end"].to_numpy() - 1,
                        cases["assessed"].to_numpy()[live] - 1]), days)
    case = np.concatenate([investigated, interventions["case"].to_numpy(), live])[row]
    weight = np.concatenate([np.full(investigated.size, points.investigation), points.intervention[kind],
                             np.full(live.size, points.assessment)])[row]
    work, inverse = np.unique(case * days.size + at, return_inverse=True)
    case, at = np.divmod(work, days.size)
    return case, at, np.bincount(inverse, weights=weight, minlength=work.size)


def _latest_events(events: pd.DataFrame, case: np.ndarray, day: np.ndarray) -> np.ndarray:
    """The row of each case's latest event on or before the day (-1: none); events come in case
    and date order."""
    event_case, event_date = events["case"].to_numpy(), events["date"].to_numpy()
    first_date = min(event_date.min(initial=0), day.min(initial=0))
    span = max(event_date.max(initial=0), day.max(initial=0)) - first_date + 1
    latest = np.searchsorted(event_case * span + event_date - first_date, case * span + day - first_date,
                             side="right") - 1
    return np.where((latest >= 0) & (event_case[np.maximum(latest, 0)] == case), latest, -1)


# --- weighted draws -----------------------------------------------------------------------


def _choose_rows(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One column index per row of `weights`, with probability proportional to its weight."""
    cumulative = weights.cumsum(axis=1)
    u = (1.0 - rng.random(weights.shape[0]))[:, None] * cumulative[:, -1:]
    return (cumulative < u).sum(axis=1)


def _by_age_band(table: dict[int, dict[str, float]], names: list[str],
                 age: np.ndarray) -> np.ndarray:
    """The weight row (over `names`) of each age's band; a band runs from its key to the next."""
    lowers = np.array(sorted(table))
    weights = np.array([[table[low].get(name, 0.0) for name in names] for low in lowers])
    band = np.clip(np.searchsorted(lowers, age, side="right") - 1, 0, lowers.size - 1)
    return weights[band]


# --- municipalities -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Municipalities:
    """Each municipality's population, its own variation of the rates and its units."""

    code: np.ndarray
    children: np.ndarray  # population 0–17
    youth: np.ndarray  # population 0–20
    report_factor: np.ndarray
    within_14_days: np.ndarray
    investigate: np.ndarray
    over_four_months: np.ndarray
    tenure_factor: np.ndarray
    consultant_share: np.ndarray
    part_time_share: np.ndarray
    planned_load: np.ndarray  # the share of the norm its posts are sized for
    training_factor: np.ndarray
    yrkesresan: np.ndarray
    mentor_share: np.ndarray
    decision_ids: np.ndarray  # its exports carry each intervention's decision id
    from_first_day: np.ndarray  # its export holds only events from the first day of the first year
    unit_of: np.ndarray  # (municipality, phase) -> index into units
    units: tuple[str, ...]

    @classmethod
    def draw(cls, frame: pd.DataFrame, seed: int, cal: dict) -> _Municipalities:
        code = frame["municipality_code"].astype(str).to_numpy()
        children = frame["population_0_17"].to_numpy(dtype=np.int64)
        # Each municipality's variation comes from the seed and its own code, so it is the same
        # whichever other municipalities are generated with it.
        draws = [_municipality_variation(np.random.default_rng([seed, int(c)]), cal)
                 for c in code]
        varied = {key: np.array([d[key] for d in draws]) for key in draws[0]}
        unit_of, units = _units(children, cal["units"])
        return cls(code=code, children=children,
                   youth=frame["population_0_20"].to_numpy(dtype=np.int64),
                   unit_of=unit_of, units=units, **varied)

    def __len__(self) -> int:
        return self.code.size

    @property
    def intervention_intensity(self) -> np.ndarray:
        """How much more often than the average municipality children here get interventions."""
        intensity = self.report_factor * self.investigate
        return intensity / np.average(intensity, weights=np.maximum(self.children, 1))


def _municipality_variation(r: np.random.Generator, cal: dict) -> dict:
    ia, inv, staff = cal["initial_assessment"], cal["investigation"], cal["staff"]
    uses_consultants = r.random() < staff["consultant_municipality_share"]
    return {
        "report_factor": r.lognormal(0.0, cal["municipality_variation"]["report_rate_sigma"]),
        "within_14_days": _beta(r, ia["within_14_days_mean"], ia["within_14_days_concentration"]),
        "investigate": ia["investigate"] + r.uniform(-1, 1) * ia["investigate_spread"],
        "over_four_months": _beta(r, inv["over_four_months_mean"],
                                  inv["over_four_months_concentration"]),
        # The tenure factor is drawn before the planned load, which follows it.
        "tenure_factor": (tenure_factor := r.lognormal(0.0, staff["turnover_sigma"])),
        "consultant_share": r.uniform(*staff["consultant_fte_share"]) if uses_consultants else 0.0,
        "part_time_share": r.uniform(*staff["part_time_share"]),
        "planned_load": _planned_load(r, tenure_factor, staff),
        "training_factor": r.uniform(*cal["training"]["municipality_factor"]),
        "yrkesresan": r.random() < cal["training"]["yrkesresan_municipality_share"],
        "mentor_share": r.uniform(*cal["mentoring"]["share"]),
        "decision_ids": r.random() < cal["exports"]["decision_id_share"],
        "from_first_day": r.random() < cal["exports"]["from_first_day_share"],
    }


def _beta(r: np.random.Generator, mean: float, concentration: float) -> float:
    return r.beta(mean * concentration, (1 - mean) * concentration)


def _planned_load(r: np.random.Generator, tenure_factor: float, cal: dict) -> float:
    """The share of the workload norm a municipality's posts are sized for, higher where tenure
    is shorter (turnover higher).

    How much shorter the municipality's tenure is, as a z-score of its factor, mixed with noise
    of its own to the calibrated correlation, and mapped through the normal distribution onto
    the calibrated range: across municipalities the figure stays uniform between the bounds.
    """
    correlation = cal["load_turnover_correlation"]
    shorter_tenure = -np.log(tenure_factor) / cal["turnover_sigma"]
    score = correlation * shorter_tenure + np.sqrt(1 - correlation**2) * r.standard_normal()
    low, high = cal["planned_load"]
    return low + (high - low) * NormalDist().cdf(score)


def _units(children: np.ndarray, config: dict) -> tuple[np.ndarray, tuple[str, ...]]:
    tiers = sorted(config["tiers"], key=lambda t: -t["min_children"])
    units: list[str] = []
    unit_of = np.zeros((children.size, len(_PHASES)), dtype=np.int64)
    for m, count in enumerate(children):
        tier = next(t for t in tiers if count >= t["min_children"])
        for p, phase in enumerate(_PHASES):
            if tier[phase] not in units:
                units.append(tier[phase])
            unit_of[m, p] = units.index(tier[phase])
    return unit_of, tuple(units)


# --- children and the case flow -----------------------------------------------------------


class _Children:
    """Every synthetic child: municipality, birth day and sex."""

    def __init__(self) -> None:
        self.muni = np.zeros(0, dtype=np.int64)
        self.birth = np.zeros(0, dtype=np.int64)
        self.male = np.zeros(0, dtype=bool)

    def add(self, muni: np.ndarray, birth: np.ndarray, male: np.ndarray) -> np.ndarray:
        first = self.muni.size
        self.muni = np.concatenate([self.muni, muni])
        self.birth = np.concatenate([self.birth, birth])
        self.male = np.concatenate([self.male, male])
        return np.arange(first, self.muni.size)


def _case_flow(rng: np.random.Generator, children: _Children, munis: _Municipalities,
               window: _Window, cal: dict, drift: Drift) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Children reported for the first time from the start of the burn-in: their cases, the
    cases of their re-reports, and the interventions of all these cases."""
    flow_years = (window.last - window.flow_start + 1) / DAYS_PER_YEAR
    drifted = drift.factor(np.arange(window.flow_start, window.last + 1), window.first)
    expected = (cal["children"]["new_per_1000_0_17"] / 1000 * munis.children
                * munis.report_factor * flow_years * drifted.mean())
    muni = np.repeat(np.arange(len(munis)), rng.poisson(expected))
    first_report = _report_days(rng, muni.size, window.flow_start, window.last,
                                cal["children"]["month_weights"], drifted)
    age_weights = np.asarray(cal["children"]["first_report_age_weights"], dtype=float)
    age = rng.choice(age_weights.size, muni.size, p=age_weights / age_weights.sum())
    # Just under a year's spread of birthdays, so that the age stays `age` on the report day.
    birth = first_report - np.floor((age + 0.995 * rng.random(muni.size)) * DAYS_PER_YEAR)
    child = children.add(muni, birth.astype(np.int64),
                         rng.random(muni.size) < cal["children"]["share_boys"])

    first_cases = _case_timelines(rng, child, first_report, first_report, children, munis, cal)
    return _with_rereports(rng, *first_cases, children, munis, window, cal)


def _with_rereports(rng: np.random.Generator, cases: pd.DataFrame, interventions: pd.DataFrame,
                    children: _Children, munis: _Municipalities, window: _Window,
                    cal: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """These cases and every case that follows from re-reports of their children."""
    parts = [(cases, interventions)]
    while True:
        child, first_report, chain_start, known = _rereports(rng, parts[-1][0], children, window, cal)
        if not child.size:
            return _concat_cases(parts)
        parts.append(_case_timelines(rng, child, first_report, chain_start, children, munis,
                                     cal, known))


def _concat_cases(parts: list[tuple[pd.DataFrame, pd.DataFrame]]
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cases one after the other, each part's interventions renumbered to its cases."""
    offsets = np.cumsum([0] + [len(cases) for cases, _ in parts[:-1]])
    return (pd.concat([cases for cases, _ in parts], ignore_index=True),
            pd.concat([iv.assign(case=iv["case"] + offset)
                       for (_, iv), offset in zip(parts, offsets, strict=True)],
                      ignore_index=True))


def _report_days(rng: np.random.Generator, n: int, first: int, last: int,
                 month_weights: list[float], drifted: np.ndarray) -> np.ndarray:
    days = np.arange(first, last + 1)
    month = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12
    weight = np.asarray(month_weights, dtype=float)[month] * drifted
    return days[rng.choice(days.size, n, p=weight / weight.sum())]


def _case_timelines(rng: np.random.Generator, child: np.ndarray, first_report: np.ndarray,
                    chain_start: np.ndarray, children: _Children, munis: _Municipalities,
                    cal: dict, known: np.ndarray | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One case per child: the dates and decisions of each step, and its interventions. A child
    `known` from an earlier investigation is investigated more often."""
    n = child.size
    muni, birth = children.muni[child], children.birth[child]
    ia_cal, inv_cal, iv_cal = cal["initial_assessment"], cal["investigation"], cal["interventions"]

    assessed = first_report + _assessment_delays(rng, munis.within_14_days[muni], ia_cal)
    investigate = munis.investigate[muni]
    if known is not None:
        investigate = np.where(known, cal["rereport"]["investigate_known"], investigate)
    assessment_outcome = _decide(rng, investigate, ia_cal["transfer"],
                                 ("investigate", "transfer", "no_investigation"))
    investigated = assessment_outcome == _OUTCOME["investigate"]
    same_day = rng.random(n) < inv_cal["same_day_start_share"]
    investigation_start = assessed + np.where(
        same_day, 0, rng.integers(1, inv_cal["start_delay_max_days"] + 1, n))
    investigation_end = investigation_start + _investigation_days(
        rng, munis.over_four_months[muni], inv_cal)
    investigation_outcome = _decide(rng, np.full(n, inv_cal["intervention"]),
                                    inv_cal["transfer"],
                                    ("intervention", "transfer", "no_intervention"))
    granted = investigated & (investigation_outcome == _OUTCOME["intervention"])

    interventions = _interventions_of(rng, np.flatnonzero(granted), investigation_end, birth,
                                      iv_cal)
    last = interventions.sort_values("end", kind="stable").drop_duplicates("case", keep="last")
    last_end = np.zeros(n, dtype=np.int64)
    last_end[last["case"].to_numpy()] = last["end"].to_numpy()
    last_phase = np.zeros(n, dtype=np.int64)
    last_phase[last["case"].to_numpy()] = last["phase"].to_numpy()

    investigation_phase = _investigation_phase(investigation_start, birth, cal)
    closed = np.where(granted, last_end + rng.integers(0, iv_cal["close_delay_max_days"] + 1, n),
                      np.where(investigated, investigation_end, assessed))
    closing_phase = np.where(granted, last_phase,
                             np.where(investigated, investigation_phase, _PHASE["intake"]))
    cases = pd.DataFrame({
        "child": child, "muni": muni, "chain_start": chain_start, "first_report": first_report,
        "assessed": assessed, "assessment_outcome": assessment_outcome,
        "investigated": investigated, "investigation_start": investigation_start,
        "investigation_end": investigation_end, "investigation_outcome": investigation_outcome,
        "investigation_phase": investigation_phase, "closed": closed,
        "closing_phase": closing_phase,
    })
    return cases, interventions


def _assessment_delays(rng: np.random.Generator, within_share: np.ndarray,
                       cal: dict) -> np.ndarray:
    n = within_share.size
    on_time = np.minimum(np.floor(rng.triangular(0, cal["on_time_mode_day"],
                                                 _ASSESSMENT_DAYS + 1, n)), _ASSESSMENT_DAYS)
    late = _ASSESSMENT_DAYS + 1 + np.minimum(np.floor(rng.exponential(cal["late_tail_mean_days"],
                                                                      n)),
                                             cal["max_days"] - _ASSESSMENT_DAYS - 1)
    return np.where(rng.random(n) < within_share, on_time, late).astype(np.int64)


def _investigation_days(rng: np.random.Generator, over_share: np.ndarray,
                        cal: dict) -> np.ndarray:
    n = over_share.size
    low = cal["min_days"]
    within = low + np.floor((_WITHIN_FOUR_MONTHS_MAX_DAYS - low + 1)
                            * rng.beta(*cal["within_shape"], n))
    over = _OVER_FOUR_MONTHS_MIN_DAYS + np.minimum(
        np.floor(rng.exponential(cal["over_tail_mean_days"], n)),
        cal["max_days"] - _OVER_FOUR_MONTHS_MIN_DAYS)
    return np.where(rng.random(n) < over_share, over, within).astype(np.int64)


def _decide(rng: np.random.Generator, first_share: np.ndarray, second_share: float,
            outcomes: tuple[str, str, str]) -> np.ndarray:
    """The first outcome with `first_share`, the second with `second_share`, else the third."""
    u = rng.random(first_share.size)
    first, second, other = (_OUTCOME[o] for o in outcomes)
    return np.where(u < first_share, first, np.where(u < first_share + second_share, second, other))


def _investigation_phase(start: np.ndarray, birth: np.ndarray, cal: dict) -> np.ndarray:
    youth = _age(start, birth) >= cal["units"]["youth_from_age"]
    return np.where(youth, _PHASE["investigation_youth"], _PHASE["investigation_children"])


def _interventions_of(rng: np.random.Generator, case: np.ndarray, investigation_end: np.ndarray,
                      birth: np.ndarray, cal: dict) -> pd.DataFrame:
    """The first intervention of each granted case and, for some, a second of another type."""
    start = investigation_end[case] + rng.integers(0, cal["start_delay_max_days"] + 1, case.size)
    kind, end = _draw_interventions(rng, start, birth[case], cal)
    has_second = rng.random(case.size) < cal["second_share"]
    second_start = start + np.floor(rng.uniform(*cal["second_start_in_first"], case.size)
                                    * (end - start)).astype(np.int64)
    has_second &= second_start < _add_years(birth[case], 21) - 1
    same_kind = rng.random(int(has_second.sum())) < cal["second_same_kind_share"]
    second_kind, second_end = _draw_interventions(rng, second_start[has_second],
                                                  birth[case[has_second]], cal,
                                                  exclude=np.where(same_kind, -1, kind[has_second]),
                                                  only=np.where(same_kind, kind[has_second], -1))
    frame = pd.DataFrame({
        "case": np.concatenate([case, case[has_second]]),
        "kind": np.concatenate([kind, second_kind]),
        "start": np.concatenate([start, second_start[has_second]]),
        "end": np.concatenate([end, second_end]),
    })
    out_of_home = np.isin(frame["kind"], [_INTERVENTIONS.index(k) for k in cal["out_of_home"]])
    frame["phase"] = np.where(out_of_home, _PHASE["out_of_home"], _PHASE["community"])
    return frame


def _draw_interventions(rng: np.random.Generator, start: np.ndarray, birth: np.ndarray,
                        cal: dict, exclude: np.ndarray | None = None, only: np.ndarray | None = None
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Type by age at the start (never `exclude`; always `only`, where given: -1 is none), and
    the end day, before the 21st birthday."""
    weights = _by_age_band(cal["types_by_age"], _INTERVENTIONS, _age(start, birth))
    if exclude is not None:
        rows = np.flatnonzero(exclude >= 0)
        weights[rows, exclude[rows]] = 0.0
    if only is not None:
        rows = np.flatnonzero(only >= 0)
        weights[rows] = 0.0
        weights[rows, only[rows]] = 1.0
    kind = _choose_rows(rng, weights)
    # Types without a duration have no weight either: they are never drawn.
    median, sigma = (np.array([cal["duration"].get(k, {}).get(v, np.nan) for k in _INTERVENTIONS])
                     for v in ("median", "sigma"))
    duration = np.maximum(1, np.round(median[kind] * np.exp(sigma[kind]
                                                            * rng.standard_normal(start.size))))
    end = np.minimum(start + duration.astype(np.int64), _add_years(birth, 21) - 1)
    return kind, np.maximum(end, start + 1)


def _rereports(rng: np.random.Generator, cases: pd.DataFrame, children: _Children,
               window: _Window, cal: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Children reported again within a year of their case closing, while under 18: (child,
    day of the report, start of the chain, whether the closed case was investigated)."""
    closed = cases["closed"].to_numpy()
    child = cases["child"].to_numpy()
    investigated = cases["investigated"].to_numpy()
    gap = 1 + np.floor(rng.exponential(cal["rereport"]["gap_mean_days"], closed.size) % 365)
    again = closed + gap.astype(np.int64)
    share = np.where(investigated, cal["rereport"]["within_12_months_investigated"],
                     cal["rereport"]["within_12_months"])
    keep = ((rng.random(closed.size) < share)
            & (again <= window.last) & (again < _add_years(children.birth[child], 18)))
    return child[keep], again[keep], cases["chain_start"].to_numpy()[keep], investigated[keep]


def _earlier_interventions(rng: np.random.Generator, children: _Children, flow: pd.DataFrame,
                           flow_interventions: pd.DataFrame, munis: _Municipalities,
                           window: _Window, cal: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cases with interventions that began before the flow and end after its start, and the
    cases of their children's re-reports.

    The flow's own interventions give the rate per child 0–20, the ages and durations to draw
    from, and how long after its start the flow reaches full strength: an intervention drawn
    in the burn-in is kept only with the chance that the flow would have missed it.
    """
    iv_cal = cal["interventions"]
    case_of = flow_interventions["case"].to_numpy()
    kind, start, end, phase = (flow_interventions[c].to_numpy()
                               for c in ("kind", "start", "end", "phase"))
    age_days = start - children.birth[flow["child"].to_numpy()[case_of]]
    lag = np.sort(start - flow["chain_start"].to_numpy()[case_of])
    in_window = (start >= window.first) & (start <= window.last)
    exposure = window.years * np.sum(munis.youth * munis.intervention_intensity)
    history_days = int(cal["window"]["intervention_history_years"] * DAYS_PER_YEAR)

    drawn = []  # (municipality, start, intervention to copy age and duration from) per kind
    for k in np.unique(kind):
        pool = np.flatnonzero(kind == k)
        rate = np.sum(in_window[pool]) / exposure
        expected = rate * munis.youth * munis.intervention_intensity * history_days / DAYS_PER_YEAR
        muni = np.repeat(np.arange(len(munis)), rng.poisson(expected))
        drawn.append((muni, window.first - 1 - rng.integers(0, history_days, muni.size),
                      pool[rng.integers(0, pool.size, muni.size)]))
    if not drawn:  # the flow has no interventions at all
        return flow.iloc[:0], flow_interventions.iloc[:0]
    muni, began, copied = (np.concatenate(d) for d in zip(*drawn, strict=True))

    finish = began + end[copied] - start[copied]
    since_flow = began - window.flow_start
    missed_by_flow = 1.0 - np.searchsorted(lag, since_flow, side="right") / lag.size
    keep = ((finish >= window.flow_start)
            & ((since_flow < 0) | (rng.random(muni.size) < missed_by_flow)))
    muni, began, copied, finish = (a[keep] for a in (muni, began, copied, finish))

    n = muni.size
    birth = began - age_days[copied]
    child = children.add(muni, birth, rng.random(n) < cal["children"]["share_boys"])
    investigation_end = began - rng.integers(0, iv_cal["start_delay_max_days"] + 1, n)
    investigation_start = investigation_end - _investigation_days(
        rng, munis.over_four_months[muni], cal["investigation"])
    cases = pd.DataFrame({
        "child": child, "muni": muni, "chain_start": investigation_start,
        "first_report": investigation_start, "assessed": investigation_start,
        "assessment_outcome": _OUTCOME["investigate"], "investigated": True,
        "investigation_start": investigation_start, "investigation_end": investigation_end,
        "investigation_outcome": _OUTCOME["intervention"],
        "investigation_phase": _investigation_phase(investigation_start, birth, cal),
        "closed": finish + rng.integers(0, iv_cal["close_delay_max_days"] + 1, n),
        "closing_phase": phase[copied],
    })
    interventions = pd.DataFrame({"case": np.arange(n), "kind": kind[copied], "start": began,
                                  "end": finish, "phase": phase[copied]})
    return _with_rereports(rng, cases, interventions, children, munis, window, cal)


def _cases_in_data(parts: list[tuple[pd.DataFrame, pd.DataFrame]],
                   window: _Window) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cases first reported from the first day, and earlier cases still under investigation or
    intervention then: those are `stock`, and appear without their reports and assessment."""
    cases, interventions = _concat_cases(parts)
    stock = (cases["first_report"] < window.first).to_numpy()
    keep = ~stock | (cases["investigated"] & (cases["closed"] >= window.first)).to_numpy()
    renumber = np.cumsum(keep) - 1
    interventions = interventions[keep[interventions["case"].to_numpy()]]
    return (cases[keep].assign(stock=stock[keep]).reset_index(drop=True),
            interventions.assign(case=renumber[interventions["case"].to_numpy()])
            .reset_index(drop=True))


# --- events -------------------------------------------------------------------------------


def _case_events(rng: np.random.Generator, cases: pd.DataFrame, interventions: pd.DataFrame,
                 children: _Children, munis: _Municipalities, window: _Window,
                 cal: dict) -> pd.DataFrame:
    """One row per event up to the last day: case, event, date, phase and coded details."""
    c = {name: cases[name].to_numpy() for name in cases.columns}
    n = len(cases)
    birth = children.birth[c["child"]]
    live = np.flatnonzero(~c["stock"])
    report_cal = cal["reports"]

    # Reports: the first, more about the same incident before the assessment, and more while
    # the case is open (for stock cases only from the first day of the data).
    extra = np.repeat(live, rng.poisson(report_cal["extra_before_assessment_mean"], live.size))
    open_from = np.where(c["stock"], np.maximum(c["assessed"] + 1, window.first),
                         c["assessed"] + 1)
    open_until = np.minimum(c["closed"], window.last)
    open_years = np.maximum(open_until - open_from + 1, 0) / DAYS_PER_YEAR
    during = np.repeat(np.arange(n), rng.poisson(report_cal["per_open_year"] * open_years))
    report_case = np.concatenate([live, extra, during])
    report_day = np.concatenate([
        c["first_report"][live],
        _uniform_days(rng, c["first_report"][extra], c["assessed"][extra]),
        _uniform_days(rng, open_from[during], open_until[during]),
    ])
    source = _choose_rows(rng, _by_age_band(report_cal["sources_by_age"], _SOURCES,
                                            _age(report_day, birth[report_case])))
    assessed = rng.random(report_case.size) < report_cal["protection_assessment_share"]
    later = np.where(rng.random(report_case.size) < report_cal["protection_assessment_same_day"],
                     0, rng.integers(1, report_cal["protection_assessment_late_days_max"] + 1,
                                     report_case.size))
    # Never after the case has closed.
    protection_day = np.minimum(report_day + later, c["closed"][report_case])[assessed]
    before_assessment = live.size + extra.size
    report_phase = np.concatenate([np.full(before_assessment, _PHASE["intake"]),
                                   _open_case_phase(during, report_day[before_assessment:], cases,
                                                    interventions)])

    investigated = np.flatnonzero(c["investigated"])
    # A report that comes in while no investigation of the case is going on gets its own
    # initial assessment (SoL 20 kap. 2 §); during an investigation it needs none.
    later_reports = np.arange(before_assessment, report_case.size)
    in_investigation = (c["investigated"][report_case[later_reports]]
                        & (c["investigation_start"][report_case[later_reports]] < report_day[later_reports])
                        & (c["investigation_end"][report_case[later_reports]] >= report_day[later_reports]))
    reassessed = later_reports[~in_investigation]
    reassessed_case = report_case[reassessed]
    reassessed_day = np.minimum(
        report_day[reassessed] + _assessment_delays(rng, munis.within_14_days[c["muni"][reassessed_case]],
                                                    cal["initial_assessment"]),
        c["closed"][reassessed_case])
    extended, extended_day, extended_until = _extensions(rng, cases, cal["extensions"])
    iv = {name: interventions[name].to_numpy() for name in interventions.columns}
    parts = [
        _event_rows("report", report_case, report_day, report_phase, source=source),
        _event_rows("protection_assessment", report_case[assessed], protection_day,
                    report_phase[assessed]),
        _event_rows("initial_assessment", live, c["assessed"][live], _PHASE["intake"],
                    outcome=c["assessment_outcome"][live]),
        _event_rows("initial_assessment", reassessed_case, reassessed_day, report_phase[reassessed],
                    outcome=np.full(reassessed.size, _OUTCOME["no_investigation"])),
        _event_rows("investigation_extended", extended, extended_day, c["investigation_phase"][extended],
                    extended_until=extended_until),
        _event_rows("investigation_start", investigated, c["investigation_start"][investigated],
                    c["investigation_phase"][investigated]),
        _event_rows("investigation_end", investigated, c["investigation_end"][investigated],
                    c["investigation_phase"][investigated],
                    outcome=c["investigation_outcome"][investigated]),
        _event_rows("intervention_start", iv["case"], iv["start"], iv["phase"],
                    intervention=iv["kind"], decision=np.arange(len(interventions))),
        _event_rows("intervention_end", iv["case"], iv["end"], iv["phase"],
                    intervention=iv["kind"], decision=np.arange(len(interventions))),
        _event_rows("case_closed", np.arange(n), c["closed"], c["closing_phase"]),
    ]
    events = pd.concat(parts, ignore_index=True)
    events = events[events["date"].to_numpy() <= window.last]
    order = np.lexsort((events["event"].to_numpy(), events["date"].to_numpy(),
                        events["case"].to_numpy()))
    events = events.iloc[order].reset_index(drop=True)
    events["unit"] = munis.unit_of[c["muni"][events["case"].to_numpy()],
                                   events["phase"].to_numpy()]
    return events


def _open_case_phase(case: np.ndarray, day: np.ndarray, cases: pd.DataFrame,
                     interventions: pd.DataFrame) -> np.ndarray:
    """The phase whose unit handles a report on a case after its initial assessment: the
    investigation's until it ends, then that of the latest intervention begun by the day.

    A report about a child whose case is open goes to the caseworker responsible for the case
    rather than to intake, so the case stays with whoever is investigating or following it up.
    """
    latest = pd.merge_asof(
        pd.DataFrame({"day": day, "case": case, "row": np.arange(case.size)}).sort_values("day"),
        interventions[["case", "start", "phase"]].sort_values("start"),
        left_on="day", right_on="start", by="case", direction="backward")
    intervention_phase = np.empty(case.size)
    intervention_phase[latest["row"].to_numpy()] = latest["phase"].to_numpy(dtype=float)
    investigating = (day <= cases["investigation_end"].to_numpy()[case]) | np.isnan(
        intervention_phase)
    return np.where(investigating, cases["investigation_phase"].to_numpy()[case],
                    intervention_phase).astype(np.int64)


def _extensions(rng: np.random.Generator, cases: pd.DataFrame,
                cal: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(case, day of the decision, extended until) of the investigations running past four
    months whose extension was decided before they did."""
    start, end = (cases[c].to_numpy() for c in ("investigation_start", "investigation_end"))
    deadline = _add_months(start, 4)
    decided = start + rng.integers(cal["decided_after_days"][0], cal["decided_after_days"][1] + 1, start.size)
    until = deadline + rng.integers(cal["extended_by_days"][0], cal["extended_by_days"][1] + 1, start.size)
    chosen = np.flatnonzero(cases["investigated"].to_numpy() & (end > deadline) & (decided < end)
                            & (rng.random(start.size) < cal["share"]))
    return chosen, decided[chosen], until[chosen]


def _event_rows(event: str, case: np.ndarray, date: np.ndarray, phase: np.ndarray | int,
                source: np.ndarray | None = None, outcome: np.ndarray | None = None,
                intervention: np.ndarray | None = None, decision: np.ndarray | None = None,
                extended_until: np.ndarray | None = None) -> pd.DataFrame:
    """`decision` numbers an intervention (its decision id), `extended_until` is a day."""
    n = case.size

    def coded(values: np.ndarray | None) -> np.ndarray:
        return np.full(n, -1, dtype=np.int64) if values is None else values.astype(np.int64)

    return pd.DataFrame({
        "case": case, "event": _EVENT[event], "date": date.astype(np.int64),
        "phase": np.broadcast_to(phase, n).astype(np.int64), "source": coded(source),
        "outcome": coded(outcome), "intervention": coded(intervention), "decision": coded(decision),
        "extended_until": coded(extended_until),
    })


# --- staff --------------------------------------------------------------------------------


def _posts(cases: pd.DataFrame, interventions: pd.DataFrame, munis: _Municipalities,
           window: _Window, points: _Points, cal: dict) -> pd.DataFrame:
    """Caseworker posts per unit, enough for the unit's average workload points at the
    municipality's planned share of the norm; one chief each."""
    staff_cal = cal["staff"]
    muni = cases["muni"].to_numpy()
    live = ~cases["stock"].to_numpy()
    iv_muni = muni[interventions["case"].to_numpy()]
    n_units = len(munis.units)

    def open_load(m: np.ndarray, phase: np.ndarray, start: np.ndarray,
                  end: np.ndarray, weight: np.ndarray | float) -> np.ndarray:
        days = np.maximum(np.minimum(end, window.last) - np.maximum(start, window.first) + 1, 0)
        slot = m * n_units + munis.unit_of[m, phase]
        return np.bincount(slot, weights=days * weight, minlength=len(munis) * n_units) / window.days

    inv = cases["investigated"].to_numpy()
    held = (open_load(muni[live], np.full(int(live.sum()), _PHASE["intake"]),
                      cases["first_report"].to_numpy()[live], cases["assessed"].to_numpy()[live],
                      points.assessment)
            + open_load(muni[inv], cases["investigation_phase"].to_numpy()[inv],
                        cases["investigation_start"].to_numpy()[inv],
                        cases["investigation_end"].to_numpy()[inv], points.investigation)
            + open_load(iv_muni, interventions["phase"].to_numpy(), interventions["start"].to_numpy(),
                        interventions["end"].to_numpy(), points.intervention[interventions["kind"].to_numpy()]))
    slot_muni = np.repeat(np.arange(len(munis)), n_units)
    fte_per_post = 1 - munis.part_time_share * (1 - np.mean(staff_cal["part_time_fte"]))
    # The phase each unit slot serves (a unit serving several: the first of them).
    slot_phase = np.zeros(len(munis) * n_units, dtype=np.int64)
    for phase in reversed(range(len(_PHASES))):
        slot_phase[np.arange(len(munis)) * n_units + munis.unit_of[:, phase]] = phase
    by_phase = np.array([staff_cal["planned_load_by_phase"][phase] for phase in _PHASES])
    fte = held / (munis.planned_load[slot_muni] * by_phase[slot_phase] * points.typical_norm)
    caseworkers = np.maximum(np.ceil(fte / fte_per_post[slot_muni]),
                             staff_cal["min_caseworkers_per_unit"]).astype(np.int64)
    seniors = np.round(caseworkers * staff_cal["share_senior_posts"]).astype(np.int64)

    slot = np.unique(munis.unit_of + np.arange(len(munis))[:, None] * n_units)
    count = caseworkers[slot] + 1
    within = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    role = np.select([within == 0, within <= np.repeat(seniors[slot], count)],
                     [_CHEF, _SENIOR], _CASEWORKER)
    return pd.DataFrame({"muni": np.repeat(slot // n_units, count),
                         "unit": np.repeat(slot % n_units, count), "role": role})


def _employments(rng: np.random.Generator, posts: pd.DataFrame, munis: _Municipalities,
                 window: _Window, cal: dict) -> pd.DataFrame:
    """Who held each post: the holder on the first day, then each successor after a vacancy."""
    staff_cal = cal["staff"]
    muni = posts["muni"].to_numpy()
    role = posts["role"].to_numpy()
    years = staff_cal["tenure_years"]
    mean_years = np.array([[years[s] for s in _STAYS]] * len(munis)) * np.where(
        np.arange(len(_STAYS)) == _KONSULT, 1.0, munis.tenure_factor[:, None])
    hire_weights = _hire_weights(munis, mean_years, staff_cal)[muni, role]

    stay = _choose_rows(rng, hire_weights * mean_years[muni])  # stationary mix on the first day
    mean_days = mean_years[muni, stay] * DAYS_PER_YEAR
    start = window.first - np.floor(rng.exponential(mean_days)).astype(np.int64)
    end = window.first + np.floor(rng.exponential(mean_days)).astype(np.int64)
    end = np.maximum(end, start + staff_cal["min_tenure_days"])
    parts = [(np.arange(muni.size), stay, start, end)]
    post, last_end = np.arange(muni.size), end
    while post.size:
        post = post[last_end < window.last]
        start = (last_end[last_end < window.last] + 1
                 + rng.integers(0, staff_cal["vacancy_days_max"] + 1, post.size))
        post, start = post[start <= window.last], start[start <= window.last]
        stay = _choose_rows(rng, hire_weights[post])
        tenure = np.floor(rng.exponential(mean_years[muni[post], stay] * DAYS_PER_YEAR))
        last_end = start + np.maximum(tenure.astype(np.int64), staff_cal["min_tenure_days"])
        parts.append((post, stay, start, last_end))

    post, stay, start, end = (np.concatenate(p) for p in zip(*parts, strict=True))
    staff = pd.DataFrame({"post": post, "muni": muni[post], "unit": posts["unit"].to_numpy()[post],
                          "role": role[post], "stay": stay, "start": start, "end": end})
    staff = _with_person_details(rng, staff, munis, window, staff_cal)
    return _moves_and_rehires(rng, staff, munis, window, staff_cal)


def _hire_weights(munis: _Municipalities, mean_years: np.ndarray, cal: dict) -> np.ndarray:
    """(municipality, role, stay) weights of who a hire is: short or long stayer, consultant."""
    short = cal["share_short_stayers"]
    employee_years = short * mean_years[:, _SHORT] + (1 - short) * mean_years[:, _LONG]
    share = munis.consultant_share
    # Hire consultants so that they hold `share` of the posts at any time.
    konsult = share * employee_years / (share * employee_years
                                        + (1 - share) * mean_years[:, _KONSULT])
    weights = np.zeros((len(munis), len(_ROLES), len(_STAYS)))
    weights[:, _CASEWORKER, _SHORT] = (1 - konsult) * short
    weights[:, _CASEWORKER, _LONG] = (1 - konsult) * (1 - short)
    weights[:, (_CASEWORKER, _SENIOR), _KONSULT] = konsult[:, None]
    weights[:, _SENIOR, _LONG] = 1 - konsult
    weights[:, _CHEF, _CHEF_STAY] = 1.0
    return weights


def _with_person_details(rng: np.random.Generator, staff: pd.DataFrame, munis: _Municipalities,
                         window: _Window, cal: dict) -> pd.DataFrame:
    """Experience (day of the degree), form of employment and FTE of each employment."""
    n = len(staff)
    stay, role = staff["stay"].to_numpy(), staff["role"].to_numpy()
    graduate_share = np.array([cal["newly_graduated_share"].get(s, 0.0) for s in _STAYS])[stay]
    newly_graduated = (rng.random(n) < graduate_share) & (role == _CASEWORKER)
    experienced_years = np.where(role == _CASEWORKER, 1.0, cal["senior_min_years"]) + \
        rng.exponential(cal["experienced_mean_years"], n)
    years_at_hire = np.where(newly_graduated, cal["graduated_within_years"] * rng.random(n),
                             experienced_years)
    start = staff["start"].to_numpy()
    # Nobody's degree is older than a working life at the first day.
    staff["degree_day"] = np.maximum(start - np.floor(years_at_hire * DAYS_PER_YEAR),
                                     window.first - int(cal["career_max_years"] * DAYS_PER_YEAR)
                                     ).astype(np.int64)
    staff["start"] = np.maximum(start, staff["degree_day"])
    staff["newly_graduated"] = newly_graduated
    staff["exam_year_known"] = rng.random(n) >= cal["missing_exam_year_share"]

    visstid = (stay == _SHORT) & (rng.random(n) < cal["visstid_share_of_short_stayers"])
    staff["employment"] = np.select([stay == _KONSULT, visstid],
                                    [_EMPLOYMENT["konsult"], _EMPLOYMENT["visstid"]],
                                    _EMPLOYMENT["tillsvidare"])
    part_time = ((rng.random(n) < munis.part_time_share[staff["muni"].to_numpy()])
                 & (role != _CHEF) & (stay != _KONSULT))
    staff["fte"] = np.where(part_time, rng.choice(cal["part_time_fte"], n), 1.0)
    return staff


def _moves_and_rehires(rng: np.random.Generator, staff: pd.DataFrame, munis: _Municipalities,
                       window: _Window, cal: dict) -> pd.DataFrame:
    """Some caseworkers move to another unit the next day, some come back after a while.

    Either way a later hire becomes the same person: the employment keeps its post, takes the
    person (and degree) of the one who left, and a mover's old employment ends the day before.
    """
    n = len(staff)
    staff["person"] = np.arange(n)
    muni, unit = staff["muni"].to_numpy(), staff["unit"].to_numpy()
    start, end = staff["start"].to_numpy(), staff["end"].to_numpy()
    employee = ((staff["role"].to_numpy() != _CHEF)
                & (staff["employment"].to_numpy() != _EMPLOYMENT["konsult"]))
    leaves = employee & (end < window.last)
    hired = employee & (start >= window.first)

    movers = np.flatnonzero(leaves & (rng.random(n) < cal["move_share"]))
    # A mover may go to any other unit of the municipality: one row per unit to look in.
    units_of = [np.unique(munis.unit_of[m]) for m in range(len(munis))]
    other_units = [units_of[m][units_of[m] != u] for m, u in zip(muni[movers], unit[movers],
                                                                  strict=True)]
    mover_rows = np.repeat(movers, [u.size for u in other_units])
    to_unit = np.concatenate([np.zeros(0, dtype=np.int64), *other_units])
    candidates = np.flatnonzero(hired & ~np.isin(np.arange(n), movers))
    moves = _later_hires(mover_rows, muni[mover_rows], to_unit, end[mover_rows] + 1,
                         candidates, muni[candidates], unit[candidates], start[candidates],
                         cal["move_match_days"])

    taken = np.isin(np.arange(n), np.concatenate([movers, moves[:, 1]]))
    leavers = np.flatnonzero(leaves & ~np.isin(np.arange(n), movers)
                             & (rng.random(n) < cal["rehire_share"]))
    low, high = cal["rehire_gap_days"]
    candidates = np.flatnonzero(hired & ~taken & ~np.isin(np.arange(n), leavers))
    rehires = _later_hires(leavers, muni[leavers], np.zeros(leavers.size, dtype=np.int64),
                           end[leavers] + low, candidates, muni[candidates],
                           np.zeros(candidates.size, dtype=np.int64), start[candidates],
                           high - low)

    person, degree = staff["person"].to_numpy().copy(), staff["degree_day"].to_numpy().copy()
    end = end.copy()
    for pairs in (moves, rehires):
        person[pairs[:, 1]] = person[pairs[:, 0]]
        degree[pairs[:, 1]] = degree[pairs[:, 0]]
    end[moves[:, 0]] = start[moves[:, 1]] - 1
    staff["person"], staff["degree_day"], staff["end"] = person, degree, end
    # A person is named by their first employment: movers and rehires come back later.
    staff["first_of_person"] = person == np.arange(n)
    return staff


def _later_hires(leaver: np.ndarray, leaver_muni: np.ndarray, leaver_unit: np.ndarray,
                 from_day: np.ndarray, hire: np.ndarray, hire_muni: np.ndarray,
                 hire_unit: np.ndarray, hire_start: np.ndarray, within_days: int) -> np.ndarray:
    """(leaver, hire) pairs: a hire in the leaver's municipality and unit starting from
    `from_day` to `within_days` later, the earliest one for each leaver; each leaver and each
    hire at most once."""
    left = pd.DataFrame({"muni": leaver_muni, "unit": leaver_unit, "day": from_day,
                         "leaver": leaver}).sort_values("day", kind="stable")
    right = pd.DataFrame({"muni": hire_muni, "unit": hire_unit, "day": hire_start,
                          "hire": hire, "hire_start": hire_start}).sort_values("day", kind="stable")
    matched = pd.merge_asof(left, right, on="day", by=["muni", "unit"], direction="forward",
                            tolerance=within_days).dropna(subset=["hire"])
    matched = (matched.sort_values("hire_start", kind="stable")
               .drop_duplicates("leaver").drop_duplicates("hire"))
    return np.column_stack([matched["leaver"].to_numpy(np.int64),
                            matched["hire"].to_numpy(np.int64)]).reshape(-1, 2)


class _Roster:
    """Who holds a post on each day from `first` to `last`, per municipality and unit."""

    def __init__(self, employment: np.ndarray, group: np.ndarray, start: np.ndarray,
                 end: np.ndarray, first: int, last: int) -> None:
        self._first, self._days = first, last - first + 1
        offset = np.maximum(start, first) - first
        length = np.maximum(np.minimum(end, last) - first - offset + 1, 0)
        row = np.repeat(np.arange(employment.size), length)
        day = offset[row] + np.arange(row.size) - np.repeat(np.cumsum(length) - length, length)
        key = group[row] * self._days + day
        order = np.argsort(key, kind="stable")
        self._key, self._employment = key[order], employment[row[order]]

    def draw(self, rng: np.random.Generator, group: np.ndarray, day: np.ndarray) -> np.ndarray:
        """A random employment active in the group on the day, or -1 when there is none."""
        offset = day - self._first
        key = group * self._days + offset
        low = np.searchsorted(self._key, key, side="left")
        count = np.searchsorted(self._key, key, side="right") - low
        count[(offset < 0) | (offset >= self._days)] = 0
        if not self._key.size:
            return np.full(day.size, -1)
        pick = np.minimum(low + np.floor(rng.random(day.size) * count).astype(np.int64),
                          self._key.size - 1)
        return np.where(count > 0, self._employment[pick], -1)


def _assign_caseworkers(rng: np.random.Generator, events: pd.DataFrame, cases: pd.DataFrame,
                        interventions: pd.DataFrame, staff: pd.DataFrame, munis: _Municipalities,
                        window: _Window, points: _Points, cal: dict) -> np.ndarray:
    """The employment responsible for each event (-1: none recorded).

    Each unit's manager deals work on the first of every month, by workload points against the
    norm (workload.yaml) as Insyn measures them: the cases coming to the unit that month, those
    of caseworkers who have left, and, from a caseworker over the norm `move_after_months`
    months in a row, enough cases to bring them down to `move_down_to` of it. Each goes to a
    caseworker employed all month in proportion to their room under the norm, with noise. A case
    stays with its caseworker in a unit while they are there; an event names the case's
    caseworker that month, or someone in the unit that day when they have gone. Events before
    the flow starts (of stock cases) name the case's first caseworker when they were employed
    then, else nobody: the staff table holds only people employed in the period.
    """
    assign_cal = cal["assignment"]
    n_units = len(munis.units)
    n_groups = len(munis) * n_units
    case, day = events["case"].to_numpy(), events["date"].to_numpy()
    keys, event_key = np.unique(case * n_units + events["unit"].to_numpy(), return_inverse=True)
    key_group = cases["muni"].to_numpy()[keys // n_units] * n_units + keys % n_units
    days = _month_firsts(window.flow_start, window.last)
    event_month = np.searchsorted(days, day, side="right") - 1
    by_month = np.argsort(event_month, kind="stable")
    event_bounds = np.searchsorted(event_month[by_month], np.arange(days.size + 1))

    # The points of each case's work on each first of the month, with the unit its latest event
    # names then.
    work_case, work_month, work_points = _case_points(cases, interventions, days, points)
    latest = _latest_events(events, work_case, days[work_month] - 1)
    known = latest >= 0
    work_key, work_month, work_points = event_key[latest[known]], work_month[known], work_points[known]
    work_latest = latest[known]
    by_work_month = np.argsort(work_month, kind="stable")
    work_bounds = np.searchsorted(work_month[by_work_month], np.arange(days.size + 1))
    # What a case is expected to weigh when it is dealt before it has been measured.
    held_months = np.bincount(work_key, minlength=keys.size)
    key_points = np.where(held_months > 0, np.bincount(work_key, work_points, keys.size)
                          / np.maximum(held_months, 1), points.assessment)
    # Each case's events in date order, to find the next one after a day.
    key_order = np.lexsort((day, event_key))
    span = window.last + 1 - window.flow_start
    key_days = event_key[key_order] * span + np.maximum(day[key_order] - window.flow_start, 0)

    member = np.flatnonzero(staff["role"].to_numpy() != _CHEF)
    group = (staff["muni"].to_numpy() * n_units + staff["unit"].to_numpy())[member]
    start, end, fte, degree = (staff[c].to_numpy()[member] for c in ("start", "end", "fte", "degree_day"))
    exam_known = staff["exam_year_known"].to_numpy()[member]

    holder = np.full(keys.size, -1)  # member index
    first_holder = np.full(keys.size, -1)
    assigned = np.full(day.size, -1)
    over_months = np.zeros(member.size, dtype=np.int64)
    for m, first in enumerate(days):
        month_end = days[m + 1] - 1 if m + 1 < days.size else window.last
        employed, whole_month = (start <= first) & (end >= first), (start <= first) & (end >= month_end)
        capacity = fte * points.norm((first - degree) / DAYS_PER_YEAR, exam_known)
        work = by_work_month[work_bounds[m]:work_bounds[m + 1]]
        month_events = by_month[event_bounds[m]:event_bounds[m + 1]]
        # What the manager means each to hold, and what the data show them holding: a case
        # handed over shows from its next event.
        held, shown = holder[work_key[work]], assigned[work_latest[work]]
        load = np.bincount(held[held >= 0], work_points[work][held >= 0], minlength=member.size)
        seen = np.bincount(shown[shown >= 0], work_points[work][shown >= 0], minlength=member.size)
        leaving = (shown >= 0) & (held != shown)
        handed_over = np.bincount(shown[leaving], work_points[work][leaving], minlength=member.size)
        over_months = np.where(employed & (seen > capacity), over_months + 1, 0)

        active = np.unique(np.concatenate([work_key[work], event_key[month_events]]))
        gone = holder[active] < 0
        gone[~gone] = ~employed[holder[active][~gone]]
        # From a caseworker long over the norm, the cases whose next event comes first (a case
        # handed over shows from its next event: the export has no hand-over) until the rest
        # are within `move_down_to` of the norm.
        crowded = ((over_months >= assign_cal["move_after_months"])[np.maximum(held, 0)] & (held >= 0)
                   & (held == shown))
        moving = work[crowded]
        if moving.size:
            nxt = np.searchsorted(key_days, work_key[moving] * span + first - window.flow_start,
                                  side="left")
            next_key = event_key[key_order[np.minimum(nxt, key_order.size - 1)]]
            soon = np.where((nxt < key_order.size) & (next_key == work_key[moving]),
                            day[key_order[np.minimum(nxt, key_order.size - 1)]], window.last + 1)
            who = holder[work_key[moving]]
            order = np.lexsort((soon, who))
            moving, who = moving[order], who[order]
            before = np.cumsum(work_points[moving]) - work_points[moving]
            run_start = np.r_[True, who[1:] != who[:-1]]
            carried = before - np.maximum.accumulate(np.where(run_start, before, 0))
            moving = moving[carried < seen[who] - handed_over[who] - assign_cal["move_down_to"] * capacity[who]]
            np.subtract.at(load, holder[work_key[moving]], work_points[moving])
        dealt = np.unique(np.concatenate([active[gone], work_key[moving]]))
        # Room up to the level the unit would reach with everyone equally loaded (never less
        # than `min_room` of the norm), so that nobody is filled far past the others.
        staffed = np.where(whole_month, capacity, 0.0)
        coming = np.bincount(key_group[dealt], key_points[dealt], minlength=n_groups)
        level = ((np.bincount(group, np.where(whole_month, load, 0.0), minlength=n_groups) + coming)
                 / np.maximum(np.bincount(group, staffed, minlength=n_groups), 1e-9))[group]
        room = np.maximum(level * staffed - load, assign_cal["min_room"] * staffed)
        weight = room * rng.lognormal(0.0, assign_cal["room_noise_sigma"], member.size)
        taken = _deal(rng, key_group[dealt], key_points[dealt], group, weight)
        holder[dealt] = np.where(taken >= 0, taken, -1)
        first_holder[dealt] = np.where(first_holder[dealt] < 0, holder[dealt], first_holder[dealt])
        assigned[month_events] = holder[event_key[month_events]]

    employment = np.where(assigned >= 0, member[np.maximum(assigned, 0)], -1)
    there = (assigned >= 0) & (start[np.maximum(assigned, 0)] <= day) & (end[np.maximum(assigned, 0)] >= day)
    roster = _Roster(member, group, start, end, window.flow_start, window.last)
    stand_in = np.flatnonzero(~there)
    employment[stand_in] = roster.draw(rng, key_group[event_key[stand_in]], day[stand_in])
    # Events before the flow starts name the case's first caseworker if they were employed then.
    before = np.flatnonzero(day < window.flow_start)
    earlier = first_holder[event_key[before]]
    known = (earlier >= 0) & (start[np.maximum(earlier, 0)] <= day[before])
    employment[before] = np.where(known, member[np.maximum(earlier, 0)], -1)
    employment[rng.random(employment.size) < cal["staff"]["missing_caseworker_share"]] = -1
    return employment


def _deal(rng: np.random.Generator, item_group: np.ndarray, item_points: np.ndarray,
          member_group: np.ndarray, member_weight: np.ndarray) -> np.ndarray:
    """Each item to a member of its group (-1: the group has no member of positive weight): the
    group's members share its items' points in proportion to their weights, the items in random
    order laid end to end over the members' shares."""
    members = np.flatnonzero(member_weight > 0)
    members = members[np.argsort(member_group[members], kind="stable")]
    groups, first, count = np.unique(member_group[members], return_index=True, return_counts=True)
    at = np.minimum(np.searchsorted(groups, item_group), max(groups.size - 1, 0))
    result = np.full(item_group.size, -1)
    if not groups.size:
        return result
    items = np.flatnonzero(groups[at] == item_group)
    items = items[np.lexsort((rng.random(items.size), at[items]))]
    share = np.bincount(at[items], item_points[items], minlength=groups.size)
    member_at = np.repeat(np.arange(groups.size), count)
    weight = member_weight[members]
    quota = weight / np.bincount(member_at, weight, minlength=groups.size)[member_at] * share[member_at]
    middle = np.cumsum(item_points[items]) - item_points[items] / 2
    pick = np.clip(np.searchsorted(np.cumsum(quota), middle, side="right"),
                   first[at[items]], first[at[items]] + count[at[items]] - 1)
    result[items] = members[pick]
    return result


def _distinct(events: pd.DataFrame, caseworker: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """Without repeated rows (two reports from the same source on the same day, say): an
    import reads identical rows as one fact."""
    repeated = events.drop(columns="phase").assign(caseworker=caseworker).duplicated().to_numpy()
    return events[~repeated].reset_index(drop=True), caseworker[~repeated]


# --- trainings and mentoring --------------------------------------------------------------


def _trainings(rng: np.random.Generator, staff: pd.DataFrame, munis: _Municipalities,
               window: _Window, cal: dict) -> pd.DataFrame:
    """Completed courses: (employment, course, day), each course once per person."""
    train = cal["training"]
    muni = staff["muni"].to_numpy()
    start = staff["start"].to_numpy()
    until = np.minimum(staff["end"].to_numpy(), window.last)
    employee = staff["employment"].to_numpy() != _EMPLOYMENT["konsult"]
    n = len(staff)

    new_person = employee & staff["first_of_person"].to_numpy()
    intro = np.flatnonzero(new_person & (rng.random(n) < train["intro_share"]))
    yrkesresan = np.flatnonzero(new_person & staff["newly_graduated"].to_numpy()
                                & munis.yrkesresan[muni]
                                & (rng.random(n) < train["yrkesresan_share"]))
    parts = [
        ("INTRO", intro, start[intro] + rng.integers(*train["intro_days"], intro.size)),
        ("YRKESRESAN", yrkesresan,
         start[yrkesresan] + rng.integers(*train["yrkesresan_days"], yrkesresan.size)),
    ]
    employees = np.flatnonzero(employee)
    for course, per_year in train["per_year"].items():
        wait = rng.exponential(DAYS_PER_YEAR / (per_year * munis.training_factor[muni[employees]]))
        parts.append((course, employees, start[employees] + np.floor(wait).astype(np.int64)))

    frame = pd.concat([pd.DataFrame({"employment": who, "course": course, "day": day})
                       for course, who, day in parts], ignore_index=True)
    frame = frame[frame["day"].to_numpy() <= until[frame["employment"].to_numpy()]]
    frame["person"] = staff["person"].to_numpy()[frame["employment"].to_numpy()]
    frame = frame.sort_values(["day", "employment"], kind="stable")
    return frame.drop_duplicates(["person", "course"]).reset_index(drop=True)


def _mentorships(rng: np.random.Generator, staff: pd.DataFrame, munis: _Municipalities,
                 window: _Window, cal: dict) -> pd.DataFrame:
    """Newly graduated caseworkers hired during the period, most with an experienced mentor."""
    mentor_cal = cal["mentoring"]
    n_units = len(munis.units)
    muni, role = staff["muni"].to_numpy(), staff["role"].to_numpy()
    start, end = staff["start"].to_numpy(), staff["end"].to_numpy()
    degree = staff["degree_day"].to_numpy()
    group = muni * n_units + staff["unit"].to_numpy()
    mentee = np.flatnonzero(staff["newly_graduated"].to_numpy()
                            & staff["first_of_person"].to_numpy() & (start >= window.first)
                            & (rng.random(len(staff)) < munis.mentor_share[muni]))
    begins = start[mentee] + rng.integers(0, mentor_cal["start_days_max"] + 1, mentee.size)

    employee = staff["employment"].to_numpy() != _EMPLOYMENT["konsult"]
    caseworkers = np.flatnonzero((role != _CHEF) & employee)
    roster = _Roster(caseworkers, group[caseworkers], start[caseworkers], end[caseworkers],
                     window.first, window.last)
    mentor = np.full(mentee.size, -1)
    min_days = mentor_cal["mentor_min_years"] * DAYS_PER_YEAR
    for _ in range(8):  # try colleagues until an experienced one is found
        open_ = np.flatnonzero(mentor < 0)
        drawn = roster.draw(rng, group[mentee[open_]], start[mentee[open_]])
        ok = (drawn >= 0) & (start[mentee[open_]] - degree[drawn] >= min_days)
        mentor[open_[ok]] = drawn[ok]
    has = mentor >= 0
    mentee, mentor, begins = mentee[has], mentor[has], begins[has]
    finishes = np.minimum.reduce([begins + rng.integers(*mentor_cal["duration_days"],
                                                        mentee.size),
                                  end[mentee], end[mentor]])
    keep = (begins <= window.last) & (finishes >= begins)
    return pd.DataFrame({
        "mentor": mentor[keep], "mentee": mentee[keep], "start": begins[keep],
        "end": finishes[keep],
        "hours": rng.choice(np.asarray(mentor_cal["hours_per_month"], dtype=float),
                            int(keep.sum())),
    })


# --- workload ratings ---------------------------------------------------------------------


def _month_firsts(first: int, last: int) -> np.ndarray:
    """The first day of each month from the month of `first` to that of `last`."""
    months = np.arange(np.datetime64(first, "D").astype("datetime64[M]"),
                       np.datetime64(last, "D").astype("datetime64[M]") + 1)
    return months.astype("datetime64[D]").astype(np.int64)


def _days_within(start: np.ndarray, end: np.ndarray,
                 days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, index into the sorted `days`) for each of `days` from each row's start to its end."""
    first = np.searchsorted(days, start, side="left")
    count = np.maximum(np.searchsorted(days, end, side="right") - first, 0)
    row = np.repeat(np.arange(start.size), count)
    offset = np.repeat(np.cumsum(count) - count, count)
    return row, first[row] + np.arange(row.size) - offset


def _held_load(events: pd.DataFrame, caseworker: np.ndarray, cases: pd.DataFrame,
               interventions: pd.DataFrame, staff: pd.DataFrame, days: np.ndarray,
               points: _Points) -> np.ndarray:
    """(person, day) the workload points each person (staff["person"]) holds on each of `days`,
    as a share of the typical norm: a case is held by the person on its latest event on or
    before the day, as Insyn measures it. Typical is the middle level's norm for everyone
    alike, so that where posts carry more the load shows it."""
    case, day, held = _case_points(cases, interventions, days, points)
    latest = _latest_events(events, case, days[day])
    holder = np.where(latest >= 0, caseworker[np.maximum(latest, 0)], -1)
    known = holder >= 0
    person = staff["person"].to_numpy()[holder[known]]
    return np.bincount(person * days.size + day[known], weights=held[known] / points.typical_norm,
                       minlength=len(staff) * days.size).reshape(len(staff), days.size)


def _workload_ratings(rng: np.random.Generator, events: pd.DataFrame, caseworker: np.ndarray,
                      cases: pd.DataFrame, interventions: pd.DataFrame, staff: pd.DataFrame,
                      window: _Window, points: _Points, cal: dict) -> pd.DataFrame:
    """Employed caseworkers' (not consultants') monthly workload rating and flexitime balance.

    Each month most caseworkers employed on its first day respond; both figures rise with the
    load they hold that day per FTE, and newly graduated caseworkers rate a little higher.
    """
    rating_cal = cal["workload_ratings"]
    days = _month_firsts(window.first, window.last)
    load = _held_load(events, caseworker, cases, interventions, staff, days, points)
    raters = np.flatnonzero((staff["role"].to_numpy() != _CHEF)
                            & (staff["employment"].to_numpy() != _EMPLOYMENT["konsult"]))
    row, month = _days_within(staff["start"].to_numpy()[raters], staff["end"].to_numpy()[raters],
                              days)
    responds = rng.random(row.size) < rating_cal["response_share"]
    employment, month = raters[row[responds]], month[responds]
    n = employment.size

    above_typical = (load[staff["person"].to_numpy()[employment], month]
                     / staff["fte"].to_numpy()[employment]) - 1
    new_graduate = (days[month] - staff["degree_day"].to_numpy()[employment]
                    < rating_cal["newly_graduated_years"] * DAYS_PER_YEAR)
    rating = (rating_cal["rating_at_typical_load"]
              + rating_cal["rating_per_typical_load"] * above_typical
              + rating_cal["newly_graduated_rating"] * new_graduate
              + rating_cal["rating_sigma"] * rng.standard_normal(n))
    flex = (rating_cal["flex_hours_at_typical_load"]
            + rating_cal["flex_hours_per_typical_load"] * above_typical
            + rating_cal["flex_hours_sigma"] * rng.standard_normal(n))
    return pd.DataFrame({
        "employment": employment, "month": days[month],
        "rating": np.clip(np.rint(rating), 1, 5).astype(np.int64),
        "flex_hours": np.round(np.clip(flex, 0, None) * 2) / 2,
        "flex_missing": rng.random(n) < rating_cal["flex_missing_share"],
    })


# --- output frames ------------------------------------------------------------------------


def _columns(table: str) -> list[str]:
    return [c.name for c in TABLES[table].columns]


def _text(values: pa.Array, index: np.ndarray) -> pd.arrays.ArrowStringArray:
    """values[index] as a pandas string column; null where index is -1."""
    taken = values.take(pa.array(np.maximum(index, 0), mask=index < 0))
    return pd.array(taken, dtype="str")


def _dates(days: np.ndarray, missing: np.ndarray | None = None) -> pd.Series:
    dates = days.astype("datetime64[D]")
    if missing is not None:
        dates[missing] = np.datetime64("NaT")
    return pd.Series(dates).astype("datetime64[s]")


def _case_ids(cases: pd.DataFrame, munis: _Municipalities) -> pa.Array:
    """'1480-2023-000123': municipality, year the case opened, running number in that year."""
    muni = cases["muni"].to_numpy()
    opened = cases["first_report"].to_numpy()
    year = opened.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    order = np.lexsort((opened, year, muni))
    key = muni[order] * 10_000 + year[order]
    first = np.ones(order.size, dtype=bool)
    first[1:] = key[1:] != key[:-1]
    starts = np.maximum.accumulate(np.where(first, np.arange(order.size), 0))
    number = np.empty(order.size, dtype=np.int64)
    number[order] = np.arange(order.size) - starts + 1
    return pc.binary_join_element_wise(
        pa.array(munis.code[muni]), pa.array(year.astype(str)),
        pc.utf8_lpad(pa.array(number.astype(str)), 6, "0"), "-")


def _staff_ids(staff: pd.DataFrame, munis: _Municipalities) -> pa.Array:
    """'1480-S0042' per employment: one number per person, in order of first employment.

    A person is named by the index of their first employment (see _moves_and_rehires).
    """
    person, muni, start = (staff[c].to_numpy() for c in ("person", "muni", "start"))
    people = np.unique(person)
    ranked = people[np.lexsort((people, start[people], muni[people]))]
    new_muni = np.ones(ranked.size, dtype=bool)
    new_muni[1:] = muni[ranked][1:] != muni[ranked][:-1]
    number = np.zeros(len(staff), dtype=np.int64)
    number[ranked] = np.arange(ranked.size) - np.maximum.accumulate(
        np.where(new_muni, np.arange(ranked.size), 0)) + 1
    return pc.binary_join_element_wise(
        pa.array(munis.code[muni]), pc.utf8_lpad(pa.array(number[person].astype(str)), 4, "0"),
        "-S")


def _events_frame(events: pd.DataFrame, caseworker: np.ndarray, cases: pd.DataFrame,
                  children: _Children, staff_ids: pa.Array, rng: np.random.Generator,
                  munis: _Municipalities, cal: dict) -> pd.DataFrame:
    case = events["case"].to_numpy()
    child = cases["child"].to_numpy()
    birth = children.birth.astype("datetime64[D]")
    unaccompanied = _unaccompanied(rng, cases, children, cal)
    unknown_date = unaccompanied & (rng.random(unaccompanied.size) < cal["unaccompanied"]["share_unknown_birth_date"])
    person_ids, temporary = with_other_ids(
        rng, personal_numbers(rng, birth, children.male, cal["children"]["share_coordination_number"]),
        birth, children.male, unknown_date, cal["children"])
    muni = cases["muni"].to_numpy()[case]
    decision = events["decision"].to_numpy()
    with_id = munis.decision_ids[muni] & (decision >= 0)
    extended_until = events["extended_until"].to_numpy()
    frame = pd.DataFrame({
        "municipality": _text(pa.array(munis.code), muni),
        "case_id": _text(_case_ids(cases, munis), case),
        "person_id": _text(pa.array(person_ids), child[case]),
        "event": _text(pa.array(list(_EVENT)), events["event"].to_numpy()),
        "date": _dates(events["date"].to_numpy()),
        "unit": _text(pa.array(munis.units), events["unit"].to_numpy()),
        "caseworker_id": _text(staff_ids, caseworker),
        "source": _text(pa.array(_SOURCES), events["source"].to_numpy()),
        "outcome": _text(pa.array(_OUTCOMES), events["outcome"].to_numpy()),
        "intervention": _text(pa.array(_INTERVENTIONS), events["intervention"].to_numpy()),
        "intervention_id": pd.array(np.where(with_id, np.char.add("B", decision.astype(str)), None),
                                    dtype="str"),
        "extended_until": _dates(extended_until, missing=extended_until < 0),
        "unaccompanied": pd.array(np.where(unaccompanied[child[case]], "ja", None), dtype="str"),
        "temporary_number": pd.array(np.where(temporary[child[case]], "ja", None), dtype="str"),
        "provider": pd.array([None] * len(case), dtype="str"),  # set by insyn.synth.costs
        # Set by insyn.synth.collaboration on the rows it adds.
        "organisations": pd.array([None] * len(case), dtype="str"),
        "legal_basis": pd.array([None] * len(case), dtype="str"),
    })
    return frame[_columns("events")]


def _as_exported(events: pd.DataFrame, munis: _Municipalities, window: _Window) -> pd.DataFrame:
    """The events as each municipality's case system exports them: some only from the first
    day of the first year, so that an intervention begun before it appears only by its end."""
    from_first_day = events["municipality"].map(dict(zip(munis.code, munis.from_first_day, strict=True)))
    before = events["date"] < np.datetime64(window.first, "D")
    return events[~(from_first_day.to_numpy(dtype=bool) & before.to_numpy())].reset_index(drop=True)


def _unaccompanied(rng: np.random.Generator, cases: pd.DataFrame, children: _Children, cal: dict) -> np.ndarray:
    """Per child, whether they came to Sweden unaccompanied: a share of those first reported at 13–17."""
    first_report = np.full(children.muni.size, np.iinfo(np.int64).max)
    np.minimum.at(first_report, cases["child"].to_numpy(), cases["first_report"].to_numpy())
    age = _age(first_report, children.birth)
    return (age >= 13) & (age < 18) & (rng.random(age.size) < cal["unaccompanied"]["share_13_17"])


def _staff_frame(staff: pd.DataFrame, staff_ids: pa.Array, munis: _Municipalities,
                 window: _Window) -> pd.DataFrame:
    employment = np.arange(len(staff))
    end = staff["end"].to_numpy()
    degree_year = (staff["degree_day"].to_numpy().astype("datetime64[D]").astype("datetime64[Y]")
                   .astype(np.int64) + 1970)
    frame = pd.DataFrame({
        "municipality": _text(pa.array(munis.code), staff["muni"].to_numpy()),
        "staff_id": _text(staff_ids, employment),
        "unit": _text(pa.array(munis.units), staff["unit"].to_numpy()),
        "role": _text(pa.array(_ROLES), staff["role"].to_numpy()),
        "employment": _text(pa.array(_EMPLOYMENTS), staff["employment"].to_numpy()),
        "start_date": _dates(staff["start"].to_numpy()),
        "end_date": _dates(end, missing=end > window.last),
        "fte": staff["fte"].to_numpy(dtype=float),
        "exam_year": pd.arrays.IntegerArray(degree_year,
                                            mask=~staff["exam_year_known"].to_numpy()),
        "funding": pd.array([None] * len(staff), dtype="string"),  # insyn.synth.grants marks the funded
        "monthly_salary": np.full(len(staff), np.nan),  # and sets the salaries
    })
    return frame.sort_values(["municipality", "staff_id", "start_date"],
                             kind="stable").reset_index(drop=True)[_columns("staff")]


def _trainings_frame(trainings: pd.DataFrame, staff: pd.DataFrame, staff_ids: pa.Array,
                     munis: _Municipalities) -> pd.DataFrame:
    employment = trainings["employment"].to_numpy()
    frame = pd.DataFrame({
        "municipality": _text(pa.array(munis.code), staff["muni"].to_numpy()[employment]),
        "staff_id": _text(staff_ids, employment),
        "course": trainings["course"].astype("str").to_numpy(),
        "completed_date": _dates(trainings["day"].to_numpy()),
    })
    return frame.sort_values(["municipality", "staff_id", "completed_date"],
                             kind="stable").reset_index(drop=True)[_columns("trainings")]


def _mentorships_frame(mentorships: pd.DataFrame, staff: pd.DataFrame, staff_ids: pa.Array,
                       munis: _Municipalities, window: _Window) -> pd.DataFrame:
    end = mentorships["end"].to_numpy()
    frame = pd.DataFrame({
        "municipality": _text(pa.array(munis.code),
                              staff["muni"].to_numpy()[mentorships["mentee"].to_numpy()]),
        "mentor_id": _text(staff_ids, mentorships["mentor"].to_numpy()),
        "mentee_id": _text(staff_ids, mentorships["mentee"].to_numpy()),
        "start_date": _dates(mentorships["start"].to_numpy()),
        "end_date": _dates(end, missing=end > window.last),
        "hours_per_month": mentorships["hours"].to_numpy(dtype=float),
    })
    return frame.sort_values(["municipality", "start_date", "mentee_id"],
                             kind="stable").reset_index(drop=True)[_columns("mentorships")]


def _workload_ratings_frame(ratings: pd.DataFrame, staff: pd.DataFrame, staff_ids: pa.Array,
                            munis: _Municipalities) -> pd.DataFrame:
    employment = ratings["employment"].to_numpy()
    flex = ratings["flex_hours"].to_numpy(dtype=float)
    frame = pd.DataFrame({
        "municipality": _text(pa.array(munis.code), staff["muni"].to_numpy()[employment]),
        "staff_id": _text(staff_ids, employment),
        "month": pd.array(np.datetime_as_string(ratings["month"].to_numpy().astype("datetime64[D]"),
                                                unit="M"), dtype="str"),
        "rating": ratings["rating"].to_numpy(),
        "flex_hours": np.where(ratings["flex_missing"].to_numpy(), np.nan, flex),
    })
    return frame.sort_values(["municipality", "staff_id", "month"],
                             kind="stable").reset_index(drop=True)[_columns("workload_ratings")]
