"""Reads per second per antenna over a sliding window (pure, clock passed in)."""

from __future__ import annotations

from collections import deque

BUCKET_S = 0.25
"""Reads are counted in buckets this long: the window's edge is this coarse."""


class ReadRateMeter:
    """Counts reads per (reader, antenna) and reports the rate over the last ``window_s``."""

    def __init__(self, window_s: float = 10.0) -> None:
        self._window = window_s
        self._events: dict[tuple[str, int], deque[tuple[float, int]]] = {}

    def count(self, reader_id: str, antenna: int, reads: int, now: float) -> None:
        q = self._events.get((reader_id, antenna))
        if q is None:
            q = self._events[(reader_id, antenna)] = deque()
        bucket = now - now % BUCKET_S
        if q and q[-1][0] == bucket:  # one entry per bucket: a busy antenna's report
            q[-1] = (bucket, q[-1][1] + reads)  # entries are many (thousands a second)
        else:
            q.append((bucket, reads))
            self._trim(q, now)

    def _trim(self, q: deque[tuple[float, int]], now: float) -> None:
        while q and q[0][0] <= now - self._window:
            q.popleft()

    def rates(self, reader_id: str, now: float) -> dict[str, float]:
        """Antenna id (as text, for JSON) -> reads per second, for antennas heard recently."""
        out: dict[str, float] = {}
        for (rid, antenna), q in self._events.items():
            if rid != reader_id:
                continue
            self._trim(q, now)
            if q:
                out[str(antenna)] = round(sum(n for _, n in q) / self._window, 2)
        return out
