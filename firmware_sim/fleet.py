"""Every reader and scale of a layout, served from one simulated world.

::

    clock = SimClock(speed=10)
    world = WarehouseWorld(layout, scenario, start=clock.start, truth=TruthWriter("t.jsonl"))
    async with Fleet(layout, world, clock, llrp_port_base=5084, scale_port_base=5184) as fleet:
        for endpoint in fleet.endpoints:
            print(endpoint.line())          # reader-door-1 llrp://127.0.0.1:5084 ...
        await fleet.run(stop_event, duration_s=600)

One :class:`~firmware_sim.llrp_reader.LLRPReaderServer` per reader on
``llrp_port_base`` + its position in the layout (or its own ``port``), one
:class:`~firmware_sim.scale_server.ScaleServer` per scale on
``scale_port_base`` + position; a port base of 0 lets the system pick free
ports. A ticker advances the world along the clock so the ground truth is
written as things happen even when no client is asking, and faults the world
schedules are carried out on the devices between ticks, never inside a
device's own call into the world.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from types import TracebackType
from typing import Literal

from firmware_sim.llrp_reader import LLRPReaderServer
from firmware_sim.llrp_reader_model import ReaderModel
from firmware_sim.scale import ScaleSpec
from firmware_sim.scale_server import ScaleServer
from firmware_sim.world.clock import SimClock
from firmware_sim.world.faults import FaultAction, FaultKind
from firmware_sim.world.world import WarehouseWorld
from firmware_sim.world_view import Clock
from protocols.layout import Layout

__all__ = ["DEFAULT_LLRP_PORT_BASE", "DEFAULT_SCALE_PORT_BASE", "Endpoint", "Fleet", "FleetError"]

logger = logging.getLogger(__name__)

DEFAULT_LLRP_PORT_BASE = 5084
"""The IANA LLRP port: the first reader of a layout listens where a real one would."""
DEFAULT_SCALE_PORT_BASE = 5184
"""Scales follow 100 ports above the readers, leaving room for 100 readers."""


class FleetError(RuntimeError):
    """The fleet cannot start, e.g. a port is taken; the message names device and port."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    kind: Literal["llrp", "mtsics"]
    device_id: str
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"{self.kind}://{self.host}:{self.port}"

    def line(self) -> str:
        """``<device-id> <url>``: what ``rfidwms sim`` prints for each device."""
        return f"{self.device_id} {self.url}"


class Fleet:
    """Serves a layout's readers and scales from ``world``; an async context manager."""

    def __init__(
        self,
        layout: Layout,
        world: WarehouseWorld,
        clock: Clock,
        *,
        host: str = "127.0.0.1",
        llrp_port_base: int = DEFAULT_LLRP_PORT_BASE,
        scale_port_base: int = DEFAULT_SCALE_PORT_BASE,
        tick_s: float = 0.1,
        round_interval_s: float = 0.1,
    ) -> None:
        self.layout = layout
        self.world = world
        self.clock = clock
        self.host = host
        self.llrp_port_base = llrp_port_base
        self.scale_port_base = scale_port_base
        self.tick_s = tick_s
        self.round_interval_s = round_interval_s
        self.readers: dict[str, LLRPReaderServer] = {}
        self.scales: dict[str, ScaleServer] = {}
        self.endpoints: list[Endpoint] = []
        self._pending: list[FaultAction] = []
        self._ticker: asyncio.Task[None] | None = None
        self._hearing: dict[str, tuple[str, ...]] = {}

    # ------------------------------------------------------------------ lifecycle

    @staticmethod
    def _port(own: int | None, base: int, numbered: int) -> int:
        """The device's own port, else base + position; a base of 0 means "any free port"."""
        if own is not None:
            return own
        return 0 if base == 0 else numbered

    async def start(self) -> None:
        self.world.on_fault = self._queue_fault
        try:
            for r in self.layout.readers:
                port = self._port(
                    r.port, self.llrp_port_base, self.layout.reader_port(r.id, self.llrp_port_base)
                )
                server = LLRPReaderServer(
                    r.id,
                    tuple(a.id for a in r.antennas),
                    self.world,
                    self.clock,
                    self.host,
                    port,
                    round_interval_s=self.round_interval_s,
                    model=ReaderModel(reads_per_s=self.world.radio.reader_reads_per_s),
                )
                await self._listen(server, f"reader {r.id}", port)
                self.readers[r.id] = server
                self.endpoints.append(Endpoint("llrp", r.id, self.host, server.port))
            for s in self.layout.scales:
                port = self._port(
                    s.port, self.scale_port_base, self.layout.scale_port(s.id, self.scale_port_base)
                )
                spec = ScaleSpec(
                    capacity_kg=s.capacity_kg,
                    resolution_kg=s.resolution_kg,
                    noise_kg=min(0.15, s.resolution_kg * 0.3),
                )
                scale = ScaleServer(
                    s.id, self.world, self.clock, host=self.host, port=port, spec=spec
                )
                await self._listen(scale, f"scale {s.id}", port)
                self.scales[s.id] = scale
                self.endpoints.append(Endpoint("mtsics", s.id, self.host, scale.port))
        except BaseException:
            await self.stop()
            raise
        self._hearing = {z.id: self.world.readers_hearing(z.id) for z in self.layout.zones}
        self.world.floor.on_zone_change = self._zone_changed
        self.world.advance(self.clock())
        self._ticker = asyncio.create_task(self._tick(), name="world-ticker")
        logger.info(
            "fleet up: %d readers, %d scales on %s", len(self.readers), len(self.scales), self.host
        )

    async def _listen(self, server: LLRPReaderServer | ScaleServer, what: str, port: int) -> None:
        try:
            await server.start()
        except OSError as e:
            raise FleetError(
                f"{what}: cannot listen on {self.host}:{port}: {e.strerror or e}"
            ) from None

    async def stop(self) -> None:
        ticker, self._ticker = self._ticker, None
        if ticker is not None:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
        connected = [r for r in self.readers.values() if r.client_connected]
        for reader in connected:  # let client handlers end on their own before the stop
            reader.drop_connection()
        for _ in range(20):
            if not any(r.client_connected for r in connected):
                break
            await asyncio.sleep(0.01)
        for reader in self.readers.values():
            await reader.stop()
        for scale in self.scales.values():
            await scale.close()
        self.readers.clear()
        self.scales.clear()
        self.world.on_fault = None
        self.world.floor.on_zone_change = None

    async def __aenter__(self) -> Fleet:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def run(self, stop: asyncio.Event, duration_s: float | None = None) -> None:
        """Serve until ``stop`` is set or, with ``duration_s``, until that much simulated
        time has passed since the world's start."""
        if duration_s is None:
            await stop.wait()
            return
        end = self.world.start + duration_s
        while not stop.is_set():
            now = self.clock()
            if now >= end:
                self.world.advance(end)
                return
            wait = (end - now) / self.clock.speed if isinstance(self.clock, SimClock) else 0.05
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=min(max(wait, 0.001), 0.5))

    # ------------------------------------------------------------------ world and faults

    async def _tick(self) -> None:
        while True:
            try:
                self.world.advance(self.clock())
                self.apply_pending_faults()
            except Exception:
                logger.exception("advancing the world failed")
            await asyncio.sleep(self.tick_s)

    def _zone_changed(self, zone: str) -> None:
        """A pallet came into or left ``zone``: the readers hearing it run a round now.
        The simulated readers pause between rounds (``round_interval_s`` of wall time,
        a simulated second at ``--speed 10``) where a real one inventories without
        pause and reads a tag new to its field within a round of tens of milliseconds;
        waking them keeps that at any speed without running every round faster."""
        for reader_id in self._hearing.get(zone, ()):
            reader = self.readers.get(reader_id)
            if reader is not None:
                reader.field_changed()

    def _queue_fault(self, action: FaultAction) -> None:
        self._pending.append(action)

    def apply_pending_faults(self) -> None:
        pending, self._pending = self._pending, []
        for action in pending:
            self.apply(action)

    def apply(self, action: FaultAction) -> None:
        """Carry out one fault start or end on its device."""
        f, on = action.fault, action.active
        if f.kind is FaultKind.OVERLOAD:
            scale = self.scales.get(f.target)
            if scale is not None:
                scale.scale.force_overload(on)
            return
        reader = self.readers.get(f.target)
        if reader is None:
            logger.warning("fault %s: no such reader in this fleet", f)
            return
        match f.kind:
            case FaultKind.DROP:
                if on:
                    reader.drop_connection()
            case FaultKind.SILENT:
                reader.go_silent(on)
            case FaultKind.ANTENNA:
                reader.antenna_event(int(f.value or 0), connected=not on)
            case FaultKind.SKEW:
                reader.clock_skew_s = (f.value or 0.0) if on else 0.0
