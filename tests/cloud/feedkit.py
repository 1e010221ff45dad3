"""Helpers for the goods and feed tests: EPCs of pallets and cases, items and notices
stored, events inserted as ingest stores them, a feed driven step by step on a clock
the test sets."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg

from cloud.db import goods
from cloud.db.migrate import apply_migrations
from cloud.db.pool import Pool, open_pool
from cloud.operations.feed import Feed, FeedContext, Registry
from cloud.operations.warehouse import warehouse_registry
from cloud.settings import CloudSettings
from protocols.clock import ScaledClock
from protocols.epc import Sgtin96, Sscc96
from protocols.layout import load_layout

T0 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
GTIN = "00614141123452"
GTIN2 = "10614141123459"


def pallet_epc(n: int) -> tuple[str, str]:
    """(SSCC-96 hex, SSCC) of test pallet ``n``."""
    p = Sscc96(company_prefix="0614141", serial_reference=f"1{n:09d}", filter=0)
    return p.to_hex(), p.sscc


def case_epc(n: int, gtin: str = GTIN) -> str:
    return Sgtin96.from_gtin(gtin, company_prefix_length=7, serial=n, filter=0).to_hex()


@dataclass
class ManualClock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


def settings_for(database_url: str, site: str, **kw: Any) -> CloudSettings:
    return CloudSettings(
        database_url=database_url,
        mqtt_url="mqtt://127.0.0.1:1883",
        site=site,
        ingest_retry_max_s=0.5,
        **kw,
    )


def app_settings(database_url: str, site: str, at: datetime = T0) -> CloudSettings:
    """Settings of an API on a simulated clock that reads ``at`` now."""
    return settings_for(database_url, site, clock=ScaledClock(at, time.time(), 1.0).spec())


@dataclass
class FeedRig:
    settings: CloudSettings
    pool: Pool
    feed: Feed
    clock: ManualClock

    @property
    def site(self) -> str:
        return self.settings.site

    async def drain(self) -> None:
        """Apply every event stored so far."""
        for _ in range(100):
            if not await self.feed.run_once():
                return
        raise AssertionError("the feed does not catch up")


@asynccontextmanager
async def feed_rig(
    database_url: str, site: str, registry: Registry | None = None, **kw: Any
) -> AsyncIterator[FeedRig]:
    await apply_migrations(database_url)
    settings = settings_for(database_url, site, **kw)
    clock = ManualClock()
    async with open_pool(database_url, max_size=2, timeout=5.0) as pool:
        ctx = FeedContext(settings, load_layout(None), clock)
        feed = Feed(pool, registry or warehouse_registry(), ctx)
        yield FeedRig(settings, pool, feed, clock)


async def connect(url: str) -> psycopg.AsyncConnection[Any]:
    return await psycopg.AsyncConnection.connect(url, autocommit=True)


async def add_item(conn: psycopg.AsyncConnection[Any], sku: str = GTIN, weight: float = 6.0):
    await goods.upsert_item(conn, goods.Item(sku, f"item {sku}", weight, 365), now=T0)


async def announce(
    conn: psycopg.AsyncConnection[Any],
    site: str,
    asn_id: str,
    *pallets: goods.AnnouncedPallet,
    expected_at: datetime = T0 + timedelta(hours=1),
) -> None:
    async with conn.transaction():
        await goods.insert_asn(
            conn,
            goods.Notice(asn_id, site, "Acme", expected_at, "door-1", tuple(pallets)),
            now=T0,
        )


def announced(
    n: int, cases: tuple[str, ...] | int, *, sku: str = GTIN, lot: str = "L1"
) -> goods.AnnouncedPallet:
    epc, sscc = pallet_epc(n)
    listed = cases if isinstance(cases, tuple) else ()
    count = len(cases) if isinstance(cases, tuple) else cases
    return goods.AnnouncedPallet(sscc, epc, sku, lot, date(2025, 9, 30), count, listed)


_SEQ = iter(range(1, 1_000_000))


async def insert_passage(
    conn: psycopg.AsyncConnection[Any],
    epc: str,
    cases: list[str] | tuple[str, ...] = (),
    *,
    door: str = "door-1",
    direction: str = "inbound",
    at: datetime = T0,
    edge: str = "edge-1",
    site: str | None = None,
) -> int:
    """A door passage as ingest stores it, from ``edge`` and of ``site`` (None: as if
    stored before events had a site)."""
    side = {
        "reads": 4,
        "peak_rssi_dbm": -45.0,
        "first_seen": at.isoformat(),
        "last_seen": at.isoformat(),
    }
    evidence = json.dumps({"inside": side, "outside": side})
    cur = await conn.execute(
        "INSERT INTO passages (time, door, direction, epc, cases, confidence, evidence,"
        " edge_id, spool, seq, idx, stored_at, site) VALUES (%s, %s, %s, %s, %s, 0.9,"
        " %s::jsonb, %s, 'spool', %s, 0, %s, %s) RETURNING id",
        [at, door, direction, epc, list(cases), evidence, edge, next(_SEQ), at, site],
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def insert_zone_event(
    conn: psycopg.AsyncConnection[Any],
    epc: str,
    zone: str,
    *,
    kind: str = "arrived",
    at: datetime = T0,
) -> int:
    cur = await conn.execute(
        "INSERT INTO zone_events (time, kind, epc, zone, edge_id, spool, seq, idx, stored_at)"
        " VALUES (%s, %s, %s, %s, 'edge-1', 'spool', %s, 0, %s) RETURNING id",
        [at, kind, epc, zone, next(_SEQ), at],
    )
    row = await cur.fetchone()
    assert row is not None
    placed = kind in ("arrived", "moved", "present")
    await conn.execute(  # the tag's place, as ingest keeps it
        "INSERT INTO tag_places (epc, state, zone, last_zone, changed_at, stored_at)"
        " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (epc) DO UPDATE SET state = excluded.state,"
        " zone = excluded.zone, last_zone = excluded.last_zone, changed_at = excluded.changed_at"
        " WHERE tag_places.changed_at <= excluded.changed_at",
        [epc, "present" if placed else kind, zone if placed else None, zone, at, at],
    )
    return int(row[0])


async def insert_weight(
    conn: psycopg.AsyncConnection[Any],
    epc: str | None,
    kg: float,
    *,
    scale: str = "scale-1",
    at: datetime = T0,
    cases: Sequence[str] = (),
    candidates: Sequence[str] = (),
) -> int:
    """A stable weight on ``scale``, of the pallet ``epc`` (with the ``cases`` heard
    coming onto the scale with it, and the ``candidates`` the edge heard), as ingest
    stores it."""
    cur = await conn.execute(
        "INSERT INTO weights (time, scale, weight_kg, epc, cases, candidates, edge_id, spool,"
        " seq, idx, stored_at) VALUES (%s, %s, %s, %s, %s, %s, 'edge-1', 'scale-spool', %s, 0,"
        " %s) RETURNING id",
        [at, scale, kg, epc, list(cases), list(candidates), next(_SEQ), at],
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def fetch(conn: psycopg.AsyncConnection[Any], sql: str, *params: Any) -> list[tuple]:
    cur = await conn.execute(sql.encode(), list(params) or None)
    return await cur.fetchall()
