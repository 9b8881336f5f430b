"""The publish stage: the HTML report and the Excel workbook, both made only from results (and
workload unit totals) that have passed the small-count rule.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from insyn.publish.excel import write_workbook
from insyn.publish.formatting import DEFAULT_TITLE
from insyn.publish.report import write_report
from insyn.workforce.config import ReferenceDate
from insyn.workforce.workload import Workload

__all__ = ["DEFAULT_TITLE", "publish", "write_report", "write_workbook"]


def publish(results: pd.DataFrame, out_dir: Path, threshold: int = 5, title: str = DEFAULT_TITLE,
            workload: Workload | None = None, reference: ReferenceDate | None = None) -> dict[str, Path]:
    """Write out_dir/rapport.html and out_dir/insyn.xlsx; return their paths. `workload` (the
    stored workload tables) adds unit load, published only as unit totals; `reference` is the
    workforce reference date (default: the shipped workforce.yaml's)."""
    out_dir = Path(out_dir)
    return {
        "html": write_report(results, out_dir / "rapport.html", threshold, title, workload, reference),
        "excel": write_workbook(results, out_dir / "insyn.xlsx", threshold, title, workload, reference),
    }
