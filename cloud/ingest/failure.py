"""What a failed ingest transaction means for its messages. Pure.

Only a message can make itself a dead letter. The database refusing its data
does so at once; a message that fails *alone*, the same way, again and again (a
poison message: it trips a trigger, a limit or a bug in our own code) does so
after bounded retries (:func:`poisoned`), so it cannot stop a site's ingest. A
failure that is about the database and never about one message (away, read-only
during a failover, a missing table or privilege, out of disk, a deadlock) is
retried with the messages unacknowledged for as long as it lasts, because the data
is valid and will be stored once the database is fixed.
"""

from __future__ import annotations

from enum import Enum

import psycopg
import psycopg_pool


class Failure(Enum):
    DATA = "data"
    """The database refused the data (SQLSTATE class 22 data exception, 23 integrity
    violation, 54 program limit exceeded, e.g. an index row too large, 0A feature not
    supported, e.g. TimescaleDB refusing a write into a compressed chunk; or psycopg
    refusing to send it, e.g. a NUL in a string). A group is split to find the
    message; that message alone is a dead letter."""
    TOO_BIG = "too big"
    """The statement was cancelled (SQLSTATE 57014: ``statement_timeout``): the group
    is halved before it is tried again."""
    UNAVAILABLE = "unavailable"
    """The database cannot be used at all right now (no connection, shutting down,
    read-only, too many connections): retried as it is."""
    ENVIRONMENT = "environment"
    """The database's trouble, whatever the message (class 42 a missing table or
    privilege, 40 a deadlock or serialization failure, 53 out of disk or memory, 55
    a lock not available, 58 an I/O error, F0 configuration, 25 a transaction
    state): retried as it is for as long as it lasts; never a dead letter."""
    OTHER = "other"
    """Anything else (a trigger raising, an internal error, a bug in the ingester):
    retried; a group that keeps failing is halved, and a message that keeps
    failing alone is a dead letter (:func:`poisoned`)."""


_DATA_CLASSES = ("22", "23", "54", "0A")
_ENVIRONMENT_CLASSES = ("42", "40", "53", "55", "58", "F0", "25")
_UNAVAILABLE_STATES = {"25006", "53300", "57P01", "57P02", "57P03", "57P04", "57P05"}


def failure_of(e: BaseException) -> Failure:
    if isinstance(e, psycopg_pool.PoolTimeout):
        return Failure.UNAVAILABLE
    if not isinstance(e, psycopg.Error):
        return Failure.OTHER
    state = e.sqlstate
    if state is None:
        if isinstance(e, psycopg.DataError | psycopg.IntegrityError | psycopg.NotSupportedError):
            return Failure.DATA  # refused by psycopg before it reached the server
        if isinstance(e, psycopg.OperationalError | psycopg.InterfaceError):
            return Failure.UNAVAILABLE  # connection lost or closed
        return Failure.OTHER
    if state.startswith(_DATA_CLASSES):
        return Failure.DATA
    if state == "57014":
        return Failure.TOO_BIG
    if state.startswith("08") or state in _UNAVAILABLE_STATES:
        return Failure.UNAVAILABLE
    if state.startswith(_ENVIRONMENT_CLASSES):
        return Failure.ENVIRONMENT
    return Failure.OTHER


def signature(e: BaseException) -> str:
    """What makes two failures "the same way": the SQLSTATE, else the exception type."""
    state = e.sqlstate if isinstance(e, psycopg.Error) else None
    return state or type(e).__qualname__


def poisoned(failure: Failure, same_failures: int, *, limit: int) -> bool:
    """Whether a message that failed alone ``same_failures`` times in a row, the same
    way, is a poison message to dead-letter: only failures that can be about a message
    count (not the database being away or broken for everyone)."""
    return failure in (Failure.OTHER, Failure.TOO_BIG) and same_failures >= limit


_MAX_DESCRIPTION = 500


def describe(e: BaseException) -> str:
    """One line naming the error: ``UndefinedTable: relation "x" does not exist``; at
    most about 500 characters, since an error can quote a megabyte of its input."""
    text = " ".join(str(e).split())
    if len(text) > _MAX_DESCRIPTION:
        text = f"{text[:_MAX_DESCRIPTION]}... ({len(text)} characters)"
    return f"{type(e).__name__}: {text}" if text else type(e).__name__
