"""The on-disk spool: batches wait here until the cloud has committed them.

Store-and-forward: every batch is written to SQLite (WAL, synchronous=FULL)
with the spool's id and next sequence number *before* it is published, and deleted
only once the cloud confirms it has committed it (:meth:`Spool.confirm`, see
:mod:`edge.confirmations`). A broker outage or crash, an ingester crash or an edge
restart loses nothing; a batch published but not yet confirmed is sent again with
the same sequence number, and the cloud ingests each (edge, spool, seq) once, so
the cloud sees every batch exactly once.

The spool is bounded: past ``max_bytes`` of payloads (or when its disk is full) it
refuses new batches with :class:`SpoolFull` and says so in :attr:`Spool.full`; it
takes them again as soon as confirmed batches have made room. "Full" for the disk means
less than :data:`DISK_RESERVE_BYTES` free: deleting confirmed batches writes to the
write-ahead log and a checkpoint may grow the file, so a spool that filled its disk to
the last byte could never delete anything again and would refuse batches for good
(seen in ``bench/bench_faults.py``'s full-disk case before the reserve).

Every fsync'd write would stall the event loop, so the spool does its SQLite
work on one thread of its own (a SQLite connection belongs to the thread that
made it): ``await spool.append(...)`` and friends queue the work there and
return when it is on disk. Confirmed batches are deleted together (one fsync for
many confirmations). The batches appended since it opened are kept in memory too (up
to :data:`RECENT_MAX_BYTES`) until confirmed, so the publisher gets a batch just
stored without waiting its turn on the spool's thread to read it back (behind the
next flush's write, say).
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

T = TypeVar("T")

WAL_CHECKPOINT_PAGES = 256
"""The write-ahead log is copied into the file (and reused) past this many pages (1 MiB
of 4 KiB pages; SQLite's default is 1,000)."""
RECENT_MAX_BYTES = 16 << 20
"""Payloads of the batches appended since the spool opened that :meth:`Spool.pending`
serves from memory (the newest, up to this many bytes; older ones are read back)."""
DISK_RESERVE_BYTES = 4 << 20
"""Free disk the spool leaves for deleting confirmed batches: the log's growth to a
checkpoint and the file's growth by one, with room to spare."""


@dataclass(frozen=True, slots=True)
class SpooledBatch:
    seq: int
    topic: str
    payload: bytes


class SpoolFull(Exception):
    """The spool refuses a batch: its size limit is reached, or its disk is full."""


class _SpoolFile:
    """The SQLite side of the spool; used only on the spool's own thread."""

    def __init__(self, path: Path, factory: type[sqlite3.Connection]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, isolation_level=None, factory=factory)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
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
            count, size = db.execute(
                "SELECT count(*), total(length(payload)) FROM batches"
            ).fetchone()
            self.count = int(count)
            self.bytes = int(size)
        except BaseException:
            db.close()
            raise
        self.db = db
        self.dir = path.parent

    def free_bytes(self) -> int:
        """Room for batches: free disk, and the pages of deleted batches in the file."""
        st = os.statvfs(self.dir)
        (pages,) = self.db.execute("PRAGMA freelist_count").fetchone()
        (page_size,) = self.db.execute("PRAGMA page_size").fetchone()
        return st.f_bavail * st.f_frsize + int(pages) * int(page_size)

    def next_seq(self) -> int:
        return int(self.db.execute("SELECT next_seq FROM counter WHERE id = 1").fetchone()[0])

    def append_all(
        self,
        topic_payloads: Sequence[tuple[str, Callable[[int], bytes]]],
        max_bytes: int | None,
        disk_reserve: int,
    ) -> list[SpooledBatch]:
        db = self.db
        batches: list[SpooledBatch] = []
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                seq = self.next_seq()
                for topic, make_payload in topic_payloads:
                    batches.append(SpooledBatch(seq, topic, make_payload(seq)))
                    seq += 1
                size = sum(len(b.payload) for b in batches)
                if max_bytes is not None and self.bytes + size > max_bytes:
                    raise SpoolFull(
                        f"spool is full: {self.count} batches of {self.bytes} bytes wait for "
                        f"the cloud, {len(batches)} more of {size} bytes would pass the limit "
                        f"of {max_bytes} bytes (RFIDWMS_SPOOL_MAX_BYTES)"
                    )
                if (free := self.free_bytes()) < disk_reserve + 2 * size:
                    raise SpoolFull(
                        f"spool's disk is full: {free} bytes free in {self.dir} (with the "
                        f"spool's free pages), "
                        f"{self.count} batches of {self.bytes} bytes wait for the cloud; "
                        f"{disk_reserve} bytes stay free for deleting them once confirmed"
                    )
                db.executemany(
                    "INSERT INTO batches (seq, topic, payload) VALUES (?, ?, ?)",
                    [(b.seq, b.topic, b.payload) for b in batches],
                )
                db.execute("UPDATE counter SET next_seq = ? WHERE id = 1", (seq,))
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as e:
            if e.sqlite_errorcode == sqlite3.SQLITE_FULL:
                raise SpoolFull(f"spool's disk is full: {e}") from e
            raise
        self.count += len(batches)
        self.bytes += size
        return batches

    def pending(self, after: int, limit: int) -> list[SpooledBatch]:
        rows = self.db.execute(
            "SELECT seq, topic, payload FROM batches WHERE seq > ? ORDER BY seq LIMIT ?",
            (after, limit),
        ).fetchall()
        return [SpooledBatch(int(s), str(t), bytes(p)) for s, t, p in rows]

    def _deleted(self, cursor: sqlite3.Cursor) -> int:
        sizes = cursor.fetchall()  # RETURNING: the statement ends when its rows are read
        self.count -= len(sizes)
        self.bytes -= sum(int(n) for (n,) in sizes)
        return len(sizes)

    def acknowledge_through(self, seq: int) -> int:
        return self._deleted(
            self.db.execute("DELETE FROM batches WHERE seq <= ? RETURNING length(payload)", (seq,))
        )

    def confirm(self, seqs: Sequence[int]) -> int:
        try:
            return self._deleted(
                self.db.execute(
                    "DELETE FROM batches WHERE seq IN (SELECT value FROM json_each(?))"
                    " RETURNING length(payload)",
                    (json.dumps(list(seqs)),),
                )
            )
        except sqlite3.OperationalError as e:
            if e.sqlite_errorcode == sqlite3.SQLITE_FULL:
                raise SpoolFull(f"spool's disk is full: confirmed batches not deleted: {e}") from e
            raise


class Spool:
    """``async with Spool(path) as spool:``; safe to use from one event loop.

    ``max_bytes`` bounds the payloads it keeps: an append past it raises
    :class:`SpoolFull`, as does one that finds the disk full. ``connection_factory`` is
    handed to :func:`sqlite3.connect` (a subclass of :class:`sqlite3.Connection`, e.g.
    one that traces or slows its statements).
    """

    def __init__(
        self,
        path: Path,
        *,
        max_bytes: int | None = None,
        disk_reserve_bytes: int = DISK_RESERVE_BYTES,
        connection_factory: type[sqlite3.Connection] = sqlite3.Connection,
    ) -> None:
        self.path = path
        self.max_bytes = max_bytes
        """The most bytes of payloads the spool keeps (None: no limit but the disk)."""
        self.disk_reserve_bytes = disk_reserve_bytes
        """Free disk below which the spool refuses batches."""
        self._factory = connection_factory
        self.full = False
        """The last batch offered was refused (:class:`SpoolFull`); False again once a
        batch is taken."""
        self._file: _SpoolFile | None = None
        self._thread: ThreadPoolExecutor | None = None
        self._recent: dict[int, SpooledBatch] = {}
        """Batches appended since the spool opened, not confirmed yet, in order."""
        self._recent_bytes = 0
        self._appending: set[asyncio.Future[Any]] = set()
        """Appends handed to the spool's thread and not done yet."""
        self._recent_from: int | None = None
        """Every batch in the spool with this sequence number or a higher one is in
        ``_recent`` (None: not open)."""
        self.spool_id = ""
        """This spool's id (32 hex digits), made when the file is created: sequence
        numbers are unique per spool, so a spool lost with its disk is never confused
        with its successor, which counts from 0 again."""

    async def _on_thread(
        self,
        fn: Callable[..., T],
        *args: object,
        done: Callable[[T], None] | None = None,
        track: set[asyncio.Future[Any]] | None = None,
    ) -> T:
        """``fn(*args)`` on the spool's thread; ``done`` gets its result on the loop as
        soon as it is there, before anyone awaiting it resumes, cancelled or not; the job
        is in ``track`` until then."""
        if self._thread is None:
            raise RuntimeError(f"spool {self.path} is not open")
        loop = asyncio.get_running_loop()
        job = loop.run_in_executor(self._thread, functools.partial(fn, *args))
        if done is not None:
            job.add_done_callback(
                lambda f: done(f.result()) if not f.cancelled() and f.exception() is None else None
            )
        if track is not None:
            track.add(job)
            job.add_done_callback(track.discard)
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
        self._recent_from = await self._on_thread(file.next_seq)

    async def close(self) -> None:
        if self._thread is None:
            return
        if self._file is not None:
            await self._on_thread(self._file.db.close)
            self._file = None
        self._thread.shutdown(wait=False)  # nothing is queued any more: the thread ends
        self._thread = None
        self._recent.clear()
        self._recent_bytes = 0
        self._recent_from = None

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
        try:
            batches = await self._on_thread(
                lambda: self._spool_file.append_all(items, self.max_bytes, self.disk_reserve_bytes),
                done=self._remember,
                track=self._appending,
            )
        except SpoolFull:
            self.full = True
            raise
        self.full = False
        return batches

    def _remember(self, batches: list[SpooledBatch]) -> None:
        """Keep the batches just stored in memory, the newest up to ``RECENT_MAX_BYTES``."""
        for b in batches:
            self._recent[b.seq] = b
            self._recent_bytes += len(b.payload)
        while self._recent_bytes > RECENT_MAX_BYTES and self._recent:
            seq = next(iter(self._recent))
            self._recent_bytes -= len(self._recent.pop(seq).payload)
            self._recent_from = seq + 1

    def _forget(self, seqs: Iterable[int]) -> None:
        for seq in seqs:
            b = self._recent.pop(seq, None)
            if b is not None:
                self._recent_bytes -= len(b.payload)

    async def pending(self, limit: int = 100, *, after: int = -1) -> list[SpooledBatch]:
        """Unacknowledged batches with a sequence number above ``after``, oldest first:
        from memory when all of those are there (those appended since the spool opened,
        :data:`RECENT_MAX_BYTES`), else read from the file."""
        if self._appending:  # what was handed to append() before is in the answer
            await asyncio.wait(list(self._appending))
        if self._recent_from is not None and after + 1 >= self._recent_from:
            found: list[SpooledBatch] = []
            for seq, b in self._recent.items():
                if seq > after:
                    found.append(b)
                    if len(found) == limit:
                        break
            return found
        return await self._on_thread(lambda: self._spool_file.pending(after, limit))

    async def confirm(self, seqs: Sequence[int]) -> int:
        """Delete the batches ``seqs`` (the cloud has committed them; seqs no longer in
        the spool are passed over); how many there were. :class:`SpoolFull` if the disk
        has no room even for that (something else filled it): nothing deleted."""
        if not seqs:
            return 0
        return await self._on_thread(
            lambda: self._spool_file.confirm(seqs), done=lambda _: self._forget(seqs)
        )

    def __len__(self) -> int:
        """Batches in the spool, as of the last operation that finished."""
        return self._file.count if self._file is not None else 0

    @property
    def bytes(self) -> int:
        """Bytes of payloads in the spool, as of the last operation that finished."""
        return self._file.bytes if self._file is not None else 0
