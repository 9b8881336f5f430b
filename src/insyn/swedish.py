"""Numbers and dates as Swedish readers write them: decimal comma, a space between thousands,
month names, alphabetical order with å, ä, ö last. One module beneath every stage, so that the
report, the workbook, the web app, the terminal and the notes of extracts and noise all write
a number the same way (each choosing its separator and decimals by parameter).
"""

from __future__ import annotations

import datetime as dt

THOUSANDS_SEPARATOR = "\u202f"  # narrow no-break space: "1 234", never split over two lines
UNIT_SPACE = "\u00a0"  # no-break space between a number and its unit: "92,3 %"
COUNT = "antal"
WHOLE_NUMBER_UNITS = (COUNT, "personer")  # units shown without decimals
MONTHS = ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti",
          "september", "oktober", "november", "december")

_SWEDISH_ORDER = str.maketrans({"å": "{", "ä": "|", "ö": "}", "é": "e", "ü": "y"})


def format_number(value: float, decimals: int = 1, *, thousands: str = THOUSANDS_SEPARATOR,
                  min_decimals: int | None = None) -> str:
    """Decimal comma and `thousands` between groups of three: 1234.56 -> "1 234,6".

    `min_decimals`: trailing zeros past that many decimals are dropped, and the comma when
    no decimal is left (format_number(2.5, 3, min_decimals=1) -> "2,5", (2, 3, 1) -> "2,0",
    (2, 4, 0) -> "2"). An int with no decimals is written exactly, however large."""
    if isinstance(value, int) and not isinstance(value, bool) and decimals == 0:
        text = f"{value:,}"
    else:
        text = f"{value:,.{decimals}f}"
    if min_decimals is not None and "." in text:
        whole, fraction = text.split(".")
        fraction = fraction.rstrip("0").ljust(min(min_decimals, decimals), "0")
        text = f"{whole}.{fraction}" if fraction else whole
    return text.replace(",", thousands).replace(".", ",")


def format_count(value: int, thousands: str = THOUSANDS_SEPARATOR) -> str:
    """A whole number with thousands separated: 644063 -> "644 063"."""
    return format_number(value, 0, thousands=thousands)


def decimal_comma(value: float) -> str:
    """Python's shortest form of the number with a decimal comma: 0.25 -> "0,25", 3.0 -> "3,0"."""
    return str(value).replace(".", ",")


def is_whole(value: float) -> bool:
    return float(value).is_integer()


def shown_whole(value: float, unit: str) -> bool:
    """Whether a value is written without decimals: a count that is whole. A count of full-time
    equivalents (6,3 årsarbetare) keeps its decimal, so that the parts shown give the value."""
    return unit in WHOLE_NUMBER_UNITS and is_whole(value)


def format_value(value: float, unit: str) -> str:
    """A value as users read it: "92,3 %", "187,4", "1 234" for counts of things or people,
    "6,3" for a count of full-time equivalents."""
    if shown_whole(value, unit):
        return format_number(value, 0)
    if unit == "%":
        return f"{format_number(value)}{UNIT_SPACE}%"
    return format_number(value)


def count_of(value: int, singular: str, plural: str, thousands: str = THOUSANDS_SEPARATOR) -> str:
    """A count with its noun in the right number: "1 rad", "2 rader", "1 234 rader"."""
    return f"{format_count(value, thousands)} {singular if value == 1 else plural}"


def format_percent(value: float, decimals: int = 1) -> str:
    """A share with its sign: 100 -> "100 %" (decimals 0), 92.34 -> "92,3 %"."""
    return f"{format_number(value, decimals)}{UNIT_SPACE}%"


def day_and_month(month: int, day: int) -> str:
    """A day of the year in words: (11, 1) -> "1 november"."""
    return f"{day} {MONTHS[month - 1]}"


def format_date(day: dt.date) -> str:
    """A date in words: "3 mars 2025"."""
    return f"{day_and_month(day.month, day.day)} {day.year}"


def swedish_sort_key(text: str) -> str:
    """Sort key putting å, ä, ö after z, in that order, as Swedish alphabetical order does."""
    return text.lower().translate(_SWEDISH_ORDER)
