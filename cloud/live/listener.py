"""LISTEN on PostgreSQL channels and hand what is heard to a subclass, for ever.

:class:`ChannelListener` keeps a connection of its own (``application_name`` says
whose) LISTENing on ``channel`` (and ``also_channels``): on connect it calls
:meth:`catch_up` (what changed while it was not listening), then :meth:`publish`
with the payloads of every burst of notifications (several at once when they come
together). A lost connection is opened again with backoff; a silent one is checked
every ``ping_s`` seconds, so a dead one is noticed. The alert feed, the order feed
and the transfer feed are three of them.
"""

from __future__ import annotations

import asyncio
import logging

import psycopg
from psycopg import AsyncConnection

from cloud.background import BackgroundTask

log = logging.getLogger(__name__)


class ChannelListener(BackgroundTask):
    """``async with`` runs it; subclasses write :meth:`catch_up` and :meth:`publish`."""

    channel = ""
    also_channels: tuple[str, ...] = ()
    """More channels heard on the same connection (a payload says which it is)."""
    application_name = "rfidwms-listener"

    def __init__(
        self,
        database_url: str,
        *,
        retry_min_s: float = 0.25,
        retry_max_s: float = 10.0,
        ping_s: float = 30.0,
    ) -> None:
        self._url = database_url
        self._retry_min_s = retry_min_s
        self._retry_max_s = max(retry_min_s, retry_max_s)
        self._ping_s = ping_s
        self.listening = asyncio.Event()
        """Set while LISTENing (after catching up), cleared when the connection is lost."""
        self.connects = 0

    async def catch_up(self) -> int:
        """Publish what changed while not listening (called on every connect); how many."""
        raise NotImplementedError

    async def publish(self, payloads: list[str]) -> None:
        """Handle the payloads of notifications heard together."""
        raise NotImplementedError

    async def _run(self) -> None:
        delay = self._retry_min_s
        while True:
            connects = self.connects
            try:
                await self._listen()
            except (psycopg.Error, OSError) as e:
                self.listening.clear()
                if self.connects > connects:  # it had been listening: start the backoff anew
                    delay = self._retry_min_s
                log.warning(
                    "%s: lost the database (%s); listening again in %.2f s",
                    self.task_name,
                    " ".join(str(e).split()) or type(e).__name__,
                    delay,
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._retry_max_s)

    async def _listen(self) -> None:
        async with await AsyncConnection.connect(
            self._url, autocommit=True, application_name=self.application_name
        ) as conn:
            for channel in (self.channel, *self.also_channels):
                await conn.execute(f"LISTEN {channel}")
            await self.catch_up()
            self.connects += 1
            self.listening.set()
            log.info("%s: listening on %s", self.task_name, self.channel)
            while True:
                heard = [n.payload async for n in conn.notifies(timeout=self._ping_s, stop_after=1)]
                if not heard:
                    await conn.execute("SELECT 1")  # a dead connection raises here
                    continue
                heard += [n.payload async for n in conn.notifies(timeout=0)]
                await self.publish(heard)
