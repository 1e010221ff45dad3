"""Between the world's simulated clock and the WMS's wall time: the :class:`WorldBridge`.

The world runs on simulated time and must never wait for HTTP. The bridge is its
:class:`~firmware_sim.world.director.Director`: what the world tells it is queued at
once (requests for the ERP, task outcomes for the workers) and the ERP and the workers
answer, in wall time, by :meth:`WorldBridge.decide`: a world event scheduled at the
clock's present, which the world carries out when it is next advanced.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from firmware_sim.world.model import Pallet, Sku
from firmware_sim.world.transfer_truck import TransferTruck
from firmware_sim.world.world import WarehouseWorld

__all__ = [
    "ErpRequest",
    "Inspection",
    "Opening",
    "OrderWanted",
    "ReturnWanted",
    "TaskOutcome",
    "TransferWanted",
    "TruckComing",
    "WorldBridge",
]


@dataclass(frozen=True, slots=True)
class Opening:
    skus: tuple[Sku, ...]
    tare_kg: float
    stock: tuple[Pallet, ...]


@dataclass(frozen=True, slots=True)
class TruckComing:
    truck: str
    door: str
    load: tuple[Pallet, ...]
    at: float
    """Simulated Unix time it arrived in the yard."""


@dataclass(frozen=True, slots=True)
class OrderWanted:
    door: str
    pallets: int
    sku: Sku | None


@dataclass(frozen=True, slots=True)
class ReturnWanted:
    order: str
    pallets: tuple[Pallet, ...]
    """As they left on the order: their cases those that truly shipped."""


@dataclass(frozen=True, slots=True)
class TransferWanted:
    pallets: int
    """About this many whole pallets to another site."""


ErpRequest = Opening | TruckComing | OrderWanted | ReturnWanted | TransferWanted


@dataclass(frozen=True, slots=True)
class Inspection:
    """A returned pallet on a shelf in quarantine, to inspect: ``verdict`` for each of
    its cases (``restock`` or ``write_off``)."""

    rma: str
    pallet: Pallet
    verdict: str


@dataclass(frozen=True, slots=True)
class TaskOutcome:
    task: str
    done: bool
    reason: str | None = None


class WorldBridge:
    """The world's director for the ERP and the workers; see the module docstring."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.erp_requests: asyncio.Queue[ErpRequest] = asyncio.Queue()
        self.outcomes: asyncio.Queue[TaskOutcome] = asyncio.Queue()
        self.inspections: asyncio.Queue[Inspection] = asyncio.Queue()
        self.trucks_out: asyncio.Queue[TransferTruck] = asyncio.Queue()
        """Transfers' trucks that left, for the road (:mod:`firmware_sim.wms.road`)."""
        self._world: WarehouseWorld | None = None

    def attach(self, world: WarehouseWorld) -> None:
        self._world = world

    @property
    def world(self) -> WarehouseWorld:
        if self._world is None:
            raise RuntimeError("the bridge has no world: attach() it first")
        return self._world

    def decide(self, action: Callable[..., None], *args: Any) -> None:
        """Have the world carry out ``action(*args)`` at the clock's present (or its
        own, if the world is ahead): it runs when the world is next advanced."""
        world = self.world
        flow = world.flow
        flow.schedule(max(flow.now_s, self.clock() - world.start), action, *args)

    # ------------------------------------------------------------------ Director

    def opening(self, skus: Sequence[Sku], tare_kg: float, stock: Sequence[Pallet]) -> None:
        self.erp_requests.put_nowait(Opening(tuple(skus), tare_kg, tuple(stock)))

    def truck_arriving(self, truck: str, door: str, load: Sequence[Pallet], at: float) -> None:
        self.erp_requests.put_nowait(TruckComing(truck, door, tuple(load), at))

    def order_wanted(self, door: str, pallets: int, sku: Sku | None) -> None:
        self.erp_requests.put_nowait(OrderWanted(door, pallets, sku))

    def return_wanted(self, order: str, pallets: Sequence[Pallet]) -> None:
        self.erp_requests.put_nowait(ReturnWanted(order, tuple(pallets)))

    def inspect_return(self, rma: str, pallet: Pallet, verdict: str) -> None:
        self.inspections.put_nowait(Inspection(rma, pallet, verdict))

    def transfer_wanted(self, pallets: int) -> None:
        self.erp_requests.put_nowait(TransferWanted(pallets))

    def transfer_left(self, truck: TransferTruck) -> None:
        self.trucks_out.put_nowait(truck)

    def task_done(self, task: str) -> None:
        self.outcomes.put_nowait(TaskOutcome(task, True))

    def task_refused(self, task: str, reason: str) -> None:
        self.outcomes.put_nowait(TaskOutcome(task, False, reason))
