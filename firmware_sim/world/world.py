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
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from firmware_sim.world.faults import FaultAction
from firmware_sim.world.floor import Floor, Passage, Placement, TaggedPallet
from firmware_sim.world.flow import Flow
from firmware_sim.world.rf import (
    AntennaSite,
    antenna_sites,
    door_frames,
    mix64,
    neighbour_doors,
)
from firmware_sim.world.scenario import Scenario, check_scenario
from firmware_sim.world.truth import TruthEvent, TruthSink
from firmware_sim.world_view import Sighting
from protocols.layout import Layout

__all__ = ["WarehouseWorld"]

_GOLDEN = 0x9E3779B97F4A7C15
_BUCKETS_PER_S = 10
_SHELF_CACHE_LIMIT = 100_000
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
    ) -> None:
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
        self._truth = truth
        self.on_fault = on_fault
        self._shelf_rssi: dict[tuple[int, str], tuple[Placement, float]] = {}
        self.flow = Flow(
            layout, scenario, self.seed, start, self.floor, self.frames, self._emit, self._fault
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
            for tp in self.floor.in_zone.get(site.place, {}).values():
                self._hear(tp, self._shelf_base(site, tp), salt, keep, out)
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
        assert isinstance(p, Passage)
        return site.rssi_door(p.lateral, p.depth_at(now), self.radio)

    def _shelf_base(self, site: AntennaSite, tp: TaggedPallet) -> float:
        key = (site.key, tp.pallet.epc)
        cached = self._shelf_rssi.get(key)
        if cached is not None and cached[0] is tp.placement:
            return cached[1]
        if len(self._shelf_rssi) > _SHELF_CACHE_LIMIT:
            self._shelf_rssi.clear()  # forget pallets long gone; the rest is recomputed
        p = tp.placement
        x, y = getattr(p, "x", 0.0), getattr(p, "y", 0.0)
        base = site.rssi_shelf(x, y, self.radio)
        self._shelf_rssi[key] = (p, base)
        return base

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
