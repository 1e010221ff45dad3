"""The on-disk spool: batches wait here until the broker has acknowledged them.

Store-and-forward: every batch is written to SQLite (WAL, synchronous=FULL)
with the spool's id and next sequence number *before* it is published, and deleted
only after the broker's PUBACK. A broker outage or an edge restart loses
nothing; a batch published but not yet deleted when the edge died is sent
again with the same sequence number, and the cloud ingests each (edge, spool,
seq) once, so the cloud sees every batch exactly once.

Every fsync'd write would stall the event loop, so the spool does its SQLite
work on one thread of its own (a SQLite connection belongs to the thread that
made it): ``await spool.append(...)`` and friends queue the work there and
return when it is on disk. Batches are acknowledged as a slice
(``DELETE ... WHERE seq <= ?``, one fsync for many PUBACKs); :class:`AckWindow`
says how far that slice may reach when PUBACKs come back out of order.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import sqlite3
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SpooledBatch:
    seq: int
    topic: str
    payload: bytes


class AckWindow:
    """Batches sent and not yet acknowledged, oldest first: up to where may the spool delete?

    Batches are sent in sequence order and may be acknowledged in any order. The spool
    may delete up to the highest sequence number below which every batch sent has been
    acknowledged, never past a batch still in flight (it must be sent again if the
    connection drops before its PUBACK).
    """

    def __init__(self) -> None:
        self._in_flight: collections.deque[int] = collections.deque()
        self._acked: set[int] = set()

    def sent(self, seq: int) -> None:
        if self._in_flight and seq <= self._in_flight[-1]:
            raise ValueError(f"seq {seq} sent after seq {self._in_flight[-1]}: out of order")
        self._in_flight.append(seq)

    def acked(self, seq: int) -> int | None:
        """Note the PUBACK of ``seq``; the new delete-through seq, or None if it did not move."""
        if seq not in self._in_flight or seq in self._acked:
            raise ValueError(f"seq {seq} acknowledged but not in flight")
        self._acked.add(seq)
        through = None
        while self._in_flight and self._in_flight[0] in self._acked:
            through = self._in_flight.popleft()
            self._acked.discard(through)
        return through

    def __len__(self) -> int:
        """Batches sent and not yet deletable."""
        return len(self._in_flight)


class _SpoolFile:
    """The SQLite side of the spool; used only on the spool's own thread."""

    def __init__(self, path: Path, factory: type[sqlite3.Connection]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, isolation_level=None, factory=factory)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS batches ("
                " seq INTEGER PRIMARY KEY, topic TEXT NOT NULL, payload BLOB NOT NULL)"
            )
            db.execute(
                "CREATE TABLE IF NOT EXISTS counter ("
                " id INTEGER PRIMARY KEY, next_seq INTEGER NOT NULL, spool_id TEXT NOT NULL)"
            )
            columns = {row[1] for row in db.execute("PRAGMA table_info(counter)")}
            if "spool_id" not in columns:  # a spool file from before spools had ids
                db.execute("ALTER TABLE counter ADD COLUMN spool_id TEXT NOT NULL DEFAULT ''")
                db.execute("UPDATE counter SET spool_id = ? WHERE id = 1", (uuid.uuid4().hex,))
            db.execute(
                "INSERT OR IGNORE INTO counter (id, next_seq, spool_id) VALUES (1, 0, ?)",
                (uuid.uuid4().hex,),
            )
            row = db.execute("SELECT spool_id FROM counter WHERE id = 1").fetchone()
            self.spool_id = str(row[0])
            self.count = int(db.execute("SELECT count(*) FROM batches").fetchone()[0])
        except BaseException:
            db.close()
            raise
        self.db = db

    def next_seq(self) -> int:
        return int(self.db.execute("SELECT next_seq FROM counter WHERE id = 1").fetchone()[0])

    def append_all(
        self, topic_payloads: Sequence[tuple[str, Callable[[int], bytes]]]
    ) -> list[SpooledBatch]:
        db = self.db
        batches: list[SpooledBatch] = []
        db.execute("BEGIN IMMEDIATE")
        try:
            seq = self.next_seq()
            for topic, make_payload in topic_payloads:
                payload = make_payload(seq)
                db.execute(
                    "INSERT INTO batches (seq, topic, payload) VALUES (?, ?, ?)",
                    (seq, topic, payload),
                )
                batches.append(SpooledBatch(seq, topic, payload))
                seq += 1
            db.execute("UPDATE counter SET next_seq = ? WHERE id = 1", (seq,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self.count += len(batches)
        return batches

    def pending(self, after: int, limit: int) -> list[SpooledBatch]:
        rows = self.db.execute(
            "SELECT seq, topic, payload FROM batches WHERE seq > ? ORDER BY seq LIMIT ?",
            (after, limit),
        ).fetchall()
        return [SpooledBatch(int(s), str(t), bytes(p)) for s, t, p in rows]

    def acknowledge_through(self, seq: int) -> int:
        deleted = self.db.execute("DELETE FROM batches WHERE seq <= ?", (seq,)).rowcount
        self.count -= deleted
        return deleted


class Spool:
    """``async with Spool(path) as spool:``; safe to use from one event loop.

    ``connection_factory`` is handed to :func:`sqlite3.connect` (a subclass of
    :class:`sqlite3.Connection`, e.g. one that traces or slows its statements).
    """

    def __init__(
        self, path: Path, *, connection_factory: type[sqlite3.Connection] = sqlite3.Connection
    ) -> None:
        self.path = path
        self._factory = connection_factory
        self._file: _SpoolFile | None = None
        self._thread: ThreadPoolExecutor | None = None
        self.spool_id = ""
        """This spool's id (32 hex digits), made when the file is created: sequence
        numbers are unique per spool, so a spool lost with its disk is never confused
        with its successor, which counts from 0 again."""

    async def _on_thread(self, fn: Callable[..., T], *args: object) -> T:
        if self._thread is None:
            raise RuntimeError(f"spool {self.path} is not open")
        loop = asyncio.get_running_loop()
        job = loop.run_in_executor(self._thread, functools.partial(fn, *args))
        # Once queued, the work is done even if the caller is cancelled: a batch handed to
        # append() is stored, never dropped half-way.
        return await asyncio.shield(job)

    def _open_file(self) -> _SpoolFile:
        self._file = _SpoolFile(self.path, self._factory)
        return self._file

    @property
    def _spool_file(self) -> _SpoolFile:
        if self._file is None:
            raise RuntimeError(f"spool {self.path} is not open")
        return self._file

    async def open(self) -> None:
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="edge-spool")
        try:
            file = await self._on_thread(self._open_file)
        except BaseException:
            self._thread.shutdown(wait=False)
            self._thread = None
            raise
        self.spool_id = file.spool_id

    async def close(self) -> None:
        if self._thread is None:
            return
        if self._file is not None:
            await self._on_thread(self._file.db.close)
            self._file = None
        self._thread.shutdown(wait=False)  # nothing is queued any more: the thread ends
        self._thread = None

    async def __aenter__(self) -> Spool:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def next_seq(self) -> int:
        return await self._on_thread(lambda: self._spool_file.next_seq())

    async def append(self, topic: str, make_payload: Callable[[int], bytes]) -> SpooledBatch:
        """Take the next sequence number, build the payload with it, store both.

        ``make_payload`` is called with the sequence number (on the spool's thread)
        and returns bytes; if it raises, nothing is stored and no number is used.
        """
        (batch,) = await self.append_all(topic, [make_payload])
        return batch

    async def append_all(
        self, topic: str, make_payloads: Sequence[Callable[[int], bytes]]
    ) -> list[SpooledBatch]:
        """Like :meth:`append` for several batches, in one transaction: all or none.

        The work is queued before this first yields to the loop, so a caller cancelled
        while waiting still has every batch stored.
        """
        return await self.append_topics([(topic, make) for make in make_payloads])

    async def append_topics(
        self, topic_payloads: Sequence[tuple[str, Callable[[int], bytes]]]
    ) -> list[SpooledBatch]:
        """Like :meth:`append_all` for batches of several topics (observations and events of
        one flush), numbered in the given order, in one transaction: all or none, and
        queued before this first yields, so a cancelled caller loses nothing."""
        items = list(topic_payloads)
        return await self._on_thread(lambda: self._spool_file.append_all(items))

    async def pending(self, limit: int = 100, *, after: int = -1) -> list[SpooledBatch]:
        """Unacknowledged batches with a sequence number above ``after``, oldest first."""
        return await self._on_thread(lambda: self._spool_file.pending(after, limit))

    async def acknowledge_through(self, seq: int) -> int:
        """Delete every batch up to and including ``seq``; how many there were."""
        return await self._on_thread(lambda: self._spool_file.acknowledge_through(seq))

    def __len__(self) -> int:
        """Batches in the spool, as of the last operation that finished."""
        return self._file.count if self._file is not None else 0
