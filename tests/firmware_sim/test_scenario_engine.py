"""The scenario engine: deterministic for a seed, and a ground truth that accounts for
every pallet from arrival to departure, stepped in virtual time (no sleeping)."""

from __future__ import annotations

import io
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from firmware_sim.world import (
    FaultAction,
    ManualClock,
    Scenario,
    SimClock,
    TruthWriter,
    WarehouseWorld,
    load_scenario,
    parse_iso_utc,
    read_truth,
)
from firmware_sim.world.floor import OnScale, Passage, Shelved, Turnback
from protocols.epc import Sgtin96, decode_epc
from protocols.layout import load_layout

START = parse_iso_utc("2025-01-06T08:00:00Z")
CORE = ("t", "sim_s", "event", "epc", "door", "direction", "zone")
INBOUND_CHAIN = ["arrival", "putaway", "pick", "pack", "weigh", "outbound"]
STOCK_CHAIN = ["stock", "pick", "pack", "weigh", "outbound"]


def run_truth(seed: int, sim_seconds: float, step: float, scenario: str = "demo") -> str:
    out = io.StringIO()
    world = WarehouseWorld(
        load_layout(None), load_scenario(scenario), seed=seed, start=START, truth=TruthWriter(out)
    )
    n = int(sim_seconds / step)
    for i in range(n + 1):
        world.advance(START + i * step)
    return out.getvalue()


def test_same_layout_scenario_and_seed_give_the_same_truth_however_the_world_is_stepped() -> None:
    a = run_truth(seed=7, sim_seconds=3600, step=1.0)
    b = run_truth(seed=7, sim_seconds=3600, step=0.37)
    assert a.count("\n") > 200
    assert a == b


def test_another_seed_gives_another_history() -> None:
    assert run_truth(seed=7, sim_seconds=600, step=1.0) != run_truth(
        seed=8, sim_seconds=600, step=1.0
    )


def test_truth_file_is_identical_across_runs(tmp_path: Path) -> None:
    paths = [tmp_path / "a.jsonl", tmp_path / "b.jsonl"]
    for path in paths:
        with TruthWriter(path) as writer:
            world = WarehouseWorld(
                load_layout(None), load_scenario("demo"), seed=11, start=START, truth=writer
            )
            clock = ManualClock(START)
            for _ in range(1200):
                world.advance(clock.advance(0.5))
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert paths[0].stat().st_size > 10_000


class Recorder:
    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def __call__(self, event: Any) -> None:
        self.records.append(event.to_dict())


def test_ten_minute_demo_at_speed_10_accounts_for_every_pallet() -> None:
    layout = load_layout(None)
    wall = ManualClock(0.0)
    clock = SimClock(START, speed=10.0, wall=wall)
    truth = Recorder()
    world = WarehouseWorld(layout, load_scenario("demo"), seed=5, start=clock(), truth=truth)
    heard_at_door: dict[str, set[str]] = defaultdict(set)
    door_reader = {r.door: r.id for r in layout.readers if r.door}
    checked_weights = 0
    seen = 0
    for step in range(1, 1201):  # 60 s of wall time at speed 10: ten simulated minutes
        wall.now = step * 0.05
        now = clock()
        world.advance(now)
        for rec in truth.records[seen:]:
            if rec["event"] == "weigh":  # the scale reports the pallet's gross weight meanwhile
                assert world.load_kg(rec["scale"], now) == rec["weight_kg"]
                checked_weights += 1
        seen = len(truth.records)
        for door, reader in door_reader.items():  # door readers hear what crosses their door
            for ant in (1, 3):
                heard_at_door[door].update(s.epc_hex for s in world.sightings(reader, ant, now))
    end_s = clock() - START
    assert end_s == pytest.approx(600.0)
    records = truth.records

    for rec in records:
        assert tuple(rec)[: len(CORE)] == CORE
    times = [r["sim_s"] for r in records]
    assert times == sorted(times)

    by_pallet: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for rec in records:
        if rec["epc"] is not None:
            by_pallet[rec["epc"]].append(rec)
    trucks = {r["truck"]: r for r in records if r["event"] == "truck"}
    orders = {r["order"]: r for r in records if r["event"] == "order"}
    scales_in_packing = {s.id for s in layout.scales if s.zone == "packing"}
    storage = {z.id for z in layout.zones if z.kind == "storage"}

    completed = 0
    for epc, events in by_pallet.items():
        names = [e["event"] for e in events]
        core = [n for n in names if n not in ("stage", "turnback")]
        chain = STOCK_CHAIN if core[0] == "stock" else INBOUND_CHAIN
        assert core == chain[: len(core)], f"{epc}: {names}"
        for i, name in enumerate(names):  # a stay follows the arrival, a turn-back precedes
            if name == "stage":  # the passage it put off
                assert names[i - 1] == "arrival", f"{epc}: {names}"
            if name == "turnback" and i + 1 < len(names):
                assert names[i + 1] in ("arrival", "outbound"), f"{epc}: {names}"
                turned, crossed = events[i], events[i + 1]
                assert (turned["door"], turned["direction"]) == (
                    crossed["door"],
                    crossed["direction"],
                )
        assert decode_epc(epc).scheme == "sscc"
        for e in events:
            assert all(decode_epc(c).scheme == "sgtin" for c in e["cases"])
            assert (e["sscc"], e["sku"], e["lot"]) == (
                events[0]["sscc"],
                events[0]["sku"],
                events[0]["lot"],
            )
        by_name = {e["event"]: e for e in events}
        if "arrival" in by_name:
            arrival = by_name["arrival"]
            truck = trucks[arrival["truck"]]
            assert (arrival["door"], arrival["direction"]) == (truck["door"], "inbound")
            assert epc in {p["epc"] for p in truck["pallets"]}
            assert epc in heard_at_door[arrival["door"]]
        if "putaway" in by_name:
            assert by_name["putaway"]["zone"] in storage
        if "pick" in by_name:
            shelf = by_name.get("putaway", by_name.get("stock"))
            assert shelf is not None and by_name["pick"]["zone"] == shelf["zone"]
            assert epc in orders[by_name["pick"]["order"]]["pallets"]
        if "pack" in by_name:
            assert by_name["pack"]["zone"] == "packing"
        if "weigh" in by_name:
            weigh = by_name["weigh"]
            assert weigh["scale"] in scales_in_packing and weigh["zone"] == "packing"
            assert weigh["weight_kg"] > 25
        if "outbound" in by_name:
            out = by_name["outbound"]
            order = orders[out["order"]]
            assert (out["door"], out["direction"]) == (order["door"], "outbound")
            assert epc in heard_at_door[out["door"]]
            completed += 1
        # nothing gets stuck: a pallet between resting places moved on recently
        if names[-1] not in ("stock", "putaway", "outbound"):
            assert end_s - events[-1]["sim_s"] < 240, f"{epc} stuck after {names[-1]}"

    for truck in trucks.values():  # every truck's pallets crossed its door unless just docked
        if truck["sim_s"] < end_s - 120:
            assert all(
                "arrival" in [e["event"] for e in by_pallet[p["epc"]]] for p in truck["pallets"]
            )
    arrived = sum(1 for ev in by_pallet.values() if ev[0]["event"] == "arrival")
    assert arrived >= 8 and completed >= 5 and checked_weights >= completed
    assert len([r for r in records if r["event"] == "stock"]) == 24  # 8 per storage zone


def test_doors_carry_one_moving_pallet_at_a_time_and_scales_hold_one() -> None:
    world = WarehouseWorld(load_layout(None), load_scenario("demo"), seed=2, start=START)
    in_passage: dict[str, int] = defaultdict(int)
    for i in range(7200):
        world.advance(START + i * 0.5)
        doors: dict[str, int] = defaultdict(int)
        for door, pallets in world.floor.at_door.items():  # staged pallets wait aside
            moving = [tp for tp in pallets.values() if isinstance(tp.placement, Passage | Turnback)]
            doors[door] += len(moving)
            in_passage[door] += len(moving)
        assert all(n <= 1 for n in doors.values())
        scales = [
            tp.placement for tp in world.floor.pallets.values() if isinstance(tp.placement, OnScale)
        ]
        assert len({p.scale for p in scales}) == len(scales)
    assert all(in_passage[d.id] > 0 for d in load_layout(None).doors)


def test_stock_level_stays_within_reason_over_a_simulated_day() -> None:
    world = WarehouseWorld(load_layout(None), load_scenario("demo"), seed=4, start=START)
    levels = []
    for hour in range(1, 25):
        world.advance(START + hour * 3600)
        levels.append(world.stock_count())
    assert min(levels) >= 5 and max(levels) <= 60, levels
    assert world.flow.stats.shipped > 500


def test_scripted_truck_and_order_happen_exactly_as_written() -> None:
    scenario = Scenario.model_validate(
        {
            "stock": {"pallets_per_zone": 0},
            "inbound": {"enabled": False},
            "outbound": {"enabled": False},
            "catalog": {"skus": [{"item_reference": "812345", "name": "Widget", "case_kg": 10}]},
            "timing": {"dock_s": 5, "passage_s": 8, "pallet_gap_s": 10, "travel_s": 30},
            "trucks": [{"at": "10s", "door": "door-3", "pallets": 3, "sku": "812345", "cases": 4}],
            "orders": [{"at": "5m", "door": "door-4", "pallets": 2, "sku": "812345"}],
        }
    )
    truth = Recorder()
    world = WarehouseWorld(load_layout(None), scenario, start=START, truth=truth)
    world.advance(START + 1800)
    events = [
        (r["event"], r["door"], r["sim_s"])
        for r in truth.records
        if r["event"] in ("arrival", "outbound")
    ]
    assert events[:3] == [
        ("arrival", "door-3", 19.0),
        ("arrival", "door-3", 29.0),
        ("arrival", "door-3", 39.0),
    ]
    assert [e[:2] for e in events[3:]] == [("outbound", "door-4"), ("outbound", "door-4")]
    first_in = [r["epc"] for r in truth.records if r["event"] == "arrival"][:2]
    assert [r["epc"] for r in truth.records if r["event"] == "outbound"] == first_in  # FIFO
    pallet = next(r for r in truth.records if r["event"] == "arrival")
    assert (
        pallet["sku"] == Sgtin96(company_prefix="0614141", item_reference="812345", serial=1).gtin
    )
    assert decode_epc(pallet["cases"][0]).uri.startswith("urn:epc:id:sgtin:0614141.812345.")
    assert len(pallet["cases"]) == 4
    weighs = [r for r in truth.records if r["event"] == "weigh"]
    assert all(w["weight_kg"] == pytest.approx(25 + 40, abs=1.0) for w in weighs)
    assert world.stock_count() == 1


def test_stock_is_on_the_shelves_from_the_first_instant() -> None:
    world = WarehouseWorld(load_layout(None), load_scenario("demo"), seed=1, start=START)
    world.advance(START)
    zones: dict[str, int] = defaultdict(int)
    for tp in world.floor.pallets.values():
        assert isinstance(tp.placement, Shelved)
        zones[tp.placement.zone] += 1
    assert dict(zones) == {"zone-a": 8, "zone-b": 8, "zone-c": 8}
    heard = world.sightings("reader-zone-a", 1, START)
    assert any(decode_epc(s.epc_hex).scheme == "sgtin" for s in heard)


def test_faults_are_written_to_the_truth_and_handed_to_the_devices() -> None:
    scenario = Scenario.model_validate(
        {
            "faults": [
                "reader-door-2:silent@30s+1m",
                {"target": "scale-1", "kind": "overload", "at": 45},
            ]
        }
    )
    actions: list[FaultAction] = []
    truth = Recorder()
    world = WarehouseWorld(
        load_layout(None), scenario, start=START, truth=truth, on_fault=actions.append
    )
    world.advance(START + 120)
    assert [(str(a.fault), a.active) for a in actions] == [
        ("reader-door-2:silent@30s+60s", True),
        ("scale-1:overload@45s", True),
        ("reader-door-2:silent@30s+60s", False),
    ]
    faults = [r for r in truth.records if r["event"] == "fault"]
    assert [(f["sim_s"], f["target"], f["fault"], f["phase"], f["door"]) for f in faults] == [
        (30.0, "reader-door-2", "silent", "start", "door-2"),
        (45.0, "scale-1", "overload", "start", None),
        (90.0, "reader-door-2", "silent", "end", "door-2"),
    ]


def test_truth_lines_read_back(tmp_path: Path) -> None:
    path = tmp_path / "truth.jsonl"
    with TruthWriter(path) as writer:
        world = WarehouseWorld(load_layout(None), load_scenario("demo"), start=START, truth=writer)
        world.advance(START + 300)
    records = list(read_truth(path))
    assert records[0]["t"] == "2025-01-06T08:00:00.000Z"
    assert {r["event"] for r in records} >= {"stock", "truck", "arrival", "order", "pick"}
