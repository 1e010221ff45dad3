"""Estimating a reader's clock offset from when its reports arrive.

A reader stamps reads with its own clock. It sends a report at most a report
interval after the newest read in it, so for every report

    arrival (edge clock) - newest read (reader clock) = offset + delay,  delay >= 0

and the smallest such sample over recent reports is the offset plus the
shortest delay. A reader whose clock is off by more than ``tolerance_s`` has
its timestamps corrected by the estimate, so a skewed reader cannot make the
cloud ignore a move (the cloud orders locations by time) or date reads in the
future. Pure: the caller passes the times.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta

from protocols.clock import Clock, ScaledClock

WINDOW_REPORTS = 600
"""Reports the smallest lag is taken over: 30 s of wall time at the edge's 50 ms report
interval. A backlog (an edge busy for a second, its reports waiting in the socket) makes
every report of it late; over 20 reports that looked like a reader clock seconds behind,
whose "correction" then moved that reader's reads seconds ahead of the others'."""


STEP_REPORTS = 20
"""Reports that show a reader's clock stepped back ..."""
STEP_S = 10.0
"""... when every one of them is this much later than the window's smallest lag: far more
than an edge's backlog (seconds), so the window starts again from them. A clock set
back 90 s was otherwise corrected only once the 600 reports before the step had left
the window (30 s of wall time, 5 simulated minutes at ``--speed 10``), and its door's
reads, dated 90 s back, made no passage meanwhile (reader-faults seed 128: 4 crossings).
A clock set *ahead* makes a smaller lag at once, so it needs no such rule."""


class ClockOffset:
    def __init__(
        self,
        tolerance_s: float = 2.0,
        window: int = WINDOW_REPORTS,
        step_reports: int = STEP_REPORTS,
        step_s: float = STEP_S,
    ) -> None:
        self._tolerance = tolerance_s
        self._window = window
        self._step_reports = step_reports
        self._step_s = step_s
        self._seen = 0
        self._mins: deque[tuple[int, float]] = deque()
        """(report number, lag), lags increasing: the front is the window's smallest."""

    def observe(self, arrived: datetime, newest_read: datetime) -> None:
        """One report: when it arrived, and the newest read time it carried."""
        lag = (arrived - newest_read).total_seconds()
        mins = self._mins
        while mins and mins[-1][1] >= lag:
            mins.pop()
        mins.append((self._seen, lag))
        self._seen += 1
        while mins[0][0] <= self._seen - 1 - self._window:
            mins.popleft()
        recent = self._seen - self._step_reports
        if recent > 0 and mins[0][0] < recent:
            # the smallest lag of the last step_reports reports is the first entry of them
            # (the deque holds the minima of its suffixes)
            lowest_recent = next(lag for n, lag in mins if n >= recent)
            if lowest_recent - mins[0][1] > self._step_s:  # the reader's clock stepped back
                while mins[0][0] < recent:
                    mins.popleft()

    @property
    def offset_s(self) -> float | None:
        """Edge clock minus reader clock, in seconds (None before the first report)."""
        return self._mins[0][1] if self._mins else None

    @property
    def uncorrected_s(self) -> float:
        """The part of the offset left in the (corrected) read times: the offset while it is
        within the tolerance, 0 once corrected or before the first report."""
        offset = self.offset_s
        if offset is None or abs(offset) > self._tolerance:
            return 0.0
        return offset

    @property
    def correction(self) -> timedelta:
        """What to add to the reader's timestamps: zero within the tolerance."""
        offset = self.offset_s
        if offset is None or abs(offset) <= self._tolerance:
            return timedelta(0)
        return timedelta(seconds=offset)


def clock_speed(clock: Clock) -> float:
    """Clock seconds per wall second: a reader's wall-time intervals in clock time."""
    return clock.speed if isinstance(clock, ScaledClock) else 1.0


def reported_through(
    arrived: datetime, lag: timedelta, uncorrected_s: float, last_delay_s: float
) -> datetime:
    """Up to when a reader has reported every read, told by a message arriving at
    ``arrived`` (edge clock) with nothing newer to say (a keepalive, an empty report).

    ``lag``: the report interval (and a round of slack) in clock time: a reader reports
    its reads at most that long after it made them. ``uncorrected_s``: the reader clock's
    offset left in its read times. ``last_delay_s``: how late its last report with tags
    came (arrival minus its newest read, less the offset): a delay beyond ``lag`` is a
    backlog (reports waiting in the socket, an edge falling behind), and messages are
    delivered in order, so this one is taken as that late too. Never claims reads the
    edge has not yet had: an edge that falls behind must not depart tags still there.
    """
    backlog_s = max(0.0, last_delay_s - lag.total_seconds())
    return arrived - lag - timedelta(seconds=uncorrected_s + backlog_s)
