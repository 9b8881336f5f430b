"""The municipal brief (insyn report --kommun, insyn.publish.brief): one or two A4 pages that a
nämnd can read, through disclosure control, with every headline indicator on it. The PDF is
rendered to PNG with poppler's pdftoppm and kept in test-results/ for a person to look at."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_publish import RULES, VIMMERBY, YEARS, build_results

from insyn.indicators.definitions import area_headlines, by_id
from insyn.publish.brief import write_brief
from insyn.publish.publication import SYNTHETIC_LABEL, prepare
from insyn.publish.views import name_with_unit

ARTIFACTS = Path(__file__).parent.parent / "test-results"
POPPLER = shutil.which("pdftotext") and shutil.which("pdftoppm")
pytestmark = pytest.mark.skipif(not POPPLER, reason="poppler-utils (pdftotext, pdftoppm) is not installed")


def _text(pdf: Path, page: int | None = None) -> str:
    pages = ["-f", str(page), "-l", str(page)] if page else []
    out = subprocess.run(["pdftotext", *pages, str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    return " ".join(out.split())


def _pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    return int(re.search(r"Pages:\s+(\d+)", info).group(1))


@pytest.fixture(scope="module")
def brief(tmp_path_factory) -> dict[str, Path]:
    results = build_results(["1480", VIMMERBY, "0780"], YEARS)
    # Vimmerby's investigations within four months in the latest year: 3 of 7, too few to show.
    hit = ((results.indicator == "utredning_inom_4_manader") & (results.municipality == VIMMERBY)
           & (results.period == YEARS[-1]) & results[["unit", "sex", "age_group", "category"]].isna().all(axis=1))
    results.loc[hit, ["numerator", "denominator", "value"]] = [3, 7, 300 / 7]
    pub = prepare(results, RULES, synthetic=True)
    return write_brief(pub, VIMMERBY, tmp_path_factory.mktemp("kommunblad"))


def test_the_brief_is_one_or_two_a4_pages_with_every_headline_indicator(brief):
    assert 1 <= _pages(brief["pdf"]) <= 2
    text = _text(brief["pdf"])
    definitions = by_id()
    headlines = [definitions[i] for ids in area_headlines().values() for i in ids or [] if i in definitions]
    assert headlines
    for definition in headlines:
        assert name_with_unit(definition) in text, definition.id
    assert "Vimmerby" in text and "median av" in text
    ARTIFACTS.mkdir(exist_ok=True)
    subprocess.run(["pdftoppm", "-r", "70", "-png", str(brief["pdf"]), str(ARTIFACTS / "kommunblad-0884")], check=True)
    assert sorted(ARTIFACTS.glob("kommunblad-0884*.png"))


def test_synthetic_data_say_so_on_every_page(brief):
    for page in range(1, _pages(brief["pdf"]) + 1):
        assert SYNTHETIC_LABEL in _text(brief["pdf"], page)
    assert SYNTHETIC_LABEL in brief["html"].read_text(encoding="utf-8")


def test_a_hidden_figure_stays_hidden_in_the_brief(brief):
    text, html = _text(brief["pdf"]), brief["html"].read_text(encoding="utf-8")
    assert "42,9" not in text and "42,9" not in html  # 3 of 7
    assert ".." in text


def test_the_brief_is_self_contained(brief):
    html = brief["html"].read_text(encoding="utf-8")
    assert "http://" not in html and "https://" not in html and "<script" not in html


def test_report_and_brief_tell_their_steps_as_they_begin(tmp_path):
    """insyn report's progress (workflows.write_report): each of REPORT_STEPS (BRIEF_STEPS) is
    told once, in order, before its work — and the files are there at the end."""
    from helpers import settings_with_results

    from insyn.workflows import BRIEF_STEPS, REPORT_STEPS, write_report

    settings = settings_with_results(tmp_path / "data", build_results(["1480", VIMMERBY], YEARS))
    told: list[str] = []
    paths = write_report(settings, tmp_path / "rapport", progress=told.append)
    assert told == ["Läser de beräknade indikatorerna", "Röjandekontroll: döljer tal som kan röja enskilda",
                    "Prognos för det kommande året", "Skriver rapporten (HTML)", "Skriver Excelfilen"]
    assert len(told) == REPORT_STEPS and all(p.exists() for p in paths.values())
    told.clear()
    paths = write_report(settings, tmp_path / "blad", municipality=VIMMERBY, progress=told.append)
    assert told == ["Läser de beräknade indikatorerna", "Röjandekontroll: döljer tal som kan röja enskilda",
                    "Skriver kommunbladet (HTML och PDF)"]
    assert len(told) == BRIEF_STEPS and paths["pdf"].exists()
