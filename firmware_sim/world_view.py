"""What simulated devices ask the simulated world.

Readers and scales are devices; the world decides what they can sense. This
module is the seam between the two: a reader asks which tags each of its
antennas can hear right now, a scale asks what load sits on it. Devices never
reach into the world's internals, and the world never touches sockets.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

Clock = Callable[[], float]
"""Seconds since the Unix epoch, UTC (``time.time`` in production, a fake in tests)."""


@dataclass(frozen=True, slots=True)
class Sighting:
    """One tag an antenna can hear at one instant."""

    epc_hex: str
    """The EPC as upper-case hex (24 digits for a 96-bit EPC)."""
    rssi_dbm: float
    """Received signal strength at full transmit power, in dBm (typically -80 .. -30)."""


class TagField(Protocol):
    """The RF field around a reader: which tags each antenna hears now."""

    def sightings(self, reader_id: str, antenna_id: int, now: float) -> Sequence[Sighting]:
        """Tags antenna ``antenna_id`` of ``reader_id`` hears at ``now`` (already thinned
        by the world's miss rate). The reader applies its own transmit power on top."""
        ...


class WeightSource(Protocol):
    """What rests on a scale's platform."""

    def load_kg(self, scale_id: str, now: float) -> float:
        """True gross load on ``scale_id`` at ``now`` in kilograms (0.0 when empty).
        The scale adds its own noise, settling and overload behaviour."""
        ...
