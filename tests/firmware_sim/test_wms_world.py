"""The world following a WMS: it waits for the opening, the notices and the tasks, carries
the tasks out (mistakes included, in the truth), and goes on alone after a timeout.
Stepped in virtual time through the real :class:`WorldBridge` (no HTTP: the test answers
for the ERP and the workers)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from typing import Any

import pytest

from firmware_sim.wms.bridge import (
    Opening,
    OrderWanted,
    ReturnWanted,
    TaskOutcome,
    TruckComing,
    WorldBridge,
)
from firmware_sim.world import ManualClock, TruthWriter, WarehouseWorld, parse_iso_utc
from firmware_sim.world.floor import Shelved
from firmware_sim.world.scenario import parse_scenario
from protocols.layout import load_layout

START = parse_iso_utc("2025-01-06T08:00:00Z")
LAYOUT = load_layout(None)
SCENARIO = """
name: wms-test
catalog:
  skus:
    - {item_reference: "812345", name: Water, case_kg: 12.4, shelf_life_days: 365}
    - {item_reference: "812346", name: Oil, case_kg: 6.1, shelf_life_days: 540}
  cases_per_pallet: [10, 12]
stock: {pallets_per_zone: 2}
inbound: {enabled: false}
outbound: {enabled: false}
trucks:
  - {at: 10s, door: door-1, pallets: 2, sku: "812345", cases: 12}
orders:
  - {at: 3m, door: door-2, pallets: 1, sku: "812345"}
erp: {notice_wait_s: 60, open_wait_s: 120}
workers: {task_wait_s: 90}
"""


def drain(queue: asyncio.Queue[Any]) -> list[Any]:
    found = []
    while not queue.empty():
        found.append(queue.get_nowait())
    return found


class Warehouse:
    """A world with the bridge as its director, stepped by hand."""

    def __init__(self, scenario: str = SCENARIO, seed: int = 3) -> None:
        self.clock = ManualClock(START)
        self.out = io.StringIO()
        self.bridge = WorldBridge(self.clock)
        self.world = WarehouseWorld(
            LAYOUT,
            parse_scenario(scenario),
            seed=seed,
            start=START,
            truth=TruthWriter(self.out),
            director=self.bridge,
        )
        self.bridge.attach(self.world)
        self.flow = self.world.flow

    def to(self, sim_s: float) -> None:
        """Advance the world to ``sim_s``, a second at a time."""
        while self.clock.now - START < sim_s:
            self.clock.now = min(self.clock.now + 1.0, START + sim_s)
            self.world.advance(self.clock.now)

    def truth(self, event: str | None = None) -> list[dict[str, Any]]:
        lines = [json.loads(x) for x in self.out.getvalue().splitlines()]
        return [x for x in lines if event is None or x["event"] == event]

    def requests(self) -> list[Any]:
        return drain(self.bridge.erp_requests)

    def outcomes(self) -> list[TaskOutcome]:
        return drain(self.bridge.outcomes)

    def open(self) -> Opening:
        [opening] = self.requests()
        assert isinstance(opening, Opening)
        self.bridge.decide(self.flow.open_business)
        return opening

    def truck(self, by_s: float) -> TruckComing:
        self.to(by_s)
        [truck] = [r for r in self.requests() if isinstance(r, TruckComing)]
        self.bridge.decide(self.flow.notice_posted, truck.truck)
        return truck

    def until(self, what: str, limit_s: float, event: str, count: int = 1) -> None:
        start = self.clock.now - START
        while len(self.truth(event)) < count:
            assert self.clock.now - START < start + limit_s, f"no {event} line for {what}"
            self.to(self.clock.now - START + 1)


def test_the_warehouse_opens_once_its_stock_is_announced_and_scripted_times_count_from_then():
    w = Warehouse()
    w.to(30)
    assert w.truth("stock") == [] and w.truth("truck") == []
    opening = w.open()
    assert len(opening.stock) == 6
    assert [s.item_reference for s in opening.skus] == ["812345", "812346"]
    assert opening.tare_kg == 25.0
    w.to(31)
    stock = w.truth("stock")
    assert {x["epc"] for x in stock} == {p.epc for p in opening.stock}
    assert all(x["sim_s"] == 30.0 for x in stock)
    truck = w.truck(30 + 10)
    assert truck.at == START + 40 and truck.door == "door-1"


def test_without_an_opening_the_warehouse_opens_alone_after_the_wait(caplog):
    w = Warehouse()
    caplog.set_level(logging.WARNING)
    w.to(119)
    assert w.truth("stock") == []
    w.to(121)
    assert len(w.truth("stock")) == 6
    assert all(x["sim_s"] == 120.0 for x in w.truth("stock"))
    assert "opens without" in caplog.text


def test_a_truck_docks_once_its_notice_is_posted_and_brings_exactly_what_it_announced():
    w = Warehouse()
    w.open()
    w.to(35)
    [truck] = w.requests()
    assert isinstance(truck, TruckComing)
    w.to(50)
    assert w.truth("truck") == [] and w.truth("arrival") == []  # waiting in the yard
    w.bridge.decide(w.flow.notice_posted, truck.truck)
    w.until("the truck's pallets", 120, "arrival", 2)
    [docked] = w.truth("truck")
    assert docked["sim_s"] == 50.0 and docked["truck"] == truck.truck
    arrivals = {x["epc"]: x for x in w.truth("arrival")}
    for p in truck.load:
        assert arrivals[p.epc]["cases"] == p.case_epcs
        assert arrivals[p.epc]["sscc"] == p.sscc and arrivals[p.epc]["lot"] == p.lot.code
        assert arrivals[p.epc]["expiry"] == p.lot.expiry.isoformat()


def test_a_truck_whose_notice_never_comes_docks_after_the_wait(caplog):
    w = Warehouse()
    w.open()  # at 0 s: the truck comes at 10 s
    caplog.set_level(logging.WARNING)
    w.to(35)
    [truck] = w.requests()
    w.to(69)
    assert w.truth("truck") == []
    w.to(71)
    assert [x["truck"] for x in w.truth("truck")] == [truck.truck]
    assert "docks without" in caplog.text


def test_pallets_go_to_the_zone_of_their_put_away_task_known_early_or_late():
    w = Warehouse()
    w.open()
    truck = w.truck(40)
    first, second = (p.epc for p in truck.load)
    w.until("the first crossing", 60, "arrival")
    # the first pallet's task comes while it is on its way: zone-c, not the least full
    w.bridge.decide(w.flow.putaway_task, "putaway-1", first, "zone-c")
    w.until("both put away", 200, "putaway", 1)
    assert w.truth("putaway")[0]["epc"] == first and w.truth("putaway")[0]["zone"] == "zone-c"
    assert w.outcomes() == [TaskOutcome("putaway-1", True)]
    # the second waits at storage for its task; put away as soon as it comes
    w.to(w.clock.now - START + 60)
    assert len(w.truth("putaway")) == 1 and second in w.flow._wms.at_storage
    w.bridge.decide(w.flow.putaway_task, "putaway-2", second, "zone-a")
    w.to(w.clock.now - START + 1)
    assert [(x["epc"], x["zone"]) for x in w.truth("putaway")][1] == (second, "zone-a")
    assert w.outcomes() == [TaskOutcome("putaway-2", True)]
    assert w.flow.stored[second] == "zone-a"


def test_a_pallet_without_a_put_away_task_is_put_away_alone_after_the_wait(caplog):
    w = Warehouse()
    w.open()
    truck = w.truck(40)
    caplog.set_level(logging.WARNING)
    w.until("both put away", 60 + 45 + 45 + 90 + 30, "putaway", 2)
    assert "no put-away task" in caplog.text
    zones = {x["epc"]: x["zone"] for x in w.truth("putaway")}
    assert set(zones) == {p.epc for p in truck.load}
    late = truck.load[0].epc
    w.bridge.decide(w.flow.putaway_task, "putaway-9", late, "zone-b")
    w.to(w.clock.now - START + 1)
    [refused] = w.outcomes()
    assert refused.task == "putaway-9" and not refused.done and "storage" in str(refused.reason)
    assert w.flow.stored[late] == zones[late]


def stocked_order(w: Warehouse) -> tuple[str, str]:
    """Open; place order SO-1 on a stored pallet of the first SKU: (order, pallet)."""
    opening = w.open()
    w.to(1)
    epc = next(p.epc for p in opening.stock if p.sku.item_reference == "812345")
    w.bridge.decide(w.flow.order_placed, "SO-000001", "door-2", [epc])
    w.to(2)
    return "SO-000001", epc


def pack(w: Warehouse, task: str, epc: str, order: str, mistake: Any = None) -> None:
    w.bridge.decide(w.flow.pick_task, task, epc, order, mistake)
    w.until("packed and weighed", 200, "weigh")
    w.to(w.clock.now - START + w.world.scenario.timing.weigh_s + 1)


def test_an_order_is_picked_by_its_task_and_ships_through_the_door_of_its_ship_task():
    w = Warehouse()
    order, epc = stocked_order(w)
    [line] = w.truth("order")
    assert line["order"] == order and line["door"] == "door-2" and line["pallets"] == [epc]
    pack(w, "pick-1", epc, order)
    assert [x["epc"] for x in w.truth("pick")] == [epc]
    assert w.outcomes() == [TaskOutcome("pick-1", True)]  # reported once it left the shelf
    w.bridge.decide(w.flow.ship_task, "ship-1", order, "door-3", None)
    w.until("shipped", 120, "outbound")
    [out] = w.truth("outbound")
    assert out["epc"] == epc and out["door"] == "door-3" and out["order"] == order
    w.to(w.clock.now - START + 10)
    assert w.outcomes() == [TaskOutcome("ship-1", True)]  # once the last pallet is out
    assert w.truth("mistake") == []


def test_a_weigh_task_puts_a_pallet_set_down_in_packing_onto_the_scale_again():
    w = Warehouse()
    order, epc = stocked_order(w)
    pack(w, "pick-1", epc, order)
    w.outcomes()
    w.bridge.decide(w.flow.weigh_task, "weigh-1", epc)
    w.until("weighed again", 60, "weigh", 2)
    first, again = w.truth("weigh")
    assert again["epc"] == epc and again["order"] == order
    assert again["weight_kg"] == first["weight_kg"] and again["sim_s"] > first["sim_s"]
    assert w.outcomes() == [TaskOutcome("weigh-1", True)]
    # off the scale it is ready again: its ship task takes it out
    w.to(w.clock.now - START + w.world.scenario.timing.weigh_s + 1)
    w.bridge.decide(w.flow.ship_task, "ship-1", order, "door-3", None)
    w.until("shipped", 120, "outbound")
    # a pallet on a shelf is not in packing: refused
    other = next(e for e in w.flow.stored if e != epc)
    w.bridge.decide(w.flow.weigh_task, "weigh-2", other)
    w.to(w.clock.now - START + 1)
    assert [(o.task, o.done) for o in w.outcomes()][-1] == ("weigh-2", False)


def test_a_ship_task_known_before_the_pallets_are_weighed_waits_for_them():
    w = Warehouse()
    order, epc = stocked_order(w)
    w.bridge.decide(w.flow.pick_task, "pick-1", epc, order, None)
    w.bridge.decide(w.flow.ship_task, "ship-1", order, "door-4", None)
    w.until("shipped", 300, "outbound")
    kinds = [x["event"] for x in w.truth() if x["epc"] == epc]
    assert kinds[-4:] == ["pick", "pack", "weigh", "outbound"]
    assert w.truth("outbound")[0]["door"] == "door-4"


def test_a_cancelled_order_s_pallet_in_packing_goes_back_to_a_shelf_on_its_put_away_task():
    w = Warehouse()
    order, epc = stocked_order(w)
    pack(w, "pick-1", epc, order)
    w.outcomes()
    w.bridge.decide(w.flow.order_cancelled, order)
    w.to(w.clock.now - START + 1)
    [cancel] = w.truth("cancel")
    assert cancel["order"] == order and cancel["pallets"] == [epc]
    assert w.truth("unpack") == []  # it waits in packing for the WMS's task
    w.bridge.decide(w.flow.putaway_task, "putaway-5", epc, "zone-c")
    w.until("back on a shelf", 120, "putaway")
    [unpack] = w.truth("unpack")
    [back] = w.truth("putaway")
    assert unpack["epc"] == back["epc"] == epc and unpack["zone"] == "packing"
    assert back["zone"] == "zone-c" and w.flow.stored[epc] == "zone-c"
    assert w.outcomes() == [TaskOutcome("putaway-5", True)]
    # a ship task for the cancelled order finds nothing of it in packing
    w.bridge.decide(w.flow.ship_task, "ship-1", order, "door-3", None)
    w.to(w.clock.now - START + 1)
    [refused] = w.outcomes()
    assert refused.task == "ship-1" and not refused.done
    assert w.truth("outbound") == []


def test_a_pallet_of_an_order_cancelled_on_its_way_to_packing_returns_once_set_down(caplog):
    w = Warehouse()
    order, epc = stocked_order(w)
    w.bridge.decide(w.flow.pick_task, "pick-1", epc, order, None)
    w.bridge.decide(w.flow.order_cancelled, order)  # before it reached packing
    w.until("weighed", 200, "weigh")
    assert w.truth("unpack") == []
    # no put-away task ever comes: the driver takes it back after the wait
    with caplog.at_level(logging.WARNING):
        w.until("back on a shelf", 300, "putaway")
    assert "no put-away task came" in caplog.text
    assert w.flow.stored[epc] in ("zone-a", "zone-b", "zone-c")
    # a pick task of the cancelled order taken late is not carried out
    w.outcomes()
    w.bridge.decide(w.flow.pick_task, "pick-2", epc, order, None)
    w.to(w.clock.now - START + 1)
    [refused] = w.outcomes()
    assert refused.task == "pick-2" and "cancelled" in str(refused.reason)


def test_a_pick_of_a_pallet_that_is_not_on_a_shelf_is_refused():
    w = Warehouse()
    order, _ = stocked_order(w)
    w.bridge.decide(w.flow.pick_task, "pick-7", "3114257BF7194E4000001A85", order, None)
    w.to(5)
    [refused] = w.outcomes()
    assert (refused.task, refused.done) == ("pick-7", False) and "shelf" in str(refused.reason)


def test_wrong_pallet_takes_another_stored_pallet_of_the_item_and_says_so_in_the_truth():
    w = Warehouse()
    order, epc = stocked_order(w)
    sku = w.world.floor.get(epc).pallet.sku
    pack(w, "pick-1", epc, order, "wrong_pallet")
    [mistake] = w.truth("mistake")
    taken = mistake["epc"]
    assert taken != epc and w.world.floor.get(taken).pallet.sku == sku
    assert mistake["kind"] == "wrong_pallet" and mistake["order"] == order
    assert mistake["instead_of"] == epc and mistake["task"] == "pick-1"
    assert mistake["door"] == "door-2" and mistake["sscc"] == w.world.floor.get(taken).pallet.sscc
    assert [x["epc"] for x in w.truth("pick")] == [taken]
    assert w.truth("pick")[0]["order"] == order
    assert epc in w.flow.stored  # the right one is still on its shelf
    events = [x["event"] for x in w.truth() if x["epc"] == taken]
    assert events[-4:] == ["mistake", "pick", "pack", "weigh"]


def test_wrong_pallet_with_no_other_pallet_of_the_item_is_done_right():
    w = Warehouse(SCENARIO.replace("stock: {pallets_per_zone: 2}", "stock: {pallets_per_zone: 0}"))
    w.open()
    truck = w.truck(40)
    epc = truck.load[0].epc
    w.until("put away", 200, "putaway", 2)
    w.bridge.decide(w.flow.order_placed, "SO-000001", "door-2", [epc, truck.load[1].epc])
    w.to(w.clock.now - START + 1)
    # the only other pallet of the item is on the same order
    pack(w, "pick-1", epc, "SO-000001", "wrong_pallet")
    assert w.truth("mistake") == [] and [x["epc"] for x in w.truth("pick")] == [epc]


def test_a_pallet_an_open_pick_task_names_is_never_the_wrong_one_taken():
    # the order's line has not reached the world yet (the ERP is still waiting for the
    # WMS's answer) but the workers saw its pick tasks: the other pallet of the item is
    # on an order all the same
    w = Warehouse(SCENARIO.replace("stock: {pallets_per_zone: 2}", "stock: {pallets_per_zone: 0}"))
    w.open()
    truck = w.truck(40)
    epc, other = truck.load[0].epc, truck.load[1].epc
    w.until("put away", 200, "putaway", 2)
    w.bridge.decide(w.flow.pick_task, "pick-1", epc, "SO-000001", "wrong_pallet", (epc, other))
    w.until("packed and weighed", 200, "weigh")
    assert w.truth("mistake") == [] and [x["epc"] for x in w.truth("pick")] == [epc]


def test_wrong_door_ships_every_pallet_of_the_order_through_another_outbound_door():
    w = Warehouse()
    order, epc = stocked_order(w)
    pack(w, "pick-1", epc, order)
    w.bridge.decide(w.flow.ship_task, "ship-1", order, "door-2", "wrong_door")
    w.until("shipped", 120, "outbound")
    [mistake] = w.truth("mistake")
    [out] = w.truth("outbound")
    assert mistake["kind"] == "wrong_door" and mistake["epc"] == epc
    assert mistake["order"] == order and mistake["task"] == "ship-1"
    assert mistake["task_door"] == "door-2" and mistake["door"] == out["door"] != "door-2"
    assert mistake["sim_s"] <= out["sim_s"]


def test_missing_case_comes_off_before_the_scale_and_its_tag_stays_in_packing():
    w = Warehouse()
    order, epc = stocked_order(w)
    before = w.world.floor.get(epc).pallet
    w.bridge.decide(w.flow.pick_task, "pick-1", epc, order, "missing_case")
    w.until("weighed", 200, "weigh")
    [mistake] = w.truth("mistake")
    [packed] = w.truth("pack")
    [weighed] = w.truth("weigh")
    case = mistake["case"]
    assert mistake["kind"] == "missing_case" and mistake["epc"] == epc
    assert mistake["order"] == order and mistake["zone"] == "packing"
    assert case in packed["cases"] and case not in weighed["cases"]
    assert len(weighed["cases"]) == len(before.cases) - 1
    lost = next(c.weight_kg for c in before.cases if c.epc == case)
    assert weighed["weight_kg"] == mistake["weight_kg"] == round(before.gross_kg - lost, 2)
    scale = weighed["scale"]
    assert w.world.load_kg(scale, w.clock.now) == weighed["weight_kg"]
    where = w.world.where(case)
    assert isinstance(where, Shelved) and where.zone == "packing"
    assert mistake["sim_s"] <= weighed["sim_s"]


def test_the_world_asks_the_erp_for_orders_instead_of_making_its_own():
    w = Warehouse()
    w.open()
    w.to(2 + 180 + 1)
    wanted = [r for r in w.requests() if isinstance(r, OrderWanted)]
    assert len(wanted) == 1
    assert wanted[0].door == "door-2" and wanted[0].pallets == 1
    assert wanted[0].sku is not None and wanted[0].sku.item_reference == "812345"
    assert w.truth("order") == [] and w.truth("pick") == []


@pytest.mark.parametrize("seed", [1, 2])
def test_with_a_director_the_truth_keeps_every_pallet_s_line_order(seed):
    """Random trucks and orders answered at once: every pallet's lines in the documented
    order, with mistake lines besides."""
    scenario = """
catalog: {skus: 3}
stock: {pallets_per_zone: 3}
workers: {task_wait_s: 60}
"""
    w = Warehouse(scenario, seed=seed)
    tasks = 0
    orders = 0
    for second in range(1, 1800):
        w.to(second)
        for request in w.requests():
            match request:
                case Opening():
                    w.bridge.decide(w.flow.open_business)
                case TruckComing():
                    w.bridge.decide(w.flow.notice_posted, request.truck)
                case OrderWanted():
                    stored = [e for e in w.flow.stored if e not in w.flow._wms.claimed]
                    if stored:
                        orders += 1
                        order = f"SO-{orders}"
                        mine = stored[: request.pallets]
                        w.bridge.decide(w.flow.order_placed, order, request.door, mine)
                        for epc in mine:
                            tasks += 1
                            mistake = "wrong_pallet" if tasks % 5 == 0 else None
                            w.bridge.decide(w.flow.pick_task, f"pick-{tasks}", epc, order, mistake)
        for epcs in list(w.flow._wms.held.values()):
            order = w.flow._order_of[epcs[0]]
            if order not in w.flow._wms.ship_plan and all(e in w.flow._wms.ready for e in epcs):
                w.bridge.decide(w.flow.ship_task, f"ship-{order}", order, "door-1", None)
    chains: dict[str, list[str]] = {}
    for x in w.truth():
        if x["epc"] and x["event"] not in ("mistake", "stage", "turnback"):
            chains.setdefault(x["epc"], []).append(x["event"])
    full_in = ["arrival", "putaway", "pick", "pack", "weigh", "outbound"]
    full_stock = ["stock", "pick", "pack", "weigh", "outbound"]
    for epc, chain in chains.items():
        assert chain in (full_in[: len(chain)], full_stock[: len(chain)]), (epc, chain)
    assert len(w.truth("outbound")) >= 3 and len(w.truth("mistake")) >= 1


RETURNING = (
    SCENARIO.replace('  - {at: 10s, door: door-1, pallets: 2, sku: "812345", cases: 12}\n', "")
    .replace("trucks:\n", "trucks: []\n")
    .replace(
        "erp: {notice_wait_s: 60, open_wait_s: 120}",
        "erp: {notice_wait_s: 60, open_wait_s: 120, return_share: 1.0, return_after_s: 100,"
        " return_transit_s: 50}",
    )
    .replace("workers: {task_wait_s: 90}", "workers: {task_wait_s: 90, write_off_share: 1.0}")
)


def test_a_shipped_order_comes_back_on_a_truck_with_its_own_tags_and_a_written_off_one_leaves():
    w = Warehouse(RETURNING)
    order, epc = stocked_order(w)
    pack(w, "pick-1", epc, order)
    w.bridge.decide(w.flow.ship_task, "ship-1", order, "door-3", None)
    w.until("shipped", 120, "outbound")
    [out] = w.truth("outbound")
    w.to(w.clock.now - START + 10)  # through the door and gone
    shipped_at = w.clock.now - START
    assert epc not in w.flow.floor.pallets  # it left on the truck
    # the customer asks for it back return_after_s after the ship task was done
    w.to(shipped_at + 120)
    wanted = [r for r in w.requests() if isinstance(r, ReturnWanted)]
    assert [(r.order, [p.epc for p in r.pallets]) for r in wanted] == [(order, [epc])]
    assert wanted[0].pallets[0].case_epcs == out["cases"]  # what truly left
    w.bridge.decide(w.flow.return_posted, order, "RMA-000001")
    w.until("its truck", 200, "arrival")
    [back] = w.truth("return")
    assert back["rma"] == "RMA-000001" and back["order"] == order
    assert back["direction"] == "inbound" and back["pallets"][0]["epc"] == epc
    assert back["door"] in w.flow.inbound_doors
    [arrival] = w.truth("arrival")
    assert arrival["epc"] == epc and arrival["rma"] == "RMA-000001"
    assert arrival["cases"] == out["cases"] and arrival["door"] == back["door"]
    assert arrival["sim_s"] >= back["sim_s"] + w.world.scenario.timing.dock_s
    # put away on its task, then inspected: the world hands it to the inspectors
    w.bridge.decide(w.flow.putaway_task, "putaway-7", epc, "zone-b")
    w.until("put away", 300, "putaway")
    [inspection] = drain(w.bridge.inspections)
    assert (inspection.rma, inspection.pallet.epc, inspection.verdict) == (
        "RMA-000001",
        epc,
        "write_off",
    )
    assert w.flow.stored[epc] == "zone-b"
    w.bridge.decide(w.flow.return_inspected, "RMA-000001", epc, "write_off")
    w.to(w.clock.now - START + 1)
    [gone] = w.truth("write_off")
    assert (gone["epc"], gone["zone"], gone["rma"]) == (epc, "zone-b", "RMA-000001")
    assert epc not in w.flow.stored and epc not in w.flow.floor.pallets


def test_a_return_the_wms_refused_brings_nothing_back():
    w = Warehouse(RETURNING)
    order, epc = stocked_order(w)
    pack(w, "pick-1", epc, order)
    w.bridge.decide(w.flow.ship_task, "ship-1", order, "door-3", None)
    w.until("shipped", 120, "outbound")
    w.to(w.clock.now - START + 120)
    assert [r for r in w.requests() if isinstance(r, ReturnWanted)]
    w.bridge.decide(w.flow.return_dropped, order)
    w.to(w.clock.now - START + 300)
    assert w.truth("return") == [] and w.truth("arrival") == []


def test_without_a_return_share_no_order_comes_back():
    w = Warehouse(RETURNING.replace("return_share: 1.0", "return_share: 0"))
    order, epc = stocked_order(w)
    pack(w, "pick-1", epc, order)
    w.bridge.decide(w.flow.ship_task, "ship-1", order, "door-3", None)
    w.until("shipped", 120, "outbound")
    w.to(w.clock.now - START + 300)
    assert not [r for r in w.requests() if isinstance(r, ReturnWanted)]
    assert w.flow._wms.gone_out == {}
