"""Alerts: list, read, acknowledge, resolve.

Lists are newest first by when the alert was first raised (``raised_at``, then id).
Who acknowledges or resolves is the :data:`Actor` parameter of those routes: the user
behind the bearer token.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from cloud.api.auth import CallerDep
from cloud.api.paging import DEFAULT_LIMIT, Cursor, Limit, Page, cursor_or_422, encode_cursor
from cloud.api.state import State
from cloud.db import alerts as db
from cloud.warehouse.alerts import (
    UNRESOLVED,
    Alert,
    AlertAction,
    AlertKind,
    AlertStatus,
    Severity,
    TransitionRefused,
    alert_document,
)
from protocols.types import ID_PATTERN

router = APIRouter(prefix="/api", tags=["alerts"])

MAX_NOTE = 2000


class StatusFilter(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    UNRESOLVED = "unresolved"
    """open or acknowledged"""


class CauseOut(BaseModel):
    kind: str = Field(description="passage, zone_event, weight, scan, asn, order, count or user")
    id: str


class AlertOut(BaseModel):
    id: int
    site: str
    kind: AlertKind
    severity: Severity
    subject: str = Field(description="what it is about: a pallet, a SKU, a lot, a reader ...")
    message: str
    detail: dict[str, Any] = Field(description="the facts behind it, by kind")
    cause: CauseOut | None = Field(description="the event or record that raised it")
    status: AlertStatus
    raised_at: datetime = Field(description="when it was first raised")
    last_raised_at: datetime = Field(description="when it was last raised again")
    raised_count: int = Field(description="times raised while unresolved")
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    acknowledgement: str | None = Field(description="the acknowledgement's note")
    resolved_at: datetime | None
    resolved_by: str | None = Field(description="who resolved it; `system` for a rule")
    resolution: str | None = Field(description="the resolution's note")
    time_to_acknowledge_s: float | None = Field(
        description="response time: acknowledged_at - raised_at, in seconds"
    )
    time_to_resolve_s: float | None = Field(description="resolved_at - raised_at, in seconds")


class StepIn(BaseModel):
    """The optional body of an acknowledgement or a resolution."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=MAX_NOTE, description="why, what was done")


def requested_actor(caller: CallerDep) -> str:
    """Who takes a step: the user behind the bearer token."""
    return caller.user


Actor = Annotated[str, Depends(requested_actor)]
"""Who takes a step: the caller's user name."""


def alert_out(alert: Alert) -> AlertOut:
    return AlertOut.model_validate(alert_document(alert))


_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such alert"}}
_STEP: dict[int | str, dict[str, Any]] = {
    **_NOT_FOUND,
    409: {"description": "the alert's status does not allow the step (the status is named)"},
    422: {"description": "a bad body"},
}


@router.get(
    "/alerts",
    response_model=Page[AlertOut],
    responses={422: {"description": "a bad filter (named), or a time without a time zone"}},
)
async def list_alerts(
    st: State,
    status: Annotated[
        StatusFilter | None, Query(description="`unresolved` is open and acknowledged")
    ] = None,
    kind: AlertKind | None = None,
    site: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    since: Annotated[
        datetime | None,
        Query(description="raised at or after this time (ISO-8601 with a time zone)"),
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[AlertOut]:
    """Alerts, newest first by when they were first raised, with their lifecycle and
    response times."""
    if since is not None and since.tzinfo is None:
        raise HTTPException(422, detail=f"since {since.isoformat()!r} has no time zone (add Z)")
    before: db.Position | None = None
    if cursor is not None:
        iso, alert_id = cursor_or_422(cursor, str, int)
        try:
            before = (datetime.fromisoformat(str(iso)), int(alert_id))
        except ValueError:
            raise HTTPException(
                422, detail=f"cursor {cursor!r} is not one this list gave out"
            ) from None
    statuses = (
        None
        if status is None
        else UNRESOLVED
        if status is StatusFilter.UNRESOLVED
        else {AlertStatus(status.value)}
    )
    async with st.pool.connection() as conn:
        found = await db.list_alerts(
            conn,
            statuses=statuses,
            kind=kind,
            site=site,
            since=since,
            before=before,
            limit=limit + 1,
        )
    more = len(found) > limit
    last = found[limit - 1] if more else None
    return Page(
        items=[alert_out(a) for a in found[:limit]],
        next=encode_cursor(last.raised_at.isoformat(), last.id) if last is not None else None,
    )


AlertId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get("/alerts/{alert_id}", response_model=AlertOut, responses=_NOT_FOUND)
async def get_alert(st: State, alert_id: AlertId) -> AlertOut:
    """One alert with its lifecycle and response times."""
    async with st.pool.connection() as conn:
        alert = await db.get_alert(conn, alert_id)
    if alert is None:
        raise HTTPException(404, detail=f"no alert {alert_id}")
    return alert_out(alert)


async def _step(
    st: State, alert_id: int, action: AlertAction, actor: str, body: StepIn | None
) -> AlertOut:
    at = st.settings.now_clock()()
    try:
        async with st.pool.connection() as conn, conn.transaction():
            alert = await db.transition(
                conn, alert_id, action, by=actor, at=at, note=body.note if body else None
            )
    except db.AlertNotFound:
        raise HTTPException(404, detail=f"no alert {alert_id}") from None
    except TransitionRefused as e:
        raise HTTPException(409, detail=str(e)) from None
    return alert_out(alert)


@router.post("/alerts/{alert_id}/ack", response_model=AlertOut, responses=_STEP)
async def acknowledge(
    st: State, alert_id: AlertId, actor: Actor, body: StepIn | None = None
) -> AlertOut:
    """Acknowledge an open alert: someone is on it. Records who, when and the note;
    ``time_to_acknowledge_s`` is the response time. 409 unless the alert is open."""
    return await _step(st, alert_id, AlertAction.ACKNOWLEDGE, actor, body)


@router.post("/alerts/{alert_id}/resolve", response_model=AlertOut, responses=_STEP)
async def resolve(
    st: State, alert_id: AlertId, actor: Actor, body: StepIn | None = None
) -> AlertOut:
    """Resolve an open or acknowledged alert. Records who, when and the note. 409 when
    it is resolved already. (A rule that watches a condition, such as a reader offline,
    raises it again if the condition still holds.)"""
    return await _step(st, alert_id, AlertAction.RESOLVE, actor, body)
