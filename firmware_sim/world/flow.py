"""The warehouse's business as a seeded discrete-event simulation.

Trucks dock and their pallets cross a door inbound, some wait staged just
inside the door, then are driven to the least full storage zone and put away;
customer orders pick pallets off the shelves, which are driven to packing,
wrapped, weighed on a free scale and, once the whole order is ready, cross a
door outbound. Now and then a pallet about to cross first approaches the door
and turns back short of its middle. Doors and scales are resources: passages
and turn-backs at one door never overlap, a scale holds one pallet at a time.

The business draws from one ``random.Random(seed)`` consumed in event order;
staging and turn-backs each draw from a stream of their own (seeded from the
seed and their name), so switching them on shifts times but never reshuffles
the draws of the rest. Events at equal times run in the order they were
scheduled, so a layout, a scenario and a seed always produce the same history,
however finely the world is advanced. Times inside are simulated seconds since
the start (``s``); the floor and the truth get Unix times (``start + s``).

With a :class:`~firmware_sim.world.director.Director` (a WMS) the business follows
it instead: the warehouse opens once the opening stock is announced, a truck docks
once its notice is posted, customers' orders are placed by the director, and the
workers carry out the WMS's tasks (put-away zone, which pallet to pick, which door to
ship through), now and then wrongly (``mistake`` truth lines). A share of the shipped
orders comes back (``erp.return_share``): the customer asks for a return of what
truly left, the director posts it, and a truck brings the very pallets (the same
tags) back through an inbound door (a ``return`` line, then their ``arrival``s); each
is put away on its task and, on its shelf, inspected: restocked, or written off and
taken out of the warehouse (``write_off``), a share ``workers.write_off_share`` drawn
from a stream of its own. Now and then (``erp.transfer_per_hour``) the director moves
pallets to another site: a transfer, picked and shipped on tasks like an order; the
truck that leaves (``transfer_shipped``) drives ``erp.transfer_drive_s`` and is handed
to the destination's world (:meth:`Director.transfer_left`), which docks it
(``transfer_arrived``, :meth:`Flow.transfer_coming`) with the very pallets that left.
Each wait has a
timeout after which the world goes on alone (logged). Decisions arrive as events
scheduled from outside (:meth:`Flow.schedule`), so what happens then depends on the
WMS's answers and their timing: a run with a director is not repeated by its seed.
"""

from __future__ import annotations

import heapq
import logging
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from firmware_sim.world.director import Director
from firmware_sim.world.faults import Fault, FaultAction
from firmware_sim.world.floor import (
    Direction,
    Floor,
    OnScale,
    Passage,
    Placement,
    Shelved,
    Staged,
    TaggedPallet,
    Travelling,
    Turnback,
)
from firmware_sim.world.model import Lot, Pallet, Sku, TagIssuer, generated_skus
from firmware_sim.world.rf import DoorFrame, stable_key
from firmware_sim.world.scenario import MistakeKind, Scenario, ScenarioError
from firmware_sim.world.transfer_truck import TransferTruck
from firmware_sim.world.truth import TruthEvent, TruthSink
from protocols.layout import Layout, Rect

__all__ = ["Flow"]

logger = logging.getLogger(__name__)


@dataclass
class _Order:
    order_id: str
    door: str
    pallets: list[str]
    ready: int = 0


@dataclass(frozen=True, slots=True)
class _TurnbackPlan:
    shortfall_m: float
    """How far short of the door's middle the forklift stops."""
    pause_s: float
    lateral: float
    duration_s: float


@dataclass
class _Stats:
    received: int = 0
    shipped: int = 0
    trucks: int = 0
    orders: int = 0
    staged: int = 0
    turnbacks: int = 0
    mistakes: int = 0
    extra: dict[str, int] = field(default_factory=dict)


@dataclass
class _WmsState:
    """What the world keeps while it follows a director (a WMS)."""

    opened: bool = False
    opening: list[tuple[Pallet, str, Shelved]] = field(default_factory=list)
    """The opening stock, placed on the shelves when the warehouse opens."""
    yard: dict[str, tuple[str, list[Pallet]]] = field(default_factory=dict)
    """Trucks waiting for their notice: truck -> (door, load)."""
    inbound: set[str] = field(default_factory=set)
    """Pallets between the door they came through and a shelf."""
    putaway_to: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Put-away tasks known before the pallet reached storage: EPC -> (task, zone)."""
    at_storage: dict[str, float] = field(default_factory=dict)
    """Pallets at storage waiting for their put-away task: EPC -> since (s)."""
    claimed: set[str] = field(default_factory=set)
    """Pallets on the orders placed (a wrong pallet is never one of them)."""
    order_door: dict[str, str] = field(default_factory=dict)
    held: dict[str, list[str]] = field(default_factory=dict)
    """Per order, the pallets the workers took for it (right or wrong), in pick order."""
    ready: set[str] = field(default_factory=set)
    """Held pallets packed, weighed and set down in packing."""
    missing_case: dict[str, str] = field(default_factory=dict)
    """Picked pallets that lose a case at packing: EPC -> pick task."""
    ship_plan: dict[str, tuple[str, str, MistakeKind | None]] = field(default_factory=dict)
    """Ship tasks waiting for their order's pallets: order -> (task, door, mistake)."""
    shipping: dict[str, str] = field(default_factory=dict)
    """Pallets on their way out: EPC -> ship task."""
    left: dict[str, int] = field(default_factory=dict)
    """Ship task -> its pallets still to cross the door."""
    cancelled: set[str] = field(default_factory=set)
    """Pallets of cancelled orders not back on a shelf yet."""
    cancelled_orders: set[str] = field(default_factory=set)
    returning: dict[str, float] = field(default_factory=dict)
    """Pallets of cancelled orders set down in packing, waiting for their put-away
    task back to storage: EPC -> since (s)."""
    gone_out: dict[str, list[TaggedPallet]] = field(default_factory=dict)
    """Per order, the pallets that left on it, as they left (tags and all)."""
    to_return: dict[str, list[TaggedPallet]] = field(default_factory=dict)
    """Per order whose customer asked for a return: the pallets coming back."""
    returned: dict[str, str] = field(default_factory=dict)
    """Returned pallets not inspected yet: EPC -> return (RMA)."""
    transfer_of: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    """Orders that are transfers to another site: order -> (transfer, source,
    destination)."""
    transferred: dict[str, str] = field(default_factory=dict)
    """Pallets come on a transfer's truck, not yet through the door: EPC -> transfer."""


class Flow:
    """Schedules and carries out every movement; see the module docstring."""

    def __init__(
        self,
        layout: Layout,
        scenario: Scenario,
        seed: int,
        start: float,
        floor: Floor,
        frames: dict[str, DoorFrame],
        emit: TruthSink,
        on_fault: Callable[[FaultAction], None],
        director: Director | None = None,
    ) -> None:
        self.layout, self.scenario, self.seed, self.start = layout, scenario, seed, start
        self.floor, self.frames, self._emit, self._on_fault = floor, frames, emit, on_fault
        self.director = director
        self.rng = random.Random(seed)
        self.stage_rng = random.Random(stable_key("stage", seed))
        """Staging's own stream: which pallets, how long, where (and their shelf slot)."""
        self.turnback_rng = random.Random(stable_key("turnback", seed))
        """Turn-backs' own stream: when, how far, how long."""
        self.shrink_rng = random.Random(stable_key("shrinkage", seed))
        """Shrinkage's own stream: when, which pallet, to which zone."""
        self.return_rng = random.Random(stable_key("returns", seed))
        """Returns' own stream: which orders come back, the door, the verdicts."""
        self.transfer_rng = random.Random(stable_key("transfers", seed))
        """Transfers' own stream: when, how many pallets, the drive, the door."""
        self.work_rng = self.rng if director is None else random.Random(stable_key("work", seed))
        """The workers' draws (pick delays, travel, packing; mistakes' details): the
        business stream without a director (the history as it always was), a stream of
        their own with one."""
        self.now_s = 0.0
        self.stats = _Stats()
        self._queue: list[tuple[float, int, Callable[..., None], tuple[Any, ...]]] = []
        self._seq = 0
        self._door_free: dict[str, float] = {d.id: 0.0 for d in layout.doors}
        self._stored: dict[str, str] = {}  # epc -> zone, in putaway order
        self._shelved_at: dict[str, float] = {}  # epc -> when it was last shelved (s)
        self._bound_for: dict[str, int] = {}
        self._orders: dict[str, _Order] = {}
        self._order_of: dict[str, str] = {}
        self._scale_queue: list[str] = []
        self._lots: dict[tuple[str, str], Lot] = {}
        self._origin: dict[str, str] = {}  # epc -> truck or "stock"

        cat = scenario.catalog
        if isinstance(cat.skus, int):
            self.skus = generated_skus(cat.company_prefix, cat.skus, self.rng, cat.shelf_life_days)
        else:
            self.skus = [
                Sku(cat.company_prefix, s.item_reference, s.name, s.case_kg, s.shelf_life_days)
                for s in cat.skus
            ]
        self.issuer = TagIssuer(
            cat.company_prefix,
            next_sscc=1 + self.rng.randrange(10**7) * 100,
            next_serial=1 + self.rng.randrange(10**9) * 100,
        )
        zones = {z.id: z for z in layout.zones}
        self._areas: dict[str, Rect] = {z.id: z.area for z in layout.zones}
        storage = [z.id for z in layout.zones if z.kind == "storage"]
        self.storage_zones = storage or [z.id for z in layout.zones if z.kind != "packing"]
        self.storage_zones = self.storage_zones or [layout.zones[0].id]
        packing = [z.id for z in layout.zones if z.kind == "packing"]
        staging = [z.id for z in layout.zones if z.kind == "staging"]
        scale_zones = [s.zone for s in layout.scales]
        self.packing_zone = (packing or scale_zones or staging or [layout.zones[0].id])[0]
        self.staging_zone = staging[0] if staging else None
        self.scales = [s.id for s in layout.scales if s.zone == self.packing_zone]
        self._scale_busy: dict[str, str | None] = dict.fromkeys(self.scales)
        area = zones[self.packing_zone].area
        n = max(1, len(self.scales))
        self._scale_spot = {
            sid: (area.x + area.w * (i + 0.5) / n, area.y + area.h / 2)
            for i, sid in enumerate(self.scales)
        }
        all_doors = [d.id for d in layout.doors]
        self.inbound_doors = scenario.inbound.doors or all_doors
        self.outbound_doors = scenario.outbound.doors or all_doors
        self._initial_stock = 0
        self._wms = _WmsState()
        self._turnback_rate = scenario.turnbacks.per_hour / 3600.0
        self._next_turnback_s = self._turnback_gap()
        self._begin()
        shrinkage = scenario.shrinkage
        for kind, per_hour in (
            ("vanish", shrinkage.vanish_per_hour),
            ("misplace", shrinkage.misplace_per_hour),
        ):
            if per_hour > 0:
                gap = self.shrink_rng.expovariate(per_hour / 3600.0)
                self.schedule(gap, self._astray, kind, per_hour)

    # ------------------------------------------------------------------ the event queue

    def schedule(self, at_s: float, action: Callable[..., None], *args: Any) -> None:
        heapq.heappush(self._queue, (at_s, self._seq, action, args))
        self._seq += 1

    def run_until(self, s: float) -> None:
        """Carry out every event due at or before ``s`` (simulated seconds)."""
        while self._queue and self._queue[0][0] <= s:
            at_s, _, action, args = heapq.heappop(self._queue)
            self.now_s = at_s
            action(*args)
        self.now_s = max(self.now_s, s)

    @property
    def stored(self) -> dict[str, str]:
        """Pallets on storage shelves and not yet ordered (with a director: not yet
        picked): SSCC EPC -> zone."""
        return dict(self._stored)

    def next_event_s(self) -> float | None:
        return self._queue[0][0] if self._queue else None

    # ------------------------------------------------------------------ truth

    def _truth(self, event: str, epc: str | None = None, **fields: Any) -> None:
        core = {k: fields.pop(k, None) for k in ("door", "direction", "zone")}
        self._emit(
            TruthEvent(self.start + self.now_s, self.now_s, event, epc, **core, extra=fields)
        )

    def _pallet_fields(self, p: Pallet) -> dict[str, Any]:
        return {
            "sscc": p.sscc,
            "cases": p.case_epcs,
            "sku": p.sku.gtin,
            "sku_name": p.sku.name,
            "lot": p.lot.code,
            "expiry": p.lot.expiry.isoformat(),
        }

    # ------------------------------------------------------------------ start

    def _begin(self) -> None:
        sc = self.scenario
        for zone in sc.stock.zones or self.storage_zones:
            for _ in range(sc.stock.pallets_per_zone):
                sku = self.rng.choice(self.skus)
                lot = self._lot(sku, "stock", self.rng.randint(20, 90))
                p = self._new_pallet(lot, None, "stock")
                slot = self._slot(zone)
                if self.director is None:
                    self._stock(p, zone, slot)
                else:
                    self._wms.opening.append((p, zone, slot))
        if self.director is None:
            self._start_business(0.0)
        else:
            stock = [p for p, _, _ in self._wms.opening]
            self.director.opening(self.skus, sc.catalog.pallet_tare_kg, stock)
            self.schedule(sc.erp.open_wait_s, self.open_business, True)
        for fault in sc.faults:
            self.schedule(fault.at_s, self._fault, fault, True)
            if fault.end_s is not None:
                self.schedule(fault.end_s, self._fault, fault, False)

    def _stock(self, p: Pallet, zone: str, slot: Shelved) -> None:
        self.floor.place(p.epc, slot)
        self._stored[p.epc] = zone
        self._shelved_at[p.epc] = self.now_s
        self._initial_stock += 1
        self._truth("stock", p.epc, zone=zone, **self._pallet_fields(p))

    def _start_business(self, offset_s: float) -> None:
        """Trucks and orders from now on; scripted ones ``offset_s`` after their time."""
        sc = self.scenario
        if sc.inbound.enabled and self.inbound_doors:
            self.schedule(self._uniform(sc.inbound.first_truck_s), self._random_truck)
        if sc.outbound.enabled and self.outbound_doors:
            self.schedule(self._uniform(sc.outbound.first_order_s), self._random_order)
        for truck in sc.trucks:
            self.schedule(
                offset_s + truck.at, self._truck, truck.door, truck.pallets, truck.sku, truck.cases
            )
        for order in sc.orders:
            self.schedule(offset_s + order.at, self._order, order.door, order.pallets, order.sku)
        if self.director is not None and sc.erp.transfer_per_hour > 0:
            gap = self.transfer_rng.expovariate(sc.erp.transfer_per_hour / 3600.0)
            self.schedule(self.now_s + gap, self._transfer_wanted)

    def open_business(self, timed_out: bool = False) -> None:
        """(With a director.) The item master and the opening stock are announced: the
        stock is on its shelves from now on (its ``stock`` lines) and trucks and orders
        begin, scripted ones counted from now. ``timed_out``: the director never said
        so within ``erp.open_wait_s``; the warehouse opens anyway (logged)."""
        w = self._wms
        if w.opened:
            return
        w.opened = True
        if timed_out:
            logger.warning(
                "the opening stock was not announced within %g s: the warehouse opens without",
                self.scenario.erp.open_wait_s,
            )
        for p, zone, slot in w.opening:
            self._stock(p, zone, slot)
        w.opening = []
        self._start_business(self.now_s)

    # ------------------------------------------------------------------ helpers

    def _uniform(self, r: tuple[float, float], rng: random.Random | None = None) -> float:
        return self.now_s + (rng or self.rng).uniform(*r)

    def _today(self) -> date:
        return datetime.fromtimestamp(self.start + self.now_s, UTC).date()

    def _lot(self, sku: Sku, batch: str, age_days: int) -> Lot:
        key = (sku.item_reference, batch)
        if key not in self._lots:
            self._lots[key] = self.issuer.lot(sku, self._today() - timedelta(days=age_days))
        return self._lots[key]

    def _new_pallet(self, lot: Lot, cases: int | None, origin: str) -> Pallet:
        count = (
            cases
            if cases is not None
            else self.rng.randint(*self.scenario.catalog.cases_per_pallet)
        )
        p = self.issuer.pallet(lot, count, self.scenario.catalog.pallet_tare_kg, self.rng)
        self.floor.add(TaggedPallet.of(p, self.seed))
        self._origin[p.epc] = origin
        return p

    def _slot(self, zone: str, rng: random.Random | None = None) -> Shelved:
        rng = rng or self.rng
        r = self._areas[zone]
        mx, my = min(1.0, r.w / 4), min(1.0, r.h / 4)
        x = rng.uniform(r.x + mx, r.x + r.w - mx)
        y = rng.uniform(r.y + my, r.y + r.h - my)
        return Shelved(zone, round(x, 2), round(y, 2))

    def _sku(self, ref: str | None) -> Sku:
        if ref is None:
            return self.rng.choice(self.skus)
        for s in self.skus:
            if ref in (s.item_reference, s.gtin):
                return s
        known = [s.item_reference for s in self.skus]
        raise ScenarioError(f"sku {ref!r} is no item_reference or GTIN of the catalog ({known})")

    def _stock_bias(self) -> int:
        """+1 when stock is well above where it started, -1 when well below (keeps a
        run of days from drifting to empty or overflowing shelves)."""
        if self._initial_stock == 0:
            return 0
        ratio = len(self._stored) / self._initial_stock
        return 1 if ratio > 1.3 else -1 if ratio < 0.7 else 0

    # ------------------------------------------------------------------ doors

    def _through_door(
        self, door: str, direction: Direction, epcs: list[str], earliest: float
    ) -> None:
        t = self.scenario.timing
        for i, epc in enumerate(epcs):
            t0 = max(earliest + i * t.pallet_gap_s, self._door_free[door])
            if self.now_s >= self._next_turnback_s:  # this approach turns back first
                plan = self._plan_turnback(door)
                self.schedule(t0, self._turnback_start, epc, door, direction, plan)
                t0 += plan.duration_s + t.door_clear_s
                self._next_turnback_s = self.now_s + self._turnback_gap()
            self._door_free[door] = t0 + t.passage_s + t.door_clear_s
            self.schedule(t0, self._passage_start, epc, door, direction)

    def _passage_start(self, epc: str, door: str, direction: Direction) -> None:
        t = self.scenario.timing
        frame = self.frames[door]
        outside, inside = -t.approach_m, frame.depth + t.approach_m
        a, b = (outside, inside) if direction == "inbound" else (inside, outside)
        t0 = self.start + self.now_s
        lateral = round(self.rng.uniform(-0.1, 0.1) * frame.width, 2)
        self.floor.place(epc, Passage(door, direction, t0, t0 + t.passage_s, a, b, lateral))
        self.schedule(self.now_s + t.passage_s / 2, self._crossing, epc, door, direction)
        self.schedule(self.now_s + t.passage_s, self._passage_end, epc, door, direction)

    def _crossing(self, epc: str, door: str, direction: Direction) -> None:
        p = self.floor.get(epc).pallet
        if direction == "inbound" and self.director is not None:
            self._wms.inbound.add(epc)  # its put-away task may come from now on
        event = "arrival" if direction == "inbound" else "outbound"
        ref = (
            {"truck": self._origin[epc]}
            if direction == "inbound"
            else {"order": self._order_of[epc]}
        )
        if direction == "inbound" and epc in self._wms.returned:
            ref["rma"] = self._wms.returned[epc]
        if direction == "inbound" and epc in self._wms.transferred:
            ref["transfer"] = self._wms.transferred.pop(epc)
        self._truth(event, epc, door=door, direction=direction, **ref, **self._pallet_fields(p))

    def _passage_end(self, epc: str, door: str, direction: Direction) -> None:
        if direction == "outbound":
            tagged = self.floor.get(epc)
            self.floor.remove(epc)
            order = self._order_of.pop(epc, None)
            self._origin.pop(epc, None)
            self.stats.shipped += 1
            task = self._wms.shipping.pop(epc, None)
            if order is not None and task is not None:
                self._wms.gone_out.setdefault(order, []).append(tagged)
            if task is not None:
                self._wms.left[task] -= 1
                if self._wms.left[task] == 0:
                    del self._wms.left[task]
                    self._done(task)
                    if order is not None and order in self._wms.transfer_of:
                        self._truck_leaves(order)
                    elif order is not None:
                        self._maybe_returned(order)
            return
        if self.director is not None:
            self._to_storage(epc, door)
            return
        zone = min(
            self.storage_zones, key=lambda z: self.floor.count_in(z) + self._bound_for.get(z, 0)
        )
        self._bound_for[zone] = self._bound_for.get(zone, 0) + 1
        timing = self.scenario.timing
        arrive_s = self._uniform(timing.travel_s)
        if timing.stage_share > 0 and self.stage_rng.random() < timing.stage_share:
            self._stage(epc, door, zone, arrive_s - self.now_s)
            return
        self.floor.place(epc, Travelling(door, zone))
        self.schedule(arrive_s, self._putaway, epc, zone)

    # ------------------------------------------------------------------ staging

    def _stage(self, epc: str, door: str, zone: str | None, travel_s: float) -> None:
        """Set the pallet down just inside the door, in the inside antennas' field; a
        forklift takes it on to ``zone`` (None: to storage, its zone to come from its
        put-away task) after a while."""
        rng, frame = self.stage_rng, self.frames[door]
        stay_s = rng.uniform(*self.scenario.timing.stage_s)
        lateral = round(rng.uniform(-0.25, 0.25) * frame.width, 2)
        depth = round(frame.depth + rng.uniform(2.0, 4.0), 2)
        self.floor.place(epc, Staged(door, self.staging_zone, lateral, depth))
        self.stats.staged += 1
        until_s = round(self.now_s + stay_s, 3)
        p = self.floor.get(epc).pallet
        self._truth(
            "stage",
            epc,
            door=door,
            zone=self.staging_zone,
            until_s=until_s,
            **self._pallet_fields(p),
        )
        self.schedule(self.now_s + stay_s, self._unstage, epc, door, zone, travel_s)

    def _unstage(self, epc: str, door: str, zone: str | None, travel_s: float) -> None:
        if zone is None:
            self.floor.place(epc, Travelling(door, "storage"))
            self.schedule(self.now_s + travel_s, self._reach_storage, epc)
            return
        self.floor.place(epc, Travelling(door, zone))
        self.schedule(self.now_s + travel_s, self._putaway, epc, zone, True)

    # ------------------------------------------------------------------ turn-backs

    def _turnback_gap(self) -> float:
        if self._turnback_rate <= 0:
            return math.inf
        return self.turnback_rng.expovariate(self._turnback_rate)

    def _plan_turnback(self, door: str) -> _TurnbackPlan:
        """How far short of the door's middle the forklift stops (at most 4 m in front of
        the face it comes to, at least 0.5 m short of the middle), how long it stands."""
        rng, t, frame = self.turnback_rng, self.scenario.timing, self.frames[door]
        middle = frame.depth / 2
        shortfall = rng.uniform(0.5, middle + 4.0)  # metres short of the middle
        shortfall = round(min(shortfall, t.approach_m + middle - 0.1), 2)
        pause_s = rng.uniform(*self.scenario.turnbacks.pause_s)
        lateral = round(rng.uniform(-0.1, 0.1) * frame.width, 2)
        speed = (2 * t.approach_m + frame.depth) / t.passage_s
        distance = t.approach_m + middle - shortfall
        return _TurnbackPlan(shortfall, pause_s, lateral, 2 * distance / speed + pause_s)

    def _turnback_start(
        self, epc: str, door: str, direction: Direction, plan: _TurnbackPlan
    ) -> None:
        t, frame = self.scenario.timing, self.frames[door]
        middle = frame.depth / 2
        if direction == "inbound":  # from the truck: outside, depth negative
            start, turn = -t.approach_m, middle - plan.shortfall_m
        else:
            start, turn = frame.depth + t.approach_m, middle + plan.shortfall_m
        came_from = self.floor.get(epc).placement
        t0 = self.start + self.now_s
        move = Turnback(
            door, direction, t0, t0 + plan.duration_s, start, turn, plan.pause_s, plan.lateral
        )
        self.floor.place(epc, move)
        turn_s = move.turn_at - self.start
        self.schedule(turn_s, self._turnback_turn, epc, door, direction, move)
        self.schedule(self.now_s + plan.duration_s, self._turnback_end, epc, came_from)

    def _turnback_turn(self, epc: str, door: str, direction: Direction, move: Turnback) -> None:
        self.stats.turnbacks += 1
        p = self.floor.get(epc).pallet
        ref = (
            {"truck": self._origin[epc]}
            if direction == "inbound"
            else {"order": self._order_of[epc]}
        )
        self._truth(
            "turnback",
            epc,
            door=door,
            direction=direction,
            from_s=round(move.t0 - self.start, 3),
            until_s=round(move.t1 - self.start, 3),
            **ref,
            **self._pallet_fields(p),
        )

    def _turnback_end(self, epc: str, came_from: Placement) -> None:
        """Back where it came from (the truck, or its packing spot); it goes on later."""
        self.floor.place(epc, came_from)

    # ------------------------------------------------------------------ shrinkage

    def _astray(self, kind: str, per_hour: float) -> None:
        """A shelved pallet (settled for ``shrinkage.settled_s``) vanishes or is moved to
        another storage zone, on no task; the next one of ``kind`` is scheduled."""
        rng = self.shrink_rng
        self.schedule(self.now_s + rng.expovariate(per_hour / 3600.0), self._astray, kind, per_hour)
        settled = self.now_s - self.scenario.shrinkage.settled_s
        candidates = [e for e in self._stored if self._shelved_at.get(e, math.inf) <= settled]
        if kind == "misplace" and len(self.storage_zones) < 2:
            return
        if not candidates:
            return
        epc = rng.choice(candidates)
        zone = self._stored[epc]
        if kind == "vanish":
            del self._stored[epc]
            self._shelved_at.pop(epc, None)
            self.floor.remove(epc)
            self.stats.extra["vanished"] = self.stats.extra.get("vanished", 0) + 1
            self._truth("vanish", epc, zone=zone)
            return
        to_zone = rng.choice([z for z in self.storage_zones if z != zone])
        self.floor.place(epc, self._slot(to_zone, rng))
        self._stored[epc] = to_zone
        self._shelved_at[epc] = self.now_s
        self.stats.extra["misplaced"] = self.stats.extra.get("misplaced", 0) + 1
        self._truth("misplace", epc, zone=zone, to_zone=to_zone)

    # ------------------------------------------------------------------ inbound

    def _random_truck(self) -> None:
        sc = self.scenario.inbound
        n = max(1, self.rng.randint(*sc.pallets_per_truck) - max(0, self._stock_bias()))
        self._truck(self.rng.choice(self.inbound_doors), n, None, None)
        self.schedule(self._uniform(sc.truck_every_s), self._random_truck)

    def _truck(self, door: str, pallets: int, sku_ref: str | None, cases: int | None) -> None:
        self.stats.trucks += 1
        truck_id = f"truck-{self.stats.trucks:04d}"
        loaded = []
        for _ in range(pallets):
            sku = self._sku(sku_ref)
            lot = self._lot(sku, truck_id, self.rng.randint(1, 20))
            loaded.append(self._new_pallet(lot, cases, truck_id))
        if self.director is None:
            self._dock(truck_id, door, loaded)
            return
        self._wms.yard[truck_id] = (door, loaded)
        self.director.truck_arriving(truck_id, door, loaded, self.start + self.now_s)
        wait_s = self.scenario.erp.notice_wait_s
        self.schedule(self.now_s + wait_s, self._notice_timeout, truck_id)

    def notice_posted(self, truck: str) -> None:
        """(With a director.) ``truck``'s advance ship notice is posted: it docks now."""
        found = self._wms.yard.pop(truck, None)
        if found is not None:
            self._dock(truck, *found)

    def _notice_timeout(self, truck: str) -> None:
        found = self._wms.yard.pop(truck, None)
        if found is not None:
            logger.warning(
                "%s: no notice posted after %g s in the yard; it docks without",
                truck,
                self.scenario.erp.notice_wait_s,
            )
            self._dock(truck, *found)

    def _dock(self, truck_id: str, door: str, loaded: list[Pallet]) -> None:
        self._truth(
            "truck",
            door=door,
            direction="inbound",
            truck=truck_id,
            pallets=[
                {
                    "epc": p.epc,
                    "sscc": p.sscc,
                    "sku": p.sku.gtin,
                    "lot": p.lot.code,
                    "cases": len(p.cases),
                }
                for p in loaded
            ],
        )
        earliest = self.now_s + self.scenario.timing.dock_s
        self._through_door(door, "inbound", [p.epc for p in loaded], earliest)

    def _putaway(self, epc: str, zone: str, staged: bool = False) -> None:
        self._bound_for[zone] -= 1
        # a staged pallet's slot comes from staging's stream: the business stream's
        # draws stay in the order they would have been without staging
        self._shelve(epc, zone, self.stage_rng if staged else self.rng)

    def _on_shelf(self, epc: str, zone: str, rng: random.Random) -> Pallet:
        """The pallet set down on a shelf of ``zone`` (its ``putaway`` line)."""
        self.floor.place(epc, self._slot(zone, rng))
        self._stored[epc] = zone
        self._shelved_at[epc] = self.now_s
        p = self.floor.get(epc).pallet
        self._truth("putaway", epc, zone=zone, **self._pallet_fields(p))
        return p

    def _shelve(self, epc: str, zone: str, rng: random.Random) -> None:
        """A received pallet on its shelf (a returned one then goes to inspection)."""
        p = self._on_shelf(epc, zone, rng)
        self.stats.received += 1
        rma = self._wms.returned.get(epc)
        if rma is not None and self.director is not None:
            share = self.scenario.workers.write_off_share
            verdict = "write_off" if self.return_rng.random() < share else "restock"
            self.director.inspect_return(rma, p, verdict)

    # ------------------------------------------------------------------ put-away by task

    def _to_storage(self, epc: str, door: str) -> None:
        """(With a director.) Through the door: staged for a while or not, then driven
        toward storage; its zone comes from its put-away task."""
        timing = self.scenario.timing
        travel_s = self.work_rng.uniform(*timing.travel_s)
        if timing.stage_share > 0 and self.stage_rng.random() < timing.stage_share:
            self._stage(epc, door, None, travel_s)
            return
        self.floor.place(epc, Travelling(door, "storage"))
        self.schedule(self.now_s + travel_s, self._reach_storage, epc)

    def _reach_storage(self, epc: str) -> None:
        known = self._wms.putaway_to.pop(epc, None)
        if known is not None:
            task, zone = known
            self._put_away_by_task(epc, zone, task)
            return
        self._wms.at_storage[epc] = self.now_s  # the driver waits for the task
        wait_s = self.scenario.workers.task_wait_s
        self.schedule(self.now_s + wait_s, self._putaway_timeout, epc)

    def putaway_task(self, task: str, epc: str, zone: str) -> None:
        """(With a director.) Put-away ``task``: pallet ``epc`` to ``zone``. Carried out
        when the pallet reaches storage (at once if it is waiting there)."""
        w = self._wms
        if zone not in self._areas:
            self._refuse(task, f"zone {zone!r} is not a zone of the layout")
        elif epc in w.at_storage:
            del w.at_storage[epc]
            self._put_away_by_task(epc, zone, task)
        elif epc in w.returning:
            del w.returning[epc]
            self._return_to_shelf(epc, zone, task)
        elif (epc in w.inbound or epc in w.cancelled) and epc not in w.putaway_to:
            w.putaway_to[epc] = (task, zone)
        else:
            self._refuse(task, f"pallet {epc} is not on its way to storage")

    def _put_away_by_task(self, epc: str, zone: str, task: str) -> None:
        self._wms.inbound.discard(epc)
        self._shelve(epc, zone, self.work_rng)
        self._done(task)

    def _putaway_timeout(self, epc: str) -> None:
        if self._wms.at_storage.pop(epc, None) is None:
            return
        zone = min(self.storage_zones, key=self.floor.count_in)
        logger.warning(
            "pallet %s: no put-away task %g s after reaching storage; the driver takes it to %s",
            epc,
            self.scenario.workers.task_wait_s,
            zone,
        )
        self._wms.inbound.discard(epc)
        self._shelve(epc, zone, self.work_rng)

    # ------------------------------------------------------------------ outbound

    def _random_order(self) -> None:
        sc = self.scenario.outbound
        n = max(1, self.rng.randint(*sc.pallets_per_order) + self._stock_bias())
        if self.director is not None:
            self.director.order_wanted(self.rng.choice(self.outbound_doors), n, None)
        elif self._stored:
            self._order(self.rng.choice(self.outbound_doors), n, None)
        self.schedule(self._uniform(sc.order_every_s), self._random_order)

    def _order(self, door: str, pallets: int, sku_ref: str | None) -> None:
        if self.director is not None:
            sku = None if sku_ref is None else self._sku(sku_ref)
            self.director.order_wanted(door, pallets, sku)
            return
        if sku_ref is None:
            candidates = list(self._stored)
            chosen = self.rng.sample(candidates, min(pallets, len(candidates)))
        else:
            sku = self._sku(sku_ref)
            candidates = [e for e in self._stored if self.floor.get(e).pallet.sku == sku]
            chosen = candidates[:pallets]  # oldest first
        if not chosen:
            logger.info("order at %s: nothing in stock to pick (sku %s)", door, sku_ref)
            return
        self.stats.orders += 1
        order = _Order(f"order-{self.stats.orders:04d}", door, chosen)
        self._orders[order.order_id] = order
        self._truth("order", door=door, direction="outbound", order=order.order_id, pallets=chosen)
        for epc in chosen:
            self._order_of[epc] = order.order_id
            zone = self._stored.pop(epc)
            delay = self.scenario.timing.pick_delay_s
            self.schedule(self._uniform(delay, self.work_rng), self._pick, epc, zone)

    def _pick(self, epc: str, zone: str) -> None:
        p = self.floor.get(epc).pallet
        self._truth("pick", epc, zone=zone, order=self._order_of[epc], **self._pallet_fields(p))
        self.floor.place(epc, Travelling(zone, self.packing_zone))
        travel = self.scenario.timing.travel_s
        self.schedule(self._uniform(travel, self.work_rng), self._pack, epc)

    def _pack(self, epc: str) -> None:
        p = self.floor.get(epc).pallet
        self.floor.place(epc, self._slot(self.packing_zone, self.work_rng))
        self._truth(
            "pack", epc, zone=self.packing_zone, order=self._order_of[epc], **self._pallet_fields(p)
        )
        task = self._wms.missing_case.pop(epc, None)
        if task is not None:
            self._take_case_off(epc, task)
        pack = self.scenario.timing.pack_s
        self.schedule(self._uniform(pack, self.work_rng), self._packed, epc)

    def _packed(self, epc: str) -> None:
        if not self.scales:
            self._ready(epc)
            return
        self._scale_queue.append(epc)
        self._use_scales()

    def _use_scales(self) -> None:
        for scale, holding in self._scale_busy.items():
            if holding is None and self._scale_queue:
                epc = self._scale_queue.pop(0)
                self._scale_busy[scale] = epc
                x, y = self._scale_spot[scale]
                self.floor.place(epc, OnScale(scale, self.packing_zone, x, y))
                p = self.floor.get(epc).pallet
                until_s = round(self.now_s + self.scenario.timing.weigh_s, 3)
                self._truth(
                    "weigh",
                    epc,
                    zone=self.packing_zone,
                    scale=scale,
                    weight_kg=p.gross_kg,
                    order=self._order_of[epc],
                    until_s=until_s,
                    **self._pallet_fields(p),
                )
                self.schedule(
                    self.now_s + self.scenario.timing.weigh_s, self._off_scale, scale, epc
                )

    def _off_scale(self, scale: str, epc: str) -> None:
        self._scale_busy[scale] = None
        self.floor.place(epc, self._slot(self.packing_zone, self.work_rng))
        self._ready(epc)
        self._use_scales()

    def _ready(self, epc: str) -> None:
        if self.director is not None:
            if epc in self._wms.cancelled:  # its order was cancelled on the way
                self._await_return(epc)
                return
            self._wms.ready.add(epc)
            self._maybe_ship(self._order_of[epc])
            return
        order = self._orders[self._order_of[epc]]
        order.ready += 1
        if order.ready == len(order.pallets):
            del self._orders[order.order_id]
            earliest = self.now_s + self.scenario.timing.load_delay_s
            self._through_door(order.door, "outbound", order.pallets, earliest)

    # ------------------------------------------------------------------ orders by task

    def order_placed(self, order: str, door: str, pallets: list[str]) -> None:
        """(With a director.) Order ``order`` is placed and reserved ``pallets`` (SSCC
        EPCs) to leave through ``door``: its ``order`` line; its picks come as tasks."""
        self.stats.orders += 1
        self._wms.claimed.update(pallets)
        self._wms.order_door[order] = door
        self._truth("order", door=door, direction="outbound", order=order, pallets=pallets)

    def pick_task(
        self,
        task: str,
        epc: str,
        order: str,
        mistake: MistakeKind | None,
        named: Sequence[str] = (),
    ) -> None:
        """(With a director.) Pick ``task``: pallet ``epc`` off its shelf to packing for
        ``order``. ``wrong_pallet``: another stored pallet of the same item, on no
        order, is taken instead (none: the task is done right); ``missing_case``: a case
        comes off the pallet at packing, before it is weighed. ``named``: the pallets the
        WMS's open pick tasks name, on orders (whose order lines the ERP may not have
        passed on yet)."""
        w = self._wms
        w.claimed.update(named)
        if order in w.cancelled_orders:
            self._refuse(task, f"order {order} is cancelled")
            return
        if epc not in self._stored:
            self._refuse(task, f"pallet {epc} is not on a shelf")
            return
        w.claimed.add(epc)
        taken = epc
        if mistake == "wrong_pallet":
            sku = self.floor.get(epc).pallet.sku
            others = [
                e
                for e in self._stored
                if e != epc
                and e not in w.claimed
                and e not in w.returned
                and self.floor.get(e).pallet.sku == sku
            ]
            if others:
                taken = self.work_rng.choice(others)
            else:
                logger.info("%s: no other pallet of item %s to take by mistake", task, sku.gtin)
        zone = self._stored.pop(taken)
        self._order_of[taken] = order
        w.held.setdefault(order, []).append(taken)
        if mistake == "missing_case":
            w.missing_case[taken] = task
        delay = self.work_rng.uniform(*self.scenario.timing.pick_delay_s)
        instead_of = epc if taken != epc else None
        self.schedule(self.now_s + delay, self._pick_by_task, task, taken, zone, instead_of)

    def _pick_by_task(self, task: str, epc: str, zone: str, instead_of: str | None) -> None:
        if instead_of is not None:
            self._mistake("wrong_pallet", epc, zone=zone, task=task, instead_of=instead_of)
        self._pick(epc, zone)
        self._done(task)

    def _take_case_off(self, epc: str, task: str) -> None:
        """A case comes off the pallet in packing (and stays there) before the scale."""
        p = self.floor.get(epc).pallet
        if len(p.cases) < 2:
            return
        case = self.work_rng.choice(p.cases)
        self.floor.take_case(epc, case.epc)
        self.floor.place(case.epc, self._slot(self.packing_zone, self.work_rng))
        rest = self.floor.get(epc).pallet
        self._mistake(
            "missing_case",
            epc,
            zone=self.packing_zone,
            task=task,
            case=case.epc,
            case_kg=case.weight_kg,
            weight_kg=rest.gross_kg,
        )

    def ship_task(self, task: str, order: str, door: str, mistake: MistakeKind | None) -> None:
        """(With a director.) Ship ``task``: load ``order``'s pallets through ``door``,
        every pallet the workers took for it, once all are packed and weighed.
        ``wrong_door``: through another outbound door."""
        w = self._wms
        if door not in self.frames:
            self._refuse(task, f"door {door!r} is not a door of the layout")
        elif not w.held.get(order):
            self._refuse(task, f"no pallet of order {order} is in packing")
        elif order in w.ship_plan:
            self._refuse(task, f"order {order} has ship task {w.ship_plan[order][0]} already")
        else:
            w.ship_plan[order] = (task, door, mistake)
            self._maybe_ship(order)

    def _maybe_ship(self, order: str) -> None:
        w = self._wms
        held = w.held.get(order, [])
        if not held or not all(e in w.ready for e in held):
            return
        plan = w.ship_plan.pop(order, None)
        if plan is None:
            wait_s = self.scenario.workers.task_wait_s
            self.schedule(self.now_s + wait_s, self._still_packed, order, tuple(held))
            return
        task, door, mistake = plan
        del w.held[order]
        if mistake == "wrong_door":
            others = [d for d in self.outbound_doors if d != door]
            others = others or [d for d in self.frames if d != door]
            if others:
                wrong = self.work_rng.choice(others)
                for epc in held:
                    self._mistake("wrong_door", epc, door=wrong, task=task, task_door=door)
                door = wrong
        w.left[task] = len(held)
        for epc in held:
            w.ready.discard(epc)
            w.shipping[epc] = task
        self._through_door(door, "outbound", held, self.now_s + self.scenario.timing.load_delay_s)

    def weigh_task(self, task: str, epc: str) -> None:
        """(With a director.) Weigh ``task``: pallet ``epc``, set down in packing after
        its weighing, goes onto the scale again (behind those queued; a ``weigh`` line
        as the first). Done at once when it is on a scale or queued for one already."""
        w = self._wms
        if epc in self._scale_queue or epc in self._scale_busy.values():
            self._done(task)
        elif epc in w.ready and epc not in w.shipping:
            w.ready.discard(epc)
            self._scale_queue.append(epc)
            self._use_scales()
            self._done(task)
        else:
            self._refuse(task, f"pallet {epc} is not set down in packing")

    def pallets_in_packing(self, order: str) -> list[Pallet]:
        """(With a director.) What a person counting ``order``'s pallets finds in
        packing: each pallet the workers took for it that stands there (set down or on
        a scale), as it is now (a case taken off it is not on it)."""
        found = []
        for epc in self._wms.held.get(order, []):
            tp = self.floor.pallets.get(epc)
            if tp is None:
                continue
            match tp.placement:
                case Shelved(zone=zone) | OnScale(zone=zone) if zone == self.packing_zone:
                    found.append(tp.pallet)
        return found

    def order_cancelled(self, order: str) -> None:
        """(With a director.) The WMS cancelled ``order`` (its ``cancel`` truth line):
        its ship plan is dropped and each pallet the workers took for it goes back to
        a shelf on its put-away task, once it is set down in packing (at once if it
        is); a pallet already on its way out goes on (the WMS refuses such a cancel)."""
        w = self._wms
        held = [e for e in w.held.pop(order, []) if e not in w.shipping]
        w.ship_plan.pop(order, None)
        w.cancelled_orders.add(order)
        self._truth("cancel", order=order, door=w.order_door.get(order), pallets=held)
        for epc in held:
            w.claimed.discard(epc)
            w.cancelled.add(epc)
            if epc in w.ready:
                w.ready.discard(epc)
                self._await_return(epc)

    def _await_return(self, epc: str) -> None:
        known = self._wms.putaway_to.pop(epc, None)
        if known is not None:
            task, zone = known
            self._return_to_shelf(epc, zone, task)
            return
        self._wms.returning[epc] = self.now_s
        wait_s = self.scenario.workers.task_wait_s
        self.schedule(self.now_s + wait_s, self._return_timeout, epc)

    def _return_to_shelf(self, epc: str, zone: str, task: str | None) -> None:
        """A cancelled order's pallet leaves packing (``unpack``) for ``zone``."""
        p = self.floor.get(epc).pallet
        order = self._order_of.get(epc)
        self._truth("unpack", epc, zone=self.packing_zone, order=order, **self._pallet_fields(p))
        self.floor.place(epc, Travelling(self.packing_zone, zone))
        travel_s = self.work_rng.uniform(*self.scenario.timing.travel_s)
        self.schedule(self.now_s + travel_s, self._restocked, epc, zone, task)

    def _restocked(self, epc: str, zone: str, task: str | None) -> None:
        w = self._wms
        w.cancelled.discard(epc)
        self._order_of.pop(epc, None)
        self._on_shelf(epc, zone, self.work_rng)
        if task is not None:
            self._done(task)

    def _return_timeout(self, epc: str) -> None:
        if self._wms.returning.pop(epc, None) is None:
            return
        zone = min(self.storage_zones, key=self.floor.count_in)
        logger.warning(
            "pallet %s: its order was cancelled and no put-away task came in %g s; the"
            " driver takes it back to %s",
            epc,
            self.scenario.workers.task_wait_s,
            zone,
        )
        self._return_to_shelf(epc, zone, None)

    def _still_packed(self, order: str, held: tuple[str, ...]) -> None:
        if tuple(self._wms.held.get(order, ())) == held and order not in self._wms.ship_plan:
            logger.warning(
                "order %s: %d pallet(s) packed for %g s and no ship task (is it on hold?); "
                "they stay in packing: a pallet leaves only on a ship task",
                order,
                len(held),
                self.scenario.workers.task_wait_s,
            )

    def _mistake(self, kind: MistakeKind, epc: str, **fields: Any) -> None:
        self.stats.mistakes += 1
        order = self._order_of[epc]
        fields.setdefault("door", self._wms.order_door.get(order))
        fields.setdefault("zone", None)
        p = self.floor.get(epc).pallet
        self._truth("mistake", epc, kind=kind, order=order, **fields, **self._pallet_fields(p))

    def _done(self, task: str) -> None:
        assert self.director is not None
        self.director.task_done(task)

    def _refuse(self, task: str, reason: str) -> None:
        assert self.director is not None
        logger.info("task %s not carried out: %s", task, reason)
        self.director.task_refused(task, reason)

    # ------------------------------------------------------------------ returns

    def _maybe_returned(self, order: str) -> None:
        """``order``'s last pallet left: its customer sends it all back, for a share of
        the orders, ``erp.return_after_s`` later."""
        erp = self.scenario.erp
        if erp.return_share > 0 and self.return_rng.random() < erp.return_share:
            self.schedule(self.now_s + erp.return_after_s, self._return_wanted, order)
        else:
            self._wms.gone_out.pop(order, None)

    def _return_wanted(self, order: str) -> None:
        tagged = self._wms.gone_out.pop(order, [])
        if not tagged or self.director is None:
            return
        self._wms.to_return[order] = tagged
        self.director.return_wanted(order, [tp.pallet for tp in tagged])

    def return_posted(self, order: str, rma: str) -> None:
        """(With a director.) Return ``rma`` of ``order`` is posted: its truck docks at an
        inbound door ``erp.return_transit_s`` later with the very pallets that left."""
        tagged = self._wms.to_return.pop(order, None)
        if tagged is None:
            return
        door = self.return_rng.choice(self.inbound_doors or list(self.frames))
        wait_s = self.scenario.erp.return_transit_s
        self.schedule(self.now_s + wait_s, self._return_truck, order, rma, door, tagged)

    def return_dropped(self, order: str) -> None:
        """(With a director.) No return of ``order`` could be posted: nothing comes back."""
        if self._wms.to_return.pop(order, None) is not None:
            logger.info("order %s: its return was not posted; nothing comes back", order)

    def _return_truck(self, order: str, rma: str, door: str, tagged: list[TaggedPallet]) -> None:
        """The return's truck docks (its ``return`` line); its pallets cross inbound, their
        own tags on them, and go to storage like any arrival."""
        self.stats.extra["returned"] = self.stats.extra.get("returned", 0) + len(tagged)
        self._truth(
            "return",
            door=door,
            direction="inbound",
            order=order,
            rma=rma,
            pallets=[
                {
                    "epc": tp.pallet.epc,
                    "sscc": tp.pallet.sscc,
                    "sku": tp.pallet.sku.gtin,
                    "lot": tp.pallet.lot.code,
                    "cases": len(tp.pallet.cases),
                }
                for tp in tagged
            ],
        )
        for tp in tagged:  # removed as it left: placed nowhere until its passage
            self.floor.add(tp)
            self._origin[tp.pallet.epc] = rma
            self._wms.returned[tp.pallet.epc] = rma
        earliest = self.now_s + self.scenario.timing.dock_s
        self._through_door(door, "inbound", [tp.pallet.epc for tp in tagged], earliest)

    def return_inspected(self, rma: str, epc: str, verdict: str | None) -> None:
        """(With a director.) Pallet ``epc`` of ``rma`` was inspected (None: the
        inspection could not be posted; it stays on its shelf). A written-off pallet
        still on its shelf is taken out of the warehouse (``write_off``)."""
        if self._wms.returned.pop(epc, None) is None:
            return
        if verdict != "write_off" or epc not in self._stored:
            return
        zone = self._stored.pop(epc)
        self._shelved_at.pop(epc, None)
        p = self.floor.get(epc).pallet
        self.floor.remove(epc)
        self._origin.pop(epc, None)
        self.stats.extra["written_off"] = self.stats.extra.get("written_off", 0) + 1
        self._truth("write_off", epc, zone=zone, rma=rma, **self._pallet_fields(p))

    # ------------------------------------------------------------------ transfers

    def _transfer_wanted(self) -> None:
        """Some pallets are to go to another site (``erp.transfer_per_hour``)."""
        erp = self.scenario.erp
        rng = self.transfer_rng
        self.schedule(
            self.now_s + rng.expovariate(erp.transfer_per_hour / 3600.0), self._transfer_wanted
        )
        if self.director is not None:
            self.director.transfer_wanted(rng.randint(*erp.transfer_pallets))

    def transfer_placed(
        self,
        transfer: str,
        order: str,
        sites: tuple[str, str],
        door: str | None,
        pallets: list[str],
    ) -> None:
        """(With a director.) Transfer ``transfer`` between ``sites`` (from this one, to
        the other) is posted; its order
        ``order`` at this site reserved ``pallets`` (SSCC EPCs): its ``transfer`` line;
        its picks and its shipping come as tasks, as an order's."""
        w = self._wms
        self.stats.extra["transfers"] = self.stats.extra.get("transfers", 0) + 1
        w.claimed.update(pallets)
        if door is not None:
            w.order_door[order] = door
        w.transfer_of[order] = (transfer, *sites)
        self._truth(
            "transfer",
            door=door,
            direction="outbound",
            transfer=transfer,
            order=order,
            to_site=sites[1],
            pallets=pallets,
        )

    def _truck_leaves(self, order: str) -> None:
        """The transfer's last pallet left: its truck drives off with what truly left
        (its ``transfer_shipped`` line) and is handed to the destination's world."""
        transfer, from_site, to_site = self._wms.transfer_of.pop(order)
        tagged = self._wms.gone_out.pop(order, [])
        if not tagged or self.director is None:
            return
        drive_s = round(self.transfer_rng.uniform(*self.scenario.erp.transfer_drive_s), 3)
        left_at = self.start + self.now_s
        self.stats.extra["transfer_trucks"] = self.stats.extra.get("transfer_trucks", 0) + 1
        self._truth(
            "transfer_shipped",
            direction="outbound",
            transfer=transfer,
            order=order,
            to_site=to_site,
            drive_s=drive_s,
            arrives_s=round(self.now_s + drive_s, 3),
            pallets=[self._load_line(tp.pallet) for tp in tagged],
        )
        truck = TransferTruck(
            transfer, from_site, to_site, left_at, left_at + drive_s, tuple(tagged)
        )
        self.director.transfer_left(truck)

    def transfer_coming(self, truck: TransferTruck) -> None:
        """(With a director, at the destination.) ``truck`` is on its way here: it docks
        at an inbound door when it arrives (at once if that is past)."""
        at_s = max(self.now_s, truck.arrives_at - self.start)
        self.schedule(at_s, self._transfer_truck, truck)

    def _transfer_truck(self, truck: TransferTruck) -> None:
        """The transfer's truck docks (its ``transfer_arrived`` line); its pallets cross
        inbound, their own tags on them, and go to storage like any arrival."""
        door = self.transfer_rng.choice(self.inbound_doors or list(self.frames))
        fresh = [tp for tp in truck.pallets if tp.pallet.epc not in self.floor.pallets]
        self.stats.extra["transferred_in"] = self.stats.extra.get("transferred_in", 0) + len(fresh)
        self._truth(
            "transfer_arrived",
            door=door,
            direction="inbound",
            transfer=truck.transfer,
            from_site=truck.from_site,
            late_s=round(self.start + self.now_s - truck.arrives_at, 3),
            pallets=[self._load_line(tp.pallet) for tp in fresh],
        )
        for tp in fresh:
            self.floor.add(tp)
            self._origin[tp.pallet.epc] = truck.transfer
            self._wms.transferred[tp.pallet.epc] = truck.transfer
        earliest = self.now_s + self.scenario.timing.dock_s
        self._through_door(door, "inbound", [tp.pallet.epc for tp in fresh], earliest)

    @staticmethod
    def _load_line(p: Pallet) -> dict[str, Any]:
        return {
            "epc": p.epc,
            "sscc": p.sscc,
            "sku": p.sku.gtin,
            "lot": p.lot.code,
            "cases": len(p.cases),
        }

    # ------------------------------------------------------------------ faults

    def _fault(self, fault: Fault, active: bool) -> None:
        where: dict[str, Any] = {}
        for r in self.layout.readers:
            if r.id == fault.target:
                where = {"door": r.door, "zone": r.zone}
        for s in self.layout.scales:
            if s.id == fault.target:
                where = {"zone": s.zone}
        self._truth(
            "fault",
            target=fault.target,
            fault=fault.kind.value,
            value=fault.value,
            phase="start" if active else "end",
            spec=str(fault),
            **where,
        )
        logger.info("fault %s %s", fault, "starts" if active else "ends")
        self._on_fault(FaultAction(fault, active))
