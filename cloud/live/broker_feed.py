"""Every ingester's live deltas to this node's hub, through the broker.

:class:`BrokerFeed` keeps an MQTT connection of its own (clean session, an id of its
own per node) subscribed with QoS 1 to the live topics of the served sites
(:func:`protocols.mqtt.live_subscription`), where each ingester publishes what each of
its commits changed (:mod:`cloud.live.wire`). Each delta is put in order by
:class:`~cloud.live.wire.DeltaOrder`: the next one of its publisher goes to the hub
(:meth:`LiveHub.publish`), as the ingester in this process hands its own there
directly (so those, heard again from the broker, are ignored), and a repeated one is
ignored.

Nothing missed goes unnoticed. After every subscription (at start and after the broker
was lost) and whenever a publisher's numbering skips (the broker dropped a delta for
this node, a delta could not be read, an ingester lost its connection with deltas in
flight), the view the ingesters feed is read again from the database and every page
gets a fresh snapshot (:meth:`LiveHub.reseed`). The read runs beside the deltas, which
go on to the hub meanwhile and are applied again on top of what is read; while the
database cannot be read it is tried again with backoff.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from types import TracebackType

import aiomqtt
import psycopg

from cloud.background import BackgroundTask
from cloud.live.hub import IngestedView, LiveHub
from cloud.live.wire import DeltaError, DeltaOrder, Verdict, decode_delta
from protocols.mqtt import live_subscription, parse_mqtt_url, shorten, tls_context

log = logging.getLogger(__name__)

ViewReader = Callable[[], Awaitable[IngestedView]]
"""Reads the ingested part of the live view from the database."""


class BrokerFeed(BackgroundTask):
    """``async with`` runs it; see the module docstring."""

    task_name = "live broker feed"

    def __init__(
        self,
        mqtt_url: str,
        sites: Iterable[str],
        hub: LiveHub,
        read_view: ViewReader,
        *,
        own_origin: str | None = None,
        retry_max_s: float = 10.0,
        ca_file: Path | None = None,
    ) -> None:
        self._url = parse_mqtt_url(mqtt_url)
        self._tls = tls_context(self._url, ca_file)
        self.topic_filters = [live_subscription(site) for site in sites]
        self._hub = hub
        self._read_view = read_view
        self._order = DeltaOrder(own=own_origin)
        self._retry_max_s = retry_max_s
        self._reseeding: asyncio.Task[None] | None = None
        self._again = False
        self.connected = asyncio.Event()
        self.ready = asyncio.Event()
        """Set once the view was first read after subscribing: from then on the hub
        misses nothing (or reads the view again)."""
        self.applied = 0
        """Deltas of other processes' ingesters applied to the hub."""
        self.gaps = 0
        """Times a publisher's numbering skipped (each made the view be read again)."""
        self.unreadable = 0
        self.read_failures = 0
        """Times the view could not be read from the database (each tried again)."""

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await super().__aexit__(exc_type, exc, tb)
        if self._reseeding is not None:
            self._reseeding.cancel()
            await asyncio.gather(self._reseeding, return_exceptions=True)

    async def _run(self) -> None:
        delay = 0.25
        identifier = f"rfidwms-live-{secrets.token_hex(4)}"
        while True:
            try:
                async with aiomqtt.Client(
                    self._url.host,
                    self._url.port,
                    username=self._url.username,
                    password=self._url.password,
                    identifier=identifier,
                    keepalive=15,
                    tls_context=self._tls,
                ) as client:
                    self._order.restart()
                    await client.subscribe([(f, 1) for f in self.topic_filters])
                    self.connected.set()
                    delay = 0.25
                    log.info("live broker feed: subscribed to %s", ", ".join(self.topic_filters))
                    self._reseed()  # whatever was committed before the subscription
                    async for message in client.messages:
                        self._take(message)
            except aiomqtt.MqttError as e:
                log.warning("live broker feed: MQTT unavailable (%s); retrying in %.2f s", e, delay)
            finally:
                self.connected.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._retry_max_s)

    def _take(self, message: aiomqtt.Message) -> None:
        topic = message.topic.value
        payload = message.payload
        if not isinstance(payload, bytes | bytearray) or not payload:
            self._order.forget(topic)  # its ingester stopped and cleared its topic
            return
        try:
            delta = decode_delta(bytes(payload))
        except DeltaError as e:  # the next delta of its publisher shows the gap
            self.unreadable += 1
            log.warning("live broker feed: dropped a message on %s: %s", shorten(topic, 200), e)
            return
        verdict = self._order.take(topic, delta.origin, delta.seq, retained=bool(message.retain))
        if verdict is Verdict.APPLY:
            self._hub.publish(delta.change)
            self.applied += 1
        elif verdict is Verdict.GAP:
            self.gaps += 1
            log.warning(
                "live broker feed: missed deltas of %s (now at %d of run %s); reading the "
                "live view again",
                shorten(topic, 200),
                delta.seq,
                delta.origin,
            )
            self._reseed()

    def _reseed(self) -> None:
        """Read the view again, now (or once more after the read under way: what was
        missed may have been committed after it began)."""
        if self._reseeding is not None and not self._reseeding.done():
            self._again = True
            return
        self._reseeding = asyncio.create_task(self._read_again(), name="live view reseed")

    async def _read_again(self) -> None:
        delay = 0.25
        while True:
            self._again = False
            self._hub.begin_reseed()
            try:
                view = await self._read_view()
            except (psycopg.Error, OSError) as e:
                self._hub.abandon_reseed()
                self.read_failures += 1
                log.warning(
                    "live broker feed: cannot read the live view from the database (%s); "
                    "trying again in %.2f s",
                    " ".join(str(e).split()) or type(e).__name__,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._retry_max_s)
                continue
            except BaseException:
                self._hub.abandon_reseed()
                raise
            self._hub.reseed(view)
            if not self._again:
                self.ready.set()
                return
