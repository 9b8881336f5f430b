"""DDL of the store: the canonical tables after pseudonymisation, plus the import bookkeeping."""

from __future__ import annotations

from insyn.model.tables import TABLES, Table

_SQL_TYPES = {
    "text": "VARCHAR",
    "code": "VARCHAR",
    "codes": "VARCHAR",
    "municipality": "VARCHAR",
    "date": "DATE",
    "month": "DATE",  # the first day of the month
    "int": "INTEGER",
    "float": "DOUBLE",
}


def stored_columns(table: Table) -> list[tuple[str, str]]:
    """(name, SQL type) of what the store keeps: the clear person_id is replaced."""
    columns = [(c.name, _SQL_TYPES[c.kind]) for c in table.columns if c.kind != "person_id"]
    return columns + list(table.derived) + [("import_id", "VARCHAR")]


BOOKKEEPING = {
    "imports": """
        import_id VARCHAR PRIMARY KEY, imported_at TIMESTAMP, file VARCHAR, sha256 VARCHAR,
        table_name VARCHAR, profile VARCHAR, rows_read BIGINT, rows_loaded BIGINT,
        rows_quarantined BIGINT, rows_replaced BIGINT, extract_date DATE""",
    # The day each municipality's export of a table was taken (uttagsdatum), as imports said
    # it: what completeness of periods and follow-up windows are measured against.
    "extracts": """
        municipality VARCHAR, table_name VARCHAR, extract_date DATE, import_id VARCHAR,
        recorded_at TIMESTAMP""",
    "quarantine": """
        import_id VARCHAR, file VARCHAR, table_name VARCHAR, row_number BIGINT,
        column_name VARCHAR, reason VARCHAR, record VARCHAR""",
    "quality_warnings": """
        municipality VARCHAR, case_id VARCHAR, check_id VARCHAR, message VARCHAR, date DATE""",
    "indicator_results": """
        indicator VARCHAR, municipality VARCHAR, period VARCHAR, period_type VARCHAR,
        unit VARCHAR, sex VARCHAR, age_group VARCHAR, category VARCHAR,
        numerator DOUBLE, denominator DOUBLE, value DOUBLE, complete BOOLEAN,
        numerator_contributors DOUBLE, numerator_largest DOUBLE,
        denominator_contributors DOUBLE, denominator_largest DOUBLE,
        numerator_second DOUBLE, denominator_second DOUBLE,
        numerator_cellkey DOUBLE, denominator_cellkey DOUBLE""",
    # Derived from the canonical tables at every import (insyn.workforce.workload); rows name
    # employees and are for their own managers only.
    "workload_monthly": """
        municipality VARCHAR, period VARCHAR, unit VARCHAR, staff_id VARCHAR, role VARCHAR,
        employment VARCHAR, fte DOUBLE, level VARCHAR, cases BIGINT, points DOUBLE,
        norm_points DOUBLE, load_ratio DOUBLE, months_over_norm BIGINT, rating BIGINT,
        flex_hours DOUBLE""",
    "workload_unassigned": """
        municipality VARCHAR, period VARCHAR, unit VARCHAR, reason VARCHAR, cases BIGINT,
        points DOUBLE""",
    # What each table published with differential privacy spent of its year's total epsilon
    # (insyn.disclosure.noise, docs/noise.md); one row per table and year it shows.
    "privacy_budget": """
        release VARCHAR, budget DOUBLE, table_name VARCHAR, epsilon DOUBLE,
        sensitivity BIGINT, spent_at TIMESTAMP""",
    # What has been published of each year's data, and by which method (holes or noise, never
    # both: insyn.disclosure.releases); one row per publication and year.
    "releases": """
        period VARCHAR, method VARCHAR, name VARCHAR, released_at TIMESTAMP""",
    # What each publication with holes hid and showed, by year (insyn.disclosure.releases): a
    # later publication of the same year hides again what was hidden and keeps shown what was
    # shown unchanged. One row per row key, year and state (the figures shown).
    "released_rows": """
        period VARCHAR, row_key VARCHAR, hidden BOOLEAN, shown_values VARCHAR, name VARCHAR""",
    # Published figures imported in Kolada's shape (Riket, regions, peers; docs/kolada.md), one
    # per KPI, Kolada municipality id (0000 Riket), year and gender (T, K, M).
    "published_values": """
        kpi VARCHAR, municipality VARCHAR, period INTEGER, gender VARCHAR, value DOUBLE,
        count INTEGER, status VARCHAR, source_file VARCHAR, imported_at TIMESTAMP""",
}


# Columns added since a store could first be created: (table, column, SQL type).
ADDED_COLUMNS = [("indicator_results", "complete", "BOOLEAN"),
                 ("imports", "extract_date", "DATE"),
                 ("events", "intervention_id", "VARCHAR"), ("events", "extended_until", "DATE"),
                 ("events", "unaccompanied", "VARCHAR"), ("events", "temporary_number", "VARCHAR"),
                 ("events", "id_kind", "VARCHAR"),
                 ("events", "provider", "VARCHAR"), ("privacy_budget", "period", "VARCHAR"),
                 ("staff", "funding", "VARCHAR"), ("staff", "monthly_salary", "DOUBLE"),
                 ("events", "organisations", "VARCHAR"), ("events", "legal_basis", "VARCHAR"),
                 *(("indicator_results", c, "DOUBLE") for c in (
                     "numerator_contributors", "numerator_largest",
                     "denominator_contributors", "denominator_largest",
                     "numerator_cellkey", "denominator_cellkey",
                     "numerator_second", "denominator_second"))]


def create_statements() -> list[str]:
    statements = []
    for table in TABLES.values():
        cols = ", ".join(f"{name} {sql_type}" for name, sql_type in stored_columns(table))
        statements.append(f"CREATE TABLE IF NOT EXISTS {table.name} ({cols})")
    for name, cols in BOOKKEEPING.items():
        statements.append(f"CREATE TABLE IF NOT EXISTS {name} ({cols})")
    statements += [f"ALTER TABLE {t} ADD COLUMN IF NOT EXISTS {c} {sql_type}" for t, c, sql_type in ADDED_COLUMNS]
    return statements
