"""The live hub: a snapshot plus sequence-numbered deltas, so pages resync without gaps.

The ingester hands :meth:`LiveHub.publish` what each committed transaction changed
(reads, tag moves, reader health, edge status). The hub numbers it (``seq`` rises
by one per delta), applies it to a small in-memory view (recent reads, the most
recently seen tag locations, readers, edges), keeps the encoded delta in a ring
buffer and offers it to every subscriber.

Protocol (``/ws/live``, JSON text messages; see ``docs/cloud.md``):

- ``{"type": "snapshot", "seq": N, "stream": S, ...view}`` on connect: the view as
  of delta N. Deltas N+1, N+2, ... follow.
- ``{"type": "delta", "seq": N, "stream": S, "reads": [...], "read_count": n,
  "locations": [...], "location_count": n, "moves": [...], "move_count": n,
  "readers": [...], "edges": [...]}``. ``reads`` and ``moves`` are capped at
  ``recent_reads``, ``locations`` (the new current location of every tag the commit
  touched) at ``tag_locations``, the size of the snapshot's tag view, newest first;
  the counts are of all. A client applying ``locations`` oldest first to its tag
  view, keeping the ``tag_locations`` last applied, has the view a fresh snapshot
  would give it.
- A client reconnecting with ``?since=N&stream=S`` gets ``{"type": "resumed", ...}``
  and the deltas after N from the ring buffer; when N is older than the buffer
  (bounded by count and by bytes), S names another stream (the hub restarted, so
  seq restarted) or is missing, it gets a fresh snapshot instead.
- A client that falls behind by more than its queue holds is not waited for: its
  queue is dropped and it gets a fresh snapshot, then deltas after it. Publishing
  never blocks on a client.

Scale-out (designed, not built): with several API nodes behind a load balancer,
each node's hub must see every delta, not only those of an ingester in its own
process. The ingesters then publish each committed change (QoS 1) to
``rfidwms/v1/<site>/_cloud/live/deltas`` (6 levels, so the edges' ``+/+`` filter
never matches it) and each node's hub subscribes to that topic and calls
:meth:`LiveHub.publish` with what arrives. Sequence numbers stay per hub (per
node), which is why ``stream`` names the hub: a client that reconnects to another
node gets a snapshot. Seeding a hub at start from the database is already how a
node begins.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import pydantic_core

from cloud.model import EdgeState, LiveChange, Read, ReaderStatus, TagLocation

log = logging.getLogger(__name__)


class _Resync:
    """Queue marker: the subscriber fell behind and needs a fresh snapshot."""


_RESYNC = _Resync()
_Item = tuple[int, str] | _Resync


def _now() -> datetime:
    return datetime.now(UTC)


def _encode(message: dict[str, Any]) -> str:
    return pydantic_core.to_json(message).decode("utf-8")


class Subscription:
    """One client's view of the hub: the first messages, then its own bounded queue."""

    def __init__(self, hub: LiveHub, queue_size: int) -> None:
        self._hub = hub
        self._queue: asyncio.Queue[_Item] = asyncio.Queue(maxsize=queue_size)
        self._initial: list[str] = []
        self._floor = 0
        """Deltas with seq at or below this are already in what the client has."""
        self.resyncs = 0

    def _start(self, messages: list[str], floor: int) -> None:
        self._initial = messages
        self._floor = floor

    def _offer(self, seq: int, text: str) -> None:
        try:
            self._queue.put_nowait((seq, text))
        except asyncio.QueueFull:
            while not self._queue.empty():
                self._queue.get_nowait()
            self._queue.put_nowait(_RESYNC)
            self.resyncs += 1
            self._hub.resyncs += 1
            log.info("live client fell behind at seq %d; it will get a fresh snapshot", seq)

    async def messages(self) -> AsyncIterator[str]:
        """The encoded messages to send, in order, without end."""
        initial, self._initial = self._initial, []
        for text in initial:
            yield text
        while True:
            item = await self._queue.get()
            if isinstance(item, _Resync):
                self._floor, text = self._hub.snapshot_message()
                yield text
                continue
            seq, text = item
            if seq > self._floor:
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
        client_queue: int = 256,
        recent_reads: int = 200,
        tag_locations: int = 2000,
    ) -> None:
        self.stream = secrets.token_hex(6)
        """Names this hub's sequence; a hub started again numbers from 0 anew."""
        self.seq = 0
        self.resyncs = 0
        self._ring: deque[tuple[int, str]] = deque()
        self._ring_max = buffer
        self._ring_max_bytes = buffer_bytes
        self._ring_bytes = 0
        """Approximate: characters of the encoded deltas (JSON is mostly ASCII)."""
        self._client_queue = client_queue
        self._recent_reads = recent_reads
        self._max_tags = tag_locations
        self._reads: deque[Read] = deque(maxlen=recent_reads)
        self._tags: OrderedDict[str, TagLocation] = OrderedDict()
        self._readers: dict[str, ReaderStatus] = {}
        self._edges: dict[str, EdgeState] = {}
        self._subscribers: set[Subscription] = set()

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
    ) -> None:
        """Start the view from the database (reads and locations newest first)."""
        for r in reversed(list(reads)):
            self._reads.append(r)
        self._remember_tags(reversed(list(locations)))
        self._readers.update((r.reader_id, r) for r in readers)
        self._edges.update((e.edge_id, e) for e in edges)

    def _remember_tags(self, locations: Iterable[TagLocation]) -> None:
        for t in locations:
            self._tags[t.epc] = t
            self._tags.move_to_end(t.epc)
        while len(self._tags) > self._max_tags:
            self._tags.popitem(last=False)

    def publish(self, change: LiveChange) -> int:
        """Apply a committed change, number it and offer it to every client; never waits."""
        newest = sorted(change.reads, key=lambda r: r.time, reverse=True)[: self._recent_reads]
        self._reads.extend(reversed(newest))
        located = sorted(change.locations, key=lambda t: t.last_seen)
        self._remember_tags(located)
        locations = located[::-1][: self._max_tags]
        moves = sorted(change.moves, key=lambda m: m.at, reverse=True)[: self._recent_reads]
        self._readers.update((r.reader_id, r) for r in change.readers)
        self._edges.update((e.edge_id, e) for e in change.edges)
        self.seq += 1
        text = _encode(
            {
                "type": "delta",
                "seq": self.seq,
                "stream": self.stream,
                "at": _now(),
                "reads": newest,
                "read_count": change.read_count,
                "locations": locations,
                "location_count": len(change.locations),
                "moves": moves,
                "move_count": len(change.moves),
                "readers": change.readers,
                "edges": change.edges,
            }
        )
        self._keep(self.seq, text)
        for sub in list(self._subscribers):
            sub._offer(self.seq, text)
        return self.seq

    def _keep(self, seq: int, text: str) -> None:
        """Add a delta to the ring buffer, dropping the oldest beyond its count or bytes
        (the newest is always kept)."""
        self._ring.append((seq, text))
        self._ring_bytes += len(text)
        while len(self._ring) > 1 and (
            len(self._ring) > self._ring_max or self._ring_bytes > self._ring_max_bytes
        ):
            _, old = self._ring.popleft()
            self._ring_bytes -= len(old)

    @property
    def buffered(self) -> tuple[int, int]:
        """(deltas, approximate bytes) in the ring buffer."""
        return len(self._ring), self._ring_bytes

    def snapshot(self) -> dict[str, Any]:
        """The view as of ``seq``: recent reads and tag locations newest first."""
        return {
            "type": "snapshot",
            "seq": self.seq,
            "stream": self.stream,
            "at": _now(),
            "reads": sorted(self._reads, key=lambda r: r.time, reverse=True),
            "tags": list(reversed(self._tags.values())),
            "readers": sorted(self._readers.values(), key=lambda r: r.reader_id),
            "edges": sorted(self._edges.values(), key=lambda e: e.edge_id),
        }

    def snapshot_message(self) -> tuple[int, str]:
        return self.seq, _encode(self.snapshot())

    # -- clients ---------------------------------------------------------------------

    def subscribe(self, since: int | None = None, stream: str | None = None) -> Subscription:
        """A new client: resumed after ``since`` of ``stream`` when that is this hub's
        stream and the ring buffer still holds every delta after it, else from a
        snapshot (a ``since`` without its ``stream`` could be any hub's number)."""
        sub = Subscription(self, self._client_queue)
        oldest_kept = self._ring[0][0] if self._ring else self.seq + 1
        resumable = (
            since is not None
            and stream == self.stream
            and since <= self.seq
            and since >= oldest_kept - 1
        )
        if resumable:
            assert since is not None
            resumed = _encode(
                {"type": "resumed", "seq": since, "stream": self.stream, "latest": self.seq}
            )
            sub._start([resumed, *(text for seq, text in self._ring if seq > since)], since)
        else:
            seq, text = self.snapshot_message()
            sub._start([text], seq)
        self._subscribers.add(sub)
        return sub
