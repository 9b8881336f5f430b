"""Vectorised validation of the identity numbers social services meet.

Works on arrays of *distinct* values (the caller dictionary-encodes a column first), so a
national import validates each person once. The `personnummer` package and the personnummer
project's shared test lists are the test oracles (tests/test_personnummer.py).

- **Personnummer**: 10 or 12 digits, with or without the separator: ``-``, or ``+`` from
  1 January of the year the person turns 100 (folkbokföringslagen 18 §). Ten digits take the
  century that makes the person under 100 this year (over 100 with ``+``).
- **Samordningsnummer**: the day plus 60. A birth day that is not known is written ``60`` and
  a birth month that is not known ``00`` (Skatteverket): the birth year is kept, the month when
  it is known; an unknown month counts as July in ages (indicators.engine.age_on).
- **Reserve and interim numbers** (reservnummer): a letter T, R, S, U, W, X, J, K, L, M or N in
  place of the first birth-number digit (``20100315-T123``), or IVO's form ``ÅÅÅÅMMDD-TF10``.
  The date must be a real date; the digits are the issuer's own, so there is no check digit to
  test. The third character of the last four is a digit in both forms and gives the legal sex
  as in a personnummer (odd: male), which IVO asks reporters to keep.
- **Lost leading zeros**: a number that Excel or a CSV round trip stored as a number
  (``512121234`` for ``0512121234``) is restored, since no valid number has 7–9 digits; a
  number in scientific notation has lost digits and is refused with advice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

REASONS = {
    "format": "ogiltigt format (10 eller 12 siffror väntas)",
    "excel": ("sparat som tal i exponentform, siffror har gått förlorade: exportera kolumnen "
              "som text (i Excel: Formatera celler → Text) och läs in filen igen"),
    "checksum": "fel kontrollsiffra",
    "date": "omöjligt datum",
    "serial": "födelsenummer 000 delas inte ut",
    "future": "födelsedatum i framtiden",
}
# What kind of id a valid value is (stored as events.id_kind).
PERSONNUMMER, SAMORDNINGSNUMMER, RESERVNUMMER, TEMPORARY = (
    "personnummer", "samordningsnummer", "reservnummer", "tillfalligt")
RESERVE_LETTERS = "TRSUWXJKLMN"
_PATTERN = (r"^(?P<century>\d{2})?(?P<date>\d{6})(?P<separator>[-+]?)"
            rf"(?P<serial>\d{{4}}|[{RESERVE_LETTERS}]\d{{3}}|TF\d{{2}})$")
_SCIENTIFIC = r"^\d([.,]\d+)?E\+?\d+$"
_COORDINATION_OFFSET = 60
_LUHN_WEIGHTS = np.array([2, 1, 2, 1, 2, 1, 2, 1, 2, 1])


@dataclass
class ParsedIds:
    """Per input value: the canonical form (None when invalid) and what it tells."""

    canonical: pa.Array  # string: century, date and the last four as written; null where invalid
    reason: pa.Array  # string key of REASONS, null where valid
    birth_year: np.ndarray  # 0 where invalid
    birth_month: pa.Array  # int8, null where invalid or not known
    sex: pa.Array  # "male" / "female", null where invalid
    kind: pa.Array  # PERSONNUMMER, SAMORDNINGSNUMMER or RESERVNUMMER; null where invalid
    # Well-formed with a birth date that exists, valid or not: a typo of a real number is one too.
    date_exists: np.ndarray


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


def _restore_lost_zeros(text: pa.Array) -> pa.Array:
    """'512121234' or '512121234.0' (a number column) -> '0512121234'."""
    text = pc.replace_substring_regex(text, r"^(\d+)\.0+$", r"\1")
    short = pc.fill_null(pc.match_substring_regex(text, r"^\d{7,9}$"), False)
    return pc.if_else(short, pc.utf8_lpad(text, 10, "0"), text)


def _as_numpy(values: pa.Array, fill) -> np.ndarray:
    return np.asarray(pc.fill_null(values, fill).to_numpy(zero_copy_only=False))


def parse(values: pa.Array, today: dt.date | None = None) -> ParsedIds:
    today = today or dt.date.today()
    text = _restore_lost_zeros(pc.utf8_upper(pc.utf8_trim_whitespace(values.cast(pa.string()))))
    parts = pc.extract_regex(text, _PATTERN)
    wellformed = _as_numpy(pc.is_valid(parts), False).astype(bool)
    scientific = _as_numpy(pc.match_substring_regex(text, _SCIENTIFIC), False).astype(bool)

    n = len(values)
    serial = pc.if_else(wellformed, pc.struct_field(parts, "serial"), "0000")
    date6 = pc.if_else(wellformed, pc.struct_field(parts, "date"), "000000")
    reserve = _as_numpy(pc.match_substring_regex(serial, "[A-Z]"), False).astype(bool)
    # Letters count as 1 where digits are read (the sex digit is never a letter).
    core = pc.replace_substring_regex(pc.binary_join_element_wise(date6, serial, ""), "[A-Z]", "1")
    digits = _digit_matrix(pc.if_else(wellformed, core, "0000000000")).astype(np.int32)
    products = digits * _LUHN_WEIGHTS
    checksum_ok = reserve | (((products // 10 + products % 10).sum(axis=1) % 10) == 0)

    yy = digits[:, 0] * 10 + digits[:, 1]
    month = digits[:, 2] * 10 + digits[:, 3]
    written_day = digits[:, 4] * 10 + digits[:, 5]
    coordination = ~reserve & (written_day >= _COORDINATION_OFFSET)
    day = np.where(coordination, written_day - _COORDINATION_OFFSET, written_day)

    century = pc.struct_field(parts, "century")  # "" when not written, null when not well-formed
    century = _as_numpy(pc.cast(pc.if_else(pc.equal(century, ""), pa.scalar(None, pa.string()), century),
                                pa.int64()), -1).astype(np.int64)
    plus = _as_numpy(pc.equal(pc.struct_field(parts, "separator"), "+"), False).astype(bool)
    # Ten digits: the person is under 100 this year, or 100 or more with '+'.
    base = today.year - np.where(plus, 100, 0)
    inferred = base - (base - yy) % 100
    year = np.where(century >= 0, century * 100 + yy, inferred)

    # A samordningsnummer may leave the month (00) or the day (60) unknown; a date that is
    # known must exist.
    month_known, day_known = month != 0, day != 0
    month_ok = (month <= 12) & (month_known | coordination)
    safe_month = np.where(month_known & month_ok, month, 1)
    last_day = np.where(month_known, _days_in_month(year, safe_month), 31)
    day_ok = (day <= last_day) & (day_known | coordination)
    date_ok = month_ok & day_ok
    born = year * 10000 + np.where(month_known, month, 1) * 100 + np.where(day_known, day, 1)
    future = born > today.year * 10000 + today.month * 100 + today.day

    reason = np.full(n, None, dtype=object)
    serial_ok = reserve | (digits[:, 6:9] != 0).any(axis=1)
    reason[future & date_ok] = "future"
    reason[~serial_ok] = "serial"
    reason[~date_ok] = "date"
    reason[~checksum_ok] = "checksum"
    reason[~wellformed] = "format"
    reason[~wellformed & scientific] = "excel"
    valid_np = reason == None  # noqa: E711 (elementwise comparison)
    valid = pa.array(valid_np)

    canonical = pc.binary_join_element_wise(pa.array(year // 100).cast(pa.string()), date6, serial, "")
    sex = pc.if_else(pa.array(digits[:, 8] % 2 == 1), "male", "female")
    kind = np.where(reserve, RESERVNUMMER, np.where(coordination, SAMORDNINGSNUMMER, PERSONNUMMER))
    null_string = pa.scalar(None, pa.string())
    return ParsedIds(
        canonical=pc.if_else(valid, canonical, null_string),
        reason=pa.array(reason, pa.string()),
        birth_year=np.where(valid_np, year, 0),
        birth_month=pa.array(month, pa.int8(), mask=~(valid_np & month_known)),
        sex=pc.if_else(valid, sex, null_string),
        kind=pc.if_else(valid, pa.array(kind, pa.string()), null_string),
        date_exists=wellformed & date_ok,
    )
