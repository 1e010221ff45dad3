"""Which commands from the cloud the edge takes on. Pure.

:func:`refusal` says why a :class:`~protocols.commands.ReaderCommand` is not done
(meant for another edge, a reader this edge does not serve, an antenna the reader does
not have, expired), or None when the edge should do it. The agent does the rest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from protocols.commands import (
    MAX_DETAIL,
    CommandName,
    CommandResult,
    CommandStatus,
    ReaderCommand,
)


def refusal(
    command: ReaderCommand,
    edge_id: str,
    antennas: Mapping[str, Sequence[int]],
    now: datetime,
) -> str | None:
    """Why ``command`` is refused, or None. ``antennas``: this edge's readers' antennas."""
    if command.edge_id != edge_id:
        return f"the command is for edge {command.edge_id!r}, this is {edge_id!r}"
    if command.reader_id not in antennas:
        return f"reader {command.reader_id!r} is not served by edge {edge_id!r}"
    if now >= command.expires_at:
        return f"expired at {command.expires_at.isoformat()} before it reached the edge"
    if (
        command.command is CommandName.SET_POWER
        and command.antenna not in antennas[command.reader_id]
    ):
        return (
            f"reader {command.reader_id!r} has no antenna {command.antenna} "
            f"(antennas: {list(antennas[command.reader_id])})"
        )
    return None


def result(command: ReaderCommand, ok: bool, detail: str, at: datetime) -> CommandResult:
    """The result of ``command``; a long ``detail`` is cut to fit the schema."""
    text = detail if len(detail) <= MAX_DETAIL else detail[: MAX_DETAIL - 3] + "..."
    return CommandResult(
        id=command.id,
        edge_id=command.edge_id,
        reader_id=command.reader_id,
        command=command.command,
        status=CommandStatus.OK if ok else CommandStatus.ERROR,
        detail=text,
        at=at,
    )
