"""What was wrong with the imported exports, for the person who fixes them: every rejected
row (the quarantine) and every data-quality warning, as tables and as an Excel workbook.

Row-level and for the analyst who imported the files, like the import messages themselves;
nothing here is published. The quarantine never holds a personal identity number.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from insyn.spreadsheet import XLSX_OPTIONS

QUARANTINE_SHEET = "Karantän"
WARNINGS_SHEET = "Datakvalitet"


def problem_tables(store) -> dict[str, pd.DataFrame]:
    """The quarantine and the data-quality warnings, with Swedish column names."""
    quarantine = store.raw.execute(
        "SELECT file AS Fil, table_name AS Tabell, row_number AS Rad, column_name AS Kolumn, "
        "reason AS Fel, record AS Raden FROM quarantine ORDER BY file, row_number").df()
    warnings = store.raw.execute(
        "SELECT municipality AS Kommun, case_id AS \"Ärende-ID\", message AS Varning, "
        "date AS Datum FROM quality_warnings ORDER BY municipality, case_id, date").df()
    return {QUARANTINE_SHEET: quarantine, WARNINGS_SHEET: warnings}


def summary(tables: dict[str, pd.DataFrame]) -> dict[str, pd.Series]:
    """How many of each kind: errors by reason, warnings by message."""
    return {QUARANTINE_SHEET: tables[QUARANTINE_SHEET].groupby("Fel").size().sort_values(ascending=False),
            WARNINGS_SHEET: tables[WARNINGS_SHEET].groupby("Varning").size().sort_values(ascending=False)}


def write_problems_workbook(tables: dict[str, pd.DataFrame], path: Path) -> Path:
    """One sheet per table, header frozen, filter on, columns sized to their contents."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with pd.ExcelWriter(path, engine="xlsxwriter", engine_kwargs={"options": XLSX_OPTIONS}) as writer:
        for name, frame in tables.items():
            frame.to_excel(writer, sheet_name=name, index=False)
            sheet = writer.sheets[name]
            sheet.freeze_panes(1, 0)
            sheet.autofilter(0, 0, max(len(frame), 1), max(len(frame.columns) - 1, 0))
            for i, column in enumerate(frame.columns):
                longest = max([len(str(column)), *frame[column].astype(str).str.len().head(1000)])
                sheet.set_column(i, i, min(max(longest + 2, 8), 80))
    return path
