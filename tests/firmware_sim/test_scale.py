"""The simulated scale's physics and MT-SICS behaviour, driven by a fake clock."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from firmware_sim.scale import Scale, ScaleSpec
from protocols.mtsics import (
    Command,
    EncodeError,
    ReplyHead,
    SerialNumberReply,
    Stability,
    Status,
    StatusReply,
    TareReply,
    WeightReply,
    ZeroImmediateReply,
)

SCALE = "dock-3-scale"
SPEC = ScaleSpec(capacity_kg=1500.0, resolution_kg=0.5, noise_kg=0.15, settling_s=1.5)

OVERLOAD = StatusReply(ReplyHead.WEIGHT, Status.ABOVE_RANGE)
UNDERLOAD = StatusReply(ReplyHead.WEIGHT, Status.BELOW_RANGE)
NOT_STABLE_IN_TIME = StatusReply(ReplyHead.WEIGHT, Status.NOT_EXECUTABLE)


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Platform:
    """A WeightSource whose loads the test sets by hand."""

    def __init__(self) -> None:
        self.loads: dict[str, float] = {}
        self.asked: list[tuple[str, float]] = []

    def load_kg(self, scale_id: str, now: float) -> float:
        self.asked.append((scale_id, now))
        return self.loads.get(scale_id, 0.0)

    def place(self, kg: float) -> None:
        self.loads[SCALE] = kg


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def platform() -> Platform:
    return Platform()


@pytest.fixture
def scale(platform: Platform, clock: FakeClock) -> Scale:
    return Scale(SCALE, platform, clock, SPEC, seed=7)


def stable(kg: str) -> WeightReply:
    return WeightReply(Stability.STABLE, Decimal(kg), "kg")


def settle(scale: Scale, clock: FakeClock) -> None:
    scale.read()  # let the scale notice the change
    clock.advance(SPEC.settling_s)


# --------------------------------------------------------------------------- weighing


def test_empty_scale_reads_stable_zero(scale: Scale) -> None:
    assert scale.weight_immediately() == stable("0.0")
    assert scale.stable_weight() == stable("0.0")


def test_scale_asks_the_world_for_its_own_load_at_clock_time(
    scale: Scale, platform: Platform, clock: FakeClock
) -> None:
    scale.read()
    assert platform.asked == [(SCALE, clock.now)]


def test_placed_load_is_dynamic_until_settled_then_stable_at_true_weight(
    scale: Scale, platform: Platform, clock: FakeClock
) -> None:
    scale.read()
    platform.place(812.0)
    immediate = scale.weight_immediately()
    assert isinstance(immediate, WeightReply)
    assert immediate.stability is Stability.DYNAMIC
    clock.advance(1.25)
    later = scale.weight_immediately()
    assert isinstance(later, WeightReply)
    assert later.stability is Stability.DYNAMIC
    clock.advance(0.25)
    assert scale.weight_immediately() == stable("812.0")
    assert scale.stable_weight() == stable("812.0")


def test_dynamic_readings_drift_from_old_load_toward_new_one(
    platform: Platform, clock: FakeClock
) -> None:
    quiet = ScaleSpec(resolution_kg=0.5, noise_kg=0.0, motion_noise_kg=0.0, settling_s=1.5)
    scale = Scale(SCALE, platform, clock, quiet)
    scale.read()
    platform.place(600.0)
    values = []
    for _ in range(15):
        reading = scale.read()
        assert not reading.stable
        values.append(reading.net_kg)
        clock.advance(0.1)
    assert values[0] == 0.0
    assert values == sorted(values)
    assert 550.0 < values[-1] < 600.0
    clock.advance(0.01)
    assert scale.read().stable
    assert scale.read().net_kg == 600.0


def test_change_during_settling_restarts_it_from_where_the_reading_was(
    platform: Platform, clock: FakeClock
) -> None:
    quiet = ScaleSpec(resolution_kg=0.5, noise_kg=0.0, motion_noise_kg=0.0, settling_s=1.0)
    scale = Scale(SCALE, platform, clock, quiet)
    scale.read()
    platform.place(400.0)
    scale.read()
    clock.advance(0.5)
    midway = scale.read().net_kg
    assert 0.0 < midway < 400.0
    platform.place(100.0)
    assert scale.read().net_kg == midway  # no jump: the platform moves, it does not teleport
    clock.advance(0.75)
    assert not scale.read().stable
    clock.advance(0.25)
    assert scale.read().net_kg == 100.0


def test_drift_below_half_a_division_does_not_disturb_stability(
    scale: Scale, platform: Platform, clock: FakeClock
) -> None:
    platform.place(300.0)
    settle(scale, clock)
    platform.place(300.2)
    assert scale.read().stable


def test_stable_weight_waits_while_settling_and_gives_up_after_the_timeout(
    scale: Scale, platform: Platform, clock: FakeClock
) -> None:
    scale.read()
    started = clock.now
    for step in range(3):  # a pallet being shuffled about: the load keeps changing
        platform.place(500.0 + 50 * step)
        assert scale.stable_weight(started) is None
        clock.advance(1.0)
    assert clock.now - started == SPEC.stable_timeout_s
    assert scale.stable_weight(started) == NOT_STABLE_IN_TIME


def test_stable_weight_answers_as_soon_as_settled(
    scale: Scale, platform: Platform, clock: FakeClock
) -> None:
    scale.read()
    platform.place(42.0)
    started = clock.now
    assert scale.stable_weight(started) is None
    clock.advance(1.5)
    assert scale.stable_weight(started) == stable("42.0")


def test_stable_readings_stay_within_one_division_of_the_true_load(
    scale: Scale, platform: Platform, clock: FakeClock
) -> None:
    platform.place(100.25)  # right on a rounding boundary: noise flips the last digit
    settle(scale, clock)
    seen = set()
    for _ in range(500):
        reply = scale.weight_immediately()
        assert isinstance(reply, WeightReply)
        assert reply.stability is Stability.STABLE
        assert abs(reply.value - Decimal("100.25")) < Decimal("0.5")
        assert reply.value % Decimal("0.5") == 0
        assert reply.value.as_tuple().exponent == -1
        seen.add(reply.value)
        clock.advance(0.01)
    assert seen == {Decimal("100.0"), Decimal("100.5")}


def test_raw_noise_at_rest_stays_within_the_spec(
    scale: Scale, platform: Platform, clock: FakeClock
) -> None:
    platform.place(250.0)
    settle(scale, clock)
    deviations = [abs(scale.read().net_kg - 250.0) for _ in range(500)]
    assert max(deviations) <= SPEC.noise_kg + 1e-9
    assert max(deviations) > 0


def test_same_seed_gives_same_readings_and_other_seed_other_ones(
    platform: Platform, clock: FakeClock
) -> None:
    def readings(seed: int) -> list[float]:
        scale = Scale(SCALE, platform, FakeClock(), SPEC, seed=seed)
        return [scale.read().net_kg for _ in range(20)]

    platform.place(100.0)
    assert readings(1) == readings(1)
    assert readings(1) != readings(2)


def test_resolution_sets_the_decimals_of_the_weight(platform: Platform, clock: FakeClock) -> None:
    bench = ScaleSpec(capacity_kg=30.0, resolution_kg=0.02, noise_kg=0.0, settling_s=0.5)
    scale = Scale(SCALE, platform, clock, bench)
    platform.place(12.3456)
    assert scale.weight_immediately() == stable("12.34")


# --------------------------------------------------------------------------- limits


@pytest.mark.parametrize(("load_kg", "reply"), [(1499.0, stable("1499.0")), (1501.0, OVERLOAD)])
def test_load_above_capacity_is_overload(
    scale: Scale, platform: Platform, clock: FakeClock, load_kg: float, reply: object
) -> None:
    platform.place(load_kg)
    settle(scale, clock)
    assert scale.weight_immediately() == reply
    assert scale.stable_weight() == reply


def test_overload_is_reported_once_the_reading_passes_capacity_without_waiting_to_settle(
    scale: Scale, platform: Platform, clock: FakeClock
) -> None:
    scale.read()
    platform.place(2000.0)
    assert scale.stable_weight() is None
    clock.advance(1.0)
    assert not scale.read().stable
    assert scale.stable_weight() == OVERLOAD


def test_forced_overload_reports_overload_until_lifted(scale: Scale, platform: Platform) -> None:
    platform.place(10.0)
    scale.force_overload(True)
    assert scale.overload_forced
    assert scale.weight_immediately() == OVERLOAD
    assert scale.stable_weight() == OVERLOAD
    assert scale.zero() == StatusReply(ReplyHead.ZERO, Status.ABOVE_RANGE)
    assert scale.zero_immediately() == StatusReply(ReplyHead.ZERO_IMMEDIATELY, Status.ABOVE_RANGE)
    assert scale.tare() == StatusReply(ReplyHead.TARE, Status.ABOVE_RANGE)
    scale.force_overload(False)
    assert scale.stable_weight() == stable("10.0")


def test_load_removed_after_zeroing_under_it_is_underload(
    scale: Scale, platform: Platform, clock: FakeClock
) -> None:
    platform.place(20.0)  # an empty pallet left on the scale, within the zero range
    settle(scale, clock)
    assert scale.zero() == StatusReply(ReplyHead.ZERO, Status.EXECUTED)
    platform.place(0.0)
    settle(scale, clock)
    assert scale.weight_immediately() == UNDERLOAD
    assert scale.stable_weight() == UNDERLOAD


# --------------------------------------------------------------------------- zero and tare


def test_zero_within_range_makes_the_current_load_read_zero(
    scale: Scale, platform: Platform, clock: FakeClock
) -> None:
    platform.place(12.0)
    settle(scale, clock)
    assert scale.zero() == StatusReply(ReplyHead.ZERO, Status.EXECUTED)
    assert scale.zero_kg == 12.0
    assert scale.stable_weight() == stable("0.0")
    platform.place(112.0)
    settle(scale, clock)
    assert scale.stable_weight() == stable("100.0")


@pytest.mark.parametrize(
    ("load_kg", "status"),
    [(30.0, Status.EXECUTED), (30.5, Status.ABOVE_RANGE), (-40.0, Status.BELOW_RANGE)],
)
def test_zero_is_allowed_only_within_the_zero_range(
    scale: Scale, platform: Platform, clock: FakeClock, load_kg: float, status: Status
) -> None:
    platform.place(load_kg)
    settle(scale, clock)
    assert scale.zero() == StatusReply(ReplyHead.ZERO, status)
    assert scale.zero_immediately() == (
        ZeroImmediateReply(Stability.STABLE)
        if status is Status.EXECUTED
        else StatusReply(ReplyHead.ZERO_IMMEDIATELY, status)
    )


def test_zero_waits_for_stability_and_gives_up_after_the_timeout(
    scale: Scale, platform: Platform, clock: FakeClock
) -> None:
    scale.read()
    platform.place(5.0)
    started = clock.now
    assert scale.zero(started) is None
    clock.advance(2.0)
    platform.place(8.0)
    assert scale.zero(started) is None
    clock.advance(1.0)
    assert scale.zero(started) == StatusReply(ReplyHead.ZERO, Status.NOT_EXECUTABLE)
    assert scale.zero_kg == 0.0


def test_zero_immediately_zeroes_even_in_motion_and_says_so(
    scale: Scale, platform: Platform, clock: FakeClock
) -> None:
    scale.read()
    platform.place(6.0)
    assert scale.zero_immediately() == ZeroImmediateReply(Stability.DYNAMIC)
    clock.advance(1.5)
    assert scale.zero_immediately() == ZeroImmediateReply(Stability.STABLE)
    assert scale.stable_weight() == stable("0.0")


def test_tare_takes_the_pallet_and_then_weighs_the_goods_net(
    scale: Scale, platform: Platform, clock: FakeClock
) -> None:
    platform.place(25.0)
    settle(scale, clock)
    assert scale.tare() == TareReply(Decimal("25.0"), "kg")
    assert scale.tare_kg == 25.0
    assert scale.stable_weight() == stable("0.0")
    platform.place(425.0)
    settle(scale, clock)
    assert scale.stable_weight() == stable("400.0")
    platform.place(0.0)
    settle(scale, clock)
    assert scale.stable_weight() == stable("-25.0")  # pallet gone: minus the tare, no underload


def test_zero_clears_the_tare(scale: Scale, platform: Platform, clock: FakeClock) -> None:
    platform.place(25.0)
    settle(scale, clock)
    scale.tare()
    platform.place(0.0)
    settle(scale, clock)
    assert scale.zero() == StatusReply(ReplyHead.ZERO, Status.EXECUTED)
    assert scale.tare_kg == 0.0
    assert scale.stable_weight() == stable("0.0")


def test_tare_waits_for_stability_and_gives_up_after_the_timeout(
    scale: Scale, platform: Platform, clock: FakeClock
) -> None:
    scale.read()
    platform.place(30.0)
    started = clock.now
    assert scale.tare(started) is None
    clock.advance(1.5)
    assert scale.tare(started) == TareReply(Decimal("30.0"), "kg")
    platform.place(60.0)
    started = clock.now
    assert scale.tare(started) is None
    clock.advance(3.0)
    platform.place(65.0)
    assert scale.tare(started) == StatusReply(ReplyHead.TARE, Status.NOT_EXECUTABLE)


@pytest.mark.parametrize(
    ("zero_under_kg", "then_kg", "status"),
    [(0.0, 1600.0, Status.ABOVE_RANGE), (20.0, 15.0, Status.BELOW_RANGE)],
)
def test_tare_outside_the_taring_range_is_refused(
    scale: Scale,
    platform: Platform,
    clock: FakeClock,
    zero_under_kg: float,
    then_kg: float,
    status: Status,
) -> None:
    platform.place(zero_under_kg)
    settle(scale, clock)
    scale.zero()
    platform.place(then_kg)
    settle(scale, clock)
    assert scale.tare() == StatusReply(ReplyHead.TARE, status)
    assert scale.tare_kg == 0.0


def test_reset_restores_power_on_zero_and_no_tare_but_not_a_fault(
    scale: Scale, platform: Platform, clock: FakeClock
) -> None:
    platform.place(10.0)
    settle(scale, clock)
    scale.zero()
    platform.place(50.0)
    settle(scale, clock)
    scale.tare()
    scale.force_overload(True)
    assert scale.reset() == SerialNumberReply("SIM-dock-3-scale")
    assert (scale.zero_kg, scale.tare_kg) == (0.0, 0.0)
    assert scale.stable_weight() == OVERLOAD
    scale.force_overload(False)
    assert scale.stable_weight() == stable("50.0")


# --------------------------------------------------------------------------- identity, dispatch


def test_serial_number_defaults_from_scale_id_or_is_given(
    platform: Platform, clock: FakeClock
) -> None:
    assert Scale("s1", platform, clock).serial_number() == SerialNumberReply("SIM-s1")
    given = Scale("s1", platform, clock, serial_number="B021002593")
    assert given.serial_number() == SerialNumberReply("B021002593")
    with pytest.raises(EncodeError, match="serial number"):
        Scale("s1", platform, clock, serial_number='bad"serial')


def test_execute_dispatches_every_command(
    scale: Scale, platform: Platform, clock: FakeClock
) -> None:
    platform.place(20.0)
    settle(scale, clock)
    assert scale.execute(Command.SEND_STABLE_WEIGHT) == stable("20.0")
    assert scale.execute(Command.SEND_WEIGHT_IMMEDIATELY) == stable("20.0")
    assert scale.execute(Command.TARE) == TareReply(Decimal("20.0"), "kg")
    assert scale.execute(Command.ZERO) == StatusReply(ReplyHead.ZERO, Status.EXECUTED)
    assert scale.execute(Command.ZERO_IMMEDIATELY) == ZeroImmediateReply(Stability.STABLE)
    assert scale.execute(Command.SERIAL_NUMBER) == SerialNumberReply("SIM-dock-3-scale")
    assert scale.execute(Command.RESET) == SerialNumberReply("SIM-dock-3-scale")
    platform.place(90.0)
    assert scale.execute(Command.SEND_STABLE_WEIGHT, clock.now) is None


def test_settles_at_tells_when_the_motion_ends(
    scale: Scale, platform: Platform, clock: FakeClock
) -> None:
    scale.read()
    platform.place(70.0)
    scale.read()
    assert scale.settles_at() == clock.now + SPEC.settling_s


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"capacity_kg": 0.0}, "capacity_kg must be positive, got 0.0"),
        ({"resolution_kg": -0.5}, "resolution_kg must be positive, got -0.5"),
        ({"settling_s": -1.0}, "settling_s must be zero or more, got -1.0"),
        ({"noise_kg": float("nan")}, "noise_kg must be zero or more, got nan"),
        ({"noise_kg": 0.25}, "noise_kg 0.25 must be below half the resolution 0.5"),
    ],
)
def test_scale_spec_refuses_nonsense(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as caught:
        ScaleSpec(**kwargs)
    assert message in str(caught.value)
