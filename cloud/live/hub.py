"""The live hub: a snapshot plus sequence-numbered deltas, so pages resync without gaps.

The ingester hands :meth:`LiveHub.publish` what each committed transaction changed
(reads, tag moves, reader health, edge status, and the edges' events: passages, zone
events, weights, the tag places they change). The hub numbers it (``seq`` rises
by one per delta), applies it to a small in-memory view (recent reads, the most
recently seen tag locations, the most recently updated readers and edges, each
capped), keeps the encoded delta in a ring buffer and offers it to every subscriber.
The view's caps bound both what the hub keeps and what a snapshot weighs, however
many tags, readers or edges the site has.

Protocol (``/ws/live``, JSON text messages; see ``docs/cloud.md``):

- ``{"type": "snapshot", "seq": N, "stream": S, ...view}`` on connect: the view as
  of delta N. Deltas N+1, N+2, ... follow.
- ``{"type": "delta", "seq": N, "stream": S, "reads": [...], "read_count": n,
  "locations": [...], "location_count": n, "moves": [...], "move_count": n,
  "readers": [...], "edges": [...], "passages": [...], "passage_count": n,
  "zone_events": [...], "zone_event_count": n, "weights": [...], "places": [...],
  "place_count": n, "reader_events": [...]}``. ``reader_events`` are the readers'
  faults and antenna events the commit stored (new ones only), oldest first, the last
  ``recent_reads`` of them; the snapshot's ``reader_events`` are the last
  ``recent_reads`` the hub heard of, newest first. ``reads``, ``moves``, ``passages``,
  ``zone_events`` and ``weights`` are capped at ``recent_reads`` and ``places`` at
  ``tag_locations``; ``reads`` and ``moves`` are capped at
  ``recent_reads``, ``locations`` (the new current location of every tag the commit
  touched) at ``tag_locations``, the size of the snapshot's tag view, newest first;
  the counts are of all. ``readers`` and ``edges`` are the last ``max_readers`` of
  each the commit updated, in the order applied. A client applying ``locations``
  oldest first to its tag view, keeping the ``tag_locations`` last applied, has the
  view a fresh snapshot would give it (and likewise for readers and edges, applied in
  order, keeping ``max_readers``).
- ``{"type": "alert", "seq": N, "stream": S, "at": ..., "event": E, "alert": {...}}``:
  an alert was raised (``event`` ``raised``), raised again while unresolved
  (``raised_again``), ``acknowledged`` or ``resolved``; ``alert`` is the alert as
  ``GET /api/alerts/{id}`` shows it, as it stood when the hub heard of it. Numbered in
  the same sequence as the deltas, kept and resumed the same way. The snapshot's
  ``alerts`` are the unresolved alerts (open or acknowledged), newest raised first, at
  most ``open_alerts``: the newest raised the hub heard of (one that left the view for
  the cap is not taken back when a newer one is resolved; ``GET
  /api/alerts?status=unresolved`` lists them all). A client keeps its list by putting
  each alert message's ``alert`` in (by ``id``) and taking a resolved one out.
- ``{"type": "command", "seq": N, "stream": S, "at": ..., "command": {...}}``: a
  command to an edge's reader was sent, or the edge answered it; ``command`` is as
  ``GET /api/edges/{edge}/commands/{id}`` shows it. Numbered, kept and resumed like
  the deltas. The snapshot's ``commands`` are the last ``recent_commands`` the hub
  heard of (one entry per command, its latest state), newest last.
- ``{"type": "order", "seq": N, "stream": S, "at": ..., "order": {...}}``: an order
  changed (a timeline entry was written: created, allocated, picked, packed, held,
  cancelled, shipped, ...); ``order`` is its summary as it stood then (id, customer,
  status, hold reason, dates, the entry's event). Numbered in the same sequence. The
  snapshot's ``orders`` are the last ``recent_orders`` orders that changed, newest
  change first.
- ``{"type": "transfer", "seq": N, "stream": S, "at": ..., "transfer": {...}}``: a
  transfer between sites changed (made, its order at the source moved on, a pallet
  left or came, in transit, received, found late); ``transfer`` is its summary as
  ``GET /api/transfers`` lists it, as it stood then. Numbered in the same sequence,
  for staff only. The snapshot's ``transfers`` are the last ``recent_orders``
  transfers that changed, newest change first.
- A customer's connection (:meth:`LiveHub.subscribe` with ``customer``) sees ONLY
  that customer's order messages, in a sequence and stream of its own (its ``seq``
  counts that customer's order changes, its stream is the hub's stream and a hash of
  the customer): no reads, tags, readers, passages, alerts, nor the number of
  anyone else's changes. Its snapshot is ``{"type": "snapshot", "seq", "stream",
  "at", "orders"}`` with its own orders only; resume and resync work the same way.
- A client reconnecting with ``?since=N&stream=S`` gets ``{"type": "resumed", ...}``
  and the deltas after N from the ring buffer; when N is older than the buffer
  (bounded by count, by bytes and by age), S names another stream (the hub
  restarted, so seq restarted) or is missing, it gets a fresh snapshot instead.
- A client that falls behind is not waited for: when its queue is full, or the next
  message it would be sent was published more than ``client_max_lag_s`` ago (its
  socket drains slower than deltas come: the kernel's buffers hold the rest), its
  queue is dropped and it gets a fresh snapshot, then deltas after it. Publishing
  never blocks on a client, and encodes each message once for all of them.

Several API nodes: every ingester also publishes each change to the broker, and
every node's :class:`~cloud.live.broker_feed.BrokerFeed` hands the other ingesters'
to :meth:`LiveHub.publish`. A node that missed one reads the ingested part of its
view again from the database (:meth:`LiveHub.begin_reseed`, :meth:`LiveHub.reseed`:
numbered, the resume buffer emptied, every staff client sent a fresh snapshot).
Sequence numbers stay per hub (per node), which is why ``stream`` names the hub: a
client that reconnects to another node gets a snapshot.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TypeVar

import msgspec
import pydantic_core

from cloud.live.delta import LiveCaps, trimmed
from cloud.model import (
    EdgeState,
    LiveChange,
    PassageRecord,
    Read,
    ReaderEventRecord,
    ReaderStatus,
    TagLocation,
    TagPlace,
    WeightRecord,
)
from cloud.warehouse.alerts import Alert, AlertEvent, AlertStatus, alert_document

log = logging.getLogger(__name__)


K = TypeVar("K")
V = TypeVar("V")


def _remember(view: OrderedDict[K, V], items: Iterable[tuple[K, V]], cap: int) -> None:
    """Put ``items`` at the newest end of ``view`` in order; drop the oldest beyond ``cap``."""
    for k, v in items:
        view[k] = v
        view.move_to_end(k)
    while len(view) > cap:
        view.popitem(last=False)


@dataclass(frozen=True, slots=True)
class IngestedView:
    """What the ingesters feed of the view, as read from the database (reads, locations,
    passages and places newest first; readers and edges in any order)."""

    reads: list[Read] = field(default_factory=list)
    locations: list[TagLocation] = field(default_factory=list)
    readers: list[ReaderStatus] = field(default_factory=list)
    edges: list[EdgeState] = field(default_factory=list)
    passages: list[PassageRecord] = field(default_factory=list)
    places: list[TagPlace] = field(default_factory=list)
    reader_events: list[ReaderEventRecord] = field(default_factory=list)
    """The readers' latest faults and antenna events, newest first."""


class _Resync:
    """Queue marker: the subscriber fell behind and needs a fresh snapshot."""


_RESYNC = _Resync()
_Item = tuple[int, str, float] | _Resync
"""(seq, encoded message, when it was published on the hub's clock), or a resync."""


def _now() -> datetime:
    return datetime.now(UTC)


def _jsonable(obj: Any) -> Any:
    """What msgspec cannot encode itself (a pydantic model, ...), made JSON-ready."""
    return pydantic_core.to_jsonable_python(obj)


_json = msgspec.json.Encoder(enc_hook=_jsonable)


def _encode(message: dict[str, Any]) -> str:
    """The message as JSON text. msgspec encodes the model's dataclasses and datetimes
    directly (the same text pydantic gives, some 8 times faster: a delta of 2,000 tag
    locations took 16 ms to encode, 2 ms now); done once per message for every client."""
    return _json.encode(message).decode("utf-8")


def drops_oldest(
    kept: int, size: int, oldest_age: float, *, most: int, most_bytes: int, max_age: float
) -> bool:
    """Whether the resume buffer, holding ``kept`` messages of ``size`` bytes, the oldest
    ``oldest_age`` seconds old, drops its oldest: beyond its count, its bytes or its age,
    but never its last one (a client one message behind can always resume)."""
    return kept > 1 and (kept > most or size > most_bytes or oldest_age > max_age)


def too_late(published_at: float, now: float, max_lag: float) -> bool:
    """Whether a message published at ``published_at`` is too old to be sent at ``now``
    (the client is that far behind: it gets a fresh snapshot instead)."""
    return now - published_at > max_lag


class Subscription:
    """One client's view of the hub: the first messages, then its own bounded queue."""

    def __init__(self, hub: LiveHub, queue_size: int, customer: str | None = None) -> None:
        self._hub = hub
        self._clock = hub._clock
        self._max_lag = hub._client_max_lag
        self.customer = customer
        """The only customer whose orders this client sees; None: staff, everything."""
        self._queue: asyncio.Queue[_Item] = asyncio.Queue(maxsize=queue_size)
        self._initial: list[str] = []
        self._floor = 0
        """Deltas with seq at or below this are already in what the client has."""
        self.resyncs = 0

    def _start(self, messages: list[str], floor: int) -> None:
        self._initial = messages
        self._floor = floor

    def _offer(self, seq: int, text: str, at: float) -> None:
        try:
            self._queue.put_nowait((seq, text, at))
        except asyncio.QueueFull:
            self._fell_behind(seq, "its queue is full")

    def _fell_behind(self, seq: int, why: str) -> None:
        self._resync()
        self.resyncs += 1
        self._hub.resyncs += 1
        log.info("live client fell behind at seq %d (%s); it gets a fresh snapshot", seq, why)

    def _resync(self) -> None:
        """Drop what is queued: the client's next message is a fresh snapshot."""
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(_RESYNC)

    async def messages(self) -> AsyncIterator[str]:
        """The encoded messages to send, in order, without end."""
        initial, self._initial = self._initial, []
        for text in initial:
            yield text
        while True:
            item = await self._queue.get()
            if isinstance(item, _Resync):
                self._floor, text = self._hub.snapshot_message(self.customer)
                yield text
                continue
            seq, text, at = item
            if seq <= self._floor:
                continue
            if too_late(at, self._clock(), self._max_lag):
                self._fell_behind(seq, f"the next message is over {self._max_lag:g} s old")
                continue
            yield text

    def close(self) -> None:
        self._hub._subscribers.discard(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class LiveHub:
    """Numbers, keeps and fans out live deltas; see the module docstring."""

    def __init__(
        self,
        *,
        buffer: int = 1000,
        buffer_bytes: int = 32 * 1024 * 1024,
        buffer_age_s: float = 600.0,
        client_queue: int = 256,
        client_max_lag_s: float = 2.0,
        recent_reads: int = 200,
        tag_locations: int = 2000,
        max_readers: int = 2000,
        open_alerts: int = 200,
        recent_commands: int = 50,
        recent_orders: int = 200,
        customer_buffer: int = 256,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``clock``: seconds on a clock that only goes forward (for the ages of
        messages: ``buffer_age_s``, ``client_max_lag_s``)."""
        self.stream = secrets.token_hex(6)
        """Names this hub's sequence; a hub started again numbers from 0 anew."""
        self.seq = 0
        self.resyncs = 0
        self._clock = clock
        self._ring: deque[tuple[int, str, float]] = deque()
        """(seq, encoded message, when published), oldest first."""
        self._ring_max = buffer
        self._ring_max_bytes = buffer_bytes
        self._ring_max_age = buffer_age_s
        self._ring_bytes = 0
        """Approximate: characters of the encoded deltas (JSON is mostly ASCII)."""
        self._client_queue = client_queue
        self._client_max_lag = client_max_lag_s
        self._caps = LiveCaps(recent_reads, tag_locations, max_readers)
        self._recent_reads = recent_reads
        self._max_tags = tag_locations
        self._max_readers = max_readers
        self._reads: deque[Read] = deque(maxlen=recent_reads)
        self._tags: OrderedDict[str, TagLocation] = OrderedDict()
        self._passages: deque[PassageRecord] = deque(maxlen=recent_reads)
        self._weights: deque[WeightRecord] = deque(maxlen=recent_reads)
        self._reader_events: deque[ReaderEventRecord] = deque(maxlen=recent_reads)
        """The readers' latest faults and antenna events, oldest first."""
        self._places: OrderedDict[str, TagPlace] = OrderedDict()
        self._readers: OrderedDict[str, ReaderStatus] = OrderedDict()
        """Least recently updated first, like ``_edges`` and ``_tags``."""
        self._edges: OrderedDict[str, EdgeState] = OrderedDict()
        self._max_alerts = open_alerts
        self._alerts: dict[int, Alert] = {}
        """Unresolved alerts by id, the ``open_alerts`` newest raised."""
        self._commands: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._max_commands = recent_commands
        self._max_orders = recent_orders
        self._orders: OrderedDict[str, dict[str, Any]] = OrderedDict()
        """The summaries of the last orders that changed, least recently changed first."""
        self._transfers: OrderedDict[str, dict[str, Any]] = OrderedDict()
        """Likewise for the transfers (staff only)."""
        self._customer_buffer = customer_buffer
        self._customer_seq: dict[str, int] = {}
        """Each customer's own sequence (kept for ever: a few bytes per customer)."""
        self._customer_rings: OrderedDict[str, deque[tuple[int, str, float]]] = OrderedDict()
        """Each customer's last ``customer_buffer`` order messages, for resuming; the
        rings of the customers longest without a change dropped beyond ``buffer``."""
        self._subscribers: set[Subscription] = set()
        self._snapshot: tuple[int, str] | None = None
        """The encoded snapshot of the current view, until the view changes."""
        self._replay: list[LiveChange] | None = None
        """While the view is read again from the database (:meth:`begin_reseed`): the
        changes published meanwhile, applied again on top of what is read."""
        self.reseeds = 0
        """Times the view was read again from the database (:meth:`reseed`)."""

    @property
    def clients(self) -> int:
        return len(self._subscribers)

    # -- state -----------------------------------------------------------------------

    def seed(
        self,
        *,
        reads: Iterable[Read] = (),
        locations: Iterable[TagLocation] = (),
        readers: Iterable[ReaderStatus] = (),
        edges: Iterable[EdgeState] = (),
        passages: Iterable[PassageRecord] = (),
        places: Iterable[TagPlace] = (),
        alerts: Iterable[Alert] = (),
        commands: Iterable[dict[str, Any]] = (),
        reader_events: Iterable[ReaderEventRecord] = (),
    ) -> None:
        """Start the view from the database (reads, locations, passages, places and reader
        events newest first; readers and edges in any order, the most recently seen kept;
        unresolved alerts in any order)."""
        for a in alerts:
            self._hold_alert(a)
        _remember(self._commands, ((c["id"], c) for c in commands), self._max_commands)
        for r in reversed(list(reads)):
            self._reads.append(r)
        self._passages.extend(reversed(list(passages)))
        self._reader_events.extend(reversed(list(reader_events)))
        _remember(self._places, ((p.epc, p) for p in reversed(list(places))), self._max_tags)
        _remember(self._tags, ((t.epc, t) for t in reversed(list(locations))), self._max_tags)
        by_seen = sorted(readers, key=lambda r: r.last_seen)
        _remember(self._readers, ((r.reader_id, r) for r in by_seen), self._max_readers)
        edges_by_seen = sorted(edges, key=lambda e: e.last_seen)
        _remember(self._edges, ((e.edge_id, e) for e in edges_by_seen), self._max_readers)
        self._snapshot = None

    def publish(self, change: LiveChange) -> int:
        """Apply a committed change, number it and offer it to every client; never waits.

        The change is cut to what the view keeps first (:func:`cloud.live.delta.trimmed`):
        only what can reach the view or the delta is sorted."""
        t = trimmed(change, self._caps)
        self._apply(t)
        if self._replay is not None:
            self._replay.append(t)
        self._snapshot = None
        self.seq += 1
        text = _encode(
            {
                "type": "delta",
                "seq": self.seq,
                "stream": self.stream,
                "at": _now(),
                "reads": t.reads,
                "read_count": t.read_count,
                "locations": t.locations,
                "location_count": t.location_count,
                "moves": t.moves,
                "move_count": t.move_count,
                "readers": t.readers,
                "edges": t.edges,
                "passages": t.passages,
                "passage_count": t.passage_count,
                "zone_events": t.zone_events,
                "zone_event_count": t.zone_event_count,
                "weights": t.weights,
                "places": t.places,
                "place_count": t.place_count,
                "reader_events": t.reader_events,
            }
        )
        self._keep(self.seq, text)
        self._fan_out(self.seq, text, None)
        return self.seq

    def _apply(self, t: LiveChange) -> None:
        """Put a cut change (newest first in each list) into the view."""
        self._reads.extend(reversed(t.reads))
        _remember(self._tags, ((x.epc, x) for x in reversed(t.locations)), self._max_tags)
        _remember(self._readers, ((r.reader_id, r) for r in t.readers), self._max_readers)
        _remember(self._edges, ((e.edge_id, e) for e in t.edges), self._max_readers)
        self._passages.extend(reversed(t.passages))
        self._weights.extend(reversed(t.weights))
        _remember(self._places, ((p.epc, p) for p in reversed(t.places)), self._max_tags)
        self._reader_events.extend(t.reader_events)

    def begin_reseed(self) -> None:
        """The view is about to be read again from the database: the changes published
        from now on are kept, to be applied again on top of what is read
        (:meth:`reseed`; :meth:`abandon_reseed` when the read fails)."""
        self._replay = []

    def abandon_reseed(self) -> None:
        self._replay = None

    def reseed(self, view: IngestedView) -> int:
        """Replace what the ingesters feed of the view (reads, tags, readers, edges,
        passages, places, reader events) with what was read from the database after
        :meth:`begin_reseed`, and the changes published since on top; the view may then
        miss nothing the hub did not hear of (a delta lost on the way). Numbered like a
        delta: the resume buffer is emptied (a client resuming from before gets a fresh
        snapshot) and every staff client is sent a fresh snapshot. Alerts, commands,
        orders and weights are kept (other feeds keep them). A hub that has numbered
        nothing yet and has no client (a node starting) is reseeded quietly: nobody saw
        the view before, so ``seq`` stays 0."""
        replay, self._replay = self._replay or [], None
        self._reads.clear()
        self._tags.clear()
        self._readers.clear()
        self._edges.clear()
        self._passages.clear()
        self._places.clear()
        self._reader_events.clear()
        self.seed(
            reads=view.reads,
            locations=view.locations,
            readers=view.readers,
            edges=view.edges,
            passages=view.passages,
            places=view.places,
            reader_events=view.reader_events,
        )
        for t in replay:
            self._apply(t)
        self._snapshot = None
        self.reseeds += 1
        if self.seq == 0 and not self._subscribers:
            return self.seq
        self.seq += 1
        self._ring.clear()
        self._ring_bytes = 0
        for sub in list(self._subscribers):
            if sub.customer is None:
                sub._resync()
        log.info(
            "live view read again from the database (%d change(s) applied on top); "
            "%d client(s) get a fresh snapshot at seq %d",
            len(replay),
            sum(1 for s in self._subscribers if s.customer is None),
            self.seq,
        )
        return self.seq

    def _hold_alert(self, alert: Alert) -> None:
        if alert.status is AlertStatus.RESOLVED:
            self._alerts.pop(alert.id, None)
            return
        self._alerts[alert.id] = alert
        if len(self._alerts) > self._max_alerts:
            oldest = min(self._alerts.values(), key=lambda a: (a.raised_at, a.id))
            del self._alerts[oldest.id]

    @property
    def alerts(self) -> dict[int, Alert]:
        """The unresolved alerts the view holds, by id (a copy)."""
        return dict(self._alerts)

    def publish_alert(self, event: AlertEvent, alert: Alert) -> int:
        """Apply what became of an alert (``alert`` as it stands now), number it and offer
        it to every client; never waits."""
        self._hold_alert(alert)
        self._snapshot = None
        self.seq += 1
        text = _encode(
            {
                "type": "alert",
                "seq": self.seq,
                "stream": self.stream,
                "at": _now(),
                "event": event.value,
                "alert": alert_document(alert),
            }
        )
        self._keep(self.seq, text)
        self._fan_out(self.seq, text, None)
        return self.seq

    def publish_command(self, command: dict[str, Any]) -> int:
        """A command was sent or answered (``command`` as the API shows it): number it
        and offer it to every client; never waits."""
        _remember(self._commands, [(command["id"], command)], self._max_commands)
        self._snapshot = None
        self.seq += 1
        text = _encode(
            {
                "type": "command",
                "seq": self.seq,
                "stream": self.stream,
                "at": _now(),
                "command": command,
            }
        )
        self._keep(self.seq, text)
        self._fan_out(self.seq, text, None)
        return self.seq

    def publish_order(self, order: dict[str, Any]) -> int:
        """An order changed: ``order`` is its summary (JSON-ready, with its ``id`` and
        ``customer``). Numbered in the hub's sequence for staff, and in its customer's
        own sequence for that customer's connections; never waits."""
        customer = str(order["customer"])
        _remember(self._orders, [(str(order["id"]), order)], self._max_orders)
        self._snapshot = None
        self.seq += 1
        message = {"type": "order", "seq": self.seq, "stream": self.stream, "at": _now()}
        text = _encode({**message, "order": order})
        self._keep(self.seq, text)
        self._fan_out(self.seq, text, None)
        own = self._customer_seq.get(customer, 0) + 1
        self._customer_seq[customer] = own
        mine = _encode(
            {**message, "seq": own, "stream": self.customer_stream(customer), "order": order}
        )
        ring = self._customer_rings.pop(customer, None) or deque(maxlen=self._customer_buffer)
        ring.append((own, mine, self._clock()))
        _remember(self._customer_rings, [(customer, ring)], self._ring_max)
        self._fan_out(own, mine, customer)
        return self.seq

    def publish_transfer(self, transfer: dict[str, Any]) -> int:
        """A transfer changed: ``transfer`` is its summary (JSON-ready, with its ``id``).
        Numbered in the hub's sequence and offered to staff only; never waits."""
        _remember(self._transfers, [(str(transfer["id"]), transfer)], self._max_orders)
        self._snapshot = None
        self.seq += 1
        text = _encode(
            {
                "type": "transfer",
                "seq": self.seq,
                "stream": self.stream,
                "at": _now(),
                "transfer": transfer,
            }
        )
        self._keep(self.seq, text)
        self._fan_out(self.seq, text, None)
        return self.seq

    def _fan_out(self, seq: int, text: str, customer: str | None) -> None:
        """Offer a message to the clients of ``customer`` (None: staff) only."""
        at = self._clock()
        for sub in list(self._subscribers):
            if sub.customer == customer:
                sub._offer(seq, text, at)

    def customer_stream(self, customer: str) -> str:
        """The stream of ``customer``'s own sequence on this hub."""
        digest = hashlib.sha256(customer.encode()).hexdigest()[:8]
        return f"{self.stream}-{digest}"

    def customer_snapshot(self, customer: str) -> dict[str, Any]:
        """What a connection of ``customer`` starts from: its own orders only."""
        return {
            "type": "snapshot",
            "seq": self._customer_seq.get(customer, 0),
            "stream": self.customer_stream(customer),
            "at": _now(),
            "orders": [o for o in reversed(self._orders.values()) if o["customer"] == customer],
        }

    def _keep(self, seq: int, text: str) -> None:
        """Add a delta to the ring buffer, dropping the oldest beyond its count, bytes or
        age (the newest is always kept)."""
        self._ring.append((seq, text, self._clock()))
        self._ring_bytes += len(text)
        self._prune()

    def _prune(self) -> None:
        now = self._clock()
        while self._ring and drops_oldest(
            len(self._ring),
            self._ring_bytes,
            now - self._ring[0][2],
            most=self._ring_max,
            most_bytes=self._ring_max_bytes,
            max_age=self._ring_max_age,
        ):
            _, old, _ = self._ring.popleft()
            self._ring_bytes -= len(old)

    @property
    def buffered(self) -> tuple[int, int]:
        """(deltas, approximate bytes) in the ring buffer."""
        self._prune()
        return len(self._ring), self._ring_bytes

    def snapshot(self) -> dict[str, Any]:
        """The view as of ``seq``: recent reads and tag locations newest first, readers
        and edges most recently updated first."""
        return {
            "type": "snapshot",
            "seq": self.seq,
            "stream": self.stream,
            "at": _now(),
            "reads": sorted(self._reads, key=lambda r: r.time, reverse=True),
            "tags": list(reversed(self._tags.values())),
            "readers": list(reversed(self._readers.values())),
            "edges": list(reversed(self._edges.values())),
            "passages": list(reversed(self._passages)),
            "weights": list(reversed(self._weights)),
            "places": list(reversed(self._places.values())),
            "reader_events": list(reversed(self._reader_events)),
            "alerts": [
                alert_document(a)
                for a in sorted(
                    self._alerts.values(), key=lambda a: (a.raised_at, a.id), reverse=True
                )
            ],
            "commands": list(self._commands.values()),
            "orders": list(reversed(self._orders.values())),
            "transfers": list(reversed(self._transfers.values())),
        }

    def snapshot_message(self, customer: str | None = None) -> tuple[int, str]:
        """``(seq, encoded snapshot)``; encoded once per view, however many clients
        (new, or resyncing after falling behind) ask for it. A ``customer``'s: its
        own sequence and orders (small, encoded each time)."""
        if customer is not None:
            snap = self.customer_snapshot(customer)
            return snap["seq"], _encode(snap)
        if self._snapshot is None or self._snapshot[0] != self.seq:
            self._snapshot = (self.seq, _encode(self.snapshot()))
        return self._snapshot

    # -- clients ---------------------------------------------------------------------

    def subscribe(
        self, since: int | None = None, stream: str | None = None, *, customer: str | None = None
    ) -> Subscription:
        """A new client: resumed after ``since`` of ``stream`` when that is this hub's
        stream and the ring buffer still holds every delta after it, else from a
        snapshot (a ``since`` without its ``stream`` could be any hub's number). With
        ``customer``: a client of that customer, which sees its own orders only (in
        its own sequence and stream, see the module docstring)."""
        sub = Subscription(self, self._client_queue, customer)
        if customer is None:
            self._prune()
            ring, latest, own_stream = self._ring, self.seq, self.stream
        else:
            ring = self._customer_rings.get(customer) or deque()
            now = self._clock()
            while ring and drops_oldest(
                len(ring),
                0,
                now - ring[0][2],
                most=self._customer_buffer,
                most_bytes=1,
                max_age=self._ring_max_age,
            ):
                ring.popleft()
            latest = self._customer_seq.get(customer, 0)
            own_stream = self.customer_stream(customer)
        oldest_kept = ring[0][0] if ring else latest + 1
        resumable = (
            since is not None
            and stream == own_stream
            and since <= latest
            and since >= oldest_kept - 1
        )
        if resumable:
            assert since is not None
            resumed = _encode(
                {"type": "resumed", "seq": since, "stream": own_stream, "latest": latest}
            )
            sub._start([resumed, *(e[1] for e in ring if e[0] > since)], since)
        else:
            seq, text = self.snapshot_message(customer)
            sub._start([text], seq)
        self._subscribers.add(sub)
        return sub
