"""The edge's MT-SICS client against the simulated scale (and a few rogue ones) on real TCP."""

from __future__ import annotations

import asyncio
import collections
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal

import pytest

from edge.scale_client import (
    OwedCommand,
    ScaleClient,
    ScaleCommandError,
    ScaleConnectionError,
    ScaleError,
    ScaleNoAnswerError,
    ScaleNotReadyError,
    ScaleOverloadError,
    ScaleProtocolError,
    ScaleTimeoutError,
    ScaleUnderloadError,
    answered_by,
)
from firmware_sim.scale import ScaleSpec
from firmware_sim.scale_server import ScaleServer
from protocols.mtsics import Command, ErrorCode, OverlongLine, Stability, TareReply, WeightReply

SCALE = "dock-2-scale"
SERIAL = "SIM-dock-2-scale"
FAST = ScaleSpec(settling_s=0.15, stable_timeout_s=0.4)


class Platform:
    """A WeightSource the test loads by hand; ``shaky`` keeps the load moving."""

    def __init__(self) -> None:
        self.kg = 0.0
        self.shaky = False
        self._random = random.Random(5)

    def load_kg(self, scale_id: str, now: float) -> float:
        if self.shaky:
            return self.kg + self._random.uniform(0.0, 10.0)
        return self.kg


@pytest.fixture
def platform() -> Platform:
    return Platform()


@pytest.fixture
async def server(platform: Platform) -> AsyncIterator[ScaleServer]:
    async with ScaleServer(SCALE, platform, time.time, spec=FAST) as running:
        yield running


@pytest.fixture
async def scale(server: ScaleServer) -> AsyncIterator[ScaleClient]:
    async with ScaleClient("127.0.0.1", server.port, scale_id=SCALE, reply_timeout=2.0) as client:
        await client.weight_immediately()  # the scale has seen its empty platform
        yield client


def kg(value: str) -> WeightReply:
    return WeightReply(Stability.STABLE, Decimal(value), "kg")


# --------------------------------------------------------------------------- weighing


async def test_stable_weight_of_a_placed_pallet(scale: ScaleClient, platform: Platform) -> None:
    platform.kg = 812.5
    assert await scale.stable_weight(timeout=2.0) == kg("812.5")


async def test_weight_immediately_is_dynamic_right_after_the_load_changes(
    scale: ScaleClient, platform: Platform
) -> None:
    platform.kg = 300.0
    moving = await scale.weight_immediately()
    assert moving.stability is Stability.DYNAMIC
    await asyncio.sleep(FAST.settling_s + 0.05)
    assert await scale.weight_immediately() == kg("300.0")


async def test_stable_weight_keeps_asking_after_the_scale_says_not_yet(
    scale: ScaleClient, platform: Platform
) -> None:
    platform.kg = 150.0
    platform.shaky = True
    loop = asyncio.get_running_loop()
    loop.call_later(FAST.stable_timeout_s * 1.5, setattr, platform, "shaky", False)
    started = time.monotonic()
    assert await scale.stable_weight(timeout=3.0) == kg("150.0")
    assert time.monotonic() - started > FAST.stable_timeout_s  # at least one S I came first


async def test_stable_weight_times_out_when_the_load_never_settles(
    scale: ScaleClient, platform: Platform
) -> None:
    platform.kg = 150.0
    platform.shaky = True
    with pytest.raises(ScaleTimeoutError, match=r"dock-2-scale: weight not stable within 0\.6 s"):
        await scale.stable_weight(timeout=0.6)


async def test_late_reply_after_a_timeout_is_not_taken_for_the_next_answer(
    scale: ScaleClient, platform: Platform
) -> None:
    platform.kg = 150.0
    platform.shaky = True
    with pytest.raises(ScaleTimeoutError):
        await scale.stable_weight(timeout=0.1)  # the scale will still answer S I later
    assert await scale.serial_number() == SERIAL
    platform.shaky = False
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await scale.stable_weight(timeout=5.0)  # cancelled by the caller instead
    assert await scale.serial_number() == SERIAL


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda s: s.stable_weight(timeout=2.0), ScaleOverloadError),
        (lambda s: s.weight_immediately(), ScaleOverloadError),
        (lambda s: s.tare(), ScaleOverloadError),
        (lambda s: s.zero(), ScaleOverloadError),
        (lambda s: s.zero_immediately(), ScaleOverloadError),
    ],
)
async def test_overload_is_reported_as_an_error(
    scale: ScaleClient,
    server: ScaleServer,
    call: Callable[[ScaleClient], Awaitable[object]],
    error: type[ScaleError],
) -> None:
    server.scale.force_overload(True)
    with pytest.raises(error, match=r"overload \(\w+ \+\)"):
        await call(scale)
    server.scale.force_overload(False)
    assert await scale.stable_weight(timeout=2.0) == kg("0.0")


async def test_load_above_capacity_is_overload(scale: ScaleClient, platform: Platform) -> None:
    platform.kg = FAST.capacity_kg + 100
    with pytest.raises(ScaleOverloadError, match="'S' above range"):
        await scale.stable_weight(timeout=2.0)


async def test_underload_after_zeroing_under_a_pallet(
    scale: ScaleClient, platform: Platform
) -> None:
    platform.kg = 20.0
    await scale.zero()
    platform.kg = 0.0
    with pytest.raises(ScaleUnderloadError, match=r"underload \(S -\)"):
        await scale.stable_weight(timeout=2.0)


# --------------------------------------------------------------------------- zero, tare, identity


async def test_tare_then_weigh_goods_net(scale: ScaleClient, platform: Platform) -> None:
    platform.kg = 25.0
    assert await scale.tare() == TareReply(Decimal("25.0"), "kg")
    platform.kg = 425.0
    assert await scale.stable_weight(timeout=2.0) == kg("400.0")
    with pytest.raises(ScaleOverloadError, match=r"\(ZI \+\)"):
        await scale.zero_immediately()  # 425 kg is far beyond the zero range
    assert (await scale.weight_immediately()).value == Decimal("400.0")


async def test_zero_waits_for_rest_but_zero_immediately_catches_the_platform_moving(
    scale: ScaleClient, platform: Platform
) -> None:
    platform.kg = 10.0
    await scale.zero()
    assert await scale.stable_weight(timeout=2.0) == kg("0.0")
    platform.kg = 14.0
    assert await scale.zero_immediately() is Stability.DYNAMIC
    await asyncio.sleep(FAST.settling_s + 0.05)
    assert await scale.weight_immediately() == kg("4.0")  # zeroed before the 4 kg arrived
    assert await scale.zero_immediately() is Stability.STABLE
    assert await scale.weight_immediately() == kg("0.0")


async def test_zero_out_of_range_is_refused(scale: ScaleClient, platform: Platform) -> None:
    platform.kg = 500.0
    with pytest.raises(ScaleOverloadError, match=r"'Z' above range"):
        await scale.zero()


async def test_zero_that_never_gets_stability_is_not_executable(
    scale: ScaleClient, platform: Platform
) -> None:
    platform.shaky = True
    with pytest.raises(ScaleNotReadyError, match=r"'Z' not executable now \(Z I\)"):
        await scale.zero()


async def test_serial_number_and_reset(scale: ScaleClient, platform: Platform) -> None:
    assert await scale.serial_number() == SERIAL
    platform.kg = 10.0
    await scale.zero()
    assert await scale.reset() == SERIAL
    assert await scale.stable_weight(timeout=2.0) == kg("10.0")


async def test_concurrent_callers_each_get_their_own_answer(
    scale: ScaleClient, platform: Platform
) -> None:
    platform.kg = 60.0
    stable, serial, immediate = await asyncio.gather(
        scale.stable_weight(timeout=2.0), scale.serial_number(), scale.weight_immediately()
    )
    assert stable == kg("60.0")
    assert serial == SERIAL
    assert immediate.value == Decimal("60.0")


# --------------------------------------------------------------------------- connection trouble


async def test_connect_to_nothing_is_a_connection_error() -> None:
    async with ScaleServer(SCALE, Platform()) as gone:
        port = gone.port
    with pytest.raises(ScaleConnectionError, match=f"cannot connect to 127.0.0.1:{port}"):
        async with ScaleClient("127.0.0.1", port):
            pass


async def test_command_without_connection_is_a_connection_error() -> None:
    client = ScaleClient("127.0.0.1", 1, scale_id="nowhere")
    with pytest.raises(ScaleConnectionError, match="scale nowhere: not connected"):
        await client.serial_number()


async def test_scale_going_away_is_a_connection_error(platform: Platform) -> None:
    async with ScaleServer(SCALE, platform) as server:
        client = ScaleClient("127.0.0.1", server.port)
        await client.connect()
        assert client.connected
    with pytest.raises(ScaleConnectionError, match=r"connection lost (during|before) 'I4'"):
        await client.serial_number()
    assert not client.connected
    await client.close()


RogueReplies = dict[bytes, bytes]


@pytest.fixture
async def rogue() -> AsyncIterator[tuple[int, RogueReplies]]:
    """A TCP peer that answers each command line from a table the test fills in."""
    replies: RogueReplies = {}

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            writer.write(replies.get(line.strip(), b"ES\r\n"))
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1], replies


@pytest.mark.parametrize(
    ("reply", "error", "message"),
    [
        (b"S S x1.2 kg\r\n", ScaleProtocolError, "malformed weight value 'x1.2'"),
        (b"S D 1.0 kg\r\n", ScaleProtocolError, "unexpected reply"),
        (b"\xff\r\n", ScaleProtocolError, "not ASCII"),
        (b"X" * 400 + b"\r\n", ScaleProtocolError, "400-byte reply"),
        (b"ES\r\n", ScaleCommandError, "'S' rejected with ES"),
        (b"EL\r\n", ScaleCommandError, "'S' rejected with EL"),
    ],
)
async def test_rogue_replies_raise_errors_naming_them(
    rogue: tuple[int, RogueReplies], reply: bytes, error: type[ScaleError], message: str
) -> None:
    port, replies = rogue
    replies[b"S"] = reply
    replies[b"I4"] = b'I4 A "ROGUE"\r\n'
    async with ScaleClient("127.0.0.1", port) as client:
        with pytest.raises(error) as caught:
            await client.stable_weight(timeout=1.0)
        assert message in str(caught.value)
        assert await client.serial_number() == "ROGUE"  # the line is still in step


async def test_command_rejection_carries_its_code(rogue: tuple[int, RogueReplies]) -> None:
    port, replies = rogue
    replies[b"I4"] = b"ET\r\n"
    async with ScaleClient("127.0.0.1", port) as client:
        with pytest.raises(ScaleCommandError) as caught:
            await client.serial_number()
    assert caught.value.code is ErrorCode.TRANSMISSION


async def test_silent_scale_is_a_timeout(rogue: tuple[int, RogueReplies]) -> None:
    port, replies = rogue
    replies[b"SI"] = b""  # says nothing at all
    async with ScaleClient("127.0.0.1", port, reply_timeout=0.1) as client:
        with pytest.raises(
            ScaleNoAnswerError,
            match=rf"^scale 127\.0\.0\.1:{port} sent no answer to 'SI' within 0\.1 s$",
        ):
            await client.weight_immediately()


# --------------------------------------------------------------------- silence and stray lines


async def test_a_silent_scale_is_reported_as_giving_no_answer_not_as_waiting_for_rest(
    rogue: tuple[int, RogueReplies],
) -> None:
    port, replies = rogue
    replies[b"S"] = b""  # accepts the command and never answers
    async with ScaleClient("127.0.0.1", port, scale_id=SCALE) as client:
        with pytest.raises(ScaleNoAnswerError) as caught:
            await client.stable_weight(timeout=0.3)
    message = str(caught.value)
    assert message == f"scale {SCALE} at 127.0.0.1:{port} sent no answer to 'S' within 0.3 s"
    assert "rest" not in message and "stable" not in message


async def test_a_scale_that_keeps_answering_not_at_rest_is_not_called_silent(
    scale: ScaleClient, platform: Platform
) -> None:
    platform.kg = 150.0
    platform.shaky = True  # the scale answers 'S I' after FAST.stable_timeout_s, again and again
    with pytest.raises(ScaleTimeoutError) as caught:
        await scale.stable_weight(timeout=1.0)
    assert not isinstance(caught.value, ScaleNoAnswerError)
    assert "not at rest ('S I')" in str(caught.value)


async def test_an_extra_line_in_a_reply_is_discarded_not_taken_as_the_next_answer(
    rogue: tuple[int, RogueReplies], caplog: pytest.LogCaptureFixture
) -> None:
    port, replies = rogue
    replies[b"S"] = b"S S     100.0 kg\r\nS S     999.0 kg\r\n"  # one line too many
    replies[b"SI"] = b"S D       5.0 kg\r\n"
    replies[b"I4"] = b'I4 A "ROGUE"\r\nZ A\r\n'  # a stray line of another command
    replies[b"Z"] = b"Z A\r\n"
    async with ScaleClient("127.0.0.1", port, scale_id=SCALE) as client:
        assert await client.stable_weight(timeout=1.0) == kg("100.0")
        assert await client.weight_immediately() == WeightReply(
            Stability.DYNAMIC, Decimal("5.0"), "kg"
        )
        assert await client.serial_number() == "ROGUE"
        await client.zero()  # answered by its own 'Z A', not the stray one
        assert await client.weight_immediately() == WeightReply(
            Stability.DYNAMIC, Decimal("5.0"), "kg"
        )
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("discarded" in w and "S S     999.0 kg" in w for w in warnings), warnings
    assert any("discarded" in w and "Z A" in w for w in warnings), warnings


async def test_a_line_with_another_commands_name_is_not_its_answer(
    rogue: tuple[int, RogueReplies], caplog: pytest.LogCaptureFixture
) -> None:
    port, replies = rogue
    replies[b"S"] = b"Z A\r\n"
    replies[b"I4"] = b'I4 A "ROGUE"\r\n'
    async with ScaleClient("127.0.0.1", port, scale_id=SCALE) as client:
        with pytest.raises(ScaleNoAnswerError, match=r"sent no answer to 'S' within 0\.3 s"):
            await client.stable_weight(timeout=0.3)
        assert await client.serial_number() == "ROGUE"
    assert any("discarded" in r.getMessage() and "'Z A'" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("owed", "line", "answers"),
    [
        ([], b"S S      1.0 kg", None),
        (["S"], b"S S      1.0 kg", 0),
        (["SI"], b"S D      1.0 kg", 0),
        (["S"], b"Z A", None),
        (["I4"], b"S S      1.0 kg", None),
        (["S", "I4"], b'I4 A "X"', 1),  # the S given up earlier gets no reply any more
        (["@"], b'I4 A "X"', 0),
        (["ZI", "Z"], b"Z A", 1),
        (["T", "I4"], b"ES", 0),  # a general error answers the oldest command owed
        (["T"], b"\xff", 0),  # garbled: stands in the reply, and is reported as an error
        (["T"], OverlongLine(400, b"XXXX"), 0),
        (["T"], b"Q 1", 0),
    ],
)
async def test_a_line_answers_the_oldest_command_owed_a_reply_of_its_name(
    owed: list[str], line: bytes | OverlongLine, answers: int | None
) -> None:
    queue = collections.deque(OwedCommand(Command(name)) for name in owed)
    assert answered_by(queue, line) == answers
