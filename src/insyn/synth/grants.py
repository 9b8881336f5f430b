"""Synthetic state grants (docs/synthetic-data.md): one stimulansmedel decision per municipality
and year, sized by its residents 0–20 from the national amount, the caseworker posts it pays for
marked in the staff table's `funding`, and every employee's monthly salary (what the posts cost).
The figures and their sources are in grants.yaml."""

from __future__ import annotations

from functools import cache
from importlib import resources

import numpy as np
import pandas as pd
import yaml

from insyn.model.municipalities import population_by_age
from insyn.model.tables import TABLES


@cache
def grant_calibration() -> dict:
    with resources.files("insyn.synth").joinpath("grants.yaml").open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def grant_tables(staff: pd.DataFrame, municipalities: pd.DataFrame, years: list[int],
                 seed: int) -> dict[str, pd.DataFrame]:
    """The grants table and the staff with `funding`: each municipality's yearly decision is its
    share (by residents 0–20) of the national amount; the last runs a few months into the next
    year and then ends. Employments of the funded roles and forms are funded at random, as many
    as the grant's amount pays for at cost_per_fte (never more than all of them)."""
    cal = grant_calibration()
    ages = population_by_age()
    national = float((ages.loc[ages.age_to <= 20, "female"] + ages.loc[ages.age_to <= 20, "male"]).sum())
    per_resident = cal["national_amount"] / national
    yearly = pd.Series((municipalities["population_0_20"] * per_resident).round().to_numpy(),
                       index=municipalities["municipality_code"].to_numpy())
    rows = []
    for code, amount in yearly.items():
        for year in years:
            extra = cal["last_decision_extra_months"] if year == max(years) else 0
            rows.append({"municipality": code, "grant": cal["grant"], "start_date": pd.Timestamp(year, 1, 1),
                         "end_date": pd.Timestamp(year, 12, 31) + pd.DateOffset(months=extra),
                         "amount": float(round(amount * (12 + extra) / 12)), "purpose": cal["purpose"]})
    grants = pd.DataFrame(rows, columns=[c.name for c in TABLES["grants"].columns])
    return {"staff": _salaried(_funded(staff, grants, yearly, cal, seed), cal, seed), "grants": grants}


def _salaried(staff: pd.DataFrame, cal: dict, seed: int) -> pd.DataFrame:
    """The staff with a monthly salary: the role's, varied by up to ±spread, in hundreds of
    kronor; none for consultants (invoiced, not on the payroll)."""
    rng = np.random.default_rng([seed, 23])
    base = staff["role"].map(cal["monthly_salary"]).to_numpy(dtype=float)
    varied = base * (1 + rng.uniform(-cal["monthly_salary_spread"], cal["monthly_salary_spread"], len(staff)))
    salary = np.where(staff["employment"].to_numpy() == "konsult", np.nan, np.round(varied, -2))
    return staff.assign(monthly_salary=salary)


def _funded(staff: pd.DataFrame, grants: pd.DataFrame, yearly: pd.Series, cal: dict, seed: int) -> pd.DataFrame:
    """The staff with `funding` the grant's name on eligible employments drawn in random order
    until the FTE they hold over the grants' years (each weighted by its share of those years)
    is what the municipality's `yearly` amount pays for at cost_per_fte."""
    rng = np.random.default_rng([seed, 22])
    first_day, last_day = grants["start_date"].min(), grants["end_date"].max()
    # Days in post within the grants' years, both ends counted (none: -1 + 1).
    within = (staff["end_date"].fillna(last_day).clip(upper=last_day)
              - staff["start_date"].clip(lower=first_day)).dt.days.clip(lower=-1) + 1
    held = (staff["fte"].fillna(1.0) * within / ((last_day - first_day).days + 1)).to_numpy()
    eligible = (staff["role"].isin(cal["roles"]) & staff["employment"].isin(cal["employment"])).to_numpy() & (held > 0)
    funded = np.zeros(len(staff), dtype=bool)
    for municipality, amount in yearly.items():
        rows = rng.permutation(np.flatnonzero(eligible & (staff["municipality"] == municipality).to_numpy()))
        before = np.cumsum(held[rows]) - held[rows]  # FTE funded before each row is drawn
        funded[rows[before < amount / cal["cost_per_fte"]]] = True
    return staff.assign(funding=pd.array(np.where(funded, cal["grant"], None), dtype="string"))
