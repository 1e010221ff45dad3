"""The simulated warehouse's returns inspectors: they inspect returned pallets once the
world has them on a shelf in quarantine, like a person with a handheld.

For each pallet the world hands them (:class:`~firmware_sim.wms.bridge.Inspection`:
the return, the pallet as it came back, the verdict drawn for it) they read the return
(``GET /api/returns/{id}``) until the WMS has received the pallet's cases, then decide
each received case of the pallet not decided yet, by its EPC
(``POST /api/returns/{id}/inspect``, ``restock`` or ``write_off``), and tell the world
(:meth:`~firmware_sim.world.flow.Flow.return_inspected`: a written-off pallet is taken
out of the warehouse). A case the door did not hear is not received and is left alone;
when nothing of the pallet was received within ``wait_s`` (wall seconds), or the WMS
refuses the inspection, the world is told it stays as it is (logged).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from firmware_sim.wms.bridge import Inspection, WorldBridge
from firmware_sim.wms.client import WmsClient, WmsUnavailable

__all__ = ["InspectorStats", "Inspectors", "cases_to_decide"]

logger = logging.getLogger(__name__)


@dataclass
class InspectorStats:
    restocked: int = 0
    """Pallets restocked."""
    written_off: int = 0
    failed: int = 0
    """Pallets not inspected: nothing received in time, or the WMS refused."""


def cases_to_decide(answer: Any, pallet_cases: Sequence[str]) -> list[str]:
    """The EPCs of ``pallet_cases`` that the return (``GET /api/returns/{id}``'s
    answer) received and did not decide yet, in the pallet's order."""
    if not isinstance(answer, dict) or not isinstance(answer.get("cases"), list):
        return []
    open_ = {
        str(c.get("epc", "")).upper()
        for c in answer["cases"]
        if isinstance(c, dict) and c.get("received") and c.get("decision") is None
    }
    return [e for e in pallet_cases if e.upper() in open_]


class Inspectors:
    """Inspect what the world hands over; see the module docstring."""

    def __init__(
        self, client: WmsClient, bridge: WorldBridge, *, poll_s: float = 1.0, wait_s: float = 60.0
    ) -> None:
        self.client = client
        self.bridge = bridge
        self.poll_s = poll_s
        self.wait_s = wait_s
        self.stats = InspectorStats()

    async def run(self) -> None:
        """Inspect until cancelled."""
        while True:
            wanted = await self.bridge.inspections.get()
            try:
                await self.inspect(wanted)
            except Exception:  # this pallet only
                self.stats.failed += 1
                logger.exception("inspectors: %s of %s failed", wanted.pallet.sscc, wanted.rma)
                self._tell(wanted, None)

    async def inspect(self, wanted: Inspection) -> None:
        path = f"/api/returns/{wanted.rma}"
        deadline = time.monotonic() + self.wait_s
        epcs: list[str] = []
        while True:
            try:
                answer = await self.client.get(path, attempts=None)
            except WmsUnavailable as e:
                logger.debug("inspectors: %s: %s", path, e)
            else:
                epcs = cases_to_decide(answer.body, wanted.pallet.case_epcs) if answer.ok else []
            if epcs or time.monotonic() >= deadline:
                break
            await asyncio.sleep(self.poll_s)
        if not epcs:
            self.stats.failed += 1
            logger.warning(
                "inspectors: nothing of pallet %s received on %s within %g s; not inspected",
                wanted.pallet.sscc,
                wanted.rma,
                self.wait_s,
            )
            self._tell(wanted, None)
            return
        decided = await self.client.post(
            f"{path}/inspect",
            {"decisions": [{"epc": e, "decision": wanted.verdict} for e in epcs]},
            attempts=None,
        )
        if not decided.ok:
            self.stats.failed += 1
            logger.warning(
                "inspectors: %s of %s refused: %s", wanted.pallet.sscc, wanted.rma, decided.detail
            )
            self._tell(wanted, None)
            return
        if wanted.verdict == "write_off":
            self.stats.written_off += 1
        else:
            self.stats.restocked += 1
        logger.info(
            "inspectors: %s of %s: %d cases %s",
            wanted.pallet.sscc,
            wanted.rma,
            len(epcs),
            wanted.verdict,
        )
        self._tell(wanted, wanted.verdict)

    def _tell(self, wanted: Inspection, verdict: str | None) -> None:
        flow = self.bridge.world.flow
        self.bridge.decide(flow.return_inspected, wanted.rma, wanted.pallet.epc, verdict)
