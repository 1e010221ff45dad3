"""The on-disk spool: batches wait here until the broker has acknowledged them.

Store-and-forward: every batch is written to SQLite (WAL, synchronous=FULL)
with the spool's id and next sequence number *before* it is published, and deleted
only after the broker's PUBACK. A broker outage or an edge restart loses
nothing; a batch published but not yet deleted when the edge died is sent
again with the same sequence number, and the cloud ingests each (edge, spool,
seq) once, so the cloud sees every batch exactly once.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType


@dataclass(frozen=True, slots=True)
class SpooledBatch:
    seq: int
    topic: str
    payload: bytes


class Spool:
    """``with Spool(path) as spool:``; not thread-safe (use it from one thread)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self.spool_id = ""
        """This spool's id (32 hex digits), made when the file is created: sequence
        numbers are unique per spool, so a spool lost with its disk is never confused
        with its successor, which counts from 0 again."""

    def __enter__(self) -> Spool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None)
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
        self._db = db
        self.spool_id = str(db.execute("SELECT spool_id FROM counter WHERE id = 1").fetchone()[0])
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("spool is not open")
        return self._db

    def next_seq(self) -> int:
        row = self._conn.execute("SELECT next_seq FROM counter WHERE id = 1").fetchone()
        return int(row[0])

    def append(self, topic: str, make_payload: Callable[[int], bytes]) -> SpooledBatch:
        """Take the next sequence number, build the payload with it, store both.

        ``make_payload`` is called with the sequence number and returns bytes.
        """
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            seq = int(conn.execute("SELECT next_seq FROM counter WHERE id = 1").fetchone()[0])
            payload = make_payload(seq)
            conn.execute(
                "INSERT INTO batches (seq, topic, payload) VALUES (?, ?, ?)", (seq, topic, payload)
            )
            conn.execute("UPDATE counter SET next_seq = ? WHERE id = 1", (seq + 1,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return SpooledBatch(seq, topic, payload)

    def pending(self, limit: int = 100) -> list[SpooledBatch]:
        """Oldest unacknowledged batches first."""
        rows = self._conn.execute(
            "SELECT seq, topic, payload FROM batches ORDER BY seq LIMIT ?", (limit,)
        ).fetchall()
        return [SpooledBatch(int(s), str(t), bytes(p)) for s, t, p in rows]

    def acknowledge(self, seq: int) -> None:
        self._conn.execute("DELETE FROM batches WHERE seq = ?", (seq,))

    def __len__(self) -> int:
        return int(self._conn.execute("SELECT count(*) FROM batches").fetchone()[0])
