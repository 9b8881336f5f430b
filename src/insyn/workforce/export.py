"""The manager's workload tables as an Excel workbook (row-level data about employees: for
their own managers, never published)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from insyn.spreadsheet import XLSX_OPTIONS


def write_workload_workbook(tables: dict[str, pd.DataFrame], headers: dict[str, str], path: Path) -> Path:
    """One sheet per table, Swedish headers, load ratios as percentages."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with pd.ExcelWriter(path, engine="xlsxwriter", engine_kwargs={"options": XLSX_OPTIONS}) as writer:
        percent = writer.book.add_format({"num_format": "0%"})
        for name, frame in tables.items():
            frame.rename(columns=headers).to_excel(writer, sheet_name=name[:31], index=False)
            sheet = writer.sheets[name[:31]]
            for position, column in enumerate(frame.columns):
                width = max(10, len(headers.get(column, str(column))) + 2)
                is_ratio = column in ("load_ratio", "load_before", "load_after")
                sheet.set_column(position, position, width, percent if is_ratio else None)
    return path
