"""The shared clock: every process given the same spec reads the same time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from protocols.clock import ClockSpecError, ScaledClock, parse_clock, wall_clock
from protocols.settings import CommonSettings, SettingsError, load_settings

START = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)


def test_a_scaled_clock_runs_speed_times_faster_from_its_origin():
    wall = [1000.0]
    c = ScaledClock(START, 1000.0, 10.0, wall=lambda: wall[0])
    assert c() == START
    wall[0] = 1003.5
    assert c() == START + timedelta(seconds=35)


def test_the_spec_of_a_clock_makes_the_same_clock():
    c = ScaledClock(START, 1764489600.5, 10.0)
    again = parse_clock(c.spec())
    assert c.spec() == "sim:2025-01-06T08:00:00Z@1764489600.500000x10"
    assert again == c


@pytest.mark.parametrize("spec", [None, "", "wall", " wall "])
def test_no_spec_is_the_wall_clock(spec):
    assert parse_clock(spec) is wall_clock


@pytest.mark.parametrize(
    ("spec", "why"),
    [
        ("sim", "is not 'wall' or"),
        ("sim:2025-01-06T08:00:00Z@abcx10", "is not 'wall' or"),
        ("sim:yesterday@1x10", "is not 'wall' or"),
        ("sim:2025-01-06T08:00:00@1x10", "needs a time zone"),
        ("sim:2025-01-06T08:00:00Z@1x0", "speed must be above 0"),
    ],
)
def test_a_bad_spec_is_refused_naming_it(spec, why):
    with pytest.raises(ClockSpecError, match=why):
        parse_clock(spec)


def test_rfidwms_clock_is_a_setting_of_every_process(monkeypatch):
    monkeypatch.setenv("RFIDWMS_CLOCK", "sim:2025-01-06T08:00:00Z@0x1")
    assert load_settings(CommonSettings).now_clock()().year >= 2025
    monkeypatch.setenv("RFIDWMS_CLOCK", "sim:nope")
    with pytest.raises(SettingsError, match="RFIDWMS_CLOCK"):
        load_settings(CommonSettings)
