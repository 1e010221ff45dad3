"""World time: ``start + speed x elapsed``, and a clock tests move by hand.

Everything in the simulator that needs the time (the world, the readers' report
timestamps, the scales' settling) is given one of these as its
:data:`~firmware_sim.world_view.Clock`, so a run at ``--speed 10`` is
consistent end to end and a test can step the world without sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["ManualClock", "SimClock", "iso_utc", "parse_iso_utc"]


class SimClock:
    """Simulated UTC seconds: ``start`` when created, then ``speed`` times faster than ``wall``."""

    def __init__(
        self,
        start: float | None = None,
        speed: float = 1.0,
        wall: Callable[[], float] = time.monotonic,
        origin: float | None = None,
    ) -> None:
        """``origin``: the ``wall()`` reading at which the clock read ``start`` (default:
        now); with ``wall=time.time`` it puts this clock on a shared ``RFIDWMS_CLOCK``."""
        if not speed > 0:
            raise ValueError(f"speed must be positive, got {speed!r}")
        self.start = time.time() if start is None else start
        self.speed = speed
        self._wall = wall
        self._wall0 = wall() if origin is None else origin

    def __call__(self) -> float:
        return self.start + self.speed * (self._wall() - self._wall0)

    def elapsed(self) -> float:
        """Simulated seconds since the start."""
        return self() - self.start

    def wall_seconds_until(self, sim_time: float) -> float:
        """Real seconds to wait until the clock reads ``sim_time`` (0 when already past)."""
        return max(0.0, (sim_time - self()) / self.speed)


class ManualClock:
    """A clock that only moves when told to (tests, virtual-time runs)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


def iso_utc(t: float) -> str:
    """``1736150400.25`` -> ``'2025-01-06T08:00:00.250Z'`` (millisecond precision)."""
    dt = datetime.fromtimestamp(round(t, 3), tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_iso_utc(text: str) -> float:
    """An ISO-8601 time (``Z`` or an offset; naive means UTC) -> Unix seconds."""
    dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()
