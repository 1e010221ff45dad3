"""``rfidwms sim`` on a shared ``RFIDWMS_CLOCK``: the world reads exactly that clock."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from firmware_sim.world import load_scenario, parse_iso_utc
from firmware_sim.world.truth import read_truth
from protocols.clock import ScaledClock, wall_clock
from rfidwms.commands.sim import ClockMismatchError, sim_clock
from rfidwms.embedded import free_port_range

START = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
T0 = START.timestamp()


def test_the_world_clock_is_the_shared_clock_same_start_origin_and_speed() -> None:
    shared = ScaledClock(START, time.time() - 3.0, 10.0)  # started 3 wall seconds ago
    clock = sim_clock(shared, None, None, load_scenario("demo"))
    assert clock.start == T0
    assert clock.speed == 10.0
    assert clock() == pytest.approx(shared().timestamp(), abs=0.05)
    assert clock.elapsed() == pytest.approx(30.0, abs=0.5)


@pytest.mark.parametrize(
    ("start", "speed"),
    [(T0, None), (None, 10.0), (T0, 10.0)],
)
def test_a_command_line_that_agrees_with_the_shared_clock_is_accepted(
    start: float | None, speed: float | None
) -> None:
    shared = ScaledClock(START, time.time(), 10.0)
    clock = sim_clock(shared, start, speed, load_scenario("demo"))
    assert (clock.start, clock.speed) == (T0, 10.0)


@pytest.mark.parametrize(
    ("start", "speed", "named"),
    [(T0 + 60, None, "--start"), (None, 5.0, "--speed 5")],
)
def test_a_command_line_that_disagrees_with_the_shared_clock_is_refused_by_name(
    start: float | None, speed: float | None, named: str
) -> None:
    shared = ScaledClock(START, time.time(), 10.0)
    with pytest.raises(ClockMismatchError, match=f"{named}.*disagrees with RFIDWMS_CLOCK"):
        sim_clock(shared, start, speed, load_scenario("demo"))


def test_without_a_shared_clock_the_command_line_then_the_scenario_decide() -> None:
    scenario = load_scenario("demo").model_copy(update={"start": START, "speed": 4.0})
    clock = sim_clock(wall_clock, None, None, scenario)
    assert (clock.start, clock.speed) == (T0, 4.0)
    clock = sim_clock(wall_clock, T0 + 5, 2.0, scenario)
    assert (clock.start, clock.speed) == (T0 + 5, 2.0)
    clock = sim_clock(wall_clock, None, None, load_scenario("demo"))
    assert abs(clock.start - time.time()) < 1.0


def _sim(args: list[str], clock: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    base = free_port_range(0, 12)
    env = {**os.environ, "RFIDWMS_CLOCK": clock}
    env.pop("RFIDWMS_LAYOUT", None)
    return subprocess.run(
        [sys.executable, "-m", "rfidwms", "--log-level", "WARNING", "sim", *args,
         "--llrp-port-base", str(base), "--scale-port-base", str(base + 8)],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_sim_process_runs_on_the_shared_clock_from_its_origin(tmp_path: Path) -> None:
    # The clock started 11 wall seconds ago at speed 10: 110 of the 120 simulated
    # seconds are gone when the process starts, so it ends about 1 s later (12 s
    # on a clock of its own at that speed, 120 s at speed 1), its truth on that start.
    shared = ScaledClock(START, time.time() - 11.0, 10.0)
    began = time.monotonic()
    done = _sim(
        ["--scenario", "one-truck", "--duration", "120s", "--truth", "t.jsonl"],
        shared.spec(),
        tmp_path,
    )
    took = time.monotonic() - began
    assert done.returncode == 0, done.stderr
    records = list(read_truth(tmp_path / "t.jsonl"))
    assert records, "no truth written"
    assert all(parse_iso_utc(r["t"]) - r["sim_s"] == pytest.approx(T0) for r in records)
    assert max(r["sim_s"] for r in records) <= 120.0
    assert any(r["event"] == "arrival" for r in records)  # caught up: one-truck's first ~15 s
    assert took < 7.0, f"ran {took:.1f} s: not on the shared clock"


def test_sim_process_refuses_a_speed_that_disagrees_with_the_shared_clock(
    tmp_path: Path,
) -> None:
    shared = ScaledClock(START, time.time(), 10.0)
    done = _sim(["--speed", "2", "--duration", "5s"], shared.spec(), tmp_path)
    assert done.returncode == 2
    assert "--speed 2 disagrees with RFIDWMS_CLOCK" in done.stderr
