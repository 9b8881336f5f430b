"""The seams: the import graph flows one way, and subject kinds come from their registry."""

from __future__ import annotations

import pytest

from insyn.devtools.layers import STAGES, Upward, stage_of, upward_imports
from insyn.indicators.definitions import Definition, EventsSubject, Subjects
from insyn.indicators.kinds import SubjectKind, always, register, subject_kinds
from insyn.indicators.subjects import events_subjects


def test_the_import_graph_flows_only_downward():
    """docs/architecture.md's order, checked on every import of the package, lazy ones included."""
    assert upward_imports() == []


def test_the_checker_sees_an_upward_import(tmp_path):
    package = tmp_path / "insyn"
    (package / "model").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "model" / "__init__.py").write_text("")
    (package / "model" / "codes.py").write_text("def f():\n    from insyn.web import app\n")
    assert upward_imports(package) == [Upward("insyn.model.codes", 2, "insyn.web")]
    assert stage_of("insyn.indicators.engine") < stage_of("insyn.workforce.subjects") < stage_of("insyn.web")
    assert len({name for names in STAGES for name in names}) == sum(len(names) for names in STAGES)


def test_the_indicators_know_the_workforce_kinds_only_through_the_registry():
    kinds = subject_kinds()
    assert {"pairs", "spells", "closings"} <= set(kinds) and {"employments", "caseworker_loads"} <= set(kinds)
    assert kinds["employments"].spec.__module__ == "insyn.workforce.subjects"
    assert kinds["employments"].record == "staff_id" and kinds["pairs"].record == "case_id"


def test_a_kind_registered_by_another_package_is_usable_in_yaml():
    """A new kind is a SubjectKind registered, nothing else: the definition reads it by name."""
    register(SubjectKind("test_reports_again", EventsSubject, events_subjects, always("date")))
    try:
        _use_the_registered_kind()
    finally:
        subject_kinds().pop("test_reports_again")
    assert "test_reports_again" not in subject_kinds()


def _use_the_registered_kind() -> None:
    definition = Definition.model_validate({
        "id": "x", "name": "X", "description": "x", "unit": "antal", "follows": "x",
        "subjects": {"test_reports_again": {"event": "report"}}, "numerator": {"count": "subjects"}})
    assert definition.subjects.kind == "test_reports_again" and definition.subjects.spec.event == "report"
    written = Subjects(test_reports_again=EventsSubject(event="report")).key()
    assert written == '{"test_reports_again":{"event":"report"}}'
    with pytest.raises(ValueError, match="okänd sorts subjekt 'unknown_kind'"):
        Subjects.model_validate({"unknown_kind": {}})
    with pytest.raises(ValueError, match="registered twice"):
        register(SubjectKind("pairs", EventsSubject, events_subjects, always("date")))
