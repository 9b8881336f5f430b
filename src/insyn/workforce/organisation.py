"""The organisation the imported data describe: each municipality's units and staff ids, as the
staff and events tables name them. A user's scope (a unit manager's units, a caseworker's staff
id) may name only these, whether the user is made on the command line or in the web app."""

from __future__ import annotations

from dataclasses import dataclass

from insyn.swedish import swedish_sort_key

# Every unit and staff id of a municipality, whether or not employed today: a unit manager's
# units and a caseworker's own id are looked up over the whole history, as the pages do.
_UNITS_AND_STAFF = """
    SELECT municipality, unit, staff_id FROM staff
    UNION SELECT municipality, unit, caseworker_id FROM events
    WHERE unit IS NOT NULL OR caseworker_id IS NOT NULL"""


@dataclass(frozen=True)
class Organisation:
    municipality: str
    units: tuple[str, ...] = ()           # in Swedish sort order
    staff_ids: frozenset[str] = frozenset()


def organisations(store) -> dict[str, Organisation]:
    """Every municipality of the store with its units and staff ids."""
    rows = store.raw.execute(_UNITS_AND_STAFF).fetchall()
    units: dict[str, set[str]] = {}
    staff: dict[str, set[str]] = {}
    for municipality, unit, staff_id in rows:
        units.setdefault(municipality, set())
        staff.setdefault(municipality, set())
        if unit:
            units[municipality].add(unit)
        if staff_id:
            staff[municipality].add(staff_id)
    return {m: Organisation(m, tuple(sorted(units[m], key=swedish_sort_key)), frozenset(staff[m]))
            for m in sorted(units)}
