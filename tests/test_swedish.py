"""Swedish numbers and dates (insyn.swedish), as each place that writes them needs them: the
report and the web app (narrow no-break space between thousands), the terminal (a plain
space), downloads and the notes of extracts (no separator), Kolada values and ε (trailing
zeros dropped). Every expected string is written out by hand.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from insyn.swedish import (
    decimal_comma,
    format_count,
    format_date,
    format_number,
    format_percent,
    format_value,
    swedish_sort_key,
)

NNBSP, NBSP = "\u202f", "\u00a0"


def test_report_numbers():
    assert format_number(1234.56) == f"1{NNBSP}234,6"
    assert format_number(0.05) == "0,1"
    assert format_number(0.04) == "0,0"
    assert format_number(999.96) == f"1{NNBSP}000,0"
    assert format_number(-1234.5, 0) == f"-1{NNBSP}234"
    assert format_number(1234567.891, 2) == f"1{NNBSP}234{NNBSP}567,89"


def test_values_by_unit():
    assert format_value(92.34, "%") == f"92,3{NBSP}%"
    assert format_value(1234567, "antal") == f"1{NNBSP}234{NNBSP}567"
    assert format_value(12.0, "personer") == "12"
    assert format_value(187.44, "per 1 000") == "187,4"
    assert format_value(53.14, "årsarbetare") == "53,1"
    assert format_percent(100.0, 0) == f"100{NBSP}%"
    assert format_percent(7.25) == f"7,2{NBSP}%"  # exactly half: to the even digit, as Python rounds


def test_terminal_counts_have_a_plain_space():
    assert format_count(644063, thousands=" ") == "644 063"
    assert format_count(999, thousands=" ") == "999"
    assert format_count(1000) == f"1{NNBSP}000"
    assert format_count(12_345_678_901_234_567_890, thousands=" ") == "12 345 678 901 234 567 890"  # exact


def test_terminal_decimals_drop_a_zero_decimal():
    """insyn workload: one decimal, none when it is 0, no thousands separator."""
    shown = {v: format_number(v, 1, thousands="", min_decimals=0) for v in (53.14, 12.0, 7267.5, 18586.25, 0.04)}
    assert shown == {53.14: "53,1", 12.0: "12", 7267.5: "7267,5", 18586.25: "18586,2", 0.04: "0"}


def test_kolada_values_as_imported():
    """Up to four decimals, trailing zeros and a bare comma dropped, narrow spaces between thousands."""
    assert format_number(10587710.0, 4, min_decimals=0) == f"10{NNBSP}587{NNBSP}710"
    assert format_number(81.25, 4, min_decimals=0) == "81,25"
    assert format_number(0.12345, 4, min_decimals=0) == "0,1235"  # 0.12345 is 0.123450000000000004…
    assert format_number(1234.5, 4, min_decimals=0) == f"1{NNBSP}234,5"


def test_epsilon_keeps_one_decimal():
    """The noise notes write ε with up to three decimals and at least one."""
    epsilon = {v: format_number(v, 3, thousands="", min_decimals=1) for v in (1.0, 0.25, 0.1, 2.5, 0.0004, 10.0)}
    assert epsilon == {1.0: "1,0", 0.25: "0,25", 0.1: "0,1", 2.5: "2,5", 0.0004: "0,0", 10.0: "10,0"}


def test_downloads_and_extract_notes_have_no_separator():
    assert format_number(1234.56, 1, thousands="") == "1234,6"
    assert format_number(1234.0, 0, thousands="") == "1234"
    assert decimal_comma(0.25) == "0,25"
    assert decimal_comma(3.0) == "3,0"
    assert decimal_comma(1234.5) == "1234,5"


def test_dates():
    assert format_date(dt.date(2025, 3, 3)) == "3 mars 2025"
    assert format_date(dt.date(2024, 11, 1)) == "1 november 2024"
    assert format_date(dt.date(2023, 12, 31)) == "31 december 2023"


def test_swedish_alphabetical_order():
    names = ["Öckerö", "Ale", "Ängelholm", "Åre", "Zinkgruvan", "Örebro", "Eslöv", "Ödeshög"]
    expected = ["Ale", "Eslöv", "Zinkgruvan", "Åre", "Ängelholm", "Öckerö", "Ödeshög", "Örebro"]
    assert sorted(names, key=swedish_sort_key) == expected
    assert sorted(["Älvsbyn", "Åsele", "Aneby"], key=swedish_sort_key) == ["Aneby", "Åsele", "Älvsbyn"]


finite = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False)


@given(finite, st.integers(min_value=0, max_value=4))
def test_the_number_reads_back(value, decimals):
    """Without the separators and with a point for the comma, the text is Python's own rounding."""
    text = format_number(value, decimals)
    assert "." not in text and text.count(",") == (decimals > 0)
    assert text.replace(NNBSP, "").replace(",", ".") == f"{value:.{decimals}f}"


@given(finite, st.integers(min_value=0, max_value=4), st.integers(min_value=0, max_value=4))
def test_dropping_zeros_keeps_the_value(value, decimals, least):
    """Trailing zeros dropped down to `min_decimals` leave the same number, with at least that many
    decimals (when they were there to keep) and no trailing zero past them."""
    text = format_number(value, decimals, thousands="", min_decimals=least)
    full = format_number(value, decimals, thousands="")
    assert float(text.replace(",", ".")) == float(full.replace(",", "."))
    shown = len(text.partition(",")[2])
    assert shown >= min(least, decimals) and (shown <= least or not text.endswith("0"))


def test_a_count_of_full_time_equivalents_keeps_its_decimal():
    # 2 consultants' FTE of 8.8 is 22.7 %: "2 av 9" would give 22.2 %, so 8.8 is shown as "8,8".
    assert format_value(8.8, "antal") == "8,8"
    assert format_value(2.0, "antal") == "2"
    assert format_value(1234.0, "antal") == "1\u202f234"
    from insyn.publish.cells import Cell
    from insyn.web.tables import Table, csv_bytes

    body = csv_bytes(Table("t", "T", ["Kommun", "Årsarbetare"], [["Vimmerby", Cell(8.8, "antal")],
                                                                 ["Ale", Cell(12.0, "antal")]])).decode("utf-8-sig")
    assert "Vimmerby;8,8" in body and "Ale;12\r" in body
