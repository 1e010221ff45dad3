"""Idempotency keys on PostgreSQL: the first answer to each (token, key), kept a while.

:func:`claim` either makes the caller the one to run the request (a new key, an
expired one, or one whose first runner died: its lock ran out), or tells it what
there is: the first request's answer, the first still running, or another request
under the same key. :func:`finish` stores the answer; :func:`release` forgets a key
whose request should run again on a retry (an answer not worth keeping: 5xx).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from psycopg import AsyncConnection
from psycopg.rows import TupleRow

from cloud.db.users import token_digest

Conn = AsyncConnection[TupleRow]


class Claim(StrEnum):
    RUN = "run"
    """Yours: run the request, then finish() or release()."""
    DONE = "done"
    """Answered before: send that answer again."""
    RUNNING = "running"
    """The first request with this key is still running."""
    MISMATCH = "mismatch"
    """The key was used for another request (method, path or body)."""


@dataclass(frozen=True, slots=True)
class Stored:
    claim: Claim
    status: int | None = None
    content_type: str | None = None
    body: bytes | None = None


async def token_id(conn: Conn, token: str) -> int | None:
    """The id of a valid (known, not revoked) token."""
    cur = await conn.execute(
        "SELECT id FROM api_tokens WHERE token_sha256 = %s AND revoked_at IS NULL",
        [token_digest(token)],
    )
    row = await cur.fetchone()
    return None if row is None else int(row[0])


async def claim(
    conn: Conn,
    *,
    token_id: int,
    key: str,
    request_sha256: bytes,
    now: datetime,
    lock: timedelta,
    ttl: timedelta,
) -> Stored:
    async with conn.transaction():
        await conn.execute(
            "DELETE FROM idempotency_keys WHERE token_id = %s AND key = %s AND expires_at <= %s",
            [token_id, key, now],
        )
        cur = await conn.execute(
            "INSERT INTO idempotency_keys (token_id, key, request_sha256, created_at,"
            " locked_until, expires_at) VALUES (%s, %s, %s, %s, %s, %s)"
            " ON CONFLICT DO NOTHING RETURNING 1",
            [token_id, key, request_sha256, now, now + lock, now + ttl],
        )
        if await cur.fetchone() is not None:
            return Stored(Claim.RUN)
        cur = await conn.execute(
            "SELECT request_sha256, status, content_type, body, locked_until"
            " FROM idempotency_keys WHERE token_id = %s AND key = %s FOR UPDATE",
            [token_id, key],
        )
        row = await cur.fetchone()
        if row is None:  # deleted meanwhile (released): the next look claims it
            return Stored(Claim.RUNNING)
        sha, status, content_type, body, locked_until = row
        if bytes(sha) != request_sha256:
            return Stored(Claim.MISMATCH)
        if status is not None:
            return Stored(Claim.DONE, int(status), content_type, bytes(body))
        if locked_until > now:
            return Stored(Claim.RUNNING)
        await conn.execute(  # the first runner died: take it over
            "UPDATE idempotency_keys SET locked_until = %s WHERE token_id = %s AND key = %s",
            [now + lock, token_id, key],
        )
        return Stored(Claim.RUN)


async def finish(
    conn: Conn, *, token_id: int, key: str, status: int, content_type: str | None, body: bytes
) -> None:
    await conn.execute(
        "UPDATE idempotency_keys SET status = %s, content_type = %s, body = %s"
        " WHERE token_id = %s AND key = %s",
        [status, content_type, body, token_id, key],
    )


async def release(conn: Conn, *, token_id: int, key: str) -> None:
    await conn.execute(
        "DELETE FROM idempotency_keys WHERE token_id = %s AND key = %s AND status IS NULL",
        [token_id, key],
    )


async def prune(conn: Conn, *, now: datetime, limit: int = 1000) -> int:
    """Forget up to ``limit`` expired keys; how many."""
    cur = await conn.execute(
        "DELETE FROM idempotency_keys WHERE ctid = ANY(ARRAY(SELECT ctid FROM idempotency_keys"
        " WHERE expires_at <= %s LIMIT %s))",
        [now, limit],
    )
    return cur.rowcount
