"""Data-quality warnings per case: sequence checks declared in quality_checks.yaml."""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml


@cache
def quality_checks() -> list[dict]:
    with resources.files("insyn.ingest").joinpath("quality_checks.yaml").open(encoding="utf-8") as f:
        return yaml.safe_load(f)


SPELL_CHECKS = ("unmatched_end", "overlapping", "id_ends_before_start")


def _check_sql(check: dict, cases: str) -> str:
    kind = next((k for k in SPELL_CHECKS if k in check), None)
    if kind:
        return _spell_check_sql(check, kind, cases)
    if "where" in check:
        return f"""
        SELECT municipality, case_id, '{check['id']}', '{check['message']}', min(date)
        FROM events JOIN {cases} USING (municipality, case_id)
        WHERE {check['where']} GROUP BY municipality, case_id"""
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


def _spell_check_sql(check: dict, kind: str, cases: str) -> str:
    """Spells paired as the indicators pair them (insyn.indicators.subjects.spells): an id with
    a start and an end on or after it is one spell; every other row is numbered first in, first
    out — `unmatched` is the running maximum of ends over starts, rising at an end with nothing
    open, and starts − (ends − unmatched) is what is open after a row."""
    spec = check[kind]
    start, end, id_column = spec["start"], spec["end"], spec.get("id")
    group = ", ".join(["municipality", "case_id", *spec.get("same", [])])
    rows = f"""SELECT e.* FROM events e JOIN {cases} c USING (municipality, case_id)
               WHERE event IN ('{start}', '{end}')"""
    ids = f"""SELECT {group}, {id_column}, min(date) FILTER (WHERE event = '{start}') AS first_start,
                     max(date) FILTER (WHERE event = '{end}') AS last_end
              FROM ({rows}) WHERE {id_column} IS NOT NULL GROUP BY ALL""" if id_column else ""
    head = f"SELECT municipality, case_id, '{check['id']}', '{check['message']}'"
    if kind == "id_ends_before_start":
        return f"{head}, min(last_end) FROM ({ids}) WHERE last_end < first_start GROUP BY municipality, case_id"
    pool = f"""SELECT r.* FROM ({rows}) r ANTI JOIN (SELECT * FROM ({ids}) WHERE last_end >= first_start) i
               USING ({group}, {id_column})""" if id_column else rows
    order = f"PARTITION BY {group} ORDER BY date, event = '{end}'"
    numbered = f"""
        SELECT *, greatest(max(ended - started) OVER ({order} ROWS UNBOUNDED PRECEDING), 0) AS unmatched,
               greatest(coalesce(max(ended - started) OVER ({order} ROWS BETWEEN UNBOUNDED PRECEDING
                                                           AND 1 PRECEDING), 0), 0) AS unmatched_before
        FROM (SELECT *, count(*) FILTER (WHERE event = '{start}') OVER w AS started,
                        count(*) FILTER (WHERE event = '{end}') OVER w AS ended
              FROM ({pool}) WINDOW w AS ({order} ROWS UNBOUNDED PRECEDING))"""
    if kind == "unmatched_end":
        return f"{head}, date FROM ({numbered}) WHERE event = '{end}' AND unmatched > unmatched_before"
    return f"""{head}, min(date) FROM ({numbered})
        WHERE event = '{start}' AND started - (ended - unmatched) > 1 GROUP BY municipality, case_id"""


def refresh_warnings(connection, cases: str) -> None:
    """Recompute the warnings of the cases in the relation `cases` (municipality, case_id)."""
    connection.execute(
        f"DELETE FROM quality_warnings w USING {cases} c "
        "WHERE w.municipality = c.municipality AND w.case_id = c.case_id"
    )
    union = " UNION ALL ".join(_check_sql(check, cases) for check in quality_checks())
    connection.execute(f"INSERT INTO quality_warnings {union}")
