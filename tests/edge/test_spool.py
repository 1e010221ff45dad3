"""The on-disk spool keeps batches and their sequence numbers across restarts, does its
SQLite work off the event loop, deletes the batches the cloud confirms, and refuses to grow
past its limit or a full disk."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import threading

import pytest
from conftest import unavailable
from spoolkit import LoopLag, SlowDisk

from edge.confirmations import Confirmations
from edge.spool import Spool, SpoolFull


async def test_batches_wait_in_order_until_confirmed(tmp_path):
    async with Spool(tmp_path / "s.sqlite") as spool:
        for _ in range(3):
            await spool.append("t", lambda seq: f"batch {seq}".encode())
        assert [b.seq for b in await spool.pending()] == [0, 1, 2]
        assert await spool.confirm([0]) == 1
        assert [b.payload for b in await spool.pending()] == [b"batch 1", b"batch 2"]
        assert [b.seq for b in await spool.pending(after=1)] == [2]
        assert len(spool) == 2


class ReadBackCounting(sqlite3.Connection):
    """Counts the reads of batches back from the file."""

    reads = 0

    def execute(self, sql, *args):  # type: ignore[override]
        if sql.startswith("SELECT seq, topic, payload"):
            ReadBackCounting.reads += 1
        return super().execute(sql, *args)


async def test_batches_just_stored_are_handed_to_the_publisher_without_reading_them_back(
    tmp_path, monkeypatch
):
    # a batch just stored waited its turn on the spool's thread to be read back (behind
    # the next flush's write, say) before it could be published
    path = tmp_path / "s.sqlite"
    ReadBackCounting.reads = 0
    async with Spool(path, connection_factory=ReadBackCounting) as spool:
        await spool.append("t", lambda seq: b"old")
    async with Spool(path, connection_factory=ReadBackCounting) as spool:
        for payload in (b"a", b"b", b"c"):
            await spool.append("t", lambda seq, payload=payload: payload)
        assert [b.payload for b in await spool.pending(after=0)] == [b"a", b"b", b"c"]
        assert [b.seq for b in await spool.pending(2, after=1)] == [2, 3]
        assert ReadBackCounting.reads == 0
        # the batch from before the restart is only in the file
        assert [b.payload for b in await spool.pending()] == [b"old", b"a", b"b", b"c"]
        assert ReadBackCounting.reads == 1
        await spool.confirm([2])
        assert [b.seq for b in await spool.pending(after=0)] == [1, 3]
        assert ReadBackCounting.reads == 1
        # past its bound in memory, the oldest are read back from the file again
        monkeypatch.setattr("edge.spool.RECENT_MAX_BYTES", 2)
        await spool.append("t", lambda seq: b"dd")
        assert [b.payload for b in await spool.pending(after=0)] == [b"a", b"c", b"dd"]
        assert ReadBackCounting.reads == 2
        assert [b.payload for b in await spool.pending(after=3)] == [b"dd"]
        assert ReadBackCounting.reads == 2


async def test_a_restart_keeps_unsent_batches_and_never_reuses_a_sequence_number(tmp_path):
    path = tmp_path / "s.sqlite"
    async with Spool(path) as spool:
        await spool.append("t", lambda seq: b"a")
        await spool.append("t", lambda seq: b"b")
        await spool.confirm([0, 1])
        await spool.append("t", lambda seq: b"c")
    async with Spool(path) as spool:
        assert [(b.seq, b.payload) for b in await spool.pending()] == [(2, b"c")]
        assert (await spool.append("t", lambda seq: b"d")).seq == 3
        assert len(spool) == 2


async def test_a_failing_payload_builder_takes_no_sequence_number(tmp_path):
    async with Spool(tmp_path / "s.sqlite") as spool:

        def boom(seq: int) -> bytes:
            raise ValueError("bad")

        with pytest.raises(ValueError, match="bad"):
            await spool.append("t", boom)
        assert await spool.next_seq() == 0 and len(spool) == 0


async def test_several_batches_are_stored_all_or_none(tmp_path):
    async with Spool(tmp_path / "s.sqlite") as spool:

        def second_fails(seq: int) -> bytes:
            raise ValueError(f"bad {seq}")

        with pytest.raises(ValueError, match="bad 1"):
            await spool.append_all("t", [lambda seq: b"a", second_fails, lambda seq: b"c"])
        assert len(spool) == 0 and await spool.next_seq() == 0
        stored = await spool.append_all("t", [lambda seq: f"{seq}".encode()] * 3)
        assert [(b.seq, b.payload) for b in stored] == [(0, b"0"), (1, b"1"), (2, b"2")]


async def test_a_caller_cancelled_while_its_batches_are_written_still_has_them_stored(tmp_path):
    SlowDisk.reset(delay_s=0.2)
    async with Spool(tmp_path / "s.sqlite", connection_factory=SlowDisk) as spool:
        SlowDisk.reset(delay_s=0.2)
        writing = asyncio.create_task(spool.append_all("t", [lambda seq: b"a"] * 2))
        await asyncio.sleep(0.05)  # the write is under way on the spool's thread
        writing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await writing
        assert [b.seq for b in await spool.pending()] == [0, 1]


async def test_batches_of_several_topics_are_numbered_in_order_in_one_transaction(tmp_path):
    async with Spool(tmp_path / "s.sqlite") as spool:

        def fails(seq: int) -> bytes:
            raise ValueError("no payload")

        with pytest.raises(ValueError):
            await spool.append_topics([("obs", lambda seq: b"o"), ("events", fails)])
        assert await spool.pending() == []
        await spool.append_topics(
            [("obs", lambda seq: f"o{seq}".encode()), ("events", lambda seq: f"e{seq}".encode())]
        )
        assert [(b.seq, b.topic, b.payload) for b in await spool.pending()] == [
            (0, "obs", b"o0"),
            (1, "events", b"e1"),
        ]


async def test_a_caller_cancelled_while_batches_of_several_topics_are_written_keeps_them(
    tmp_path,
):
    async with Spool(tmp_path / "s.sqlite") as spool:
        writing = asyncio.create_task(
            spool.append_topics([("obs", lambda seq: b"o"), ("events", lambda seq: b"e")])
        )
        await asyncio.sleep(0)  # queued on the spool's thread, not yet written
        writing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await writing
        assert [b.topic for b in await spool.pending()] == ["obs", "events"]


async def test_a_spool_keeps_its_id_and_a_new_spool_gets_another(tmp_path):
    async with Spool(tmp_path / "a.sqlite") as spool:
        first = spool.spool_id
    async with Spool(tmp_path / "a.sqlite") as spool:
        assert spool.spool_id == first
    async with Spool(tmp_path / "b.sqlite") as other:
        assert other.spool_id != first and len(other.spool_id) == 32


async def test_a_spool_file_from_before_spool_ids_gets_one_and_keeps_its_batches(tmp_path):
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE batches (seq INTEGER PRIMARY KEY, topic TEXT NOT NULL, payload BLOB)")
    db.execute("CREATE TABLE counter (id INTEGER PRIMARY KEY, next_seq INTEGER)")
    db.execute("INSERT INTO counter VALUES (1, 8)")
    db.execute("INSERT INTO batches VALUES (7, 't', x'00')")
    db.commit()
    db.close()
    async with Spool(path) as spool:
        assert len(spool.spool_id) == 32
        assert [b.seq for b in await spool.pending()] == [7]
        assert (await spool.append("t", lambda seq: b"new")).seq == 8


class ThreadRecordingDisk(sqlite3.Connection):
    """Records the thread of every statement the spool runs."""

    threads: set[str] = set()

    def execute(self, sql, *args):  # type: ignore[override]
        ThreadRecordingDisk.threads.add(threading.current_thread().name)
        return super().execute(sql, *args)


async def test_sqlite_runs_on_one_thread_of_the_spools_own_never_the_loops(tmp_path):
    ThreadRecordingDisk.threads = set()
    async with Spool(tmp_path / "s.sqlite", connection_factory=ThreadRecordingDisk) as spool:
        for _ in range(5):
            await spool.append("t", lambda seq: b"x")
        await spool.confirm([0, 1, 2])
        await spool.pending()
    assert len(ThreadRecordingDisk.threads) == 1
    (thread,) = ThreadRecordingDisk.threads
    assert thread.startswith("edge-spool") and thread != threading.current_thread().name


# --------------------------------------------------------------------------- confirmations


async def test_confirmed_batches_go_in_any_order_and_the_rest_stay_across_a_restart(tmp_path):
    path = tmp_path / "s.sqlite"
    async with Spool(path) as spool:
        for _ in range(5):
            await spool.append("t", lambda seq: f"batch {seq}".encode())
        assert await spool.confirm([3, 1]) == 2
        assert await spool.confirm([1, 3, 99]) == 0  # again, or never spooled: no harm
        assert [b.seq for b in await spool.pending()] == [0, 2, 4]
        assert (len(spool), spool.bytes) == (3, 3 * len(b"batch 0"))
    async with Spool(path) as spool:  # the edge stops: 0, 2 and 4 are sent again
        assert [b.seq for b in await spool.pending()] == [0, 2, 4]
        assert (len(spool), spool.bytes) == (3, 3 * len(b"batch 0"))


def account() -> Confirmations:
    return Confirmations(most=3, timeout_s=10.0, timeout_max_s=25.0)


@pytest.mark.parametrize(
    ("steps", "room", "due_at"),
    [
        ([], 3, None),  # nothing out: nothing to wait for
        ([("sent", 0, 0.0)], 2, 10.0),
        ([("sent", 0, 0.0), ("sent", 1, 4.0)], 1, 10.0),  # the wait runs from the first
        ([("sent", 0, 0.0), ("sent", 1, 0.0), ("sent", 2, 0.0)], 0, 10.0),  # full
        ([("sent", 0, 0.0), ("confirmed", 0, 3.0)], 3, None),
        # a confirmation is progress: the wait for the rest starts again
        ([("sent", 0, 0.0), ("sent", 1, 0.0), ("confirmed", 0, 7.0)], 2, 17.0),
        # a confirmation of a batch sent before (another connection) is no progress
        ([("sent", 5, 0.0), ("confirmed", 4, 7.0)], 2, 10.0),
        ([("sent", 0, 0.0), ("resend", None, 12.0)], 3, None),
        # after a resend the wait doubles for the batches sent again
        ([("sent", 0, 0.0), ("resend", None, 12.0), ("sent", 0, 12.0)], 2, 32.0),
        # doubling stops at the most
        (
            [
                *[("sent", 0, 0.0), ("resend", None, 10.0), ("sent", 0, 10.0)],
                *[("resend", None, 30.0), ("sent", 0, 30.0)],
            ],
            2,
            55.0,
        ),
        # and a confirmation brings the first wait back
        (
            [
                *[("sent", 0, 0.0), ("resend", None, 10.0), ("sent", 0, 10.0)],
                *[("sent", 1, 10.0), ("confirmed", 0, 11.0)],
            ],
            2,
            21.0,
        ),
    ],
)
def test_the_account_of_unconfirmed_batches_says_when_to_send_more_or_again(steps, room, due_at):
    a = account()
    for what, seq, now in steps:
        if what == "sent":
            a.sent(seq, now)
        elif what == "confirmed":
            a.confirmed([seq], now)
        else:
            a.resend(now)
    assert a.room() == room
    assert a.due_in(0.0) == due_at  # seconds from 0: when the batches out are sent again


def test_an_account_refuses_settings_that_would_never_send_or_never_wait():
    with pytest.raises(ValueError, match="most must be at least 1"):
        Confirmations(most=0, timeout_s=1.0, timeout_max_s=1.0)
    with pytest.raises(ValueError, match="0 < timeout_s <= timeout_max_s"):
        Confirmations(most=1, timeout_s=5.0, timeout_max_s=1.0)


# --------------------------------------------------------------------------- a full spool


async def test_a_full_spool_refuses_a_batch_whole_uses_no_number_and_takes_again_once_drained(
    tmp_path,
):
    async with Spool(tmp_path / "s.sqlite", max_bytes=250) as spool:
        for _ in range(2):
            await spool.append("t", lambda seq: b"x" * 100)
        assert not spool.full
        with pytest.raises(SpoolFull, match=r"2 batches of 200 bytes .* limit of 250 bytes"):
            await spool.append_all("t", [lambda seq: b"y" * 10, lambda seq: b"y" * 50])
        assert spool.full and (len(spool), spool.bytes) == (2, 200)
        assert await spool.next_seq() == 2  # nothing stored, no number used
        await spool.confirm([0])
        assert (await spool.append("t", lambda seq: b"z" * 100)).seq == 2
        assert not spool.full and (len(spool), spool.bytes) == (2, 200)


class SmallDisk(sqlite3.Connection):
    """A disk that fills up: SQLite may use no more than a few pages (SQLITE_FULL)."""

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.execute("PRAGMA max_page_count = 40")


async def test_a_full_disk_is_a_full_spool_and_loses_nothing_already_stored(tmp_path):
    async with Spool(tmp_path / "s.sqlite", connection_factory=SmallDisk) as spool:
        stored = 0
        with pytest.raises(SpoolFull, match="disk is full"):
            for _ in range(100):
                await spool.append("t", lambda seq: b"x" * 3000)
                stored += 1
        assert spool.full and 0 < stored == len(spool)
        assert [b.seq for b in await spool.pending(limit=1000)] == list(range(stored))
        await spool.confirm(list(range(stored)))
        assert (await spool.append("t", lambda seq: b"x" * 3000)).seq == stored
        assert not spool.full


# --------------------------------------------------------------------------- the loop is free


async def test_the_loop_stays_responsive_while_the_spool_writes_to_a_slow_disk(tmp_path):
    """Each write takes 0.2 s. On the loop (as before) every one would stall it that
    long; on the spool's thread the loop's 5 ms ticker is never more than 0.1 s late."""
    SlowDisk.reset(delay_s=0.2)
    loop = asyncio.get_running_loop()
    async with Spool(tmp_path / "s.sqlite", connection_factory=SlowDisk) as spool:
        async with LoopLag(tick_s=0.005) as lag:
            started = loop.time()
            for _ in range(4):
                await spool.append("t", lambda seq: b"x" * 1000)
                await spool.confirm([await spool.next_seq() - 1])
            took = loop.time() - started
    assert SlowDisk.writes == 8 and took >= 8 * SlowDisk.delay_s  # the disk was slow
    assert lag.ticks > took / lag.tick_s / 10, f"{lag.ticks} ticks in {took:.2f} s"
    assert lag.worst < SlowDisk.delay_s / 2, f"the loop stalled for {lag.worst:.3f} s"


async def test_a_disk_with_less_free_than_the_reserve_refuses_batches_and_says_how_much(
    tmp_path,
):
    huge = 1 << 60
    async with Spool(tmp_path / "s.sqlite", disk_reserve_bytes=huge) as spool:
        with pytest.raises(SpoolFull, match=rf"bytes free in .* {huge} bytes stay free"):
            await spool.append("t", lambda seq: b"x")
        assert spool.full and len(spool) == 0 and await spool.next_seq() == 0


@pytest.fixture
def small_tmpfs(tmp_path):
    """An 8 MiB tmpfs (root only): a real disk that fills up, write-ahead log and all."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0:
        unavailable("mounting a small tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(disk)], capture_output=True
    )
    if done.returncode != 0:
        unavailable(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


async def test_a_spool_that_filled_its_disk_still_deletes_what_is_confirmed_and_takes_again(
    small_tmpfs,
):
    """Filled to the last byte, SQLite could not even delete (the delete goes through
    the write-ahead log): the reserve keeps room for that."""
    async with Spool(small_tmpfs / "s.sqlite") as spool:
        stored = 0
        with pytest.raises(SpoolFull, match="disk is full"):
            for _ in range(10_000):
                await spool.append("t", lambda seq: os.urandom(2500))
                stored += 1
        assert spool.full and stored == len(spool) > 100
        assert await spool.confirm(list(range(stored // 2))) == stored // 2
        assert (await spool.append("t", lambda seq: os.urandom(2500))).seq == stored
        assert not spool.full
