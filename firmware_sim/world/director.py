"""Who runs the warehouse's business when a WMS does: the :class:`Director`.

Without one the world keeps its own business (where a pallet is put away, which
pallets an order takes, the door it ships through). With one (``rfidwms sim --wms``,
:mod:`firmware_sim.wms`) the world tells the director what happens that the business
needs to know (the warehouse opening with its stock, a truck arriving, a customer
wanting goods, a task carried out) and waits for the decisions, which arrive as world
events: :meth:`~firmware_sim.world.flow.Flow.open_business`,
:meth:`~firmware_sim.world.flow.Flow.notice_posted`,
:meth:`~firmware_sim.world.flow.Flow.order_placed` and the tasks
(:meth:`~firmware_sim.world.flow.Flow.putaway_task`,
:meth:`~firmware_sim.world.flow.Flow.pick_task`,
:meth:`~firmware_sim.world.flow.Flow.ship_task`); for returns
:meth:`~firmware_sim.world.flow.Flow.return_posted` (or ``return_dropped``) and
:meth:`~firmware_sim.world.flow.Flow.return_inspected`; for transfers between sites
:meth:`~firmware_sim.world.flow.Flow.transfer_placed` (its tasks then come like an
order's) and, at the destination, :meth:`~firmware_sim.world.flow.Flow.transfer_coming`.

The world calls a director from inside ``advance``: every method must return at once
(queue the request, never wait for an answer).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from firmware_sim.world.model import Pallet, Sku
from firmware_sim.world.transfer_truck import TransferTruck

__all__ = ["Director"]


class Director(Protocol):
    def opening(self, skus: Sequence[Sku], tare_kg: float, stock: Sequence[Pallet]) -> None:
        """The warehouse is about to open with ``stock`` on its shelves: the item master
        and the opening stock can be announced; then ``open_business``."""

    def truck_arriving(self, truck: str, door: str, load: Sequence[Pallet], at: float) -> None:
        """``truck`` waits in the yard to dock at ``door`` (simulated Unix time ``at``)
        with ``load``: its notice can be posted; then ``notice_posted``."""

    def order_wanted(self, door: str, pallets: int, sku: Sku | None) -> None:
        """A customer wants about ``pallets`` pallets (of ``sku``, or any), collected at
        ``door``: an order can be placed; then ``order_placed``."""

    def return_wanted(self, order: str, pallets: Sequence[Pallet]) -> None:
        """The customer of ``order`` sends back ``pallets`` (as they left, their cases
        those that truly shipped): a return can be posted; then ``return_posted`` (or
        ``return_dropped``)."""

    def inspect_return(self, rma: str, pallet: Pallet, verdict: str) -> None:
        """Returned ``pallet`` of return ``rma`` is on a shelf in quarantine: its cases
        can be inspected, ``verdict`` (``restock`` or ``write_off``) for each; then
        ``return_inspected``."""

    def transfer_wanted(self, pallets: int) -> None:
        """About ``pallets`` pallets are to go to another site: a transfer can be
        posted; then ``transfer_placed``."""

    def transfer_left(self, truck: TransferTruck) -> None:
        """A transfer's truck left with what truly left through the door: it is on the
        road to ``truck.to_site``, whose world gets it (``transfer_coming``)."""

    def task_done(self, task: str) -> None:
        """The workers carried out ``task`` (as they believe: a mistake included)."""

    def task_refused(self, task: str, reason: str) -> None:
        """The workers cannot carry out ``task`` (its pallet is not where it says)."""
