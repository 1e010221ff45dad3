"""A simulated platform scale: load cell physics and MT-SICS behaviour, no I/O.

The true load comes from the world (:class:`~firmware_sim.world_view.WeightSource`);
the scale adds what a real one does on top of it:

- **settling**: when the load changes, readings are *dynamic* for ``settling_s``,
  drifting from the old value toward the new one with extra motion noise;
  after that they are *stable*;
- **noise**: seeded, and small enough at rest that a stable reading is always
  within one division (``resolution_kg``) of the true net load;
- **overload** above ``capacity_kg`` and **underload** more than ``underload_kg``
  below zero; a fault hook forces overload;
- **zero** and **tare**, which move the reference the displayed weight is
  measured from; zeroing is only allowed within ``zero_range_kg`` of the
  power-on zero, and clears the tare.

Commands that need stability (``S``, ``Z``, ``T``) take the time the host
started waiting; they return ``None`` while the caller should keep waiting and
an ``I`` status once ``stable_timeout_s`` has passed without stability. The
server owns the waiting; this class owns the rule. Time is always the injected
clock's.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from decimal import Decimal

from firmware_sim.world_view import Clock, WeightSource
from protocols.mtsics import (
    Command,
    Reply,
    ReplyHead,
    SerialNumberReply,
    Stability,
    Status,
    StatusReply,
    TareReply,
    WeightReply,
    ZeroImmediateReply,
)

__all__ = ["Reading", "Scale", "ScaleSpec"]


@dataclass(frozen=True, slots=True)
class ScaleSpec:
    """What kind of scale this is. Defaults describe a 1.5 t pallet scale."""

    capacity_kg: float = 1500.0
    """Largest gross load (above zero) it weighs; more is overload (``S +``)."""
    resolution_kg: float = 0.5
    """One division: the step of displayed weights."""
    noise_kg: float = 0.15
    """Amplitude of the noise at rest (uniform, +/-); must be below half a division."""
    motion_noise_kg: float = 2.0
    """Amplitude of the noise right after a load change, fading to ``noise_kg`` while settling."""
    settling_s: float = 1.5
    """How long readings stay dynamic after the load changes."""
    stable_timeout_s: float = 3.0
    """How long ``S``, ``Z`` and ``T`` wait for stability before answering ``I``."""
    zero_range_kg: float = 30.0
    """Zeroing is allowed within +/- this of the power-on zero (2 % of capacity)."""
    underload_kg: float = 10.0
    """Gross weight this far below zero reads as underload (``S -``)."""
    unit: str = "kg"

    def __post_init__(self) -> None:
        positive = {
            "capacity_kg": self.capacity_kg,
            "resolution_kg": self.resolution_kg,
        }
        for name, value in positive.items():
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"scale spec {name} must be positive, got {value!r}")
        not_negative = {
            "noise_kg": self.noise_kg,
            "motion_noise_kg": self.motion_noise_kg,
            "settling_s": self.settling_s,
            "stable_timeout_s": self.stable_timeout_s,
            "zero_range_kg": self.zero_range_kg,
            "underload_kg": self.underload_kg,
        }
        for name, value in not_negative.items():
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"scale spec {name} must be zero or more, got {value!r}")
        if self.noise_kg >= self.resolution_kg / 2:
            raise ValueError(
                f"scale spec noise_kg {self.noise_kg!r} must be below half the resolution "
                f"{self.resolution_kg!r}, or stable readings would wander by more than a division"
            )


@dataclass(frozen=True, slots=True)
class Reading:
    """One sample of the load cell, as the scale's firmware sees it."""

    at: float
    """Clock time of the sample."""
    gross_kg: float
    """Weight above the current zero, noise included."""
    net_kg: float
    """``gross_kg`` minus the tare."""
    displayed: Decimal
    """``net_kg`` rounded to the resolution: what a weight reply carries."""
    stable: bool
    overload: bool
    underload: bool


class Scale:
    """One simulated scale. Not thread-safe; drive it from one event loop."""

    def __init__(
        self,
        scale_id: str,
        source: WeightSource,
        clock: Clock,
        spec: ScaleSpec | None = None,
        *,
        seed: int | None = 0,
        serial_number: str | None = None,
    ) -> None:
        self.scale_id = scale_id
        self.spec = spec if spec is not None else ScaleSpec()
        self.clock = clock
        self.serial = serial_number if serial_number is not None else f"SIM-{scale_id}"[:64]
        SerialNumberReply(self.serial)  # validates the serial now rather than on first I4
        self._source = source
        self._random = random.Random(seed)
        self._division = Decimal(str(self.spec.resolution_kg))
        self._load_kg: float | None = None
        self._motion_from_kg = 0.0
        self._changed_at = -math.inf
        self._zero_kg = 0.0
        self._tare_kg = 0.0
        self._overload_forced = False

    # ------------------------------------------------------------------ fault hooks

    def force_overload(self, on: bool) -> None:
        """Make the load cell report overload regardless of the load (a fault), or stop."""
        self._overload_forced = on

    @property
    def overload_forced(self) -> bool:
        return self._overload_forced

    # ------------------------------------------------------------------ physics

    @property
    def tare_kg(self) -> float:
        """The tare in memory (0.0 when none)."""
        return self._tare_kg

    @property
    def zero_kg(self) -> float:
        """The true load the scale currently reads as zero (0.0 at power-on)."""
        return self._zero_kg

    def settles_at(self) -> float:
        """When the current motion ends (in the past once stable), given no further change."""
        return self._changed_at + self.spec.settling_s

    def read(self) -> Reading:
        """Sample the load cell now."""
        now = self.clock()
        signal, progress = self._observe(now)
        spec = self.spec
        amplitude = spec.noise_kg + (spec.motion_noise_kg - spec.noise_kg) * (1.0 - progress)
        gross = signal + self._random.uniform(-amplitude, amplitude) - self._zero_kg
        net = gross - self._tare_kg
        return Reading(
            at=now,
            gross_kg=gross,
            net_kg=net,
            displayed=self._display(net),
            stable=progress >= 1.0,
            overload=self._overload_forced or gross > spec.capacity_kg,
            underload=gross < -spec.underload_kg,
        )

    def _observe(self, now: float) -> tuple[float, float]:
        """Take in the true load at ``now``; return the noise-free signal and settling progress
        (0.0 right after a change, 1.0 once settled)."""
        load = self._source.load_kg(self.scale_id, now)
        if self._load_kg is None:
            self._load_kg = load  # powered on with this load already at rest
        elif abs(load - self._load_kg) > self.spec.resolution_kg / 2:
            self._motion_from_kg, _ = self._signal(now)
            self._changed_at = now
            self._load_kg = load
        else:
            self._load_kg = load  # drift within half a division does not disturb stability
        return self._signal(now)

    def _signal(self, now: float) -> tuple[float, float]:
        assert self._load_kg is not None
        settling = self.spec.settling_s
        elapsed = now - self._changed_at
        if settling <= 0 or elapsed >= settling:
            return self._load_kg, 1.0
        progress = max(0.0, elapsed / settling)
        remaining = (1.0 - progress) ** 2
        return self._load_kg + (self._motion_from_kg - self._load_kg) * remaining, progress

    def _display(self, kg: float) -> Decimal:
        steps = round(kg / self.spec.resolution_kg)
        return Decimal(steps) * self._division

    def _weight_status(self, reading: Reading) -> StatusReply | None:
        if reading.overload:
            return StatusReply(ReplyHead.WEIGHT, Status.ABOVE_RANGE)
        if reading.underload:
            return StatusReply(ReplyHead.WEIGHT, Status.BELOW_RANGE)
        return None

    def _timed_out(self, waiting_since: float | None, now: float) -> bool:
        since = now if waiting_since is None else waiting_since
        return now - since >= self.spec.stable_timeout_s

    # ------------------------------------------------------------------ MT-SICS commands

    def weight_immediately(self) -> WeightReply | StatusReply:
        """``SI``: the weight now, stable or dynamic."""
        reading = self.read()
        status = self._weight_status(reading)
        if status is not None:
            return status
        stability = Stability.STABLE if reading.stable else Stability.DYNAMIC
        return WeightReply(stability, reading.displayed, self.spec.unit)

    def stable_weight(self, waiting_since: float | None = None) -> WeightReply | StatusReply | None:
        """``S``: the stable weight; ``None`` while still settling, ``S I`` after the timeout."""
        reading = self.read()
        status = self._weight_status(reading)
        if status is not None:
            return status
        if reading.stable:
            return WeightReply(Stability.STABLE, reading.displayed, self.spec.unit)
        if self._timed_out(waiting_since, reading.at):
            return StatusReply(ReplyHead.WEIGHT, Status.NOT_EXECUTABLE)
        return None

    def zero(self, waiting_since: float | None = None) -> StatusReply | None:
        """``Z``: zero once stable (``Z A``); clears the tare. ``None`` while still settling."""
        now = self.clock()
        signal, progress = self._observe(now)
        if self._overload_forced:
            return StatusReply(ReplyHead.ZERO, Status.ABOVE_RANGE)
        if progress < 1.0:
            if self._timed_out(waiting_since, now):
                return StatusReply(ReplyHead.ZERO, Status.NOT_EXECUTABLE)
            return None
        range_status = self._zero_range_status(signal, ReplyHead.ZERO)
        if range_status is not None:
            return range_status
        self._zero_kg = signal
        self._tare_kg = 0.0
        return StatusReply(ReplyHead.ZERO, Status.EXECUTED)

    def zero_immediately(self) -> ZeroImmediateReply | StatusReply:
        """``ZI``: zero now, stable or not; clears the tare."""
        signal, progress = self._observe(self.clock())
        range_status = self._zero_range_status(signal, ReplyHead.ZERO_IMMEDIATELY)
        if range_status is not None:
            return range_status
        self._zero_kg = signal
        self._tare_kg = 0.0
        return ZeroImmediateReply(Stability.STABLE if progress >= 1.0 else Stability.DYNAMIC)

    def _zero_range_status(self, signal: float, head: ReplyHead) -> StatusReply | None:
        if self._overload_forced or signal > self.spec.zero_range_kg:
            return StatusReply(head, Status.ABOVE_RANGE)
        if signal < -self.spec.zero_range_kg:
            return StatusReply(head, Status.BELOW_RANGE)
        return None

    def tare(self, waiting_since: float | None = None) -> TareReply | StatusReply | None:
        """``T``: once stable, take the gross weight as tare (``T S <tare>``)."""
        now = self.clock()
        signal, progress = self._observe(now)
        gross = signal - self._zero_kg
        if self._overload_forced:
            return StatusReply(ReplyHead.TARE, Status.ABOVE_RANGE)
        if progress < 1.0:
            if self._timed_out(waiting_since, now):
                return StatusReply(ReplyHead.TARE, Status.NOT_EXECUTABLE)
            return None
        if gross > self.spec.capacity_kg:
            return StatusReply(ReplyHead.TARE, Status.ABOVE_RANGE)
        if self._display(gross) < 0:
            return StatusReply(ReplyHead.TARE, Status.BELOW_RANGE)
        self._tare_kg = gross
        return TareReply(self._display(gross), self.spec.unit)

    def serial_number(self) -> SerialNumberReply:
        """``I4``."""
        return SerialNumberReply(self.serial)

    def reset(self) -> SerialNumberReply:
        """``@``: back to power-on state (power-on zero, no tare); answers with the serial.
        A forced overload is a hardware fault and survives the reset."""
        self._zero_kg = 0.0
        self._tare_kg = 0.0
        return SerialNumberReply(self.serial)

    def execute(self, command: Command, waiting_since: float | None = None) -> Reply | None:
        """Carry out ``command``; ``None`` means "not stable yet, ask again shortly"."""
        match command:
            case Command.SEND_STABLE_WEIGHT:
                return self.stable_weight(waiting_since)
            case Command.SEND_WEIGHT_IMMEDIATELY:
                return self.weight_immediately()
            case Command.ZERO:
                return self.zero(waiting_since)
            case Command.ZERO_IMMEDIATELY:
                return self.zero_immediately()
            case Command.TARE:
                return self.tare(waiting_since)
            case Command.SERIAL_NUMBER:
                return self.serial_number()
            case Command.RESET:
                return self.reset()
