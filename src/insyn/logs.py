"""Logging for the faces (standard `logging`, configured once per face).

The CLI logs to stderr at WARNING and to `<data dir>/logs/insyn.log` at INFO (`configure_cli`);
`insyn serve` logs through uvicorn's logging config plus the same file (`uvicorn_log_config`).
Every line is scrubbed of anything shaped like a personnummer, traceback included, because an
exception's message can quote a value from a file. Code logs with `logging.getLogger(__name__)`
under the `insyn` logger and never logs a personnummer or a pseudonym.
"""

from __future__ import annotations

import copy
import importlib
import logging
import sys
from pathlib import Path

from insyn.scrub import scrub

LOG_FOLDER = "logs"
LOG_FILE = "insyn.log"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_MARK = "_insyn_face"  # on the handlers configure_cli adds, so that they can be replaced
# `extra` of a record whose message the face has already shown the user (a bug's id): the file
# gets it with its traceback, the CLI's stderr does not repeat it.
TOLD_USER = {"told_user": True}


def log_file(data_dir: Path) -> Path:
    return data_dir / LOG_FOLDER / LOG_FILE


class ScrubbingFormatter(logging.Formatter):
    """A formatter whose whole output, traceback included, has personnummer removed."""

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


class _Brief(ScrubbingFormatter):
    """One line per record, no traceback: for a person at a terminal (the file has it all)."""

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text, record.stack_info
        record.exc_info = record.exc_text = record.stack_info = None
        try:
            return super().format(record)
        finally:
            record.exc_info, record.exc_text, record.stack_info = saved


class _Stderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is when a record is emitted (a test runner swaps it)."""

    def __init__(self):
        super().__init__(sys.stderr)
        self.addFilter(lambda record: not getattr(record, "told_user", False))

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


class LogFile(logging.FileHandler):
    """The data folder's log file, opened (and its folder made) at the first record only, so
    that a command that logs nothing leaves no trace."""

    def __init__(self, filename: str | Path, level: int | str = logging.INFO):
        super().__init__(filename, encoding="utf-8", delay=True)
        self.setLevel(level)

    def _open(self):
        Path(self.baseFilename).parent.mkdir(parents=True, exist_ok=True)
        return super()._open()


def configure_cli(data_dir: Path) -> None:
    """The CLI's logging: WARNING and above to stderr, INFO and above to the data folder's log
    file. Replaces what an earlier call added (one configuration per invocation)."""
    logger = logging.getLogger("insyn")
    reset_cli()
    stderr = _Stderr()
    stderr.setLevel(logging.WARNING)
    stderr.setFormatter(_Brief("%(levelname)s %(name)s: %(message)s"))
    file = LogFile(log_file(data_dir))
    file.setFormatter(ScrubbingFormatter(FORMAT))
    for handler in (stderr, file):
        setattr(handler, _MARK, True)
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def reset_cli() -> None:
    """Remove (and close) the handlers configure_cli added."""
    logger = logging.getLogger("insyn")
    for handler in [h for h in logger.handlers if getattr(h, _MARK, False)]:
        logger.removeHandler(handler)
        handler.close()


def scrubbing(base: str, **options) -> logging.Formatter:
    """A formatter of class `base` (dotted name) whose output is scrubbed: a factory for
    logging.config.dictConfig (`"()": "insyn.logs.scrubbing"`)."""
    module, _, name = base.rpartition(".")
    formatter = getattr(importlib.import_module(module), name)(**options)
    unscrubbed = formatter.format
    formatter.format = lambda record: scrub(unscrubbed(record))
    return formatter


def uvicorn_log_config(data_dir: Path, level: str = "warning") -> dict:
    """uvicorn's own logging config with every line scrubbed, the `insyn` logger beside
    uvicorn's at `level` on stderr, and the data folder's log file (INFO) for both."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    for formatter in config["formatters"].values():
        formatter["base"] = formatter.pop("()")
        formatter["()"] = "insyn.logs.scrubbing"
    config["formatters"]["file"] = {"()": "insyn.logs.scrubbing", "base": "logging.Formatter", "fmt": FORMAT}
    config["handlers"]["file"] = {"class": "insyn.logs.LogFile", "formatter": "file",
                                  "filename": str(log_file(data_dir)), "level": "INFO"}
    config["handlers"]["insyn"] = {**config["handlers"]["default"], "level": level.upper()}
    config["loggers"]["uvicorn"]["handlers"] = ["default", "file"]
    config["loggers"]["insyn"] = {"handlers": ["insyn", "file"], "level": "INFO", "propagate": False}
    return config
