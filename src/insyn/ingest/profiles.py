"""Column-mapping profiles: YAML that translates a case system's export into the canonical format.

A profile maps the export's headers to canonical column names and, optionally, the export's
values to canonical codes (``Förhandsbedömning`` → ``initial_assessment``) and a column the export
lacks to one value for every row (``constants: {municipality: "0884"}``). Matching of headers and
values ignores case and surrounding whitespace.

A profile catches its own mistakes when it is loaded: an unknown key (``date_fromat:``), a column
or table that does not exist, and a value map to a code that is not in the code list are errors
that name the file and what is wrong, in Swedish.

Profiles are the shipped ones (``src/insyn/ingest/profiles/*.yaml``) and an installation's own in
the data folder (``<data dir>/profiler/*.yaml``), each by its file name without ``.yaml``.
"""

from __future__ import annotations

import codecs
import datetime as dt
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from insyn.errors import InputError
from insyn.ingest.readers import ENCODINGS
from insyn.model.codes import codes
from insyn.model.tables import OUTCOME_CODES, TABLES, Column

PROFILE_FOLDER = "profiler"  # <data dir>/profiler/*.yaml: the installation's own profiles


class ProfileError(InputError):
    """A profile that cannot be found, read or used (the message names the file and why)."""


class TableMapping(BaseModel):
    model_config = ConfigDict(extra="forbid")

    columns: dict[str, str] = Field(default_factory=dict)  # export header -> canonical column
    values: dict[str, dict[str, str]] = Field(default_factory=dict)  # column -> value -> code
    # canonical column -> the value of every row of a file without that column (validated as an
    # imported value is)
    constants: dict[str, str] = Field(default_factory=dict)

    @field_validator("constants", mode="before")
    @classmethod
    def _constants_are_text(cls, constants: Any) -> Any:
        if isinstance(constants, dict):
            for column, value in constants.items():
                if not isinstance(value, str):
                    # YAML reads 0114 as the octal number 76 and 1480 as a number: only quotes keep it
                    raise ValueError(f"konstanten för '{column}' ska skrivas inom citattecken "
                                     f"({column}: \"{value}\")")
        return constants


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    date_format: str | None = None  # strptime format when the export's dates are not ISO 8601
    # The day the export was taken, for a profile made for one export (insyn import --uttagsdatum
    # gives it per import).
    extract_date: dt.date | None = None
    # The export holds ids the municipality made for children without a complete number: a
    # person id not shaped like an identity number is taken as one (docs/import-format.md).
    temporary_ids: bool = False
    # The text encoding of the export's CSV files, when it is not detected right (docs/import-format.md).
    encoding: str | None = None
    tables: dict[str, TableMapping] = Field(default_factory=dict)

    @field_validator("encoding")
    @classmethod
    def _readable_encoding(cls, encoding: str | None) -> str | None:
        if encoding is None:
            return None
        try:
            name = codecs.lookup(encoding).name
        except LookupError:
            name = ""
        if name not in ENCODINGS:
            raise ValueError(f"teckenkodningen '{encoding}' kan inte läsas (kända: {', '.join(ENCODINGS)})")
        return name

    @field_validator("tables")
    @classmethod
    def _known_tables_and_columns(cls, tables: dict[str, TableMapping]) -> dict[str, TableMapping]:
        for name, mapping in tables.items():
            if name not in TABLES:
                raise ValueError(f"okänd tabell '{name}' (kända: {', '.join(TABLES)})")
            known = {c.name for c in TABLES[name].columns}
            for header, column in mapping.columns.items():
                if column not in known:
                    raise ValueError(f"{name}: '{header}' pekar på okänd kolumn '{column}'")
        return tables

    @model_validator(mode="after")
    def _values_and_constants_fit_their_columns(self) -> Profile:
        """Value maps give codes of the column's code list; constants are for columns that exist."""
        problems = []
        for table_name, mapping in self.tables.items():
            table = TABLES[table_name]
            columns = {c.name: c for c in table.columns}
            where = f"profilen '{self.name}', tabell {table_name}"
            for column_name, value_map in mapping.values.items():
                if column_name not in columns:
                    problems.append(f"{where}: värden översätts för okänd kolumn '{column_name}' "
                                    f"(kända: {', '.join(columns)})")
                    continue
                allowed = allowed_codes(table_name, columns[column_name])
                if allowed is None:
                    continue
                for value, code in value_map.items():
                    if code.lower() not in allowed:
                        problems.append(f"{where}, kolumn {column_name}: '{value}' översätts till '{code}', "
                                        f"som inte finns i kodlistan (tillåtna: {', '.join(allowed)})")
            for column_name in mapping.constants:
                if column_name not in columns:
                    problems.append(f"{where}: konstant för okänd kolumn '{column_name}' "
                                    f"(kända: {', '.join(columns)})")
                elif columns[column_name].kind == "person_id":
                    problems.append(f"{where}: {column_name} kan inte vara en konstant")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def constants_of(self, table: str) -> dict[str, tuple[str, str]]:
        """The table's constant columns, each under a header of its own that no export has:
        header -> (canonical column, value)."""
        mapping = self.tables.get(table)
        return {f"{column} (konstant i profilen {self.name})": (column, value)
                for column, value in (mapping.constants.items() if mapping else ())}


def allowed_codes(table: str, column: Column) -> list[str] | None:
    """The codes a column takes (an event's outcome: those of every event with one), or None
    for a column without a code list."""
    if table == "events" and column.name == "outcome":
        return list(dict.fromkeys(code for name in OUTCOME_CODES.values() for code in codes(name)))
    return codes(column.codes) if column.codes else None


def shipped_profiles() -> dict[str, Path]:
    folder = resources.files("insyn.ingest").joinpath("profiles")
    return {Path(p.name).stem: Path(str(p)) for p in folder.iterdir() if p.name.endswith(".yaml")}


def available_profiles(data_dir: Path | None = None) -> dict[str, Path]:
    """The shipped profiles and the data folder's own (``<data dir>/profiler/*.yaml``), by name;
    an own profile wins over a shipped one of the same name, as the data folder's copy of any
    editable file does."""
    found = shipped_profiles()
    folder = data_dir / PROFILE_FOLDER if data_dir else None
    if folder and folder.is_dir():
        found |= {p.stem: p for p in sorted(folder.iterdir())
                  if p.suffix in (".yaml", ".yml") and p.is_file()}
    return found


def load_profile(name_or_path: str | Path, data_dir: Path | None = None) -> Profile:
    """A profile by name (a shipped one such as ``svenska``, or one in the data folder's
    ``profiler``) or a YAML file of one's own."""
    known = available_profiles(data_dir)
    path = known.get(str(name_or_path), Path(name_or_path))
    if not path.is_file():
        own = f"; egna profiler läggs i {data_dir / PROFILE_FOLDER}" if data_dir else ""
        raise ProfileError(f"Profilen '{name_or_path}' finns inte (tillgängliga: {', '.join(sorted(known))}{own})")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ProfileError(f"{path}: ogiltig profil: inte giltig YAML ({exc})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"{path}: ogiltig profil: kan inte läsas ({exc})") from None
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(_swedish(error) for error in exc.errors())
        raise ProfileError(f"{path}: ogiltig profil: {problems}") from None


_KEYS = {(): Profile.model_fields, ("tables", None): TableMapping.model_fields}


def _swedish(error: Mapping) -> str:
    """One pydantic error as a reader of the YAML file says it."""
    loc = tuple(error["loc"])
    where = f" under {'.'.join(str(p) for p in loc[:-1])}" if len(loc) > 1 else ""
    kind = error["type"]
    if kind == "extra_forbidden":
        parent = loc[:-1] if len(loc) != 3 else ("tables", None)
        known = _KEYS.get(parent)
        hint = f" (kända: {', '.join(known)})" if known else ""
        return f"okänd nyckel '{loc[-1]}'{where}{hint}"
    if kind == "missing":
        return f"nyckeln '{loc[-1]}' saknas{where}"
    if kind == "value_error":
        message = str(error["msg"]).removeprefix("Value error, ")
        return f"{'.'.join(str(p) for p in loc)}: {message}" if len(loc) > 1 else message
    if kind == "model_type" and not loc:
        return "filen ska innehålla nycklar med värden (name:, tables:, …)"
    place = ".".join(str(p) for p in loc) or "filen"
    said = {"string_type": "ska vara text", "dict_type": "ska vara nycklar med värden",
            "bool_parsing": "ska vara true eller false", "bool_type": "ska vara true eller false",
            "date_from_datetime_parsing": "ska vara ett datum ÅÅÅÅ-MM-DD",
            "date_parsing": "ska vara ett datum ÅÅÅÅ-MM-DD", "date_type": "ska vara ett datum ÅÅÅÅ-MM-DD"}
    return f"{place}: {said.get(kind, error['msg'])}"
