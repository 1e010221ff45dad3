"""The warehouse layout file: zones, dock doors, readers, antennas, scales.

One YAML file describes a warehouse. The simulator builds its devices from it, the
edge agent maps (reader, antenna) to read points with it, and the cloud draws
the map and names places with it. ``parse_layout`` refuses a wrong file with a
:class:`LayoutError` whose message names the bad field and value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from protocols.validation import describe_validation_error

DEMO_LAYOUT_NAME = "demo.yaml"

_ID = r"^[a-z0-9][a-z0-9_-]{0,62}$"
_READ_POINT = re.compile(r"^(?P<place>[a-z0-9][a-z0-9_-]*)/(?P<spot>[a-z0-9][a-z0-9_-]*)$")

DoorSide = Literal["outside", "inside"]


class LayoutError(ValueError):
    """The layout file is wrong; the message names the field and the value."""


@dataclass(frozen=True, slots=True)
class ReadPoint:
    """What an antenna covers, typed: one side of a dock door, or a spot in a zone.

    ``name`` is the layout's string (``door-2/inside``, ``zone-a/shelf``); ``place`` is
    the door or zone id, ``spot`` the part after the slash. For a door, ``side`` is
    ``outside`` or ``inside``; for a zone it is None.
    """

    name: str
    kind: Literal["door", "zone"]
    place: str
    spot: str

    @property
    def door(self) -> str | None:
        return self.place if self.kind == "door" else None

    @property
    def zone(self) -> str | None:
        return self.place if self.kind == "zone" else None

    @property
    def side(self) -> DoorSide | None:
        if self.kind != "door":
            return None
        return "outside" if self.spot == "outside" else "inside"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Rect(_Strict):
    """A rectangle on the floor plan, in metres from the plan's top-left corner."""

    x: float = Field(ge=0)
    y: float = Field(ge=0)
    w: float = Field(gt=0)
    h: float = Field(gt=0)


class Warehouse(_Strict):
    id: str = Field(pattern=_ID)
    name: str = Field(min_length=1)
    width_m: float = Field(gt=0)
    depth_m: float = Field(gt=0)


class Zone(_Strict):
    id: str = Field(pattern=_ID)
    name: str = Field(min_length=1)
    kind: Literal["storage", "staging", "packing"] = "storage"
    area: Rect


class DockDoor(_Strict):
    id: str = Field(pattern=_ID)
    name: str = Field(min_length=1)
    area: Rect


class Antenna(_Strict):
    id: int = Field(ge=1, le=32)
    read_point: str = Field(pattern=_READ_POINT.pattern)


class Reader(_Strict):
    """An LLRP reader. ``host``/``port`` are where the edge reaches it; when left
    out, the edge uses its configured LLRP host and port base plus the reader's
    position in the layout (which is how ``rfidwms sim`` numbers its ports)."""

    id: str = Field(pattern=_ID)
    edge: str = Field(default="edge-1", pattern=_ID)
    door: str | None = None
    zone: str | None = None
    host: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    antennas: list[Antenna] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_place(self) -> Reader:
        if (self.door is None) == (self.zone is None):
            raise ValueError("a reader stands at exactly one place: set either 'door' or 'zone'")
        ids = [a.id for a in self.antennas]
        if len(ids) != len(set(ids)):
            raise ValueError(f"antenna ids repeat: {ids}")
        return self


class Scale(_Strict):
    """A platform scale. ``read_point`` names the zone antenna over its platform
    (e.g. ``packing/scale-1``): the pallet a weight belongs to is the one that read
    point hears strongest when the weight settles. Without it a weight has no pallet."""

    id: str = Field(pattern=_ID)
    edge: str = Field(default="edge-1", pattern=_ID)
    zone: str
    read_point: str | None = Field(default=None, pattern=_READ_POINT.pattern)
    capacity_kg: float = Field(default=1500.0, gt=0)
    resolution_kg: float = Field(default=0.5, gt=0)
    host: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)


class Layout(_Strict):
    """One warehouse. (Which *site* it is, the topic segment that keeps sites apart on a
    shared broker, is deployment configuration: ``RFIDWMS_SITE``.)"""

    warehouse: Warehouse
    zones: list[Zone] = Field(min_length=1)
    doors: list[DockDoor] = Field(default_factory=list)
    readers: list[Reader] = Field(default_factory=list)
    scales: list[Scale] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self) -> Layout:
        _unique("zones", [z.id for z in self.zones])
        _unique("doors", [d.id for d in self.doors])
        _unique("readers", [r.id for r in self.readers])
        _unique("scales", [s.id for s in self.scales])
        zones = {z.id for z in self.zones}
        doors = {d.id for d in self.doors}
        for i, r in enumerate(self.readers):
            if r.door is not None and r.door not in doors:
                raise ValueError(f"readers[{i}].door: {r.door!r} is not a door of the layout")
            if r.zone is not None and r.zone not in zones:
                raise ValueError(f"readers[{i}].zone: {r.zone!r} is not a zone of the layout")
            for j, a in enumerate(r.antennas):
                place, spot = split_read_point(a.read_point)
                where = f"readers[{i}].antennas[{j}].read_point"
                if r.door is not None:
                    if place != r.door or spot not in ("outside", "inside"):
                        raise ValueError(
                            f"{where}: {a.read_point!r} must be '{r.door}/outside' or "
                            f"'{r.door}/inside' for a reader at door {r.door!r}"
                        )
                elif place != r.zone:
                    raise ValueError(
                        f"{where}: {a.read_point!r} must start with the reader's zone '{r.zone}/'"
                    )
        zone_points = {a.read_point for r in self.readers if r.zone is not None for a in r.antennas}
        for i, s in enumerate(self.scales):
            if s.zone not in zones:
                raise ValueError(f"scales[{i}].zone: {s.zone!r} is not a zone of the layout")
            if s.read_point is not None:
                if split_read_point(s.read_point)[0] != s.zone:
                    raise ValueError(
                        f"scales[{i}].read_point: {s.read_point!r} must start with the "
                        f"scale's zone '{s.zone}/'"
                    )
                if s.read_point not in zone_points:
                    raise ValueError(
                        f"scales[{i}].read_point: {s.read_point!r} is not the read point of "
                        "any antenna of the layout's zone readers"
                    )
        return self

    # -- lookups (indexed once: the edge asks for every read) -----------------------------

    @cached_property
    def _index(self) -> _LayoutIndex:
        return _LayoutIndex.of(self)

    def reader(self, reader_id: str) -> Reader:
        return self._index.readers[reader_id]

    def read_point(self, reader_id: str, antenna_id: int) -> str | None:
        """The read point an antenna covers, or None for an antenna the layout does not map.

        Raises KeyError for a reader the layout does not have."""
        point = self.read_point_of(reader_id, antenna_id)
        return None if point is None else point.name

    def read_point_of(self, reader_id: str, antenna_id: int) -> ReadPoint | None:
        """The typed :class:`ReadPoint` of an antenna, or None for an antenna not mapped.

        Raises KeyError for a reader the layout does not have."""
        index = self._index
        point = index.points.get((reader_id, antenna_id))
        if point is None and reader_id not in index.readers:
            raise KeyError(reader_id)
        return point

    def readers_at(self, place: str) -> list[Reader]:
        """The readers standing at a door or a zone (layout order); empty for none."""
        return list(self._index.at_place.get(place, ()))

    def readers_of_edge(self, edge_id: str) -> list[Reader]:
        return [r for r in self.readers if r.edge == edge_id]

    def reader_port(self, reader_id: str, port_base: int) -> int:
        """The TCP port of a reader: its own ``port`` or ``port_base`` + layout position."""
        r = self.reader(reader_id)
        return r.port if r.port is not None else port_base + self._index.reader_pos[reader_id]

    def scale_port(self, scale_id: str, port_base: int) -> int:
        for i, s in enumerate(self.scales):
            if s.id == scale_id:
                return s.port if s.port is not None else port_base + i
        raise KeyError(scale_id)


@dataclass(frozen=True, slots=True)
class _LayoutIndex:
    readers: dict[str, Reader]
    reader_pos: dict[str, int]
    points: dict[tuple[str, int], ReadPoint]
    at_place: dict[str, tuple[Reader, ...]]

    @classmethod
    def of(cls, layout: Layout) -> _LayoutIndex:
        points: dict[tuple[str, int], ReadPoint] = {}
        at_place: dict[str, list[Reader]] = {}
        for r in layout.readers:
            at_place.setdefault(r.door or r.zone or "", []).append(r)
            for a in r.antennas:
                place, spot = split_read_point(a.read_point)
                kind: Literal["door", "zone"] = "door" if r.door is not None else "zone"
                points[(r.id, a.id)] = ReadPoint(a.read_point, kind, place, spot)
        return cls(
            readers={r.id: r for r in layout.readers},
            reader_pos={r.id: i for i, r in enumerate(layout.readers)},
            points=points,
            at_place={k: tuple(v) for k, v in at_place.items()},
        )


def split_read_point(read_point: str) -> tuple[str, str]:
    """``'door-3/outside'`` -> ``('door-3', 'outside')``."""
    m = _READ_POINT.match(read_point)
    if m is None:
        raise LayoutError(f"read point {read_point!r} is not of the form '<place>/<spot>'")
    return m.group("place"), m.group("spot")


def _unique(field: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for i, x in enumerate(ids):
        if x in seen:
            raise ValueError(f"{field}[{i}].id: {x!r} is used twice")
        seen.add(x)


def parse_layout(text: str, source: str = "<layout>") -> Layout:
    """Parse a layout from YAML text; raise :class:`LayoutError` naming the bad field."""
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise LayoutError(f"{source}: not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise LayoutError(f"{source}: a layout is a YAML mapping, got {type(data).__name__}")
    try:
        return Layout.model_validate(data)
    except ValidationError as e:
        raise LayoutError(describe_validation_error(e, source, "layout")) from None


def load_layout(path: str | Path | None) -> Layout:
    """Load the layout at ``path``, or the bundled demo layout when ``path`` is None."""
    if path is None:
        text = resources.files("protocols.layouts").joinpath(DEMO_LAYOUT_NAME).read_text("utf-8")
        return parse_layout(text, f"(bundled) {DEMO_LAYOUT_NAME}")
    p = Path(path)
    try:
        text = p.read_text("utf-8")
    except OSError as e:
        raise LayoutError(f"{p}: cannot read layout file: {e.strerror}") from None
    return parse_layout(text, str(p))
