"""Everything published as one long table for an analyst: one row per published figure, one
header row and nothing above it, numbers as numbers, kommunkod as text, each period as text and
as its first day. Written as CSV (Swedish Excel's: semicolon, decimal comma, byte order mark) and
as Excel, from `insyn export --format tabell` and the web app's Jämförelse page.

Made from a Publication, so through disclosure control: a hidden figure has no numbers and the
status "dold".
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from insyn.disclosure.status import READER_LABELS, is_hidden
from insyn.indicators.pooled import POOLED, years_of
from insyn.publish.publication import QUARTER, SYNTHETIC_LABEL, YEAR, Publication, month_start
from insyn.publish.views import PERIOD_TYPE_LABELS, long_records
from insyn.spreadsheet import XLSX_OPTIONS, neutralised_frame

COLUMNS = ["Indikator", "Indikator-id", "Måttenhet", "Kommunkod", "Kommun", "Period", "Periodens första dag",
           "Periodtyp", "Enhet", "Kön", "Åldersgrupp", "Kategori", "Täljare", "Nämnare", "Värde", "Status"]
LABEL_COLUMN = "Uppgifter"  # with synthetic data: the label on every row (there is no line above the header)
SHEET = "Publicerat"


def first_day(period: str, period_type: str) -> dt.date:
    """The first day of a period as the publication names it: "2025", "2025-Q3", "2025-11",
    "2023–2025" (three years pooled)."""
    if period_type == YEAR:
        return dt.date(int(period), 1, 1)
    if period_type == QUARTER:
        year, quarter = period.split("-Q")
        return dt.date(int(year), 3 * int(quarter) - 2, 1)
    if period_type == POOLED:
        return dt.date(int(years_of(period)[0]), 1, 1)
    return month_start(period)


def analyst_frame(pub: Publication) -> pd.DataFrame:
    """The published rows, typed: counts and values as floats (empty where hidden or missing)."""
    rows = []
    for definition, record, labels in long_records(pub):
        hidden = is_hidden(record["status"])
        rows.append({
            "Indikator": definition.name, "Indikator-id": definition.id, "Måttenhet": definition.unit,
            "Kommunkod": record["municipality"], "Kommun": pub.name(record["municipality"]),
            "Period": record["period"], "Periodens första dag": first_day(record["period"], record["period_type"]),
            "Periodtyp": PERIOD_TYPE_LABELS.get(record["period_type"], record["period_type"]), **labels,
            # A population stays beside a hidden count (it is public): the disclosure layer left it in.
            "Täljare": None if hidden else record["numerator"], "Nämnare": record["denominator"],
            "Värde": None if hidden else record["value"], "Status": READER_LABELS[record["status"]]})
    frame = pd.DataFrame(rows, columns=COLUMNS)
    for column in ("Täljare", "Nämnare", "Värde"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    frame["Periodens första dag"] = pd.to_datetime(frame["Periodens första dag"])
    if pub.synthetic:
        frame[LABEL_COLUMN] = SYNTHETIC_LABEL
    return frame


def write_analyst_table(pub: Publication, path: Path) -> Path:
    """The table as .csv or .xlsx, by the path's suffix."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = neutralised_frame(analyst_frame(pub))
    if path.suffix.lower() == ".xlsx":
        with pd.ExcelWriter(path, engine="xlsxwriter", date_format="yyyy-mm-dd", datetime_format="yyyy-mm-dd",
                            engine_kwargs={"options": XLSX_OPTIONS}) as writer:
            frame.to_excel(writer, sheet_name=SHEET, index=False)
            sheet = writer.sheets[SHEET]
            sheet.freeze_panes(1, 0)
            sheet.autofilter(0, 0, len(frame), len(frame.columns) - 1)
            sheet.set_column(0, len(frame.columns) - 1, 14)
        return path
    frame.assign(**{"Periodens första dag": frame["Periodens första dag"].dt.strftime("%Y-%m-%d")}).to_csv(
        path, sep=";", decimal=",", float_format="%.10g", index=False, encoding="utf-8-sig")
    return path
