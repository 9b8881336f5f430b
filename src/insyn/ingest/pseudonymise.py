"""Keyed pseudonymisation: HMAC-SHA-256 with a key made once per installation.

The key file lives in the data directory (mode 0600) and never leaves it; without it the
pseudonyms cannot be linked back to a personal identity number, and a new key would
break the link between imports, so back it up with the store.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import pyarrow as pa


def load_or_create_key(path: Path) -> bytes:
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    return key


def pseudonymise(canonical_ids: pa.Array, key: bytes) -> pa.Array:
    """One pseudonym per value (null stays null); call it on distinct values."""
    return pa.array(
        [None if v is None else hmac.new(key, v.encode(), hashlib.sha256).hexdigest()
         for v in canonical_ids.to_pylist()],
        pa.string(),
    )
