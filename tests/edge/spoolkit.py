"""Test helpers for the spool: a slow disk, and a ticker that measures event-loop lag."""

from __future__ import annotations

import asyncio
import sqlite3
import time


class SlowDisk(sqlite3.Connection):
    """A disk whose every write (COMMIT, DELETE) takes ``delay_s``, as a slow fsync would;
    counts the writes and the statements of each kind."""

    delay_s = 0.1
    writes = 0
    deletes = 0

    @classmethod
    def reset(cls, delay_s: float) -> None:
        cls.delay_s, cls.writes, cls.deletes = delay_s, 0, 0

    def execute(self, sql, *args):  # type: ignore[override]
        verb = sql.split(None, 1)[0].upper()
        if verb in ("COMMIT", "DELETE"):
            SlowDisk.writes += 1
            SlowDisk.deletes += verb == "DELETE"
            time.sleep(SlowDisk.delay_s)
        return super().execute(sql, *args)


class LoopLag:
    """``async with LoopLag(tick_s) as lag:`` a task that asks to wake every ``tick_s``
    and records how late each wake-up came (``lag.worst``, ``lag.ticks``)."""

    def __init__(self, tick_s: float = 0.005) -> None:
        self.tick_s = tick_s
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self.tick_s
            await asyncio.sleep(self.tick_s)
            self.lags.append(loop.time() - due)

    @property
    def worst(self) -> float:
        return max(self.lags, default=0.0)

    @property
    def ticks(self) -> int:
        return len(self.lags)

    async def __aenter__(self) -> LoopLag:
        self._task = asyncio.create_task(self._tick())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


class FullForDeletes(sqlite3.Connection):
    """A disk filled by something else: the first ``refusals`` DELETEs fail as SQLite
    fails on a full disk (SQLITE_FULL), the later ones work (room was made)."""

    refusals = 0

    def execute(self, sql, *args):  # type: ignore[override]
        if sql.split(None, 1)[0].upper() == "DELETE" and FullForDeletes.refusals > 0:
            FullForDeletes.refusals -= 1
            e = sqlite3.OperationalError("database or disk is full")
            e.sqlite_errorcode = sqlite3.SQLITE_FULL  # type: ignore[attr-defined]
            raise e
        return super().execute(sql, *args)
