"""The edge agent: readers in, clean observations out over MQTT.

``async with EdgeAgent(settings, layout) as agent: await agent.run()`` connects
to every reader of the layout assigned to this edge, folds their reads into
observations every ``flush_interval_s``, spools each batch on disk with the
next sequence number and lets the :class:`SpoolPublisher` deliver it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from edge.aggregation import ObservationWindow
from edge.publisher import SpoolPublisher
from edge.rates import ReadRateMeter
from edge.reader_link import ReaderLink
from edge.reads import TagRead
from edge.settings import EdgeSettings
from edge.spool import Spool
from protocols.layout import Layout
from protocols.mqtt import (
    EdgeHealth,
    Observation,
    ObservationBatch,
    ReaderHealth,
    ReaderState,
    TopicKind,
    encode,
    topic,
)

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


class EdgeAgent:
    def __init__(self, settings: EdgeSettings, layout: Layout) -> None:
        self.settings = settings
        self.layout = layout
        self.readers = layout.readers_of_edge(settings.edge_id)
        self.window = ObservationWindow(layout.read_point, settings.rssi_floor_dbm)
        self.rates = ReadRateMeter()
        self.spool = Spool(settings.spool_dir / f"{settings.site}-{settings.edge_id}.spool.sqlite")
        self._links: list[ReaderLink] = []
        self._last_report: dict[str, datetime] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self.publisher: SpoolPublisher | None = None
        self._background: set[asyncio.Future[None]] = set()

    async def __aenter__(self) -> EdgeAgent:
        self._loop = asyncio.get_running_loop()
        await self.spool.open()
        self.publisher = SpoolPublisher(
            self.settings.mqtt_url,
            self.settings.site,
            self.settings.edge_id,
            self.spool,
            reconnect_max_s=self.settings.reconnect_max_s,
        )
        if not self.readers:
            log.warning(
                "edge %s: the layout assigns no readers to this edge", self.settings.edge_id
            )
        for reader in self.readers:
            link = ReaderLink(
                reader.id,
                reader.host or self.settings.llrp_host,
                self.layout.reader_port(reader.id, self.settings.llrp_port_base),
                [a.id for a in reader.antennas],
                self._reads_from_thread,
                self._state_from_thread,
                keepalive_ms=round(self.settings.llrp_keepalive_s * 1000),
                reconnect_max_s=self.settings.reconnect_max_s,
            )
            self._links.append(link)
            link.start()
        return self

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
            for link in self._links:  # all at once: the wait is the slowest, not the sum
                link.request_stop()

            def join_all() -> None:
                for link in self._links:
                    link.join()

            await asyncio.to_thread(join_all)
            self._links.clear()
            await self._flush()

    # -- called on sllurp threads: hand over to the event loop and nothing more --------

    def _reads_from_thread(self, reads: list[TagRead]) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._take_reads, reads)

    def _state_from_thread(self, reader_id: str, state: ReaderState) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._send_health_soon)

    # -- on the event loop -------------------------------------------------------------

    def _take_reads(self, reads: list[TagRead]) -> None:
        now = time.monotonic()
        for read in reads:
            self.window.add(read)
            self.rates.count(read.reader_id, read.antenna, read.seen_count, now)
            self._last_report[read.reader_id] = read.last_seen

    async def _flush(self) -> None:
        """Fold the window into batches and spool them (on the spool's thread: the loop
        carries on while they are written to disk)."""
        observations, stats = self.window.flush()
        if stats.below_floor or stats.unmapped:
            log.debug(
                "edge %s: dropped %d reads below the RSSI floor, %d from unmapped antennas",
                self.settings.edge_id,
                stats.below_floor,
                stats.unmapped,
            )
        observations_topic = topic(
            self.settings.site, self.settings.edge_id, TopicKind.OBSERVATIONS
        )
        size = self.settings.max_batch_observations
        builders = []
        for start in range(0, len(observations), size):
            chunk = observations[start : start + size]

            def payload(seq: int, chunk: list[Observation] = chunk) -> bytes:
                return encode(
                    ObservationBatch(
                        edge_id=self.settings.edge_id,
                        spool=self.spool.spool_id,
                        seq=seq,
                        sent_at=datetime.now(UTC),
                        observations=chunk,
                    )
                )

            builders.append(payload)
        if builders:  # one transaction: a cancelled flush still stores the whole window
            await self.spool.append_all(observations_topic, builders)
        if observations and self.publisher is not None:
            self.publisher.notify()

    def health(self) -> EdgeHealth:
        now = time.monotonic()
        return EdgeHealth(
            edge_id=self.settings.edge_id,
            at=datetime.now(UTC),
            readers=[
                ReaderHealth(
                    reader_id=link.reader_id,
                    state=link.state,
                    reads_per_s=self.rates.rates(link.reader_id, now),
                    last_report_at=self._last_report.get(link.reader_id),
                    clock_offset_s=link.clock_offset_s,
                )
                for link in self._links
            ],
        )

    def _send_health_soon(self) -> None:
        if self.publisher is not None:
            task = asyncio.ensure_future(self.publisher.publish_health(self.health()))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.flush_interval_s)
            await self._flush()

    async def _health_forever(self) -> None:
        assert self.publisher is not None
        await self.publisher.connected.wait()
        while True:
            await self.publisher.publish_health(self.health())
            await asyncio.sleep(self.settings.health_interval_s)

    async def run(self, drain_timeout_s: float = 5.0) -> None:
        """Run until cancelled; then stop in order: readers, last reads into the spool,
        a short drain to the broker, ``offline`` status, disconnect."""
        assert self.publisher is not None
        publisher = asyncio.create_task(self.publisher.run(), name="edge-publisher")
        workers = [
            asyncio.create_task(self._flush_forever(), name="edge-flush"),
            asyncio.create_task(self._health_forever(), name="edge-health"),
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
