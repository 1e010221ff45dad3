"""Which tasks the workers carry out wrong: dice thrown per task, by seed. Pure.

A task can go wrong in the ways its kind allows (:data:`MISTAKES_BY_TASK`): a pick
by taking the wrong pallet (``wrong_pallet``) or by a case coming off the pallet
before it is weighed (``missing_case``), a ship by loading through another door
(``wrong_door``); a put-away never. Of the tasks that can go wrong with the kinds
switched on, a share ``rate`` does, each of those kinds alike likely. The dice are a
hash of the seed and the task's id, so whether ``pick-7`` goes wrong depends on
nothing else: not on when the workers saw it, nor on what they did before.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from firmware_sim.world.scenario import MISTAKE_KINDS, MistakeKind

__all__ = ["MISTAKES_BY_TASK", "MistakeDice"]

MISTAKES_BY_TASK: dict[str, tuple[MistakeKind, ...]] = {
    "putaway": (),
    "pick": ("wrong_pallet", "missing_case"),
    "ship": ("wrong_door",),
}


@dataclass(frozen=True, slots=True)
class MistakeDice:
    rate: float
    """Share of the tasks that can go wrong that do (0-1)."""
    kinds: frozenset[MistakeKind] = frozenset(MISTAKE_KINDS)
    seed: int = 1

    @classmethod
    def of(cls, rate: float, kinds: Iterable[MistakeKind], seed: int) -> MistakeDice:
        if not 0 <= rate <= 1:
            raise ValueError(f"mistake_rate: {rate!r} is not between 0 and 1")
        return cls(rate, frozenset(kinds), seed)

    def possible(self, task_kind: str) -> tuple[MistakeKind, ...]:
        """The mistakes switched on that a task of ``task_kind`` can suffer."""
        return tuple(k for k in MISTAKES_BY_TASK.get(task_kind, ()) if k in self.kinds)

    def draw(self, task_id: str, task_kind: str) -> MistakeKind | None:
        """The mistake made carrying out task ``task_id``, or None (done right)."""
        kinds = self.possible(task_kind)
        if not kinds or self.rate <= 0:
            return None
        digest = hashlib.blake2b(f"{self.seed}:{task_id}".encode(), digest_size=16).digest()
        wrong = int.from_bytes(digest[:8], "big") / 2**64
        which = int.from_bytes(digest[8:], "big") / 2**64
        if wrong >= self.rate:
            return None
        return kinds[int(which * len(kinds))]
