"""Vectorised validation of Swedish personal identity and coordination numbers.

Works on arrays of *distinct* values (the caller dictionary-encodes a column first), so a
national import validates each person once. Accepts 10 or 12 digits, with or without the
separator (``-``, or ``+`` for people aged 100 or more). A coordination number
(samordningsnummer) has 60 added to the day. The `personnummer` package is the test oracle.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

REASONS = {
    "format": "ogiltigt format (10 eller 12 siffror väntas)",
    "checksum": "fel kontrollsiffra",
    "date": "omöjligt datum",
    "serial": "födelsenummer 000 delas inte ut",
    "future": "födelsedatum i framtiden",
}

_LUHN_WEIGHTS = np.array([2, 1, 2, 1, 2, 1, 2, 1, 2, 1])


@dataclass
class ParsedIds:
    """Per input value: the canonical 12-digit form (None when invalid) and what it tells."""

    canonical: pa.Array  # string, null where invalid
    reason: pa.Array  # string key of REASONS, null where valid
    birth_year: np.ndarray
    birth_month: np.ndarray
    sex: pa.Array  # "male" / "female", null where invalid


def _days_in_month(year: np.ndarray, month: np.ndarray) -> np.ndarray:
    first = (year - 1970) * 12 + (month - 1)
    starts = first.astype("datetime64[M]").astype("datetime64[D]")
    ends = (first + 1).astype("datetime64[M]").astype("datetime64[D]")
    return (ends - starts).astype(np.int64)


def _digit_matrix(ten_digit_strings: pa.Array) -> np.ndarray:
    """An (n, 10) matrix of digits from a string array whose values are all 10 ASCII digits:
    the array's data buffer is then exactly n × 10 bytes, read without copying to Python."""
    array = pa.concat_arrays([ten_digit_strings]) if ten_digit_strings.offset else ten_digit_strings
    n = len(array)
    data = np.frombuffer(array.buffers()[2], dtype=np.uint8, count=10 * n) if n else np.zeros(0, np.uint8)
    return data.reshape(n, 10).astype(np.int16) - 48


def parse(values: pa.Array, today: dt.date | None = None) -> ParsedIds:
    today = today or dt.date.today()
    text = pc.utf8_trim_whitespace(values.cast(pa.string()))
    centenarian = pc.fill_null(pc.match_substring_regex(text, r"^\d{6}\+\d{4}$"), False)
    compact = pc.replace_substring_regex(text, r"^(\d{6}|\d{8})[-+](\d{4})$", r"\1\2")
    length = pc.fill_null(pc.utf8_length(compact), 0).to_numpy(zero_copy_only=False)
    wellformed = pc.fill_null(pc.match_substring_regex(compact, r"^(\d{10}|\d{12})$"), False)
    wellformed = wellformed.to_numpy(zero_copy_only=False)

    n = len(values)
    core = pc.utf8_slice_codeunits(pc.if_else(wellformed, compact, "0000000000"), -10)
    digits = _digit_matrix(core)
    products = digits * _LUHN_WEIGHTS
    checksum_ok = ((products // 10 + products % 10).sum(axis=1) % 10) == 0

    digits = digits.astype(np.int32)
    yy = digits[:, 0] * 10 + digits[:, 1]
    month = digits[:, 2] * 10 + digits[:, 3]
    day = digits[:, 4] * 10 + digits[:, 5]
    day = np.where(day > 60, day - 60, day)  # samordningsnummer

    century_given = pc.utf8_slice_codeunits(pc.if_else(wellformed, compact, "0000"), 0, 2)
    century_given = np.asarray(pc.cast(century_given, pa.int64()).to_numpy(zero_copy_only=False))
    # Ten digits: the latest century that puts the birth date on or before today.
    this_century = (today.year // 100) * 100
    candidate = this_century + yy
    after_today = (candidate > today.year) | (
        (candidate == today.year) & ((month > today.month) | ((month == today.month) & (day > today.day)))
    )
    inferred = candidate - np.where(after_today, 100, 0)
    inferred -= np.where(centenarian.to_numpy(zero_copy_only=False), 100, 0)
    year = np.where(length == 12, century_given * 100 + yy, inferred)

    month_ok = (month >= 1) & (month <= 12)
    safe_month = np.where(month_ok, month, 1)
    date_ok = month_ok & (day >= 1) & (day <= _days_in_month(year, safe_month))
    today_ordinal = today.year * 10000 + today.month * 100 + today.day
    future = (year * 10000 + month * 100 + day) > today_ordinal

    reason = np.full(n, None, dtype=object)
    serial_ok = (digits[:, 6:9] != 0).any(axis=1)
    reason[future & date_ok] = "future"
    reason[~serial_ok] = "serial"
    reason[~date_ok] = "date"
    reason[~checksum_ok] = "checksum"
    reason[~wellformed] = "format"
    valid = pa.array(reason == None)  # noqa: E711 (elementwise comparison)

    twelve = pc.binary_join_element_wise(pa.array(year // 100).cast(pa.string()), core, "")
    sex = pc.if_else(pa.array(digits[:, 8] % 2 == 1), "male", "female")
    return ParsedIds(
        canonical=pc.if_else(valid, twelve, pa.scalar(None, pa.string())),
        reason=pa.array(reason, pa.string()),
        birth_year=np.where(reason == None, year, 0),  # noqa: E711
        birth_month=np.where(reason == None, month, 0),  # noqa: E711
        sex=pc.if_else(valid, sex, pa.scalar(None, pa.string())),
    )
