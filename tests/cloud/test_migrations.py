"""Schema migrations on plain PostgreSQL, and the TimescaleDB variant's selection."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from cloudkit import rows

from cloud.db import queries
from cloud.db.migrate import (
    AppliedMigration,
    MigrationError,
    apply_migrations,
    bundled_migrations,
    detect_timescale,
    parse_migrations,
    plan_migrations,
)

TABLES = {
    "schema_migrations",
    "observations",
    "ingested_batches",
    "tag_locations",
    "readers",
    "edges",
    "dead_letters",
}


async def test_migrations_apply_once_and_a_second_run_changes_nothing(database_url):
    first = await apply_migrations(database_url)
    second = await apply_migrations(database_url)
    assert [m.filename for m in first] == [
        "0001_ingest_state.sql",
        "0002_observations.sql",
        "0003_observations_time.plain.sql",
    ]
    assert second == []
    tables = await rows(database_url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    assert {t for (t,) in tables} == TABLES
    recorded = await rows(database_url, "SELECT version, variant FROM schema_migrations ORDER BY 1")
    assert recorded == [(1, "all"), (2, "all"), (3, "plain")]


async def test_processes_starting_together_apply_each_migration_once(database_url):
    results = await asyncio.gather(*(apply_migrations(database_url) for _ in range(3)))
    assert sorted(len(r) for r in results) == [0, 0, 3]


async def test_plain_postgresql_is_detected_and_serves_the_same_queries(database_url):
    await apply_migrations(database_url)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        assert await detect_timescale(conn) is False
        await conn.execute(
            "INSERT INTO observations (time, epc, reader_id, antenna, read_point, rssi_dbm,"
            " first_seen, seen_count, edge_id, seq)"
            " SELECT now() - make_interval(secs => g), 'E' || (g % 3), 'r1', 1, 'zone-a/shelf',"
            " -61.3, now() - make_interval(secs => g + 1), 1, 'edge-1', g"
            " FROM generate_series(1, 30) g"
        )
        history = await queries.tag_history(conn, "E1", 5)
        assert len(history) == 5
        assert [r.time for r in history] == sorted((r.time for r in history), reverse=True)
        assert history[0].rssi_dbm == -61.3
        latest = await queries.recent_reads(conn, 3)
        assert [r.epc for r in latest] == ["E1", "E2", "E0"]
        await conn.execute("SET enable_seqscan = off")
        cur = await conn.execute(
            "EXPLAIN SELECT * FROM observations WHERE epc = 'E1' ORDER BY time DESC LIMIT 5"
        )
        plan = "\n".join(r[0] for r in await cur.fetchall())
        assert "observations_epc_time_idx" in plan


def test_the_timescale_variant_is_planned_when_the_extension_is_available():
    steps = parse_migrations(bundled_migrations())
    with_ts = plan_migrations(steps, {}, timescale=True)
    without = plan_migrations(steps, {}, timescale=False)
    assert [m.filename for m in with_ts][-1] == "0003_observations_time.timescale.sql"
    assert [m.filename for m in without][-1] == "0003_observations_time.plain.sql"
    sql = with_ts[-1].sql
    assert "CREATE EXTENSION IF NOT EXISTS timescaledb" in sql
    assert "create_hypertable" in sql and "if_not_exists => TRUE" in sql
    assert "migrate_data => TRUE" in sql
    # the shared steps are the same text on both paths
    assert [m.sql for m in with_ts[:-1]] == [m.sql for m in without[:-1]]


async def test_forcing_timescale_on_plain_postgresql_fails_naming_the_migration(database_url):
    with pytest.raises(MigrationError, match=r"0003_observations_time\.timescale\.sql failed"):
        await apply_migrations(database_url, timescale=True)
    recorded = await rows(database_url, "SELECT version FROM schema_migrations ORDER BY 1")
    assert recorded == [(1,), (2,)], "the failed migration rolled back and was not recorded"


async def test_an_applied_migration_edited_afterwards_is_refused(database_url):
    await apply_migrations(database_url, files={"0001_a.sql": "CREATE TABLE a (x int);"})
    with pytest.raises(MigrationError, match=r"0001_a\.sql changed after it was applied"):
        await apply_migrations(database_url, files={"0001_a.sql": "CREATE TABLE a (y int);"})


def test_an_applied_variant_is_kept_even_when_the_other_is_now_possible():
    steps = parse_migrations(bundled_migrations())
    plain = steps[3]["plain"]
    applied = {v: AppliedMigration(v, "all", steps[v]["all"].checksum) for v in (1, 2)} | {
        3: AppliedMigration(3, "plain", plain.checksum)
    }
    assert plan_migrations(steps, applied, timescale=True) == []


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"1_a.sql": ""}, "is not named NNNN_name.sql"),
        ({"0001_a.timescale.sql": ""}, "must be one .sql file or a .timescale.sql/.plain.sql pair"),
        ({"0001_a.sql": "", "0001_a.plain.sql": ""}, "must be one .sql file"),
    ],
    ids=["bad name", "half a pair", "mixed kinds"],
)
def test_misnamed_or_unpaired_migration_files_are_refused(files, message):
    with pytest.raises(MigrationError, match=message.replace(".", r"\.")):
        parse_migrations(files)
