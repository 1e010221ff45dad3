"""The MQTT ingester: one persistent session that writes edge messages to the database.

Delivery contract (see ``docs/cloud.md``):

- The session is persistent (fixed client id, ``clean_session=False``) and
  subscribes with QoS 1, so the broker keeps messages while the ingester is away.
- Messages are acknowledged (PUBACK) only after the transaction that stored them
  has committed. aiomqtt 2.5 acknowledges on receipt and has no option against
  it, so the ingester switches its paho client to manual acknowledgement; a
  message received but not committed before a crash is redelivered on reconnect.
- A redelivered batch that had committed is recognised by its (edge, seq) and
  skipped, so each batch is stored once as far as the cloud can tell.
- A message that cannot be understood goes to ``dead_letters`` with the reason
  and is acknowledged; the ingester never stops on bad input. While the
  database is unreachable, the messages in hand stay unacknowledged and the
  write is retried with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Protocol

import aiomqtt
import paho.mqtt.client as paho
import psycopg

from cloud.db.pool import Pool
from cloud.ingest.classify import Accepted, DeadLetter, classify
from cloud.ingest.store import GroupResult, merge_results, write_group
from cloud.model import LiveChange
from cloud.settings import CloudSettings
from protocols.mqtt import parse_mqtt_url, shared_subscription, subscription

log = logging.getLogger(__name__)


class ChangeSink(Protocol):
    """Receives what each committed transaction changed (the live hub)."""

    def publish(self, change: LiveChange) -> object: ...


@dataclass(slots=True)
class IngestStats:
    """Counters since the ingester started."""

    connected: bool = False
    messages: int = 0
    batches: int = 0
    observations: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    last_ingest_at: datetime | None = None
    """When the last transaction that stored observations committed."""
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class _Received:
    message: aiomqtt.Message
    item: Accepted | DeadLetter
    payload: bytes


def _now() -> datetime:
    return datetime.now(UTC)


def _payload_bytes(message: aiomqtt.Message) -> bytes:
    p = message.payload
    if isinstance(p, bytes | bytearray):
        return bytes(p)
    return b"" if p is None else str(p).encode("utf-8")


class Ingester:
    """Consume the site's edge messages and store them; ``async with`` runs it.

    ``subscribed`` is set while a session is subscribed; ``stats`` counts the work.
    """

    def __init__(self, settings: CloudSettings, pool: Pool, sink: ChangeSink | None = None) -> None:
        self._settings = settings
        self._pool = pool
        self._sink = sink
        self.client_id = settings.mqtt_client_id()
        topic_filter = subscription(settings.site)
        self.topic_filter = (
            shared_subscription(settings.ingest_group, topic_filter)
            if settings.ingest_group
            else topic_filter
        )
        self.stats = IngestStats()
        self.subscribed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Ingester:
        self._task = asyncio.create_task(self.run(), name=f"ingester {self.client_id}")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def stop(self) -> None:
        """Stop consuming; messages in hand and not committed stay unacknowledged."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run(self) -> None:
        """Consume until cancelled, reconnecting to the broker with backoff."""
        delay = 0.5
        while True:
            try:
                await self._session()
            except aiomqtt.MqttError as e:
                was_connected = self.stats.connected
                self.stats.connected = False
                self.subscribed.clear()
                self.stats.last_error = f"MQTT: {e}"
                if was_connected:
                    delay = 0.5
                log.warning(
                    "ingester %s: MQTT connection to %s failed: %s; retrying in %.1f s",
                    self.client_id,
                    self._settings.mqtt_url,
                    e,
                    delay,
                )
            except Exception as e:  # a bug must not end ingest for good
                self.stats.last_error = f"{type(e).__name__}: {e}"
                log.exception("ingester %s failed; restarting in %.1f s", self.client_id, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._settings.ingest_retry_max_s)

    async def _session(self) -> None:
        url = parse_mqtt_url(self._settings.mqtt_url)
        client = aiomqtt.Client(
            url.host,
            url.port,
            username=url.username,
            password=url.password,
            identifier=self.client_id,
            clean_session=False,
            tls_params=aiomqtt.TLSParameters() if url.tls else None,
            keepalive=30,
        )
        # aiomqtt 2.5 has no manual-ack option; its paho client does. It must be on
        # before connecting: a persistent session's queued messages follow CONNACK.
        client._client.manual_ack_set(True)
        try:
            async with client:
                await client.subscribe(self.topic_filter, qos=1)
                self.stats.connected = True
                self.subscribed.set()
                log.info(
                    "ingester %s subscribed to %s on %s",
                    self.client_id,
                    self.topic_filter,
                    self._settings.mqtt_url,
                )
                await self._consume(client)
        finally:
            self.stats.connected = False
            self.subscribed.clear()

    async def _consume(self, client: aiomqtt.Client) -> None:
        messages = client.messages
        it = aiter(messages)
        most = self._settings.ingest_max_messages
        while True:
            group = [await anext(it)]
            if self._settings.ingest_flush_interval_s > 0 and len(messages) + 1 < most:
                await asyncio.sleep(self._settings.ingest_flush_interval_s)
            while len(group) < most and len(messages) > 0:
                group.append(await anext(it))
            await self._ingest(group)
            for m in group:  # in the order received, as MQTT requires
                rc = client._client.ack(m.mid, m.qos)
                if rc != paho.MQTT_ERR_SUCCESS:
                    log.warning(
                        "ingester %s: acknowledging message %d on %s failed (%s); the broker "
                        "will redeliver it and it will be skipped as a duplicate",
                        self.client_id,
                        m.mid,
                        m.topic,
                        paho.error_string(rc),
                    )

    async def _ingest(self, messages: list[aiomqtt.Message]) -> None:
        received_at = _now()
        group: list[_Received] = []
        for m in messages:
            payload = _payload_bytes(m)
            item = classify(
                str(m.topic),
                payload,
                site=self._settings.site,
                retained=bool(m.retain),
                received_at=received_at,
            )
            if isinstance(item, DeadLetter):
                log.warning("dead letter from %s: %s", item.topic, item.reason)
            group.append(_Received(m, item, payload))
        result = await self._store(group)
        self._count(len(messages), result)
        if self._sink is not None and result.change:
            try:
                self._sink.publish(result.change)
            except Exception:
                log.exception("ingester %s: publishing a live delta failed", self.client_id)

    async def _store(self, group: list[_Received]) -> GroupResult:
        """Write the group, retrying while the database is unreachable; a group the
        database refuses is written message by message, and a message it refuses
        alone becomes a dead letter."""
        delay = 0.2
        while True:
            try:
                async with self._pool.connection() as conn:
                    result = await write_group(conn, [r.item for r in group])
                self.stats.last_error = None
                return result
            except psycopg.OperationalError as e:
                self.stats.last_error = f"database: {e}"
                log.warning(
                    "ingester %s: database unavailable (%s); %d message(s) stay "
                    "unacknowledged, retrying in %.1f s",
                    self.client_id,
                    str(e).strip(),
                    len(group),
                    delay,
                )
            except Exception as e:  # a psycopg.Error the data caused, or a bug
                if len(group) > 1:
                    log.warning(
                        "ingester %s: a group of %d messages was refused (%s); writing them "
                        "one by one",
                        self.client_id,
                        len(group),
                        e,
                    )
                    return merge_results([await self._store([r]) for r in group])
                r = group[0]
                if isinstance(r.item, Accepted):
                    log.exception(
                        "ingester %s: message on %s refused", self.client_id, r.message.topic
                    )
                    reason = f"refused by the database: {type(e).__name__}: {e}"
                    dead = DeadLetter(str(r.message.topic), r.payload, reason, r.item.received_at)
                    return await self._store([_Received(r.message, dead, r.payload)])
                self.stats.last_error = f"dead letter not stored: {e}"
                log.error(
                    "ingester %s: cannot store a dead letter from %s (%s); it stays "
                    "unacknowledged, retrying in %.1f s",
                    self.client_id,
                    r.item.topic,
                    e,
                    delay,
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._settings.ingest_retry_max_s)

    def _count(self, messages: int, result: GroupResult) -> None:
        s = self.stats
        s.messages += messages
        s.batches += result.batches
        s.observations += result.observations
        s.duplicates += len(result.duplicates)
        s.dead_letters += result.dead_letters
        if result.batches:
            s.last_ingest_at = _now()
        for edge_id, seq in result.duplicates:
            log.info("skipped duplicate batch %d of edge %s", seq, edge_id)
        if result.observations:
            log.debug(
                "stored %d batch(es), %d observation(s), %d tag move(s)",
                result.batches,
                result.observations,
                len(result.change.moves),
            )
