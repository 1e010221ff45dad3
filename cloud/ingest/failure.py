"""What a failed ingest transaction means for its messages. Pure.

Only the data of a message can make it a dead letter; everything else about a
failed write (the database away, read-only during a failover, a missing table or
privilege, a bug) is retried with the messages unacknowledged, because the data
is valid and will be stored once the database is fixed.
"""

from __future__ import annotations

from enum import Enum

import psycopg
import psycopg_pool


class Failure(Enum):
    DATA = "data"
    """The database refused the data (SQLSTATE class 22 data exception, 23 integrity
    violation, 0A feature not supported, e.g. TimescaleDB refusing a write into a
    compressed chunk; or psycopg refusing to send it, e.g. a NUL in a string). A
    group is split to find the message; that message alone is a dead letter."""
    TOO_BIG = "too big"
    """The statement was cancelled (SQLSTATE 57014: ``statement_timeout``): the group
    is halved before it is tried again."""
    UNAVAILABLE = "unavailable"
    """The database cannot be used at all right now (no connection, shutting down,
    read-only, too many connections): retried as it is."""
    OTHER = "other"
    """Anything else (a missing table or privilege, deadlock, lock or disk trouble, a
    bug): retried; a group that keeps failing is halved."""


_DATA_CLASSES = ("22", "23", "0A")
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
    return Failure.OTHER


def describe(e: BaseException) -> str:
    """One line naming the error: ``UndefinedTable: relation "x" does not exist``."""
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text}" if text else type(e).__name__
