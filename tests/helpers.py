"""Helpers for tests: valid synthetic personal identity numbers, small canonical files, and a
data folder whose store holds given indicator results."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from insyn.settings import Settings
from insyn.workflows import store_for


def luhn_digit(nine: str) -> int:
    total = 0
    for i, ch in enumerate(nine):
        product = int(ch) * (2 if i % 2 == 0 else 1)
        total += product // 10 + product % 10
    return (10 - total % 10) % 10


def pnr(birth: str, serial: str = "123", coordination: bool = False) -> str:
    """A valid 12-digit number 'YYYYMMDD-NNNC' for birth 'YYYYMMDD'; serial's last digit odd = male."""
    day = int(birth[6:8]) + (60 if coordination else 0)
    ten = f"{birth[2:6]}{day:02d}{serial}"
    return f"{birth[:6]}{day:02d}-{serial}{luhn_digit(ten)}"


EVENT_COLUMNS = ["municipality", "case_id", "person_id", "event", "date", "unit",
                 "caseworker_id", "source", "outcome", "intervention"]


def write_csv(path: Path, columns: list[str], rows: list[dict], delimiter: str = ",") -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns, delimiter=delimiter)
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in columns})
    return path


def computed_from_events(folder: Path, columns: list[str], events: list[dict], municipality: str,
                         years: tuple[int, ...], per_age: int, extract_date) -> pd.DataFrame:
    """Every indicator computed from hand-made events and a population of `per_age` residents
    per age 0–20 in each of `years`, imported without a problem."""
    from insyn.indicators.engine import compute
    from insyn.ingest.load import import_files
    from insyn.store import open_store

    files = [write_csv(folder / "handelser.csv", columns, events),
             write_csv(folder / "befolkning.csv", ["municipality", "year", "age_from", "age_to", "population"],
                       [dict(municipality=municipality, year=year, age_from=age, age_to=age, population=per_age)
                        for year in years for age in range(21)])]
    store = open_store(None)
    try:
        imported = import_files(store, files, b"k" * 32, extract_date=extract_date)
        assert all(not f.validated.problems for f in imported.files)
        return compute(store)
    finally:
        store.close()


def settings_with_results(data_dir: Path, results: pd.DataFrame) -> Settings:
    """A data folder whose DuckDB store holds the given indicator results."""
    settings = Settings(data_dir=data_dir)
    store = store_for(settings)
    try:
        with store.transaction() as con:
            con.register("given_results", results)
            con.execute("INSERT INTO indicator_results BY NAME SELECT * FROM given_results")
    finally:
        store.close()
    return settings


def result_row(results: pd.DataFrame, municipality: str, indicator: str, period: str, **dims) -> pd.Series:
    """The one result row of the indicator, municipality and period with these breakdowns (the
    others empty)."""
    rows = results[(results.indicator == indicator) & (results.municipality == municipality)
                   & (results.period == period)]
    for dim in ("unit", "sex", "age_group", "category"):
        rows = rows[rows[dim] == dims[dim]] if dim in dims else rows[rows[dim].isna()]
    assert len(rows) == 1, f"{indicator} {period} {dims}: {len(rows)} rows"
    return rows.iloc[0]


def result_value(results: pd.DataFrame, municipality: str, indicator: str, period: str,
                 **dims) -> tuple[float, float, float]:
    """(numerator, denominator, value) of result_row."""
    row = result_row(results, municipality, indicator, period, **dims)
    return row.numerator, row.denominator, row.value
