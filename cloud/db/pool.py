"""The cloud's PostgreSQL connection pool (psycopg 3 async)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from psycopg import AsyncConnection
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool

log = logging.getLogger(__name__)

Pool = AsyncConnectionPool[AsyncConnection[TupleRow]]


async def _configure(conn: AsyncConnection[TupleRow]) -> None:
    """No JIT compilation: the cloud's statements are short, and compiling one whose
    estimated cost passes ``jit_above_cost`` (a month of KPIs does) took longer than
    running it (45 ms of 420, bench/bench_api_scale.py)."""
    await conn.execute("SET jit = off")


@asynccontextmanager
async def open_pool(
    conninfo: str,
    *,
    max_size: int = 10,
    timeout: float = 10.0,
    wait: bool = False,
    name: str = "rfidwms-cloud",
) -> AsyncIterator[Pool]:
    """A pool of autocommit connections: every write names its transaction explicitly
    (``async with conn.transaction()``), every read is one statement.

    With ``wait=False`` the pool opens even while the database is down and keeps
    trying; callers get :class:`psycopg_pool.PoolTimeout` (an ``OperationalError``)
    after ``timeout`` seconds until it is back. ``name`` tells pools apart in logs.
    """
    pool: Pool = AsyncConnectionPool(
        conninfo,
        min_size=1,
        max_size=max_size,
        timeout=timeout,
        kwargs={"autocommit": True},
        configure=_configure,
        check=AsyncConnectionPool.check_connection,
        name=name,
        open=False,
    )
    await pool.open(wait=wait)
    try:
        yield pool
    finally:
        await pool.close()


async def try_xact_lock(conn: AsyncConnection[TupleRow], key: int) -> bool:
    """Take the advisory lock ``key`` for the rest of the transaction, if no other
    session holds it (a job that two nodes run writes from one of them at a time)."""
    cur = await conn.execute("SELECT pg_try_advisory_xact_lock(%s)", [key])
    row = await cur.fetchone()
    return bool(row and row[0])
