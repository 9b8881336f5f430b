"""Where Insyn keeps its data and how it behaves: one place, overridable by environment.

The data directory holds the DuckDB store and the installation's pseudonymisation key.
Default: ``$XDG_DATA_HOME/insyn`` (``~/.local/share/insyn``); override with the
``INSYN_DATA_DIR`` environment variable or the ``--data-dir`` option of every command.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "insyn"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INSYN_")

    data_dir: Path = Field(default_factory=default_data_dir)
    # How much memory DuckDB may use for the store (INSYN_MEMORY_LIMIT, DuckDB's syntax: "4GB",
    # "512MB"); what does not fit spills to `spill_dir` on disk instead of failing.
    memory_limit: str = "4GB"

    @property
    def database_path(self) -> Path:
        return self.data_dir / "insyn.duckdb"

    @property
    def key_path(self) -> Path:
        return self.data_dir / "pseudonymisation.key"

    @property
    def spill_dir(self) -> Path:
        """Where DuckDB writes what does not fit in `memory_limit` (emptied by DuckDB itself)."""
        return self.data_dir / "spill"

    @property
    def cache_dir(self) -> Path:
        """Compiled indicator SQL (safe to delete: it is rebuilt when needed)."""
        return self.data_dir / "cache"

    @property
    def output_dir(self) -> Path:
        return self.data_dir / "rapporter"

    def workforce_config(self):
        """workforce.yaml (reference date, training targets): the data folder's copy, else the default."""
        from insyn.model.workforce_config import WORKFORCE_FILE, load_workforce, resolve

        return load_workforce(resolve(self.data_dir, WORKFORCE_FILE))

    def workload_config(self):
        """workload.yaml (weights and norms): the data folder's copy, else the default."""
        from insyn.model.workforce_config import WORKLOAD_FILE, load_workload, resolve

        return load_workload(resolve(self.data_dir, WORKLOAD_FILE))

    def forecast_config(self):
        """forecast.yaml (horizon, intervals, recruitment lead time): the data folder's copy, else the default."""
        from insyn.forecast.config import load_forecast

        return load_forecast(self.data_dir)

    def disclosure_rules(self):
        """disclosure.yaml (what may be published): the data folder's copy, else the default."""
        from insyn.disclosure.rules import resolve_rules

        return resolve_rules(self.data_dir)
