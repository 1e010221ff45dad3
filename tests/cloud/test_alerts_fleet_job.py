"""The fleet watch job on the real database: reader_offline and edge_offline raised
from the readers and edges tables on the injected clock, resolved as ``system`` when
the device is back, written by one node at a time; and in the running cloud, from the
edges' health over MQTT."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
from authkit import bearer, issue_token
from cloudkit import eventually, health, publish, rows, running_app, settings_for

from cloud.db.migrate import apply_migrations
from cloud.db.pool import open_pool
from cloud.operations.fleet_alerts import FleetAlertJob
from cloud.warehouse.fleet_alerts import FleetRules
from protocols.mqtt import TopicKind, topic

T = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
RULES = FleetRules(timedelta(seconds=30), timedelta(seconds=120))


class Clock:
    def __init__(self) -> None:
        self.now = T

    def __call__(self) -> datetime:
        return self.now

    def at(self, seconds: float) -> None:
        self.now = T + timedelta(seconds=seconds)


async def _reader(database_url: str, reader_id: str, state: str, seen: float) -> None:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await conn.execute(
            "INSERT INTO readers (reader_id, edge_id, state, last_seen) VALUES (%s, 'edge-1', %s,"
            " %s) ON CONFLICT (reader_id) DO UPDATE SET state = EXCLUDED.state,"
            " last_seen = EXCLUDED.last_seen",
            [reader_id, state, T + timedelta(seconds=seen)],
        )


async def _alerts(database_url: str) -> list[tuple[Any, ...]]:
    return await rows(
        database_url,
        "SELECT kind, subject, status, raised_count, raised_at, resolved_by, resolved_at"
        " FROM alerts ORDER BY id",
    )


async def test_a_reader_down_for_longer_than_the_setting_raises_and_its_return_resolves(
    database_url, site
):
    await apply_migrations(database_url)
    clock = Clock()
    async with open_pool(database_url, timeout=5.0) as pool:
        job = FleetAlertJob(pool, site=site, rules=RULES, clock=clock)
        await _reader(database_url, "r-1", "disconnected", 0)
        await _reader(database_url, "r-2", "inventorying", 0)
        await job.check_once()
        clock.at(30)
        await _reader(database_url, "r-2", "inventorying", 30)
        await job.check_once()
        assert await _alerts(database_url) == []
        clock.at(31)
        await job.check_once()
        clock.at(40)
        await job.check_once()  # alerted already: nothing more
        assert await _alerts(database_url) == [
            ("reader_offline", "r-1", "open", 1, T + timedelta(seconds=31), None, None)
        ]
        clock.at(50)
        await _reader(database_url, "r-1", "inventorying", 50)
        await job.check_once()
        (resolved,) = await _alerts(database_url)
        assert resolved[2] == "resolved" and resolved[5:] == ("system", T + timedelta(seconds=50))

        clock.at(300)  # nothing heard of edge-1 for 250 s
        await job.check_once()
        edge = (await _alerts(database_url))[1]
        assert edge[:4] == ("edge_offline", "edge-1", "open", 1)
    assert (job.raised, job.resolved) == (2, 1)


async def test_two_nodes_watching_at_once_raise_one_alert(database_url, site):
    await apply_migrations(database_url)
    clock = Clock()
    await _reader(database_url, "r-1", "disconnected", 0)
    async with open_pool(database_url, timeout=5.0, max_size=4) as pool:
        jobs = [FleetAlertJob(pool, site=site, rules=RULES, clock=clock) for _ in range(2)]
        await asyncio.gather(*(j.check_once() for j in jobs))
        clock.at(31)
        for _ in range(5):
            await asyncio.gather(*(j.check_once() for j in jobs))
    assert [(k, s, n) for k, s, _, n, *_ in await _alerts(database_url)] == [
        ("reader_offline", "r-1", 1)
    ]


async def test_the_running_cloud_raises_and_resolves_reader_offline_from_edge_health(
    database_url, mqtt_url, site
):
    start = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
    clock_spec = f"sim:{start.isoformat().replace('+00:00', 'Z')}@{time.time():.6f}x1"
    settings = settings_for(
        database_url, mqtt_url, site, clock=clock_spec,
        alerts_reader_offline_after_s=0.5, alerts_fleet_every_s=0.1,
    )  # fmt: skip
    now = settings.now_clock()
    health_topic = topic(site, "edge-1", TopicKind.HEALTH)
    async with (
        running_app(settings) as base,
        httpx.AsyncClient(
            base_url=base, headers=bearer(await issue_token(database_url, "operator"))
        ) as client,
    ):

        async def listed(status: str) -> list[dict[str, Any]]:
            r = await client.get("api/alerts", params={"kind": "reader_offline", "status": status})
            return list(r.json()["items"])

        async def health_until(state: str, status: str) -> list[dict[str, Any]]:
            async def probe() -> list[dict[str, Any]]:
                await publish(mqtt_url, (health_topic, health("edge-1", (
                    "reader-door-1", state, {}), at=now())))  # fmt: skip
                await asyncio.sleep(0.2)
                return await listed(status)

            return await eventually(probe, what=f"a {status} reader_offline alert")

        (opened,) = await health_until("disconnected", "open")
        assert opened["subject"] == "reader-door-1" and opened["site"] == site
        assert opened["detail"]["state"] == "disconnected"
        (resolved,) = await health_until("inventorying", "resolved")
        assert resolved["id"] == opened["id"] and resolved["resolved_by"] == "system"
        assert resolved["time_to_resolve_s"] > 0
