"""Deprecated: the names this module held, now in their own modules. Kept only so that code not
yet moved to them still imports (web/routes_people.py, web/routes_bookings.py, web/data.py,
workflows.py and some tests); import from the modules themselves, and delete this file when
nothing imports it:

- insyn.swedish: Swedish numbers, dates and alphabetical order;
- insyn.publish.cells: Cell and how a published row becomes one;
- insyn.publish.publication: Publication and prepare, the only maker of one;
- insyn.publish.views: the tables a reader sees;
- insyn.publish.notes: "Om statistiken".
"""

from __future__ import annotations

from insyn.publish.cells import (
    MISSES_TARGET_MARK,
    MISSING,
    PERCENTAGE_POINTS,
    Cell,
    count_cell,
    misses_target,
    shown_unless,
    value_cell,
)
from insyn.publish.notes import Note, legend, notes, population_years, unit_load_note
from insyn.publish.publication import (
    DEFAULT_TITLE,
    QUARTER,
    UNIT_LOAD_INDICATOR,
    YEAR,
    InFull,
    Noise,
    Publication,
    UnitLoad,
    month_start,
    prepare,
    with_noise,
)
from insyn.publish.views import (
    BREAKDOWN_LABELS,
    CATEGORY_LABELS,
    LONG_COLUMNS,
    PERIOD_TYPE_LABELS,
    Category,
    CategoryRow,
    CategoryTable,
    CoverageRow,
    CoverageTable,
    Overview,
    OverviewColumn,
    OverviewRow,
    RankedEntry,
    Ranking,
    SexBreakdown,
    categories,
    category_label,
    category_table,
    category_table_of,
    coverage_tables,
    coverage_tables_of,
    definition_rows,
    direction_text,
    format_target,
    load_month,
    long_rows,
    name_with_unit,
    overview,
    place,
    place_text,
    ranking,
    reference_day,
    sex_breakdown,
    target_text,
    trend,
    unit_loads,
    years_text,
)
from insyn.swedish import (
    COUNT,
    MONTHS,
    THOUSANDS_SEPARATOR,
    UNIT_SPACE,
    WHOLE_NUMBER_UNITS,
    format_date,
    format_number,
    format_value,
    swedish_sort_key,
)

__all__ = [
    "BREAKDOWN_LABELS", "CATEGORY_LABELS", "COUNT", "DEFAULT_TITLE", "LONG_COLUMNS", "MISSES_TARGET_MARK",
    "MISSING", "MONTHS", "PERCENTAGE_POINTS", "PERIOD_TYPE_LABELS", "QUARTER", "THOUSANDS_SEPARATOR",
    "UNIT_LOAD_INDICATOR", "UNIT_SPACE", "WHOLE_NUMBER_UNITS", "YEAR", "Category", "CategoryRow",
    "CategoryTable", "Cell", "CoverageRow", "CoverageTable", "InFull", "Noise", "Note", "Overview",
    "OverviewColumn", "OverviewRow", "Publication", "RankedEntry", "Ranking", "SexBreakdown", "UnitLoad",
    "categories", "category_label", "category_table", "category_table_of", "count_cell", "coverage_tables",
    "coverage_tables_of", "definition_rows", "direction_text", "format_date", "format_number",
    "format_target", "format_value", "legend", "load_month", "long_rows", "misses_target", "month_start",
    "name_with_unit", "notes", "overview", "place", "place_text", "population_years", "prepare", "ranking",
    "reference_day", "sex_breakdown", "shown_unless", "swedish_sort_key", "target_text", "trend",
    "unit_load_note", "unit_loads", "value_cell", "with_noise", "years_text",
]
