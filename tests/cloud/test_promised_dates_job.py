"""The promised dates job on PostgreSQL: a short order's promised date recorded and
told once per change (``order.promised_date_changed``)."""

from __future__ import annotations

from datetime import date, timedelta

from feedkit import GTIN, T0, add_item, announce, announced, connect, fetch
from orderkit import FLOOR

from cloud.db import orders as orders_db
from cloud.db.migrate import apply_migrations
from cloud.db.pool import open_pool
from cloud.operations.promised_dates import PromisedDateJob


async def told(conn, order_id: str) -> list[dict]:
    rows = await fetch(
        conn,
        "SELECT payload->'data' FROM webhook_events WHERE subject_id = %s"
        " AND type = 'order.promised_date_changed' ORDER BY id",
        order_id,
    )
    return [r[0] for r in rows]


async def test_a_backordered_order_is_told_its_promised_date_once_a_notice_announces_it(
    database_url, site
) -> None:
    await apply_migrations(database_url)
    now = T0
    async with (
        await connect(database_url) as conn,
        open_pool(database_url, max_size=2, timeout=5.0) as pool,
    ):
        await add_item(conn, GTIN)
        created = await orders_db.create_order(
            conn,
            site=site,
            floor=FLOOR,
            new=orders_db.NewOrder("acme", (orders_db.NewLine(GTIN, 6),)),
            now=now,
        )
        oid = created.detail.order.id
        assert created.detail.order.status == "backordered"
        job = PromisedDateJob(
            pool, site=site, clock=lambda: now, short_receipt_grace=timedelta(minutes=30)
        )
        # nothing announced: no date to promise, nothing told
        assert await job.check_once() == 0
        assert await told(conn, oid) == []

        await announce(conn, site, "ASN-PD-1", announced(1, 6), expected_at=T0 + timedelta(days=3))
        assert await job.check_once() == 1
        assert await told(conn, oid) == [
            {
                "subject": "order",
                "order_id": oid,
                "customer": "acme",
                "site": site,
                "status": "backordered",
                "timeline_event": "promised_date_changed",
                "time": now.isoformat(),
                "promised_date": "2025-03-06",
                "was": None,
            }
        ]
        order = await orders_db.get_order(conn, oid)
        assert order is not None and order.order.promised_date == date(2025, 3, 6)
        assert order.timeline[-1].event == "promised_date_changed"

        # the same again: nothing moved, nothing told
        assert await job.check_once() == 0
        assert len(await told(conn, oid)) == 1

        # an earlier notice for the rest moves the date forward
        await announce(conn, site, "ASN-PD-2", announced(2, 6), expected_at=T0 + timedelta(days=1))
        assert await job.check_once() == 1
        moved = (await told(conn, oid))[-1]
        assert (moved["promised_date"], moved["was"]) == ("2025-03-04", "2025-03-06")
