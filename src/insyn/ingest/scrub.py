"""Remove anything shaped like a personal identity number from text a person may see.

Applied to every error message, quarantine reason and quarantine record, because a value in
the wrong column (a shifted row, a file without a header) can put a number anywhere.
"""

from __future__ import annotations

import re

REMOVED = "[borttaget]"
_IDENTITY_NUMBER = re.compile(r"(?<!\d)(?:\d{2})?\d{6}[-+]?\d{4}(?!\d)")


def scrub(text: str) -> str:
    return _IDENTITY_NUMBER.sub(REMOVED, text)
