"""Orders to the live hub: LISTEN on the orders' channel, publish each change.

Every timeline entry of an order (created, allocated, picked, packed, on hold,
cancelled, shipped, ...) is notified on :data:`cloud.db.orders.CHANNEL` when its
transaction commits, by whichever process wrote it (the warehouse feed, an API node,
a job). :class:`OrderFeed` listens on a connection of its own (``application_name``
``rfidwms-order-feed``), reads the orders named as they now stand (through the pool,
several at once when they come together) and hands each to
:meth:`LiveHub.publish_order`, which sends it to staff and to that order's customer
only.

What was written while it was not listening is caught up on reconnect from the
timeline's ids: the orders with an entry newer than the newest it had published.
"""

from __future__ import annotations

import json
import logging

from cloud.db import orders as db
from cloud.db.pool import Pool
from cloud.live.hub import LiveHub
from cloud.live.listener import ChannelListener

log = logging.getLogger(__name__)

APPLICATION_NAME = "rfidwms-order-feed"


def parse_notification(payload: str) -> str | None:
    """The order id of a notification, or None when it is not one of ours."""
    try:
        order = json.loads(payload)["order"]
    except (ValueError, TypeError, KeyError):
        return None
    return order if isinstance(order, str) and order else None


class OrderFeed(ChannelListener):
    """Keeps the hub's orders live for ``site``; ``async with`` runs it."""

    task_name = "order feed"
    channel = db.CHANNEL
    application_name = APPLICATION_NAME

    def __init__(
        self,
        database_url: str,
        pool: Pool,
        hub: LiveHub,
        *,
        site: str,
        retry_min_s: float = 0.25,
        retry_max_s: float = 10.0,
        ping_s: float = 30.0,
    ) -> None:
        super().__init__(
            database_url, retry_min_s=retry_min_s, retry_max_s=retry_max_s, ping_s=ping_s
        )
        self._pool = pool
        self._hub = hub
        self._site = site
        self._entry: int | None = None
        """The newest timeline entry published (None until the first connect)."""
        self.published = 0
        self.caught_up = 0
        """Of ``published``: changes found by reading the timeline after a reconnect."""

    async def catch_up(self) -> int:
        """First connect: start from the newest entry (the pages read the orders as they
        are); later ones: publish the orders changed since the last published entry."""
        async with self._pool.connection() as conn:
            if self._entry is None:
                self._entry = await db.last_timeline_entry(conn)
                return 0
            changed = await db.orders_changed_after(conn, self._site, self._entry)
        n = await self._publish_orders(changed)
        if n:
            log.info("order feed: caught up %d order changes", n)
        self.caught_up += n
        return n

    async def publish(self, payloads: list[str]) -> None:
        ids = [i for i in map(parse_notification, payloads) if i is not None]
        if len(ids) < len(payloads):
            log.warning("order feed: ignored %d notifications not of orders",
                        len(payloads) - len(ids))  # fmt: skip
        await self._publish_orders(list(dict.fromkeys(ids)))

    async def _publish_orders(self, order_ids: list[str]) -> int:
        if not order_ids:
            return 0
        async with self._pool.connection() as conn:
            changes = await db.order_changes(conn, self._site, order_ids)
        for change in changes:
            self._hub.publish_order(change.document())
            self._entry = max(self._entry or 0, change.entry)
        self.published += len(changes)
        return len(changes)
