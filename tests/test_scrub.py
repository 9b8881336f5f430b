"""The scrub every message, quarantine record and header shown goes through: no personal
identity number in any written form survives it, embedded in any text, and ordinary dates and
numbers do."""

from __future__ import annotations

import datetime as dt

from helpers import luhn_digit
from hypothesis import given
from hypothesis import strategies as st

from insyn.scrub import QUOTED_CHARS, REMOVED, scrub, shorten

SEPARATORS = ("", "-", "+", " ")


@st.composite
def numbers(draw) -> str:
    """A personnummer, samordningsnummer or reserve number in one of its written forms."""
    born = draw(st.dates(dt.date(1900, 1, 1), dt.date(2025, 12, 31)))
    day = born.day + (60 if draw(st.booleans()) else 0)
    date6 = f"{born:%y%m}{day:02d}"
    serial = f"{draw(st.integers(0, 999)):03d}"
    last_four = draw(st.sampled_from([f"{serial}{luhn_digit(date6 + serial)}", f"T{serial}",
                                      f"TF{serial[:2]}"]))
    century = draw(st.sampled_from(["", str(born.year)[:2]]))
    return f"{century}{date6}{draw(st.sampled_from(SEPARATORS))}{last_four}"


# Text around a number: anything but a digit or letter right next to it, which would make it
# part of a longer number or word.
around = st.text(max_size=30)


@given(numbers(), around, around)
def test_any_written_form_embedded_in_any_text_is_removed(number, before, after):
    before = before + " " if before[-1:].isalnum() else before
    after = " " + after if after[:1].isalnum() else after
    scrubbed = scrub(f"{before}{number}{after}")
    assert number not in scrubbed
    assert REMOVED in scrubbed


def test_the_space_separated_forms_are_removed():
    assert scrub("rad 3: 20181019 5030 och 181019 5030") == f"rad 3: {REMOVED} och {REMOVED}"


@given(st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31)), st.integers(1, 1_048_576))
def test_dates_row_numbers_and_codes_survive(date, row):
    text = f"fil.csv, rad {row}, kolumn 'datum': {date.isoformat()} efter uttagsdatum, kommun 0884, år {date.year}"
    assert scrub(text) == text


def test_a_quoted_value_is_scrubbed_then_cut():
    assert shorten("x" * 500) == "x" * (QUOTED_CHARS - 1) + "…"
    assert shorten(f"{'y' * 55}19800101-1234") == f"{'y' * 55}[bor…"
