"""Legal time limits as calendar arithmetic, one Ibis expression each.

"Within four months" is calendar months: 31 October + 4 months is the last day of February
(28 or 29), because that day does not exist in February. `add_months_reference` is the
plain-Python statement of the rule that the tests check the compiled expression against.
"""

from __future__ import annotations

import calendar
import datetime as dt

import ibis
import ibis.expr.types as ir


def add_months(date: ir.DateValue, months: int) -> ir.DateValue:
    """date + n calendar months, clamped to the month's last day (DuckDB, PostgreSQL and
    Spark's add_months all clamp this way)."""
    return date + ibis.interval(months=months)


def days_between(start: ir.DateValue, end: ir.DateValue) -> ir.IntegerValue:
    return end.delta(start, unit="day")


def add_months_reference(date: dt.date, months: int) -> dt.date:
    index = date.year * 12 + (date.month - 1) + months
    year, month = divmod(index, 12)
    day = min(date.day, calendar.monthrange(year, month + 1)[1])
    return dt.date(year, month + 1, day)
