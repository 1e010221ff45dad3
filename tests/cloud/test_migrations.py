"""Schema migrations on plain PostgreSQL, and the TimescaleDB variant's selection."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from cloudkit import database_of_a_plain_role, rows

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


def _versions() -> list[int]:
    """Every bundled version; 3 and 5 come in TimescaleDB/plain variants, the rest are
    one file for both."""
    return sorted(parse_migrations(bundled_migrations()))


def _plain_files() -> list[str]:
    steps = parse_migrations(bundled_migrations())
    return [(steps[v].get("all") or steps[v]["plain"]).filename for v in _versions()]


INGEST_TABLES = {
    "schema_migrations",
    "observations",
    "ingested_batches",
    "tag_locations",
    "readers",
    "edges",
    "dead_letters",
    "passages",
    "zone_events",
    "weights",
    "tag_places",
}


async def test_migrations_apply_once_and_a_second_run_changes_nothing(database_url):
    first = await apply_migrations(database_url)
    second = await apply_migrations(database_url)
    assert [m.filename for m in first] == _plain_files()
    assert [m.filename for m in first][:7] == [
        "0001_ingest_state.sql",
        "0002_observations.sql",
        "0003_observations_time.plain.sql",
        "0004_batch_spool.sql",
        "0005_observations_chunks.plain.sql",
        "0006_dead_letter_bounds.sql",
        "0007_events.sql",
    ]
    assert second == []
    tables = await rows(database_url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    assert {t for (t,) in tables} >= INGEST_TABLES
    recorded = await rows(database_url, "SELECT version, variant FROM schema_migrations ORDER BY 1")
    assert recorded == [(v, "plain" if v in (3, 5) else "all") for v in _versions()]


async def test_processes_starting_together_apply_each_migration_once(database_url):
    results = await asyncio.gather(*(apply_migrations(database_url) for _ in range(3)))
    assert sorted(len(r) for r in results) == [0, 0, len(_versions())]


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
    with_ts = {m.version: m for m in plan_migrations(steps, {}, timescale=True)}
    without = {m.version: m for m in plan_migrations(steps, {}, timescale=False)}
    assert with_ts[3].filename == "0003_observations_time.timescale.sql"
    assert without[3].filename == "0003_observations_time.plain.sql"
    sql = with_ts[3].sql
    assert "CREATE EXTENSION IF NOT EXISTS timescaledb" in sql
    assert "create_hypertable" in sql and "if_not_exists => TRUE" in sql
    assert "migrate_data => TRUE" in sql
    assert with_ts[5].filename == "0005_observations_chunks.timescale.sql"
    assert "set_chunk_time_interval('observations', INTERVAL '6 hours')" in with_ts[5].sql
    assert without[5].filename == "0005_observations_chunks.plain.sql"
    # the shared steps are the same text on both paths
    shared = [v for v in with_ts if with_ts[v].variant == "all"]
    assert shared == [v for v in _versions() if v not in (3, 5)]
    assert [with_ts[v].sql for v in shared] == [without[v].sql for v in shared]


async def test_forcing_timescale_on_plain_postgresql_fails_naming_the_migration(database_url):
    with pytest.raises(MigrationError, match=r"0003_observations_time\.timescale\.sql failed"):
        await apply_migrations(database_url, timescale=True)
    recorded = await rows(database_url, "SELECT version FROM schema_migrations ORDER BY 1")
    assert recorded == [(1,), (2,)], "the failed migration rolled back and was not recorded"


async def test_a_role_that_owns_its_database_but_is_no_superuser_can_migrate_it(pg_admin_url):
    """Reading shared_preload_libraries needs superuser or pg_read_all_settings; an
    application role has neither, and must not need it where TimescaleDB is absent."""
    with database_of_a_plain_role(pg_admin_url, owner=True) as url:
        applied = await apply_migrations(url)
        assert [m.version for m in applied] == _versions()
        assert await apply_migrations(url) == []
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            assert await detect_timescale(conn) is False


async def test_a_database_error_while_migrating_is_a_migration_error_in_one_line(pg_admin_url):
    """A role that may not create tables (PostgreSQL 15: not the database owner)."""
    with database_of_a_plain_role(pg_admin_url, owner=False) as url:
        with pytest.raises(MigrationError) as caught:
            await apply_migrations(url)
    message = str(caught.value)
    assert message.startswith("cannot migrate the database: InsufficientPrivilege: ")
    assert "permission denied for schema public" in message and "\n" not in message


async def test_an_unreachable_database_is_a_migration_error_in_one_line():
    with pytest.raises(MigrationError) as caught:
        await apply_migrations("postgresql://postgres@127.0.0.1:9/nowhere?connect_timeout=1")
    message = str(caught.value)
    assert message.startswith("cannot connect to the database to migrate it: OperationalError")
    assert "\n" not in message


async def test_batches_ingested_before_spools_existed_keep_their_keys(database_url):
    steps = bundled_migrations()
    before = {k: v for k, v in steps.items() if k < "0004"}
    await apply_migrations(database_url, files=before)
    await rows(
        database_url,
        "INSERT INTO ingested_batches (edge_id, seq, sent_at, observations)"
        " VALUES ('edge-1', 7, now(), 3) RETURNING 1",
    )
    applied = await apply_migrations(database_url)
    assert [m.version for m in applied] == [v for v in _versions() if v >= 4]
    assert await rows(database_url, "SELECT edge_id, spool, seq FROM ingested_batches") == [
        ("edge-1", "", 7)
    ]
    key = await rows(
        database_url,
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid"
        " AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'ingested_batches'::regclass"
        " AND i.indisprimary ORDER BY array_position(i.indkey::int2[], a.attnum)",
    )
    assert [k for (k,) in key] == ["edge_id", "spool", "seq"]


async def test_an_applied_migration_edited_afterwards_is_refused(database_url):
    await apply_migrations(database_url, files={"0001_a.sql": "CREATE TABLE a (x int);"})
    with pytest.raises(MigrationError, match=r"0001_a\.sql changed after it was applied"):
        await apply_migrations(database_url, files={"0001_a.sql": "CREATE TABLE a (y int);"})


def test_an_applied_variant_is_kept_even_when_the_other_is_now_possible():
    steps = parse_migrations(bundled_migrations())
    applied = {
        v: AppliedMigration(v, variant, steps[v][variant].checksum)
        for v, variant in [(v, "plain" if v in (3, 5) else "all") for v in _versions()]
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
