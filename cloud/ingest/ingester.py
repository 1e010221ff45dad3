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
- After each commit, every spooled batch of the group (stored now, stored before,
  or stored as a dead letter) is confirmed to its edge (:mod:`cloud.ingest.acks`,
  QoS 1): only then does the edge drop it from its spool, so a broker that loses
  messages it had acknowledged (a crash before it saved them) loses nothing.
- A message that cannot be understood (or is too large, or speaks for a device
  the layout does not give its edge, or carries a time the cloud cannot trust, or
  whose data the database refuses) goes to ``dead_letters`` with the reason and
  is acknowledged; the ingester never stops on bad input. Any other failure to
  write (database unreachable, read-only, a missing table, a statement timeout)
  keeps the messages in hand unacknowledged, and the write is retried with
  backoff, in smaller groups when the failure repeats or the statement timed out
  (:mod:`cloud.ingest.failure`). A message that still fails alone, the same way,
  after ``ingest_poison_after`` tries, while a control write of its kind succeeds
  (:mod:`cloud.ingest.poison`), is a poison message and becomes a dead letter, so
  one message can never stop a site's ingest.
- What is in hand is bounded: a group holds at most ``ingest_max_messages``
  messages, ``ingest_max_observations`` observations and ``ingest_max_group_bytes``
  bytes; a payload over :data:`protocols.mqtt.MAX_PAYLOAD_BYTES` is a dead letter
  before it is parsed.

What each commit changed, cut to the live view (:func:`cloud.live.delta.trimmed`), goes
to this process's hub (the ``sink``) and, numbered, to the broker on the ingester's
live topic (:mod:`cloud.live.wire`: one QoS 1 retained publish per commit), where the
hub of every API node hears it (:mod:`cloud.live.broker_feed`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import TracebackType
from typing import Protocol

import aiomqtt
import paho.mqtt.client as paho
import psycopg

from cloud.db.pool import Pool
from cloud.ingest.acks import OutgoingAck, batch_acks
from cloud.ingest.changes import StandingTags
from cloud.ingest.classify import Accepted, BatchKey, DeadLetter, classify
from cloud.ingest.failure import Failure, describe, failure_of, poisoned, signature
from cloud.ingest.ownership import SiteDevices
from cloud.ingest.poison import control_message
from cloud.ingest.store import GroupResult, merge_results, write_group
from cloud.live.delta import LiveCaps, trimmed
from cloud.live.wire import encode_delta
from cloud.model import LiveChange
from cloud.settings import CloudSettings
from cloud.warehouse.sites import Sites
from protocols.collector import calm_collector
from protocols.layout import Layout
from protocols.mqtt import (
    EventBatch,
    live_publisher,
    live_topic,
    parse_mqtt_url,
    parse_topic,
    shared_subscription,
    shorten,
    subscription,
    tls_context,
)
from protocols.observations_in import ObservationBatchIn

log = logging.getLogger(__name__)

GC_YOUNG_THRESHOLD = 50_000
"""Allocations between two collections of the youngest generation of Python's cyclic
garbage collector while an ingester runs (Python's default: 700). Ingest makes a few
objects per observation (a 20,000-observation group: some 100,000) that die with their
group by reference counting and form no cycles; at 700 the collector ran about 150
times per group and promoted them into the older generations, whose full scans of every
live object of the process then cost more than decoding the payloads (measured: 2 to 5
times the cost per observation)."""

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
    events: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    poison: int = 0
    """Messages dead-lettered because they kept failing alone (included in dead_letters)."""
    last_ingest_at: datetime | None = None
    """When the last transaction that stored observations committed."""
    last_error: str | None = None
    failing_since: datetime | None = None
    """When the writes that are still failing began to fail; None while they succeed."""
    live_deltas: int = 0
    """Commits that changed something live, each numbered and published to the broker."""
    live_unsent: int = 0
    """Of them, not handed to the broker (not connected): nodes see the gap and resync."""


@dataclass(frozen=True, slots=True)
class _Received:
    message: aiomqtt.Message
    item: Accepted | DeadLetter
    payload: bytes
    index: int = 0
    """Its place in the order the session received messages (acknowledged in it)."""


class Lane(StrEnum):
    """Groups are written in two lanes at once, each in its own transactions."""

    EVENTS = "events"
    """The edges' events (passages, zone events, weights): small, and what the
    warehouse acts on; never kept waiting behind a large group of observations."""
    OBSERVATIONS = "observations"
    """Everything else: observation batches, health and status, dead letters."""


def lane_of(item: Accepted | DeadLetter) -> Lane:
    """The lane a received message is written in."""
    if isinstance(item, Accepted) and isinstance(item.payload, EventBatch):
        return Lane.EVENTS
    return Lane.OBSERVATIONS


class AckOrder:
    """Messages are acknowledged in the order received, as MQTT requires, whichever lane
    committed them first: one committed while a message received before it is still
    being written waits for it. Pure: indexes in, messages to acknowledge out."""

    def __init__(self) -> None:
        self._received = 0
        self._acked = 0
        self._committed: dict[int, aiomqtt.Message] = {}

    def receive(self) -> int:
        """The index of the next message received."""
        self._received += 1
        return self._received - 1

    def commit(self, committed: list[tuple[int, aiomqtt.Message]]) -> list[aiomqtt.Message]:
        """Note ``committed`` (index, message); return the messages that may now be
        acknowledged, in the order received."""
        for index, message in committed:
            self._committed[index] = message
        out: list[aiomqtt.Message] = []
        while self._acked in self._committed:
            out.append(self._committed.pop(self._acked))
            self._acked += 1
        return out

    @property
    def waiting(self) -> int:
        """Committed messages waiting for one received before them."""
        return len(self._committed)


def _observations(r: _Received) -> int:
    if isinstance(r.item, Accepted) and isinstance(r.item.payload, ObservationBatchIn):
        return len(r.item.payload.observations)
    return 0


def _payload_bytes(message: aiomqtt.Message) -> bytes:
    p = message.payload
    if isinstance(p, bytes | bytearray):
        return bytes(p)
    return b"" if p is None else str(p).encode("utf-8")


class _Pending:
    """The next group: filled by the receiver, taken whole by the writer."""

    def __init__(self, most: int, most_observations: int, most_bytes: int) -> None:
        self.most = most
        self.most_observations = most_observations
        self.most_bytes = most_bytes
        self.group: list[_Received] = []
        self.observations = 0
        self.size = 0
        self.changed = asyncio.Condition()
        self.writing = 0
        """Messages of the group being written (unacknowledged)."""
        self.idle = False
        """The receiver waits for the broker: every message received is in the group."""
        self.blocked = False
        """The receiver holds a message that does not fit in the group."""
        self.window = 1
        """The most messages seen in hand at once: what the broker lets this session
        have unacknowledged (Mosquitto's ``max_inflight_messages``, 20 by default)."""

    def fits(self, r: _Received) -> bool:
        """Whether ``r`` may join the group (a group always takes its first message)."""
        return not self.group or (
            len(self.group) < self.most
            and self.observations + _observations(r) <= self.most_observations
            and self.size + len(r.payload) <= self.most_bytes
        )

    def full(self) -> bool:
        return len(self.group) >= self.most or self.observations >= self.most_observations

    def ready(self) -> bool:
        """Whether the writer may take the group: it has messages and the receiver can
        add none now (it waits for the broker, or holds a message that does not fit)."""
        return bool(self.group) and (self.idle or self.blocked or self.full())

    def add(self, r: _Received) -> None:
        self.group.append(r)
        self.observations += _observations(r)
        self.size += len(r.payload)

    def take(self, most: int) -> list[_Received]:
        """The first ``most`` messages of the group (all when it has no more)."""
        if len(self.group) <= most:
            group, self.group, self.observations, self.size = self.group, [], 0, 0
            return group
        group, self.group = self.group[:most], self.group[most:]
        self.observations = sum(_observations(r) for r in self.group)
        self.size = sum(len(r.payload) for r in self.group)
        return group

    def seen_in_hand(self, queued: int) -> None:
        """Note how many messages are in hand: being written, pending, and ``queued``
        (received, not yet classified). The most ever seen is the broker's window."""
        self.window = max(self.window, self.writing + len(self.group) + queued)


class Ingester:
    """Consume the site's edge messages and store them; ``async with`` runs it.

    ``subscribed`` is set while a session is subscribed; ``stats`` counts the work.
    """

    def __init__(
        self,
        settings: CloudSettings,
        pool: Pool,
        sink: ChangeSink | None = None,
        *,
        layout: Layout | None = None,
        sites: Sites | None = None,
    ) -> None:
        """Serves ``sites``; else the one site of ``settings`` with ``layout``; else the
        sites of ``settings`` with their layout files."""
        self._settings = settings
        self._pool = pool
        self._sink = sink
        self._now = settings.now_clock()
        if sites is None:
            sites = (
                Sites.single(settings.site, layout) if layout is not None else settings.load_sites()
            )
        self._devices = {site: SiteDevices.of(sites.layout(site), site) for site in sites.ids}
        self._edge_sites: dict[str, str] = {}
        """edge id -> the site its last spooled batch came under (where its acks go)"""
        self.client_id = settings.mqtt_client_id()
        self.topic_filters = [
            shared_subscription(settings.ingest_group, subscription(site))
            if settings.ingest_group
            else subscription(site)
            for site in sites.ids
        ]
        """One filter per served site (``rfidwms/v1/<site>/+/+``)."""
        self.topic_filter = ", ".join(self.topic_filters)
        self.stats = IngestStats()
        self._standing = StandingTags() if not settings.ingest_group else None
        """Where this ingester knows its tags to stand: only while it alone writes their
        rows (not with ingesters sharing the messages)."""
        self.live_origin = secrets.token_hex(6)
        """Names this run's numbering of its live deltas (:mod:`cloud.live.wire`)."""
        self.live_topic = live_topic(settings.site, live_publisher(self.client_id))
        self._caps = LiveCaps(
            settings.live_recent_reads, settings.live_tag_locations, settings.live_max_readers
        )
        self.subscribed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._acks_out: set[asyncio.Task[None]] = set()
        """Confirmations to edges being published (each awaits its PUBACK)."""
        self._order = AckOrder()
        """This session's order of receipt (a new session starts a new one)."""

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
        calm_collector(GC_YOUNG_THRESHOLD, freeze=False)
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
            tls_context=tls_context(url, self._settings.mqtt_ca_file),
            keepalive=30,
        )
        # aiomqtt 2.5 has no manual-ack option; its paho client does. It must be on
        # before connecting: a persistent session's queued messages follow CONNACK.
        client._client.manual_ack_set(True)
        try:
            async with client:
                await client.subscribe([(f, 1) for f in self.topic_filters])
                self.stats.connected = True
                self.subscribed.set()
                log.info(
                    "ingester %s subscribed to %s on %s",
                    self.client_id,
                    self.topic_filter,
                    self._settings.mqtt_broker,
                )
                try:
                    await self._consume(client)
                except asyncio.CancelledError:  # stopping: no more deltas from this run
                    client._client.publish(self.live_topic, b"", qos=0, retain=True)
                    raise
        finally:
            self.stats.connected = False
            self.subscribed.clear()

    def _receive(self, message: aiomqtt.Message) -> _Received:
        payload = _payload_bytes(message)
        item = classify(
            str(message.topic),
            payload,
            sites=self._devices,
            retained=bool(message.retain),
            received_at=self._now(),
            max_clock_skew=self._settings.max_clock_skew,
        )
        if isinstance(item, DeadLetter):
            log.warning(
                "dead letter from %s: %s", shorten(item.topic, 200), shorten(item.reason, 500)
            )
            if item.batch is not None:  # a served site's topic: the edge hears its ack there
                self._edge_sites[item.batch[0]] = parse_topic(item.topic).site
        else:
            self._edge_sites[item.address.edge_id] = item.address.site
        return _Received(message, item, payload, self._order.receive())

    def _acks(self, result: GroupResult) -> list[OutgoingAck]:
        """The acknowledgements of a committed group, each on its edge's site's topic."""
        per_site: dict[str, tuple[list[BatchKey], list[BatchKey]]] = {}
        for keys, i in ((result.stored, 0), (result.dead_lettered, 1)):
            for key in keys:
                site = self._edge_sites.get(key[0], self._settings.site)
                per_site.setdefault(site, ([], []))[i].append(key)
        return [ack for site, (ok, dead) in per_site.items() for ack in batch_acks(site, ok, dead)]

    async def _consume(self, client: aiomqtt.Client) -> None:
        """Store groups of received messages (at most ``ingest_max_messages`` messages and
        ``ingest_max_observations`` observations and ``ingest_max_group_bytes`` bytes),
        each acknowledged after its commit.

        Two tasks: the receiver classifies messages as they arrive into the next group
        while the writer stores the one before, so parsing overlaps the database's work
        (and the database's the parsing). Groups are written one at a time, in the order
        received, and acknowledged in that order, as MQTT requires (two writers at once
        were tried: no faster, as consecutive groups lock the same tags, and dead
        letters lost the order received). In hand: the group being written, the next
        one, and one message waiting for it to be taken.

        The writer takes the next group when the receiver can add nothing to it now
        (it waits for the broker, or the group is full). The broker hands a session at
        most a window of unacknowledged messages (Mosquitto: ``max_inflight_messages``);
        a group takes at most half of it, so the other half can arrive meanwhile. With
        ``ingest_flush_interval_s`` set, a group takes all it has instead.

        The edges' events go in a lane of their own (:class:`Lane`), written by a
        second writer at the same time: a passage waits for no observations to be
        copied. Each lane writes its groups in the order received; the messages of
        both are acknowledged in the order received (:class:`AckOrder`)."""
        self._order = AckOrder()
        lanes = {
            lane: _Pending(
                self._settings.ingest_max_messages,
                self._settings.ingest_max_observations,
                self._settings.ingest_max_group_bytes,
            )
            for lane in Lane
        }
        tasks = [asyncio.create_task(self._receive_into(client, lanes))] + [
            asyncio.create_task(self._write_from(client, pending)) for pending in lanes.values()
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                task.result()  # the receiver's MqttError, or a bug in any
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _receive_into(self, client: aiomqtt.Client, lanes: dict[Lane, _Pending]) -> None:
        messages = client.messages
        it = aiter(messages)
        while True:
            if len(messages) == 0:  # nothing more to add now: the writers may take the groups
                for pending in lanes.values():
                    async with pending.changed:
                        pending.idle = True
                        pending.changed.notify_all()
            message = await anext(it)
            for pending in lanes.values():
                pending.idle = False
            r = self._receive(message)
            pending = lanes[lane_of(r.item)]
            async with pending.changed:
                if not pending.fits(r):  # the group is full: the writer may take it
                    pending.blocked = True
                    pending.changed.notify_all()
                    await pending.changed.wait_for(functools.partial(pending.fits, r))
                    pending.blocked = False
                pending.add(r)
                # in hand: both lanes' groups and writes, and the committed messages that
                # wait for their turn to be acknowledged
                others = sum(p.writing + len(p.group) for p in lanes.values() if p is not pending)
                pending.seen_in_hand(len(messages) + others + self._order.waiting)
                pending.changed.notify_all()

    async def _write_from(self, client: aiomqtt.Client, pending: _Pending) -> None:
        """Take groups from ``pending``, write each, then acknowledge its messages in the
        order received and publish what it changed."""
        flush = self._settings.ingest_flush_interval_s
        while True:
            async with pending.changed:
                await pending.changed.wait_for(pending.ready)
            if flush > 0 and not pending.full():
                await asyncio.sleep(flush)  # let more arrive: fewer, larger transactions
            async with pending.changed:
                # Half the broker's window, so the other half arrives and is classified
                # while this half is written (all of it when larger groups are asked for).
                group = pending.take(
                    len(pending.group) if flush > 0 else max(1, pending.window // 2)
                )
                pending.writing = len(group)
                pending.changed.notify_all()
            result = await self._store(group)
            change = self._committed(len(group), result)
            if change is not None:
                self._send_delta(client, change)
            for ack in self._acks(result):
                task = asyncio.create_task(self._confirm(client, ack))
                self._acks_out.add(task)
                task.add_done_callback(self._acks_out.discard)
            # in the order received, as MQTT requires: a message received before this
            # group's and still being written in the other lane holds them back
            for m in self._order.commit([(r.index, r.message) for r in group]):
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
            pending.writing = 0

    async def _confirm(self, client: aiomqtt.Client, ack: OutgoingAck) -> None:
        """Tell an edge which of its batches are committed. If this is lost, the edge
        sends them again after its timeout and they are confirmed as duplicates."""
        try:
            await client.publish(ack.topic, ack.payload, qos=1)
        except aiomqtt.MqttError as e:
            log.info(
                "ingester %s: confirming %d batch(es) to edge %s failed (%s); it will send "
                "them again and they will be confirmed then",
                self.client_id,
                ack.batches,
                ack.edge_id,
                e,
            )

    def _committed(self, messages: int, result: GroupResult) -> LiveChange | None:
        """Count what a committed group wrote, log its transitions, hand its delta to the
        sink; the delta (cut to the live view), or None when nothing live changed."""
        self._count(messages, result)
        for t in result.transitions:  # committed: now it is news
            log.info("%s: %s -> %s", t.what, t.before, t.after)
        if not result.change:
            return None
        change = trimmed(result.change, self._caps)
        if self._sink is not None:
            try:
                self._sink.publish(change)
            except Exception:
                log.exception("ingester %s: publishing a live delta failed", self.client_id)
        return change

    def _send_delta(self, client: aiomqtt.Client, change: LiveChange) -> None:
        """Number the delta and hand it to the broker (QoS 1, retained), in commit order
        and without waiting: one publish per commit. A delta the broker does not get
        leaves a gap in the numbering, which makes the nodes read their view again."""
        self.stats.live_deltas += 1
        payload = encode_delta(self.live_origin, self.stats.live_deltas, change)
        info = client._client.publish(self.live_topic, payload, qos=1, retain=True)
        if info.rc != paho.MQTT_ERR_SUCCESS:
            self.stats.live_unsent += 1
            log.info(
                "ingester %s: live delta %d not sent (%s); the nodes will resync",
                self.client_id,
                self.stats.live_deltas,
                paho.error_string(info.rc),
            )

    async def _store(self, group: list[_Received]) -> GroupResult:
        """Write the group; return only once it is stored (see :mod:`cloud.ingest.failure`).

        A data error splits the group in halves until the message the database
        refuses is alone; that one becomes a dead letter. A cancelled statement
        (``statement_timeout``) halves the group, and so does any other failure that
        repeats ``_HALVE_AFTER`` times. A message that fails alone the same way
        ``ingest_poison_after`` times is a dead letter when a control write of its kind
        succeeds (:mod:`cloud.ingest.poison`). Everything else is retried with backoff
        while the messages stay unacknowledged.
        """
        delay = 0.2
        failures = 0
        same = 0
        last_signature = ""
        while True:
            try:
                async with self._pool.connection() as conn:
                    result = await write_group(
                        conn,
                        [r.item for r in group],
                        now=self._now(),
                        reads_kept=self._settings.live_recent_reads,
                        last_seen_resolution=self._settings.last_seen_resolution,
                        standing=self._standing,
                    )
            except Exception as e:
                failure = failure_of(e)
                failures += 1
                sig = signature(e)
                same = same + 1 if sig == last_signature else 1
                last_signature = sig
                why = describe(e)
                self.stats.last_error = f"database: {why}"
                if self.stats.failing_since is None:
                    self.stats.failing_since = self._now()
                if len(group) > 1 and (
                    failure in (Failure.DATA, Failure.TOO_BIG)
                    or (failure is Failure.OTHER and failures >= _HALVE_AFTER)
                ):
                    return await self._store_halves(group, why)
                first = group[0]
                if isinstance(first.item, Accepted) and (
                    failure is Failure.DATA
                    or (
                        poisoned(failure, same, limit=self._settings.ingest_poison_after)
                        and await self._control_succeeds(first.item)
                    )
                ):
                    if failure is Failure.DATA:
                        reason = f"refused by the database: {why}"
                    else:
                        reason = (
                            f"failed {same} times alone, the same way, while the database "
                            f"stores other messages of its kind: {why}"
                        )
                        self.stats.poison += 1
                    log.warning(
                        "ingester %s: message on %s cannot be stored; storing it as a dead "
                        "letter: %s",
                        self.client_id,
                        shorten(str(first.message.topic), 200),
                        reason,
                    )
                    p = first.item.payload
                    dead = DeadLetter(
                        first.item.topic,
                        first.payload,
                        reason,
                        first.item.received_at,
                        batch=(p.edge_id, p.spool, p.seq)
                        if isinstance(p, ObservationBatchIn | EventBatch)
                        else None,
                    )
                    group = [_Received(first.message, dead, first.payload, first.index)]
                    failures = same = 0
                    continue
                self._log_retry(failure, e, len(group), delay)
            else:
                self.stats.last_error = None
                self.stats.failing_since = None
                return result
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._settings.ingest_retry_max_s)

    async def _control_succeeds(self, suspect: Accepted) -> bool:
        """Whether a harmless message of ``suspect``'s kind can be written (then rolled
        back): the proof that the database is fine and the suspect is poison."""
        control = control_message(suspect, self._devices[suspect.address.site])
        if control is None:
            return False
        try:
            async with self._pool.connection() as conn, conn.transaction():
                await write_group(conn, [control], now=self._now())
                raise psycopg.Rollback()
        except Exception as e:
            log.warning(
                "ingester %s: a control write failed too (%s): the database, not the "
                "message, is in trouble; retrying",
                self.client_id,
                describe(e),
            )
            return False
        return True

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
            Failure.ENVIRONMENT: "the database cannot take writes",
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
        s.events += result.events
        s.duplicates += len(result.duplicates)
        s.dead_letters += result.dead_letters
        if result.batches:
            s.last_ingest_at = self._now()
        for edge_id, spool, seq in result.duplicates:
            log.info("skipped duplicate batch %d of edge %s (spool %s)", seq, edge_id, spool)
        if result.observations:
            log.debug(
                "stored %d batch(es), %d observation(s), %d tag move(s)",
                result.batches,
                result.observations,
                len(result.change.moves),
            )
