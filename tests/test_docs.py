"""Docs that cannot drift: every indicator and every CLI command is documented."""

from __future__ import annotations

import re
from pathlib import Path

from insyn.cli import app
from insyn.indicators.definitions import library

DOCS = Path(__file__).parents[1] / "docs"
SWEDISH_LETTERS = re.compile(r"[åäöÅÄÖ]")


def test_every_indicator_is_documented_with_a_swedish_name_description_and_source():
    text = (DOCS / "indicators.md").read_text(encoding="utf-8")
    for definition in library():
        assert f"`{definition.id}`" in text, definition.id
        assert definition.name and definition.description and definition.follows
        assert SWEDISH_LETTERS.search(definition.name + definition.description), definition.id


def test_every_cli_command_is_documented():
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    commands = [c.name or c.callback.__name__ for c in app.registered_commands]
    assert {"demo", "import", "indicators", "report", "generate", "status"} <= set(commands)
    for command in commands:
        assert f"`insyn {command}" in text, command


def test_readme_quick_start_is_what_ci_runs():
    readme = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    ci = (DOCS.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert "python3 -m venv .venv && .venv/bin/pip install . && .venv/bin/insyn demo" in readme
    test_command = ('python3 -m venv .venv && .venv/bin/pip install -e ".[test]" && '
                    '.venv/bin/python -m pytest -n 2 --dist loadfile')
    assert test_command in readme
    assert f"\n{test_command}\n" in ci


def test_every_related_official_measure_is_named_in_the_docs():
    text = "".join((DOCS / name).read_text(encoding="utf-8") for name in ("indicators.md", "workforce.md"))
    for definition in library():
        for kpi in definition.related_kpis:
            assert kpi.id in text, (definition.id, kpi.id)
            assert kpi.title and SWEDISH_LETTERS.search(kpi.title + kpi.difference), (definition.id, kpi.id)
        if definition.kolada:  # a KPI computed itself is named among its related measures too
            assert definition.kolada in {k.id for k in definition.related_kpis}, definition.id
