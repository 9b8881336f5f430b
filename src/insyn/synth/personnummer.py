"""Synthetic Swedish personal identity numbers for synthetic children, drawn vectorised.

The numbers are random but *valid*: the date is the child's birth date (day + 60 for a
samordningsnummer), the third of the last four digits is odd for boys and even for girls, and
the last digit is the Luhn check digit over the ten digits YYMMDDNNNC. A number may by chance
be a real person's, but it is drawn at random and carries no information about anyone.

Some children get the other ids social services meet (docs/import-format.md): a
samordningsnummer with unknown birth month and day (`YYYY0060-NNNC`), a reserve number
(`YYYYMMDD-TNNN`) or a temporary id of the municipality's own.
"""

from __future__ import annotations

import numpy as np

_LUHN_WEIGHTS = np.array([2, 1, 2, 1, 2, 1, 2, 1, 2])
_COORDINATION_DAY_OFFSET = 60


def check_digits(nine_digits: np.ndarray) -> np.ndarray:
    """The Luhn check digit of each row of an (n, 9) array of digits YYMMDDNNN."""
    products = nine_digits * _LUHN_WEIGHTS
    total = (products // 10 + products % 10).sum(axis=1)
    return (10 - total % 10) % 10


def personal_numbers(rng: np.random.Generator, birth: np.ndarray, male: np.ndarray,
                     coordination_share: float) -> np.ndarray:
    """Distinct 12-digit numbers 'YYYYMMDD-NNNC' (numpy str array), one per birth date and sex.

    `birth` is datetime64[D]; `coordination_share` of the numbers are samordningsnummer.
    """
    n = birth.size
    year = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    month = birth.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day = (birth - birth.astype("datetime64[M]")).astype(np.int64) + 1
    day = day + np.where(rng.random(n) < coordination_share, _COORDINATION_DAY_OFFSET, 0)
    date_number = (year * 100 + month) * 100 + day  # YYYYMMDD
    serial = _distinct_serials(rng, date_number, male.astype(np.int64))

    ten = (date_number % 1_000_000) * 1000 + serial  # YYMMDDNNN
    nine_digits = ten[:, None] // 10 ** np.arange(8, -1, -1) % 10
    last_four = serial * 10 + check_digits(nine_digits)
    return _format(date_number, last_four)


def with_other_ids(rng: np.random.Generator, numbers: np.ndarray, birth: np.ndarray, male: np.ndarray,
                   unknown_date: np.ndarray, shares: dict) -> tuple[np.ndarray, np.ndarray]:
    """The numbers with some replaced, and which are temporary ids: children in `unknown_date`
    get a samordningsnummer with month 00 and day 60, a share `share_reserve_number` a reserve number
    and a share `share_temporary_id` the municipality's temporary id."""
    n = numbers.size
    numbers = numbers.astype(object)
    year = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    unknown = np.flatnonzero(unknown_date)
    if unknown.size:
        date_number = year[unknown] * 10000 + _COORDINATION_DAY_OFFSET  # YYYY0060
        serial = _distinct_serials(rng, date_number, male[unknown].astype(np.int64))
        ten = (date_number % 1_000_000) * 1000 + serial
        last_four = serial * 10 + check_digits(ten[:, None] // 10 ** np.arange(8, -1, -1) % 10)
        numbers[unknown] = _format(date_number, last_four)
    drawn = rng.random(n)
    reserve = np.flatnonzero(~unknown_date & (drawn < shares["share_reserve_number"]))
    if reserve.size:
        date_number = (year[reserve] * 100 + birth[reserve].astype("datetime64[M]").astype(np.int64) % 12 + 1) * 100 \
            + (birth[reserve] - birth[reserve].astype("datetime64[M]")).astype(np.int64) + 1
        # A birth number with the sex digit last, rearranged to IVO's T + three digits with the
        # sex digit third: distinct serials stay distinct.
        serial = _distinct_serials(rng, date_number + 10 ** 9, male[reserve].astype(np.int64))
        digits = serial[:, None] // 10 ** np.arange(2, -1, -1) % 10
        numbers[reserve] = [f"{d}-T{a}{c}{b}" for d, (a, b, c) in zip(date_number, digits, strict=True)]
    temporary = ~unknown_date & (drawn >= shares["share_reserve_number"]) & (
        drawn < shares["share_reserve_number"] + shares["share_temporary_id"])
    numbers[temporary] = [f"TILLF-{i}" for i in np.flatnonzero(temporary)]
    return numbers.astype(str), temporary


def _distinct_serials(rng: np.random.Generator, date_number: np.ndarray,
                      male: np.ndarray) -> np.ndarray:
    """Birth numbers 002–999 with the sex's parity, redrawn until no two people share a number."""
    n = date_number.size
    serial = np.zeros(n, dtype=np.int64)
    redraw = np.ones(n, dtype=bool)
    while redraw.any():
        serial[redraw] = 2 * rng.integers(1, 500, int(redraw.sum())) + male[redraw]
        key = date_number * 1000 + serial
        order = np.argsort(key, kind="stable")
        repeated = np.zeros(n, dtype=bool)
        repeated[order[1:]] = key[order[1:]] == key[order[:-1]]
        redraw = repeated
    return serial


def _format(date_number: np.ndarray, last_four: np.ndarray) -> np.ndarray:
    """'YYYYMMDD-NNNN' built as ASCII bytes, fast for millions of numbers."""
    chars = np.empty((date_number.size, 13), dtype=np.uint8)
    chars[:, :8] = date_number[:, None] // 10 ** np.arange(7, -1, -1) % 10 + ord("0")
    chars[:, 8] = ord("-")
    chars[:, 9:] = last_four[:, None] // 10 ** np.arange(3, -1, -1) % 10 + ord("0")
    return chars.view("S13").ravel().astype(str)
