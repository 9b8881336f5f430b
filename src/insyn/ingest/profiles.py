"""Column-mapping profiles: YAML that translates a case system's export into the canonical format.

A profile maps the export's headers to canonical column names and, optionally, the export's
values to canonical codes (``Förhandsbedömning`` → ``initial_assessment``). Matching of
headers and values ignores case and surrounding whitespace.
"""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator

from insyn.model.tables import TABLES


class ProfileError(ValueError):
    pass


class TableMapping(BaseModel):
    columns: dict[str, str] = Field(default_factory=dict)  # export header -> canonical column
    values: dict[str, dict[str, str]] = Field(default_factory=dict)  # column -> value -> code


class Profile(BaseModel):
    name: str
    description: str = ""
    date_format: str | None = None  # strptime format when the export's dates are not ISO 8601
    # The day the export was taken, for a profile made for one export (insyn import --uttagsdatum
    # gives it per import).
    extract_date: dt.date | None = None
    # The export holds ids the municipality made for children without a complete number: a
    # person id not shaped like an identity number is taken as one (docs/import-format.md).
    temporary_ids: bool = False
    tables: dict[str, TableMapping] = Field(default_factory=dict)

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


def shipped_profiles() -> dict[str, Path]:
    folder = resources.files("insyn.ingest").joinpath("profiles")
    return {Path(p.name).stem: Path(str(p)) for p in folder.iterdir() if p.name.endswith(".yaml")}


def load_profile(name_or_path: str | Path) -> Profile:
    """A shipped profile by name (e.g. ``svenska``) or a YAML file of one's own."""
    path = shipped_profiles().get(str(name_or_path), Path(name_or_path))
    if not path.exists():
        raise ProfileError(
            f"Profilen '{name_or_path}' finns inte (medföljande: {', '.join(shipped_profiles())})"
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Profile.model_validate(data)
    except (yaml.YAMLError, ValidationError) as exc:
        raise ProfileError(f"{path}: ogiltig profil: {exc}") from exc
