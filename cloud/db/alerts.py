"""Raising an alert, inside the caller's transaction.

:func:`raise_alert` opens an alert, or, while one of the same ``dedupe_key`` is not
resolved, adds to it (``raised_count``, ``last_raised_at``). Either way the alert's id
is sent on the PostgreSQL channel :data:`CHANNEL` when the transaction commits, so a
rolled-back decision raises nothing and every API node hears of every alert.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import TupleRow

from cloud.warehouse.alerts import DEFAULT_SEVERITY, AlertKind, Severity

Conn = AsyncConnection[TupleRow]
CHANNEL = "rfidwms_alerts"


@dataclass(frozen=True, slots=True)
class Raised:
    id: int
    new: bool
    """False: an unresolved alert of the same key was raised again."""


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
    await conn.execute("SELECT pg_notify(%s, %s)", [CHANNEL, str(row[0])])
    return Raised(int(row[0]), bool(row[1]))
