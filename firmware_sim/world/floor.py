"""Where every pallet is: on a truck, crossing a door, approaching a door and turning
back, staged inside a door, driven across the floor, on a shelf or a packing spot, on
a scale, or gone.

The floor is the world's spatial state: a :class:`Placement` per pallet plus
indexes by door, zone and scale, so a reader's question touches only the
pallets it could possibly hear. A placement is fixed between two world events;
only a door passage and a turn-back move with time, and their position is
computed from ``now``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from firmware_sim.world.model import Pallet
from firmware_sim.world.rf import mix64, stable_key

__all__ = [
    "Away",
    "Floor",
    "OnScale",
    "Passage",
    "Placement",
    "Shelved",
    "Staged",
    "TaggedPallet",
    "Travelling",
    "Turnback",
]

Direction = Literal["inbound", "outbound"]


@dataclass(frozen=True, slots=True)
class Away:
    """Outside the building (on a truck) or gone: nobody hears it."""


@dataclass(frozen=True, slots=True)
class Passage:
    """Crossing ``door`` on its centre line, from ``start_depth`` to ``end_depth`` (door-local)."""

    door: str
    direction: Direction
    t0: float
    t1: float
    start_depth: float
    end_depth: float
    lateral: float = 0.0

    def depth_at(self, now: float) -> float:
        if self.t1 <= self.t0:
            return self.end_depth
        f = min(1.0, max(0.0, (now - self.t0) / (self.t1 - self.t0)))
        return self.start_depth + (self.end_depth - self.start_depth) * f


@dataclass(frozen=True, slots=True)
class Turnback:
    """Driven toward ``door`` heading ``direction`` from ``start_depth``, stopped at
    ``turn_depth`` (short of the door's middle) for ``pause_s``, then driven back the
    same way; in the door's field from ``t0`` to ``t1`` (door-local, like :class:`Passage`)."""

    door: str
    direction: Direction
    t0: float
    t1: float
    start_depth: float
    turn_depth: float
    pause_s: float
    lateral: float = 0.0

    @property
    def turn_at(self) -> float:
        """When it stops and turns (Unix time)."""
        return self.t0 + max(0.0, self.t1 - self.t0 - self.pause_s) / 2

    def depth_at(self, now: float) -> float:
        go = max(0.0, self.t1 - self.t0 - self.pause_s) / 2
        if go <= 0:
            return self.turn_depth
        f = min(1.0, max(0.0, min(now - self.t0, self.t1 - now) / go))
        return self.start_depth + (self.turn_depth - self.start_depth) * f


@dataclass(frozen=True, slots=True)
class Staged:
    """Set down just inside ``door`` (door-local ``lateral``, ``depth``), in the inside
    antennas' field, waiting for a forklift; ``zone`` is the layout's staging zone."""

    door: str
    zone: str | None
    lateral: float
    depth: float

    def depth_at(self, now: float) -> float:
        return self.depth


@dataclass(frozen=True, slots=True)
class Travelling:
    """On a forklift between two places; the model lets no reader hear it on the way."""

    origin: str
    destination: str


@dataclass(frozen=True, slots=True)
class Shelved:
    """At rest at (x, y) in ``zone``: a storage slot, a packing spot, the staging lane."""

    zone: str
    x: float
    y: float


@dataclass(frozen=True, slots=True)
class OnScale:
    scale: str
    zone: str
    x: float
    y: float


Placement = Away | Passage | Turnback | Staged | Travelling | Shelved | OnScale


@dataclass(slots=True)
class TaggedPallet:
    """A pallet with the radio facts of its tags: dice keys and how well each tag answers
    (the SSCC label outside, cases deeper in the stack weaker)."""

    pallet: Pallet
    keys: tuple[int, ...]
    offsets_db: tuple[float, ...]
    epcs: tuple[str, ...]
    placement: Placement = field(default_factory=Away)

    @classmethod
    def of(cls, pallet: Pallet, seed: int) -> TaggedPallet:
        epcs = (pallet.epc, *pallet.case_epcs)
        keys = tuple(stable_key(e, seed) for e in epcs)
        offsets = [0.0] + [-1.0 - 7.0 * (mix64(k) >> 40) / (1 << 24) for k in keys[1:]]
        return cls(pallet, keys, tuple(offsets), epcs)

    def split(self, rest: Pallet, taken: Pallet) -> TaggedPallet:
        """This pallet becomes ``rest`` (its tags less ``taken``'s); the tag taken off,
        with its own radio facts, as a load of its own (placed nowhere yet)."""
        i = self.epcs.index(taken.epc)
        loose = TaggedPallet(taken, (self.keys[i],), (self.offsets_db[i],), (taken.epc,))
        self.pallet = rest
        self.keys = self.keys[:i] + self.keys[i + 1 :]
        self.offsets_db = self.offsets_db[:i] + self.offsets_db[i + 1 :]
        self.epcs = self.epcs[:i] + self.epcs[i + 1 :]
        return loose


class Floor:
    """Placements of all pallets present in the simulation, indexed for the readers."""

    def __init__(self) -> None:
        self.pallets: dict[str, TaggedPallet] = {}
        self.at_door: dict[str, dict[str, TaggedPallet]] = {}
        self.in_zone: dict[str, dict[str, TaggedPallet]] = {}
        self.on_scale: dict[str, TaggedPallet] = {}
        self.zone_version: dict[str, int] = {}
        """Bumped whenever a zone's set of pallets changes (readers cache what they hear)."""
        self.on_zone_change: Callable[[str], None] | None = None
        """Told the zone whenever its set of pallets changes (the fleet wakes its readers)."""

    def add(self, tagged: TaggedPallet) -> None:
        self.pallets[tagged.pallet.epc] = tagged

    def remove(self, epc: str) -> None:
        self.place(epc, Away())
        del self.pallets[epc]

    def get(self, epc: str) -> TaggedPallet:
        return self.pallets[epc]

    def place(self, epc: str, placement: Placement) -> None:
        tp = self.pallets[epc]
        self._unindex(tp)
        tp.placement = placement
        match placement:
            case Passage(door=door) | Turnback(door=door) | Staged(door=door):
                self.at_door.setdefault(door, {})[epc] = tp
            case Shelved(zone=zone):
                self.in_zone.setdefault(zone, {})[epc] = tp
                self._bump(zone)
            case OnScale(scale=scale, zone=zone):
                self.on_scale[scale] = tp
                self.in_zone.setdefault(zone, {})[epc] = tp
                self._bump(zone)
            case _:
                pass

    def _unindex(self, tp: TaggedPallet) -> None:
        epc = tp.pallet.epc
        match tp.placement:
            case Passage(door=door) | Turnback(door=door) | Staged(door=door):
                self.at_door.get(door, {}).pop(epc, None)
            case Shelved(zone=zone):
                self.in_zone.get(zone, {}).pop(epc, None)
                self._bump(zone)
            case OnScale(scale=scale, zone=zone):
                self.on_scale.pop(scale, None)
                self.in_zone.get(zone, {}).pop(epc, None)
                self._bump(zone)
            case _:
                pass

    def take_case(self, epc: str, case_epc: str) -> TaggedPallet:
        """Take case ``case_epc`` off pallet ``epc`` where it is; the case, a load of
        its own, is added to the floor (not placed yet: :meth:`place` it)."""
        tp = self.pallets[epc]
        rest, taken = tp.pallet.without_case(case_epc)
        loose = tp.split(rest, taken)
        self.place(epc, tp.placement)  # index again: readers' caches see the change
        self.add(loose)
        return loose

    def _bump(self, zone: str) -> None:
        self.zone_version[zone] = self.zone_version.get(zone, 0) + 1
        if self.on_zone_change is not None:
            self.on_zone_change(zone)

    def count_in(self, zone: str) -> int:
        return len(self.in_zone.get(zone, {}))
