"""A reader link (sllurp inside) against a simulated LLRP reader over TCP: reads arrive,
a reader that goes silent with TCP up is noticed and reconnected, a dropped connection
too, and the link stops cleanly."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from datetime import UTC, datetime

import pytest

from edge.reader_events import SeenEvent
from edge.reader_link import ReaderLink, no_llrp_cause, whole_messages
from edge.reads import TagRead
from firmware_sim.llrp_reader import LLRPReaderServer
from firmware_sim.world_view import Sighting
from protocols import llrp
from protocols.clock import ScaledClock
from protocols.mqtt import ReaderEventKind, ReaderState

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


class MuteTcpPeer:
    """A TCP server that accepts connections and never speaks LLRP: it says nothing, or
    sends ``greeting`` (bytes that are not LLRP) and then nothing."""

    def __init__(self, greeting: bytes = b"") -> None:
        self.greeting = greeting
        self.accepted = 0
        self._server: asyncio.Server | None = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if self.greeting:
            writer.write(self.greeting)
            await writer.drain()
        await reader.read()  # until the link gives up and closes
        writer.close()

    async def __aenter__(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self._server.sockets[0].getsockname()[1]

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()


@pytest.mark.parametrize(
    ("greeting", "cause"),
    [
        (b"", "accepted TCP but sent no LLRP message within 0.4 s"),
        (
            # "TP/1" where an LLRP header has its length: 1.4 GB claimed, dropped at once
            b"HTTP/1.1 400 Bad Request\r\n\r\n",
            "accepted TCP but sent 28 bytes and no LLRP message before the connection closed",
        ),
    ],
)
async def test_a_peer_that_accepts_tcp_but_never_speaks_llrp_is_never_connected(
    caplog, greeting: bytes, cause: str
):
    caplog.set_level(logging.WARNING, logger="edge.reader_link")
    rec = Recorder()
    peer = MuteTcpPeer(greeting)
    async with peer as port:
        link = ReaderLink(
            "reader-door-1", "127.0.0.1", port, [1], rec.on_reads, rec.on_state,
            hello_timeout_s=0.4, reconnect_max_s=0.5,
        )  # fmt: skip
        link.start()
        try:
            await eventually(lambda: peer.accepted >= 2, 10, "a second attempt")
        finally:
            await asyncio.to_thread(link.stop)
    assert ReaderState.CONNECTED not in rec.states
    assert ReaderState.INVENTORYING not in rec.states
    assert rec.count(ReaderState.CONNECTING) >= 2
    expected = f"reader-door-1 at 127.0.0.1:{port} {cause}: is it an LLRP reader (port {port})?"
    messages = [r.getMessage() for r in caplog.records]
    assert any(expected in m for m in messages), messages
    assert not any("silent for" in m for m in messages), messages


async def test_a_reader_that_refuses_the_session_is_not_connected(caplog):
    caplog.set_level(logging.WARNING, logger="edge.reader_link")
    first, second = Recorder(), Recorder()
    async with LLRPReaderServer("r1", [1], OneTag(), port=0) as server:
        holder = ReaderLink("r1", "127.0.0.1", server.port, [1], first.on_reads, first.on_state)
        holder.start()
        try:
            await eventually(lambda: first.reads, 10, "the first client inventorying")
            link = ReaderLink(
                "r1", "127.0.0.1", server.port, [1], second.on_reads, second.on_state,
                hello_timeout_s=5.0, reconnect_max_s=0.5,
            )  # fmt: skip
            link.start()
            try:
                await eventually(
                    lambda: any("refused the session" in r.getMessage() for r in caplog.records),
                    4,  # well inside the hello timeout: the refusal is not waited out
                    "the refusal reported",
                )
            finally:
                await asyncio.to_thread(link.stop)
        finally:
            await asyncio.to_thread(holder.stop)
    assert ReaderState.CONNECTED not in second.states
    refusal = next(r.getMessage() for r in caplog.records if "refused" in r.getMessage())
    assert "(ConnectionAttemptEvent: Failed (a Client initiated connection already exists))" in (
        refusal
    ), refusal


@pytest.mark.parametrize(
    ("received", "closed", "spoke", "cause"),
    [
        (0, False, False, "accepted TCP but sent no LLRP message within 5 s"),
        (12, False, False, "accepted TCP but sent 12 bytes and no LLRP message within 5 s"),
        (0, True, False, "accepted TCP but sent no LLRP message before the connection closed"),
        (
            9,
            True,
            False,
            "accepted TCP but sent 9 bytes and no LLRP message before the connection closed",
        ),
        (
            40,
            False,
            True,
            "accepted TCP and spoke LLRP but sent no ConnectionAttemptEvent within 5 s",
        ),
    ],
)
def test_the_cause_of_a_missing_greeting_says_what_the_peer_did(received, closed, spoke, cause):
    assert no_llrp_cause(received, 5.0, closed, spoke) == cause


class NoTags:
    def sightings(self, reader_id: str, antenna_id: int, now: float) -> list[Sighting]:
        return []


class Heartbeats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.through: list[tuple[float, datetime]] = []
        self.silences: list[bool] = []

    def on_heard(self, _reader_id: str, through: datetime) -> None:
        with self.lock:
            self.through.append((time.monotonic(), through))

    def on_silence(self, _reader_id: str, silent: bool) -> None:
        with self.lock:
            self.silences.append(silent)


async def test_a_reader_with_nothing_to_report_still_gives_heartbeats_from_its_keepalives():
    rec, beats = Recorder(), Heartbeats()
    async with LLRPReaderServer("r1", [1], NoTags(), port=0) as server:
        link = ReaderLink(
            "r1", "127.0.0.1", server.port, [1], rec.on_reads, rec.on_state,
            keepalive_ms=200, report_timeout_ms=100,
            on_heard=beats.on_heard, on_silence=beats.on_silence,
        )  # fmt: skip
        link.start()
        try:
            await eventually(lambda: len(beats.through) >= 4, 10, "heartbeats")
            server.go_silent(True)
            await eventually(lambda: beats.silences == [True], 10, "silence")
            assert rec.count(ReaderState.DISCONNECTED) == 0  # silent first, lost later
        finally:
            server.go_silent(False)
            await asyncio.to_thread(link.stop)
    assert rec.reads == []
    now = datetime.now(UTC)
    gaps = [b[0] - a[0] for a, b in zip(beats.through, beats.through[1:], strict=False)]
    assert all(0.1 < gap < 0.4 for gap in gaps[:3]), gaps  # one per keepalive
    for _, through in beats.through:  # a report interval and a round before the arrival
        assert 0.15 <= (now - through).total_seconds() < 10


async def test_under_a_simulated_clock_far_in_the_past_read_times_stay_uncorrected():
    """A scored run: the reader stamps with the run's clock (years ago, 10x), the edge reads
    the same clock, so the offset is only the report delay and nothing is corrected."""
    start = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
    clock = ScaledClock(start, time.time(), 10.0)
    rec, beats = Recorder(), Heartbeats()
    async with LLRPReaderServer(
        "r1", [1], OneTag(), lambda: clock().timestamp(), port=0, round_interval_s=0.1
    ) as server:
        link = ReaderLink(
            "r1", "127.0.0.1", server.port, [1], rec.on_reads, rec.on_state,
            report_timeout_ms=150, keepalive_ms=300, clock=clock, on_heard=beats.on_heard,
        )  # fmt: skip
        link.start()
        try:
            await eventually(lambda: len(rec.reads) >= 10 and beats.through, 10, "reads")
        finally:
            await asyncio.to_thread(link.stop)
    offset = link.clock_offset_s
    assert offset is not None and 0 <= offset < 2.0, offset  # report delay, in clock seconds
    assert not link._correcting
    now = clock()
    for read in rec.reads:
        assert start <= read.last_seen <= now  # simulated time, as the reader stamped it
    # the heartbeat lag is the report interval and a round, in clock time (x10)
    _, through = beats.through[-1]
    assert (now - through).total_seconds() >= 10 * (0.15 + 0.1)


class TwoAntennasHearOneTag:
    def sightings(self, reader_id: str, antenna_id: int, now: float) -> list[Sighting]:
        return [Sighting("3114257BF4000000000000AA", -50.0 - antenna_id)]


async def test_a_reader_asked_for_reports_per_tag_sends_one_entry_per_tag():
    # a zone reader: its antennas all watch the zone's shelves, so one entry per tag (its
    # strongest read), filed under its first antenna, instead of one per tag and antenna
    for per_antenna, expected in ((True, {1, 2}), (False, {1})):
        rec = Recorder()
        async with LLRPReaderServer(
            "r1", [1, 2], TwoAntennasHearOneTag(), time.time, port=0, round_interval_s=0.02
        ) as server:
            link = ReaderLink(
                "r1", "127.0.0.1", server.port, [1, 2], rec.on_reads, rec.on_state,
                report_timeout_ms=100, report_antennas=per_antenna,
            )  # fmt: skip
            link.start()
            try:
                await eventually(lambda rec=rec: len(rec.reads) >= 6, 10, "reads")
            finally:
                await asyncio.to_thread(link.stop)
        assert {r.antenna for r in rec.reads} == expected
        if not per_antenna:
            assert {r.rssi_dbm for r in rec.reads} == {-51.0}  # the stronger antenna's


def _message(length: int) -> bytes:
    return b"\x04\x3d" + length.to_bytes(4, "big") + b"\x00\x00\x00\x01" + b"x" * (length - 10)


@pytest.mark.parametrize(
    ("buffer", "whole"),
    [
        (b"", 0),
        (_message(10)[:9], 0),  # not even a header yet
        (_message(4000)[: 4096 - 200], 0),  # part of one message
        (_message(20) + _message(30)[:25], 20),  # one whole, the next in part
        (_message(20) + _message(30), 50),
        (b"\x04\x3d\x00\x00\x00\x03" + b"\x00" * 10, 16),  # a length no message has: all
    ],
)
def test_sllurp_is_handed_whole_llrp_messages_only(buffer, whole):
    assert whole_messages(bytearray(buffer)) == whole


class EventRecorder(Recorder):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[ReaderEventKind, int | None, str]] = []

    def on_event(self, _reader_id: str, event: SeenEvent, at: datetime) -> None:
        assert at.tzinfo is not None
        with self.lock:
            self.events.append((event.kind, event.antenna, event.detail))

    def kinds(self) -> list[tuple[ReaderEventKind, int | None]]:
        with self.lock:
            return [(k, a) for k, a, _ in self.events]


async def test_antenna_events_silence_and_a_dropped_connection_become_reader_events():
    rec = EventRecorder()
    async with LLRPReaderServer("r1", [1, 2], OneTag(), port=0) as server:
        link = ReaderLink(
            "r1", "127.0.0.1", server.port, [1, 2], rec.on_reads, rec.on_state,
            keepalive_ms=300, reconnect_max_s=0.5, on_event=rec.on_event,
        )  # fmt: skip
        link.start()
        try:
            await eventually(lambda: rec.reads, 10, "the first reads")
            assert rec.kinds() == []  # a first connection is no event
            server.antenna_event(2, connected=False)
            server.antenna_event(2, connected=True)
            await eventually(lambda: len(rec.kinds()) >= 2, 10, "the antenna events")
            assert rec.kinds() == [
                (ReaderEventKind.ANTENNA_DISCONNECTED, 2),
                (ReaderEventKind.ANTENNA_CONNECTED, 2),
            ]
            server.go_silent(True)
            await eventually(
                lambda: (ReaderEventKind.CONNECTION_LOST, None) in rec.kinds(), 10, "lost"
            )
            server.go_silent(False)
            await eventually(
                lambda: (ReaderEventKind.RECONNECTED, None) in rec.kinds(), 15, "reconnected"
            )
            kinds = [k for k, _ in rec.kinds()]
            assert kinds[2:] == [
                ReaderEventKind.SILENT,
                ReaderEventKind.CONNECTION_LOST,
                ReaderEventKind.RECONNECTED,
            ]
            assert "with the connection up" in rec.events[3][2]
        finally:
            await asyncio.to_thread(link.stop)


async def test_a_reader_that_stays_unreachable_is_one_event_not_one_per_retry():
    rec = EventRecorder()
    async with LLRPReaderServer("r1", [1], OneTag(), port=0) as server:
        port = server.port
    link = ReaderLink(
        "r1", "127.0.0.1", port, [1], rec.on_reads, rec.on_state,
        reconnect_max_s=0.3, on_event=rec.on_event,
    )  # fmt: skip
    link.start()
    try:
        await eventually(lambda: rec.count(ReaderState.CONNECTING) >= 4, 10, "four attempts")
    finally:
        await asyncio.to_thread(link.stop)
    assert rec.kinds() == [(ReaderEventKind.UNREACHABLE, None)]
    assert f"127.0.0.1:{port}" in rec.events[0][2]


class StallsItsFirstSetup(LLRPReaderServer):
    """A reader that, on its first connection, never answers the ROSpec it is given
    (its keepalives go on): sllurp waits for that answer for ever."""

    stalled = 0

    def _on_frame(self, frame: bytes) -> None:
        if not self.stalled and isinstance(llrp.decode_message(frame), llrp.AddROSpec):
            self.stalled += 1
            return
        super()._on_frame(frame)


async def test_a_reader_whose_setup_stalls_with_keepalives_going_on_is_connected_again(caplog):
    caplog.set_level(logging.WARNING, logger="edge.reader_link")
    rec = Recorder()
    async with StallsItsFirstSetup("r1", [1], OneTag(), port=0) as server:
        link = ReaderLink(
            "r1", "127.0.0.1", server.port, [1], rec.on_reads, rec.on_state,
            keepalive_ms=300, reconnect_max_s=0.5, setup_timeout_s=2.0,
        )  # fmt: skip
        link.start()
        try:
            await eventually(lambda: rec.reads, 15, "reads after the second connection")
        finally:
            await asyncio.to_thread(link.stop)
    assert server.stalled == 1
    assert rec.states.index(ReaderState.CONNECTED) < rec.states.index(ReaderState.DISCONNECTED)
    messages = [r.getMessage() for r in caplog.records]
    assert any("not inventorying 2." in m and "after connecting" in m for m in messages), messages
    assert not any("silent for" in m for m in messages), messages  # its keepalives went on
