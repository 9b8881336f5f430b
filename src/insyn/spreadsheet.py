"""Text from data written to CSV and Excel so that a spreadsheet never runs it.

A unit name, a session title or a user name typed at the login form can begin with `=`, `+`,
`-` or `@`; opened in Excel or LibreOffice, such a cell is a formula (`=HYPERLINK(...)` sends
the reader's click anywhere; DDE formulas run programs). Every workbook is written by xlsxwriter
with the options below, so a string is always a string cell, never a formula, a link or a
number. A CSV file has no cell types, so its text cells get OWASP's rule for CSV injection
(`neutralised`): a cell that begins with one of those characters, a tab or a carriage return is
prefixed with an apostrophe, which the spreadsheet shows as text and does not display.
Numbers are written as numbers and never prefixed (a negative change stays −3).
"""

from __future__ import annotations

import pandas as pd

# xlsxwriter's Workbook options (pandas: engine_kwargs={"options": XLSX_OPTIONS}).
XLSX_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralised(text: str) -> str:
    """The text as a CSV cell no spreadsheet runs as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def neutralised_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with every text cell `neutralised` (numbers, dates and missing values as they are)."""
    texts = [c for c in frame.columns if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c])]
    return frame.assign(**{c: frame[c].map(lambda v: neutralised(v) if isinstance(v, str) else v)
                           for c in texts})
