"""The publish stage: the HTML report and the Excel workbook, both made only from a Publication,
which only `prepare` makes, from results passed through the disclosure layer (and workload unit
totals).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from insyn.publish.excel import write_workbook
from insyn.publish.publication import DEFAULT_TITLE, Publication, prepare
from insyn.publish.report import write_report

if TYPE_CHECKING:  # statsmodels is imported only where a forecast is made
    from insyn.publish.forecast import HeadlineForecast

__all__ = ["DEFAULT_TITLE", "Publication", "prepare", "publish", "write_report", "write_workbook"]


def publish(pub: Publication, out_dir: Path, title: str = DEFAULT_TITLE,
            imported: pd.DataFrame | None = None, progress: Callable[[str], None] | None = None,
            forecasts: Mapping[str, Sequence[HeadlineForecast]] | None = None) -> dict[str, Path]:
    """Write out_dir/rapport.html and out_dir/insyn.xlsx; return their paths. `imported`
    (published values read with insyn import --format kolada) adds the comparison with them;
    `forecasts` the municipalities' year ahead to the report; `progress` is told as each file is
    begun."""
    out_dir = Path(out_dir)
    notify = progress or (lambda _: None)
    notify("Skriver rapporten (HTML)")
    html = write_report(pub, out_dir / "rapport.html", title, imported, forecasts)
    notify("Skriver Excelfilen")
    return {"html": html, "excel": write_workbook(pub, out_dir / "insyn.xlsx", title, imported)}
