"""The store: canonical tables in one DuckDB file (default), reached through Ibis."""

from insyn.store.connection import Store, StoreBusy, open_store

__all__ = ["Store", "StoreBusy", "open_store"]
