"""Raw observations are kept for the retention, events for good: on plain PostgreSQL
(the pruner deletes) and on TimescaleDB (the extension's policies)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
from cloudkit import (
    PALLET_1,
    T0,
    batch,
    event_batch,
    events_topic,
    obs_topic,
    observation,
    passage,
    publish,
    rows,
    running_ingester,
    settings_for,
    until,
)

from cloud.db import retention
from cloud.db.migrate import apply_migrations
from cloud.db.pool import open_pool
from cloud.db.retention import ObservationPruner


async def _observations_at(url: str, *times: datetime) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        for i, t in enumerate(times):
            await conn.execute(
                "INSERT INTO observations (time, epc, reader_id, antenna, read_point, first_seen,"
                " seen_count, edge_id, seq) VALUES (%s, %s, 'reader-door-1', 1,"
                " 'door-1/outside', %s, 1, 'edge-1', %s)",
                (t, f"{i:024X}", t, i),
            )


async def test_the_pruner_deletes_observations_older_than_the_retention_by_the_run_clock(
    database_url, monkeypatch
):
    await apply_migrations(database_url, timescale=False)
    now = datetime(2025, 1, 7, 8, 0, tzinfo=UTC)  # a simulated clock, far from the wall's
    old = [now - timedelta(hours=25, minutes=i) for i in range(7)]
    await _observations_at(database_url, *old, now - timedelta(hours=23), now)
    monkeypatch.setattr(retention, "DELETE_SLICE", 3)  # several slices
    async with open_pool(database_url) as pool:
        pruner = ObservationPruner(pool, timedelta(hours=24), clock=lambda: now)
        assert await pruner.prune_once() == 7
        assert pruner.timescale is False
        assert await pruner.prune_once() == 0
    assert await rows(database_url, "SELECT count(*) FROM observations") == [(2,)]


async def test_events_are_kept_while_old_observations_go(database_url, mqtt_url, site):
    settings = settings_for(database_url, mqtt_url, site, observations_retention_h=1)
    long_ago = datetime.now(UTC) - timedelta(hours=2)
    async with running_ingester(settings) as rig:
        await publish(
            mqtt_url,
            (obs_topic(site), batch("edge-1", 1, observation(PALLET_1, at=long_ago))),
            (events_topic(site), event_batch("edge-1", 2, passage(at=long_ago))),
        )
        await until(lambda: rig.ingester.stats.batches == 2, what="both batches")
        pruner = ObservationPruner(
            rig.pool, settings.observations_retention, clock=settings.now_clock()
        )
        assert await pruner.prune_once() == 1
    assert await rows(database_url, "SELECT count(*) FROM observations") == [(0,)]
    assert await rows(database_url, "SELECT count(*) FROM passages") == [(1,)]


async def test_on_timescaledb_observations_get_retention_and_compression_policies(
    timescale_url, mqtt_url, site
):
    applied = await apply_migrations(timescale_url)
    assert any(m.variant == "timescale" for m in applied)
    settings = settings_for(timescale_url, mqtt_url, site, observations_retention_h=24)
    async with running_ingester(settings, migrate=False) as rig:
        await publish(
            mqtt_url,
            # a fresh observation (the retention policy may run meanwhile: an old one
            # would go), and an old passage (events have no retention)
            (obs_topic(site), batch("edge-1", 1, observation(PALLET_1, at=datetime.now(UTC)))),
            (events_topic(site), event_batch("edge-1", 2, passage(at=T0))),
        )
        await until(lambda: rig.ingester.stats.batches == 2, what="both batches")
        pruner = ObservationPruner(
            rig.pool, settings.observations_retention, clock=settings.now_clock()
        )
        assert await pruner.prune_once() == 0
        assert pruner.timescale is True
    jobs = await rows(
        timescale_url,
        "SELECT proc_name, config->>'drop_after', config->>'compress_after'"
        " FROM timescaledb_information.jobs WHERE hypertable_name = 'observations'"
        " ORDER BY proc_name",
    )
    assert jobs == [
        ("policy_compression", None, "12:00:00"),
        ("policy_retention", "1 day", None),
    ] or jobs == [
        ("policy_compression", None, "12:00:00"),
        ("policy_retention", "24:00:00", None),
    ], jobs
    assert await rows(timescale_url, "SELECT epc FROM observations") == [(PALLET_1,)]
    assert await rows(timescale_url, "SELECT epc, door FROM passages") == [(PALLET_1, "door-1")]
