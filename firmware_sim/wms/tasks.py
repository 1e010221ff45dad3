"""The WMS's tasks as the workers read them, and which of them to take. Pure.

The workers poll the open tasks (``GET /api/tasks?status=open``) and take each one
they do not have in hand yet (:func:`tasks_to_take`). A task they reported done
leaves the open list; one that shows up open again in a list asked for after their
report was answered was opened again by the WMS (a wrong pallet reached packing and
the right one is still to come): it is taken again, and done right this time. A task
the world could not carry out (its pallet is not where the task says) is not taken
again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Task", "TaskBook", "parse_task", "tasks_to_take"]

TaskKind = Literal["putaway", "pick", "ship", "weigh"]
_KINDS: tuple[TaskKind, ...] = ("putaway", "pick", "ship", "weigh")


@dataclass(frozen=True, slots=True)
class Task:
    id: str
    kind: TaskKind
    to_location: str
    """Put-away: the zone; pick and weigh: packing; ship: the door."""
    pallet_epc: str | None = None
    """The pallet (put-away, pick and weigh), by its SSCC-96 EPC."""
    order: str | None = None
    pallets: tuple[str, ...] = ()
    """Ship: the order's pallets (EPCs known)."""


def parse_task(item: dict[str, Any]) -> Task | None:
    """A task of ``GET /api/tasks``; None for a kind the workers do not know."""
    kind = item.get("kind")
    if kind not in _KINDS:
        return None
    return Task(
        id=str(item["id"]),
        kind=kind,
        to_location=str(item.get("to_location") or ""),
        pallet_epc=item.get("pallet_epc"),
        order=item.get("order"),
        pallets=tuple(p["epc"] for p in item.get("pallets") or () if p.get("epc")),
    )


@dataclass
class TaskBook:
    """What the workers did with the tasks they saw."""

    in_hand: set[str] = field(default_factory=set)
    """Handed to the world, its done report not answered yet."""
    refused: set[str] = field(default_factory=set)
    """The world could not carry them out."""
    reported: dict[str, float] = field(default_factory=dict)
    """Reported done: task -> when the report was answered (monotonic seconds)."""


def tasks_to_take(
    open_tasks: Sequence[Task], book: TaskBook, polled_at: float
) -> list[tuple[Task, bool]]:
    """``(task, again)`` for each open task to take now, oldest first (the list's
    order); ``again``: reopened after the workers reported it done. ``polled_at``: when
    the list was asked for (monotonic, as ``book.reported``)."""
    taken: list[tuple[Task, bool]] = []
    for task in open_tasks:
        if task.id in book.in_hand or task.id in book.refused:
            continue
        reported = book.reported.get(task.id)
        if reported is not None and polled_at < reported:
            continue  # asked for before the report was answered: still listed, not reopened
        taken.append((task, reported is not None))
    return taken
