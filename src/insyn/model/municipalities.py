"""The 290 Swedish municipalities shipped with the package, and the named regions.

municipalities.csv: SCB municipality code, name, county, and population 31 December 2024
(SCB BE0101N1 via Kolada N01951). The population aged 0–17 and 0–20 per municipality is an
*estimate* (the national shares of 2024 applied to the municipality's total), flagged in the
column ``age_estimated``; import SCB's table by age for exact figures (docs/reference-data.md).
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import pandas as pd
import yaml


@cache
def municipalities() -> pd.DataFrame:
    with resources.files("insyn.model").joinpath("municipalities.csv").open(encoding="utf-8") as f:
        return pd.read_csv(f, dtype={"municipality_code": str, "county_code": str})


@cache
def municipality_codes() -> frozenset[str]:
    return frozenset(municipalities()["municipality_code"])


def municipality_names() -> dict[str, str]:
    df = municipalities()
    return dict(zip(df["municipality_code"], df["municipality"], strict=True))


@cache
def regions() -> dict[str, dict]:
    with resources.files("insyn.model").joinpath("regions.yaml").open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def region_municipalities(region: str) -> pd.DataFrame:
    """The municipalities of a named region (regions.yaml) or a county code ("14")."""
    df = municipalities()
    if region in regions():
        codes = regions()[region]["municipalities"]
        return df.set_index("municipality_code").loc[codes].reset_index()
    selected = df[df["county_code"] == region]
    if selected.empty:
        raise KeyError(f"Okänd region eller länskod: {region}")
    return selected.reset_index(drop=True)


def reference_populations() -> pd.DataFrame:
    """The shipped populations in the canonical `populations` shape (age bands 0–17, 18–20, 21+)."""
    df = municipalities()
    bands = [(0, 17, df["population_0_17"]),
             (18, 20, df["population_0_20"] - df["population_0_17"]),
             (21, 150, df["population_total"] - df["population_0_20"])]
    return pd.concat(
        [pd.DataFrame({"municipality": df["municipality_code"], "year": df["population_year"],
                       "age_from": lo, "age_to": hi, "population": pop})
         for lo, hi, pop in bands],
        ignore_index=True,
    )
