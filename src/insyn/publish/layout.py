"""The layout of what is published, as data (layout.yaml): the themes an area's indicators are
grouped in, the paragraphs an area adds to "Om statistiken", and the workbook's sheets. The
report, the workbook, the notes and the web app read it; none of them names an area.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, model_validator

from insyn.indicators.definitions import area_names, library


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MixPlan(_Strict):
    """Indicators shown side by side in one table (the experience mix), with its caption."""

    caption: str
    indicators: tuple[str, ...]


class ThemePlan(_Strict):
    """One part of an area's section: its indicators (each with its ranking) and what it shows
    besides them."""

    heading: str
    anchor: str
    text: str
    indicators: tuple[str, ...]
    trends: bool = False  # each indicator per municipality and year
    mixes: tuple[MixPlan, ...] = ()
    unit_load: bool = False


class AreaNotes(_Strict):
    """Paragraphs (Jinja text) the area adds to the notes "Perioder" and "Små tal visas inte"."""

    periods: tuple[str, ...] = ()
    small_figures: tuple[str, ...] = ()


class AreaLayout(_Strict):
    themes: tuple[ThemePlan, ...] = ()
    notes: AreaNotes = AreaNotes()

    @property
    def unit_load(self) -> bool:
        """Whether the area shows the workload per unit."""
        return any(theme.unit_load for theme in self.themes)


SheetKind = Literal["overview", "long", "sources", "years", "coverage", "unit_load", "definitions", "notes"]


class SheetPlan(_Strict):
    sheet: str
    shows: SheetKind
    area: str | None = None  # of an overview or years sheet

    @property
    def of_area(self) -> str:
        """The area of an overview or years sheet (the validator below requires one there)."""
        if self.area is None:
            raise ValueError(f"sheet {self.sheet}: {self.shows} has no area")
        return self.area

    @model_validator(mode="after")
    def _area_when_needed(self) -> SheetPlan:
        if (self.shows in ("overview", "years")) != (self.area is not None):
            raise ValueError(f"sheet {self.sheet}: an overview or years sheet names its area, no other does")
        if len(self.sheet) > 31:
            raise ValueError(f"sheet {self.sheet}: Excel allows 31 characters in a sheet name")
        return self


class Layout(_Strict):
    areas: dict[str, AreaLayout] = {}
    workbook: tuple[SheetPlan, ...]

    def area(self, area: str) -> AreaLayout:
        """The area's layout; an area the file does not mention has no themes and no notes."""
        return self.areas.get(area, AreaLayout())

    @property
    def sheets(self) -> tuple[str, ...]:
        return tuple(s.sheet for s in self.workbook)

    def check(self, areas: set[str], indicators: dict[str, str]) -> None:
        """Raise ValueError unless every area and indicator named exists (`indicators`: id ->
        area), a theme's indicators are of its area, and no sheet name comes twice. (An
        indicator of a themed area left out of every theme is not shown in the report's area
        section: tests/test_publish.py checks that the shipped layout places each in one.)"""
        named_areas = set(self.areas) | {s.area for s in self.workbook if s.area}
        if unknown := named_areas - areas:
            raise ValueError(f"layout.yaml names areas that do not exist: {sorted(unknown)}")
        for name, layout in self.areas.items():
            themed = {i for t in layout.themes for i in t.indicators}
            mixed = {i for t in layout.themes for m in t.mixes for i in m.indicators}
            if unknown := (themed | mixed) - set(indicators):
                raise ValueError(f"layout.yaml, area {name}, names indicators that do not exist: {sorted(unknown)}")
            if elsewhere := sorted(i for i in themed if indicators[i] != name):
                raise ValueError(f"layout.yaml, area {name}: indicators of another area: {elsewhere}")
        if len(set(self.sheets)) != len(self.sheets):
            raise ValueError("layout.yaml names a workbook sheet twice")

    def themed_indicators(self, area: str) -> list[str]:
        """The indicators in the area's themes, in order (with repeats, if any)."""
        return [i for t in self.area(area).themes for i in t.indicators]


def read_layout(text: str) -> Layout:
    """The layout written in `text` (YAML), checked against the indicator library."""
    layout = Layout.model_validate(yaml.safe_load(text))
    layout.check(set(area_names()), {d.id: d.area for d in library()})
    return layout


@cache
def report_layout() -> Layout:
    """The shipped layout (publish/layout.yaml)."""
    return read_layout(resources.files("insyn.publish").joinpath("layout.yaml").read_text(encoding="utf-8"))
