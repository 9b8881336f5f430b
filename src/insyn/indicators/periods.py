"""The periods each municipality's data cover, and which of them the data cover in full.

A municipality's case data cover the years from its first report to the day its export was
taken (the extract date an import recorded), or, where no import said, to its last event.
A period is complete when the export covers it to its last day: with an extract date, when
the period ends on or before it; without one, when the last date in the data is at most
COMPLETE_WITHIN before the period's end (a proxy: a small municipality can have a quiet last
week, and an export taken mid-period leaves it incomplete). docs/indicators.md states the rules.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis.expr.types as ir
import pandas as pd

from insyn.model.workforce_config import WorkforceConfig

PERIODS_SCHEMA = {"municipality": "string", "period": "string", "period_type": "string",
                  "period_start": "date", "period_end": "date", "reference_date": "date",
                  "data_end": "date", "complete": "boolean", "has_events": "boolean",
                  "has_staff": "boolean", "has_costs": "boolean", "has_prices": "boolean",
                  # The personnel cost add-on on salaries in the period's year (workforce.yaml).
                  "personnel_cost_addon": "float64"}
# Without an extract date, a period counts as complete when the municipality's last recorded
# date is at most this close to its end.
COMPLETE_WITHIN = dt.timedelta(days=7)
PERIOD_TYPES = ("year", "quarter", "month")


@dataclass(frozen=True)
class Covered:
    """What one municipality's data of one kind cover: from `first` to `last` (the last date in
    them), and `extract_date`, the day the export was taken, when an import said."""

    first: dt.date
    last: dt.date
    extract_date: dt.date | None = None

    @property
    def end(self) -> dt.date:
        """The last day the data speak for: the extract date, or the last date if later (a
        later import without one)."""
        return max(self.last, self.extract_date) if self.extract_date else self.last

    def complete_through(self, day: dt.date) -> bool:
        """Whether the export covers everything up to and including `day`."""
        if self.extract_date:
            return day <= self.end
        return day - self.last <= COMPLETE_WITHIN


def coverage(backend, events: ir.Table, staff: ir.Table, today: dt.date | None = None,
             extract_dates: dict[tuple[str, str], dt.date] | None = None) -> dict[str, dict[str, Covered]]:
    """Per municipality, what its case data ("events") and staff data ("staff") cover.

    Case data start at the first report and end at the extract date of the municipality's
    events (`extract_dates[(municipality, table)]`), else at the last event. Where there are
    case data, staff data cover exactly what they cover: a municipality's HR and case exports
    are made for the same follow-up, and an HR export says nothing of when its window starts (it
    lists the employments in force during it, months without a change included). Where a
    municipality has staff data only, they start in the year of the first end of employment
    (the window starts before it) and end at the staff export's extract date, else at the last
    staff date up to `today` (default: the day of computing; staff data carry planned dates);
    nobody's start yet: no coverage."""
    today = today or dt.date.today()
    extract_dates = extract_dates or {}
    case = events.group_by("municipality").aggregate(
        first=events.date.min(where=events.event == "report"), last=events.date.max())
    happened = {column: staff[column] <= today for column in ("start_date", "end_date")}
    hr = staff.group_by("municipality").aggregate(
        first_end=staff.end_date.min(where=happened["end_date"]),
        last_start=staff.start_date.max(where=happened["start_date"]),
        last_end=staff.end_date.max(where=happened["end_date"]))
    covered: dict[str, dict[str, Covered]] = {}
    for row in backend.to_pyarrow(case).to_pylist():
        if row["first"] is not None:
            municipality = row["municipality"]
            covered.setdefault(municipality, {})["events"] = Covered(
                row["first"], row["last"], extract_dates.get((municipality, "events")))
    for row in backend.to_pyarrow(hr).to_pylist():
        sources = covered.setdefault(row["municipality"], {})
        if "events" in sources:
            sources["staff"] = sources["events"]
        elif row["last_start"] is not None:
            last = max(d for d in (row["last_start"], row["last_end"]) if d is not None)
            sources["staff"] = Covered(row["first_end"] or last, last,
                                       extract_dates.get((row["municipality"], "staff")))
    return {municipality: sources for municipality, sources in covered.items() if sources}


def governing(sources: dict[str, Covered]) -> Covered:
    """The coverage a municipality's periods are judged by: its case data's, else its staff data's."""
    return sources.get("events") or sources["staff"]


def _spans(year: int, types: tuple[str, ...], workforce: WorkforceConfig):
    """(period, type, first day, last day, reference date) of the year and its parts. A year's
    reference date is the workforce reference date (1 November); a quarter's or month's its
    last day."""
    if "year" in types:
        yield str(year), "year", dt.date(year, 1, 1), dt.date(year, 12, 31), workforce.reference_date.in_year(year)
    for kind, months in (("quarter", 3), ("month", 1)):
        if kind not in types:
            continue
        for i in range(12 // months):
            start = dt.date(year, months * i + 1, 1)
            following = dt.date(year + 1, 1, 1) if months * (i + 1) == 12 else dt.date(year, months * (i + 1) + 1, 1)
            end = following - dt.timedelta(days=1)
            label = f"{year}-Q{i + 1}" if kind == "quarter" else f"{year}-{i + 1:02d}"
            yield label, kind, start, end, end


def cost_coverage(backend, care_costs: ir.Table | None,
                  care_prices: ir.Table | None) -> tuple[dict[str, range], set[str]]:
    """The years a municipality's cost ledger covers (from its first row's year to its last
    row's), and the municipalities with a price list: cost indicators are computed only there,
    so that a municipality without the data shows nothing rather than 0 kr."""
    ledger: dict[str, range] = {}
    if care_costs is not None:
        spans = care_costs.group_by("municipality").aggregate(
            first=care_costs.start_date.min(), last=care_costs.end_date.max())
        ledger = {row["municipality"]: range(row["first"].year, row["last"].year + 1)
                  for row in backend.to_pyarrow(spans).to_pylist()}
    priced: set[str] = set()
    if care_prices is not None:
        priced = set(backend.to_pyarrow(care_prices.select("municipality").distinct())["municipality"].to_pylist())
    return ledger, priced


def build_periods(backend, events: ir.Table, staff: ir.Table, workforce: WorkforceConfig,
                  types: tuple[str, ...] = PERIOD_TYPES, today: dt.date | None = None,
                  extract_dates: dict[tuple[str, str], dt.date] | None = None,
                  care_costs: ir.Table | None = None, care_prices: ir.Table | None = None) -> pd.DataFrame:
    """The periods of `types` each municipality's data cover, flagged by which data cover them.

    `data_end` is the last day the data speak for (Covered.end), for indicators that need
    follow-up time; `complete` whether the export covers the period to its last day. Cost data
    (`care_costs`, `care_prices`) flag the periods of a municipality with case or staff data.
    """
    ledger, priced = cost_coverage(backend, care_costs, care_prices)
    rows = []
    for municipality, sources in coverage(backend, events, staff, today, extract_dates).items():
        judged = governing(sources)
        years = {source: range(c.first.year, c.end.year + 1) for source, c in sources.items()}
        for year in sorted(set().union(*years.values())):
            covered = (year in years.get("events", ()), year in years.get("staff", ()),
                       year in ledger.get(municipality, ()), municipality in priced)
            rows += [(municipality, period, period_type, start, end, reference, judged.end,
                      judged.complete_through(end), *covered, workforce.personnel_cost_addon(year))
                     for period, period_type, start, end, reference in _spans(year, types, workforce)]
    return pd.DataFrame(rows, columns=list(PERIODS_SCHEMA))
