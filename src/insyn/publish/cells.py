"""One published number as every table shows it: a Cell, its value or why it has none."""

from __future__ import annotations

from dataclasses import dataclass

from insyn.disclosure.status import SUPPRESSED, is_hidden
from insyn.indicators.definitions import Definition
from insyn.swedish import COUNT, format_value

MISSING = "–"
MISSES_TARGET_MARK = "▾"
PERCENTAGE_POINTS = "procentenheter"


@dataclass(frozen=True)
class Cell:
    """One published number: its value (None when missing or suppressed) and how to show it."""

    value: float | None
    unit: str
    suppressed: bool = False
    misses_target: bool = False

    @property
    def text(self) -> str:
        if self.suppressed:
            return SUPPRESSED
        if self.value is None:
            return MISSING
        return format_value(self.value, self.unit)


def shown_unless(hidden: bool, value: float | None, unit: str) -> Cell:
    """The value, or ".." (and no value at all) when it may not be shown."""
    return Cell(None, unit, suppressed=True) if hidden else Cell(value, unit)


def misses_target(definition: Definition, value: float | None) -> bool:
    if value is None or definition.target is None or definition.higher_is_better is None:
        return False
    return value < definition.target if definition.higher_is_better else value > definition.target


def value_cell(definition: Definition, row: dict | None, against_target: bool = True) -> Cell:
    """The row's value; marked when it misses the target (unless `against_target` is False)."""
    if row is None:
        return Cell(None, definition.unit)
    if is_hidden(row["status"]):
        return Cell(None, definition.unit, suppressed=True)
    missed = against_target and misses_target(definition, row["value"])
    return Cell(row["value"], definition.unit, misses_target=missed)


def count_cell(row: dict, column: str) -> Cell:
    """A numerator or denominator: ".." when its row is hidden, unless the disclosure layer left
    it in as a public figure (a population is public whatever the row's status)."""
    return Cell(row[column], COUNT, suppressed=is_hidden(row["status"]) and row[column] is None)
