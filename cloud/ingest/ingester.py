"""The MQTT ingester: one persistent session that writes edge messages to the database.

Delivery contract (see ``docs/cloud.md``):

- The session is persistent (fixed client id, ``clean_session=False``) and
  subscribes with QoS 1, so the broker keeps messages while the ingester is away.
- Messages are acknowledged (PUBACK) only after the transaction that stored them
  has committed. aiomqtt 2.5 acknowledges on receipt and has no option against
  it, so the ingester switches its paho client to manual acknowledgement; a
  message received but not committed before a crash is redelivered on reconnect.
- A redelivered batch that had committed is recognised by its (edge, spool, seq)
  and skipped, so each batch is stored once as far as the cloud can tell.
- A message that cannot be understood (or carries a time the cloud cannot trust,
  or whose data the database refuses) goes to ``dead_letters`` with the reason and
  is acknowledged; the ingester never stops on bad input. Any other failure to
  write (database unreachable, read-only, a missing table, a statement timeout)
  keeps the messages in hand unacknowledged, and the write is retried with
  backoff, in smaller groups when the failure repeats or the statement timed out
  (:mod:`cloud.ingest.failure`).
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
from cloud.ingest.failure import Failure, describe, failure_of
from cloud.ingest.store import GroupResult, merge_results, write_group
from cloud.model import LiveChange
from cloud.settings import CloudSettings
from protocols.mqtt import ObservationBatch, parse_mqtt_url, shared_subscription, subscription

log = logging.getLogger(__name__)

_HALVE_AFTER = 3
"""Failures of one group, other than data errors and cancelled statements, before it
is halved (a group that keeps failing may be failing for its size)."""


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


def _observations(r: _Received) -> int:
    if isinstance(r.item, Accepted) and isinstance(r.item.payload, ObservationBatch):
        return len(r.item.payload.observations)
    return 0


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
            # Cancel until it ends: Python 3.11's asyncio.wait_for (aiomqtt awaits with
            # it) can swallow a cancellation that races with its result.
            while not self._task.done():
                self._task.cancel()
                await asyncio.wait({self._task}, timeout=1.0)
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
                    self._settings.mqtt_broker,
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
                    self._settings.mqtt_broker,
                )
                await self._consume(client)
        finally:
            self.stats.connected = False
            self.subscribed.clear()

    def _receive(self, message: aiomqtt.Message) -> _Received:
        payload = _payload_bytes(message)
        item = classify(
            str(message.topic),
            payload,
            site=self._settings.site,
            retained=bool(message.retain),
            received_at=_now(),
            max_clock_skew=self._settings.max_clock_skew,
        )
        if isinstance(item, DeadLetter):
            log.warning("dead letter from %s: %s", item.topic, item.reason)
        return _Received(message, item, payload)

    async def _consume(self, client: aiomqtt.Client) -> None:
        """Take groups of received messages (at most ``ingest_max_messages`` messages and
        ``ingest_max_observations`` observations), store each, then acknowledge it."""
        messages = client.messages
        it = aiter(messages)
        most = self._settings.ingest_max_messages
        most_observations = self._settings.ingest_max_observations
        carried: _Received | None = None
        while True:
            first = carried if carried is not None else self._receive(await anext(it))
            carried = None
            group = [first]
            observations = _observations(first)
            if (
                self._settings.ingest_flush_interval_s > 0
                and len(messages) + 1 < most
                and observations < most_observations
            ):
                await asyncio.sleep(self._settings.ingest_flush_interval_s)
            while len(group) < most and len(messages) > 0:
                r = self._receive(await anext(it))
                if observations + _observations(r) > most_observations:
                    carried = r  # starts the next group; acknowledged after it, in order
                    break
                group.append(r)
                observations += _observations(r)
            await self._ingest(group)
            for r in group:  # in the order received, as MQTT requires
                m = r.message
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

    async def _ingest(self, group: list[_Received]) -> None:
        result = await self._store(group)
        self._count(len(group), result)
        if self._sink is not None and result.change:
            try:
                self._sink.publish(result.change)
            except Exception:
                log.exception("ingester %s: publishing a live delta failed", self.client_id)

    async def _store(self, group: list[_Received]) -> GroupResult:
        """Write the group; return only once it is stored (see :mod:`cloud.ingest.failure`).

        A data error splits the group in halves until the message the database
        refuses is alone; that one becomes a dead letter. A cancelled statement
        (``statement_timeout``) halves the group, and so does any other failure that
        repeats ``_HALVE_AFTER`` times. Everything else is retried with backoff while
        the messages stay unacknowledged.
        """
        delay = 0.2
        failures = 0
        while True:
            try:
                async with self._pool.connection() as conn:
                    result = await write_group(conn, [r.item for r in group])
            except Exception as e:
                failure = failure_of(e)
                failures += 1
                why = describe(e)
                self.stats.last_error = f"database: {why}"
                if len(group) > 1 and (
                    failure in (Failure.DATA, Failure.TOO_BIG)
                    or (failure is Failure.OTHER and failures >= _HALVE_AFTER)
                ):
                    return await self._store_halves(group, why)
                first = group[0]
                if failure is Failure.DATA and isinstance(first.item, Accepted):
                    reason = f"refused by the database: {why}"
                    log.warning(
                        "ingester %s: message on %s refused by the database; storing it as "
                        "a dead letter: %s",
                        self.client_id,
                        first.message.topic,
                        why,
                    )
                    dead = DeadLetter(
                        str(first.message.topic), first.payload, reason, first.item.received_at
                    )
                    group = [_Received(first.message, dead, first.payload)]
                    failures = 0
                    continue
                self._log_retry(failure, e, len(group), delay)
            else:
                self.stats.last_error = None
                return result
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._settings.ingest_retry_max_s)

    async def _store_halves(self, group: list[_Received], why: str) -> GroupResult:
        half = len(group) // 2
        log.warning(
            "ingester %s: a group of %d message(s) (%d observation(s)) failed (%s); "
            "writing it as two groups of %d and %d",
            self.client_id,
            len(group),
            sum(_observations(r) for r in group),
            why,
            half,
            len(group) - half,
        )
        first = await self._store(group[:half])
        second = await self._store(group[half:])
        return merge_results([first, second])

    def _log_retry(self, failure: Failure, e: Exception, messages: int, delay: float) -> None:
        if failure is Failure.OTHER and not isinstance(e, psycopg.Error):
            log.exception(
                "ingester %s: writing %d message(s) failed unexpectedly; they stay "
                "unacknowledged, retrying in %.1f s",
                self.client_id,
                messages,
                delay,
            )
            return
        what = {
            Failure.UNAVAILABLE: "database unavailable",
            Failure.TOO_BIG: "the database cancelled the write (statement_timeout?)",
            Failure.DATA: "the database refused a dead letter",
            Failure.OTHER: "the database refused the write",
        }[failure]
        log.warning(
            "ingester %s: %s (%s); %d message(s) stay unacknowledged, retrying in %.1f s",
            self.client_id,
            what,
            describe(e),
            messages,
            delay,
        )

    def _count(self, messages: int, result: GroupResult) -> None:
        s = self.stats
        s.messages += messages
        s.batches += result.batches
        s.observations += result.observations
        s.duplicates += len(result.duplicates)
        s.dead_letters += result.dead_letters
        if result.batches:
            s.last_ingest_at = _now()
        for edge_id, spool, seq in result.duplicates:
            log.info("skipped duplicate batch %d of edge %s (spool %s)", seq, edge_id, spool)
        if result.observations:
            log.debug(
                "stored %d batch(es), %d observation(s), %d tag move(s)",
                result.batches,
                result.observations,
                len(result.change.moves),
            )
