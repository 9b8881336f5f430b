"""The 290 Swedish municipalities shipped with the package, and the named regions.

municipalities.csv: SCB municipality code, name, county, and population 31 December 2024
(SCB BE0101N1 via Kolada N01951). population_2019.csv: each municipality's residents on
31 December 2019 by single year of age 0–20 (and 21 and over) and legal sex, SCB BE0101N1's
exact register counts. The shipped populations by age are 2019's, and for 2024 the
municipality's own 2019 age structure scaled to its 2024 total; imported figures win
(docs/reference-data.md).
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import numpy as np
import pandas as pd
import yaml

from insyn.errors import NotFound

AGE_YEAR = 2019  # the year of the shipped populations by age
OLDEST = 150  # age_to of the open band "21 and over"


def _read(name: str, **options) -> pd.DataFrame:
    with resources.files("insyn.model").joinpath(name).open(encoding="utf-8") as f:
        return pd.read_csv(f, **options)


@cache
def population_by_age() -> pd.DataFrame:
    """population_2019.csv: municipality_code, age_from, age_to, female, male (SCB, 2019)."""
    return _read("population_2019.csv", dtype={"municipality_code": str})


def _raked(start: np.ndarray, row_totals: np.ndarray, column_totals: np.ndarray) -> np.ndarray:
    """Iterative proportional fitting: `start` scaled until its rows sum to `row_totals` and its
    columns to `column_totals` (which must have the same sum), keeping its interactions."""
    fitted = start.astype(float)
    for _ in range(100):
        fitted *= (column_totals / fitted.sum(axis=0))[None, :]
        fitted *= (row_totals / fitted.sum(axis=1))[:, None]
        if np.allclose(fitted.sum(axis=0), column_totals, rtol=1e-9):
            break
    return fitted


@cache
def reference_populations() -> pd.DataFrame:
    """The shipped populations in the canonical `populations` shape: each municipality's 2019
    figures by single age 0–20 and 21+ (exact), and the same ages for the year of its shipped
    total (2024, estimated): the 2019 figures of the national age bands (0–17, 18–20, 21+)
    raked to the municipality's 2024 total and the nation's 2024 bands, each band shared out
    over its single ages as in 2019."""
    ages = population_by_age()
    exact = ages.assign(municipality=ages.municipality_code, year=AGE_YEAR,
                        population=ages.female + ages.male)
    national = _read_yaml("population_national.yaml")
    bands = pd.DataFrame(national["bands"])
    band = np.searchsorted(bands.age_to.to_numpy(), exact.age_to.to_numpy())
    matrix = exact.assign(band=band).pivot_table(index="municipality", columns="band", values="population",
                                                 aggfunc="sum")
    totals = _read("municipalities.csv", dtype={"municipality_code": str}).set_index("municipality_code")
    raked = pd.DataFrame(_raked(matrix.to_numpy(), totals.population_total.loc[matrix.index].to_numpy(),
                                bands.population.to_numpy()), index=matrix.index, columns=matrix.columns)
    factor = raked.stack() / matrix.stack()  # per municipality and band
    keys = pd.MultiIndex.from_arrays([exact.municipality, band])
    estimated = exact.assign(year=national["year"],
                             population=(exact.population * factor.loc[keys].to_numpy()).round().astype("int64"))
    columns = ["municipality", "year", "age_from", "age_to", "population"]
    return pd.concat([exact[columns], estimated[columns]], ignore_index=True)


@cache
def municipalities() -> pd.DataFrame:
    """The municipalities with their shipped total population (2024) and, from the shipped
    bands of that year, their residents aged 0–17 and 0–20."""
    df = _read("municipalities.csv", dtype={"municipality_code": str, "county_code": str})
    bands = reference_populations()
    latest = bands[bands.year == df.population_year.max()]
    for oldest in (17, 20):
        young = latest[latest.age_to <= oldest].groupby("municipality").population.sum()
        df[f"population_0_{oldest}"] = df.municipality_code.map(young).astype("int64")
    return df


@cache
def municipality_codes() -> frozenset[str]:
    return frozenset(municipalities()["municipality_code"])


def municipality_names() -> dict[str, str]:
    df = municipalities()
    return dict(zip(df["municipality_code"], df["municipality"], strict=True))


def _read_yaml(name: str) -> dict:
    with resources.files("insyn.model").joinpath(name).open(encoding="utf-8") as f:
        return yaml.safe_load(f)


@cache
def regions() -> dict[str, dict]:
    return _read_yaml("regions.yaml")


def region_municipalities(region: str) -> pd.DataFrame:
    """The municipalities of a named region (regions.yaml) or a county code ("14")."""
    df = municipalities()
    if region in regions():
        codes = regions()[region]["municipalities"]
        return df.set_index("municipality_code").loc[codes].reset_index()
    selected = df[df["county_code"] == region]
    if selected.empty:
        raise NotFound(f"Okänd region eller länskod: {region}")
    return selected.reset_index(drop=True)


