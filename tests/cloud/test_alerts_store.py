"""Raising alerts on the real database: one unresolved alert per key, a notification
at commit and none for a rolled-back decision."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import psycopg
import pytest

from cloud.db.alerts import CHANNEL, raise_alert
from cloud.db.migrate import apply_migrations
from cloud.warehouse.alerts import AlertKind

T = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)


async def _raise(conn: psycopg.AsyncConnection, subject: str, at: datetime = T):  # type: ignore[type-arg]
    return await raise_alert(
        conn,
        site="site-1",
        kind=AlertKind.MIS_SHIPMENT,
        subject=subject,
        message=f"pallet {subject} left through the wrong door",
        at=at,
        detail={"door": "door-2"},
        cause=("passage", "17"),
    )


@pytest.mark.asyncio
async def test_an_alert_raised_again_while_unresolved_adds_to_the_open_one(database_url):
    await apply_migrations(database_url)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        first = await _raise(conn, "P1")
        again = await _raise(conn, "P1", T.replace(minute=5))
        other = await _raise(conn, "P2")
        assert first.new and not again.new and other.new
        assert again.id == first.id and other.id != first.id
        row = await (
            await conn.execute(
                "SELECT raised_count, raised_at, last_raised_at, severity, status, cause_kind,"
                " cause_id, detail FROM alerts WHERE id = %s",
                [first.id],
            )
        ).fetchone()
        assert row == (2, T, T.replace(minute=5), "critical", "open", "passage", "17",
                       {"door": "door-2"})  # fmt: skip
        await conn.execute(
            "UPDATE alerts SET status = 'resolved', resolved_at = %s WHERE id = %s",
            [T, first.id],
        )
        reopened = await _raise(conn, "P1")
        assert reopened.new and reopened.id not in (first.id, other.id)


@pytest.mark.asyncio
async def test_the_alert_is_notified_at_commit_and_not_at_all_when_rolled_back(database_url):
    await apply_migrations(database_url)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as listener:
        await listener.execute(f"LISTEN {CHANNEL}")
        async with await psycopg.AsyncConnection.connect(database_url) as conn:
            await _raise(conn, "ROLLED-BACK")
            await conn.rollback()
            kept = await _raise(conn, "KEPT")
            await conn.commit()
        heard = []
        gen = listener.notifies(timeout=5.0, stop_after=1)
        async for n in gen:
            heard.append(n.payload)
        assert [json.loads(p) for p in heard] == [{"id": kept.id, "event": "raised"}]
        await asyncio.sleep(0)
        count = await (await listener.execute("SELECT count(*) FROM alerts")).fetchone()
        assert count == (1,)
