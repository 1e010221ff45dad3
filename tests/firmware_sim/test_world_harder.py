"""A harder world: zone readers hearing a neighbouring zone's edge, pallets staged inside
a door, approaches that turn back, and dock-rush's overlapping passages at neighbouring
doors -- each in the pure engine's truth for a fixed seed and in what readers hear."""

from __future__ import annotations

import hashlib
import io
from collections import defaultdict
from typing import Any

from firmware_sim.world import (
    Scenario,
    TruthEvent,
    TruthWriter,
    WarehouseWorld,
    load_scenario,
    parse_iso_utc,
)
from firmware_sim.world.floor import Shelved, Staged, Turnback
from firmware_sim.world.rf import rect_distance
from protocols.layout import load_layout

START = parse_iso_utc("2025-01-06T08:00:00Z")
LAYOUT = load_layout(None)
DOOR_READER = {r.door: r.id for r in LAYOUT.readers if r.door}
ZONE_READER = {r.zone: r.id for r in LAYOUT.readers if r.zone}
AREAS = {z.id: z.area for z in LAYOUT.zones}
OUTSIDE, INSIDE = (1, 2), (3, 4)  # the demo layout's door antennas
QUIET: dict[str, Any] = {
    "stock": {"pallets_per_zone": 0},
    "inbound": {"enabled": False},
    "outbound": {"enabled": False},
}


class Recorder:
    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def __call__(self, event: TruthEvent) -> None:
        self.records.append(event.to_dict())


def world_of(scenario: Scenario | str, seed: int) -> tuple[WarehouseWorld, list[dict[str, Any]]]:
    if isinstance(scenario, str):
        scenario = load_scenario(scenario)
    truth = Recorder()
    world = WarehouseWorld(LAYOUT, scenario, seed=seed, start=START, truth=truth)
    return world, truth.records


def scenario_with(base: dict[str, Any] | str, **sections: dict[str, Any]) -> Scenario:
    data = load_scenario(base).model_dump() if isinstance(base, str) else dict(base)
    for name, fields in sections.items():
        data[name] = {**data.get(name, {}), **fields}
    return Scenario.model_validate(data)


# ---------------------------------------------------------------------- the radio line


def test_the_truth_opens_with_a_radio_line_naming_who_hears_whom() -> None:
    _, records = world_of("demo", seed=1)
    radio = records[0]
    assert (radio["event"], radio["sim_s"], radio["t"]) == (
        "radio",
        0.0,
        "2025-01-06T08:00:00.000Z",
    )
    assert [radio[k] for k in ("epc", "door", "direction", "zone")] == [None] * 4
    assert radio["zone_bleed"] == {
        "zone-a": ["zone-b", "packing"],
        "zone-b": ["zone-a", "zone-c", "packing"],
        "zone-c": ["zone-b"],
        "packing": ["zone-a", "zone-b"],
    }
    assert radio["stray_doors"] == {
        "door-1": ["door-2"],
        "door-2": ["door-1", "door-3"],
        "door-3": ["door-2", "door-4"],
        "door-4": ["door-3"],
    }
    assert radio["radio"]["zone_bleed_db"] == 6 and radio["radio"]["zone_bleed_m"] == 7
    assert records[1]["event"] == "stock"
    assert sum(1 for r in records if r["event"] == "radio") == 1

    _, without = world_of(scenario_with("demo", radio={"zone_bleed_m": 0}), seed=1)
    assert without[0]["zone_bleed"] == {"zone-a": [], "zone-b": [], "zone-c": [], "packing": []}


def test_with_staging_and_turnbacks_off_the_truth_is_what_it_was_before_they_existed() -> None:
    """The business stream is untouched by the new behaviours: the demo with them off
    writes, byte for byte, the truth the simulator wrote before they existed (seed 7, one
    simulated hour, hash taken from that earlier simulator), after the new radio line."""
    scenario = scenario_with("demo", timing={"stage_share": 0}, turnbacks={"per_hour": 0})
    out = io.StringIO()
    world = WarehouseWorld(LAYOUT, scenario, seed=7, start=START, truth=TruthWriter(out))
    world.advance(START + 3600)
    radio, *rest = out.getvalue().splitlines(keepends=True)
    assert '"event":"radio"' in radio
    assert len(rest) == 561
    digest = hashlib.sha256("".join(rest).encode()).hexdigest()
    assert digest == "12727995ffeed9f9641fd5035711bc3e4e792a117d1bdb9ac90f940d00ab614c"


# ---------------------------------------------------------------------- zone bleed


def loudest(world: WarehouseWorld, reader: str, polls: int = 20) -> dict[str, float]:
    """The strongest RSSI per EPC over every antenna of ``reader`` and ``polls`` rounds."""
    best: dict[str, float] = {}
    for i in range(polls):
        for ant in (1, 2, 3, 4):
            for s in world.sightings(reader, ant, START + i * 0.1):
                best[s.epc_hex] = max(best.get(s.epc_hex, -200.0), s.rssi_dbm)
    return best


def test_zone_readers_hear_the_edge_of_a_neighbouring_zone_weaker_than_its_own_reader() -> None:
    world, _ = world_of(Scenario.model_validate({**QUIET, "stock": {"pallets_per_zone": 20}}), 3)
    world.advance(START)
    heard = {zone: loudest(world, reader) for zone, reader in ZONE_READER.items()}
    reach = world.radio.zone_bleed_m
    bled = kept_apart = 0
    for tp in world.floor.pallets.values():
        place = tp.placement
        assert isinstance(place, Shelved)
        assert tp.pallet.epc in heard[place.zone]
        for listener in ZONE_READER:
            if listener == place.zone:
                continue
            near = rect_distance(AREAS[listener], place.x, place.y) <= reach
            neighbour = listener in world.bleed[place.zone]
            if near and neighbour:
                bled += 1
                assert tp.pallet.epc in heard[listener], (tp.pallet.epc, listener)
                for epc in tp.epcs:  # every tag of it heard there is weaker than at home
                    if epc in heard[listener]:
                        assert heard[listener][epc] < heard[place.zone][epc] - 1.0
            else:
                kept_apart += 1
                assert not set(tp.epcs) & set(heard[listener]), (tp.pallet.epc, listener)
    assert bled >= 4 and kept_apart > bled
    assert "zone-c" not in world.bleed["zone-a"]  # zone-b stands between them


def test_zone_bleed_reads_are_some_db_weaker_than_the_pallets_own_zone_hears_them() -> None:
    scenario = Scenario.model_validate(
        {**QUIET, "stock": {"pallets_per_zone": 20}, "radio": {"rssi_noise_db": 0.0}}
    )
    world, _ = world_of(scenario, 3)
    world.advance(START)
    heard = {zone: loudest(world, reader, polls=5) for zone, reader in ZONE_READER.items()}
    gaps = []
    for tp in world.floor.pallets.values():
        place = tp.placement
        assert isinstance(place, Shelved)
        for listener in world.bleed[place.zone]:
            if tp.pallet.epc in heard[listener]:
                gaps.append(heard[place.zone][tp.pallet.epc] - heard[listener][tp.pallet.epc])
    assert gaps and min(gaps) >= world.radio.zone_bleed_db - 0.1


def test_every_put_away_tells_the_readers_that_hear_its_zone_at_that_moment() -> None:
    """What the fleet wakes a zone's readers with (a tag new to a field is read at once):
    the world says which zone changed as it happens, and which readers hear the zone,
    its own and those hearing its edge by bleed."""
    world, truth = world_of("dock-rush", 5)
    changes: list[tuple[float, str]] = []
    world.floor.on_zone_change = lambda zone: changes.append((round(world.flow.now_s, 3), zone))
    world.advance(START + 900)
    put_away = [r for r in truth if r["event"] == "putaway"]
    assert len(put_away) > 20
    told = set(changes)
    assert all((r["sim_s"], r["zone"]) in told for r in put_away), put_away[:3]
    assert world.readers_hearing("zone-a") == ("reader-packing", "reader-zone-a", "reader-zone-b")
    assert world.readers_hearing("zone-c") == ("reader-zone-b", "reader-zone-c")
    assert world.readers_hearing("staging") == ()  # the staging zone has no reader


# ---------------------------------------------------------------------- staging


def test_staged_pallets_wait_inside_the_door_heard_by_its_inside_antennas_all_along() -> None:
    scenario = Scenario.model_validate(
        {
            **QUIET,
            "trucks": [{"at": 0, "door": "door-3", "pallets": 6, "cases": 6}],
            "timing": {"stage_share": 0.5, "stage_s": [30, 60], "travel_s": [20, 30]},
        }
    )
    world, records = world_of(scenario, seed=2)
    reader = DOOR_READER["door-3"]
    # (epc, simulated second) -> loudest read on each side
    inside: dict[tuple[str, int], float] = {}
    outside: dict[tuple[str, int], float] = {}
    staged_seen: dict[str, list[float]] = defaultdict(list)
    for i in range(4000):  # 400 simulated seconds
        now = START + i * 0.1
        world.advance(now)
        for epc, tp in world.floor.at_door.get("door-3", {}).items():
            if isinstance(tp.placement, Staged):
                staged_seen[epc].append(now - START)
        for ant in (*INSIDE, *OUTSIDE):
            side = inside if ant in INSIDE else outside
            for s in world.sightings(reader, ant, now):
                key = (s.epc_hex, i // 10)
                side[key] = max(side.get(key, -200.0), s.rssi_dbm)

    by_pallet: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        if r["epc"] is not None:
            by_pallet[r["epc"]].append(r)
    stages = [r for r in records if r["event"] == "stage"]
    assert 1 <= len(stages) <= 5
    assert sorted(staged_seen) == sorted(s["epc"] for s in stages)
    for stage in stages:
        epc, t, until = stage["epc"], stage["sim_s"], stage["until_s"]
        names = [r["event"] for r in by_pallet[epc]]
        assert names == ["arrival", "stage", "putaway"]
        arrival, _, putaway = by_pallet[epc]
        assert (stage["door"], stage["zone"], stage["direction"]) == ("door-3", "staging", None)
        assert t == arrival["sim_s"] + 4.0  # the passage's end (passage_s 8 around the middle)
        assert 30 <= until - t <= 60 and putaway["sim_s"] >= until + 20
        assert min(staged_seen[epc]) >= t - 0.1 and max(staged_seen[epc]) <= until + 0.1
        for second in range(int(t) + 1, int(until)):  # heard inside every second of its stay
            assert (epc, second) in inside, (epc, second)
            # louder inside than any weak read the outside antennas catch from behind
            assert inside[epc, second] > outside.get((epc, second), -200.0) + 10
    for epc in world.floor.pallets:
        if epc not in staged_seen:
            assert [r["event"] for r in by_pallet[epc]] == ["arrival", "putaway"]


def test_a_staging_spot_lies_in_the_layouts_staging_zone() -> None:
    world, records = world_of(scenario_with("dock-rush", timing={"stage_share": 1.0}), seed=4)
    spots = 0
    for i in range(600):
        world.advance(START + i)
        for door, pallets in world.floor.at_door.items():
            for tp in pallets.values():
                if isinstance(tp.placement, Staged):
                    x, y = world.frames[door].floor_point(tp.placement.lateral, tp.placement.depth)
                    assert rect_distance(AREAS["staging"], x, y) == 0, (door, x, y)
                    assert tp.placement.zone == "staging"
                    spots += 1
    assert spots > 100
    arrivals = sum(1 for r in records if r["event"] == "arrival")
    assert sum(1 for r in records if r["event"] == "stage") >= arrivals - 4


# ---------------------------------------------------------------------- turn-backs


def side_track(
    world: WarehouseWorld, door: str, epc: str, t0: float, t1: float
) -> list[tuple[float, str, float]]:
    """(sim_s, "outside"/"inside", RSSI) of every read of ``epc`` at ``door``'s reader.
    May look back in time: a pallet's position at the door is a function of time, so a
    world already past ``t0`` still says where it was."""
    out = []
    for i in range(round((t1 - t0) / 0.1) + 1):
        now = START + t0 + i * 0.1
        world.advance(now)
        for ant in (*OUTSIDE, *INSIDE):
            for s in world.sightings(DOOR_READER[door], ant, now):
                if s.epc_hex == epc:
                    out.append(
                        (t0 + i * 0.1, "outside" if ant in OUTSIDE else "inside", s.rssi_dbm)
                    )
    return out


TURNING = {
    **QUIET,
    "trucks": [
        {"at": 10, "door": "door-2", "pallets": 3},
        {"at": 15, "door": "door-3", "pallets": 2},
        {"at": 200, "door": "door-1", "pallets": 3},
    ],
    "orders": [{"at": 120, "door": "door-4", "pallets": 2}, {"at": 300, "door": "door-2"}],
    "timing": {"travel_s": [10, 20], "pick_delay_s": [1, 5], "pack_s": [5, 10]},
}


def test_a_turnback_is_written_to_the_truth_and_the_pallet_goes_on_later() -> None:
    scenario = Scenario.model_validate({**TURNING, "turnbacks": {"per_hour": 3600}})
    world, records = world_of(scenario, seed=5)
    world.advance(START + 900)
    turnbacks = [r for r in records if r["event"] == "turnback"]
    assert {(r["door"], r["direction"]) for r in turnbacks} == {
        ("door-2", "inbound"),
        ("door-3", "inbound"),
        ("door-1", "inbound"),
        ("door-4", "outbound"),
        ("door-2", "outbound"),
    }
    passages = [r for r in records if r["event"] in ("arrival", "outbound")]
    for tb in turnbacks:
        assert tb["from_s"] < tb["sim_s"] < tb["until_s"]
        assert tb["sscc"] and tb["cases"] and (tb.get("truck") or tb.get("order"))
        same_way = [
            p for p in passages if p["epc"] == tb["epc"] and p["direction"] == tb["direction"]
        ]
        assert len(same_way) == 1, "it crosses that way once, later"
        crossing = same_way[0]
        assert crossing["door"] == tb["door"]
        assert crossing["sim_s"] - 4.0 > tb["until_s"]  # its passage begins after the turn-back
        for p in passages:  # the door carried nothing else meanwhile
            if p["door"] == tb["door"]:
                assert not tb["from_s"] - 4.0 < p["sim_s"] < tb["until_s"] + 4.0

    # the stock is what it is without turn-backs: same pallets put away and shipped
    calm, calm_records = world_of(Scenario.model_validate(TURNING), seed=5)
    calm.advance(START + 900)

    def outcome(recs: list[dict[str, Any]]) -> tuple[set[str], set[str]]:
        kept = {r["epc"] for r in recs if r["event"] == "putaway"}
        return kept, {r["epc"] for r in recs if r["event"] == "outbound"}

    assert outcome(records) == outcome(calm_records)
    assert world.flow.stored == calm.flow.stored
    assert world.stock_count() == calm.stock_count() == 8 - 3  # 8 came in, 3 went out


def test_a_turnback_stops_short_of_the_middle_and_is_never_heard_like_a_crossing() -> None:
    scenario = Scenario.model_validate({**TURNING, "turnbacks": {"per_hour": 3600}})
    world, records = world_of(scenario, seed=5)
    checked = 0
    step_to = 0.0
    done: set[tuple[str, float]] = set()
    while step_to < 900:
        step_to += 1.0
        world.advance(START + step_to)
        for tb in [r for r in records if r["event"] == "turnback"]:
            if (tb["epc"], tb["sim_s"]) in done:
                continue
            done.add((tb["epc"], tb["sim_s"]))
            door, epc = tb["door"], tb["epc"]
            move = world.floor.get(epc).placement
            assert isinstance(move, Turnback)
            middle = world.frames[door].depth / 2
            depths = [
                move.depth_at(move.t0 + k * 0.1) for k in range(int((move.t1 - move.t0) * 10))
            ]
            if tb["direction"] == "inbound":
                assert max(depths) <= middle - 0.5
            else:
                assert min(depths) >= middle + 0.5
            reads = side_track(world, door, epc, tb["from_s"], tb["until_s"])
            near = "outside" if tb["direction"] == "inbound" else "inside"
            far = "inside" if near == "outside" else "outside"
            assert reads[0][1] == near and reads[-1][1] == near, "heard first and last on its side"
            near_peak = max(r[2] for r in reads if r[1] == near)
            far_peak = max((r[2] for r in reads if r[1] == far), default=-200.0)
            assert far_peak < near_peak - 5.0, (near_peak, far_peak)
            checked += 1
    assert checked == 5

    # a real crossing, for contrast: first heard on the side it comes from, last on the other
    arrival = next(r for r in records if r["event"] == "arrival")
    fresh, _ = world_of(scenario, seed=5)
    fresh.advance(START + arrival["sim_s"] - 4.0)
    reads = side_track(
        fresh, arrival["door"], arrival["epc"], arrival["sim_s"] - 4, arrival["sim_s"] + 4
    )
    assert (reads[0][1], reads[-1][1]) == ("outside", "inside")


def test_dock_rush_turns_back_and_stages_as_often_as_its_scenario_says() -> None:
    world, records = world_of("dock-rush", seed=1)
    world.advance(START + 4 * 3600)
    per_hour = sum(1 for r in records if r["event"] == "turnback") / 4
    assert 8 <= per_hour <= 16  # scenario: 12 an hour
    arrivals = sum(1 for r in records if r["event"] == "arrival")
    staged = sum(1 for r in records if r["event"] == "stage")
    assert 0.15 <= staged / arrivals <= 0.25  # scenario: a fifth


# ---------------------------------------------------------------------- dock-rush


def test_dock_rush_passages_at_neighbouring_doors_overlap_most_of_the_time() -> None:
    """60 simulated minutes, seed 1: how many passages have another passage at a
    neighbouring door (as the radio line names them) within their passage window."""
    scenario = load_scenario("dock-rush")
    world, records = world_of(scenario, seed=1)
    world.advance(START + 3600)
    neighbours = records[0]["stray_doors"]
    half = scenario.timing.passage_s / 2
    passages = [(r["sim_s"], r["door"]) for r in records if r["event"] in ("arrival", "outbound")]
    overlapping = sum(
        1
        for t, door in passages
        if any(d in neighbours[door] and abs(u - t) < 2 * half for u, d in passages)
    )
    assert len(passages) >= 800
    assert overlapping / len(passages) >= 0.7, f"{overlapping} of {len(passages)}"
