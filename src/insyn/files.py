"""Files written so that a crash leaves either the old file or the new one, never half of one.

A cache or state file is written to a temporary file beside it, flushed to disk and renamed over
the old one (`os.replace` is atomic on one file system). Readers of a cache treat a file they
cannot read as absent and make it again (`insyn.indicators.engine.cached_sql`,
`insyn.disclosure.suppression`), so that a file damaged some other way (a full disk, a copy
cut short) costs a recomputation, not a broken Insyn.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

OWNER_ONLY_UMASK = 0o077


def owner_only(data_dir: Path) -> None:
    """From now on this process creates files for its owner only (0600, folders 0700), whatever
    the umask it was started with — the store, the app state, uploads, caches, logs, reports —
    and the data folder itself is made owner-only. Called by every entry point (the CLI,
    insyn.web.app.create_app) before anything is written."""
    os.umask(OWNER_ONLY_UMASK)
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o700)


def write_atomically(path: Path, data: bytes | str) -> None:
    """Write `data` (text as UTF-8) to `path` all at once, readable by the owner only."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    content = data.encode("utf-8") if isinstance(data, str) else data
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
