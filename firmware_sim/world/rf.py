"""Radio: what an antenna hears of a tag, from where each stands.

Signal strength follows a log-distance path loss plus the antenna's pattern::

    rssi = ref_dbm - 10 * n * log10(d) + gain(angle off boresight) + tag offset + noise

Door antennas stand on the two posts of the door: *outside* antennas on the
outer face, aimed at a point ``focus_m`` in front of the door, *inside* antennas
on the inner face, aimed a few metres into the building. A pallet crossing the
door on its centre line is therefore heard by the outside antennas first, the
signal rising as it approaches their focus and falling behind them, then by the
inside antennas. Door geometry is worked out in door-local coordinates:
``lateral`` across the opening, ``depth`` along the inward normal (negative
outside, ``0..door depth`` in the opening, larger inside).

Zone antennas hang from the ceiling over a grid across the zone and hear
shelved pallets below them (no pattern, a steeper path loss for the racking).
They also hear the edge of a neighbouring zone that has a reader of its own
(*zone bleed*): a tag of that zone within ``zone_bleed_m`` of the antenna's
zone sounds as if it stood on the nearest point of that zone's edge,
``zone_bleed_db`` weaker, and never less than ``zone_bleed_db`` below what its
own zone's best antenna hears of it.

The dice (:func:`mix64`) turn (tag, antenna, time bucket) into repeatable
random numbers, so misses and noise are the same whenever the same moment is
asked about, and no shared random stream is consumed by readers polling at
wall-clock-dependent times.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from typing import Literal

from protocols.layout import DockDoor, Layout, Reader, Rect, split_read_point

__all__ = [
    "AntennaSite",
    "DoorFrame",
    "RadioParams",
    "antenna_sites",
    "clamp_to",
    "door_frames",
    "mix64",
    "neighbour_doors",
    "neighbour_zones",
    "rect_distance",
    "stable_key",
]

_M64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


def mix64(x: int) -> int:
    """splitmix64's finaliser: a fast, well-spread 64-bit hash of an integer."""
    x &= _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def stable_key(text: str, seed: int = 0) -> int:
    """A 64-bit key for a name, the same in every process (unlike ``hash``)."""
    data = text.encode()
    return mix64((zlib.crc32(data) << 32) ^ zlib.adler32(data) ^ (seed * _GOLDEN))


@dataclass(frozen=True, slots=True)
class RadioParams:
    ref_dbm: float = -30.0
    """RSSI of a tag 1 m in front of an antenna at full power."""
    door_path_loss_exp: float = 2.0
    shelf_path_loss_exp: float = 3.3
    beam_half_deg: float = 65.0
    """The pattern loses 12 dB at this angle off boresight; at most 30 dB behind."""
    focus_m: float = 2.0
    """How far in front of the door face the door antennas aim."""
    ceiling_m: float = 3.0
    """Height of zone antennas above the tags."""
    sensitivity_dbm: float = -70.0
    """Weaker than this is not heard."""
    miss_rate: float = 0.05
    """Share of reads lost at random (a tag heard well is still missed this often)."""
    rssi_noise_db: float = 1.0
    """Standard deviation of the RSSI noise."""
    stray_read_rate: float = 0.3
    """Share of a neighbouring door's passage a door reader hears (reflections)."""
    stray_loss_db: float = 22.0
    """How much weaker a stray read is than the same read at the antenna's own door."""
    stray_range_m: float = 25.0
    """Doors whose centres are closer than this are neighbours."""
    zone_bleed_db: float = 6.0
    """How much weaker a zone antenna hears a tag of a neighbouring zone than one on its
    own zone's edge (and at least this much weaker than the tag's own zone hears it)."""
    zone_bleed_m: float = 7.0
    """How far beyond its zone's edge a zone reader hears tags of other zones (0: not)."""
    reader_reads_per_s: float = 400.0
    """Most tag reads a simulated reader makes a second over all its antennas (Gen2
    singulation in a dense-reader air mode; real readers make about 200-1,100): more
    tags than that in its field are read in turns, those read longest ago first."""
    min_distance_m: float = 0.3


@dataclass(frozen=True, slots=True)
class DoorFrame:
    """A door in its own coordinates: centre on the wall, inward normal, width and depth."""

    door_id: str
    cx: float
    cy: float
    nx: float
    """Inward normal (unit vector into the building)."""
    ny: float
    width: float
    depth: float

    def floor_point(self, lateral: float, depth: float) -> tuple[float, float]:
        """Door-local -> floor-plan coordinates (``depth`` 0 is the outer face)."""
        # the outer face's centre is (cx, cy); lateral runs along (ny, -nx)
        x = self.cx + self.ny * lateral + self.nx * depth
        y = self.cy - self.nx * lateral + self.ny * depth
        return x, y


@dataclass(frozen=True, slots=True)
class AntennaSite:
    reader_id: str
    antenna_id: int
    kind: Literal["outside", "inside", "shelf"]
    place: str
    """The door id (``outside``/``inside``) or the zone id (``shelf``)."""
    a: float
    """Door-local lateral position, or floor x for a shelf antenna."""
    b: float
    """Door-local depth, or floor y for a shelf antenna."""
    aim_a: float = 0.0
    """Unit boresight vector (door-local); unused for shelf antennas."""
    aim_b: float = 0.0
    key: int = 0
    """Dice key of this antenna."""

    def rssi_door(self, lateral: float, depth: float, p: RadioParams) -> float:
        """Noise-free RSSI of a tag at a door-local point (no tag offset)."""
        da, db = lateral - self.a, depth - self.b
        d = max(math.hypot(da, db), p.min_distance_m)
        cos = (da * self.aim_a + db * self.aim_b) / d
        angle = math.degrees(math.acos(max(-1.0, min(1.0, cos))))
        gain = max(-30.0, -12.0 * (angle / p.beam_half_deg) ** 2)
        return p.ref_dbm - 10.0 * p.door_path_loss_exp * math.log10(d) + gain

    def rssi_shelf(self, x: float, y: float, p: RadioParams) -> float:
        d = max(math.sqrt((x - self.a) ** 2 + (y - self.b) ** 2 + p.ceiling_m**2), p.min_distance_m)
        return p.ref_dbm - 10.0 * p.shelf_path_loss_exp * math.log10(d)


def door_frames(layout: Layout) -> dict[str, DoorFrame]:
    """Each door's frame: outside is across the warehouse wall nearest to the door."""
    return {
        d.id: _frame(d, layout.warehouse.width_m, layout.warehouse.depth_m) for d in layout.doors
    }


def _frame(door: DockDoor, width_m: float, depth_m: float) -> DoorFrame:
    r: Rect = door.area
    gaps = {
        "top": r.y,
        "bottom": depth_m - (r.y + r.h),
        "left": r.x,
        "right": width_m - (r.x + r.w),
    }
    wall = min(gaps, key=lambda k: gaps[k])  # dict order breaks ties: top first
    if wall == "top":
        return DoorFrame(door.id, r.x + r.w / 2, r.y, 0.0, 1.0, r.w, r.h)
    if wall == "bottom":
        return DoorFrame(door.id, r.x + r.w / 2, r.y + r.h, 0.0, -1.0, r.w, r.h)
    if wall == "left":
        return DoorFrame(door.id, r.x, r.y + r.h / 2, 1.0, 0.0, r.h, r.w)
    return DoorFrame(door.id, r.x + r.w, r.y + r.h / 2, -1.0, 0.0, r.h, r.w)


def neighbour_doors(frames: dict[str, DoorFrame], range_m: float) -> dict[str, list[str]]:
    """Doors whose centres lie within ``range_m`` of each other, nearest first."""
    out: dict[str, list[str]] = {}
    for a in frames.values():
        near = [
            (math.hypot(a.cx - b.cx, a.cy - b.cy), b.door_id)
            for b in frames.values()
            if b.door_id != a.door_id
        ]
        out[a.door_id] = [d for dist, d in sorted(near) if dist <= range_m]
    return out


def rect_distance(r: Rect, x: float, y: float) -> float:
    """How far (x, y) lies outside the rectangle (0 inside or on its edge)."""
    dx = max(r.x - x, 0.0, x - (r.x + r.w))
    dy = max(r.y - y, 0.0, y - (r.y + r.h))
    return math.hypot(dx, dy)


def clamp_to(r: Rect, x: float, y: float) -> tuple[float, float]:
    """The point of the rectangle nearest to (x, y)."""
    return min(max(x, r.x), r.x + r.w), min(max(y, r.y), r.y + r.h)


def neighbour_zones(layout: Layout, reach_m: float) -> dict[str, list[str]]:
    """Zones with a reader whose areas lie within ``reach_m`` of each other: each hears
    the other's edge (zone bleed). Only zones with a reader appear; empty when reach is 0."""
    heard = {r.zone for r in layout.readers if r.zone is not None}
    zones = [z for z in layout.zones if z.id in heard]
    out: dict[str, list[str]] = {z.id: [] for z in zones}
    if reach_m <= 0:
        return out
    for a in zones:
        for b in zones:
            if a.id != b.id and _rect_gap(a.area, b.area) <= reach_m:
                out[a.id].append(b.id)
    return out


def _rect_gap(a: Rect, b: Rect) -> float:
    dx = max(b.x - (a.x + a.w), 0.0, a.x - (b.x + b.w))
    dy = max(b.y - (a.y + a.h), 0.0, a.y - (b.y + b.h))
    return math.hypot(dx, dy)


def _unit(a: float, b: float) -> tuple[float, float]:
    n = math.hypot(a, b) or 1.0
    return a / n, b / n


def antenna_sites(
    layout: Layout, params: RadioParams, seed: int = 0
) -> dict[tuple[str, int], AntennaSite]:
    """Where every antenna of every reader stands and looks."""
    frames = door_frames(layout)
    zones = {z.id: z for z in layout.zones}
    sites: dict[tuple[str, int], AntennaSite] = {}
    for reader in layout.readers:
        if reader.door is not None:
            sites.update(_door_sites(reader, frames[reader.door], params, seed))
        elif reader.zone is not None:
            sites.update(_shelf_sites(reader, zones[reader.zone].area, seed))
    return sites


def _door_sites(
    reader: Reader, frame: DoorFrame, params: RadioParams, seed: int
) -> dict[tuple[str, int], AntennaSite]:
    sites = {}
    count = {"outside": 0, "inside": 0}
    for ant in reader.antennas:
        _, spot = split_read_point(ant.read_point)
        side: Literal["outside", "inside"] = "outside" if spot == "outside" else "inside"
        post = -1.0 if count[side] % 2 == 0 else 1.0  # alternate left and right post
        count[side] += 1
        lateral = post * frame.width / 2
        depth = 0.0 if side == "outside" else frame.depth
        focus = -params.focus_m if side == "outside" else frame.depth + params.focus_m
        aim_a, aim_b = _unit(0.0 - lateral, focus - depth)
        key = stable_key(f"{reader.id}#{ant.id}", seed)
        sites[(reader.id, ant.id)] = AntennaSite(
            reader.id, ant.id, side, frame.door_id, lateral, depth, aim_a, aim_b, key
        )
    return sites


def _shelf_sites(reader: Reader, area: Rect, seed: int) -> dict[tuple[str, int], AntennaSite]:
    n = len(reader.antennas)
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    sites = {}
    for i, ant in enumerate(reader.antennas):
        col, row = i % cols, i // cols
        x = area.x + area.w * (col + 0.5) / cols
        y = area.y + area.h * (row + 0.5) / rows
        key = stable_key(f"{reader.id}#{ant.id}", seed)
        sites[(reader.id, ant.id)] = AntennaSite(
            reader.id, ant.id, "shelf", reader.zone or "", x, y, key=key
        )
    return sites
