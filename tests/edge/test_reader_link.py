"""A reader link (sllurp inside) against a simulated LLRP reader over TCP: reads arrive,
a reader that goes silent with TCP up is noticed and reconnected, a dropped connection
too, and the link stops cleanly."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime

from edge.reader_link import ReaderLink
from edge.reads import TagRead
from firmware_sim.llrp_reader import LLRPReaderServer
from firmware_sim.world_view import Sighting
from protocols.mqtt import ReaderState

EPC = "3034257BF7194E4000001A85"


class OneTag:
    def sightings(self, reader_id: str, antenna_id: int, now: float) -> list[Sighting]:
        return [Sighting(EPC, -50.0)] if antenna_id == 1 else []


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reads: list[TagRead] = []
        self.states: list[ReaderState] = []

    def on_reads(self, reads: list[TagRead]) -> None:
        with self.lock:
            self.reads.extend(reads)

    def on_state(self, _reader_id: str, state: ReaderState) -> None:
        with self.lock:
            self.states.append(state)

    def count(self, state: ReaderState) -> int:
        with self.lock:
            return self.states.count(state)


async def eventually(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_reads_arrive_and_a_silent_or_dropped_reader_is_reconnected():
    rec = Recorder()
    async with LLRPReaderServer("r1", [1, 2], OneTag(), port=0) as server:
        link = ReaderLink(
            "r1", "127.0.0.1", server.port, [1, 2], rec.on_reads, rec.on_state,
            keepalive_ms=300, reconnect_max_s=0.5,
        )  # fmt: skip
        link.start()
        try:
            await eventually(lambda: rec.reads, 10, "the first reads")
            assert {(r.epc, r.antenna) for r in rec.reads} == {(EPC, 1)}
            assert rec.count(ReaderState.INVENTORYING) == 1

            server.go_silent(True)  # TCP stays up, nothing is said
            silent_at = time.monotonic()
            await eventually(
                lambda: rec.count(ReaderState.DISCONNECTED) >= 1, 10, "silence noticed"
            )
            noticed_after = time.monotonic() - silent_at
            assert noticed_after >= link.silence_limit_s * 0.8
            server.go_silent(False)
            await eventually(
                lambda: rec.count(ReaderState.INVENTORYING) >= 2, 15, "inventorying again"
            )

            server.drop_connection()
            await eventually(
                lambda: rec.count(ReaderState.INVENTORYING) >= 3, 15, "back after a drop"
            )
        finally:
            await asyncio.to_thread(link.stop)
    assert link.state == ReaderState.DISCONNECTED


async def test_a_reader_that_is_not_there_is_retried_with_growing_backoff():
    rec = Recorder()
    async with LLRPReaderServer("r1", [1], OneTag(), port=0) as server:
        port = server.port  # a port nothing listens on once the server is gone
    link = ReaderLink("r1", "127.0.0.1", port, [1], rec.on_reads, rec.on_state, reconnect_max_s=30)
    link.start()
    try:
        await asyncio.sleep(2.0)  # backoff 0.5 s, then 1 s, then 2 s: three attempts
    finally:
        await asyncio.to_thread(link.stop)
    assert 2 <= rec.count(ReaderState.CONNECTING) <= 3


async def test_a_reader_whose_clock_is_90_s_behind_has_its_read_times_corrected():
    rec = Recorder()
    async with LLRPReaderServer("r1", [1], OneTag(), port=0) as server:
        server.clock_skew_s = -90.0
        link = ReaderLink("r1", "127.0.0.1", server.port, [1], rec.on_reads, rec.on_state)
        link.start()
        try:
            await eventually(lambda: len(rec.reads) >= 5, 10, "reads")
        finally:
            await asyncio.to_thread(link.stop)
    assert link.clock_offset_s is not None and 89 < link.clock_offset_s < 92
    now = datetime.now(UTC)
    for read in rec.reads:
        assert abs((now - read.last_seen).total_seconds()) < 15, read.last_seen
