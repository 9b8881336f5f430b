"""Code lists (kodverk) loaded from codes.yaml: valid values and their Swedish labels."""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml


@cache
def code_lists() -> dict[str, dict]:
    with resources.files("insyn.model").joinpath("codes.yaml").open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def codes(name: str) -> list[str]:
    """The valid values of one code list."""
    return list(code_lists()[name])


def label(name: str, value: str | None) -> str:
    """The Swedish label of a value, or the value itself when it has none."""
    if value is None:
        return ""
    entry = code_lists().get(name, {}).get(value, value)  # a column without a code list: the value
    return entry["label"] if isinstance(entry, dict) else entry


def age_groups() -> list[tuple[str, int, int]]:
    """(code, first age, last age) of each age group, youngest first."""
    return [(code, g["from"], g["to"]) for code, g in code_lists()["age_group"].items()]
