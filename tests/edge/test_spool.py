"""The on-disk spool keeps batches and their sequence numbers across restarts, does its
SQLite work off the event loop, and deletes acknowledged batches as a slice."""

from __future__ import annotations

import asyncio
import sqlite3
import threading

import pytest
from spoolkit import LoopLag, SlowDisk

from edge.spool import AckWindow, Spool


async def test_batches_wait_in_order_until_acknowledged(tmp_path):
    async with Spool(tmp_path / "s.sqlite") as spool:
        for _ in range(3):
            await spool.append("t", lambda seq: f"batch {seq}".encode())
        assert [b.seq for b in await spool.pending()] == [0, 1, 2]
        assert await spool.acknowledge_through(0) == 1
        assert [b.payload for b in await spool.pending()] == [b"batch 1", b"batch 2"]
        assert [b.seq for b in await spool.pending(after=1)] == [2]
        assert len(spool) == 2


async def test_a_restart_keeps_unsent_batches_and_never_reuses_a_sequence_number(tmp_path):
    path = tmp_path / "s.sqlite"
    async with Spool(path) as spool:
        await spool.append("t", lambda seq: b"a")
        await spool.append("t", lambda seq: b"b")
        await spool.acknowledge_through(1)
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
        await spool.acknowledge_through(2)
        await spool.pending()
    assert len(ThreadRecordingDisk.threads) == 1
    (thread,) = ThreadRecordingDisk.threads
    assert thread.startswith("edge-spool") and thread != threading.current_thread().name


# --------------------------------------------------------------------------- slice acks


@pytest.mark.parametrize(
    ("sent", "acks", "deletable_after_each"),
    [
        ([0, 1, 2], [0, 1, 2], [0, 1, 2]),  # in order: each PUBACK moves the slice on
        ([0, 1, 2], [2, 1, 0], [None, None, 2]),  # reversed: nothing until 0 is in
        ([0, 1, 2, 3], [1, 0, 3, 2], [None, 1, None, 3]),
        ([7, 9, 12], [9, 7, 12], [None, 9, 12]),  # gaps in the numbers are not holes
    ],
)
def test_the_delete_slice_never_passes_a_batch_still_in_flight(sent, acks, deletable_after_each):
    window = AckWindow()
    for seq in sent:
        window.sent(seq)
    assert [window.acked(seq) for seq in acks] == deletable_after_each
    assert len(window) == 0


def test_an_ack_for_a_batch_not_in_flight_or_a_send_out_of_order_is_refused():
    window = AckWindow()
    window.sent(3)
    with pytest.raises(ValueError, match="seq 2 sent after seq 3"):
        window.sent(2)
    with pytest.raises(ValueError, match="seq 4 acknowledged but not in flight"):
        window.acked(4)
    window.acked(3)
    with pytest.raises(ValueError, match="seq 3 acknowledged but not in flight"):
        window.acked(3)


async def test_out_of_order_acks_delete_only_the_acknowledged_prefix_across_a_restart(tmp_path):
    path = tmp_path / "s.sqlite"
    async with Spool(path) as spool:
        for _ in range(5):
            await spool.append("t", lambda seq: f"batch {seq}".encode())
        window = AckWindow()
        for batch in await spool.pending():
            window.sent(batch.seq)
        for seq in (3, 1):  # PUBACKs of 3 and 1 arrive; 0, 2 and 4 are still in flight
            assert window.acked(seq) is None
        through = window.acked(0)
        assert through == 1
        await spool.acknowledge_through(through)
        assert [b.seq for b in await spool.pending()] == [2, 3, 4]
    # the edge stops before the other PUBACKs: 2, 3 and 4 are sent again after a restart
    async with Spool(path) as spool:
        assert [b.seq for b in await spool.pending()] == [2, 3, 4]


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
                await spool.acknowledge_through(await spool.next_seq() - 1)
            took = loop.time() - started
    assert SlowDisk.writes == 8 and took >= 8 * SlowDisk.delay_s  # the disk was slow
    assert lag.ticks > took / lag.tick_s / 10, f"{lag.ticks} ticks in {took:.2f} s"
    assert lag.worst < SlowDisk.delay_s / 2, f"the loop stalled for {lag.worst:.3f} s"
