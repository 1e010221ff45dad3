"""Raw observations are kept for a while (default 24 h); events are kept for good,
except the readers' faults and antenna events (default 90 days, :class:`ReaderEventPruner`).

Where ``observations`` is a TimescaleDB hypertable, the extension's own policies do
it: a retention policy drops whole chunks older than the retention, and a
compression policy compresses chunks (segmented by EPC, newest first) once they are
older than half of it. On plain PostgreSQL the cloud runs a deletion job
(:class:`ObservationPruner`): every few minutes it deletes what is older than the
retention, in slices so no transaction grows large. Either way the time that counts
is the observation's own ``time``; the pruner measures it against the cloud's clock
(the simulated one in a scored run), TimescaleDB against the database's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from psycopg import AsyncConnection, sql
from psycopg.rows import TupleRow

from cloud.background import PeriodicJob
from cloud.db.pool import Pool

log = logging.getLogger(__name__)

DELETE_SLICE = 50_000
"""Rows one deleting transaction removes at most."""


async def is_hypertable(conn: AsyncConnection[TupleRow], table: str) -> bool:
    cur = await conn.execute(
        "SELECT to_regclass('timescaledb_information.hypertables') IS NOT NULL"
    )
    row = await cur.fetchone()
    if not row or not row[0]:
        return False
    cur = await conn.execute(
        "SELECT EXISTS (SELECT 1 FROM timescaledb_information.hypertables"
        " WHERE hypertable_schema = current_schema() AND hypertable_name = %s)",
        (table,),
    )
    row = await cur.fetchone()
    return bool(row and row[0])


async def set_timescale_policies(conn: AsyncConnection[TupleRow], retention: timedelta) -> None:
    """Retention and compression policies for ``observations`` (replacing older ones)."""
    async with conn.transaction():
        await conn.execute("SELECT remove_retention_policy('observations', if_exists => true)")
        await conn.execute(
            "SELECT add_retention_policy('observations', %s::interval)", (retention,)
        )
        await conn.execute(
            "ALTER TABLE observations SET (timescaledb.compress,"
            " timescaledb.compress_segmentby = 'epc', timescaledb.compress_orderby = 'time DESC')"
        )
        await conn.execute("SELECT remove_compression_policy('observations', if_exists => true)")
        await conn.execute(
            "SELECT add_compression_policy('observations', %s::interval)", (retention / 2,)
        )


async def _delete_before(
    conn: AsyncConnection[TupleRow], table: str, key: str, cutoff: datetime
) -> int:
    """Delete the rows of ``table`` with ``time`` before ``cutoff``, a slice (picked by
    the column ``key``) per transaction; return how many."""
    statement = sql.SQL(
        "DELETE FROM {table} WHERE {key} = ANY (ARRAY(SELECT {key} FROM {table}"
        " WHERE time < %s LIMIT %s))"
    ).format(table=sql.Identifier(table), key=sql.Identifier(key))
    total = 0
    while True:
        cur = await conn.execute(statement, (cutoff, DELETE_SLICE))
        total += cur.rowcount
        if cur.rowcount < DELETE_SLICE:
            return total


async def delete_older_than(conn: AsyncConnection[TupleRow], cutoff: datetime) -> int:
    """Delete observations with ``time`` before ``cutoff``, a slice per transaction;
    return how many."""
    return await _delete_before(conn, "observations", "ctid", cutoff)


class ObservationPruner(PeriodicJob):
    """Keeps ``observations`` to its retention; ``async with`` runs it.

    On TimescaleDB it sets the policies once and has nothing more to do; on plain
    PostgreSQL it deletes every ``every`` seconds.
    """

    def __init__(
        self,
        pool: Pool,
        retention: timedelta,
        *,
        clock: Callable[[], datetime],
        every: float = 300.0,
    ) -> None:
        self._pool = pool
        self._retention = retention
        self._clock = clock
        self.every = every
        self.deleted = 0
        self.timescale: bool | None = None

    async def prune_once(self) -> int:
        """Set the policies (TimescaleDB) or delete what is too old (plain); rows deleted."""
        async with self._pool.connection() as conn:
            if self.timescale is None:
                self.timescale = await is_hypertable(conn, "observations")
                if self.timescale:
                    await set_timescale_policies(conn, self._retention)
                    log.info(
                        "observations: TimescaleDB retention %s and compression policies set",
                        self._retention,
                    )
            if self.timescale:
                return 0
            n = await delete_older_than(conn, self._clock() - self._retention)
        if n:
            self.deleted += n
            log.info("deleted %d observations older than %s", n, self._retention)
        return n

    task_name = "observation pruner"

    async def step(self) -> bool:
        """Prune; a TimescaleDB database needs it once (its policies do the rest)."""
        await self.prune_once()
        return not self.timescale


async def delete_reader_events_before(conn: AsyncConnection[TupleRow], cutoff: datetime) -> int:
    """Delete reader events with ``time`` before ``cutoff``, a slice per transaction;
    return how many."""
    return await _delete_before(conn, "reader_events", "id", cutoff)


class ReaderEventPruner(PeriodicJob):
    """Keeps ``reader_events`` to its retention (on plain PostgreSQL and TimescaleDB
    alike: it is a plain table); ``async with`` runs it, deleting every ``every`` s."""

    task_name = "reader event pruner"

    def __init__(
        self,
        pool: Pool,
        retention: timedelta,
        *,
        clock: Callable[[], datetime],
        every: float = 3600.0,
    ) -> None:
        self._pool = pool
        self._retention = retention
        self._clock = clock
        self.every = every
        self.deleted = 0

    async def step(self) -> bool:
        async with self._pool.connection() as conn:
            n = await delete_reader_events_before(conn, self._clock() - self._retention)
        if n:
            self.deleted += n
            log.info("deleted %d reader events older than %s", n, self._retention)
        return True
