"""The promised dates job: the promised date of every open short order of a site
(``backordered`` / ``partially_allocated``), judged again every ``every`` real seconds
from available stock and announced inbound (:mod:`cloud.warehouse.promised_dates`, the
same promise ``GET /api/availability`` makes); a date that moved is stored on the
order with a ``promised_date_changed`` timeline entry, told to the webhooks as
``order.promised_date_changed`` (``{"promised_date", "was"}``).

A look catches whatever moved the date: a notice announced, changed or overdue, stock
received or given back, the order reserved more. It runs in one transaction under an
advisory lock, so two nodes running it never both write (nor tell twice).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from cloud.background import PeriodicJob
from cloud.db import promised_dates as db
from cloud.db.pool import Pool, try_xact_lock
from cloud.warehouse.promised_dates import order_promised_date, promised_date_change
from protocols.clock import Clock

log = logging.getLogger(__name__)

LOCK_KEY = 0x7266_6964_776D_7307
"""pg advisory lock of the promised dates job's writes ("rfidwms" + 7)."""


class PromisedDateJob(PeriodicJob):
    """Judges the short orders' promised dates every ``every`` seconds; ``async with``
    runs it."""

    task_name = "promised dates job"

    def __init__(
        self,
        pool: Pool,
        *,
        site: str,
        clock: Clock,
        short_receipt_grace: timedelta,
        every: float = 5.0,
    ) -> None:
        self._pool = pool
        self._site = site
        self._clock = clock
        self._grace = short_receipt_grace
        self.every = every
        self.changed = 0

    async def check_once(self) -> int | None:
        """One look: how many orders' dates moved (written and told); None when
        another node holds the lock."""
        async with self._pool.connection() as conn, conn.transaction():
            if not await try_xact_lock(conn, LOCK_KEY):
                return None
            now = self._clock()
            orders = await db.short_orders(conn, self._site)
            if not orders:
                return 0
            skus = sorted({line.sku for o in orders for line in o.lines})
            available = await db.available(conn, self._site, skus)
            inbound = await db.inbound(conn, self._site, skus, due_after=now - self._grace)
            changed = 0
            for o in orders:
                promised = order_promised_date(
                    o.lines, available=available, inbound=inbound, now=now
                )
                entry = promised_date_change(o.status, o.promised_date, promised, now=now)
                if entry is None:
                    continue
                await db.record_promised_date(conn, self._site, o.id, promised, entry, now)
                log.info("order %s promised for %s (was %s)", o.id, promised, o.promised_date)
                changed += 1
        self.changed += changed
        return changed

    async def step(self) -> bool:
        await self.check_once()
        return True
