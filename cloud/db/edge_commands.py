"""Commands to edges in the database: stored when sent, answered once by the edge's result."""

from __future__ import annotations

from psycopg import AsyncConnection
from psycopg.rows import TupleRow

from cloud.warehouse.fleet_commands import CommandRecord
from protocols.commands import CommandName, CommandResult, ReaderCommand

Conn = AsyncConnection[TupleRow]

_COLUMNS = (
    "id, edge_id, reader_id, command, antenna, power_dbm, requested_by, sent_at, expires_at,"
    " status, detail, answered_at"
)


def _record(row: tuple[object, ...]) -> CommandRecord:
    (id_, edge, reader, command, antenna, power, by, sent, expires, status, detail, at) = row
    return CommandRecord(
        id=str(id_),
        edge_id=str(edge),
        reader_id=str(reader),
        command=CommandName(str(command)),
        antenna=antenna if isinstance(antenna, int) else None,
        power_dbm=float(power) if isinstance(power, int | float) else None,
        requested_by=str(by),
        sent_at=sent,  # type: ignore[arg-type]
        expires_at=expires,  # type: ignore[arg-type]
        status=str(status),
        detail=detail if isinstance(detail, str) else None,
        answered_at=at,  # type: ignore[arg-type]
    )


async def insert(conn: Conn, site: str, command: ReaderCommand, requested_by: str) -> None:
    await conn.execute(
        "INSERT INTO edge_commands (id, site, edge_id, reader_id, command, antenna, power_dbm,"
        " requested_by, sent_at, expires_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            command.id,
            site,
            command.edge_id,
            command.reader_id,
            command.command.value,
            command.antenna,
            command.power_dbm,
            requested_by,
            command.sent_at,
            command.expires_at,
        ),
    )


async def delete(conn: Conn, command_id: str) -> None:
    await conn.execute("DELETE FROM edge_commands WHERE id = %s AND status = 'sent'", (command_id,))


async def answer(conn: Conn, site: str, result: CommandResult) -> CommandRecord | None:
    """Record the edge's answer (the first one counts); the command as it now stands, or
    None when ``site`` has no such command of that edge and reader."""
    await conn.execute(
        "UPDATE edge_commands SET status = %s, detail = %s, answered_at = %s"
        " WHERE id = %s AND site = %s AND edge_id = %s AND reader_id = %s AND status = 'sent'",
        (
            result.status.value,
            result.detail,
            result.at,
            result.id,
            site,
            result.edge_id,
            result.reader_id,
        ),
    )
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM edge_commands"
        " WHERE id = %s AND site = %s AND edge_id = %s AND reader_id = %s",
        (result.id, site, result.edge_id, result.reader_id),
    )
    row = await cur.fetchone()
    return _record(row) if row is not None else None


async def get(conn: Conn, site: str, edge_id: str, command_id: str) -> CommandRecord | None:
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM edge_commands WHERE id = %s AND site = %s AND edge_id = %s",
        (command_id, site, edge_id),
    )
    row = await cur.fetchone()
    return _record(row) if row is not None else None


async def recent(conn: Conn, site: str, edge_id: str | None, limit: int) -> list[CommandRecord]:
    """The newest ``limit`` commands of ``edge_id`` (every edge: None), newest first."""
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM edge_commands WHERE site = %s"
        " AND (%s::text IS NULL OR edge_id = %s) ORDER BY sent_at DESC, id DESC LIMIT %s",
        (site, edge_id, edge_id, limit),
    )
    return [_record(row) for row in await cur.fetchall()]
