"""A throwaway PostgreSQL server on loopback, from Debian's binaries, for the parity tests
(tests/test_backends.py) and the backend benchmark (bench/backends.py)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class NoPostgres(RuntimeError):
    """PostgreSQL's server binaries are not installed."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def throwaway_postgres(settings: dict[str, str] | None = None) -> Iterator[str]:
    """A fresh server in a temporary folder for the duration of the block: its URL. `settings`
    are server parameters (`shared_buffers`, …)."""
    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not binaries:
        raise NoPostgres("PostgreSQL's server binaries are missing: apt-get install postgresql (.ci/run does)")
    bin_dir = Path(binaries[-1]).parent
    # Not under pytest's folder: the postgres user may not enter root's private one.
    folder = Path(tempfile.mkdtemp(prefix="insyn-postgres-"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: the server runs as Debian's postgres user
        shutil.chown(folder, "postgres", "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    options = " ".join([f"-c listen_addresses=127.0.0.1 -p {port} -k {folder}",
                        *(f"-c {name}={value}" for name, value in (settings or {}).items())])
    try:
        subprocess.run([*as_postgres, bin_dir / "initdb", "-D", folder / "data", "-U", "postgres", "--auth=trust",
                        "-E", "UTF8", "--locale=C.UTF-8"], check=True, capture_output=True)
        subprocess.run([*as_postgres, bin_dir / "pg_ctl", "-D", folder / "data", "-l", folder / "log", "-w",
                        "-o", options, "start"], check=True, capture_output=True)
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_postgres, bin_dir / "pg_ctl", "-D", folder / "data", "-m", "fast", "stop"],
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)
