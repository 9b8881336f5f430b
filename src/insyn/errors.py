"""One error model for every face (CLI, web).

An ``InsynError`` is an expected failure: its ``str()`` is a Swedish message for the user,
``status`` the HTTP status the web answers with and ``heading`` the web page's heading. The
faces catch ``InsynError`` only; anything else is a bug, logged with its traceback under an id
the user can quote (``bug_id``, ``bug_message``).

Messages are scrubbed of anything shaped like a personnummer once, in the faces' handlers
(``user_message``), before they are shown or written to the audit log.

Subclasses keep a builtin base where callers catch it (``InputError`` is a ``ValueError``,
``NotFound`` a ``LookupError``); the faces never catch the builtin ones.
"""

from __future__ import annotations

import uuid

from insyn.scrub import scrub


class InsynError(Exception):
    """An expected failure with a Swedish message for the user."""

    status: int = 400
    heading: str = "Det gick inte"


class InputError(InsynError, ValueError):
    """Bad input: a file that cannot be read or imported, a bad option or form value."""

    status = 400
    heading = "Felaktiga uppgifter"


class NotFound(InsynError, LookupError):
    """The thing asked for does not exist (yet)."""

    status = 404
    heading = "Finns inte"


class NoData(NotFound):
    """Nothing has been imported or computed yet: "Inga uppgifter"."""

    heading = "Inga uppgifter"


class Forbidden(InsynError):
    """The user's role or scope does not cover what was asked."""

    status = 403
    heading = "Ingen åtkomst"


class Conflict(InsynError):
    """The request clashes with the current state (a store holding other data, a taken slot)."""

    status = 409
    heading = "Går inte just nu"


class Unavailable(InsynError):
    """Busy for the moment (the store is locked by an import): try again shortly."""

    status = 503
    heading = "Försök igen om en stund"


def user_message(error: str | BaseException) -> str:
    """The message (or the error's) shown to the user or written to the audit log, scrubbed of
    personnummer."""
    return scrub(str(error))


# Letters only: a run of nine or ten digits in a hex id looks like a personnummer to the scrub
# that every message goes through, which then removed the id (about one id in thirty).
_NO_DIGITS = str.maketrans("0123456789", "ghjkmnpqrs")


def bug_id() -> str:
    """A short id to quote for an unexpected error; the log has the traceback under it."""
    return uuid.uuid4().hex[:12].translate(_NO_DIGITS)


def bug_message(error_id: str) -> str:
    return f"Ett oväntat fel inträffade (fel-id {error_id}). Uppgiften har loggats."
