"""The store: canonical tables in one DuckDB file (default), reached through Ibis."""

from insyn.store.connection import Store, open_store

__all__ = ["Store", "open_store"]
