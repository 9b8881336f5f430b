"""The report on paper (report.css's print rules): printed by Chromium on A4 landscape, as a
reader's browser would, nothing is wider than the page, so no column is cut; the synthetic-data
label is on every page; a chart keeps its print size. The first pages are kept as PNG in
test-results/ for a person to look at."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import Page
from test_publish import RULES, YEARS, build_results

from insyn.publish import prepare, publish
from insyn.publish.publication import SYNTHETIC_LABEL

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils is not installed")]
ARTIFACTS = Path(os.environ.get("INSYN_ARTIFACTS", "test-results"))
# A4 landscape less report.css's @page margins (10 mm each side), in CSS pixels (96 per inch).
PRINTED_WIDTH = round((297 - 2 * 10) / 25.4 * 96)


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    results = build_results(["1480", "0884", "0780", "1401"], YEARS)
    return publish(prepare(results, RULES, synthetic=True), tmp_path_factory.mktemp("rapport"))["html"]


def _wider_than_the_page(page: Page) -> list[str]:
    """What the print layout puts beyond the printed width: tables, charts, any element."""
    return page.evaluate("""width => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > width + 1 && e.getClientRects().length)
        .map(e => e.tagName + (e.className && e.className.baseVal === undefined ? '.' + e.className : '')
                  + ' ' + (e.closest('table')?.querySelector('caption')?.textContent || '').trim())
        .slice(0, 10)""", PRINTED_WIDTH)


def test_the_printed_report_cuts_nothing_and_says_synthetic_on_every_page(page: Page, report: Path):
    page.set_default_timeout(120_000)
    page.set_viewport_size({"width": PRINTED_WIDTH, "height": 800})
    page.goto(report.as_uri())
    page.emulate_media(media="print")
    assert _wider_than_the_page(page) == []
    # The widest table, the overview, keeps every column inside the page.
    last = page.locator("table.overview thead th").last.bounding_box()
    assert last is not None and last["x"] + last["width"] <= PRINTED_WIDTH + 1
    # A municipality's trend lines print at 28 mm (about 106 px), not their screen width of 248.
    trend = page.locator("svg.trend-chart").first.bounding_box()
    assert trend is not None and 100 <= trend["width"] <= 110

    pdf = report.with_suffix(".pdf")
    page.pdf(path=str(pdf), prefer_css_page_size=True)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout
    pages = [p for p in text.split("\f") if p.strip()]
    assert len(pages) > 1
    assert all(SYNTHETIC_LABEL in " ".join(p.split()) for p in pages)
    size = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    width, height = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", size).groups())
    assert (round(width), round(height)) == (842, 595)  # A4 landscape in points
    ARTIFACTS.mkdir(exist_ok=True)
    subprocess.run(["pdftoppm", "-r", "60", "-png", "-f", "1", "-l", "3", str(pdf),
                    str(ARTIFACTS / "rapport-utskrift")], check=True)
    assert sorted(ARTIFACTS.glob("rapport-utskrift*.png"))
