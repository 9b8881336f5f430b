"""Remove anything shaped like a personal identity number from text a person may see.

Applied to every error message, quarantine reason and quarantine record, and to the headers a
file is read with, because a value in the wrong column (a shifted row, a file without a header)
can put a number anywhere.
"""

from __future__ import annotations

import re

REMOVED = "[borttaget]"
# Personnummer and samordningsnummer: 10 or 12 digits, the birth date and the last four apart
# or not ('-', '+' or a space), and reserve numbers (a letter, or IVO's TF, among the last
# four). Written for both Python's re and RE2 (Arrow's regex functions): no lookaround here.
IDENTITY_SHAPE = r"(?:\d{2})?\d{6}[-+ ]?(?:\d{4}|[TRSUWXJKLMN]\d{3}|TF\d{2})"
# ... anywhere in a text, and a number that lost its leading zeros in Excel (9 digits).
_IDENTITY_NUMBER = re.compile(rf"(?<!\d)(?:{IDENTITY_SHAPE}|\d{{9}})(?!\d)", re.IGNORECASE)
# Messages quote a value (an unknown code, a header) at most this long.
QUOTED_CHARS = 60


def scrub(text: str) -> str:
    return _IDENTITY_NUMBER.sub(REMOVED, text)


def shorten(text: str, limit: int = QUOTED_CHARS) -> str:
    """A value as a message may quote it: scrubbed, then cut to `limit` characters."""
    text = scrub(text)
    return text if len(text) <= limit else text[:limit - 1] + "…"
