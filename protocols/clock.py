"""One clock for every process of a run: the wall clock, or a simulated one. Pure.

A scored run (``rfidwms demo --speed 10 --start 2025-01-06T08:00:00Z``) puts every
part on the simulator's clock: the simulated readers stamp their reports with it,
and the edge (hold times, timers, clock-skew correction) and the cloud (time
checks, health, retention) must read the same time, or a read dated by the
simulator would look minutes or years off to them. Processes share it through one
setting, ``RFIDWMS_CLOCK``:

- unset or ``wall``: the system clock;
- ``sim:<start>@<origin>x<speed>``: ``start`` (ISO-8601 UTC) at the Unix wall time
  ``origin``, then ``speed`` simulated seconds per real second, e.g.
  ``sim:2025-01-06T08:00:00Z@1764489600.5x10``. Every process given the same
  value reads the same simulated time at the same moment.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]
"""Returns the current time, timezone-aware UTC."""


def wall_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ScaledClock:
    """``start`` at wall time ``origin``, then ``speed`` times faster."""

    start: datetime
    origin: float
    """Unix seconds (wall) when the clock read ``start``."""
    speed: float = 1.0
    wall: Callable[[], float] = field(default=time.time, compare=False)

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=self.speed * (self.wall() - self.origin))

    def spec(self) -> str:
        """The ``RFIDWMS_CLOCK`` value that makes this clock in another process."""
        start = self.start.astimezone(UTC).isoformat().replace("+00:00", "Z")
        return f"sim:{start}@{self.origin:.6f}x{self.speed:g}"


_SPEC = re.compile(r"^sim:(?P<start>[^@]+)@(?P<origin>[0-9]+(?:\.[0-9]+)?)x(?P<speed>[0-9.eE+-]+)$")


class ClockSpecError(ValueError):
    """An ``RFIDWMS_CLOCK`` value that is not a clock; the message says the form."""


def parse_clock(spec: str | None) -> Clock:
    """The clock ``spec`` names (see the module docstring); ClockSpecError naming it."""
    if spec is None or spec.strip() in ("", "wall"):
        return wall_clock
    form = "'wall' or 'sim:<start ISO-8601>@<origin unix seconds>x<speed>'"
    m = _SPEC.match(spec.strip())
    if m is None:
        raise ClockSpecError(f"clock {spec!r:.100} is not {form}")
    try:
        start = datetime.fromisoformat(m["start"].replace("Z", "+00:00"))
        speed = float(m["speed"])
    except ValueError:
        raise ClockSpecError(f"clock {spec!r:.100} is not {form}") from None
    if start.tzinfo is None:
        raise ClockSpecError(f"clock {spec!r:.100}: the start needs a time zone (e.g. Z)")
    if not 0 < speed <= 1000:
        raise ClockSpecError(f"clock {spec!r:.100}: speed must be above 0 and at most 1000")
    return ScaledClock(start.astimezone(UTC), float(m["origin"]), speed)
