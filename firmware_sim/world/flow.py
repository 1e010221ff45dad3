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
"""

from __future__ import annotations

import heapq
import logging
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

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
from firmware_sim.world.scenario import Scenario, ScenarioError
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
    extra: dict[str, int] = field(default_factory=dict)


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
    ) -> None:
        self.layout, self.scenario, self.seed, self.start = layout, scenario, seed, start
        self.floor, self.frames, self._emit, self._on_fault = floor, frames, emit, on_fault
        self.rng = random.Random(seed)
        self.stage_rng = random.Random(stable_key("stage", seed))
        """Staging's own stream: which pallets, how long, where (and their shelf slot)."""
        self.turnback_rng = random.Random(stable_key("turnback", seed))
        """Turn-backs' own stream: when, how far, how long."""
        self.now_s = 0.0
        self.stats = _Stats()
        self._queue: list[tuple[float, int, Callable[..., None], tuple[Any, ...]]] = []
        self._seq = 0
        self._door_free: dict[str, float] = {d.id: 0.0 for d in layout.doors}
        self._stored: dict[str, str] = {}  # epc -> zone, in putaway order
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
        self._turnback_rate = scenario.turnbacks.per_hour / 3600.0
        self._next_turnback_s = self._turnback_gap()
        self._begin()

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
        """Pallets on storage shelves and not yet ordered: SSCC EPC -> zone."""
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
                self.floor.place(p.epc, self._slot(zone))
                self._stored[p.epc] = zone
                self._initial_stock += 1
                self._truth("stock", p.epc, zone=zone, **self._pallet_fields(p))
        if sc.inbound.enabled and self.inbound_doors:
            self.schedule(self._uniform(sc.inbound.first_truck_s), self._random_truck)
        if sc.outbound.enabled and self.outbound_doors:
            self.schedule(self._uniform(sc.outbound.first_order_s), self._random_order)
        for truck in sc.trucks:
            self.schedule(truck.at, self._truck, truck.door, truck.pallets, truck.sku, truck.cases)
        for order in sc.orders:
            self.schedule(order.at, self._order, order.door, order.pallets, order.sku)
        for fault in sc.faults:
            self.schedule(fault.at_s, self._fault, fault, True)
            if fault.end_s is not None:
                self.schedule(fault.end_s, self._fault, fault, False)

    # ------------------------------------------------------------------ helpers

    def _uniform(self, r: tuple[float, float]) -> float:
        return self.now_s + self.rng.uniform(*r)

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
        event = "arrival" if direction == "inbound" else "outbound"
        ref = (
            {"truck": self._origin[epc]}
            if direction == "inbound"
            else {"order": self._order_of[epc]}
        )
        self._truth(event, epc, door=door, direction=direction, **ref, **self._pallet_fields(p))

    def _passage_end(self, epc: str, door: str, direction: Direction) -> None:
        if direction == "outbound":
            self.floor.remove(epc)
            self._order_of.pop(epc, None)
            self._origin.pop(epc, None)
            self.stats.shipped += 1
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

    def _stage(self, epc: str, door: str, zone: str, travel_s: float) -> None:
        """Set the pallet down just inside the door, in the inside antennas' field; a
        forklift takes it on to ``zone`` after a while."""
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

    def _unstage(self, epc: str, door: str, zone: str, travel_s: float) -> None:
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
        self.floor.place(epc, self._slot(zone, self.stage_rng if staged else None))
        self._stored[epc] = zone
        self.stats.received += 1
        p = self.floor.get(epc).pallet
        self._truth("putaway", epc, zone=zone, **self._pallet_fields(p))

    # ------------------------------------------------------------------ outbound

    def _random_order(self) -> None:
        sc = self.scenario.outbound
        n = max(1, self.rng.randint(*sc.pallets_per_order) + self._stock_bias())
        if self._stored:
            self._order(self.rng.choice(self.outbound_doors), n, None)
        self.schedule(self._uniform(sc.order_every_s), self._random_order)

    def _order(self, door: str, pallets: int, sku_ref: str | None) -> None:
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
            self.schedule(self._uniform(self.scenario.timing.pick_delay_s), self._pick, epc, zone)

    def _pick(self, epc: str, zone: str) -> None:
        p = self.floor.get(epc).pallet
        self._truth("pick", epc, zone=zone, order=self._order_of[epc], **self._pallet_fields(p))
        self.floor.place(epc, Travelling(zone, self.packing_zone))
        self.schedule(self._uniform(self.scenario.timing.travel_s), self._pack, epc)

    def _pack(self, epc: str) -> None:
        p = self.floor.get(epc).pallet
        self.floor.place(epc, self._slot(self.packing_zone))
        self._truth(
            "pack", epc, zone=self.packing_zone, order=self._order_of[epc], **self._pallet_fields(p)
        )
        self.schedule(self._uniform(self.scenario.timing.pack_s), self._packed, epc)

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
        self.floor.place(epc, self._slot(self.packing_zone))
        self._ready(epc)
        self._use_scales()

    def _ready(self, epc: str) -> None:
        order = self._orders[self._order_of[epc]]
        order.ready += 1
        if order.ready == len(order.pallets):
            del self._orders[order.order_id]
            earliest = self.now_s + self.scenario.timing.load_delay_s
            self._through_door(order.door, "outbound", order.pallets, earliest)

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
