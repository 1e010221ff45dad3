"""The simulated LLRP reader, driven by the real, unmodified sllurp client over TCP."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sllurp.llrp import LLRPReaderClient, LLRPReaderConfig

from firmware_sim.llrp_reader import LLRPReaderServer
from firmware_sim.world_view import Sighting

pytestmark = pytest.mark.timeout(30)

START = 1_700_000_000.0
NEAR_EPC = "3005FB63AC1F3841EC880467"
FAR_EPC = "300833B2DDD906C000000000"
SELECTOR = {
    "EnableAntennaID": True,
    "EnablePeakRSSI": True,
    "EnableFirstSeenTimestamp": True,
    "EnableLastSeenTimestamp": True,
    "EnableTagSeenCount": True,
    "EnableChannelIndex": True,
}


class FakeField:
    """Tags per antenna, changeable while the reader runs."""

    def __init__(self, by_antenna: dict[int, list[Sighting]]) -> None:
        self.by_antenna = by_antenna

    def sightings(self, reader_id: str, antenna_id: int, now: float) -> Sequence[Sighting]:
        return self.by_antenna.get(antenna_id, [])


class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


class SllurpSession:
    """A sllurp client plus what it received, collected from its thread."""

    def __init__(self, port: int, **config: Any) -> None:
        settings: dict[str, Any] = {
            "antennas": [1, 2, 3, 4],
            "report_every_n_tags": 1,
            "tag_content_selector": SELECTOR,
            "keepalive_interval": 0,
        }
        settings.update(config)
        self.client = LLRPReaderClient("127.0.0.1", port, LLRPReaderConfig(settings), timeout=3.0)
        self.lock = threading.Lock()
        self.tags: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.disconnected = threading.Event()
        self.client.add_tag_report_callback(self._on_tags)
        self.client.add_event_callback(self._on_event)
        self.client.add_disconnected_callback(lambda _reader: self.disconnected.set())
        for name in ("KEEPALIVE", "ERROR_MESSAGE", "GET_READER_CAPABILITIES_RESPONSE"):
            self.client.add_message_callback(name, self._on_message)

    def _on_tags(self, _reader: Any, tags: list[dict[str, Any]]) -> None:
        with self.lock:
            self.tags.extend(tags)

    def _on_event(self, _reader: Any, event: dict[str, Any]) -> None:
        with self.lock:
            self.events.append(event)

    def _on_message(self, _reader: Any, message: Any) -> None:
        name = message.getName()
        with self.lock:
            self.messages.setdefault(name, []).append(message.msgdict[name])

    def snapshot_tags(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.tags)

    def count(self, name: str) -> int:
        with self.lock:
            return len(self.messages.get(name, []))


@asynccontextmanager
async def sllurp_session(port: int, **config: Any) -> AsyncIterator[SllurpSession]:
    session = SllurpSession(port, **config)
    await asyncio.to_thread(session.client.connect)
    try:
        yield session
    finally:
        await asyncio.to_thread(session.client.disconnect, 3.0)
        session.client.hard_disconnect()


async def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def make_field() -> FakeField:
    return FakeField(
        {
            1: [Sighting(NEAR_EPC, -50.0), Sighting(FAR_EPC, -70.0)],
            2: [Sighting(NEAR_EPC, -55.0)],
            3: [Sighting(FAR_EPC, -60.0)],
        }
    )


@asynccontextmanager
async def reader(field: FakeField | None = None, **kwargs: Any) -> AsyncIterator[LLRPReaderServer]:
    server = LLRPReaderServer(
        "reader-1",
        (1, 2, 3, 4),
        field or make_field(),
        kwargs.pop("clock", FakeClock()),
        host="127.0.0.1",
        port=0,
        round_interval_s=0.02,
        **kwargs,
    )
    async with server:
        yield server


async def test_sllurp_connects_configures_and_receives_tag_reports() -> None:
    clock = FakeClock()
    async with reader(clock=clock) as server, sllurp_session(server.port) as session:
        await wait_for(lambda: len(session.snapshot_tags()) >= 8)
        tags = session.snapshot_tags()
        seen = {(t["EPC-96"].decode().upper(), t["AntennaID"]): t for t in tags}
        assert set(seen) == {(NEAR_EPC, 1), (FAR_EPC, 1), (NEAR_EPC, 2), (FAR_EPC, 3)}
        assert seen[(NEAR_EPC, 1)]["PeakRSSI"] == -50
        assert seen[(FAR_EPC, 1)]["PeakRSSI"] == -70
        assert seen[(NEAR_EPC, 2)]["PeakRSSI"] == -55
        for tag in tags:
            assert tag["FirstSeenTimestampUTC"] == int(START * 1_000_000)
            assert tag["LastSeenTimestampUTC"] == int(START * 1_000_000)
            assert tag["TagSeenCount"] == 1
            assert 1 <= tag["ChannelIndex"] <= 50
        assert server.client_connected


async def test_clock_skew_shifts_reported_timestamps() -> None:
    async with reader() as server:
        server.clock_skew_s = 2.5
        async with sllurp_session(server.port) as session:
            await wait_for(lambda: len(session.snapshot_tags()) >= 1)
            tag = session.snapshot_tags()[0]
            assert tag["FirstSeenTimestampUTC"] == int((START + 2.5) * 1_000_000)


async def test_second_client_is_refused_while_first_keeps_reporting() -> None:
    async with reader() as server, sllurp_session(server.port) as first:
        await wait_for(lambda: len(first.snapshot_tags()) >= 1)
        second = SllurpSession(server.port)
        await asyncio.to_thread(second.client.connect)
        try:
            await wait_for(lambda: bool(second.events))
            await asyncio.to_thread(second.disconnected.wait, 5.0)
            status = second.events[0]["ConnectionAttemptEvent"]["Status"]
            assert status == "Failed (a Client initiated connection already exists)"
            assert second.disconnected.is_set()
        finally:
            second.client.hard_disconnect()

        def told() -> list[str]:
            return [
                e["ConnectionAttemptEvent"]["Status"]
                for e in first.events
                if "ConnectionAttemptEvent" in e
            ]

        # the first client already holds its own "Success" event: wait for the new one
        await wait_for(lambda: "Another connection attempted" in told(), timeout=5.0)
        before = len(first.snapshot_tags())
        await wait_for(lambda: len(first.snapshot_tags()) > before + 4)


async def test_malformed_bytes_get_error_message_and_reader_keeps_serving() -> None:
    async with reader() as server, sllurp_session(server.port) as session:
        await wait_for(lambda: len(session.snapshot_tags()) >= 1)
        unknown_type = bytes.fromhex("07f7 0000000a 00000063")
        trailing_bytes = bytes.fromhex("0401 0000000d 00000064 00 0000")
        truncated_parameter = bytes.fromhex("0414 00000012 00000065 00b1 00ff 00000001")
        for frame in (unknown_type, trailing_bytes, truncated_parameter):
            session.client.send_data(frame)
        await wait_for(lambda: session.count("ERROR_MESSAGE") >= 3)
        errors = session.messages["ERROR_MESSAGE"]
        assert errors[0]["LLRPStatus"]["StatusCode"] == "UnsupportedMessage"
        assert errors[1]["LLRPStatus"]["StatusCode"] == "ParameterError"
        assert b"offset 10" in errors[2]["LLRPStatus"]["ErrorDescription"]
        session.client.send_data(bytes.fromhex("0401 0000000b 00000066 00"))
        await wait_for(lambda: session.count("GET_READER_CAPABILITIES_RESPONSE") >= 2)
        before = len(session.snapshot_tags())
        await wait_for(lambda: len(session.snapshot_tags()) > before + 4)


async def test_lower_transmit_power_loses_weak_tags_and_lowers_rssi() -> None:
    field = FakeField({1: [Sighting(NEAR_EPC, -50.0), Sighting(FAR_EPC, -70.0)]})
    async with reader(field) as server:
        # index 1 is 10.0 dBm: 22.5 dB below full power, so -70 dBm drops below -84 dBm
        async with sllurp_session(server.port, antennas=[1], tx_power=1) as session:
            await wait_for(lambda: len(session.snapshot_tags()) >= 5)
            tags = session.snapshot_tags()
    assert {t["EPC-96"].decode().upper() for t in tags} == {NEAR_EPC}
    assert {t["PeakRSSI"] for t in tags} == {round(-50.0 - 22.5)}


async def test_only_antennas_in_the_rospec_report() -> None:
    async with reader() as server, sllurp_session(server.port, antennas=[2, 3]) as session:
        await wait_for(lambda: len(session.snapshot_tags()) >= 6)
        assert {t["AntennaID"] for t in session.snapshot_tags()} == {2, 3}


async def test_keepalives_arrive_at_the_requested_interval() -> None:
    async with reader() as server, sllurp_session(server.port, keepalive_interval=100) as session:
        await wait_for(lambda: session.count("KEEPALIVE") >= 3, timeout=3.0)


async def test_antenna_event_is_notified_and_the_antenna_goes_quiet() -> None:
    events = {"AntennaEvent": True}
    async with reader() as server, sllurp_session(server.port, event_selector=events) as session:
        await wait_for(lambda: len(session.snapshot_tags()) >= 1)
        server.antenna_event(1, connected=False)
        await wait_for(lambda: any("AntennaEvent" in e for e in session.events))
        event = next(e for e in session.events if "AntennaEvent" in e)["AntennaEvent"]
        assert event["AntennaID"] == 1
        assert event["EventType"] in ("Disconnected", 0)
        await asyncio.sleep(0.1)
        start = len(session.snapshot_tags())
        await wait_for(lambda: len(session.snapshot_tags()) > start + 6)
        assert 1 not in {t["AntennaID"] for t in session.snapshot_tags()[start:]}


async def test_silent_reader_keeps_tcp_open_but_sends_nothing() -> None:
    async with reader() as server, sllurp_session(server.port, keepalive_interval=50) as session:
        await wait_for(lambda: session.count("KEEPALIVE") >= 1)
        server.go_silent(True)
        await asyncio.sleep(0.1)
        tags, keepalives = len(session.snapshot_tags()), session.count("KEEPALIVE")
        await asyncio.sleep(0.4)
        assert (len(session.snapshot_tags()), session.count("KEEPALIVE")) == (tags, keepalives)
        assert not session.disconnected.is_set()
        server.go_silent(False)
        await wait_for(lambda: session.count("KEEPALIVE") > keepalives)


async def test_dropped_connection_is_seen_by_the_client() -> None:
    async with reader() as server, sllurp_session(server.port) as session:
        await wait_for(lambda: len(session.snapshot_tags()) >= 1)
        server.drop_connection()
        await asyncio.to_thread(session.disconnected.wait, 5.0)
        assert session.disconnected.is_set()
        await wait_for(lambda: not server.client_connected)
