"""Remove anything shaped like a personal identity number from text a person may see.

Applied to every error message, quarantine reason and quarantine record, because a value in
the wrong column (a shifted row, a file without a header) can put a number anywhere.
"""

from __future__ import annotations

import re

REMOVED = "[borttaget]"
# Personnummer and samordningsnummer (10 or 12 digits), reserve numbers (a letter, or IVO's TF,
# among the last four) and a number that lost its leading zeros in Excel (9 digits).
_IDENTITY_NUMBER = re.compile(
    r"(?<!\d)(?:(?:\d{2})?\d{6}[-+]?(?:\d{4}|[TRSUWXJKLMN]\d{3}|TF\d{2})|\d{9})(?!\d)",
    re.IGNORECASE)


def scrub(text: str) -> str:
    return _IDENTITY_NUMBER.sub(REMOVED, text)
