"""The first, simple publication rule: no count from 1 to threshold − 1 is shown.

A row is suppressed when its numerator or its denominator is a small count (1–4 with the
default threshold 5); its numerator, denominator and value are then hidden and shown as
``..`` (as Kolada and SCB do). Zero is shown. Population denominators are never small.
Secondary suppression (recomputing a hidden cell from totals) is not handled here yet.
"""

from __future__ import annotations

import pandas as pd

from insyn.disclosure.status import PRIMARY, PUBLISHABLE, SUPPRESSED

STATUS_PUBLISHED = PUBLISHABLE
STATUS_SUPPRESSED = PRIMARY


def is_small(count: float | None, threshold: int) -> bool:
    """The rule for one count: more than 0 and less than the threshold."""
    return count is not None and 0 < count < threshold


def _small(values: pd.Series, threshold: int) -> pd.Series:
    """is_small over a column."""
    return values.notna() & (values > 0) & (values < threshold)


def apply_small_count_rule(results: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """Results with a `status` column; suppressed rows have numerator, denominator and value
    set to missing. Callers render missing-with-status-suppressed as SUPPRESSED."""
    published = results.copy()
    hidden = _small(published["numerator"], threshold) | _small(published["denominator"], threshold)
    published["status"] = STATUS_PUBLISHED
    published.loc[hidden, "status"] = STATUS_SUPPRESSED
    published.loc[hidden, ["numerator", "denominator", "value"]] = None
    return published
