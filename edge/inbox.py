"""What the reader threads hand to the edge's event loop: in order, bounded in reads.

sllurp runs each reader's connection on a thread of its own; the agent's event core
runs on the asyncio loop. :class:`Inbox` is the one place they meet. A thread puts
what its reader said (a report of reads, a state change, a heartbeat) and the loop is
woken once for whatever piles up until it takes everything in one go.

The inbox is bounded by the reads it holds (``max_reads``): when the loop falls
behind its readers (an overloaded machine), a reader thread with a report to hand
over waits until the loop has taken what is there. Its reader's TCP connection then
fills and the reader keeps its reports (an LLRP reader buffers them) instead of the
edge's memory growing without end with reports it cannot get to. Items without reads
(state changes, heartbeats) are never held back: they are small and they say when a
reader went down. Once closed (the agent stopping), nothing waits any more.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["Inbox", "InboxStats"]

T = TypeVar("T")


@dataclass(slots=True)
class InboxStats:
    waits: int = 0
    """How many times a thread had to wait for room."""
    waited_s: float = 0.0
    """Wall seconds threads spent waiting, in all."""
    most_reads: int = 0
    """The most reads the inbox held at once."""


class Inbox(Generic[T]):
    """Items from threads for one consumer, in the order they were put (see the module
    docstring). ``wake`` is called, outside the lock, on the first put after a take:
    the consumer's cue to :meth:`take` (e.g. ``loop.call_soon_threadsafe``)."""

    def __init__(self, max_reads: int, wake: Callable[[], None]) -> None:
        if max_reads < 1:
            raise ValueError(f"max_reads must be at least 1, not {max_reads}")
        self._max = max_reads
        self._wake = wake
        self._items: list[T] = []
        self._reads = 0
        self._woken = False
        self._closed = False
        self._room = threading.Condition(threading.Lock())
        self.stats = InboxStats()

    def put(self, item: T, reads: int = 0, *, on_wait: Callable[[int], None] | None = None) -> None:
        """Hand ``item`` (carrying ``reads`` reads) over. With reads, waits while the
        inbox already holds ``max_reads`` or more (``on_wait(reads held)`` is called
        once, before waiting), until the consumer takes them or the inbox is closed."""
        with self._room:
            if reads and self._reads >= self._max and not self._closed:
                if on_wait is not None:
                    on_wait(self._reads)
                began = time.monotonic()
                self.stats.waits += 1
                while self._reads >= self._max and not self._closed:
                    self._room.wait(timeout=1.0)
                self.stats.waited_s += time.monotonic() - began
            self._items.append(item)
            self._reads += reads
            self.stats.most_reads = max(self.stats.most_reads, self._reads)
            if self._woken:
                return
            self._woken = True
        self._wake()

    def take(self) -> list[T]:
        """Everything put since the last take, in order; makes room for waiting threads."""
        with self._room:
            items, self._items = self._items, []
            self._reads = 0
            self._woken = False
            self._room.notify_all()
        return items

    def close(self) -> None:
        """No thread waits from now on (the consumer is stopping)."""
        with self._room:
            self._closed = True
            self._room.notify_all()

    @property
    def reads(self) -> int:
        """The reads held now."""
        with self._room:
            return self._reads
