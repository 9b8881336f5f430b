"""The unit manager's list of posts whose grant ends soon: the employments of a unit in post on a
day whose grant (staff.funding, its end the last decision's in the grants table) ends within the
same calendar months as the published count `bidrag_upphor_inom_6_manader`, or has ended while
the post is still paid by it (docs/grants.md). Rows name employees: for the unit's own manager.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from insyn.indicators.deadlines import add_months_reference
from insyn.indicators.definitions import by_id

PUBLISHED_COUNT = "bidrag_upphor_inom_6_manader"


def notice_months() -> int:
    """The months ahead the published count looks (its condition's `within_months`)."""
    numerator = by_id()[PUBLISHED_COUNT].numerator
    condition = numerator.where if numerator is not None else None
    if condition is None or condition.within_months is None:
        raise ValueError(f"{PUBLISHED_COUNT} counts no months ahead (within_months)")
    return condition.within_months


def funding_ending(store, municipality: str, unit: str, on: dt.date, months: int) -> pd.DataFrame:
    """Employments of the unit in post on `on` whose grant's end is on or before `on` plus
    `months` calendar months: staff_id, funding, funding_end, fte (default 1), end_date; the
    soonest end first. A funding the grants table does not know has no end and is not listed."""
    if not _has_grants(store):
        return pd.DataFrame(columns=["staff_id", "funding", "funding_end", "fte", "end_date"])
    limit = add_months_reference(on, months)
    return store.raw.execute("""
        WITH ends AS (SELECT municipality, "grant", max(end_date) AS funding_end FROM grants
                      GROUP BY municipality, "grant")
        SELECT s.staff_id, s.funding, e.funding_end, coalesce(s.fte, 1.0) AS fte, s.end_date
        FROM staff s JOIN ends e ON e.municipality = s.municipality AND e."grant" = s.funding
        WHERE s.municipality = ? AND s.unit = ? AND s.start_date <= ?
          AND (s.end_date IS NULL OR s.end_date >= ?) AND e.funding_end <= ?
        ORDER BY e.funding_end, s.staff_id""", [municipality, unit, on, on, limit]).df()


def _has_grants(store) -> bool:
    """Whether the store knows grants: one made by an earlier version and opened read-only (the
    web app's) has neither the grants table nor staff.funding until an import upgrades it."""
    found = store.raw.execute("""
        SELECT count(*) FROM duckdb_columns()
        WHERE database_name = current_database() AND schema_name = 'main'
          AND ((table_name = 'grants' AND column_name = 'grant') OR (table_name = 'staff' AND column_name = 'funding'))
        """).fetchone()[0]
    return found == 2
