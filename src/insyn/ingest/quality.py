"""Data-quality warnings per case: sequence checks declared in quality_checks.yaml."""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml


@cache
def quality_checks() -> list[dict]:
    with resources.files("insyn.ingest").joinpath("quality_checks.yaml").open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def _check_sql(check: dict, cases: str) -> str:
    requires = check["requires"]
    conditions = [f"p.event = '{requires['event']}'"]
    if "outcome" in requires:
        conditions.append(f"p.outcome = '{requires['outcome']}'")
    conditions += [f"p.{column} = e.{column}" for column in requires.get("same", [])]
    return f"""
        SELECT e.municipality, e.case_id, '{check['id']}', '{check['message']}', e.date
        FROM events e JOIN {cases} c USING (municipality, case_id)
        WHERE e.event = '{check['event']}' AND NOT EXISTS (
            SELECT 1 FROM events p
            WHERE p.municipality = e.municipality AND p.case_id = e.case_id
              AND p.date <= e.date AND {' AND '.join(conditions)})"""


def refresh_warnings(connection, cases: str) -> None:
    """Recompute the warnings of the cases in the relation `cases` (municipality, case_id)."""
    connection.execute(
        f"DELETE FROM quality_warnings w USING {cases} c "
        "WHERE w.municipality = c.municipality AND w.case_id = c.case_id"
    )
    union = " UNION ALL ".join(_check_sql(check, cases) for check in quality_checks())
    connection.execute(f"INSERT INTO quality_warnings {union}")
