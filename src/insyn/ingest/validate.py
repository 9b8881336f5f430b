"""Validate an export against its canonical table: every bad value named by row and column.

Input is the reader's text table; output is a typed, pseudonymised table of the good rows
and the rejected rows with their reasons. Vectorised with Arrow compute; personal identity
numbers are validated and hashed once per distinct value. No message ever contains a
personal identity number: rows are named by their number, not their content.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from insyn.errors import InputError
from insyn.ingest import personnummer
from insyn.ingest.profiles import Profile
from insyn.ingest.pseudonymise import pseudonymise
from insyn.ingest.readers import ROW_NUMBER
from insyn.model.codes import codes
from insyn.model.municipalities import municipalities
from insyn.model.tables import OUTCOME_CODES, TABLES, Column, Table
from insyn.scrub import IDENTITY_SHAPE, scrub, shorten

ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"
SHOWN_HEADERS = 20  # a message about a file's headers names at most this many
# A free-text id holding an identity number, whole or within: the first one's birth-number
# date, century and last four (what personnummer.parse reads), whatever the separator.
_ID_WITHIN = rf"(?i)(?:^|\D)(?P<id>{IDENTITY_SHAPE}|\d{{9}})(?:\D|$)"
# What an id with an identity number is pseudonymised as (docs/privacy.md): apart from the
# pseudonyms of person_id, with the same key.
ID_PSEUDONYM_PREFIX = "id:"
EARLIEST_DATE = dt.date(1900, 1, 1)


class SchemaError(InputError):
    """The file as a whole does not fit any canonical table (missing or unknown columns)."""


@dataclass
class Problem:
    mask: np.ndarray  # over the file's rows
    row_numbers: np.ndarray
    column: str  # the header as the file has it
    reason: str


@dataclass
class Validated:
    file: Path
    table: Table
    rows_read: int
    clean: pa.Table
    problems: list[Problem]
    quarantine: pa.Table  # row_number, column_name, reason, record
    notices: list[str] = field(default_factory=list)

    @property
    def rows_rejected(self) -> int:
        return len(pc.unique(self.quarantine["row_number"]))

    def messages(self, limit: int | None = None) -> list[str]:
        """One line per bad value: file, row, column, reason."""
        found = sorted((int(row), i) for i, p in enumerate(self.problems) for row in p.row_numbers)
        return [f"{self.file.name}, rad {row}, kolumn '{self.problems[i].column}': "
                f"{self.problems[i].reason}" for row, i in found[:limit]]


def resolve_columns(headers: list[str], profile: Profile | None, table_name: str | None,
                    file: Path) -> tuple[Table, dict[str, str]]:
    """Which canonical table the file is, and its header -> canonical column mapping. A profile's
    constant columns of a table count as headers of the file after its own (so a column the file
    has wins); `with_constants` adds those that are mapped to the file."""
    candidates = [TABLES[table_name]] if table_name else list(TABLES.values())
    fits = []
    for table in candidates:
        aliases = {c.name.lower(): c.name for c in table.columns}
        constants = profile.constants_of(table.name) if profile else {}
        if profile and table.name in profile.tables:
            aliases |= {h.strip().lower(): c for h, c in profile.tables[table.name].columns.items()}
        aliases |= {h.lower(): c for h, (c, _) in constants.items()}
        mapping: dict[str, str] = {}
        for header in [*headers, *constants]:
            column = aliases.get(header.lower())
            if column and column not in mapping.values():
                mapping[header] = column
        missing = [c for c in table.required if c not in mapping.values()]
        fits.append((len(missing), -len(mapping), table, mapping, missing))
    _, _, table, mapping, missing = min(fits, key=lambda fit: fit[:2])
    shown = ", ".join(shorten(h) for h in headers[:SHOWN_HEADERS]) + (", …" if len(headers) > SHOWN_HEADERS else "")
    if not set(headers) & set(mapping):
        raise SchemaError(
            f"{file.name}: inga kända kolumnrubriker ({shown}). Saknar filen rubrikrad, eller "
            "behövs en mappningsprofil (--profile)?")
    if missing:
        described = ", ".join(f"{c} ({table.column(c).label})" for c in missing)
        raise SchemaError(
            f"{file.name}: kolumner saknas för tabellen {table.name}: {described}. "
            f"Filens rubriker: {shown}. Ange en mappningsprofil med --profile."
        )
    return table, mapping


def with_constants(raw: pa.Table, profile: Profile | None, table: Table, mapping: dict[str, str],
                   file: Path) -> tuple[pa.Table, list[str]]:
    """The file with the profile's constant columns it lacks (those `resolve_columns` mapped),
    and a notice for each constant the file's own column overrides."""
    notices = []
    for header, (column, value) in (profile.constants_of(table.name) if profile else {}).items():
        if header in mapping:
            raw = raw.append_column(header, pa.repeat(pa.scalar(value, pa.string()), raw.num_rows))
        else:
            notices.append(f"{file.name}: filen har en egen kolumn för {column}; profilens konstant "
                           f"'{value}' används inte")
    return raw, notices


def _codes_for(column: Column) -> list[str] | None:
    return codes(column.codes) if column.codes else None


class Checker:
    """Accumulates the rows that fail each check, as boolean masks over the file's rows."""

    def __init__(self, headers: dict[str, str], row_numbers: np.ndarray):
        self.headers = headers
        self.row_numbers = row_numbers
        self.problems: list[Problem] = []
        self.bad = np.zeros(len(row_numbers), dtype=bool)

    def fail(self, mask: pa.Array | np.ndarray, column: str, reason: str) -> None:
        mask = np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False)
                          if isinstance(mask, pa.Array | pa.ChunkedArray) else mask, dtype=bool)
        if not mask.any():
            return
        self.problems.append(Problem(mask, self.row_numbers[mask], shorten(self.headers.get(column, column)),
                                     reason))
        self.bad |= mask


def _per_distinct(values: pa.Array, function):
    """Apply `function` to each distinct value once and spread the result(s) back to the rows:
    exports repeat dates, codes and municipalities millions of times."""
    encoded = pc.dictionary_encode(values)
    results = function(encoded.dictionary)
    if isinstance(results, tuple):
        return tuple(pc.take(r, encoded.indices) for r in results)
    return pc.take(results, encoded.indices)


def _trim(values: pa.Array) -> pa.Array:
    """Whitespace around a value is not part of it, and an empty value is a missing one."""
    values = pc.utf8_trim_whitespace(values)
    return pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)


def _normalise(values: pa.Array, mapping: dict[str, str] | None) -> pa.Array:
    values = _trim(values)
    if mapping:
        lowered = pc.utf8_lower(values)
        keys = pa.array([k.strip().lower() for k in mapping])
        index = pc.index_in(lowered, value_set=keys)
        mapped = pc.take(pa.array(list(mapping.values()), pa.string()), index)
        values = pc.coalesce(mapped, values)
    return values


def _parse_dates(text: pa.Array, date_format: str | None) -> tuple[pa.Array, pa.Array]:
    """(dates, unparseable mask). Round-trips the text so 2023-02-30 is not silently 2023-03-02."""
    fmt = date_format or "%Y-%m-%d"
    stamp = pc.strptime(text, format=fmt, unit="s", error_is_null=True)
    same = pc.equal(pc.strftime(stamp, format=fmt), text)
    if date_format is None:
        same = pc.and_(same, pc.match_substring_regex(text, ISO_DATE))
    ok = pc.fill_null(same, False)
    dates = pc.if_else(ok, pc.cast(stamp, pa.date32()), pa.scalar(None, pa.date32()))
    unparseable = pc.and_(pc.is_valid(text), pc.invert(ok))
    return dates, unparseable


def _parse_months(text: pa.Array, date_format: str | None) -> tuple[pa.Array, pa.Array]:
    """(first day of the month, unparseable mask) from 2025-10, or from any date in the month."""
    month_only = pc.fill_null(pc.match_substring_regex(text, r"^\d{4}-\d{2}$"), False)
    from_month, month_bad = _parse_dates(pc.binary_join_element_wise(text, "01", "-"), None)
    from_date, date_bad = _parse_dates(text, date_format)
    dates = pc.if_else(month_only, from_month, from_date)
    unparseable = pc.if_else(month_only, month_bad, date_bad)
    first = pc.floor_temporal(pc.cast(dates, pa.timestamp("s")), unit="month")
    return pc.cast(first, pa.date32()), unparseable


# Digits grouped in threes by a space, as Swedish exports write amounts: 45 000, 1 200 000,50
# (a plain, a no-break or a narrow no-break space).
# The first group has no leading zero: 070 123 456 is a telephone number, not a number.
_GROUPED = "^-?[1-9]\\d{0,2}(?:[ \u00a0\u202f]\\d{3})+(?:,\\d+)?$"


def _parse_number(text: pa.Array, to: pa.DataType) -> tuple[pa.Array, pa.Array]:
    grouped = pc.fill_null(pc.match_substring_regex(text, _GROUPED), False)
    text_ungrouped = pc.if_else(grouped, pc.replace_substring_regex(text, "[ \u00a0\u202f]", ""), text)
    cleaned = pc.replace_substring(text_ungrouped, ",", ".")  # Swedish decimal comma
    as_float = pc.cast(pc.if_else(pc.match_substring_regex(cleaned, r"^-?\d+(\.\d+)?$"),
                                  cleaned, pa.scalar(None, pa.string())), pa.float64())
    unparseable = pc.and_(pc.is_valid(text), pc.is_null(as_float))
    if pa.types.is_integer(to):
        not_whole = pc.fill_null(pc.not_equal(pc.floor(as_float), as_float), False)
        unparseable = pc.or_(unparseable, not_whole)
        as_float = pc.if_else(not_whole, pa.scalar(None, pa.float64()), as_float)
    return pc.cast(as_float, to), unparseable


@dataclass(frozen=True)
class Rules:
    """What every value of an import is checked against: the same for each row."""

    key: bytes | None
    today: dt.date
    latest: dt.date  # nothing but planned dates after it
    too_late: str  # the reason given for a date after `latest`
    date_format: str | None
    ids_as_stored: bool = False

    @classmethod
    def of(cls, profile: Profile | None, key: bytes | None, today: dt.date | None = None,
           extract_date: dt.date | None = None, ids_as_stored: bool = False) -> Rules:
        today = today or dt.date.today()
        latest, too_late = ((extract_date, f"datum efter uttagsdatum {extract_date.isoformat()}") if extract_date
                            else (today, "datum i framtiden"))
        return cls(key, today, latest, too_late, profile.date_format if profile else None, ids_as_stored)


def validate(raw: pa.Table, file: Path, profile: Profile | None = None,
             table_name: str | None = None, key: bytes | None = None,
             today: dt.date | None = None, extract_date: dt.date | None = None,
             ids_as_stored: bool = False) -> Validated:
    """Typed, pseudonymised good rows and the rejected ones. Nothing may be dated after the
    export was taken (`extract_date`; without it, after today), except planned dates.
    `ids_as_stored`: the free-text ids are the store's own already (a row made in the app from
    an account's staff id), so they are not pseudonymised a second time."""
    rules = Rules.of(profile, key, today, extract_date, ids_as_stored)
    headers = [n for n in raw.column_names if n != ROW_NUMBER]
    table, mapping = resolve_columns(headers, profile, table_name, file)
    raw, constant_notices = with_constants(raw, profile, table, mapping, file)
    header_of = {column: header for header, column in mapping.items()}
    row_numbers = raw[ROW_NUMBER].to_numpy()
    n = raw.num_rows
    value_maps = value_maps_of(profile, table)
    notices = [f"{file.name}: kolumnen '{shorten(h)}' känns inte igen och läses inte in"
               for h in headers if h not in mapping] + constant_notices

    text = {column.name: column_text(column, raw[header_of[column.name]].combine_chunks(),
                                     value_maps.get(column.name))
            if column.name in header_of else pa.nulls(n, pa.string()) for column in table.columns}
    check = Checker(header_of, row_numbers)
    typed: dict[str, pa.Array] = {}
    for column in table.columns:
        values = check_column(column, text[column.name], check, rules)
        if values is not None:
            typed[column.name] = values
    person = person_column_of(table)
    if person:
        # Only events mark a municipality's temporary ids; other tables carry the numbers.
        temporary_number = typed.get("temporary_number", pa.nulls(n, pa.string()))
        typed.update(person_columns(text[person], typed["municipality"], temporary_number, check,
                                    person, key, bool(profile and profile.temporary_ids)))
    check_across_columns(table, typed, check)

    clean = pa.table(typed)
    good = pa.array(~check.bad)
    if check.bad.any():
        clean = clean.filter(good)
    quarantine = _quarantine_rows(raw, check, header_of)
    return Validated(file=file, table=table, rows_read=n, clean=clean, problems=check.problems,
                     quarantine=quarantine, notices=notices)


def value_maps_of(profile: Profile | None, table: Table) -> dict[str, dict[str, str]]:
    """The profile's value mappings of the table's columns (column -> their value -> code)."""
    return profile.tables[table.name].values if profile and table.name in profile.tables else {}


def person_column_of(table: Table) -> str | None:
    """The column holding personal identity numbers (events.person_id), if the table has one."""
    return next((c.name for c in table.columns if c.kind == "person_id"), None)


def column_text(column: Column, values: pa.Array, value_map: dict[str, str] | None) -> pa.Array:
    """A column's values trimmed (empty is missing) and mapped through the profile's values."""
    if column.kind in ("text", "person_id") and not value_map:
        return _trim(values)  # mostly distinct values
    if column.kind == "codes":
        return _per_distinct(values, lambda v: _normalise_each(v, value_map))
    return _per_distinct(values, lambda v: _normalise(v, value_map))


def _normalise_each(values: pa.Array, mapping: dict[str, str] | None) -> pa.Array:
    """A value of several codes ("Skola; BUP") as its codes, each trimmed and mapped through the
    profile's values, lower-cased, without repeats, sorted and joined by ";" ("bup;skola")."""
    lowered = {k.strip().lower(): v for k, v in (mapping or {}).items()}
    out = []
    for value in values.to_pylist():
        parts = [p.strip().lower() for p in re.split("[;,]", value or "") if p.strip()]
        out.append(";".join(sorted({lowered.get(p, p).lower() for p in parts})) or None)
    return pa.array(out, pa.string())


def check_column(column: Column, values: pa.Array, check: Checker, rules: Rules) -> pa.Array | None:
    """The column's typed values, every bad one told to `check`. Each value is judged on its own
    (the person id, judged with its municipality by `person_columns`, gives None)."""
    if column.required:
        check.fail(pc.is_null(values), column.name, "värde saknas")
    if column.kind == "text" and rules.ids_as_stored:
        return values
    if column.kind == "text":
        return _per_distinct(values, lambda v: _without_identity_numbers(v, rules.key, rules.today))
    if column.kind == "code":
        values = pc.utf8_lower(values)
        allowed = _codes_for(column)
        if allowed:
            unknown = pc.and_(pc.is_valid(values), pc.invert(pc.is_in(values, pa.array(allowed))))
            _fail_unknown(check, values, unknown, column.name, allowed)
        return values
    if column.kind == "codes":
        allowed = _codes_for(column) or []
        first_unknown = _per_distinct(values, lambda v: pa.array(
            [None if value is None else next((c for c in value.split(";") if c not in allowed), None)
             for value in v.to_pylist()], pa.string()))
        _fail_unknown(check, first_unknown, pc.is_valid(first_unknown), column.name, allowed)
        return values
    if column.kind == "municipality":
        typed = _per_distinct(values, _municipality_codes)
        unknown = pc.and_(pc.is_valid(values), pc.is_null(typed))
        _fail_unknown(check, values, unknown, column.name, None, what="okänd kommun")
        return typed
    if column.kind in ("date", "month"):
        parse = _parse_months if column.kind == "month" else _parse_dates
        dates, unparseable = _per_distinct(values, lambda v: parse(v, rules.date_format))
        check.fail(unparseable, column.name, "ogiltig månad (ÅÅÅÅ-MM väntas)" if column.kind == "month"
                   else "ogiltigt datum (ÅÅÅÅ-MM-DD väntas)")
        if not column.planned:
            check.fail(pc.greater(dates, pa.scalar(rules.latest, pa.date32())), column.name, rules.too_late)
        check.fail(pc.less(dates, pa.scalar(EARLIEST_DATE, pa.date32())), column.name,
                   "omöjligt datum (före 1900)")
        return dates
    if column.kind in ("int", "float"):
        number, unparseable = _parse_number(values, pa.int64() if column.kind == "int" else pa.float64())
        check.fail(unparseable, column.name, "inte ett tal" if column.kind == "float" else "inte ett heltal")
        if column.minimum is not None:
            check.fail(pc.less(number, column.minimum), column.name,
                       f"får inte vara mindre än {column.minimum:g}")
        if column.maximum is not None:
            check.fail(pc.greater(number, column.maximum), column.name,
                       f"får inte vara större än {column.maximum:g}")
        return number
    return None


def _fail_unknown(check: Checker, values: pa.Array, unknown: pa.Array, column: str,
                  allowed: list[str] | None, what: str = "okänd kod") -> None:
    """One problem per distinct unknown value, so the message can say which value."""
    unknown_np = np.asarray(pc.fill_null(unknown, False).to_numpy(zero_copy_only=False), dtype=bool)
    if not unknown_np.any():
        return
    bad_values = pc.filter(values, pa.array(unknown_np))
    for value in pc.unique(bad_values).to_pylist()[:20]:
        mask = unknown_np & np.asarray(pc.fill_null(pc.equal(values, value), False).to_numpy(zero_copy_only=False))
        hint = f" (tillåtna: {', '.join(allowed)})" if allowed else ""
        check.fail(mask, column, f"{what} '{shorten(value)}'{hint}")
    rest = unknown_np & ~check.bad
    check.fail(rest, column, what)


def _municipality_codes(values: pa.Array) -> pa.Array:
    """SCB codes, accepting a lost leading zero (884 → 0884) and municipality names."""
    table = municipalities()
    values = pc.replace_substring_regex(values, r"^(\d+)\.0+$", r"\1")  # 884.0 from a float column
    padded = pc.if_else(pc.match_substring_regex(values, r"^\d{3}$"),
                        pc.binary_join_element_wise("0", values, ""), values)
    known = pa.array(table["municipality_code"].tolist())
    by_name = pc.take(known, pc.index_in(pc.utf8_lower(values),
                                         value_set=pa.array(table["municipality"].str.lower().tolist())))
    by_code = pc.if_else(pc.is_in(padded, known), padded, pa.scalar(None, pa.string()))
    return pc.coalesce(by_code, by_name)


def person_columns(values: pa.Array, municipality: pa.Array, temporary_number: pa.Array, check: Checker,
                   column: str, key: bytes | None, temporary_ids: bool) -> dict[str, pa.Array]:
    """Validate and pseudonymise once per distinct number; derive birth year, month, sex and the
    kind of id. A municipality's temporary id (marked by the row's `temporary_number`, or any value
    not shaped like a number when the profile says `temporary_ids`) is pseudonymised with the
    municipality in the key: such ids are unique only within their municipality."""
    if key is None:
        raise ValueError("a pseudonymisation key is needed to import personal identity numbers")
    encoded = pc.dictionary_encode(values)
    parsed = personnummer.parse(encoded.dictionary)
    indices = encoded.indices
    reason = pc.take(parsed.reason, indices)
    temporary = pc.fill_null(pc.equal(temporary_number, "ja"), False)
    if temporary_ids:
        temporary = pc.or_(temporary, pc.fill_null(pc.equal(reason, "format"), False))
    temporary = pc.and_(temporary, pc.is_valid(values))
    for code, text in personnummer.REASONS.items():
        check.fail(pc.and_(pc.and_(pc.is_valid(values), pc.equal(reason, code)), pc.invert(temporary)),
                   column, f"ogiltigt personnummer: {text}")
    local = pc.binary_join_element_wise(pa.scalar(personnummer.TEMPORARY), pc.fill_null(municipality, ""),
                                        values, ":")
    local = pc.if_else(temporary, local, pa.scalar(None, pa.string()))
    local_keys = _per_distinct(local, lambda distinct: pseudonymise(distinct, key))
    person_key = pc.coalesce(local_keys, pc.take(pseudonymise(parsed.canonical, key), indices))
    nothing = pa.scalar(None)
    return {
        "person_key": person_key,
        "birth_year": pc.if_else(temporary, nothing.cast(pa.int16()),
                                 pc.take(pa.array(parsed.birth_year, pa.int16()), indices)),
        "birth_month": pc.if_else(temporary, nothing.cast(pa.int8()), pc.take(parsed.birth_month, indices)),
        "sex": pc.if_else(temporary, nothing.cast(pa.string()), pc.take(parsed.sex, indices)),
        "id_kind": pc.if_else(temporary, pa.scalar(personnummer.TEMPORARY), pc.take(parsed.kind, indices)),
    }


def _without_identity_numbers(values: pa.Array, key: bytes | None, today: dt.date) -> pa.Array:
    """A free-text id (case_id, unit, staff_id, ...) that holds an identity number is replaced by
    its pseudonym: an HR export with the personnummer as staff id, say. Whole numbers are keyed
    in their canonical form, so ÅÅÅÅMMDD-NNNN in one file and ÅÅMMDDNNNN in another stay one
    employee; a number within other text keys the value as written. Only a number whose date
    exists counts: a ten-digit case number whose first six digits are no date is left as it is. Call it on
    distinct values."""
    found = pc.struct_field(pc.extract_regex(values, _ID_WITHIN), "id")
    if not pc.any(pc.is_valid(found)).as_py():
        return values
    parsed = personnummer.parse(pc.replace_substring(found, " ", "-"), today)
    identity = pa.array(parsed.date_exists)  # a typo of a real number is kept out as carefully
    if not parsed.date_exists.any():
        return values
    if key is None:
        raise ValueError("a pseudonymisation key is needed to import identity numbers in id columns")
    whole = pc.and_(pc.equal(pc.utf8_length(found), pc.utf8_length(values)), pc.is_valid(parsed.canonical))
    keyed = pc.binary_join_element_wise(ID_PSEUDONYM_PREFIX, pc.if_else(whole, parsed.canonical, values), "")
    return pc.if_else(identity, pseudonymise(pc.if_else(identity, keyed, pa.scalar(None, pa.string())), key),
                      values)


def check_across_columns(table: Table, typed: dict[str, pa.Array], check: Checker) -> None:
    """The rules that read several columns of a row (`across_columns` names them)."""
    _check_conditional(table, typed, check)
    _check_table_rules(typed, check)


def across_columns(table: Table) -> list[str]:
    """The columns `check_across_columns` reads, in the table's order."""
    read = {name for column, (on, _) in table.conditional.items() for name in (column, on)}
    if table.name == "events":
        read |= {"event", "outcome"}
    names = {c.name for c in table.columns}
    for pair in (("start_date", "end_date"), ("age_from", "age_to")):
        if set(pair) <= names:
            read |= set(pair)
    return [c.name for c in table.columns if c.name in read]


def _check_conditional(table: Table, typed: dict[str, pa.Array], check: Checker) -> None:
    for column, (on, values) in table.conditional.items():
        applies = pc.is_in(typed[on], pa.array(values))
        check.fail(pc.and_(applies, pc.is_null(typed[column])), column,
                   f"värde saknas (krävs för {', '.join(values)})")
    if table.name == "events":
        for event, code_list in OUTCOME_CODES.items():
            allowed = codes(code_list)
            applies = pc.equal(typed["event"], event)
            unknown = pc.and_(pc.and_(applies, pc.is_valid(typed["outcome"])),
                              pc.invert(pc.is_in(typed["outcome"], pa.array(allowed))))
            _fail_unknown(check, typed["outcome"], unknown, "outcome", allowed,
                          what=f"okänt beslut för {event}")


def _check_table_rules(typed: dict[str, pa.Array], check: Checker) -> None:
    if "end_date" in typed and "start_date" in typed:
        check.fail(pc.less(typed["end_date"], typed["start_date"]), "end_date",
                   "slutdatum före startdatum")
    if "age_from" in typed:
        check.fail(pc.greater(typed["age_from"], typed["age_to"]), "age_to",
                   "ålder till är lägre än ålder från")


def _quarantine_rows(raw: pa.Table, check: Checker, header_of: dict[str, str]) -> pa.Table:
    """Rejected rows with their reasons. A record keeps only the columns that are imported,
    by their headers, without the personal identity number or anything shaped like one."""
    schema = pa.schema([("row_number", pa.int64()), ("column_name", pa.string()),
                        ("reason", pa.string()), ("record", pa.string())])
    if not check.bad.any():
        return schema.empty_table()
    kept = [h for column, h in header_of.items() if column != "person_id"]
    bad_rows = raw.filter(pa.array(check.bad)).select([*kept, ROW_NUMBER])
    records = {}
    for row in bad_rows.to_pylist():
        number = row.pop(ROW_NUMBER)
        records[number] = scrub(json.dumps(row, ensure_ascii=False, default=str))
    out: dict[str, list] = {"row_number": [], "column_name": [], "reason": [], "record": []}
    for problem in check.problems:
        for number in problem.row_numbers:
            out["row_number"].append(int(number))
            out["column_name"].append(problem.column)
            out["reason"].append(problem.reason)
            out["record"].append(records[int(number)])
    return pa.table(out, schema=schema)
