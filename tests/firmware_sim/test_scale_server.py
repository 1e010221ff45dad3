"""The simulated MT-SICS scale over real TCP on 127.0.0.1, spoken to with raw bytes."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator

import pytest

from firmware_sim.scale import Scale, ScaleSpec
from firmware_sim.scale_server import ScaleServer

SCALE = "dock-1-scale"
FAST = ScaleSpec(settling_s=0.15, stable_timeout_s=0.4)


class Platform:
    """A WeightSource whose load the test sets; ``shaky`` makes it change all the time."""

    def __init__(self) -> None:
        self.kg = 0.0
        self.shaky = False
        self._random = random.Random(3)

    def load_kg(self, scale_id: str, now: float) -> float:
        assert scale_id == SCALE
        if self.shaky:
            return self.kg + self._random.uniform(0.0, 10.0)
        return self.kg


class Line:
    """One raw TCP connection to the server."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def reply(self, timeout: float = 2.0) -> bytes:
        async with asyncio.timeout(timeout):
            return await self.reader.readuntil(b"\r\n")

    async def ask(self, data: bytes) -> bytes:
        await self.send(data)
        return await self.reply()

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


@pytest.fixture
def platform() -> Platform:
    return Platform()


@pytest.fixture
async def server(platform: Platform) -> AsyncIterator[ScaleServer]:
    async with ScaleServer(SCALE, platform, time.time, spec=FAST) as running:
        yield running


async def connect(server: ScaleServer) -> Line:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    return Line(reader, writer)


@pytest.fixture
async def line(server: ScaleServer) -> AsyncIterator[Line]:
    conn = await connect(server)
    yield conn
    await conn.close()


async def test_server_answers_serial_number_and_weight(line: Line, platform: Platform) -> None:
    assert await line.ask(b"I4\r\n") == b'I4 A "SIM-dock-1-scale"\r\n'
    platform.kg = 12.0
    await asyncio.sleep(0.01)
    reply = await line.ask(b"SI\r\n")
    assert reply.startswith(b"S D ") or reply.startswith(b"S S ")
    assert reply.endswith(b" kg\r\n")


async def test_stable_weight_waits_for_the_load_to_settle(
    line: Line, platform: Platform, server: ScaleServer
) -> None:
    await line.ask(b"SI\r\n")
    platform.kg = 640.0
    started = time.monotonic()
    assert await line.ask(b"S\r\n") == b"S S      640.0 kg\r\n"
    assert time.monotonic() - started >= FAST.settling_s * 0.9


async def test_stable_weight_gives_up_with_s_i_when_never_stable(
    line: Line, platform: Platform
) -> None:
    await line.ask(b"SI\r\n")  # the scale powered on empty and at rest
    platform.kg = 300.0
    platform.shaky = True
    started = time.monotonic()
    assert await line.ask(b"S\r\n") == b"S I\r\n"
    assert time.monotonic() - started >= FAST.stable_timeout_s * 0.9


async def test_overload_is_reported(line: Line, platform: Platform, server: ScaleServer) -> None:
    server.scale.force_overload(True)
    assert await line.ask(b"S\r\n") == b"S +\r\n"
    assert await line.ask(b"SI\r\n") == b"S +\r\n"
    assert await line.ask(b"T\r\n") == b"T +\r\n"
    server.scale.force_overload(False)
    assert await line.ask(b"S\r\n") == b"S S        0.0 kg\r\n"


async def test_zero_tare_and_reset_over_tcp(line: Line, platform: Platform) -> None:
    platform.kg = 20.0
    assert await line.ask(b"Z\r\n") == b"Z A\r\n"
    platform.kg = 45.0
    assert await line.ask(b"T\r\n") == b"T S       25.0 kg\r\n"
    assert await line.ask(b"S\r\n") == b"S S        0.0 kg\r\n"
    assert await line.ask(b"ZI\r\n") == b"ZI +\r\n"  # 45 kg is beyond the zero range
    assert await line.ask(b"@\r\n") == b'I4 A "SIM-dock-1-scale"\r\n'
    assert await line.ask(b"S\r\n") == b"S S       45.0 kg\r\n"


@pytest.mark.parametrize(
    ("garbage", "reply"),
    [
        (b"HELLO\r\n", b"ES\r\n"),
        (b"s\r\n", b"ES\r\n"),
        (b"\x00\x01\x02\r\n", b"ES\r\n"),
        (b"S 5\r\n", b"EL\r\n"),
        (b"\xff\xfe\xfd\r\n", b"ET\r\n"),
        (b"X" * 5000 + b"\r\n", b"ET\r\n"),
    ],
)
async def test_garbage_gets_an_error_and_the_server_keeps_serving(
    line: Line, server: ScaleServer, garbage: bytes, reply: bytes
) -> None:
    assert await line.ask(garbage) == reply
    assert await line.ask(b"I4\r\n") == b'I4 A "SIM-dock-1-scale"\r\n'
    other = await connect(server)
    assert await other.ask(b"I4\r\n") == b'I4 A "SIM-dock-1-scale"\r\n'
    await other.close()


async def test_bad_input_is_logged_with_the_scale_id(
    line: Line, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="firmware_sim.scale_server"):
        assert await line.ask(b"NOPE\r\n") == b"ES\r\n"
    assert any(
        "scale dock-1-scale" in r.getMessage() and "NOPE" in r.getMessage() for r in caplog.records
    )


async def test_pipelined_commands_are_answered_in_order_and_blank_lines_ignored(
    line: Line,
) -> None:
    await line.send(b"I4\r\n\r\nXX\nSI\r\nS 1\r\n")
    replies = [await line.reply() for _ in range(4)]
    assert replies[0] == b'I4 A "SIM-dock-1-scale"\r\n'
    assert replies[1] == b"ES\r\n"
    assert replies[2].startswith(b"S S ")
    assert replies[3] == b"EL\r\n"


async def test_command_split_across_packets_is_reassembled(line: Line) -> None:
    await line.send(b"I")
    await asyncio.sleep(0.02)
    await line.send(b"4\r")
    await asyncio.sleep(0.02)
    await line.send(b"\n")
    assert await line.reply() == b'I4 A "SIM-dock-1-scale"\r\n'


async def test_many_clients_are_served_at_once(server: ScaleServer, platform: Platform) -> None:
    platform.kg = 100.0
    lines = [await connect(server) for _ in range(8)]
    replies = await asyncio.gather(*(conn.ask(b"S\r\n") for conn in lines))
    assert set(replies) == {b"S S      100.0 kg\r\n"}
    for conn in lines:
        await conn.close()


async def test_client_vanishing_mid_command_does_not_hurt_the_server(
    server: ScaleServer, platform: Platform
) -> None:
    platform.kg = 1.0
    quitter = await connect(server)
    await quitter.ask(b"SI\r\n")
    platform.kg = 500.0
    await quitter.send(b"S\r\n")
    quitter.writer.transport.abort()
    await asyncio.sleep(FAST.settling_s + 0.1)
    other = await connect(server)
    assert await other.ask(b"S\r\n") == b"S S      500.0 kg\r\n"
    await other.close()


async def test_closing_the_server_with_clients_connected_ends_promptly(
    platform: Platform,
) -> None:
    server = ScaleServer(SCALE, platform, time.time, spec=FAST)
    await server.start()
    conn = await connect(server)
    await conn.ask(b"SI\r\n")
    platform.shaky = True
    await conn.send(b"S\r\n")  # left waiting for stability
    await asyncio.sleep(0.05)
    async with asyncio.timeout(2.0):
        await server.close()
    assert await conn.reader.read() == b""
    await conn.close()
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.port


async def test_server_accepts_a_ready_scale_model(platform: Platform) -> None:
    scale = Scale(SCALE, platform, time.time, FAST, serial_number="B021002593")
    async with ScaleServer(SCALE, scale) as server:
        assert server.scale is scale
        conn = await connect(server)
        assert await conn.ask(b"I4\r\n") == b'I4 A "B021002593"\r\n'
        await conn.close()


def test_server_refuses_mismatched_or_doubled_configuration(platform: Platform) -> None:
    scale = Scale(SCALE, platform, time.time, FAST)
    with pytest.raises(ValueError, match="does not match"):
        ScaleServer("other-scale", scale)
    with pytest.raises(ValueError, match="pass clock and spec to the Scale"):
        ScaleServer(SCALE, scale, time.time)
    with pytest.raises(ValueError, match="poll_interval_s must be positive"):
        ScaleServer(SCALE, platform, poll_interval_s=0)
