"""The warehouse feed: the edges' events applied to the warehouse, in transactions of
its own, exactly once.

Ingest stores door passages, zone events and weights (the tables ``passages``,
``zone_events``, ``weights``: its outbox, REVIEW.md point 1) and never touches goods
or stock. The :class:`Feed` reads those tables by id after its cursors
(``feed_cursors``) and hands each event to the handlers registered for its kind
(:class:`Registry`): an inbound passage, an outbound passage, a zone event, a
weight. A batch of events is one transaction that also advances the cursors, so an
event's consequences (ledger postings, pallet updates, alerts) and the cursor move
commit together or not at all.

- **Order**: each table is read in id order; across the three tables the event with
  the earliest time goes first (a pallet's inbound passage before its zone arrival).
- **One at a time**: the batch locks the consumer's cursor rows first, so a second
  feed (another ingest node) waits and then goes on where this one stopped.
- **Gaps**: an id missing from a table (a transaction that has it not committed yet)
  holds that table back until it commits or ``feed_gap_wait_s`` passed (then it was
  rolled back: ids of rolled-back inserts never come).
- **A bad event does not stop the feed**: each event runs in a savepoint; one that
  fails ``feed_max_attempts`` times is rolled back alone, logged naming it, recorded in
  ``feed_failures`` and skipped. A deadlock or serialisation failure is retried; a
  lost connection retries the whole batch after a pause (up to ``ingest_retry_max_s``).
- **Timers** (:meth:`Registry.every`) run on the injected clock between batches, each
  in a transaction of its own (e.g. the short-receipt check).
- **Latency**: the feed polls every ``feed_poll_interval_s`` (100 ms) when it has
  caught up, at once when a batch was full.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import psycopg

from cloud.background import BackgroundTask
from cloud.db import feed as feed_db
from cloud.db.events import PassageRow, WeightRow, ZoneEventRow
from cloud.db.feed import Source
from cloud.db.pool import Pool
from cloud.settings import CloudSettings
from cloud.warehouse.sites import layout_edges
from protocols.clock import Clock
from protocols.layout import Layout

log = logging.getLogger(__name__)

Conn = psycopg.AsyncConnection[Any]
Event = PassageRow | ZoneEventRow | WeightRow
CONSUMER = "warehouse"


class EventKind(StrEnum):
    INBOUND_PASSAGE = "inbound_passage"
    OUTBOUND_PASSAGE = "outbound_passage"
    ZONE_EVENT = "zone_event"
    WEIGHT = "weight"


def kind_of(event: Event) -> EventKind:
    if isinstance(event, PassageRow):
        if event.direction == "inbound":
            return EventKind.INBOUND_PASSAGE
        return EventKind.OUTBOUND_PASSAGE
    if isinstance(event, ZoneEventRow):
        return EventKind.ZONE_EVENT
    return EventKind.WEIGHT


def describe(event: Event) -> str:
    """The event, for a log line or a failure: its kind, id and what it names."""
    if isinstance(event, PassageRow):
        return (
            f"{event.direction} passage {event.id} (door {event.door}, epc {event.epc},"
            f" {len(event.cases)} cases, {event.time.isoformat()})"
        )
    if isinstance(event, ZoneEventRow):
        return (
            f"zone event {event.id} ({event.kind} {event.epc} in {event.zone},"
            f" {event.time.isoformat()})"
        )
    return (
        f"weight {event.id} ({event.weight_kg} kg on {event.scale}, epc {event.epc},"
        f" {event.time.isoformat()})"
    )


@dataclass(frozen=True, slots=True)
class FeedContext:
    """What a handler may need besides the connection and the event: the event's site
    (``site_id``; the settings' site when None) and its layout."""

    settings: CloudSettings
    layout: Layout
    clock: Clock
    site_id: str | None = None

    @property
    def site(self) -> str:
        return self.site_id if self.site_id is not None else self.settings.site

    def now(self) -> datetime:
        """The injected clock (the simulator's in a scored run)."""
        return self.clock()

    @property
    def doors(self) -> frozenset[str]:
        return frozenset(d.id for d in self.layout.doors)

    @property
    def zones(self) -> frozenset[str]:
        return frozenset(z.id for z in self.layout.zones)

    @property
    def storage_zones(self) -> frozenset[str]:
        return frozenset(z.id for z in self.layout.zones if z.kind == "storage")


PassageHandler = Callable[[Conn, FeedContext, PassageRow], Awaitable[None]]
ZoneEventHandler = Callable[[Conn, FeedContext, ZoneEventRow], Awaitable[None]]
WeightHandler = Callable[[Conn, FeedContext, WeightRow], Awaitable[None]]
Timer = Callable[[Conn, FeedContext], Awaitable[None]]
Handler = Callable[[Conn, FeedContext, Any], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class TimerSpec:
    name: str
    every: timedelta
    run: Timer


@dataclass(slots=True)
class Registry:
    """The handlers of each kind of event, called in the order registered, all in the
    event's savepoint; and the timers. A handler raises to refuse an event (it is
    retried, then recorded in ``feed_failures``); it must not commit."""

    _handlers: dict[EventKind, list[Handler]] = field(default_factory=dict)
    timers: list[TimerSpec] = field(default_factory=list)

    def on_inbound_passage(self, handler: PassageHandler) -> None:
        self._handlers.setdefault(EventKind.INBOUND_PASSAGE, []).append(handler)

    def on_outbound_passage(self, handler: PassageHandler) -> None:
        self._handlers.setdefault(EventKind.OUTBOUND_PASSAGE, []).append(handler)

    def on_zone_event(self, handler: ZoneEventHandler) -> None:
        self._handlers.setdefault(EventKind.ZONE_EVENT, []).append(handler)

    def on_weight(self, handler: WeightHandler) -> None:
        self._handlers.setdefault(EventKind.WEIGHT, []).append(handler)

    def every(self, name: str, interval: timedelta, timer: Timer) -> None:
        """Run ``timer`` every ``interval`` of the injected clock (and once at start)."""
        if interval <= timedelta(0):
            raise ValueError(f"interval: timer {name!r} needs a period above 0, got {interval}")
        self.timers.append(TimerSpec(name, interval, timer))

    def handlers(self, kind: EventKind) -> list[Handler]:
        return list(self._handlers.get(kind, ()))


@dataclass(slots=True)
class FeedStats:
    batches: int = 0
    events: int = 0
    """Events read and passed (with or without handlers)."""
    applied: int = 0
    """Events some handler applied."""
    failed: int = 0
    """Events skipped after their handlers kept failing (see ``feed_failures``)."""
    last_error: str | None = None


_RANK: dict[Source, int] = {"passages": 0, "zone_events": 1, "weights": 2}


class Feed(BackgroundTask):
    """Applies the event tables through ``registry``; ``async with`` runs it (module
    doc). :meth:`run_once` and :meth:`run_timers` are one step each, for tests.

    With one context per served site, an event is handled in the context of its site
    (the one ingest stamped on it; for an event stored before events had a site and not
    filled yet, the site whose layout has its edge: edge ids are unique across a cloud's
    sites, :mod:`cloud.warehouse.sites`), and the timers run once per site."""

    def __init__(
        self,
        pool: Pool,
        registry: Registry,
        context: FeedContext | Sequence[FeedContext],
        *,
        consumer: str = CONSUMER,
    ) -> None:
        contexts = [context] if isinstance(context, FeedContext) else list(context)
        if not contexts:
            raise ValueError("context: a feed needs the context of at least one site")
        s = contexts[0].settings
        self._pool = pool
        self._registry = registry
        self._ctx = contexts[0]
        self._contexts = contexts
        self._edge_ctx = {e: c for c in contexts for e in layout_edges(c.layout)}
        self._site_ctx = {c.site: c for c in contexts}
        self._consumer = consumer
        self._poll = s.feed_poll_interval_s
        self._batch = s.feed_batch
        self._max_attempts = s.feed_max_attempts
        self._gap_wait = s.feed_gap_wait_s
        self._retry_max = s.ingest_retry_max_s
        self._gaps: dict[Source, tuple[int, float]] = {}
        self._due: dict[str, datetime] = {}
        self.stats = FeedStats()
        self.task_name = f"feed {consumer}"

    async def _run(self) -> None:
        pause = 0.1
        while True:
            try:
                more = await self.run_once()
                await self.run_timers()
            except Exception as e:  # the database, or a bug: the feed must go on
                self.stats.last_error = str(e)
                log.warning(
                    "feed %s: cannot read or apply events now (%s); retrying in %.1f s",
                    self._consumer,
                    " ".join(str(e).split()) or type(e).__name__,
                    pause,
                    exc_info=not isinstance(e, (psycopg.Error, OSError)),
                )
                await asyncio.sleep(pause)
                pause = min(pause * 2, self._retry_max)
                continue
            pause = 0.1
            if not more:
                await asyncio.sleep(self._poll)

    # -- one batch ---------------------------------------------------------------------

    async def run_once(self) -> bool:
        """Apply the next batch of events; True when there may be more right away."""
        async with self._pool.connection() as conn, conn.transaction():
            cursors = await feed_db.lock_cursors(conn, self._consumer)
            queues: dict[Source, list[Event]] = {}
            full: set[Source] = set()
            for source in feed_db.SOURCES:
                rows = await self._fetch(conn, source, cursors[source])
                if len(rows) == self._batch:
                    full.add(source)
                queues[source] = list(reversed(self._contiguous(source, cursors[source], rows)))
            done = 0
            while True:
                if any(not queues[s] for s in full):
                    break  # a truncated table may hold earlier events beyond what was read
                heads = [(s, q[-1]) for s, q in queues.items() if q]
                if not heads:
                    break
                source, event = min(heads, key=lambda h: (h[1].time, _RANK[h[0]], h[1].id))
                queues[source].pop()
                await self._apply(conn, source, event)
                cursors[source] = event.id
                done += 1
            if done:
                await feed_db.advance(conn, self._consumer, cursors, at=self._ctx.now())
        self.stats.batches += 1
        self.stats.events += done
        return bool(full) and done > 0

    async def _fetch(self, conn: Conn, source: Source, after: int) -> list[Event]:
        if source == "passages":
            return list(await feed_db.passages_after(conn, after, self._batch))
        if source == "zone_events":
            return list(await feed_db.zone_events_after(conn, after, self._batch))
        return list(await feed_db.weights_after(conn, after, self._batch))

    def _contiguous(self, source: Source, last: int, rows: list[Event]) -> list[Event]:
        """The rows up to the first gap in ids still worth waiting for."""
        out: list[Event] = []
        expect = last + 1
        for row in rows:
            if row.id != expect:
                seen = self._gaps.get(source)
                if seen is None or seen[0] != expect:
                    self._gaps[source] = seen = (expect, time.monotonic())
                if time.monotonic() - seen[1] < self._gap_wait:
                    break
                log.info(
                    "feed %s: %s ids %d-%d never came (rolled back); going on",
                    self._consumer,
                    source,
                    expect,
                    row.id - 1,
                )
                del self._gaps[source]
            out.append(row)
            expect = row.id + 1
        return out

    def _context_of(self, event: Event) -> FeedContext:
        """The context of the event's site; ValueError for a site not served (or, for an
        event without a site, an edge of no served site)."""
        if len(self._contexts) == 1:
            return self._ctx
        if event.site is not None:
            ctx = self._site_ctx.get(event.site)
            if ctx is None:
                raise ValueError(f"site {event.site!r} of the event is not served")
            return ctx
        ctx = self._edge_ctx.get(event.edge_id)
        if ctx is None:
            raise ValueError(f"edge {event.edge_id!r} is in the layout of no site served")
        return ctx

    async def _apply(self, conn: Conn, source: Source, event: Event) -> None:
        handlers = self._registry.handlers(kind_of(event))
        if not handlers:
            return
        attempt = 0
        while True:
            attempt += 1
            try:
                async with conn.transaction():
                    ctx = self._context_of(event)
                    for handler in handlers:
                        await handler(conn, ctx, event)
                self.stats.applied += 1
                return
            except psycopg.errors.TransactionRollback as e:  # deadlock, serialisation
                if attempt >= self._max_attempts:
                    raise
                log.info("feed: retrying %s after %s", describe(event), type(e).__name__)
            except (psycopg.OperationalError, psycopg.InterfaceError):
                raise  # the connection: the whole batch is retried
            except Exception as e:
                error = f"{type(e).__name__}: {e}"
                if attempt < self._max_attempts:
                    log.info("feed: %s failed (%s); attempt %d", describe(event), error, attempt)
                    await asyncio.sleep(0.01 * attempt)
                    continue
                log.error(
                    "feed %s: cannot apply %s: %s; skipped (recorded in feed_failures)",
                    self._consumer,
                    describe(event),
                    error,
                    exc_info=not isinstance(e, ValueError),
                )
                await feed_db.record_failure(
                    conn,
                    self._consumer,
                    source,
                    event.id,
                    error=f"{describe(event)}: {error}",
                    attempts=attempt,
                    at=self._ctx.now(),
                )
                self.stats.failed += 1
                self.stats.last_error = error
                return

    # -- timers ------------------------------------------------------------------------

    async def run_timers(self, *, force: bool = False) -> None:
        """Run the timers that are due on the injected clock (all of them with
        ``force``), each in a transaction of its own; one that fails is logged and
        tried again when next due."""
        for spec, ctx in ((t, c) for t in self._registry.timers for c in self._contexts):
            now = ctx.now()
            key = f"{spec.name}@{ctx.site}"
            due = self._due.get(key)
            if not force and due is not None and now < due:
                continue
            self._due[key] = now + spec.every
            try:
                async with self._pool.connection() as conn, conn.transaction():
                    await spec.run(conn, ctx)
            except (psycopg.OperationalError, psycopg.InterfaceError):
                raise
            except Exception as e:
                self.stats.last_error = f"{type(e).__name__}: {e}"
                log.error("feed %s: timer %s failed: %s", self._consumer, key, e)
