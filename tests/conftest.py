"""Shared fixtures: a real (in-memory DuckDB) store and a pseudonymisation key."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
# The web tests' shared fixtures (tests/webapp.py) are a plugin module: rewrite its asserts too.
pytest.register_assert_rewrite("webapp")

from insyn.store import open_store  # noqa: E402


@pytest.fixture
def key() -> bytes:
    return b"test-key-0123456789abcdef0123456"


@pytest.fixture
def store():
    s = open_store(None)
    yield s
    s.close()

