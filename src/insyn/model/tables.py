"""The canonical tables of the import format (docs/import-format.md) and how they are stored.

A `Column` says what a file must contain; `stored` columns are what the store keeps after
pseudonymisation (the clear personal identity number is never among them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# How a column's text is read and checked (insyn.ingest.validate) and stored (insyn.store.schema).
# "codes": several codes of one list in one value, separated by ";" or "," (stored sorted, ";").
ColumnKind = Literal["text", "code", "codes", "date", "month", "int", "float", "municipality", "person_id"]


@dataclass(frozen=True)
class Column:
    name: str
    kind: ColumnKind
    required: bool = False
    codes: str | None = None  # name of the code list in codes.yaml
    label: str = ""  # Swedish name, used in error messages
    minimum: float | None = None
    maximum: float | None = None
    # Dates that may lie after the import (a planned end of a fixed-term contract, a hire who
    # starts next month); every other date in the future is an error.
    planned: bool = False


@dataclass(frozen=True)
class Table:
    name: str
    label: str
    columns: tuple[Column, ...]
    # The columns that identify a row: a re-import replaces rows with the same key.
    key: tuple[str, ...]
    # Conditional requirements: column -> (the column it depends on, the values that need it).
    conditional: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    # Extra columns the store adds (name, SQL type).
    derived: tuple[tuple[str, str], ...] = ()

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


_EVENT_WITH_OUTCOME = ("initial_assessment", "investigation_end", "police_assistance_answered")
_EVENT_WITH_INTERVENTION = ("intervention_start", "intervention_end")

EVENTS = Table(
    name="events",
    label="händelser",
    columns=(
        Column("municipality", "municipality", True, label="kommun"),
        Column("case_id", "text", True, label="ärende-id"),
        Column("person_id", "person_id", True, label="personnummer"),
        Column("event", "code", True, codes="event", label="händelse"),
        Column("date", "date", True, label="datum"),
        Column("unit", "text", label="enhet"),
        Column("caseworker_id", "text", label="handläggare"),
        Column("source", "code", codes="source", label="anmälare"),
        Column("outcome", "code", label="beslut"),
        Column("intervention", "code", codes="intervention", label="insats"),
        # The case system's decision id of an intervention: pairs its start with its end.
        Column("intervention_id", "text", label="insatsens beslutsid"),
        # The new last day of an investigation whose extension was decided (SoL 20 kap. 3 §).
        Column("extended_until", "date", label="förlängd till", planned=True),
        # The child came to Sweden unaccompanied (ensamkommande): a person attribute; one row
        # saying so marks the child in the municipality.
        Column("unaccompanied", "code", codes="yes_no", label="ensamkommande"),
        # "ja": person_id is an id the municipality made for a child without a complete number
        # (unique only within the municipality; docs/import-format.md).
        Column("temporary_number", "code", codes="yes_no", label="tillfälligt id"),
        # Who provides an intervention (utförare: a HVB, a foster-home agency): prices its care
        # days by the provider's price in care_prices (docs/costs.md).
        Column("provider", "text", label="utförare"),
        # The organisations that took part in a SIP meeting (docs/collaboration.md).
        Column("organisations", "codes", codes="organisations", label="deltagande organisationer"),
        # The law a request for police assistance is made under.
        Column("legal_basis", "code", codes="legal_basis", label="lagrum"),
    ),
    # Events are imported as whole case histories: a re-export of a case replaces it.
    key=("municipality", "case_id"),
    conditional={
        "source": ("event", ("report",)),
        "outcome": ("event", _EVENT_WITH_OUTCOME),
        "intervention": ("event", _EVENT_WITH_INTERVENTION),
        "extended_until": ("event", ("investigation_extended",)),
        "legal_basis": ("event", ("police_assistance_requested",)),
    },
    derived=(("person_key", "VARCHAR"), ("birth_year", "SMALLINT"),
             ("birth_month", "TINYINT"), ("sex", "VARCHAR"),
             # personnummer, samordningsnummer, reservnummer or tillfalligt (ingest.personnummer)
             ("id_kind", "VARCHAR")),
)

# Outcome codes depend on the event.
OUTCOME_CODES = {"initial_assessment": "initial_assessment_outcome",
                 "investigation_end": "investigation_outcome",
                 "police_assistance_answered": "police_assistance_outcome"}

STAFF = Table(
    name="staff",
    label="personal",
    columns=(
        Column("municipality", "municipality", True, label="kommun"),
        Column("staff_id", "text", True, label="personal-id"),
        Column("unit", "text", True, label="enhet"),
        Column("role", "code", True, codes="role", label="roll"),
        Column("employment", "code", True, codes="employment", label="anställningsform"),
        Column("start_date", "date", True, label="startdatum", planned=True),
        Column("end_date", "date", label="slutdatum", planned=True),
        Column("fte", "float", label="sysselsättningsgrad", minimum=0.0, maximum=1.0),
        Column("exam_year", "int", label="examensår", minimum=1940, maximum=2100),
        # The grant that pays for the employment (stimulansmedel, ESF, a named grant: as the
        # grants table names it); empty when the municipality's own budget does (docs/grants.md).
        Column("funding", "text", label="finansiering"),
        # Full-time monthly salary in kronor (HR exports carry it as månadslön): what a grant-funded
        # post costs, with the personnel cost add-on of workforce.yaml (docs/grants.md).
        Column("monthly_salary", "float", label="månadslön", minimum=0.0),
    ),
    key=("municipality", "staff_id", "start_date"),
)

COURSES = Table(
    name="courses",
    label="kurser",
    columns=(
        Column("course", "text", True, label="kurs"),
        Column("name", "text", True, label="kursnamn"),
        Column("programme", "code", True, codes="programme", label="program"),
    ),
    key=("course",),
)

TRAININGS = Table(
    name="trainings",
    label="utbildningar",
    columns=(
        Column("municipality", "municipality", True, label="kommun"),
        Column("staff_id", "text", True, label="personal-id"),
        Column("course", "text", True, label="kurs"),
        Column("completed_date", "date", True, label="slutförd"),
    ),
    key=("municipality", "staff_id", "course", "completed_date"),
)

MENTORSHIPS = Table(
    name="mentorships",
    label="mentorskap",
    columns=(
        Column("municipality", "municipality", True, label="kommun"),
        Column("mentor_id", "text", True, label="mentor"),
        Column("mentee_id", "text", True, label="adept"),
        Column("start_date", "date", True, label="startdatum"),
        Column("end_date", "date", label="slutdatum", planned=True),
        Column("hours_per_month", "float", label="timmar per månad", minimum=0.0, maximum=200.0),
    ),
    key=("municipality", "mentor_id", "mentee_id", "start_date"),
)

POPULATIONS = Table(
    name="populations",
    label="befolkning",
    columns=(
        Column("municipality", "municipality", True, label="kommun"),
        Column("year", "int", True, label="år", minimum=1900, maximum=2100),
        Column("age_from", "int", True, label="ålder från", minimum=0, maximum=150),
        Column("age_to", "int", True, label="ålder till", minimum=0, maximum=150),
        Column("population", "int", True, label="folkmängd", minimum=0),
    ),
    # A municipality's population for a year is replaced as a whole.
    key=("municipality", "year"),
)

WORKLOAD_RATINGS = Table(
    name="workload_ratings",
    label="skattad arbetsbelastning",
    columns=(
        Column("municipality", "municipality", True, label="kommun"),
        Column("staff_id", "text", True, label="personal-id"),
        Column("month", "month", True, label="månad"),
        Column("rating", "int", label="skattning", minimum=1, maximum=5),
        Column("flex_hours", "float", label="flexsaldo", minimum=-500.0, maximum=500.0),
    ),
    # A caseworker's report for a month is replaced by a newer one.
    key=("municipality", "staff_id", "month"),
)

CARE_PRICES = Table(
    name="care_prices",
    label="vårdpriser",
    columns=(
        Column("municipality", "municipality", True, label="kommun"),
        Column("intervention", "code", True, codes="intervention", label="insats"),
        # Empty: the form's price for a placement whose provider the events do not name.
        Column("provider", "text", label="utförare"),
        Column("price_per_day", "float", True, label="pris per vårddygn", minimum=0.0, maximum=1_000_000.0),
        Column("start_date", "date", True, label="giltig från", planned=True),
        Column("end_date", "date", label="giltig till", planned=True),
    ),
    # A price of a form and provider from a day is replaced by a newer list (no provider is a key too).
    key=("municipality", "intervention", "provider", "start_date"),
)

CARE_COSTS = Table(
    name="care_costs",
    label="vårdkostnader",
    columns=(
        Column("municipality", "municipality", True, label="kommun"),
        Column("person_id", "person_id", True, label="personnummer"),
        Column("case_id", "text", label="ärende-id"),
        Column("intervention", "code", True, codes="intervention", label="insats"),
        Column("provider", "text", label="utförare"),
        Column("start_date", "date", True, label="från"),
        Column("end_date", "date", True, label="till"),
        # Credit notes are negative; a sum of a year's rows is the year's cost.
        Column("amount", "float", True, label="belopp", minimum=-100_000_000.0, maximum=100_000_000.0),
        # The ledger's own id of the row (verifikation): two rows alike in all else stay two.
        Column("voucher", "text", label="verifikation"),
    ),
    # A ledger export of a period replaces the rows of that period: the same municipality,
    # first and last day.
    key=("municipality", "start_date", "end_date"),
    derived=(("person_key", "VARCHAR"), ("birth_year", "SMALLINT"),
             ("birth_month", "TINYINT"), ("sex", "VARCHAR"), ("id_kind", "VARCHAR")),
)

GRANTS = Table(
    name="grants",
    label="statsbidrag",
    columns=(
        Column("municipality", "municipality", True, label="kommun"),
        # The name employments give in their `funding` column.
        Column("grant", "text", True, label="bidrag"),
        Column("start_date", "date", True, label="från", planned=True),
        Column("end_date", "date", True, label="till", planned=True),
        Column("amount", "float", True, label="belopp", minimum=0.0, maximum=10_000_000_000.0),
        Column("purpose", "text", label="syfte"),
    ),
    # A grant's decision for a period is replaced by a newer one from the same day.
    key=("municipality", "grant", "start_date"),
)

TABLES: dict[str, Table] = {
    t.name: t for t in (EVENTS, STAFF, COURSES, TRAININGS, MENTORSHIPS, POPULATIONS, WORKLOAD_RATINGS,
                        CARE_PRICES, CARE_COSTS, GRANTS)
}
