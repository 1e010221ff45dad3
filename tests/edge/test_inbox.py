"""The inbox between reader threads and the edge's event loop: in order, one wake-up
per take, and bounded in reads (a thread waits for room, never loses a report)."""

from __future__ import annotations

import threading
import time

import pytest

from edge.inbox import Inbox


def test_items_come_out_in_order_with_one_wake_up_per_take():
    wakes: list[int] = []
    inbox: Inbox[str] = Inbox(100, lambda: wakes.append(1))
    inbox.put("state", 0)
    inbox.put("report 1", 10)
    inbox.put("report 2", 5)
    assert (len(wakes), inbox.reads) == (1, 15)
    assert inbox.take() == ["state", "report 1", "report 2"]
    assert inbox.reads == 0
    inbox.put("report 3", 1)
    assert len(wakes) == 2 and inbox.take() == ["report 3"]


def test_a_full_inbox_makes_the_thread_with_reads_wait_until_the_loop_takes_them():
    inbox: Inbox[str] = Inbox(10, lambda: None)
    inbox.put("report 1", 10)  # full now
    inbox.put("heartbeat", 0)  # no reads: never held back
    waited: list[int] = []
    done = threading.Event()

    def reader() -> None:
        inbox.put("report 2", 3, on_wait=waited.append)
        done.set()

    thread = threading.Thread(target=reader)
    thread.start()
    time.sleep(0.2)
    assert not done.is_set() and waited == [10]  # waiting, told once with what is held
    assert inbox.take() == ["report 1", "heartbeat"]
    thread.join(timeout=5)
    assert done.is_set() and inbox.take() == ["report 2"]  # nothing lost, order kept
    assert inbox.stats.waits == 1 and inbox.stats.waited_s >= 0.15
    assert inbox.stats.most_reads == 10


def test_closing_releases_a_waiting_thread_and_nothing_waits_after():
    inbox: Inbox[str] = Inbox(1, lambda: None)
    inbox.put("report 1", 5)
    thread = threading.Thread(target=inbox.put, args=("report 2", 5))
    thread.start()
    time.sleep(0.1)
    inbox.close()
    thread.join(timeout=5)
    assert not thread.is_alive()
    inbox.put("report 3", 5)  # closed: straight in
    assert inbox.take() == ["report 1", "report 2", "report 3"]


def test_a_bound_below_one_read_is_refused():
    with pytest.raises(ValueError, match="max_reads must be at least 1, not 0"):
        Inbox(0, lambda: None)
