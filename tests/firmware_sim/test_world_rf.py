"""What antennas hear: door passages, stray reads at the neighbouring door, shelf reads,
the miss rate, and how many reads one reader's field offers per second."""

from __future__ import annotations

import time
from itertools import pairwise
from typing import Any

from firmware_sim.world import Scenario, WarehouseWorld, parse_iso_utc
from firmware_sim.world.floor import Passage
from protocols.layout import load_layout

START = parse_iso_utc("2025-01-06T08:00:00Z")
QUIET: dict[str, Any] = {
    "stock": {"pallets_per_zone": 0},
    "inbound": {"enabled": False},
    "outbound": {"enabled": False},
}


def world_with(seed: int = 3, **overrides: Any) -> WarehouseWorld:
    data = {**QUIET, **overrides}
    return WarehouseWorld(load_layout(None), Scenario.model_validate(data), seed=seed, start=START)


def rssi_track(
    world: WarehouseWorld, reader: str, epcs: set[str], t0: float, t1: float, step: float = 0.1
) -> dict[int, list[tuple[float, float]]]:
    """(time, RSSI) of reads of ``epcs`` per antenna of ``reader``, stepping from t0 to t1."""
    track: dict[int, list[tuple[float, float]]] = {1: [], 2: [], 3: [], 4: []}
    n = round((t1 - t0) / step)
    for i in range(n + 1):
        now = START + t0 + i * step
        for ant in track:
            for s in world.sightings(reader, ant, now):
                if s.epc_hex in epcs:
                    track[ant].append((now, s.rssi_dbm))
    return track


def one_pallet_through(direction: str, **radio: Any) -> tuple[WarehouseWorld, str]:
    """A world where one pallet crosses door-2 at 10 s (and, outbound, leaves again)."""
    scripted: dict[str, Any] = {"trucks": [{"at": 0, "door": "door-2", "pallets": 1, "cases": 10}]}
    if direction == "outbound":
        scripted["orders"] = [{"at": 60, "door": "door-2", "pallets": 1}]
    world = world_with(
        radio={"miss_rate": 0.0, "rssi_noise_db": 0.0, **radio},
        timing={"dock_s": 10, "passage_s": 8, "travel_s": 5, "pick_delay_s": 1, "pack_s": 1},
        **scripted,
    )
    world.advance(START + 1)
    (epc,) = world.floor.pallets
    return world, epc


def outbound_passage_start(world: WarehouseWorld, epc: str, after_s: float) -> float:
    for i in range(10_000):
        now = START + after_s + i * 0.1
        world.advance(now)
        placement = world.where(epc)
        if isinstance(placement, Passage) and placement.direction == "outbound":
            return now
    raise AssertionError("the pallet never left")


def assert_rises_then_falls(series: list[float]) -> None:
    peak = series.index(max(series))
    assert 0 < peak < len(series) - 1, f"no rise and fall around a peak: {series}"
    assert all(a <= b for a, b in pairwise(series[: peak + 1]))
    assert all(a >= b for a, b in pairwise(series[peak:]))
    assert max(series) - series[0] > 3 and max(series) - series[-1] > 3


def test_inbound_passage_outside_antennas_hear_first_and_rssi_rises_then_falls() -> None:
    world, epc = one_pallet_through("inbound")
    track = rssi_track(world, "reader-door-2", {epc}, 9.0, 19.0)
    first = {ant: points[0][0] for ant, points in track.items()}
    assert max(first[1], first[2]) < min(first[3], first[4]) - 1.0
    for ant in (1, 2, 3, 4):
        assert_rises_then_falls([rssi for _, rssi in track[ant]])
    peak_time = {ant: max(points, key=lambda p: p[1])[0] for ant, points in track.items()}
    assert max(peak_time[1], peak_time[2]) < min(peak_time[3], peak_time[4])


def test_outbound_passage_inside_antennas_hear_first() -> None:
    world, epc = one_pallet_through("outbound")
    leave = outbound_passage_start(world, epc, after_s=60.0)
    track = rssi_track(world, "reader-door-2", {epc}, leave - START, leave - START + 9.0)
    first = {ant: points[0][0] for ant, points in track.items() if points}
    assert set(first) == {1, 2, 3, 4}
    assert max(first[3], first[4]) < min(first[1], first[2]) - 1.0
    for ant in (1, 2, 3, 4):
        assert_rises_then_falls([rssi for _, rssi in track[ant]])


def test_case_tags_are_heard_with_the_pallet_and_weaker_than_its_label() -> None:
    world, epc = one_pallet_through("inbound")
    heard: dict[str, float] = {}
    for i in range(80):
        for s in world.sightings("reader-door-2", 1, START + 10 + i * 0.1):
            heard[s.epc_hex] = max(heard.get(s.epc_hex, -200.0), s.rssi_dbm)
    pallet = world.floor.get(epc).pallet
    assert set(heard) == {epc, *pallet.case_epcs}
    assert all(heard[c] < heard[epc] for c in pallet.case_epcs)
    assert all(h.startswith("30") for h in pallet.case_epcs)  # SGTIN-96 header
    assert epc.startswith("31")  # SSCC-96 header


def test_neighbouring_doors_hear_weak_stray_reads_and_far_doors_none() -> None:
    def track(reader: str) -> dict[int, list[tuple[float, float]]]:
        world, epc = one_pallet_through("inbound", stray_read_rate=0.3)
        tags = set(world.floor.get(epc).epcs)
        return rssi_track(world, reader, tags, 9.0, 19.0)

    own = track("reader-door-2")
    strays = {r: track(r) for r in ("reader-door-1", "reader-door-3")}
    far = track("reader-door-4")
    own_reads = [rssi for points in own.values() for _, rssi in points]
    for reader, heard in strays.items():
        stray_reads = [rssi for points in heard.values() for _, rssi in points]
        assert stray_reads, f"{reader} heard no stray read"
        assert len(stray_reads) < len(own_reads) / 2
        assert max(stray_reads) < max(own_reads) - 15
    assert not any(far.values())


def test_without_zone_bleed_shelved_stock_is_heard_by_its_zone_reader_only() -> None:
    world = world_with(stock={"pallets_per_zone": 4}, radio={"miss_rate": 0.0, "zone_bleed_m": 0})
    world.advance(START)
    in_zone_a = {
        e for e, tp in world.floor.pallets.items() if getattr(tp.placement, "zone", "") == "zone-a"
    }
    assert len(in_zone_a) == 4
    heard = {s.epc_hex for a in (1, 2, 3, 4) for s in world.sightings("reader-zone-a", a, START)}
    expected = {e for p in in_zone_a for e in world.floor.get(p).epcs}
    assert expected <= heard
    assert heard <= {e for tp in world.floor.pallets.values() for e in tp.epcs}
    others = {s.epc_hex for a in (1, 2, 3, 4) for s in world.sightings("reader-zone-b", a, START)}
    assert not heard & others
    assert not world.sightings("reader-door-1", 1, START)


def test_miss_rate_drops_that_share_of_reads() -> None:
    def reads(miss_rate: float) -> int:
        world = world_with(stock={"pallets_per_zone": 6}, radio={"miss_rate": miss_rate})
        return sum(
            len(world.sightings("reader-zone-a", a, START + i * 0.1))
            for i in range(200)
            for a in (1, 2, 3, 4)
        )

    everything = reads(0.0)
    assert everything > 10_000
    for rate in (0.1, 0.3):
        assert abs(reads(rate) / everything - (1 - rate)) < 0.02


def test_the_same_moment_sounds_the_same_however_often_it_is_asked() -> None:
    world = world_with(stock={"pallets_per_zone": 6}, radio={"miss_rate": 0.2})
    first = world.sightings("reader-zone-a", 2, START + 5.0)
    again = world.sightings("reader-zone-a", 2, START + 5.0)
    later = world.sightings("reader-zone-a", 2, START + 5.5)
    assert first == again
    assert first != later  # other dice 500 ms later


def test_one_reader_field_offers_well_over_1000_reads_per_second() -> None:
    world = world_with(stock={"pallets_per_zone": 8}, seed=1)
    started = time.perf_counter()
    count = 0
    for i in range(10):  # one simulated second, each antenna asked every 100 ms
        for ant in (1, 2, 3, 4):
            count += len(world.sightings("reader-zone-a", ant, START + i * 0.1))
    cpu = time.perf_counter() - started
    assert count >= 1000
    assert cpu < 0.25, f"{count} sightings took {cpu:.3f} s"
