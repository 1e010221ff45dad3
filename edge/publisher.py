"""The edge's MQTT side: drains the spool to the broker, in order, at QoS 1.

It keeps one persistent session with a last will (``status`` = offline,
retained), announces ``online`` on every connect, subscribes to its
acknowledgements from the cloud (:func:`protocols.mqtt.ack_topic`), publishes
spooled batches oldest first with up to ``max_in_flight`` awaiting their PUBACK
and up to ``max_unconfirmed`` awaiting the cloud, and deletes a batch only when
the cloud confirms it has committed it (:class:`protocols.mqtt.BatchAck`), never
on the broker's PUBACK. A new connection sends again everything not confirmed, and
so does a wait for confirmations longer than ``ack_timeout_s`` (doubling while
none comes, see :mod:`edge.confirmations`). It reconnects with backoff when the
broker goes away. Health messages are sent when connected and dropped otherwise:
they describe the present, not history.

It also subscribes (QoS 1) to this edge's command topic and hands each command's
payload to ``on_command`` (on the event loop; it must not block), and publishes the
results it is given (:meth:`publish_result`, waiting a while for a connection).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

import aiomqtt

from edge.backoff import next_backoff
from edge.confirmations import Confirmations
from edge.spool import Spool, SpooledBatch, SpoolFull
from protocols.clock import Clock, wall_clock
from protocols.commands import CommandResult, command_topic, result_topic
from protocols.commands import encode as encode_command_message
from protocols.mqtt import (
    EdgeHealth,
    EdgeStatus,
    PayloadError,
    TopicKind,
    ack_topic,
    decode_ack,
    encode,
    parse_mqtt_url,
    shorten,
    tls_context,
    topic,
)

log = logging.getLogger(__name__)


class SpoolPublisher:
    def __init__(
        self,
        mqtt_url: str,
        site: str,
        edge_id: str,
        spool: Spool,
        *,
        reconnect_max_s: float = 30.0,
        max_in_flight: int = 20,
        max_unconfirmed: int = 2000,
        ack_timeout_s: float = 30.0,
        clock: Clock = wall_clock,
        on_command: Callable[[bytes], None] | None = None,
        ca_file: Path | None = None,
    ) -> None:
        self._on_command = on_command
        self._url = parse_mqtt_url(mqtt_url)
        self._tls = tls_context(self._url, ca_file)
        self._site = site
        self._edge_id = edge_id
        self._spool = spool
        self._reconnect_max = reconnect_max_s
        self._max_in_flight = max_in_flight
        self._max_unconfirmed = max_unconfirmed
        self._ack_timeout = ack_timeout_s
        self._ack_topic = ack_topic(site, edge_id)
        self._confirmed: set[int] = set()
        """Seqs the cloud confirmed that are not yet deleted from the spool."""
        self.confirmed = 0
        """Batches confirmed by the cloud since start (a confirmation repeated counts again)."""
        self.dead_lettered = 0
        """Of ``confirmed``: batches the cloud stored as dead letters."""
        self._now = clock
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._client: aiomqtt.Client | None = None
        self.connected = asyncio.Event()
        self.subscribed = asyncio.Event()
        """Set once connected and subscribed to the acks and commands (a command sent
        before then is not delivered to this edge); cleared when the connection drops."""

    def notify(self) -> None:
        """A new batch is in the spool."""
        self._wake.set()

    def _status(self, state: str) -> bytes:
        at = self._now() if state == "online" else None
        return encode(EdgeStatus(edge_id=self._edge_id, state=state, at=at))  # type: ignore[arg-type]

    def _client_for(self) -> aiomqtt.Client:
        status_topic = topic(self._site, self._edge_id, TopicKind.STATUS)
        return aiomqtt.Client(
            self._url.host,
            self._url.port,
            username=self._url.username,
            password=self._url.password,
            identifier=f"rfidwms-edge-{self._site}-{self._edge_id}",
            clean_session=False,
            keepalive=15,
            will=aiomqtt.Will(status_topic, self._status("offline"), qos=1, retain=True),
            tls_context=self._tls,
        )

    async def run(self) -> None:
        backoff = 0.0
        status_topic = topic(self._site, self._edge_id, TopicKind.STATUS)
        while True:
            try:
                async with self._client_for() as client:
                    self._client = client
                    self.connected.set()
                    backoff = 0.0
                    log.info(
                        "edge %s: connected to MQTT %s:%d",
                        self._edge_id,
                        self._url.host,
                        self._url.port,
                    )
                    await client.subscribe(self._ack_topic, qos=1)
                    await client.publish(status_topic, self._status("online"), qos=1, retain=True)
                    if self._on_command is not None:
                        await client.subscribe(command_topic(self._site, self._edge_id), qos=1)
                    self.subscribed.set()
                    try:
                        async with asyncio.TaskGroup() as tg:
                            tg.create_task(self._drain_forever(client))
                            tg.create_task(self._receive(client))
                    except asyncio.CancelledError:
                        # A clean stop: say offline ourselves while still connected (the
                        # broker drops the last will on a clean disconnect).
                        await self._say_offline(client)
                        raise
            except* aiomqtt.MqttError as group:
                self.connected.clear()
                self.subscribed.clear()
                backoff = next_backoff(backoff, self._reconnect_max)
                log.warning(
                    "edge %s: MQTT unavailable (%s); %d batches spooled; retrying in %.1f s",
                    self._edge_id,
                    group.exceptions[0],
                    len(self._spool),
                    backoff,
                )
                await asyncio.sleep(backoff)
            finally:
                self.connected.clear()
                self.subscribed.clear()
                self._client = None

    async def _receive(self, client: aiomqtt.Client) -> None:
        """Take the cloud's confirmations and hand over its commands; raise as soon as
        the broker connection drops, even while nothing is published."""
        commands = command_topic(self._site, self._edge_id)
        async for message in client.messages:
            name = str(message.topic)
            payload = message.payload
            data = bytes(payload) if isinstance(payload, bytes | bytearray) else b""
            if name == commands and self._on_command is not None:
                self._on_command(data)
                continue
            if name != self._ack_topic:
                continue
            try:
                ack = decode_ack(data)
            except PayloadError as e:
                log.warning("edge %s: unreadable acknowledgement: %s", self._edge_id, e)
                continue
            if ack.edge_id != self._edge_id or ack.spool != self._spool.spool_id:
                log.info(
                    "edge %s: acknowledgement for edge %s spool %s is not for this spool %s",
                    self._edge_id,
                    shorten(ack.edge_id, 63),
                    ack.spool,
                    self._spool.spool_id,
                )
                continue
            if ack.dead_lettered:
                log.warning(
                    "edge %s: the cloud could not use batches %s and keeps them as dead "
                    "letters (see its dead-letter store for why)",
                    self._edge_id,
                    shorten(", ".join(map(str, ack.dead_lettered)), 200),
                )
            self._confirmed.update(ack.stored)
            self._confirmed.update(ack.dead_lettered)
            self.confirmed += len(ack.stored) + len(ack.dead_lettered)
            self.dead_lettered += len(ack.dead_lettered)
            self._wake.set()

    async def publish_result(self, result: CommandResult, wait_s: float = 30.0) -> bool:
        """Publish a command's result (QoS 1), waiting up to ``wait_s`` for a connection;
        False when it could not be sent (the cloud then shows the command unanswered)."""
        payload = encode_command_message(result)
        name = result_topic(self._site, self._edge_id)
        try:
            async with asyncio.timeout(wait_s):
                while True:
                    await self.connected.wait()
                    client = self._client
                    if client is None:
                        await asyncio.sleep(0.1)
                        continue
                    try:
                        await client.publish(name, payload, qos=1)
                        return True
                    except aiomqtt.MqttError as e:
                        log.info("edge %s: result not sent yet: %s", self._edge_id, e)
                        await asyncio.sleep(0.5)
        except TimeoutError:
            log.warning(
                "edge %s: the result of command %s was not sent: no broker for %g s",
                self._edge_id,
                result.id,
                wait_s,
            )
            return False

    async def _drain_forever(self, client: aiomqtt.Client) -> None:
        loop = asyncio.get_running_loop()
        account = Confirmations(
            most=self._max_unconfirmed,
            timeout_s=self._ack_timeout,
            timeout_max_s=max(self._ack_timeout, 600.0),
        )
        slots = asyncio.Semaphore(self._max_in_flight)
        last_sent = -1  # a new connection sends everything in the spool again

        async def publish(batch: SpooledBatch) -> None:
            try:
                await client.publish(batch.topic, batch.payload, qos=1)
            finally:
                slots.release()

        async with asyncio.TaskGroup() as tg:
            while True:
                self._wake.clear()
                confirmed, self._confirmed = self._confirmed, set()
                if confirmed:
                    account.confirmed(confirmed, loop.time())
                if account.due_in(loop.time()) == 0:
                    log.warning(
                        "edge %s: the cloud confirmed none of %d batches in %.0f s; sending "
                        "every unconfirmed batch again",
                        self._edge_id,
                        len(account),
                        account.timeout_s,
                    )
                    account.resend(loop.time())
                    last_sent = -1
                batches = []
                room = min(self._max_in_flight, account.room())
                if room:
                    batches = await self._spool.pending(room, after=last_sent)
                for batch in batches:
                    await slots.acquire()
                    account.sent(batch.seq, loop.time())
                    last_sent = batch.seq
                    tg.create_task(publish(batch))  # created in order: sent in order
                if confirmed:
                    # after the new batches went out: a delete waits for the disk, and a
                    # batch just stored should not wait for it
                    try:
                        await self._spool.confirm(sorted(confirmed))
                    except SpoolFull as e:  # the disk filled up: delete them later
                        self._confirmed |= confirmed
                        log.warning("edge %s: %s; trying again in 1 s", self._edge_id, e)
                        await asyncio.sleep(1.0)
                if batches:
                    continue
                if len(self._spool) == 0:
                    self._idle.set()  # everything spooled so far is committed by the cloud
                due = account.due_in(loop.time())
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=min(1.0, due or 1.0))
                except TimeoutError:
                    pass

    async def publish_health(self, health: EdgeHealth) -> bool:
        """Publish ``health`` (QoS 1); True once the broker took it."""
        client = self._client
        if client is None:
            return False
        try:
            await client.publish(
                topic(self._site, self._edge_id, TopicKind.HEALTH), encode(health), qos=1
            )
        except aiomqtt.MqttError as e:
            log.debug("edge %s: health not sent: %s", self._edge_id, e)
            return False
        return True

    async def _say_offline(self, client: aiomqtt.Client) -> None:
        status_topic = topic(self._site, self._edge_id, TopicKind.STATUS)
        try:
            async with asyncio.timeout(2.0):
                await client.publish(status_topic, self._status("offline"), qos=1, retain=True)
        except (aiomqtt.MqttError, TimeoutError) as e:
            log.warning("edge %s: could not announce offline: %s", self._edge_id, e)

    async def drain(self, timeout: float) -> bool:
        """Wait until the spool is empty, every batch confirmed by the cloud (True), or
        ``timeout`` passes (False)."""
        self._idle.clear()
        self.notify()
        try:
            async with asyncio.timeout(timeout):
                await self._idle.wait()
        except TimeoutError:
            return False
        return len(self._spool) == 0
