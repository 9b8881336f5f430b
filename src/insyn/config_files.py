"""Editable data files (workforce.yaml, workload.yaml, disclosure.yaml): each ships with a
default in its package, and a copy in the data folder wins, so a municipality edits its own
without touching the package. A bad file is refused with the file, the place in it and what is
wrong, in Swedish."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from insyn.errors import InputError


class ConfigError(InputError):
    """A data file that cannot be used."""


class Strict(BaseModel):
    """A file section in which an unknown field is an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


def shipped(package: str, name: str) -> Path:
    return Path(str(resources.files(package).joinpath(name)))


def resolve(data_dir: Path | None, package: str, name: str) -> Path:
    """The data folder's copy of a file when there is one, else the shipped default."""
    own = data_dir / name if data_dir else None
    return own if own and own.exists() else shipped(package, name)


def _read_yaml(path: Path):
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: inte giltig YAML ({error})") from None
    except OSError as error:
        raise ConfigError(f"{path}: kan inte läsas ({error.strerror})") from None


def load_model(path: Path, model: type[BaseModel], sections_from: Path | None = None):
    """The file as `model`; a top-level section it lacks is taken from `sections_from` (the
    shipped file), so that a data folder's copy made before a section existed still loads."""
    content = _read_yaml(path)
    if sections_from is not None and sections_from != path and isinstance(content, dict):
        shipped = _read_yaml(sections_from) or {}
        content = {**{k: v for k, v in shipped.items() if k not in content}, **content}
    try:
        return model.model_validate(content)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'filen'}: {_swedish(e)}"
                             for e in error.errors())
        raise ConfigError(f"{path}: {problems}") from None


def _swedish(error: Mapping) -> str:
    kind = error["type"]
    if kind == "missing":
        return "saknas"
    if kind == "extra_forbidden":
        return "okänt fält"
    if kind in ("float_parsing", "int_parsing", "float_type", "int_type"):
        return f"inte ett tal ({error['input']!r})"
    if kind in ("greater_than", "greater_than_equal", "less_than_equal", "less_than"):
        return f"värdet {error['input']!r} är utanför det tillåtna ({error['msg']})"
    return str(error["msg"]).removeprefix("Value error, ")


def copy_defaults(data_dir: Path, files: dict[str, str]) -> list[Path]:
    """Copy shipped files ({name: package}) into the data folder for editing; existing copies
    are kept."""
    data_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, package in files.items():
        target = data_dir / name
        if not target.exists():
            shutil.copyfile(shipped(package, name), target)
            written.append(target)
    return written
