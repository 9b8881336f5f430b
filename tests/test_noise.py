"""Noise instead of holes: the cell key the engine computes, the cell-key method's p-table and
perturbation, and differential privacy with its budget ledger (docs/noise.md).

The cell-key tests run the engine on the hand-checked workforce dataset (test_workforce.py);
the differential-privacy noise is checked for its distribution over thousands of cells, with
margins many standard errors wide, never for exact values.
"""

from __future__ import annotations

import hashlib
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from helpers import EVENT_COLUMNS, pnr, write_csv
from hypothesis import given
from hypothesis import strategies as st
from test_workforce import EVENTS, REFERENCE, STAFF, V, import_dataset

from insyn.disclosure.noise import (
    CELL_KEY_METHOD,
    METHOD,
    PrivacyBudgetExceeded,
    Release,
    cell_key_noise,
    dp_noise,
    load_ptable,
    noise_applies,
    spent,
)
from insyn.disclosure.status import PUBLISHABLE
from insyn.indicators.definitions import by_id, library
from insyn.indicators.engine import CELL_KEY_COLUMNS, DIMENSIONS, KEYS, RESULT_COLUMNS, compute
from insyn.ingest.load import import_files
from insyn.model.codes import codes
from insyn.store import open_store

NOISY = {d.id for d in library() if noise_applies(d)}
PTABLE = load_ptable()
# A report in a new case in June 2024: it changes the 2024 and 2024-Q2 report counts only.
EXTRA_REPORT = dict(municipality=V, case_id="i", person_id=pnr("20140202", "571"), event="report",
                    date="2024-06-03", unit="Mottagning", source="skola")


def record_key(identifier: str) -> int:
    """The engine's record key, computed independently: the top 32 bits of the MD5 digest read
    as a little-endian 128-bit number (DuckDB's md5_number)."""
    return int.from_bytes(hashlib.md5(identifier.encode()).digest()[12:], "little")


def cell_key(identifiers: list[str]) -> float:
    return sum(map(record_key, identifiers)) % 2**32 / 2**32


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    store = open_store(None)
    import_dataset(tmp_path_factory.mktemp("noise"), store)
    yield store
    store.close()


@pytest.fixture(scope="module")
def results(dataset):
    return compute(dataset)


@pytest.fixture(scope="module")
def noisy_results(results):
    """The results of the indicators noise applies to."""
    return results[results.indicator.isin(NOISY)]


@pytest.fixture(scope="module")
def changed(tmp_path_factory):
    """The dataset and one more report."""
    store = open_store(None)
    folder = tmp_path_factory.mktemp("noise-changed")
    import_dataset(folder, store)
    import_files(store, [write_csv(folder / "extra.csv", EVENT_COLUMNS, [EXTRA_REPORT])], b"k" * 32)
    yield compute(store)
    store.close()


def total(results: pd.DataFrame, indicator: str, period: str) -> pd.Series:
    rows = results[(results.indicator == indicator) & (results.period == period)
                   & results[DIMENSIONS].isna().all(axis=1)]
    assert len(rows) == 1
    return rows.iloc[0]


# --- the engine's cell keys --------------------------------------------------------------------

def test_a_count_s_cell_key_is_the_fraction_of_the_sum_of_its_records_keys(results):
    # The 2024 reports about children 0–17 (c was 18 when reported in October).
    reports = [e["case_id"] for e in EVENTS if e["event"] == "report" and e["date"].startswith("2024")
               and e["case_id"] != "c"]
    row = total(results, "anmalningar_per_1000_barn", "2024")
    assert row.numerator == len(reports) == 4
    assert row.numerator_cellkey == cell_key(reports)
    # A distinct count of employees: everyone in post on the reference date (one post each).
    in_post = [s["staff_id"] for s in STAFF if s["start_date"] <= REFERENCE.isoformat()
               and (not s["end_date"] or s["end_date"] >= REFERENCE.isoformat())]
    row = total(results, "antal_anstallda", "2024")
    assert row.numerator == len(in_post) == 8
    assert row.numerator_cellkey == cell_key(in_post)


def test_sums_and_populations_have_no_cell_key_and_nothing_counted_has_key_0(results):
    assert results.loc[results.indicator == "arsarbetare", "numerator_cellkey"].isna().all()
    assert results.loc[results.indicator == "anmalningar_per_1000_barn", "denominator_cellkey"].isna().all()
    for side in ("numerator", "denominator"):
        zero = results[results[side] == 0]
        assert (zero[f"{side}_cellkey"].fillna(0) == 0).all()


def test_a_changed_cell_gets_another_key_and_the_others_keep_theirs(results, changed):
    for period, reached in [("2024", True), ("2024-Q2", True), ("2024-Q1", False), ("2023", False)]:
        before = total(results, "anmalningar_per_1000_barn", period)
        after = total(changed, "anmalningar_per_1000_barn", period)
        assert after.numerator == before.numerator + reached
        assert (after.numerator_cellkey != before.numerator_cellkey) == reached


# --- the p-table -------------------------------------------------------------------------------

def test_the_p_table_has_mean_0_and_the_stated_variance_exactly():
    assert (PTABLE.slots, PTABLE.max_noise, PTABLE.variance) == (16, 2, 1)
    for count, row in enumerate(PTABLE.rows):
        p = {noise: Fraction(slices, PTABLE.slots) for noise, slices in row.items()}
        assert sum(p.values()) == 1
        assert sum(q * noise for noise, q in p.items()) == 0
        expected = 0 if count == 0 else PTABLE.variance  # 0 stays 0
        assert sum(q * noise**2 for noise, q in p.items()) == expected


@given(count=st.integers(0, 10**9), key=st.floats(0, 1, exclude_max=True))
def test_any_count_and_key_get_a_noise_of_their_row_that_keeps_the_count_at_0_or_above(count, key):
    noise = int(PTABLE.noise(np.array([count]), np.array([key]))[0])
    assert PTABLE.rows[min(count, len(PTABLE.rows) - 1)].get(noise, 0) > 0
    assert abs(noise) <= PTABLE.max_noise
    assert count + noise >= 0
    assert count > 0 or noise == 0


def test_the_slices_of_the_key_give_each_noise_with_the_table_s_probability():
    keys = (np.arange(PTABLE.slots * 100) + 0.5) / (PTABLE.slots * 100)
    for count, row in enumerate(PTABLE.rows):
        noises = PTABLE.noise(np.full(len(keys), count), keys)
        assert {n: int((noises == n).sum()) for n in row} == {n: slices * 100 for n, slices in row.items()}
    # Slices run from the most negative noise up: a key near 0 moves a count down.
    assert PTABLE.noise(np.array([7, 7]), np.array([0.0, 0.999])).tolist() == [-2, 2]


# --- the cell-key method -----------------------------------------------------------------------

def in_order(results: pd.DataFrame) -> pd.DataFrame:
    """The rows in a fixed order (the engine's is not)."""
    return results.sort_values(["indicator", *KEYS, *DIMENSIONS]).reset_index(drop=True)


def test_the_same_results_get_the_same_noise(dataset, noisy_results):
    again = compute(dataset)
    pd.testing.assert_frame_equal(in_order(cell_key_noise(noisy_results)),
                                  in_order(cell_key_noise(again[again.indicator.isin(NOISY)])))


def test_cells_a_new_record_does_not_reach_keep_their_noise(noisy_results, changed):
    def before_the_new_report(results: pd.DataFrame) -> pd.DataFrame:
        noisy = cell_key_noise(results[results.indicator.isin(NOISY)])
        return in_order(noisy[noisy.period.str.startswith("2023") | (noisy.period == "2024-Q1")])

    pd.testing.assert_frame_equal(before_the_new_report(noisy_results), before_the_new_report(changed))


def test_noise_keeps_zeros_counts_at_or_above_0_and_shares_within_0_100(noisy_results):
    noisy = cell_key_noise(noisy_results)
    for side in ("numerator", "denominator"):
        true, perturbed = noisy_results[side].to_numpy(), noisy[side].to_numpy()
        assert (perturbed[true == 0] == 0).all()
        assert (perturbed[~np.isnan(true)] >= 0).all()
        assert (np.abs(perturbed - true)[~np.isnan(true)] <= PTABLE.max_noise).all()
    shares = noisy[noisy.indicator.map(lambda i: by_id()[i].unit == "%")].value.dropna()
    assert shares.between(0, 100).all()
    assert (noisy.status == PUBLISHABLE).all() and (noisy[METHOD] == CELL_KEY_METHOD).all()
    assert not set(CELL_KEY_COLUMNS) & set(noisy.columns)  # they would let anyone undo the noise


def reports_by_source(results: pd.DataFrame) -> pd.DataFrame:
    """Per period and group: the reports of each source added up, their common denominator
    (all reports) and the number of sources."""
    grouped = results[results.indicator == "anmalningar_per_kalla"].groupby(["period", "sex", "age_group"],
                                                                             dropna=False)
    return pd.DataFrame({"parts": grouped.numerator.sum(), "total": grouped.denominator.first(),
                         "count": grouped.size()})


def assessments_by_sex(results: pd.DataFrame) -> pd.DataFrame:
    """Per period: the assessments of girls and of boys added up, all assessments and the
    number of sexes."""
    rows = results[results.indicator == "forhandsbedomning_inom_14_dagar"]
    split = rows[rows.sex.notna()].groupby("period")
    totals = rows[rows[DIMENSIONS].isna().all(axis=1)].set_index("period").denominator
    return pd.DataFrame({"parts": split.denominator.sum(), "total": totals, "count": split.size()}).dropna()


@pytest.mark.parametrize("split", [reports_by_source, assessments_by_sex])
def test_perturbed_totals_stay_within_the_documented_distance_of_their_perturbed_parts(noisy_results, split):
    true, noisy = split(noisy_results), split(cell_key_noise(noisy_results))
    assert len(true) >= 5 and (true.parts == true.total).all()
    # Each part and the total move by at most max_noise.
    assert ((noisy.parts - noisy.total).abs() <= PTABLE.max_noise * (noisy["count"] + 1)).all()


def test_sums_and_medians_are_refused(results):
    with pytest.raises(ValueError, match="arsarbetare.*utredningstid_median"):
        cell_key_noise(results)


def test_results_computed_before_cell_keys_existed_are_refused(noisy_results):
    with pytest.raises(ValueError, match="saknar cellnycklar"):
        cell_key_noise(noisy_results.assign(numerator_cellkey=np.nan))


# --- differential privacy ----------------------------------------------------------------------

def per_1000_table(municipalities: int, reports: int = 1000) -> pd.DataFrame:
    """Reports per 1,000 children in many municipalities: one count cell each (the population is
    public), so each is noised with scale 1/ε."""
    rows = [dict.fromkeys(RESULT_COLUMNS) | dict(indicator="anmalningar_per_1000_barn", municipality=f"m{m:05}",
                                                 period="2024", period_type="year", numerator=float(reports),
                                                 denominator=5000.0, complete=True)
            for m in range(municipalities)]
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def discrete_laplace_variance(scale: float) -> float:
    q = np.exp(-1 / scale)
    return 2 * q / (1 - q) ** 2


@pytest.mark.parametrize("epsilon", [1.0, 0.5])
def test_dp_noise_has_the_discrete_laplace_spread_of_its_epsilon(store, epsilon):
    table = per_1000_table(4000)
    noisy = dp_noise(table, store, Release("bred", 10.0), f"ε {epsilon}", epsilon)
    noise = noisy.numerator.to_numpy() - 1000
    # 4,000 draws: the mean and the variance are within 7 standard errors of the expected.
    variance = discrete_laplace_variance(1 / epsilon)
    assert abs(noise.mean()) < 7 * np.sqrt(variance / 4000)
    assert abs(noise.var() / variance - 1) < 0.25
    assert (noisy.denominator == 5000).all()
    assert np.allclose(noisy.value, noisy.numerator * 1000 / 5000)
    assert (noisy[METHOD] == f"differentiell integritet, ε = {epsilon:.1f}".replace(".", ",")).all()


def test_dp_counts_are_noised_from_0_too_and_never_negative(store):
    noisy = dp_noise(per_1000_table(2000, reports=0), store, Release("nollor", 1.0), "nollor", 1.0)
    assert (noisy.numerator >= 0).all()
    assert 0.05 < (noisy.numerator > 0).mean() < 0.5  # P(noise > 0) = q / (1 + q) = 0.27 at scale 1


def test_dp_gives_every_code_a_row_and_spends_epsilon_over_the_municipality_s_cells(store, noisy_results):
    table = noisy_results[(noisy_results.indicator == "forhandsbedomning_inom_14_dagar")
                          & (noisy_results.period == "2024")]
    noisy = dp_noise(table, store, Release("koder", 1.0), "förhandsbedömningar 2024", 0.5)
    # The total, girls and boys, every age group and the units the table names, whatever the
    # data hold.
    rows = 1 + len(codes("sex")) + len(codes("age_group")) + table.unit.nunique()
    assert len(table) < len(noisy) == rows
    assert set(noisy.sex.dropna()) == set(codes("sex")) and set(noisy.age_group.dropna()) == set(codes("age_group"))
    assert (noisy.numerator >= 0).all() and (noisy.denominator >= 0).all()
    recorded = store.raw.execute("SELECT table_name, epsilon, sensitivity FROM privacy_budget").fetchall()
    assert recorded == [("förhandsbedömningar 2024", 0.5, 2 * rows)]  # a numerator and a denominator a row


def test_dp_shares_a_denominator_among_the_categories_it_is_the_total_of(store, noisy_results):
    table = noisy_results[(noisy_results.indicator == "anmalningar_per_kalla") & (noisy_results.period == "2024")
                          & noisy_results[["sex", "age_group"]].isna().all(axis=1)]
    noisy = dp_noise(table, store, Release("källor", 1.0), "källor 2024", 1.0)
    assert sorted(noisy.category) == sorted(codes("source"))
    assert noisy.denominator.nunique() == 1
    # A numerator for every source and the one denominator.
    assert store.raw.execute("SELECT sensitivity FROM privacy_budget").fetchall() == [(len(codes("source")) + 1,)]


def test_the_ledger_refuses_overspending_and_remembers_across_reopening(tmp_path, noisy_results):
    table = noisy_results[(noisy_results.indicator == "antal_anstallda") & (noisy_results.period == "2024")]
    release = Release("Årsrapport 2024", 1.0)
    store = open_store(tmp_path / "insyn.duckdb")
    dp_noise(table, store, release, "anställda", 0.6)
    dp_noise(table, store, release, "anställda igen", 0.3)
    store.close()

    store = open_store(tmp_path / "insyn.duckdb")
    assert spent(store, "2024") == pytest.approx(0.9)
    with pytest.raises(PrivacyBudgetExceeded, match="2024 räcker inte.*ε = 0,2.*ε = 0,1 av 1,0"):
        dp_noise(table, store, release, "en till", 0.2)
    dp_noise(table, store, release, "den sista", 0.1)  # exactly what is left
    assert spent(store, "2024") == pytest.approx(1.0)
    with pytest.raises(ValueError, match="har redan integritetsbudgeten ε = 1,0"):
        dp_noise(table, store, Release(release.name, 2.0), "mer", 0.5)
    rows = store.raw.execute("SELECT table_name, epsilon, period FROM privacy_budget").fetchall()
    assert sorted(rows) == [("anställda", 0.6, "2024"), ("anställda igen", 0.3, "2024"), ("den sista", 0.1, "2024")]
    store.close()


def test_every_release_of_a_year_draws_on_one_budget_whatever_its_name(store, noisy_results):
    """Sixty releases at ε = 1 under sixty names would average the noise away: the budget is
    the year's data's, not a release name's."""
    table = noisy_results[(noisy_results.indicator == "antal_anstallda")
                          & noisy_results.period.isin(["2023", "2024"])]
    dp_noise(table, store, Release("utgåva 1", 1.5), "anställda", 1.0)
    assert (spent(store, "2023"), spent(store, "2024")) == (pytest.approx(1.0), pytest.approx(1.0))
    with pytest.raises(PrivacyBudgetExceeded, match="2023 räcker inte"):
        dp_noise(table, store, Release("utgåva 2", 1.5), "anställda", 1.0)
    with pytest.raises(PrivacyBudgetExceeded, match="2024 räcker inte"):
        dp_noise(table[table.period == "2024"], store, Release("utgåva 3", 1.5), "anställda", 1.0)
    dp_noise(table[table.period == "2024"], store, Release("utgåva 4", 1.5), "anställda", 0.5)
    assert spent(store, "2024") == pytest.approx(1.5) and spent(store, "2023") == pytest.approx(1.0)


def test_dp_refuses_a_non_positive_epsilon_and_sums(store, results):
    with pytest.raises(ValueError, match="större än 0"):
        dp_noise(results[results.indicator == "antal_anstallda"], store, Release("x", 1.0), "t", 0)
    with pytest.raises(ValueError, match="arsarbetare"):
        dp_noise(results[results.indicator == "arsarbetare"], store, Release("x", 1.0), "t", 0.5)
    assert spent(store, "2024") == 0
