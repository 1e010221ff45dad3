"""The fleet: every reader and scale of a layout on TCP, fed by one world, faults on schedule.
Real sllurp clients and raw sockets; short timeouts; every client disconnects."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
import yaml
from bigsite import fifty_reader_site
from sllurp.llrp import LLRPReaderClient, LLRPReaderConfig

from firmware_sim.fleet import Fleet, FleetError
from firmware_sim.world import (
    Scenario,
    SimClock,
    WarehouseWorld,
    load_scenario,
    parse_iso_utc,
)
from protocols.epc import decode_epc
from protocols.layout import Layout, load_layout, parse_layout

START = parse_iso_utc("2025-01-06T08:00:00Z")
READER_EVENT_NOTIFICATION = 63


def fifty_reader_layout() -> Layout:
    return parse_layout(yaml.safe_dump(fifty_reader_site()), "fifty")


@asynccontextmanager
async def fleet_of(
    layout: Layout, scenario: Scenario, *, speed: float = 1.0, start: float = START, **kwargs: Any
) -> AsyncIterator[tuple[Fleet, WarehouseWorld, list[dict[str, Any]]]]:
    truth: list[dict[str, Any]] = []
    clock = SimClock(start, speed)
    world = WarehouseWorld(
        layout, scenario, start=clock.start, truth=lambda e: truth.append(e.to_dict())
    )
    async with Fleet(layout, world, clock, llrp_port_base=0, scale_port_base=0, **kwargs) as fleet:
        yield fleet, world, truth


class SllurpSession:
    """A real sllurp client in its own thread, collecting tag reports."""

    def __init__(self, port: int) -> None:
        config = LLRPReaderConfig(
            {
                "antennas": [0],
                "report_every_n_tags": 1,
                "tag_content_selector": {
                    "EnableAntennaID": True,
                    "EnablePeakRSSI": True,
                    "EnableFirstSeenTimestamp": True,
                    "EnableTagSeenCount": True,
                },
            }
        )
        self.client = LLRPReaderClient("127.0.0.1", port, config, timeout=3.0)
        self.reports: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.client.add_tag_report_callback(self._on_tags)

    def _on_tags(self, _reader: Any, tags: list[dict[str, Any]]) -> None:
        with self._lock:
            self.reports.extend(tags)

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.reports)

    async def __aenter__(self) -> SllurpSession:
        await asyncio.wait_for(asyncio.to_thread(self.client.connect), timeout=5)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.wait_for(asyncio.to_thread(self.client.disconnect, 3), timeout=5)


def fast_readers(scenario: Scenario, reads_per_s: float) -> Scenario:
    radio = scenario.radio.model_copy(update={"reader_reads_per_s": reads_per_s})
    return scenario.model_copy(update={"radio": radio})


async def test_sllurp_sees_shelved_case_epcs_at_over_1000_reads_per_second() -> None:
    scenario = fast_readers(load_scenario("demo"), 20_000.0)
    async with fleet_of(load_layout(None), scenario) as (fleet, world, _):
        async with SllurpSession(fleet.readers["reader-zone-a"].port) as session:
            started = time.monotonic()
            await asyncio.sleep(2.0)
            reports = session.snapshot()
            elapsed = time.monotonic() - started
        schemes = {decode_epc(r["EPC"].decode()).scheme for r in reports}
        assert schemes == {"sscc", "sgtin"}
        reads = sum(r.get("TagSeenCount", 1) for r in reports)
        assert reads / elapsed >= 1000, f"{reads} reads in {elapsed:.2f} s"
        heard_zones = ("zone-a", *world.bleed["zone-a"])  # its own, and zone-b's edge
        shelved = {
            e
            for z in heard_zones
            for tp in world.floor.in_zone.get(z, {}).values()
            for e in tp.epcs
        }
        assert {r["EPC"].decode().upper() for r in reports} <= shelved
        assert {r["AntennaID"] for r in reports} == {1, 2, 3, 4}
        # report timestamps are simulated UTC: the world started at START
        first_seen = min(r["FirstSeenTimestampUTC"] for r in reports) / 1e6
        assert START <= first_seen < START + 10


async def test_a_reader_reads_no_more_tags_a_second_than_its_throughput() -> None:
    # the demo's zone-a holds far more tags than 60 reads a (simulated) second at speed 2
    scenario = fast_readers(load_scenario("demo"), 60.0)
    async with fleet_of(load_layout(None), scenario, speed=2.0) as (fleet, _, _):
        async with SllurpSession(fleet.readers["reader-zone-a"].port) as session:
            await asyncio.sleep(1.0)
            before = len(session.snapshot())  # past the first round's burst
            started = time.monotonic()
            await asyncio.sleep(3.0)
            reports = session.snapshot()[before:]
            elapsed = time.monotonic() - started
    reads = sum(r.get("TagSeenCount", 1) for r in reports)
    # 120 reads a wall second, give or take a round's worth
    assert 0 < reads <= 60.0 * 2.0 * elapsed + 30, f"{reads} reads in {elapsed:.2f} s"


async def test_fifty_readers_and_their_scales_all_answer_on_their_ports() -> None:
    layout = fifty_reader_layout()
    assert len(layout.readers) == 50
    async with fleet_of(layout, load_scenario("demo")) as (fleet, _, _):
        assert len({e.port for e in fleet.endpoints}) == 52

        async def greeting(port: int) -> int:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
            try:
                header = await asyncio.wait_for(reader.readexactly(10), 5)
            finally:
                writer.close()
            return int.from_bytes(header[:2], "big") & 0x3FF

        llrp_ports = [e.port for e in fleet.endpoints if e.kind == "llrp"]
        assert (
            await asyncio.gather(*(greeting(p) for p in llrp_ports))
            == [READER_EVENT_NOTIFICATION] * 50
        )
        for e in fleet.endpoints:
            if e.kind == "mtsics":
                reader, writer = await asyncio.open_connection(e.host, e.port)
                writer.write(b"I4\r\n")
                assert (await asyncio.wait_for(reader.readline(), 5)).startswith(b"I4 A")
                writer.close()


async def test_the_scale_reports_the_weight_of_the_pallet_the_world_put_on_it() -> None:
    scenario = Scenario.model_validate(
        {
            "stock": {"pallets_per_zone": 1, "zones": ["zone-a"]},
            "inbound": {"enabled": False},
            "outbound": {"enabled": False},
            "orders": [{"at": 0, "door": "door-1", "pallets": 1}],
            "timing": {"pick_delay_s": 0, "travel_s": 1, "pack_s": 1, "weigh_s": 60},
        }
    )
    async with fleet_of(load_layout(None), scenario, speed=5.0) as (fleet, _, truth):
        weigh = None
        for _ in range(100):
            weigh = next((r for r in truth if r["event"] == "weigh"), None)
            if weigh:
                break
            await asyncio.sleep(0.05)
        assert weigh is not None and weigh["scale"] == "scale-1"
        reader, writer = await asyncio.open_connection("127.0.0.1", fleet.scales["scale-1"].port)
        try:
            writer.write(b"S\r\n")
            reply = (await asyncio.wait_for(reader.readline(), 5)).decode().split()
        finally:
            writer.close()
        assert reply[:2] == ["S", "S"] and reply[3] == "kg"
        assert float(reply[2]) == pytest.approx(weigh["weight_kg"], abs=0.5)


async def eventually(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_scheduled_faults_reach_the_devices_and_end_on_time() -> None:
    scenario = Scenario.model_validate(
        {
            "faults": [
                "scale-1:overload@1s+10s",
                "reader-door-3:skew=-90s@1s+10s",
                "reader-zone-b:drop@1s",
            ]
        }
    )
    async with fleet_of(load_layout(None), scenario, speed=10.0) as (fleet, world, truth):
        port = fleet.readers["reader-zone-b"].port
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            await asyncio.wait_for(reader.readexactly(10), 5)  # the greeting
            scale = fleet.scales["scale-1"].scale
            skewed = fleet.readers["reader-door-3"]
            assert not scale.overload_forced and skewed.clock_skew_s == 0
            await eventually(lambda: scale.overload_forced and skewed.clock_skew_s == -90)
            assert 1.0 <= world.now - world.start < 11.0

            async def until_eof() -> None:  # the dropped connection ends
                while await reader.read(65536):
                    pass

            await asyncio.wait_for(until_eof(), 5)
            await eventually(lambda: not scale.overload_forced and skewed.clock_skew_s == 0)
            assert world.now - world.start >= 11.0
        finally:
            writer.close()
        phases = [(r["target"], r["phase"]) for r in truth if r["event"] == "fault"]
        assert phases == [
            ("scale-1", "start"),
            ("reader-door-3", "start"),
            ("reader-zone-b", "start"),
            ("scale-1", "end"),
            ("reader-door-3", "end"),
        ]


async def test_a_silent_reader_keeps_the_connection_but_sends_nothing() -> None:
    scenario = Scenario.model_validate({"faults": ["reader-zone-a:silent@2s+60s"]})
    async with fleet_of(load_layout(None), scenario, speed=2.0) as (fleet, _, truth):
        async with SllurpSession(fleet.readers["reader-zone-a"].port) as session:
            await eventually(lambda: bool(session.snapshot()))  # reads before the fault
            await eventually(lambda: any(r["event"] == "fault" for r in truth))
            await asyncio.sleep(0.3)  # reports already on the wire
            before = len(session.snapshot())
            await asyncio.sleep(1.0)
            assert len(session.snapshot()) == before
            assert fleet.readers["reader-zone-a"].client_connected


async def test_a_zone_that_gains_or_loses_a_pallet_wakes_the_readers_hearing_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    woken: list[str] = []
    async with fleet_of(load_layout(None), load_scenario("dock-rush")) as (fleet, world, _):
        for reader_id, reader in fleet.readers.items():
            monkeypatch.setattr(reader, "field_changed", lambda r=reader_id: woken.append(r))
        world.advance(START + 600)  # put-aways, picks: zones gain and lose pallets
        assert world.stock_count() > 0
        assert set(woken) == {"reader-zone-a", "reader-zone-b", "reader-zone-c", "reader-packing"}
        woken.clear()
        assert world.floor.on_zone_change is not None
        world.floor.on_zone_change("zone-c")
        assert sorted(woken) == ["reader-zone-b", "reader-zone-c"]
    assert world.floor.on_zone_change is None  # a stopped fleet hears no more


async def test_a_port_already_taken_is_named() -> None:
    blocker = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = blocker.sockets[0].getsockname()[1]
    data = load_layout(None).model_dump(exclude_none=True)
    data["readers"][2]["port"] = port
    layout = parse_layout(yaml.safe_dump(data))
    world = WarehouseWorld(layout, load_scenario("demo"), start=START)
    try:
        fleet = Fleet(layout, world, SimClock(START), llrp_port_base=0, scale_port_base=0)
        with pytest.raises(
            FleetError, match=rf"reader reader-door-3: cannot listen on 127.0.0.1:{port}"
        ):
            await fleet.start()
        assert not fleet.readers
    finally:
        blocker.close()
        await blocker.wait_closed()


def _door_number(door: str) -> int:
    return int(door.rsplit("-", 1)[1])


async def test_sllurp_gets_correct_reports_from_every_reader_of_the_demo_layout() -> None:
    """An unmodified sllurp client on each of the 7 demo readers: every one reports, only
    from its own antennas, and only tags the world put there (door readers: pallets that
    crossed or approached that door, or weak strays from the neighbouring one)."""
    layout = load_layout(None)
    speed = 20.0
    async with fleet_of(layout, load_scenario("dock-rush"), speed=speed) as (fleet, world, truth):
        async with contextlib.AsyncExitStack() as stack:
            sessions = {
                r.id: await stack.enter_async_context(SllurpSession(fleet.readers[r.id].port))
                for r in layout.readers
            }
            started = time.monotonic()
            while time.monotonic() - started < 45:
                doors_crossed = {e["door"] for e in truth if e["event"] in ("arrival", "outbound")}
                if len(doors_crossed) == 4 and all(s.snapshot() for s in sessions.values()):
                    break
                await asyncio.sleep(0.5)
            reports = {rid: s.snapshot() for rid, s in sessions.items()}
            elapsed = time.monotonic() - started
    # a pallet is heard before its line is written (a passage's middle, a turn-back's
    # turn): let the world finish what was under way when the reports were taken
    world.advance(world.now + 30)

    pallet_of: dict[str, str] = {}
    for e in truth:
        if e.get("epc") and "cases" in e and isinstance(e["cases"], list):
            pallet_of[e["epc"]] = e["epc"]
            pallet_of.update({case: e["epc"] for case in e["cases"]})
    crossings: dict[str, set[int]] = {}
    for e in truth:
        if e["event"] in ("arrival", "outbound", "turnback") and e.get("epc"):
            crossings.setdefault(e["epc"], set()).add(_door_number(e["door"]))

    for reader in layout.readers:
        got = reports[reader.id]
        assert got, f"{reader.id} sent no tag reports in {elapsed:.0f} s"
        assert {r["AntennaID"] for r in got} <= {a.id for a in reader.antennas}, reader.id
        for r in got:
            epc = r["EPC"].decode().upper()
            assert decode_epc(epc).scheme in ("sgtin", "sscc"), epc
            assert epc in pallet_of, f"{reader.id} reported {epc}, which the world never made"
            seen = r["FirstSeenTimestampUTC"] / 1e6
            assert START <= seen <= START + speed * (elapsed + 50), (reader.id, seen)
            if reader.door is not None:
                doors = crossings.get(pallet_of[epc], set())
                here = _door_number(reader.door)
                assert doors & {here - 1, here, here + 1}, (
                    f"{reader.id} heard {epc}, whose pallet crossed doors {sorted(doors)} only"
                )
