"""World time: start + speed x elapsed, injectable, and its UTC text form."""

from __future__ import annotations

import pytest

from firmware_sim.world import ManualClock, SimClock, iso_utc, parse_iso_utc


def test_sim_clock_runs_speed_times_faster_than_the_wall_from_its_start() -> None:
    wall = ManualClock(1000.0)
    clock = SimClock(start=1_736_150_400.0, speed=10.0, wall=wall)
    assert clock() == 1_736_150_400.0
    wall.advance(6.0)
    assert clock() == pytest.approx(1_736_150_460.0)
    assert clock.elapsed() == pytest.approx(60.0)
    assert clock.wall_seconds_until(1_736_150_470.0) == pytest.approx(1.0)
    assert clock.wall_seconds_until(1_736_150_000.0) == 0.0


def test_sim_clock_starts_at_the_wall_clock_by_default_and_refuses_zero_speed() -> None:
    import time

    assert abs(SimClock()() - time.time()) < 1.0
    with pytest.raises(ValueError, match="speed must be positive"):
        SimClock(speed=0)


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("2025-01-06T08:00:00Z", "2025-01-06T08:00:00.000Z"),
        ("2025-01-06T09:00:00.25+01:00", "2025-01-06T08:00:00.250Z"),
        ("2025-01-06T08:00:00", "2025-01-06T08:00:00.000Z"),
    ],
)
def test_iso_utc_round_trips_with_milliseconds(text: str, iso: str) -> None:
    assert iso_utc(parse_iso_utc(text)) == iso
