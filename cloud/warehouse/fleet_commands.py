"""Commands to an edge's readers from the API: what may be asked, and how a command
stands. Pure.

:func:`command_for` checks a request against the layout (the edge exists, serves the
reader, the reader has the antenna; set_power has an antenna and a power, the others
none) and makes the :class:`~protocols.commands.ReaderCommand` to publish, or raises
:class:`CommandRefused` naming what was wrong. :func:`command_document` is how the API
and the live feed show a command: ``status`` ``sent`` until the edge answers ``ok`` or
``error``, and ``unanswered`` when no answer came by ``expires_at`` plus
:data:`ANSWER_GRACE` (the edge refuses a command it gets after ``expires_at``, and
takes at most its command timeout to do one it got in time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from protocols.commands import CommandName, ReaderCommand
from protocols.layout import Layout

ANSWER_GRACE = timedelta(seconds=30)


class CommandRefused(ValueError):
    """A command that cannot be sent; ``status`` is the HTTP status (404 or 422)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status


@dataclass(frozen=True, slots=True)
class CommandRecord:
    id: str
    edge_id: str
    reader_id: str
    command: CommandName
    antenna: int | None
    power_dbm: float | None
    requested_by: str
    sent_at: datetime
    expires_at: datetime
    status: str
    """``sent``, ``ok`` or ``error``."""
    detail: str | None
    answered_at: datetime | None


def command_for(
    layout: Layout,
    edge_id: str,
    reader_id: str,
    name: CommandName,
    antenna: int | None,
    power_dbm: float | None,
    *,
    command_id: str,
    now: datetime,
    lifetime: timedelta,
) -> ReaderCommand:
    readers = layout.readers_of_edge(edge_id)
    if not readers:
        raise CommandRefused(404, f"edge {edge_id!r} serves no reader of the layout")
    reader = next((r for r in readers if r.id == reader_id), None)
    if reader is None:
        known = ", ".join(r.id for r in readers)
        raise CommandRefused(
            422, f"reader: {reader_id!r} is not served by edge {edge_id!r} (its readers: {known})"
        )
    if name is CommandName.SET_POWER:
        if antenna is None or power_dbm is None:
            raise CommandRefused(422, "set_power needs antenna and power_dbm")
        antennas = [a.id for a in reader.antennas]
        if antenna not in antennas:
            raise CommandRefused(
                422,
                f"antenna: reader {reader_id!r} has no antenna {antenna} (antennas: {antennas})",
            )
    elif antenna is not None or power_dbm is not None:
        raise CommandRefused(422, f"{name.value} takes no antenna or power_dbm")
    return ReaderCommand(
        id=command_id,
        edge_id=edge_id,
        reader_id=reader_id,
        command=name,
        antenna=antenna,
        power_dbm=power_dbm,
        sent_at=now,
        expires_at=now + lifetime,
    )


def command_status(record: CommandRecord, now: datetime) -> str:
    if record.status == "sent" and now > record.expires_at + ANSWER_GRACE:
        return "unanswered"
    return record.status


def command_document(record: CommandRecord, now: datetime) -> dict[str, Any]:
    """The command as ``GET /api/edges/{edge}/commands/{id}`` shows it."""
    return {
        "id": record.id,
        "edge_id": record.edge_id,
        "reader_id": record.reader_id,
        "command": record.command.value,
        "antenna": record.antenna,
        "power_dbm": record.power_dbm,
        "requested_by": record.requested_by,
        "sent_at": record.sent_at,
        "expires_at": record.expires_at,
        "status": command_status(record, now),
        "detail": record.detail,
        "answered_at": record.answered_at,
    }
