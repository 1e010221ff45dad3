"""The simulated warehouse as devices see it: a :class:`TagField` and a :class:`WeightSource`.

::

    world = WarehouseWorld(load_layout(None), load_scenario("demo"), seed=7, start=t0,
                           truth=TruthWriter("truth.jsonl"))
    world.advance(t0 + 600)                       # ten simulated minutes, no sleeping
    world.sightings("reader-zone-a", 1, t0 + 600) # what antenna 1 hears now
    world.load_kg("scale-1", t0 + 600)            # what rests on scale 1

Every question takes ``now`` and first brings the world up to it (events are
never undone, so asking about an earlier time sees the later state). Readers may
ask as often as they like: misses and RSSI noise are dice thrown per (tag,
antenna, 100 ms bucket), not drawn from the scenario's random stream, so the
ground truth does not depend on who asked what when.

The truth's first line (``radio``, t=0) says what the radio model makes
neighbours hear: which doors hear each other's passages as strays and which
zones hear each other's edges (zone bleed), with the radio settings.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from firmware_sim.world.director import Director
from firmware_sim.world.faults import FaultAction
from firmware_sim.world.floor import (
    Floor,
    OnScale,
    Passage,
    Placement,
    Shelved,
    Staged,
    TaggedPallet,
    Turnback,
)
from firmware_sim.world.flow import Flow
from firmware_sim.world.rf import (
    AntennaSite,
    antenna_sites,
    clamp_to,
    door_frames,
    mix64,
    neighbour_doors,
    neighbour_zones,
    rect_distance,
)
from firmware_sim.world.scenario import Scenario, check_scenario
from firmware_sim.world.truth import TruthEvent, TruthSink
from firmware_sim.world_view import Sighting
from protocols.layout import Layout

__all__ = ["WarehouseWorld"]

_GOLDEN = 0x9E3779B97F4A7C15
_BUCKETS_PER_S = 10
_NOISE_SCALE = math.sqrt(6.0) / (1 << 20)  # sum of two uniforms: variance 1/6


class WarehouseWorld:
    """Layout + scenario + seed, advanced in simulated time; see the module docstring."""

    def __init__(
        self,
        layout: Layout,
        scenario: Scenario,
        *,
        start: float,
        seed: int | None = None,
        truth: TruthSink | None = None,
        on_fault: Callable[[FaultAction], None] | None = None,
        end: float | None = None,
        director: Director | None = None,
    ) -> None:
        """``director``: a WMS that runs the business (:mod:`firmware_sim.world.director`);
        without one the world keeps its own orders."""
        check_scenario(scenario, layout)
        self.end = end
        """Simulated Unix time the world never advances past (a finite run), or None."""
        self.layout = layout
        self.scenario = scenario
        self.seed = scenario.seed if seed is None else seed
        self.start = start
        self.radio = scenario.radio.params()
        self.floor = Floor()
        self.frames = door_frames(layout)
        self.sites = antenna_sites(layout, self.radio, self.seed)
        self.neighbours = neighbour_doors(self.frames, self.radio.stray_range_m)
        self.bleed = neighbour_zones(layout, self.radio.zone_bleed_m)
        """Zone -> the zones whose edge its reader hears (zone bleed; symmetric)."""
        self._areas = {z.id: z.area for z in layout.zones}
        self._zone_sites: dict[str, list[AntennaSite]] = {}
        for site in self.sites.values():
            if site.kind == "shelf":
                self._zone_sites.setdefault(site.place, []).append(site)
        self._shelf_fields: dict[
            tuple[str, int], tuple[tuple[int, ...], list[tuple[TaggedPallet, float]]]
        ] = {}
        self._truth = truth
        self.on_fault = on_fault
        self._emit(TruthEvent(start, 0.0, "radio", extra=self._radio_facts()))
        self.flow = Flow(
            layout,
            scenario,
            self.seed,
            start,
            self.floor,
            self.frames,
            self._emit,
            self._fault,
            director,
        )

    # ------------------------------------------------------------------ time

    @property
    def now(self) -> float:
        """The simulated Unix time the world has been advanced to."""
        return self.start + self.flow.now_s

    def advance(self, now: float) -> None:
        """Carry out everything that happens up to ``now`` (no-op for an earlier time)."""
        if self.end is not None and now > self.end:
            now = self.end
        self.flow.run_until(now - self.start)

    def _emit(self, event: TruthEvent) -> None:
        if self._truth is not None:
            self._truth(event)

    def _radio_facts(self) -> dict[str, object]:
        return {
            "radio": self.scenario.radio.model_dump(),
            "stray_doors": {d: list(n) for d, n in self.neighbours.items()},
            "zone_bleed": {z: list(n) for z, n in self.bleed.items()},
        }

    def _fault(self, action: FaultAction) -> None:
        if self.on_fault is not None:
            self.on_fault(action)

    # ------------------------------------------------------------------ TagField

    def sightings(self, reader_id: str, antenna_id: int, now: float) -> Sequence[Sighting]:
        self.advance(now)
        site = self.sites.get((reader_id, antenna_id))
        if site is None:
            return []
        radio = self.radio
        salt = site.key ^ ((int(now * _BUCKETS_PER_S) * _GOLDEN) & 0xFFFFFFFFFFFFFFFF)
        keep = 1.0 - radio.miss_rate
        out: list[Sighting] = []
        if site.kind == "shelf":
            for tp, base in self._shelf_field(site):
                self._hear(tp, base, salt, keep, out)
            return out
        for tp in self.floor.at_door.get(site.place, {}).values():
            self._hear(tp, self._door_base(site, tp, now), salt, keep, out)
        stray = keep * radio.stray_read_rate
        if stray > 0:
            for door in self.neighbours.get(site.place, ()):
                for tp in self.floor.at_door.get(door, {}).values():
                    base = self._door_base(site, tp, now) - radio.stray_loss_db
                    self._hear(tp, base, salt, stray, out)
        return out

    def _door_base(self, site: AntennaSite, tp: TaggedPallet, now: float) -> float:
        p = tp.placement
        assert isinstance(p, Passage | Turnback | Staged)
        return site.rssi_door(p.lateral, p.depth_at(now), self.radio)

    def _shelf_field(self, site: AntennaSite) -> list[tuple[TaggedPallet, float]]:
        """Every pallet a shelf antenna can hear with its noise-free RSSI: its own zone's,
        and those near its zone's edge in the zones it hears by bleed. Recomputed only
        when one of those zones gains or loses a pallet."""
        zones = (site.place, *self.bleed.get(site.place, ()))
        version = self.floor.zone_version
        versions = tuple(version.get(z, 0) for z in zones)
        key = (site.reader_id, site.antenna_id)
        cached = self._shelf_fields.get(key)
        if cached is not None and cached[0] == versions:
            return cached[1]
        radio = self.radio
        field = [
            (tp, site.rssi_shelf(*_spot(tp.placement), radio))
            for tp in self.floor.in_zone.get(site.place, {}).values()
        ]
        area = self._areas[site.place]
        for zone in zones[1:]:
            for tp in self.floor.in_zone.get(zone, {}).values():
                x, y = _spot(tp.placement)
                if rect_distance(area, x, y) > radio.zone_bleed_m:
                    continue
                at_edge = site.rssi_shelf(*clamp_to(area, x, y), radio)
                own = max(s.rssi_shelf(x, y, radio) for s in self._zone_sites[zone])
                field.append((tp, min(at_edge, own) - radio.zone_bleed_db))
        self._shelf_fields[key] = (versions, field)
        return field

    def _hear(
        self, tp: TaggedPallet, base: float, salt: int, keep: float, out: list[Sighting]
    ) -> None:
        radio = self.radio
        floor_dbm = radio.sensitivity_dbm
        noise = radio.rssi_noise_db * _NOISE_SCALE
        if base + 3.5 * radio.rssi_noise_db < floor_dbm or keep <= 0:
            return  # even the best tag on this pallet cannot be heard
        threshold = int(keep * (1 << 24))
        for key, offset, epc in zip(tp.keys, tp.offsets_db, tp.epcs, strict=True):
            h = mix64(key ^ salt)
            if (h >> 40) >= threshold:
                continue  # missed
            rssi = base + offset + ((h & 0xFFFFF) + ((h >> 20) & 0xFFFFF) - (1 << 20)) * noise
            if rssi >= floor_dbm:
                out.append(Sighting(epc, round(rssi, 1)))

    def readers_hearing(self, zone: str) -> tuple[str, ...]:
        """The readers with a shelf antenna that hears ``zone``'s pallets: its own zone's,
        and those of the zones that hear its edge by bleed."""
        zones = {zone, *self.bleed.get(zone, ())}
        return tuple(
            sorted(
                {s.reader_id for s in self.sites.values() if s.kind == "shelf" and s.place in zones}
            )
        )

    # ------------------------------------------------------------------ WeightSource

    def load_kg(self, scale_id: str, now: float) -> float:
        self.advance(now)
        tp = self.floor.on_scale.get(scale_id)
        return tp.pallet.gross_kg if tp is not None else 0.0

    # ------------------------------------------------------------------ inspection

    def where(self, epc: str) -> Placement | None:
        """Where a pallet (by its SSCC EPC) is now; None once it has left."""
        tp = self.floor.pallets.get(epc)
        return tp.placement if tp is not None else None

    def stock_count(self) -> int:
        return len(self.flow.stored)


def _spot(p: Placement) -> tuple[float, float]:
    """Floor position of a pallet at rest in a zone."""
    if isinstance(p, Shelved | OnScale):
        return p.x, p.y
    return 0.0, 0.0
