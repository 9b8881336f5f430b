"""The shipped populations: SCB's exact 2019 figures by age, and 2024 estimated from each
municipality's own age structure (docs/reference-data.md)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from insyn.model.municipalities import municipalities, population_by_age, reference_populations
from insyn.publish.notes import population_years

SHARED = Path(__file__).resolve().parents[2] / "shared" / "reference" / "population_2019_by_age.csv"


def band(year: int, code: str, oldest: int) -> int:
    ref = reference_populations()
    return int(ref[(ref.year == year) & (ref.municipality == code) & (ref.age_to <= oldest)].population.sum())


def test_2019_by_age_is_scbs_count():
    """The numbers the shared reference's README gives, and every figure of the shared file."""
    assert (band(2019, "0884", 17), band(2019, "0884", 20)) == (3_097, 3_624)
    assert (band(2019, "1480", 17), band(2019, "1480", 20)) == (114_844, 132_899)
    ages = population_by_age()
    assert int((ages.female + ages.male).sum()) == 10_327_589
    assert ages.municipality_code.nunique() == 290
    if not SHARED.exists():
        pytest.skip(f"{SHARED} is not here")
    shared = pd.read_csv(SHARED, dtype={"municipality_code": str})
    shared = shared[shared.sex != "total"].pivot_table(index=["municipality_code", "age_from"], columns="sex",
                                                       values="population")
    ours = ages[ages.age_to <= 20].set_index(["municipality_code", "age_from"])[["female", "male"]]
    assert ours.sort_index().equals(shared.sort_index().astype(ours.dtypes.iloc[0])[["female", "male"]])


def test_2024_keeps_each_municipalitys_age_structure_and_the_totals():
    """Raked to the municipality's 2024 total and the nation's 2024 bands; the municipality's
    own share of children is kept, not the nation's."""
    ref = reference_populations()
    latest = ref[ref.year == 2024]
    totals = municipalities().set_index("municipality_code").population_total
    assert (latest.groupby("municipality").population.sum() - totals).abs().max() <= 10
    assert abs(int(latest[latest.age_to <= 17].population.sum()) - 2_155_865) <= 100
    assert abs(int(latest[latest.age_to <= 20].population.sum()) - 2_522_455) <= 100
    share_2019 = {c: band(2019, c, 17) / band(2019, c, 150) for c in ("0884", "1480", "0186")}
    share_2024 = {c: band(2024, c, 17) / band(2024, c, 150) for c in share_2019}
    assert sorted(share_2019, key=share_2019.get) == sorted(share_2024, key=share_2024.get)
    assert municipalities().set_index("municipality_code").population_0_17["0884"] == band(2024, "0884", 17)


def test_reports_say_which_year_divides_each_period():
    assert population_years(["2019", "2021", "2022", "2025"]) == {2019: 2019, 2021: 2019, 2022: 2024, 2025: 2024}
