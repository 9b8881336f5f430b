"""What each role may see and do, decided in one place on the server (docs/web.md has the table).

- administrator: every municipality as published, the import, the audit log and the users;
- regional analyst: every municipality as published (aggregates only), the import;
- municipality: its own municipality in full (no hidden cells, every unit), the others as
  published; the import of its own municipality's files; beside imported (public) Kolada
  figures, its own municipality's figures only;
- unit manager: its own units in full, including each caseworker's load; the rest as published;
- caseworker: their own caseload and bookings, nothing else.

A name from the local name list (insyn.web.names) is shown only to the person themselves and to
their own unit manager (`sees_name_of`); everyone else sees the staff id.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import pandas as pd

from insyn import errors
from insyn.web.accounts import Role, User

# Who sees what, by role: the properties of Scope below and the page registry (insyn.web.registry) both
# read these, so that the menu, the access check of a page and the checks inside it agree.
STATISTICS_ROLES = frozenset(Role) - {Role.CASEWORKER}
IMPORT_ROLES = frozenset({Role.ADMINISTRATOR, Role.ANALYST, Role.MUNICIPALITY})
AUDIT_LOG_ROLES = frozenset({Role.ADMINISTRATOR})
PUBLISHED = ("publicerat",)  # the scope key of the view as published, nobody's figures in full


class Forbidden(errors.Forbidden):
    """The user's role or scope does not cover what was asked (the message is shown, in Swedish)."""


@dataclass(frozen=True)
class Scope:
    user: User

    @property
    def role(self) -> Role:
        return self.user.role

    @property
    def sees_statistics(self) -> bool:
        return self.role in STATISTICS_ROLES

    @property
    def imports(self) -> bool:
        return self.role in IMPORT_ROLES

    @property
    def reads_audit_log(self) -> bool:
        return self.role in AUDIT_LOG_ROLES

    @property
    def plans_sessions(self) -> bool:
        """Creates training sessions and records attendance (the regional FoU unit, or an admin)."""
        return self.role in (Role.ADMINISTRATOR, Role.ANALYST)

    @property
    def key(self) -> tuple:
        """What the user's view of the statistics depends on (one cached publication per key)."""
        if self.role == Role.MUNICIPALITY:
            return ("kommun", self.user.municipality)
        if self.role == Role.UNIT_MANAGER:
            return ("enhet", self.user.municipality, self.user.units)
        return PUBLISHED

    def in_full(self, frame: pd.DataFrame) -> pd.Series:
        """Rows of results or unit load (by municipality and unit) the user sees unprotected."""
        own = frame["municipality"] == self.user.municipality
        if self.role == Role.MUNICIPALITY:
            return own
        if self.role == Role.UNIT_MANAGER:
            return own & frame["unit"].isin(self.user.units)
        return pd.Series(False, index=frame.index)

    @property
    def own_figures_beside_kolada(self) -> tuple[str, ...] | None:
        """Whose own (Insyn) figures are shown beside imported published values (Kolada's,
        which are public): a municipality's and a unit manager's own municipality only; None
        (every municipality, as published) for the region's roles."""
        if self.role in (Role.MUNICIPALITY, Role.UNIT_MANAGER):
            return (self.user.own_municipality,)
        return None

    @property
    def has_rows_in_full(self) -> bool:
        return self.role in (Role.MUNICIPALITY, Role.UNIT_MANAGER)

    def require(self, allowed: bool, what: str) -> None:
        if not allowed:
            raise Forbidden(f"Din roll ({self.user.role_label.lower()}) ger inte tillgång till {what}.")

    def caseworker_units(self, municipality: str, units: Collection[str]) -> list[str]:
        """The units whose caseworkers' own loads the user may read: a unit manager's own."""
        if self.role != Role.UNIT_MANAGER or municipality != self.user.municipality:
            return []
        return [u for u in units if u in self.user.units]

    def books_for(self, municipality: str, unit: str | None) -> bool:
        """Who may book places or a workplace session for a unit's staff."""
        if self.role == Role.ADMINISTRATOR:
            return True
        if self.role == Role.MUNICIPALITY:
            return municipality == self.user.municipality
        if self.role == Role.UNIT_MANAGER:
            return municipality == self.user.municipality and unit in self.user.units
        return False

    def sees_name_of(self, municipality: str, units: Collection[str], staff_id: str) -> bool:
        """Whether the user may see the name of the person with this staff id, whose units in the
        data are `units`: the person themselves, or a unit manager of one of those units."""
        if municipality != self.user.municipality:
            return False
        if self.role == Role.CASEWORKER:
            return staff_id == self.user.staff_id
        if self.role == Role.UNIT_MANAGER:
            return any(unit in self.user.units for unit in units)
        return False

    @property
    def imports_names(self) -> bool:
        """Imports a local name list: an administrator for any municipality's staff, a unit
        manager for their own units' staff."""
        return self.role in (Role.ADMINISTRATOR, Role.UNIT_MANAGER)

    @property
    def imports_shared_tables(self) -> bool:
        """Tables every municipality shares (the course catalogue) are for the region's roles."""
        return self.role in (Role.ADMINISTRATOR, Role.ANALYST)

    def imports_municipalities(self, municipalities: Collection[str]) -> bool:
        if self.role == Role.MUNICIPALITY:
            return set(municipalities) <= {self.user.municipality}
        return self.imports
