"""Background tasks of the cloud process, run by ``async with``.

:class:`BackgroundTask` starts its subclass's ``_run`` as a task on entry and cancels
it (waiting for it to end) on exit. :class:`PeriodicJob` is one whose ``_run`` does a
step every ``every`` seconds: a database error is logged and the step is tried again
at the next turn; ``step`` returning False ends the job.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import TracebackType
from typing import Self

import psycopg

log = logging.getLogger(__name__)


class BackgroundTask:
    """A task that lives as long as an ``async with`` block; subclasses write ``_run``."""

    task_name = "background task"
    _task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._run(), name=self.task_name)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class PeriodicJob(BackgroundTask):
    """A step every ``every`` seconds (set by the subclass) while the block runs."""

    every = 1.0

    async def step(self) -> bool:
        """One turn; False: no more turns are needed."""
        raise NotImplementedError

    async def _run(self) -> None:
        while True:
            try:
                if not await self.step():
                    return
            except psycopg.Error as e:
                log.warning("%s failed (retrying): %s", self.task_name, " ".join(str(e).split()))
            await asyncio.sleep(self.every)
