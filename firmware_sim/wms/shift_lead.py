"""The simulated warehouse's shift lead: deals with the orders the WMS put on hold.

An order on hold (a weight mismatch at packing, a mis-shipment at a door) waits for a
person. Without one its pallets would stand in packing for the rest of the run, and a
real shift would not let them. Every ``poll_s`` (wall time) the shift lead reads the
held orders of its site (``GET /api/orders?status=on_hold&site=``). Of an order held for
a weight mismatch it reads the weight checks (``GET /api/orders/{id}``) and counts each
pallet whose last check is a mismatch, once, as a packer would: by the cases a handheld
RFID reader finds on it (``POST /api/scans``, ``count`` with ``cases``: the world's
pallet as it is, so a case taken off it is not among them and comes off it in the
books). A pallet of the order not weighed yet is left to the scale. One that has been
on hold for ``workers.hold_resolve_s`` (simulated time, counted from when the shift lead
first saw it held) is cancelled (``POST /api/orders/{id}/cancel``, with a note). The WMS gives
its stock back and sends each of its pallets off the shelves back to storage with a
put-away task, which the workers carry out; the world drops the order's ship plan
(:meth:`~firmware_sim.world.flow.Flow.order_cancelled`, its ``cancel`` truth line). An
order the WMS will not cancel (a pallet of it went through a door) is left alone,
logged once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from firmware_sim.wms.bridge import WorldBridge
from firmware_sim.wms.client import WmsClient, WmsUnavailable

__all__ = ["HoldBook", "ShiftLead", "ShiftLeadStats", "counts_due", "holds_due"]

logger = logging.getLogger(__name__)


@dataclass
class HoldBook:
    """What the shift lead knows of the held orders."""

    since: dict[str, float] = field(default_factory=dict)
    """Held order -> when it was first seen held (simulated Unix time)."""
    done: set[str] = field(default_factory=set)
    """Cancelled, or given up on (the WMS refused): not looked at again."""
    counted: set[tuple[str, str]] = field(default_factory=set)
    """(held order, pallet EPC) counted."""


WEIGHT_MISMATCH = "weight_mismatch"
"""The hold reason of an order whose pallet weighed wrong at packing."""


def counts_due(book: HoldBook, order: str, detail: Any) -> list[str]:
    """The EPCs of ``order``'s pallets to count now (``detail``: ``GET
    /api/orders/{id}``'s answer): those whose last weight check is a mismatch, not
    counted for the order yet, in pick order. Marks them counted."""
    tasks = detail.get("pick_tasks") if isinstance(detail, dict) else None
    due = []
    for t in tasks if isinstance(tasks, list) else ():
        weight, epc = t.get("weight"), t.get("pallet_epc")
        if not (isinstance(weight, dict) and weight.get("verdict") == "mismatch" and epc):
            continue
        if (order, epc) not in book.counted:
            book.counted.add((order, epc))
            due.append(str(epc))
    return due


def holds_due(book: HoldBook, held: Iterable[str], now: float, after_s: float) -> list[str]:
    """The orders of ``held`` (now on hold) to cancel at ``now``: held for ``after_s``
    since first seen, oldest first. Updates ``book``: an order seen held for the first
    time starts its wait; one no longer held (released by someone) is forgotten."""
    current = [o for o in dict.fromkeys(held) if o not in book.done]
    for gone in set(book.since) - set(current):
        del book.since[gone]
    for order in current:
        book.since.setdefault(order, now)
    due = [o for o in current if now - book.since[o] >= after_s]
    return sorted(due, key=lambda o: (book.since[o], o))


@dataclass
class ShiftLeadStats:
    seen: int = 0
    """Orders seen on hold."""
    counted: int = 0
    """Pallets counted."""
    counted_short: int = 0
    """Counts that found fewer cases than the WMS books (the scan's variance below 0)."""
    cancelled: int = 0
    refused: int = 0
    """Cancels the WMS refused (something of the order left already)."""


class ShiftLead:
    """Cancels orders held too long; see the module docstring."""

    def __init__(
        self,
        client: WmsClient,
        bridge: WorldBridge,
        *,
        after_s: float,
        poll_s: float = 1.0,
        site: str | None = None,
    ) -> None:
        """``site``: the WMS site whose held orders to look at (None: every site's)."""
        self.client = client
        self.site = site
        self.bridge = bridge
        self.after_s = after_s
        self.poll_s = poll_s
        self.book = HoldBook()
        self.stats = ShiftLeadStats()

    async def run(self) -> None:
        """Look at the held orders until cancelled."""
        while True:
            try:
                await self.poll()
            except Exception:  # a list it cannot read: the next look tries again
                logger.exception("shift lead: reading the held orders failed")
            await asyncio.sleep(self.poll_s)

    async def poll(self) -> None:
        try:
            query = {"status": "on_hold", "limit": 1000}
            if self.site is not None:
                query["site"] = self.site
            items = await self.client.pages("/api/orders", query, attempts=1)
        except WmsUnavailable as e:
            logger.debug("shift lead: no order list: %s", e)
            return
        if items is None:
            return
        reasons: Mapping[str, str] = {
            str(i["id"]): str(i.get("hold_reason") or "no reason given") for i in items
        }
        self.stats.seen += sum(
            o not in self.book.since and o not in self.book.done for o in reasons
        )
        for order, reason in reasons.items():
            if reason == WEIGHT_MISMATCH and order not in self.book.done:
                await self.count(order)
        due = holds_due(self.book, reasons, self.bridge.clock(), self.after_s)
        for order in due:
            await self.cancel(order, reasons[order])

    async def count(self, order: str) -> None:
        """Count each pallet of ``order`` that weighed wrong, standing in packing, by its
        cases."""
        answer = await self.client.get(f"/api/orders/{order}", attempts=1)
        if not answer.ok:
            return
        due = set(counts_due(self.book, order, answer.body))
        for pallet in self.bridge.world.flow.pallets_in_packing(order):
            if pallet.epc not in due:
                continue
            body: dict[str, object] = {
                "barcode": pallet.epc,
                "action": "count",
                "cases": pallet.case_epcs,
            }
            if self.site is not None:
                body["site"] = self.site
            answer = await self.client.post("/api/scans", body, attempts=3)
            if not answer.ok:
                logger.info("shift lead: count of %s refused: %s", pallet.epc, answer.detail)
                continue
            self.stats.counted += 1
            variance = answer.body.get("variance") if isinstance(answer.body, dict) else None
            if isinstance(variance, int) and variance < 0:
                self.stats.counted_short += 1
            logger.info(
                "shift lead: counted pallet %s of held %s: %d cases (variance %s)",
                pallet.epc,
                order,
                len(pallet.cases),
                variance,
            )

    async def cancel(self, order: str, reason: str) -> None:
        minutes = self.after_s / 60
        note = f"shift lead: on hold ({reason}) for {minutes:g} min; cancelled, back to stock"
        answer = await self.client.post(f"/api/orders/{order}/cancel", {"note": note}, attempts=3)
        self.book.done.add(order)
        self.book.since.pop(order, None)
        if answer.ok:
            self.stats.cancelled += 1
            logger.info(
                "shift lead: %s cancelled after %g min on hold (%s)", order, minutes, reason
            )
            self.bridge.decide(self.bridge.world.flow.order_cancelled, order)
        else:
            self.stats.refused += 1
            logger.info("shift lead: %s stays on hold: %s", order, answer.detail)
