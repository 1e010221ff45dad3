"""Commands to an edge's readers (admin only): send one, read one, list the recent ones.

``POST /api/edges/{edge}/commands`` checks the command against the layout, stores it,
publishes it to the edge over MQTT (:mod:`cloud.operations.edge_commands`) and answers
``202`` with the command, ``status`` ``sent``. The edge's answer (``ok`` or ``error``
with a detail) arrives later: ``GET /api/edges/{edge}/commands/{id}`` shows it, and the
live feed pushes it as a ``command`` message.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from cloud.api.auth import CallerDep
from cloud.api.state import CloudState, State
from cloud.db import edge_commands as db
from cloud.operations.edge_commands import CommandNotSent
from cloud.warehouse.fleet_commands import CommandRefused, command_document, command_for
from protocols.commands import (
    COMMAND_ID_PATTERN,
    MAX_POWER_DBM,
    MIN_POWER_DBM,
    CommandName,
)
from protocols.types import ID_PATTERN

router = APIRouter(prefix="/api", tags=["fleet"])

EdgeId = Annotated[str, Path(pattern=ID_PATTERN, description="the edge's id")]
CommandId = Annotated[str, Path(pattern=COMMAND_ID_PATTERN, description="the command's id")]


class CommandIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reader: str = Field(pattern=ID_PATTERN, description="a reader the edge serves")
    command: CommandName
    antenna: int | None = Field(default=None, ge=1, le=65535, description="set_power only")
    power_dbm: float | None = Field(
        default=None,
        ge=MIN_POWER_DBM,
        le=MAX_POWER_DBM,
        allow_inf_nan=False,
        description="set_power only; the reader picks the nearest entry of its power table",
    )


class CommandOut(BaseModel):
    id: str
    edge_id: str
    reader_id: str
    command: CommandName
    antenna: int | None
    power_dbm: float | None
    requested_by: str
    sent_at: datetime
    expires_at: datetime = Field(description="the edge refuses the command after this")
    status: str = Field(
        description="sent; ok or error (the edge's answer); unanswered (no answer in time)"
    )
    detail: str | None = Field(description="the edge's answer: what was done, or why not")
    answered_at: datetime | None


class CommandList(BaseModel):
    items: list[CommandOut]


def _out(document: dict[str, Any]) -> CommandOut:
    return CommandOut.model_validate(document)


@router.post(
    "/edges/{edge}/commands",
    status_code=202,
    responses={
        404: {"description": "the edge serves no reader of the layout"},
        422: {"description": "the reader, antenna or power is not right (named)"},
        503: {"description": "the MQTT broker could not take the command"},
    },
)
async def send_command(st: State, caller: CallerDep, edge: EdgeId, body: CommandIn) -> CommandOut:
    """Send a command to one of the edge's readers: ``reconnect``, ``start`` or ``stop``
    inventory, ``set_power`` of one antenna. Answered once published (``sent``)."""
    site = _site_of(st, edge)
    relay = st.commands.get(site) if st.commands is not None else None
    clock = st.settings.now_clock()
    try:
        command = command_for(
            st.layout(site),
            edge,
            body.reader,
            body.command,
            body.antenna,
            body.power_dbm,
            command_id=uuid.uuid4().hex,
            now=clock(),
            lifetime=timedelta(seconds=st.settings.commands_expire_s),
        )
    except CommandRefused as e:
        raise HTTPException(e.status, str(e)) from None
    if relay is None:
        raise HTTPException(503, "this node sends no commands (no MQTT connection)")
    async with st.pool.connection() as conn:
        await db.insert(conn, site, command, caller.user)
    try:
        await relay.send(command)
    except CommandNotSent as e:
        async with st.pool.connection() as conn:
            await db.delete(conn, command.id)
        raise HTTPException(503, f"command not sent: {e}", headers={"Retry-After": "5"}) from None
    async with st.pool.connection() as conn:
        record = await db.get(conn, site, edge, command.id)
    assert record is not None
    document = command_document(record, clock())
    st.hub.publish_command(document)
    return _out(document)


def _site_of(st: CloudState, edge: str) -> str:
    """The site whose layout has the edge (the default site for an edge of none: the
    command is refused naming the edge)."""
    return st.sites.site_of_edge(edge) or st.sites.first


@router.get("/edges/{edge}/commands/{command_id}", responses={404: {"description": "no such"}})
async def get_command(st: State, edge: EdgeId, command_id: CommandId) -> CommandOut:
    """One command and the edge's answer."""
    async with st.pool.connection() as conn:
        record = await db.get(conn, _site_of(st, edge), edge, command_id)
    if record is None:
        raise HTTPException(404, f"edge {edge!r} has no command {command_id!r}")
    return _out(command_document(record, st.settings.now_clock()()))


@router.get("/edges/{edge}/commands")
async def list_commands(
    st: State, edge: EdgeId, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> CommandList:
    """The edge's most recent commands, newest first."""
    async with st.pool.connection() as conn:
        records = await db.recent(conn, _site_of(st, edge), edge, limit)
    now = st.settings.now_clock()()
    return CommandList(items=[_out(command_document(r, now)) for r in records])
