"""Shrinkage in the pure engine: shelved pallets vanish (heard nowhere again) or are
moved to another storage zone on no task, written to the truth, the same for a seed."""

from __future__ import annotations

import io
import json
from typing import Any

from firmware_sim.world import Scenario, TruthEvent, TruthWriter, WarehouseWorld, parse_iso_utc
from firmware_sim.world.floor import Shelved
from protocols.layout import load_layout

START = parse_iso_utc("2025-01-06T08:00:00Z")
LAYOUT = load_layout(None)
STORAGE = {z.id for z in LAYOUT.zones if z.kind == "storage"}
SHRINKING: dict[str, Any] = {
    "stock": {"pallets_per_zone": 6},
    "inbound": {"enabled": False},
    "outbound": {"enabled": False},
    "shrinkage": {"vanish_per_hour": 6, "misplace_per_hour": 6},
}


def run(scenario: dict[str, Any], seed: int, until_s: float) -> tuple[WarehouseWorld, str]:
    out = io.StringIO()
    world = WarehouseWorld(
        LAYOUT, Scenario.model_validate(scenario), seed=seed, start=START, truth=TruthWriter(out)
    )
    world.advance(START + until_s)
    return world, out.getvalue()


def lines(truth: str, event: str) -> list[dict[str, Any]]:
    return [r for r in map(json.loads, truth.splitlines()) if r["event"] == event]


def test_shrinkage_is_the_same_for_a_seed_and_differs_between_seeds() -> None:
    _, first = run(SHRINKING, 3, 3600)
    _, again = run(SHRINKING, 3, 3600)
    _, other = run(SHRINKING, 4, 3600)
    assert first == again
    astray = lines(first, "vanish") + lines(first, "misplace")
    assert 4 <= len(astray) <= 30, len(astray)  # about 12 in the hour
    assert astray != lines(other, "vanish") + lines(other, "misplace")


def test_a_vanished_pallet_is_gone_and_a_misplaced_one_is_shelved_in_another_zone() -> None:
    world, truth = run(SHRINKING, 3, 3600)
    vanished, misplaced = lines(truth, "vanish"), lines(truth, "misplace")
    assert vanished and misplaced
    stocked = {r["epc"]: r["zone"] for r in lines(truth, "stock")}
    for r in vanished:
        assert set(r) >= {"t", "sim_s", "event", "epc", "zone"}
        assert r["epc"] in stocked and r["zone"] in STORAGE
        assert r["sim_s"] >= 120  # only pallets shelved a while go astray
        assert r["epc"] not in world.floor.pallets  # no reader hears it any more
        assert r["epc"] not in world.flow.stored
    where = dict(stocked)
    for r in sorted(vanished + misplaced, key=lambda r: r["sim_s"]):
        assert r["zone"] == where[r["epc"]], "it goes astray from where it truly is"
        if r["event"] == "misplace":
            assert r["to_zone"] in STORAGE and r["to_zone"] != r["zone"]
            where[r["epc"]] = r["to_zone"]
        else:
            del where[r["epc"]]
    assert world.flow.stored == where
    for epc, zone in where.items():
        placement = world.floor.get(epc).placement
        assert isinstance(placement, Shelved) and placement.zone == zone


def test_without_shrinkage_nothing_goes_astray() -> None:
    calm = {k: v for k, v in SHRINKING.items() if k != "shrinkage"}
    world, truth = run(calm, 3, 3600)
    assert lines(truth, "vanish") == lines(truth, "misplace") == []
    assert len(world.flow.stored) == 6 * len(STORAGE)


def test_truth_lines_carry_the_fields_the_issue_names() -> None:
    e = TruthEvent(START, 10.0, "misplace", "EPC", zone="zone-a", extra={"to_zone": "zone-b"})
    assert {k: v for k, v in e.to_dict().items() if v is not None} == {
        "t": "2025-01-06T08:00:00.000Z",
        "sim_s": 10.0,
        "event": "misplace",
        "epc": "EPC",
        "zone": "zone-a",
        "to_zone": "zone-b",
    }
