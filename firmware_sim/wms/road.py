"""The road between the demo's simulated warehouses: :class:`Road`.

Each site of ``rfidwms demo`` is a simulator process of its own; a transfer's truck
that leaves one must dock at the other with the very pallets that left (their tags,
cases and weights: what physically left, not what the WMS believes left). The road is a
directory both simulators are given (``rfidwms sim --road DIR``; the demo's is
``<data dir>/road``):

- the source writes each truck that left as ``DIR/<to_site>/<transfer>.json``
  (:meth:`~firmware_sim.world.transfer_truck.TransferTruck.to_json`, written to a
  temporary name and renamed, so a reader never sees half a truck);
- the destination looks into ``DIR/<its site>/`` every ``poll_s`` (wall time), takes
  each truck (renamed to ``*.json.taken`` first, so it is taken once) and hands it to
  its world (:meth:`~firmware_sim.world.flow.Flow.transfer_coming`), which docks it
  when its drive is over on the shared simulated clock.

A file that cannot be read is renamed ``*.json.bad`` and logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path

from firmware_sim.wms.bridge import WorldBridge
from firmware_sim.world.transfer_truck import TransferTruck, TruckError

__all__ = ["Road", "RoadStats"]

logger = logging.getLogger(__name__)


class RoadStats:
    def __init__(self) -> None:
        self.sent = 0
        self.received = 0
        self.bad = 0


class Road:
    """Trucks of this site's world onto the road, and the road's trucks for this site
    into it; see the module docstring."""

    def __init__(self, root: Path, site: str, bridge: WorldBridge, *, poll_s: float = 1.0) -> None:
        self.root = root
        self.site = site
        self.bridge = bridge
        self.poll_s = poll_s
        self.stats = RoadStats()

    async def run(self) -> None:
        """Send and receive until cancelled."""
        (self.root / self.site).mkdir(parents=True, exist_ok=True)
        sender = asyncio.create_task(self._send(), name="road-send")
        try:
            while True:
                try:
                    self.receive()
                except OSError:
                    logger.exception("road: looking for trucks to %s failed", self.site)
                await asyncio.sleep(self.poll_s)
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)

    async def _send(self) -> None:
        while True:
            truck = await self.bridge.trucks_out.get()
            try:
                self.send(truck)
            except OSError:
                logger.exception("road: truck of %s could not leave", truck.transfer)

    def send(self, truck: TransferTruck) -> Path:
        """Put ``truck`` on the road to its destination; the file it is."""
        folder = self.root / truck.to_site
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{truck.transfer}.json"
        tmp = folder / f".{truck.transfer}.json.tmp"
        tmp.write_text(json.dumps(truck.to_json()), encoding="utf-8")
        os.replace(tmp, path)
        self.stats.sent += 1
        logger.info(
            "road: truck of %s left for %s with %d pallet(s)",
            truck.transfer,
            truck.to_site,
            len(truck.pallets),
        )
        return path

    def receive(self) -> list[TransferTruck]:
        """Take every truck on the road to this site and hand it to the world."""
        taken = []
        for path in sorted((self.root / self.site).glob("*.json")):
            claimed = path.with_name(path.name + ".taken")
            try:
                os.replace(path, claimed)
            except FileNotFoundError:
                continue
            try:
                truck = TransferTruck.of_json(json.loads(claimed.read_text(encoding="utf-8")))
            except (ValueError, TruckError) as e:
                self.stats.bad += 1
                os.replace(claimed, path.with_name(path.name + ".bad"))
                logger.error("road: %s is no truck: %s", path.name, e)
                continue
            self.stats.received += 1
            logger.info(
                "road: truck of %s from %s coming with %d pallet(s)",
                truck.transfer,
                truck.from_site,
                len(truck.pallets),
            )
            self.bridge.decide(self.bridge.world.flow.transfer_coming, truck)
            taken.append(truck)
        return taken
