"""Transfers to the live hub: LISTEN on the transfers' channel, publish each change.

Every change of a transfer (made, a pallet left its source or came to its
destination, in transit, received, found late) is notified on
:data:`cloud.db.transfers.CHANNEL` when its transaction commits, by whichever process
wrote it (the warehouse feed of either site, an API node, the late check). Its order
at the source moving on (picking, picked, packed, loading: a timeline entry on
:data:`cloud.db.orders.CHANNEL`) changes the transfer too, so that channel is heard
on the same connection. :class:`TransferFeed` reads the transfers named as they now
stand (through the pool, several at once) and hands each to
:meth:`LiveHub.publish_transfer`, which sends it to staff only (a customer's
connection never sees a transfer).

What changed while it was not listening is caught up on reconnect from the
transfers' ``updated_at``: those changed since the newest change it had published.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

from cloud.db import orders as orders_db
from cloud.db import transfers as db
from cloud.db.pool import Pool
from cloud.live.hub import LiveHub
from cloud.live.listener import ChannelListener

log = logging.getLogger(__name__)

APPLICATION_NAME = "rfidwms-transfer-feed"


def parse_notification(payload: str) -> tuple[str, str] | None:
    """``("transfer", id)`` or ``("order", id)`` of a notification; None when it is
    neither."""
    try:
        body = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    for kind in ("transfer", "order"):
        value = body.get(kind)
        if isinstance(value, str) and value:
            return kind, value
    return None


class TransferFeed(ChannelListener):
    """Keeps the hub's transfers live for every site; ``async with`` runs it."""

    task_name = "transfer feed"
    channel = db.CHANNEL
    also_channels = (orders_db.CHANNEL,)
    application_name = APPLICATION_NAME

    def __init__(
        self,
        database_url: str,
        pool: Pool,
        hub: LiveHub,
        *,
        retry_min_s: float = 0.25,
        retry_max_s: float = 10.0,
        ping_s: float = 30.0,
    ) -> None:
        super().__init__(
            database_url, retry_min_s=retry_min_s, retry_max_s=retry_max_s, ping_s=ping_s
        )
        self._pool = pool
        self._hub = hub
        self._since: datetime | None = None
        """The newest change published (None until the first connect)."""
        self._started = False
        self.published = 0
        self.caught_up = 0
        """Of ``published``: changes found by reading the transfers after a reconnect."""

    async def catch_up(self) -> int:
        """First connect: start from the newest change (the pages read the transfers as
        they are); later ones: publish the transfers changed since the last published."""
        async with self._pool.connection() as conn:
            changed, newest = await db.changed_since(conn, self._since)
        if not self._started:
            self._started = True
            self._since = newest
            return 0
        n = await self._publish_transfers(changed)
        if n:
            log.info("transfer feed: caught up %d transfer changes", n)
        self.caught_up += n
        return n

    async def publish(self, payloads: list[str]) -> None:
        heard = [c for c in map(parse_notification, payloads) if c is not None]
        if len(heard) < len(payloads):
            log.warning("transfer feed: ignored %d notifications of neither transfers nor orders",
                        len(payloads) - len(heard))  # fmt: skip
        ids = [i for kind, i in heard if kind == "transfer"]
        orders = [i for kind, i in heard if kind == "order"]
        if orders:
            async with self._pool.connection() as conn:
                ids += await db.transfers_of_orders(conn, list(dict.fromkeys(orders)))
        await self._publish_transfers(list(dict.fromkeys(ids)))

    async def _publish_transfers(self, transfer_ids: list[str]) -> int:
        if not transfer_ids:
            return 0
        async with self._pool.connection() as conn:
            found = await db.transfers(conn, transfer_ids)
        for d in found:
            self._hub.publish_transfer(d.summary())
            at = d.transfer.updated_at
            self._since = at if self._since is None else max(self._since, at)
        self.published += len(found)
        return len(found)
