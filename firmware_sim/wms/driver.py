"""The ERP and the workers together, following a world through a WMS: :class:`WmsDriver`.

::

    bridge = WorldBridge(clock)
    world = WarehouseWorld(layout, scenario, start=clock.start, director=bridge)
    bridge.attach(world)
    settings = WmsSettings("http://127.0.0.1:8080/", erp_token=erp, operator_token=operator)
    async with Fleet(layout, world, clock) as fleet, WmsDriver(bridge, settings) as wms:
        await fleet.run(stop)
    wms.summary()
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from firmware_sim.wms.bridge import WorldBridge
from firmware_sim.wms.client import WmsClient
from firmware_sim.wms.erp import Erp, run_tag
from firmware_sim.wms.inspections import Inspectors
from firmware_sim.wms.mistakes import MistakeDice
from firmware_sim.wms.road import Road
from firmware_sim.wms.shift_lead import ShiftLead
from firmware_sim.wms.workers import Workers

__all__ = ["WmsDriver", "WmsSettings"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WmsSettings:
    url: str
    """The WMS's base URL, e.g. ``http://127.0.0.1:8080/``."""
    erp_token: str
    """Bearer token of the ERP side (role erp, operator or admin)."""
    operator_token: str | None = None
    """Bearer token of the workers (role operator or admin: tasks); None: ``erp_token``."""
    poll_s: float = 0.5
    """How often the workers read the open tasks (wall seconds)."""
    timeout_s: float = 10.0
    """Per HTTP request (wall seconds)."""
    site: str | None = None
    """The WMS site this warehouse is: named in every notice, order, task and stock
    request, so that a WMS serving several sites is driven at this one only; None:
    named in none (a WMS serving one site takes that one)."""
    road: Path | None = None
    """The directory transfers' trucks travel through between the simulated sites
    (:mod:`firmware_sim.wms.road`; needs ``site``); None: trucks that leave arrive
    nowhere, none come."""


class WmsDriver:
    """Runs the :class:`~firmware_sim.wms.erp.Erp` and the
    :class:`~firmware_sim.wms.workers.Workers` of ``bridge``'s world against the WMS
    at ``settings.url``; an async context manager."""

    def __init__(self, bridge: WorldBridge, settings: WmsSettings) -> None:
        world = bridge.world
        self.bridge = bridge
        self.settings = settings
        self._erp_client = WmsClient(
            settings.url, settings.erp_token, name="erp", timeout_s=settings.timeout_s
        )
        self._worker_client = WmsClient(
            settings.url,
            settings.operator_token or settings.erp_token,
            name="workers",
            timeout_s=settings.timeout_s,
        )
        sc = world.scenario
        self.erp = Erp(
            self._erp_client,
            bridge,
            customers=list(sc.erp.customers),
            tag=run_tag(world.start, world.seed, settings.site),
            seed=world.seed,
            site=settings.site,
        )
        dice = MistakeDice.of(sc.workers.mistake_rate, sc.workers.mistakes, world.seed)
        self.workers = Workers(
            self._worker_client, bridge, dice, poll_s=settings.poll_s, site=settings.site
        )
        self.shift_lead = ShiftLead(
            self._worker_client,
            bridge,
            after_s=sc.workers.hold_resolve_s,
            poll_s=max(settings.poll_s, 1.0),
            site=settings.site,
        )
        self.inspectors = Inspectors(self._worker_client, bridge, poll_s=max(settings.poll_s, 1.0))
        self.road = (
            Road(settings.road, settings.site, bridge, poll_s=max(settings.poll_s, 1.0))
            if settings.road is not None and settings.site is not None
            else None
        )
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self.erp.run(), name="wms-erp"),
            asyncio.create_task(self.workers.run(), name="wms-workers"),
            asyncio.create_task(self.shift_lead.run(), name="wms-shift-lead"),
            asyncio.create_task(self.inspectors.run(), name="wms-inspectors"),
        ]
        if self.road is not None:
            self._tasks.append(asyncio.create_task(self.road.run(), name="wms-road"))
        logger.info(
            "following the WMS at %s%s (customers %s, mistake rate %g)",
            self.settings.url,
            "" if self.settings.site is None else f", site {self.settings.site}",
            ", ".join(self.erp.customers),
            self.workers.dice.rate,
        )

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for result in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(result, Exception):
                logger.error("the WMS side failed: %r", result)
        await self._erp_client.aclose()
        await self._worker_client.aclose()

    async def __aenter__(self) -> WmsDriver:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def summary(self) -> str:
        e, w, s, i = (
            self.erp.stats,
            self.workers.stats,
            self.shift_lead.stats,
            self.inspectors.stats,
        )
        return (
            f"erp: {e.items} items, {e.notices} notices, {e.orders} orders, {e.returns} returns,"
            f" {e.transfers} transfers, {e.refused} refused;"
            f" workers: {w.taken} tasks taken ({w.again} again), {w.done} reported done,"
            f" {w.refused} not carried out, {w.mistakes} drawn wrong;"
            f" shift lead: {s.seen} orders seen on hold, {s.cancelled} cancelled,"
            f" {s.refused} left on hold;"
            f" inspectors: {i.restocked} pallets restocked, {i.written_off} written off,"
            f" {i.failed} not inspected"
            + (
                ""
                if self.road is None
                else f"; road: {self.road.stats.sent} trucks sent,"
                f" {self.road.stats.received} received, {self.road.stats.bad} unreadable"
            )
        )
