"""The edge agent: readers and scales in, observations and events out over MQTT.

``async with EdgeAgent(settings, layout) as agent: await agent.run()`` connects
to every reader and scale of the layout assigned to this edge. Every reader
report is folded into observations and fed to the event core (one ``feed`` per
report, after clock correction); every report or keepalive is the reader's
heartbeat, and its link state its status (inventorying: up; silent; else down).
A tick every ``event_tick_s`` makes the core's time-based decisions. Each scale
is polled; each new load at rest becomes a weight with the pallet its read point
heard strongest. Events are spooled on disk as soon as they are decided, on their
own; the observations every ``flush_interval_s`` (built and encoded on a worker
thread, so no event waits for them); both are numbered in one sequence, and the
:class:`SpoolPublisher` delivers them. Every time comes from the process clock
(``RFIDWMS_CLOCK``), so under a simulated clock the events are in simulated time.

Each reader's faults and antenna events (its link's ``on_event``) wait in a
:class:`~edge.reader_events.ReaderEventLog` and ride in the reader's health (sent at
once when one happens) until three health messages carried them to the broker.

Commands from the cloud (:mod:`protocols.commands`) arrive through the publisher's
subscription; each is checked (:func:`edge.commands.refusal`), done by its reader's
link on a worker thread (one command at a time per reader, each waiting at most
``command_timeout_s`` for the reader), and answered with a result: ``ok`` with what
was done, or ``error`` with why not.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

from pydantic import ValidationError

from edge.aggregation import ObservationWindow, Taken
from edge.backoff import next_backoff
from edge.clock_offset import clock_speed
from edge.commands import refusal, result
from edge.event_messages import event_message, weight_message
from edge.events import Event, EventCore, ReaderStatus
from edge.inbox import Inbox
from edge.publisher import SpoolPublisher
from edge.rates import ReadRateMeter
from edge.reader_events import ReaderEventLog, SeenEvent
from edge.reader_link import REPORT_SLACK_S, CommandFailed, ReaderLink
from edge.reads import TagRead
from edge.scale_client import ScaleClient, ScaleError
from edge.scale_watch import (
    LoadWatch,
    ReadPointLog,
    ScaleRead,
    StableLoad,
    cases_on_scale,
    pallets_on_scale,
    scale_windows,
)
from edge.settings import EdgeSettings
from edge.spool import Spool, SpoolFull
from protocols.commands import CommandName, ReaderCommand, decode_command
from protocols.layout import Layout, Scale
from protocols.mqtt import (
    MAX_PASSAGE_CASES,
    EdgeHealth,
    EventBatch,
    EventMessage,
    PayloadError,
    ReaderHealth,
    ReaderState,
    SpoolHealth,
    TopicKind,
    encode,
    encode_observation_batch,
    encode_observations,
    topic,
)
from protocols.mtsics import Stability

log = logging.getLogger(__name__)


async def cancel_until_done(
    tasks: Sequence[asyncio.Task[Any]], grace_s: float, limit_s: float = 10.0
) -> None:
    """Cancel ``tasks``, give them ``grace_s`` to finish, then cancel again until they end.

    One cancel is not enough: in Python 3.11 ``asyncio.wait_for`` can swallow a
    cancellation that arrives as its result does (fixed in 3.12), and aiomqtt awaits
    every publish with it, so a task could carry on after being cancelled once.
    """
    pending = {t for t in tasks if not t.done()}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s
    wait = grace_s
    while pending and loop.time() < deadline:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=wait)
        wait = 0.2
    for task in pending:
        log.error("task %s did not end after repeated cancellation", task.get_name())


def reader_status(state: ReaderState, silent: bool) -> ReaderStatus:
    """What the event core is told of a reader: up only while inventorying and speaking."""
    if state is not ReaderState.INVENTORYING:
        return ReaderStatus.DOWN
    return ReaderStatus.SILENT if silent else ReaderStatus.UP


EVENTS_PER_BATCH = 1000
PALLET_BEFORE_S = 0.5
PALLET_AFTER_S = 2.0
SCALE_LOG_KEEP_S = 45.0
"""How long a scale's read point keeps its reads (read time): its baseline reaches back
some 20 s before a weight settled, which is decided up to some 10 s after."""
SCALE_WAIT_MAX_S = 20.0
"""How long past its windows a weight waits for its read point's reports to cover them
(clock seconds): an edge behind on its reports (an overloaded machine) looked for the
pallet in windows its reads had not reached yet, and named a pallet from before."""
SCALE_WINDOW_MAX_S = 6.0
"""The most a scale's windows widen for a reader that reads its tags in turns (a pallet
stays on a scale some 8-12 s)."""
"""The pallet on a scale is looked for in its read point's reads from this long before the
weight settled to this long after (clock seconds)."""


def _encoded_chunks(taken: Taken, size: int) -> list[bytes]:
    """``taken``'s observations, encoded ``size`` to a batch (on a worker thread)."""
    observations = taken.observations()
    return [
        encode_observations(observations[start : start + size])
        for start in range(0, len(observations), size)
    ]


class EdgeAgent:
    def __init__(self, settings: EdgeSettings, layout: Layout) -> None:
        self.settings = settings
        self.layout = layout
        self.clock = settings.now_clock()
        self.readers = layout.readers_of_edge(settings.edge_id)
        self.scales = [s for s in layout.scales if s.edge == settings.edge_id]
        self.window = ObservationWindow(layout.read_point, settings.rssi_floor_dbm)
        self.core = EventCore(layout)
        self.rates = ReadRateMeter()
        self.spool = Spool(
            settings.spool_dir / f"{settings.site}-{settings.edge_id}.spool.sqlite",
            max_bytes=settings.spool_max_bytes,
        )
        self.refused_batches = 0
        """Batches the spool refused since start (it was full): lost."""
        self._refused_observations = 0
        self._refused_events = 0
        self._links: list[ReaderLink] = []
        self.reader_events = ReaderEventLog()
        """Each reader's faults and antenna events, until health messages carried them."""
        self._last_report: dict[str, datetime] = {}
        self._silent: set[str] = set()
        self._states: dict[str, ReaderState] = {}
        self._events: list[EventMessage] = []
        self._report_lag = timedelta(
            seconds=(settings.llrp_report_interval_ms / 1000 + REPORT_SLACK_S)
            * clock_speed(self.clock)
        )
        self._scale_points = {s.read_point: s.id for s in self.scales if s.read_point}
        self._point_logs = {s.id: ReadPointLog(keep_s=SCALE_LOG_KEEP_S) for s in self.scales}
        self._loads: list[StableLoad] = []
        self.scale_states: dict[str, str] = {}
        """Per scale: ``online``, or why it gives no weight (``offline: ...``, ``overload``)."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._inbox: Inbox[tuple[Callable[..., None], tuple[Any, ...]]] = Inbox(
            settings.inbox_max_reads, self._wake_for_inbox
        )
        """What the reader threads said, in the order they said it, for the loop."""
        self.publisher: SpoolPublisher | None = None
        self._background: set[asyncio.Future[None]] = set()
        self._events_waiting = asyncio.Event()
        self._spooling: set[asyncio.Future[None]] = set()
        """Observation flushes taken from the window and not spooled yet."""
        self._command_locks: dict[str, asyncio.Lock] = {}

    async def __aenter__(self) -> EdgeAgent:
        self._loop = asyncio.get_running_loop()
        await self.spool.open()
        self.publisher = SpoolPublisher(
            self.settings.mqtt_url,
            self.settings.site,
            self.settings.edge_id,
            self.spool,
            reconnect_max_s=self.settings.reconnect_max_s,
            max_unconfirmed=self.settings.max_unconfirmed,
            ack_timeout_s=self.settings.ack_timeout_s,
            clock=self.clock,
            on_command=self._command_received,
            ca_file=self.settings.mqtt_ca_file,
        )
        if not self.readers:
            log.warning(
                "edge %s: the layout assigns no readers to this edge", self.settings.edge_id
            )
        for reader in self.readers:
            # a reader whose antennas all watch one read point (a zone's shelves) reports
            # per tag: which of its antennas heard a tag says nothing the core uses
            points = {self.layout.read_point(reader.id, a.id) for a in reader.antennas}
            link = ReaderLink(
                reader.id,
                reader.host or self.settings.llrp_host,
                self.layout.reader_port(reader.id, self.settings.llrp_port_base),
                [a.id for a in reader.antennas],
                self._reads_from_thread,
                self._state_from_thread,
                keepalive_ms=round(self.settings.llrp_keepalive_s * 1000),
                report_timeout_ms=self.report_interval_ms(reader.id),
                reconnect_max_s=self.settings.reconnect_max_s,
                clock=self.clock,
                on_heard=self._heard_from_thread,
                on_silence=self._silence_from_thread,
                report_antennas=len(points) > 1,
                on_event=self._event_from_thread,
            )
            self._links.append(link)
            link.start()
        return self

    def report_interval_ms(self, reader_id: str) -> int:
        """How often the reader is asked to report: ``llrp_door_report_interval_ms`` for
        a reader whose antennas are all at doors, else ``llrp_report_interval_ms``."""
        antennas = self.layout.reader(reader_id).antennas
        points = [self.layout.read_point_of(reader_id, a.id) for a in antennas]
        if points and all(p is not None and p.kind == "door" for p in points):
            return self.settings.llrp_door_report_interval_ms
        return self.settings.llrp_report_interval_ms

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stop_readers()
        await self.spool.close()

    async def _stop_readers(self) -> None:
        """Stop every reader link; whatever they read before is spooled, not lost."""
        if self._links:
            self._inbox.close()  # a thread waiting for room must not hold up the stop
            for link in self._links:  # all at once: the wait is the slowest, not the sum
                link.request_stop()

            def join_all() -> None:
                for link in self._links:
                    link.join()

            await asyncio.to_thread(join_all)
            self._links.clear()
            self._drain_inbox()  # the last reports, handed over as the threads ended
            await self._flush()

    # -- called on sllurp threads: hand over to the event loop and nothing more --------

    def _reads_from_thread(self, reads: list[TagRead]) -> None:
        self._inbox.put((self._take_reads, (reads,)), len(reads), on_wait=self._inbox_full)

    def _state_from_thread(self, reader_id: str, state: ReaderState) -> None:
        self._post(self._take_state, reader_id, state)

    def _silence_from_thread(self, reader_id: str, silent: bool) -> None:
        self._post(self._take_silence, reader_id, silent)

    def _heard_from_thread(self, reader_id: str, through: datetime) -> None:
        self._post(self._take_heartbeat, reader_id, through)

    def _event_from_thread(self, reader_id: str, event: SeenEvent, at: datetime) -> None:
        self._post(self._take_reader_event, reader_id, event, at)

    def _post(self, handler: Callable[..., None], *args: Any) -> None:
        """From a reader thread: queue ``handler(*args)`` for the loop, in order (see
        :class:`edge.inbox.Inbox`: the loop is woken once for whatever piles up
        meanwhile, and takes it all in one go)."""
        self._inbox.put((handler, args))

    def _wake_for_inbox(self) -> None:
        assert self._loop is not None
        try:
            self._loop.call_soon_threadsafe(self._drain_inbox)
        except RuntimeError:  # the loop is closed: the agent has stopped
            self._inbox.close()

    def _inbox_full(self, held: int) -> None:
        """On a reader thread about to wait for room (the loop is behind its readers)."""
        log.warning(
            "edge %s: %d reads wait for the event loop, the most it takes ahead "
            "(RFIDWMS_INBOX_MAX_READS=%d): "
            "a reader's thread waits and its reader keeps its reports until the loop "
            "catches up (%d waits so far)",
            self.settings.edge_id,
            held,
            self.settings.inbox_max_reads,
            self._inbox.stats.waits + 1,
        )

    def _drain_inbox(self) -> None:
        """On the loop: everything the reader threads said, in order; runs of reports
        are fed to the core as one."""
        items = self._inbox.take()
        reads: list[TagRead] = []
        for handler, args in items:
            if handler == self._take_reads:
                reads.extend(args[0])
                continue
            if reads:
                self._take_reads(reads)
                reads = []
            handler(*args)
        if reads:
            self._take_reads(reads)

    # -- on the event loop -------------------------------------------------------------

    def _take_reads(self, reads: list[TagRead]) -> None:
        now = time.monotonic()
        for read in reads:
            self.window.add(read)
            self.rates.count(read.reader_id, read.antenna, read.seen_count, now)
            self._last_report[read.reader_id] = read.last_seen
            if self._scale_points:
                point = self.layout.read_point(read.reader_id, read.antenna)
                scale = self._scale_points.get(point) if point else None
                if scale is not None:
                    self._point_logs[scale].add(
                        ScaleRead(
                            read.last_seen,
                            read.epc,
                            read.rssi_dbm,
                            read.seen_count,
                            read.first_seen,
                        )
                    )
        self._decided(self.core.feed(reads, self.clock()))

    def _take_heartbeat(self, reader_id: str, through: datetime) -> None:
        self._decided(self.core.reader_heard_through(reader_id, through, self.clock()))

    def _take_state(self, reader_id: str, state: ReaderState) -> None:
        self._states[reader_id] = state
        self._tell_core(reader_id)
        self._send_health_soon()

    def _take_reader_event(self, reader_id: str, event: SeenEvent, at: datetime) -> None:
        self.reader_events.record(reader_id, event, at)
        self._send_health_soon()

    def _take_silence(self, reader_id: str, silent: bool) -> None:
        if silent:
            self._silent.add(reader_id)
        else:
            self._silent.discard(reader_id)
        self._tell_core(reader_id)

    def _tell_core(self, reader_id: str) -> None:
        state = self._states.get(reader_id, ReaderState.DISCONNECTED)
        status = reader_status(state, reader_id in self._silent)
        self._decided(self.core.reader_status(reader_id, status, self.clock()))

    def _decided(self, events: Sequence[Event]) -> None:
        for event in events:
            message = event_message(event)
            self._events.append(message)
            self._events_waiting.set()

    def _tick(self) -> None:
        now = self.clock()
        self._decided(self.core.tick(now))
        for load in list(self._loads):
            reads = self._point_logs[load.scale]
            # a crowded reader reads each tag in turns: the windows span a turn
            w = scale_windows(reads.cycle_s(), after_s=PALLET_AFTER_S, max_s=SCALE_WINDOW_MAX_S)
            if load.time > now - self._report_lag - timedelta(seconds=w.after_s):
                continue
            # an edge behind on its reports has not got the windows' reads yet: wait for
            # the read point's reports to pass them (up to SCALE_WAIT_MAX_S more: its
            # field may be empty, its reader down)
            reported = reads.newest
            if (reported is None or reported < load.time + timedelta(seconds=w.after_s)) and (
                load.time > now - timedelta(seconds=w.after_s + SCALE_WAIT_MAX_S)
            ):
                continue
            self._loads.remove(load)
            # every window of this weight lies between these two
            start = load.time - timedelta(seconds=w.earlier_s[0])
            end = load.time + timedelta(seconds=w.after_s)
            pallets_near, cases_near = reads.pallets_and_cases_around(start, end)
            # scales side by side: a tag louder over another platform is on that one
            elsewhere = [
                log.pallets_and_cases_around(start, end)
                for scale, log in self._point_logs.items()
                if scale != load.scale
            ]
            candidates = pallets_on_scale(
                pallets_near,
                load.time,
                PALLET_BEFORE_S,
                w.after_s,
                w.earlier_s,
                w.settling_s,
                elsewhere=[pallets for pallets, _ in elsewhere],
            )
            epc = candidates[0] if candidates else None
            cases = (
                cases_on_scale(
                    cases_near,
                    load.time,
                    w.after_s,
                    w.earlier_s,
                    w.settling_s,
                    elsewhere=[cases for _, cases in elsewhere],
                )
                if epc is not None
                else ()
            )
            if len(cases) > MAX_PASSAGE_CASES:
                log.warning(
                    "scale %s: %d cases rose with the load at %s, more than a message "
                    "carries (%d): the weight goes without its cases",
                    load.scale,
                    len(cases),
                    load.time,
                    MAX_PASSAGE_CASES,
                )
                cases = ()
            try:
                message = weight_message(
                    load.scale, load.weight_kg, epc, load.time, cases, candidates
                )
            except ValidationError as e:  # one weight's bad field never stops the edge
                first = e.errors()[0]
                log.error(
                    "scale %s: the weight at %s is not sent: %s %s",
                    load.scale,
                    load.time,
                    ".".join(str(p) for p in first["loc"]),
                    first["msg"],
                )
                continue
            log.info(
                "scale %s: %.2f kg at %s, pallet %s with %d cases heard",
                load.scale,
                load.weight_kg,
                load.time,
                epc,
                len(cases),
            )
            self._events.append(message)
            self._events_waiting.set()

    async def _flush(self) -> None:
        """Spool the events decided so far and the window's observations, after any
        observations still being spooled: the stop's last flush."""
        if self._spooling:
            await asyncio.gather(*list(self._spooling))
        await self._spool_events()
        await self._spool_observations()

    async def _spool_events(self) -> None:
        """The events decided so far into the spool, in batches of their own."""
        events, self._events = self._events, []
        if not events:
            return
        edge_id, events_topic = self.settings.edge_id, self._topic(TopicKind.EVENTS)
        builders: list[tuple[str, Callable[[int], bytes]]] = []
        for start in range(0, len(events), EVENTS_PER_BATCH):
            chunk = events[start : start + EVENTS_PER_BATCH]

            def payload(seq: int, chunk: list[EventMessage] = chunk) -> bytes:
                return encode(
                    EventBatch(
                        edge_id=edge_id,
                        spool=self.spool.spool_id,
                        seq=seq,
                        sent_at=self.clock(),
                        events=chunk,
                    )
                )

            builders.append((events_topic, payload))
        await self._append(builders, observations=0, events=len(events))

    async def _spool_observations(self) -> None:
        """Fold the window into observation batches and spool them. The observations
        (thousands a flush on a busy site) are built, checked and encoded on a worker
        thread, then only numbered in the spool's transaction: built on the loop they
        held up the reports and the events behind them for tens of milliseconds, and
        encoded in the spool's transaction they held up the next events' spooling.
        Once taken from the window they are spooled even if the flush is cancelled
        (:meth:`_flush` waits for them)."""
        taken = self.window.take()
        stats = taken.stats
        if stats.below_floor or stats.unmapped:
            log.debug(
                "edge %s: dropped %d reads below the RSSI floor, %d from unmapped antennas",
                self.settings.edge_id,
                stats.below_floor,
                stats.unmapped,
            )
        if not taken:
            return
        job = asyncio.ensure_future(self._spool_taken(taken))
        self._spooling.add(job)
        job.add_done_callback(self._spooling.discard)
        await asyncio.shield(job)

    async def _spool_taken(self, taken: Taken) -> None:
        size = self.settings.max_batch_observations
        chunks = await asyncio.to_thread(_encoded_chunks, taken, size)
        edge_id, observations_topic = self.settings.edge_id, self._topic(TopicKind.OBSERVATIONS)

        def payload(seq: int, chunk: bytes) -> bytes:
            return encode_observation_batch(
                edge_id=edge_id,
                spool=self.spool.spool_id,
                seq=seq,
                sent_at=self.clock(),
                observations=chunk,
            )

        builders: list[tuple[str, Callable[[int], bytes]]] = [
            (observations_topic, functools.partial(payload, chunk=chunk)) for chunk in chunks
        ]
        await self._append(builders, observations=len(taken), events=0)

    def _topic(self, kind: TopicKind) -> str:
        return topic(self.settings.site, self.settings.edge_id, kind)

    async def _append(
        self,
        builders: list[tuple[str, Callable[[int], bytes]]],
        *,
        observations: int,
        events: int,
    ) -> None:
        """Spool ``builders`` in one transaction and wake the publisher; a refusal (the
        spool is full) counts what it loses."""
        was_full = self.spool.full
        try:
            await self.spool.append_topics(builders)
        except SpoolFull as e:
            self._refused(len(builders), observations, events, e, was_full)
            return
        if was_full:
            log.warning(
                "edge %s: the spool takes batches again (%d bytes of %d used); it refused "
                "%d batches (%d observations, %d events) while full",
                self.settings.edge_id,
                self.spool.bytes,
                self.settings.spool_max_bytes,
                self.refused_batches,
                self._refused_observations,
                self._refused_events,
            )
        if self.publisher is not None:
            self.publisher.notify()

    # -- commands from the cloud -------------------------------------------------------

    def _command_received(self, payload: bytes) -> None:
        try:
            command = decode_command(payload)
        except PayloadError as e:
            log.warning("edge %s: dropped a command: %s", self.settings.edge_id, e)
            return
        task = asyncio.ensure_future(self.do_command(command))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def do_command(self, command: ReaderCommand) -> None:
        """Do ``command`` and publish its result."""
        links = {link.reader_id: link for link in self._links}
        antennas = {link.reader_id: link.antennas for link in self._links}
        why = refusal(command, self.settings.edge_id, antennas, self.clock())
        ok, detail = False, why or ""
        if why is None:
            lock = self._command_locks.setdefault(command.reader_id, asyncio.Lock())
            async with lock:
                ok, detail = await self._run_command(links[command.reader_id], command)
        log.log(
            logging.INFO if ok else logging.WARNING,
            "edge %s: command %s %s for reader %s: %s%s",
            self.settings.edge_id,
            command.id,
            command.command.value,
            command.reader_id,
            "ok" if ok else "refused",
            f" ({detail})" if detail else "",
        )
        if self.publisher is not None:
            await self.publisher.publish_result(result(command, ok, detail, self.clock()))

    async def _run_command(self, link: ReaderLink, command: ReaderCommand) -> tuple[bool, str]:
        timeout = self.settings.command_timeout_s
        try:
            match command.command:
                case CommandName.RECONNECT:
                    detail = await asyncio.to_thread(link.reconnect, timeout)
                case CommandName.STOP:
                    detail = await asyncio.to_thread(link.stop_inventory, timeout)
                case CommandName.START:
                    detail = await asyncio.to_thread(link.start_inventory, timeout)
                case CommandName.SET_POWER:
                    assert command.antenna is not None and command.power_dbm is not None
                    detail = await asyncio.to_thread(
                        link.set_power, command.antenna, command.power_dbm, timeout
                    )
        except CommandFailed as e:
            return False, str(e)
        self._send_health_soon()
        return True, detail

    def _refused(
        self, batches: int, observations: int, events: int, e: SpoolFull, was_full: bool
    ) -> None:
        """The spool refused a flush: count what is lost, say so when it becomes full."""
        self.refused_batches += batches
        self._refused_observations += observations
        self._refused_events += events
        if not was_full:
            log.error(
                "edge %s: %s; new batches are refused (lost) until the cloud has confirmed "
                "enough of the spooled ones",
                self.settings.edge_id,
                e,
            )

    def health(self) -> EdgeHealth:
        now = time.monotonic()
        return EdgeHealth(
            edge_id=self.settings.edge_id,
            at=self.clock(),
            readers=[
                ReaderHealth(
                    reader_id=link.reader_id,
                    state=link.state,
                    reads_per_s=self.rates.rates(link.reader_id, now),
                    last_report_at=self._last_report.get(link.reader_id),
                    clock_offset_s=link.clock_offset_s,
                    events=self.reader_events.waiting(link.reader_id) or None,
                )
                for link in self._links
            ],
            spool=SpoolHealth(
                batches=len(self.spool),
                bytes=self.spool.bytes,
                max_bytes=self.settings.spool_max_bytes,
                full=self.spool.full,
                refused_batches=self.refused_batches,
            ),
        )

    async def _publish_health(self) -> None:
        """Publish the health now; the reader events it carried count once it reached
        the broker."""
        if self.publisher is None:
            return
        health = self.health()
        if await self.publisher.publish_health(health):
            self.reader_events.carried(e for r in health.readers for e in r.events or ())

    def _send_health_soon(self) -> None:
        if self.publisher is not None:
            task = asyncio.ensure_future(self._publish_health())
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _flush_forever(self) -> None:
        """Spool the events as they are decided and the observations every
        ``flush_interval_s``, each on its own: an event waits for no observations."""
        await asyncio.gather(self._events_forever(), self._observations_forever())

    async def _events_forever(self) -> None:
        """Events are spooled as soon as they are decided, on their own, at most one flush
        every ``event_flush_s`` (the events decided meanwhile go together). (Taking the
        observations along on every event flush made a small batch of each, dozens a
        second, each a spool transaction, a publish and an ingest.)"""
        loop = asyncio.get_running_loop()
        while True:
            await self._events_waiting.wait()
            self._events_waiting.clear()
            started = loop.time()
            await self._spool_events()
            await asyncio.sleep(max(0.0, started + self.settings.event_flush_s - loop.time()))

    async def _observations_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.flush_interval_s)
            await self._spool_observations()

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.event_tick_s)
            self._tick()

    async def _scale_forever(self, scale: Scale) -> None:
        """Poll one scale for ever; each new load at rest waits in ``_loads`` for its pallet.
        A scale offline or overloaded is logged and kept in ``scale_states``: no weight."""
        settings = self.settings
        watch = LoadWatch(scale.id, settings.scale_min_load_kg, scale.resolution_kg)
        host = scale.host or settings.scale_host
        port = self.layout.scale_port(scale.id, settings.scale_port_base)
        backoff = 0.0
        while True:
            client = ScaleClient(host, port, scale_id=scale.id, reply_timeout=2.0)
            try:
                async with client:
                    backoff = 0.0
                    while True:
                        try:
                            reply = await client.weight_immediately()
                        except ScaleError as e:
                            if not client.connected:
                                raise
                            watch.interrupted()
                            self._scale_state(scale.id, f"no weight: {e}")
                        else:
                            self._scale_state(scale.id, "online")
                            load = watch.reading(
                                float(reply.value),
                                reply.stability is Stability.STABLE,
                                self.clock(),
                            )
                            if load is not None:
                                self._loads.append(load)
                        await asyncio.sleep(settings.scale_poll_s)
            except ScaleError as e:
                watch.interrupted()
                self._scale_state(scale.id, f"offline: {e}")
                backoff = next_backoff(backoff, settings.reconnect_max_s)
                await asyncio.sleep(backoff)

    def _scale_state(self, scale_id: str, state: str) -> None:
        if self.scale_states.get(scale_id) != state:
            self.scale_states[scale_id] = state
            if state == "online":
                log.info("scale %s: online", scale_id)
            else:
                log.warning("scale %s: %s", scale_id, state)

    async def _health_forever(self) -> None:
        assert self.publisher is not None
        await self.publisher.connected.wait()
        while True:
            await self._publish_health()
            await asyncio.sleep(self.settings.health_interval_s)

    async def run(self, drain_timeout_s: float = 5.0) -> None:
        """Run until cancelled; then stop in order: readers, last reads into the spool,
        a short drain to the broker, ``offline`` status, disconnect."""
        assert self.publisher is not None
        publisher = asyncio.create_task(self.publisher.run(), name="edge-publisher")
        workers = [
            asyncio.create_task(self._flush_forever(), name="edge-flush"),
            asyncio.create_task(self._tick_forever(), name="edge-events-tick"),
            asyncio.create_task(self._health_forever(), name="edge-health"),
            *(
                asyncio.create_task(self._scale_forever(s), name=f"edge-scale-{s.id}")
                for s in self.scales
            ),
        ]
        tasks = {publisher, *workers}
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                task.result()  # a task that ended on its own has failed: raise its error
        except asyncio.CancelledError:
            await cancel_until_done(workers, grace_s=1.0)
            await self._stop_readers()
            if not await self.publisher.drain(drain_timeout_s):
                log.info(
                    "edge %s: %d batches stay in the spool for the next start",
                    self.settings.edge_id,
                    len(self.spool),
                )
            await cancel_until_done([publisher], grace_s=3.0)  # it says offline first
            raise
        finally:
            for task in tasks:
                task.cancel()
