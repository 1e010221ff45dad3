"""Alerts in the database: raising, reading, acknowledging and resolving them.

:func:`raise_alert` opens an alert, or, while one of the same ``dedupe_key`` is not
resolved, adds to it (``raised_count``, ``last_raised_at``). :func:`transition` takes
an alert one step of its lifecycle (:mod:`cloud.warehouse.alerts`), safe against a
concurrent step (``UPDATE ... WHERE status = <the status it decided from>``, decided
again when that status changed meanwhile); :func:`resolve_by_key` is how a rule that
watches a condition resolves its own alert. Each of them sends
``{"id": <alert id>, "event": <AlertEvent>}`` on the PostgreSQL channel
:data:`CHANNEL`, which PostgreSQL delivers when the transaction commits: a
rolled-back decision tells nobody, and every API node hears of every change.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import TupleRow

from cloud.warehouse.alerts import (
    DEFAULT_SEVERITY,
    EVENT_OF,
    Alert,
    AlertAction,
    AlertEvent,
    AlertKind,
    AlertStatus,
    Severity,
    next_status,
)

Conn = AsyncConnection[TupleRow]
CHANNEL = "rfidwms_alerts"
Position = tuple[datetime, int]
"""(raised_at, id) of the last alert of a page."""

_COLUMNS = (
    "id, site, kind, severity, subject, message, status, raised_at, last_raised_at,"
    " raised_count, detail, cause_kind, cause_id, acknowledged_at, acknowledged_by,"
    " acknowledgement, resolved_at, resolved_by, resolution"
)


class AlertNotFound(LookupError):
    def __init__(self, alert_id: int) -> None:
        self.alert_id = alert_id
        super().__init__(f"no alert {alert_id}")


@dataclass(frozen=True, slots=True)
class Raised:
    id: int
    new: bool
    """False: an unresolved alert of the same key was raised again."""


def _alert(row: tuple[Any, ...]) -> Alert:
    return Alert(
        id=row[0],
        site=row[1],
        kind=row[2],
        severity=row[3],
        subject=row[4],
        message=row[5],
        status=AlertStatus(row[6]),
        raised_at=row[7],
        last_raised_at=row[8],
        raised_count=row[9],
        detail=row[10],
        cause_kind=row[11],
        cause_id=row[12],
        acknowledged_at=row[13],
        acknowledged_by=row[14],
        acknowledgement=row[15],
        resolved_at=row[16],
        resolved_by=row[17],
        resolution=row[18],
    )


def notification(alert_id: int, event: AlertEvent) -> str:
    """The payload sent on :data:`CHANNEL`."""
    return json.dumps({"id": alert_id, "event": event.value})


async def _notify(conn: Conn, alert_id: int, event: AlertEvent) -> None:
    await conn.execute("SELECT pg_notify(%s, %s)", [CHANNEL, notification(alert_id, event)])


async def raise_alert(
    conn: Conn,
    *,
    site: str,
    kind: AlertKind,
    subject: str,
    message: str,
    at: datetime,
    dedupe_key: str | None = None,
    detail: dict[str, Any] | None = None,
    cause: tuple[str, str] | None = None,
    severity: Severity | None = None,
) -> Raised:
    """Open (or raise again) an alert; ``dedupe_key`` defaults to ``kind:subject``."""
    key = dedupe_key if dedupe_key is not None else f"{kind.value}:{subject}"
    cur = await conn.execute(
        "INSERT INTO alerts (site, kind, severity, subject, message, detail, cause_kind,"
        " cause_id, dedupe_key, raised_at, last_raised_at)"
        " VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s, %s, %s, %s, %s)"
        " ON CONFLICT (site, dedupe_key) WHERE status <> 'resolved' DO UPDATE SET"
        " raised_count = alerts.raised_count + 1,"
        " last_raised_at = GREATEST(alerts.last_raised_at, EXCLUDED.last_raised_at)"
        " RETURNING id, (xmax = 0)",
        [
            site,
            kind.value,
            (severity or DEFAULT_SEVERITY[kind]).value,
            subject,
            message,
            json.dumps(detail or {}),
            cause[0] if cause else None,
            cause[1] if cause else None,
            key,
            at,
            at,
        ],
    )
    row = await cur.fetchone()
    assert row is not None
    raised = Raised(int(row[0]), bool(row[1]))
    await _notify(conn, raised.id, AlertEvent.RAISED if raised.new else AlertEvent.RAISED_AGAIN)
    return raised


async def get_alert(conn: Conn, alert_id: int) -> Alert | None:
    cur = await conn.execute(f"SELECT {_COLUMNS} FROM alerts WHERE id = %s", [alert_id])
    row = await cur.fetchone()
    return _alert(row) if row is not None else None


async def alerts_by_id(conn: Conn, ids: Iterable[int]) -> dict[int, Alert]:
    cur = await conn.execute(f"SELECT {_COLUMNS} FROM alerts WHERE id = ANY(%s)", [list(ids)])
    return {a.id: a for a in map(_alert, await cur.fetchall())}


async def list_alerts(
    conn: Conn,
    *,
    statuses: Iterable[AlertStatus] | None = None,
    kind: AlertKind | None = None,
    site: str | None = None,
    since: datetime | None = None,
    before: Position | None = None,
    limit: int,
) -> list[Alert]:
    """Alerts newest first by when they were first raised (``raised_at``, then id):
    those of ``statuses``, ``kind`` and ``site``, raised at or after ``since``; after
    the page ending at ``before``."""
    parts: list[str] = []
    params: list[object] = []
    if statuses is not None:
        parts.append("status = ANY(%s)")
        params.append([s.value for s in statuses])
    if kind is not None:
        parts.append("kind = %s")
        params.append(kind.value)
    if site is not None:
        parts.append("site = %s")
        params.append(site)
    if since is not None:
        parts.append("raised_at >= %s")
        params.append(since)
    if before is not None:
        parts.append("(raised_at, id) < (%s, %s)")
        params.extend(before)
    where = (" WHERE " + " AND ".join(parts)) if parts else ""
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM alerts{where} ORDER BY raised_at DESC, id DESC LIMIT %s",
        [*params, limit],
    )
    return [_alert(row) for row in await cur.fetchall()]


async def unresolved_alerts(conn: Conn, limit: int) -> list[Alert]:
    """The ``limit`` newest unresolved alerts (open or acknowledged), newest first."""
    return await list_alerts(
        conn, statuses=(AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED), limit=limit
    )


async def unresolved_keys(
    conn: Conn, site: str, kinds: Iterable[AlertKind]
) -> set[tuple[AlertKind, str]]:
    """(kind, subject) of the unresolved alerts of ``kinds`` at ``site``."""
    cur = await conn.execute(
        "SELECT kind, subject FROM alerts WHERE site = %s AND status <> 'resolved'"
        " AND kind = ANY(%s)",
        [site, [k.value for k in kinds]],
    )
    return {(AlertKind(k), str(s)) for k, s in await cur.fetchall()}


async def transition(
    conn: Conn,
    alert_id: int,
    action: AlertAction,
    *,
    by: str,
    at: datetime,
    note: str | None = None,
) -> Alert:
    """Take ``action`` on the alert as ``by`` at ``at``, with ``note``; the alert after
    it. :class:`AlertNotFound`, or :class:`~cloud.warehouse.alerts.TransitionRefused`
    naming the status when the alert's status does not allow the action. Run it in
    its own transaction (the notification goes at commit)."""
    while True:
        alert = await get_alert(conn, alert_id)
        if alert is None:
            raise AlertNotFound(alert_id)
        after = next_status(alert_id, alert.status, action)
        if action is AlertAction.ACKNOWLEDGE:
            sets = "acknowledged_at = %s, acknowledged_by = %s, acknowledgement = %s"
        else:
            sets = "resolved_at = %s, resolved_by = %s, resolution = %s"
        cur = await conn.execute(
            f"UPDATE alerts SET status = %s, {sets} WHERE id = %s AND status = %s"
            f" RETURNING {_COLUMNS}",
            [after.value, at, by, note, alert_id, alert.status.value],
        )
        row = await cur.fetchone()
        if row is None:
            continue  # another step came first: decide again from what it left
        await _notify(conn, alert_id, EVENT_OF[action])
        return _alert(row)


async def resolve_by_key(
    conn: Conn, *, site: str, dedupe_key: str, by: str, at: datetime, note: str | None = None
) -> int | None:
    """Resolve the unresolved alert of ``dedupe_key`` at ``site``, if there is one; its
    id."""
    cur = await conn.execute(
        "UPDATE alerts SET status = 'resolved', resolved_at = %s, resolved_by = %s,"
        " resolution = %s WHERE site = %s AND dedupe_key = %s AND status <> 'resolved'"
        " RETURNING id",
        [at, by, note, site, dedupe_key],
    )
    row = await cur.fetchone()
    if row is None:
        return None
    await _notify(conn, int(row[0]), AlertEvent.RESOLVED)
    return int(row[0])
