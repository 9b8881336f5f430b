"""The caseworker's own monthly rating of their workload (Mitt arbete), with their flexitime.

A rating made on the page is one row of `workload_ratings`, checked by the import's own
validator for that table (insyn.ingest.validate: the types and ranges of insyn.model.tables)
and stored beside the imported ones under the same key: a newer rating or import of a month
replaces the older. The month's `workload_monthly` row is updated in the same transaction, so
`insyn workload`, the report and the manager's page read it without a recompute.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa

from insyn.errors import InputError
from insyn.ingest.readers import ROW_NUMBER
from insyn.ingest.validate import validate
from insyn.model.tables import WORKLOAD_RATINGS
from insyn.model.workforce_config import WorkloadConfig

RATING_COLUMNS = ("rating", "flex_hours")  # what a rating sets of a caseworker's month
WEB_IMPORT_ID = "mitt-arbete"  # the import_id of ratings made on the page (an import replaces them)
SOURCE = Path("Mitt arbete")  # what the validator's messages would name as the file


class ClosedMonth(InputError):
    """The month cannot be rated (any more, or yet)."""


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _next_month(month: dt.date) -> dt.date:
    return (pd.Timestamp(month) + pd.offsets.MonthBegin(1)).date()


def last_open_day(month: dt.date, config: WorkloadConfig) -> dt.date:
    """The last day a month's rating can be made or changed: day `open_days_after_month` of
    the following month (the month's own last day when it is 0)."""
    days = config.self_rating.open_days_after_month
    return _next_month(month) + dt.timedelta(days=days - 1)


def open_months(config: WorkloadConfig, today: dt.date) -> list[dt.date]:
    """The months that can be rated today, newest first: this month, and the previous one until
    it closes."""
    current = month_start(today)
    previous = month_start(current - dt.timedelta(days=1))
    return [current] + ([previous] if today <= last_open_day(previous, config) else [])


def _check_open(config: WorkloadConfig, month: dt.date, today: dt.date) -> None:
    if month > month_start(today):
        raise ClosedMonth(f"{month:%Y-%m} har inte börjat än: du kan skatta en månad från dess första dag.")
    if today > last_open_day(month, config):
        raise ClosedMonth(f"{month:%Y-%m} är stängd för skattning sedan "
                          f"{last_open_day(month, config) + dt.timedelta(days=1):%Y-%m-%d}.")


def _validated_row(municipality: str, staff_id: str, month: dt.date, rating: str, flex_hours: str | None,
                   today: dt.date) -> dict:
    """The row through the import's validation of workload_ratings, as text like a file's cells.
    The staff id is the store's own (an account's), already pseudonymised where it held a
    personnummer: it is given to the validator as checked text and stored as it is."""
    raw = pa.table({ROW_NUMBER: [1], "municipality": [municipality], "staff_id": [staff_id],
                    "month": [f"{month:%Y-%m}"], "rating": [rating], "flex_hours": [flex_hours]},
                   schema=pa.schema([(ROW_NUMBER, pa.int64()), *((c.name, pa.string())
                                                                for c in WORKLOAD_RATINGS.columns)]))
    checked = validate(raw, SOURCE, table_name=WORKLOAD_RATINGS.name, today=today, ids_as_stored=True)
    if checked.problems:
        labels = {c.name: c.label for c in WORKLOAD_RATINGS.columns}
        raise InputError("; ".join(f"{labels[p.column].capitalize()}: {p.reason}" for p in checked.problems) + ".")
    return checked.clean.to_pylist()[0]


def _as_text(value: int | float | str | None) -> str | None:
    if value is None:
        return None
    text = str(value).strip().replace("\u2212", "-")  # a typed minus sign (−) is a minus
    return text or None


def record_rating(store, config: WorkloadConfig, municipality: str, staff_id: str, month: dt.date,
                  rating: int | str | None, flex_hours: float | str | None, today: dt.date) -> dict:
    """Store a caseworker's rating of a month (one of the scale's values) and flexitime balance
    in hours (optional; a decimal comma is fine), replacing their earlier one of that month.
    Refuses a month that has not begun or is closed. Returns the stored row."""
    month = month_start(month)
    _check_open(config, month, today)
    rating_text = _as_text(rating)
    if rating_text is None:
        raise InputError("Välj hur din arbetsbelastning har varit.")
    row = _validated_row(municipality, staff_id, month, rating_text, _as_text(flex_hours), today)
    scale = [step.value for step in config.self_rating.scale]
    if row["rating"] not in scale:
        raise InputError(f"Skattning: ska vara ett av skalans värden ({', '.join(map(str, scale))}).")
    with store.transaction() as connection:
        connection.execute("DELETE FROM workload_ratings WHERE municipality = ? AND staff_id = ? AND month = ?",
                           [row["municipality"], row["staff_id"], row["month"]])
        connection.execute("INSERT INTO workload_ratings (municipality, staff_id, month, rating, flex_hours, "
                           "import_id) VALUES (?, ?, ?, ?, ?, ?)",
                           [row["municipality"], row["staff_id"], row["month"], row["rating"], row["flex_hours"],
                            WEB_IMPORT_ID])
        connection.execute("UPDATE workload_monthly SET rating = ?, flex_hours = ? "
                           "WHERE municipality = ? AND staff_id = ? AND period = ?",
                           [row["rating"], row["flex_hours"], row["municipality"], row["staff_id"],
                            f"{month:%Y-%m}"])
    return row


def ratings_of(store, municipality: str | None = None, staff_ids: Sequence[str] | None = None,
               months: Sequence[dt.date] | None = None) -> pd.DataFrame:
    """The stored ratings (municipality, staff_id, month, rating, flex_hours), narrowed to a
    municipality, staff ids and months when given; newest month first."""
    where, params = [], []
    for column, values in (("municipality", [municipality] if municipality else None), ("staff_id", staff_ids),
                           ("month", [month_start(m) for m in months] if months is not None else None)):
        if values is not None:
            where.append(f"{column} IN (SELECT unnest(?))")
            params.append(list(values))
    sql = ("SELECT municipality, staff_id, month, rating, flex_hours FROM workload_ratings"
           + (f" WHERE {' AND '.join(where)}" if where else "") + " ORDER BY municipality, staff_id, month DESC")
    frame = store.raw.execute(sql, params).df()
    frame["month"] = pd.to_datetime(frame["month"]).dt.date
    return frame
