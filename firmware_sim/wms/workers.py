"""The simulated warehouse's workers: they carry out the WMS's tasks, like a handheld.

Every ``poll_s`` (wall time) they read the open tasks (``GET /api/tasks?status=open``,
of their own site: ``site=``)
and hand each new one to the world (:func:`~firmware_sim.wms.tasks.tasks_to_take`),
with the mistake the dice say they make (:class:`~firmware_sim.wms.mistakes.MistakeDice`;
a task taken again after the WMS reopened it is done right):

- **put-away**: the pallet to the task's zone (when it reaches storage);
- **pick**: the task's pallet off its shelf to packing (``wrong_pallet``: another
  stored pallet of the same item; ``missing_case``: a case comes off it at packing);
  it is wrapped and weighed there as always;
- **ship**: the pallets they took for the order, once all are packed, through the
  task's door (``wrong_door``: through another outbound door);
- **weigh**: the pallet, set down in packing, onto the packing scale again.

When the world has carried a task out (as the workers believe: mistakes included) they
report it done (``POST /api/tasks/{id}/done``: a put-away once the pallet is on its
shelf, a pick once it left the shelf, a ship once the last pallet crossed the door, a
weigh once the pallet is queued for the scale).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from firmware_sim.wms.bridge import TaskOutcome, WorldBridge
from firmware_sim.wms.client import WmsClient, WmsUnavailable
from firmware_sim.wms.mistakes import MistakeDice
from firmware_sim.wms.tasks import Task, TaskBook, parse_task, tasks_to_take

__all__ = ["WorkerStats", "Workers"]

logger = logging.getLogger(__name__)


@dataclass
class WorkerStats:
    taken: int = 0
    again: int = 0
    done: int = 0
    refused: int = 0
    mistakes: int = 0


class Workers:
    """Polls the WMS's open tasks and has the world carry them out; see the module."""

    def __init__(
        self,
        client: WmsClient,
        bridge: WorldBridge,
        dice: MistakeDice,
        *,
        poll_s: float = 0.5,
        site: str | None = None,
    ) -> None:
        """``site``: the WMS site whose tasks they carry out (None: the WMS's only one)."""
        self.client = client
        self.site = site
        self._at_site: dict[str, str] = {} if site is None else {"site": site}
        self.bridge = bridge
        self.dice = dice
        self.poll_s = poll_s
        self.book = TaskBook()
        self.stats = WorkerStats()

    async def run(self) -> None:
        """Poll and report until cancelled."""
        reporter = asyncio.create_task(self._report(), name="wms-task-reports")
        try:
            while True:
                try:
                    await self.poll()
                except Exception:  # a list it cannot read: the next poll tries again
                    logger.exception("workers: reading the open tasks failed")
                await asyncio.sleep(self.poll_s)
        finally:
            reporter.cancel()
            await asyncio.gather(reporter, return_exceptions=True)

    async def poll(self) -> None:
        """Read the open tasks once and hand the new ones to the world."""
        polled_at = time.monotonic()
        try:
            items = await self.client.pages(
                "/api/tasks", {"status": "open", "limit": 1000, **self._at_site}, attempts=1
            )
        except WmsUnavailable as e:
            logger.debug("workers: no task list: %s", e)
            return
        if items is None:
            return
        tasks = [t for t in (parse_task(i) for i in items) if t is not None]
        # the pallets the open picks name are on orders: none is taken by mistake for
        # another (the ERP may not have told the world of its order yet)
        named = tuple(t.pallet_epc for t in tasks if t.kind == "pick" and t.pallet_epc)
        for task, again in tasks_to_take(tasks, self.book, polled_at):
            self.hand_over(task, again, named)

    def hand_over(self, task: Task, again: bool, named: Sequence[str] = ()) -> None:
        """Have the world carry out ``task``; ``named``: the pallets the open pick tasks
        name (a pallet taken by mistake is none of them)."""
        flow = self.bridge.world.flow
        mistake = None if again else self.dice.draw(task.id, task.kind)
        self.book.in_hand.add(task.id)
        self.stats.taken += 1
        self.stats.again += again
        self.stats.mistakes += mistake is not None
        how = "taken again" if again else "taken"
        logger.debug("workers: %s %s%s", task.id, how, f" ({mistake})" if mistake else "")
        if task.kind == "ship":
            if task.order is None:
                self._refuse_now(task, "a ship task without an order")
                return
            self.bridge.decide(flow.ship_task, task.id, task.order, task.to_location, mistake)
            return
        if task.pallet_epc is None:
            self._refuse_now(task, "its pallet's EPC is not known")
            return
        if task.kind == "putaway":
            self.bridge.decide(flow.putaway_task, task.id, task.pallet_epc, task.to_location)
        elif task.kind == "weigh":
            self.bridge.decide(flow.weigh_task, task.id, task.pallet_epc)
        elif task.order is None:
            self._refuse_now(task, "a pick task without an order")
        else:
            self.bridge.decide(flow.pick_task, task.id, task.pallet_epc, task.order, mistake, named)

    def _refuse_now(self, task: Task, reason: str) -> None:
        logger.info("workers: %s not carried out: %s", task.id, reason)
        self.bridge.task_refused(task.id, reason)

    async def _report(self) -> None:
        while True:
            outcome = await self.bridge.outcomes.get()
            try:
                await self.report(outcome)
            except Exception:
                logger.exception("workers: reporting %s failed", outcome.task)

    async def report(self, outcome: TaskOutcome) -> None:
        """The world's word on a task: done (reported to the WMS) or refused."""
        if not outcome.done:
            self.stats.refused += 1
            self.book.refused.add(outcome.task)
            self.book.in_hand.discard(outcome.task)
            return
        answer = await self.client.post(
            f"/api/tasks/{outcome.task}/done", params=self._at_site or None, attempts=None
        )
        if answer.ok:
            logger.info("workers: %s done", outcome.task)
        self.stats.done += 1
        self.book.reported[outcome.task] = time.monotonic()
        self.book.in_hand.discard(outcome.task)
