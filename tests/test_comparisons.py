"""Honest comparisons (issue 17): a median says how many municipalities it rests on and is the same
for every reader, and "Behöver uppmärksamhet" flags a change only when it is more than chance
allows for its n (insyn.publish.chance, docs/report.md "Mer än slumpen"). The p-values in the
comments are worked by hand from the exact distributions and checked against SciPy below."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from insyn.disclosure.rules import DisclosureRules
from insyn.indicators.definitions import by_id
from insyn.indicators.engine import RESULT_COLUMNS
from insyn.publish.chance import Counts, change_beyond_chance, differs_beyond_chance
from insyn.publish.publication import prepare
from insyn.publish.standing import standings

SHARE = by_id()["forhandsbedomning_inom_14_dagar"]  # % of initial assessments within 14 days
RATE = by_id()["anmalningar_per_1000_barn"]  # reports per 1 000 residents 0–17
COUNT = by_id()["anmalningar_vantar_over_14_dagar"]  # a plain count (reports waiting)
MEDIAN = by_id()["utredningstid_median"]  # days


def test_one_assessment_more_of_twelve_is_within_chance():
    # 11 of 12 within 14 days, then 10 of 12: Fisher's exact test on [[11, 1], [10, 2]]. Every
    # table with the same margins (21 within, 3 not, 12 a year) is at least as likely as this
    # one or less: the two-sided p is 1.
    assert change_beyond_chance(SHARE, Counts(11, 12), Counts(10, 12)) is False


def test_a_large_fall_in_a_share_is_beyond_chance():
    # 45 of 50, then 30 of 50: p ≈ 0.00097 (Fisher), well under 0.05.
    assert change_beyond_chance(SHARE, Counts(45, 50), Counts(30, 50)) is True


def test_counts_compared_as_poisson_counts():
    # 10 reports waiting, then 20: given 30 in all, the second year's is Bin(30, 1/2) if nothing
    # changed; P(X ≥ 20) = 0.0494, two-sided p = 0.099: within chance. 10 then 25: P(X ≥ 25 | 35)
    # = 0.0083, p = 0.017: beyond it.
    assert change_beyond_chance(COUNT, Counts(10, None), Counts(20, None)) is False
    assert change_beyond_chance(COUNT, Counts(10, None), Counts(25, None)) is True


def test_rates_per_residents_weigh_the_population():
    # 20 reports among 1 000 children, then 40 among 2 000: the same rate (20 per 1 000); given
    # 60 in all the second year's share is Bin(60, 2/3), and 40 is its mode.
    assert change_beyond_chance(RATE, Counts(20, 1000), Counts(40, 2000)) is False
    # 20 then 40 among the same 1 000: Bin(60, 1/2), P(X ≥ 40) = 0.0067, p = 0.013.
    assert change_beyond_chance(RATE, Counts(20, 1000), Counts(40, 1000)) is True


def test_a_median_is_never_said_to_be_beyond_chance():
    # The publication holds a median's n, not the days it is the median of.
    assert change_beyond_chance(MEDIAN, Counts(120, 30), Counts(200, 30)) is None
    assert differs_beyond_chance(MEDIAN, Counts(200, 30), 100) is None


def test_against_the_median():
    # 3 of 12 within 14 days against a median of 60 %: P(X ≤ 3 | Bin(12, 0.6)) = 0.0153 and the
    # other tail adds about as little: p = 0.017, beyond chance. 6 of 12 against 60 %: p = 0.56.
    assert differs_beyond_chance(SHARE, Counts(3, 12), 60.0) is True
    assert differs_beyond_chance(SHARE, Counts(6, 12), 60.0) is False


def test_the_worked_p_values_are_scipys():
    from scipy import stats

    assert stats.fisher_exact([[45, 5], [30, 20]]).pvalue == pytest.approx(0.00097, abs=1e-5)
    assert stats.binomtest(20, 30, 0.5).pvalue == pytest.approx(0.0987, abs=1e-3)
    assert stats.binomtest(25, 35, 0.5).pvalue == pytest.approx(0.0167, abs=1e-3)
    assert stats.binomtest(40, 60, 0.5).pvalue == pytest.approx(0.0134, abs=1e-3)
    assert stats.binomtest(3, 12, 0.6).pvalue == pytest.approx(0.0174, abs=1e-3)


@given(st.integers(1, 400), st.integers(0, 400))
def test_the_same_counts_are_never_beyond_chance(denominator, numerator):
    numerator = min(numerator, denominator)
    counts = Counts(numerator, denominator)
    assert change_beyond_chance(SHARE, counts, counts) is False
    assert change_beyond_chance(RATE, counts, counts) is False


# --- in a publication ------------------------------------------------------------------------

def _row(municipality: str, year: str, numerator: int, denominator: int) -> dict:
    row = dict.fromkeys(RESULT_COLUMNS)
    row.update(indicator=SHARE.id, municipality=municipality, period=year, period_type="year",
               numerator=numerator, denominator=denominator, value=100 * numerator / denominator,
               complete=True)
    return row


# Four large municipalities and a small one (3 assessments: hidden from everyone but itself).
FIGURES = {"0880": (40, 50), "0881": (30, 50), "0882": (45, 50), "0883": (35, 50), "0860": (3, 3)}
RESULTS = pd.DataFrame([_row(code, year, *figures) for code, figures in FIGURES.items()
                        for year in ("2024", "2025")])


def test_the_median_is_the_same_for_every_reader_and_says_its_n():
    public = prepare(RESULTS, DisclosureRules())
    own = prepare(RESULTS, DisclosureRules(), in_full=lambda frame: frame.municipality == "0860")
    peers = tuple(FIGURES)
    for_everyone = {s.definition.id: s for s in standings(public, "0880", peers)}[SHARE.id]
    for_the_small = {s.definition.id: s for s in standings(own, "0860", peers)}[SHARE.id]
    # Published: 80, 60, 90, 70 → median 75 of 4 of the 5. The small municipality's own 100 %
    # (seen in full by itself only) would make it 80 if it were mixed in.
    assert for_everyone.median.value == for_the_small.median.value == 75.0
    assert (for_the_small.median.count, for_the_small.median.of) == (4, 5)
    assert for_the_small.median.basis == "median av 4 av 5 kommuner"
    assert for_the_small.cell.value == 100.0 and for_the_small.in_full_only
    assert for_the_small.place is None and for_the_small.place_text == "visas bara för er, placeras inte"
    assert public.cell(SHARE, "0860", "2025").suppressed


def test_a_one_person_change_is_not_flagged_and_a_large_one_is():
    results = pd.concat([RESULTS, pd.DataFrame([_row("0884", "2024", 11, 12), _row("0884", "2025", 10, 12),
                                                _row("0885", "2024", 45, 50), _row("0885", "2025", 30, 50)])])
    pub = prepare(results, DisclosureRules())
    peers = (*FIGURES, "0884", "0885")
    small = {s.definition.id: s for s in standings(pub, "0884", peers)}[SHARE.id]
    large = {s.definition.id: s for s in standings(pub, "0885", peers)}[SHARE.id]
    assert small.change.direction == "sämre" and not small.change.worse
    assert "n 12 → 12" in small.change.label and "inom vad slumpen kan ge" in small.change.label
    assert large.change.worse and "mer än slumpen förklarar" in large.change.label
    assert "sämre än året innan" in large.reasons and "sämre än året innan" not in small.reasons
    assert "mer än slumpen förklarar" in large.sentence("Kommunen")
