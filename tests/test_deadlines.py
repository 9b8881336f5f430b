"""Legal time limits: the compiled Ibis expression against the calendar rule, at its edges."""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given, settings
from hypothesis import strategies as st

from insyn.indicators.deadlines import add_months, add_months_reference, days_between

CON = ibis.duckdb.connect()

# Month ends and leap days are where calendar arithmetic goes wrong.
edge_dates = st.one_of(
    st.dates(dt.date(1990, 1, 1), dt.date(2100, 12, 31)),
    st.builds(lambda y, m: (dt.date(y, m, 1) + relativedelta(months=1, days=-1)),
              st.integers(1990, 2100), st.integers(1, 12)),
    st.builds(lambda y: dt.date(y, 2, 28) + dt.timedelta(days=y % 4 == 0), st.integers(1990, 2100)),
)


def evaluate(dates: list[dt.date], months: int) -> list[dt.date]:
    t = ibis.memtable(pd.DataFrame({"d": dates}), schema={"d": "date"})
    out = CON.to_pyarrow(t.select(due=add_months(t.d, months)))
    return out["due"].to_pylist()


@pytest.mark.parametrize(("start", "months", "due"), [
    ("2023-10-31", 4, "2024-02-29"),  # leap year
    ("2022-10-31", 4, "2023-02-28"),
    ("2024-02-29", 12, "2025-02-28"),
    ("2023-08-31", 1, "2023-09-30"),
    ("2023-11-30", 3, "2024-02-29"),
    ("2023-01-15", 4, "2023-05-15"),
    ("2023-12-31", 2, "2024-02-29"),
])
def test_known_deadlines(start, months, due):
    start_date = dt.date.fromisoformat(start)
    assert add_months_reference(start_date, months) == dt.date.fromisoformat(due)
    assert evaluate([start_date], months) == [dt.date.fromisoformat(due)]


@settings(max_examples=150, deadline=None)
@given(st.lists(edge_dates, min_size=1, max_size=50), st.integers(1, 24))
def test_compiled_deadline_matches_the_calendar_rule(dates, months):
    expected = [add_months_reference(d, months) for d in dates]
    assert expected == [d + relativedelta(months=months) for d in dates]
    assert evaluate(dates, months) == expected


@settings(max_examples=100, deadline=None)
@given(edge_dates, st.integers(-400, 400))
def test_days_between(start, offset):
    end = start + dt.timedelta(days=offset)
    t = ibis.memtable(pd.DataFrame({"a": [start], "b": [end]}), schema={"a": "date", "b": "date"})
    assert CON.to_pyarrow(t.select(n=days_between(t.a, t.b)))["n"].to_pylist() == [offset]
