"""The reweigh job: a pallet whose weight check never came goes onto the scale again.

A pallet reaches packing for its order and waits for the packing scale's weight check;
its order is packed only when every pallet weighed right. When the scale's weight went
to another pallet (two pallets heard as loud beside the scale) or to none, the pallet
would stand in packing for good, its order stuck, and a case missing from it never
found. Every ``every`` real seconds this job lists the site's pallets awaiting their
check (:func:`cloud.db.tasks.awaiting_weight`) and makes a ``weigh`` task for each one
:func:`cloud.warehouse.packing.reweigh_due` names: a worker puts it on the scale
again, and its weight is checked as the first was. Open weigh tasks whose pallet no
longer awaits its check are cancelled. One transaction per look, under an advisory
lock so two nodes never both write.
"""

from __future__ import annotations

import logging

from cloud.background import PeriodicJob
from cloud.db import tasks as db
from cloud.db.pool import Pool, try_xact_lock
from cloud.warehouse.packing import REWEIGH_AFTER_S, reweigh_due
from protocols.clock import Clock

log = logging.getLogger(__name__)

LOCK_KEY = 0x7266_6964_776D_7308
"""pg advisory lock of the reweigh job's writes ("rfidwms" + 8)."""


class ReweighJob(PeriodicJob):
    """Makes weigh tasks every ``every`` seconds; ``async with`` runs it."""

    task_name = "reweigh"

    def __init__(
        self,
        pool: Pool,
        *,
        site: str,
        packing: str,
        clock: Clock,
        after_s: float = REWEIGH_AFTER_S,
        every: float = 5.0,
    ) -> None:
        self._pool = pool
        self._site = site
        self._packing = packing
        self._clock = clock
        self._after_s = after_s
        self.every = every
        self.made = 0
        self.cancelled = 0

    async def check_once(self) -> list[int] | None:
        """One look: the weigh tasks made; None when another node holds the lock."""
        async with self._pool.connection() as conn, conn.transaction():
            if not await try_xact_lock(conn, LOCK_KEY):
                return None
            now = self._clock()
            stale = await db.cancel_stale_weigh_tasks(conn, site=self._site)
            made = []
            for p in await db.awaiting_weight(conn, site=self._site):
                if not reweigh_due(p, now, after_s=self._after_s):
                    continue
                task = await db.create_weigh_task(
                    conn,
                    site=self._site,
                    order=p.order,
                    sscc=p.pallet,
                    location=self._packing,
                    now=now,
                )
                made.append(task)
                log.info(
                    "weigh-%d: pallet %s of order %s has waited in packing for its weight"
                    " since %s; onto the scale again (%d of at most a few)",
                    task,
                    p.pallet,
                    p.order,
                    max(t for t in (p.since, p.last_weighed, p.last_task) if t is not None),
                    p.weigh_tasks + 1,
                )
        self.made += len(made)
        self.cancelled += len(stale)
        return made

    async def step(self) -> bool:
        await self.check_once()
        return True
