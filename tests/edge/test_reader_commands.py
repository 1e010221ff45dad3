"""Commands to a reader through its link (sllurp inside) against a simulated LLRP reader
over TCP: stop and start inventory, set an antenna's power, reconnect; each confirmed by
the reader, or refused saying why."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from edge.reader_link import CommandFailed, ReaderLink
from edge.reads import TagRead
from firmware_sim.llrp_reader import LLRPReaderServer
from firmware_sim.world_view import Sighting
from protocols.mqtt import ReaderState

EPC = "3034257BF7194E4000001A85"
WAIT = 20.0


class FarTag:
    """A tag antenna 1 hears at -70 dBm at full power: out of range 20 dB lower."""

    def sightings(self, reader_id: str, antenna_id: int, now: float) -> list[Sighting]:
        return [Sighting(EPC, -70.0)] if antenna_id == 1 else []


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

    def read_count(self) -> int:
        with self.lock:
            return len(self.reads)


async def eventually(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def no_new_reads(rec: Recorder, quiet_s: float = 1.0) -> bool:
    """True when no read arrives for ``quiet_s`` (what was in flight may still land
    first: give it up to 5 s to stop)."""
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        before = rec.read_count()
        await asyncio.sleep(quiet_s)
        if rec.read_count() == before:
            return True
    return False


async def command(fn, *args):
    return await asyncio.to_thread(fn, *args)


@pytest.fixture
async def reader():
    rec = Recorder()
    async with LLRPReaderServer("r1", [1, 2], FarTag(), port=0) as server:
        link = ReaderLink(
            "r1", "127.0.0.1", server.port, [1, 2], rec.on_reads, rec.on_state,
            keepalive_ms=300, reconnect_max_s=0.5,
        )  # fmt: skip
        link.start()
        try:
            await eventually(lambda: rec.read_count() > 0, WAIT, "the first reads")
            yield server, link, rec
        finally:
            await asyncio.to_thread(link.stop)


async def test_stopped_inventory_reads_nothing_until_started_again_even_after_a_drop(reader):
    server, link, rec = reader
    assert await command(link.stop_inventory, WAIT) == "inventory stopped"
    assert link.state is ReaderState.CONNECTED
    assert await no_new_reads(rec)
    assert await command(link.stop_inventory, WAIT) == "inventory was already stopped"

    server.drop_connection()  # the link reconnects and leaves inventory stopped
    await eventually(lambda: rec.states.count(ReaderState.CONNECTED) >= 2, WAIT, "reconnected")
    assert await no_new_reads(rec)
    assert link.state is ReaderState.CONNECTED

    assert await command(link.start_inventory, WAIT) == "inventorying"
    before = rec.read_count()
    await eventually(lambda: rec.read_count() > before, WAIT, "reads after the start")
    assert link.state is ReaderState.INVENTORYING
    assert await command(link.start_inventory, WAIT) == "already inventorying"


async def test_lower_power_puts_a_far_tag_out_of_range_and_full_power_brings_it_back(reader):
    _, link, rec = reader
    detail = await command(link.set_power, 1, 10.0, WAIT)
    assert detail == "antenna 1: 10 dBm (power table index 1)"
    assert await no_new_reads(rec)
    assert link.state is ReaderState.INVENTORYING

    detail = await command(link.set_power, 1, 32.5, WAIT)
    assert detail.startswith("antenna 1: 32.5 dBm")
    before = rec.read_count()
    await eventually(lambda: rec.read_count() > before, WAIT, "the tag heard again")


@pytest.mark.parametrize(
    ("antenna", "power_dbm", "why"),
    [
        (1, 35.0, "35 dBm is outside the reader's range 10-32.5 dBm"),
        (1, 5.0, "5 dBm is outside the reader's range 10-32.5 dBm"),
        (3, 20.0, "antenna 3 is not one of this reader's [1, 2]"),
    ],
)
async def test_a_power_the_reader_cannot_give_is_refused_saying_why(
    reader, antenna, power_dbm, why
):
    _, link, _ = reader
    with pytest.raises(CommandFailed) as refused:
        await command(link.set_power, antenna, power_dbm, WAIT)
    assert str(refused.value) == why


async def test_reconnect_drops_the_connection_and_is_back_inventorying(reader):
    server, link, rec = reader
    assert await command(link.reconnect, WAIT) == "reconnected; inventorying"
    assert rec.states.count(ReaderState.CONNECTED) >= 2
    assert server.client_connected
    before = rec.read_count()
    await eventually(lambda: rec.read_count() > before, WAIT, "reads after the reconnection")


async def test_a_reader_that_is_not_connected_cannot_set_power():
    rec = Recorder()
    async with LLRPReaderServer("r1", [1], FarTag(), port=0) as server:
        port = server.port
    link = ReaderLink("r1", "127.0.0.1", port, [1], rec.on_reads, rec.on_state)
    link.start()
    try:
        with pytest.raises(CommandFailed, match="cannot set power: the reader is"):
            await command(link.set_power, 1, 20.0, 1.0)
        message = await command(link.stop_inventory, 1.0)
        assert message.endswith("it will not inventory once connected")
    finally:
        await asyncio.to_thread(link.stop)
