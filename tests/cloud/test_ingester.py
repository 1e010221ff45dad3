"""The ingester over the real broker and database: stores, dedupes, dead-letters, acks."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from brokerkit import forget_session, require_mosquitto
from cloudkit import (
    EPC_1,
    EPC_2,
    SPOOL_1,
    SPOOL_2,
    T0,
    batch,
    event_batch,
    events_topic,
    eventually,
    health,
    obs_topic,
    observation,
    passage,
    publish,
    rows,
    running_ingester,
    settings_for,
    until,
)

from cloud.db import queries
from cloud.db.migrate import apply_migrations
from cloud.db.pool import open_pool
from cloud.ingest.classify import Accepted, DeadLetter, classify
from cloud.ingest.ingester import AckOrder, Ingester, Lane, _Pending, _Received, lane_of
from cloud.ingest.ownership import SiteDevices
from cloud.live.hub import LiveHub
from protocols.layout import load_layout
from protocols.mqtt import TopicKind, parse_mqtt_url, topic

SITES = {"dc-1": SiteDevices.of(load_layout(None), "dc-1")}


async def count(database_url: str, table: str) -> int:
    ((n,),) = await rows(database_url, f"SELECT count(*) FROM {table}")
    return int(n)


async def test_a_published_batch_is_stored_located_and_handed_to_the_live_hub(
    database_url, mqtt_url, site
):
    settings = settings_for(database_url, mqtt_url, site)
    async with running_ingester(settings) as rig:
        await publish(
            mqtt_url,
            (
                obs_topic(site),
                batch(
                    "edge-1",
                    7,
                    observation(EPC_1, read_point="door-1/outside", at=T0),
                    observation(EPC_2, read_point="zone-a/shelf", reader_id="reader-zone-a", at=T0),
                    observation(
                        EPC_1, read_point="door-1/inside", antenna=3, at=T0 + timedelta(seconds=2)
                    ),
                ),
            ),
        )
        await eventually(lambda: count(database_url, "observations"), what="observations")
        assert await rows(
            database_url,
            "SELECT epc, read_point, antenna, rssi_dbm, seen_count, edge_id, seq"
            " FROM observations ORDER BY time, epc",
        ) == [
            (EPC_1, "door-1/outside", 1, -52.5, 3, "edge-1", 7),
            (EPC_2, "zone-a/shelf", 1, -52.5, 3, "edge-1", 7),
            (EPC_1, "door-1/inside", 3, -52.5, 3, "edge-1", 7),
        ]
        assert await rows(
            database_url, "SELECT edge_id, spool, seq, observations FROM ingested_batches"
        ) == [("edge-1", SPOOL_1, 7, 3)]
        assert await rows(
            database_url, "SELECT epc, read_point, last_seen FROM tag_locations ORDER BY epc"
        ) == [
            (EPC_1, "door-1/inside", T0 + timedelta(seconds=2)),
            (EPC_2, "zone-a/shelf", T0),
        ]
        assert rig.hub.seq == 1
        snap = rig.hub.snapshot()
        assert {t.epc: t.read_point for t in snap["tags"]} == {
            EPC_1: "door-1/inside",
            EPC_2: "zone-a/shelf",
        }
        s = rig.ingester.stats
        assert (s.batches, s.observations, s.duplicates, s.dead_letters) == (1, 3, 0, 0)
        assert s.last_ingest_at is not None


async def test_a_batch_sent_again_with_the_same_seq_is_skipped_and_counted(
    database_url, mqtt_url, site
):
    settings = settings_for(database_url, mqtt_url, site)
    async with running_ingester(settings) as rig:
        first = batch("edge-1", 1, observation(EPC_1))
        await publish(mqtt_url, (obs_topic(site), first), (obs_topic(site), first))
        await until(lambda: rig.ingester.stats.messages == 2, what="both messages")
        assert await count(database_url, "observations") == 1
        assert rig.ingester.stats.duplicates == 1
        assert rig.ingester.stats.dead_letters == 0
        assert rig.hub.seq == 1, "a duplicate changes nothing live"
        await publish(mqtt_url, (obs_topic(site), first))  # in another transaction
        await until(lambda: rig.ingester.stats.messages == 3, what="the third copy")
        assert rig.ingester.stats.duplicates == 2
        assert await count(database_url, "dead_letters") == 0


async def test_the_same_seq_with_other_content_is_a_dead_letter_naming_the_broken_edge(
    database_url, mqtt_url, site
):
    settings = settings_for(database_url, mqtt_url, site)
    async with running_ingester(settings) as rig:
        first = batch("edge-1", 1, observation(EPC_1))
        other = batch("edge-1", 1, observation(EPC_1), observation(EPC_2))
        later = batch("edge-1", 1, observation(EPC_2))
        await publish(mqtt_url, (obs_topic(site), first), (obs_topic(site), other))
        await until(lambda: rig.ingester.stats.messages == 2, what="both messages")
        await publish(mqtt_url, (obs_topic(site), later))  # against the stored digest
        await until(lambda: rig.ingester.stats.messages == 3, what="the third message")
        assert await rows(database_url, "SELECT epc FROM observations") == [(EPC_1,)]
        assert rig.ingester.stats.duplicates == 0
        dead = await rows(database_url, "SELECT payload, reason FROM dead_letters ORDER BY id")
        assert [bytes(p) for p, _ in dead] == [other, later]
        for _, reason in dead:
            assert f"(edge 'edge-1', spool {SPOOL_1}, seq 1) was ingested before with other" in (
                reason
            )
        assert rig.hub.seq == 1


async def test_bad_messages_are_dead_lettered_with_their_reason_and_the_next_good_one_lands(
    database_url, mqtt_url, site
):
    settings = settings_for(database_url, mqtt_url, site)
    bad_schema = json.loads(batch("edge-1", 2))
    bad_schema["observations"][0]["antenna"] = 0
    async with running_ingester(settings) as rig:
        await publish(
            mqtt_url,
            (obs_topic(site), b"{not json"),
            (obs_topic(site), json.dumps(bad_schema).encode()),
            (obs_topic(site, "edge-9"), batch("edge-1", 3)),
            (f"rfidwms/v1/{site}/edge-1/firmware", b"{}"),
            (obs_topic(site), batch("edge-1", 4, observation(EPC_2))),
        )
        await eventually(lambda: count(database_url, "observations"), what="the good batch")
        dead = await rows(
            database_url, "SELECT topic, payload, reason FROM dead_letters ORDER BY id"
        )
        assert [(t, bytes(p)) for t, p, _ in dead][:1] == [(obs_topic(site), b"{not json")]
        reasons = [r for _, _, r in dead]
        assert len(reasons) == 4, reasons
        assert "Invalid JSON" in reasons[0]
        assert "ObservationBatch.observations.0.antenna" in reasons[1]
        assert "differs from the topic's edge id 'edge-9'" in reasons[2]
        assert "unknown kind 'firmware'" in reasons[3]
        assert await rows(database_url, "SELECT epc FROM observations") == [(EPC_2,)]
        assert rig.ingester.stats.dead_letters == 4 and rig.ingester.subscribed.is_set()


async def test_a_message_the_database_refuses_is_dead_lettered_alone(database_url, mqtt_url, site):
    settings = settings_for(database_url, mqtt_url, site)
    await apply_migrations(database_url)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await conn.execute(
            f"ALTER TABLE observations ADD CONSTRAINT no_epc_2 CHECK (epc <> '{EPC_2}')"
        )
    async with running_ingester(settings) as rig:
        await publish(
            mqtt_url,
            (obs_topic(site), batch("edge-1", 1, observation(EPC_1))),
            (obs_topic(site), batch("edge-1", 2, observation(EPC_2))),
            (obs_topic(site), batch("edge-1", 3, observation(EPC_1))),
        )
        await until(lambda: rig.ingester.stats.messages == 3, what="3 msgs")
        assert await rows(database_url, "SELECT seq FROM ingested_batches ORDER BY seq") == [
            (1,),
            (3,),
        ]
        ((reason,),) = await rows(database_url, "SELECT reason FROM dead_letters")
        assert reason.startswith("refused by the database: CheckViolation")
        assert rig.ingester.stats.poison == 0


_POISON_TRIGGER = """
CREATE FUNCTION refuse_epc_2() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.epc = '{epc}' THEN
        RAISE EXCEPTION 'epc % trips a trigger', NEW.epc;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER refuse_epc_2 BEFORE INSERT OR UPDATE ON tag_locations
    FOR EACH ROW EXECUTE FUNCTION refuse_epc_2();
"""


async def test_a_message_that_keeps_failing_alone_is_a_dead_letter_and_ingest_goes_on(
    database_url, mqtt_url, site
):
    """A message that fails the same way each time for a reason that is not a data
    error (here a trigger raising; in the field a limit or a bug) used to be retried for
    ever, holding up every message behind it, across restarts."""
    settings = settings_for(database_url, mqtt_url, site, ingest_poison_after=3)
    await apply_migrations(database_url)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await conn.execute(_POISON_TRIGGER.format(epc=EPC_2).encode())
    async with running_ingester(settings) as rig:
        await publish(
            mqtt_url,
            (obs_topic(site), batch("edge-1", 1, observation(EPC_2))),
            (obs_topic(site), batch("edge-1", 2, observation(EPC_1))),
        )
        await until(lambda: rig.ingester.stats.messages == 2, timeout=30, what="both messages")
        assert await rows(database_url, "SELECT seq FROM ingested_batches") == [(2,)]
        ((payload, reason),) = await rows(database_url, "SELECT payload, reason FROM dead_letters")
        assert json.loads(bytes(payload))["seq"] == 1
        assert reason.startswith(
            "failed 3 times alone, the same way, while the database stores other messages of "
            "its kind: RaiseException: epc 3074257BF7194E4000001A86 trips a trigger"
        )
        assert rig.ingester.stats.poison == 1
        assert rig.ingester.stats.failing_since is None and rig.ingester.stats.last_error is None


async def test_a_database_that_fails_every_message_keeps_them_all_and_says_since_when(
    database_url, mqtt_url, site
):
    """The same trigger for every EPC: the control write fails too, so the trouble is the
    database's: nothing becomes a dead letter, and everything lands once it is fixed."""
    settings = settings_for(database_url, mqtt_url, site, ingest_poison_after=2)
    await apply_migrations(database_url)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await conn.execute(_POISON_TRIGGER.replace("NEW.epc = '{epc}'", "true").encode())
    async with running_ingester(settings) as rig:
        await publish(
            mqtt_url,
            (obs_topic(site), batch("edge-1", 1, observation(EPC_2))),
            (obs_topic(site), batch("edge-1", 2, observation(EPC_1))),
        )
        await until(lambda: rig.ingester.stats.failing_since is not None, what="failing")
        await asyncio.sleep(3)  # several rounds of retries and control writes
        assert await count(database_url, "dead_letters") == 0
        assert await count(database_url, "ingested_batches") == 0
        assert "trips a trigger" in (rig.ingester.stats.last_error or "")
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            await conn.execute("DROP TRIGGER refuse_epc_2 ON tag_locations")
        await until(lambda: rig.ingester.stats.messages == 2, timeout=30, what="both stored")
        assert await count(database_url, "ingested_batches") == 2
        assert await count(database_url, "dead_letters") == 0
        assert rig.ingester.stats.failing_since is None


async def test_health_and_status_messages_update_readers_and_edges(database_url, mqtt_url, site):
    settings = settings_for(database_url, mqtt_url, site)
    async with running_ingester(settings) as rig:
        await publish(
            mqtt_url,
            (
                topic(site, "edge-1", TopicKind.STATUS),
                b'{"v":1,"edge_id":"edge-1","state":"online"}',
            ),
            (
                topic(site, "edge-1", TopicKind.HEALTH),
                health("edge-1", ("reader-door-1", "inventorying", {"1": 12.5, "3": 4.0})),
            ),
        )
        await until(lambda: rig.ingester.stats.messages == 2, what="2 msgs")
        assert await rows(
            database_url, "SELECT reader_id, edge_id, state, reads_per_s FROM readers"
        ) == [("reader-door-1", "edge-1", "inventorying", {"1": 12.5, "3": 4.0})]
        assert await rows(database_url, "SELECT edge_id, state FROM edges") == [
            ("edge-1", "online")
        ]
        readers = rig.hub.snapshot()["readers"]
        assert [(r.reader_id, r.state) for r in readers] == [("reader-door-1", "inventorying")]


async def test_a_message_is_acknowledged_only_after_commit_so_a_crash_before_it_redelivers(
    database_url, mqtt_url, site
):
    """Ingester A cannot reach its database: it holds the batch unacknowledged. It stops
    (as in a crash); B, the same persistent session with a working database, gets the
    batch redelivered by the broker and stores it. C, the same session again, is not
    redelivered anything: B acknowledged after its commit."""
    await require_mosquitto(mqtt_url, "redelivery to an anonymous persistent session")
    settings = settings_for(database_url, mqtt_url, site)
    await apply_migrations(database_url)
    unreachable = "postgresql://postgres@127.0.0.1:9/nowhere?connect_timeout=1"
    async with open_pool(unreachable, timeout=0.3) as dead_pool:
        a = Ingester(settings, dead_pool)
        async with a:
            await asyncio.wait_for(a.subscribed.wait(), 10)
            await publish(mqtt_url, (obs_topic(site), batch("edge-1", 1, observation(EPC_1))))
            await until(lambda: "database" in (a.stats.last_error or ""), what="A failing to write")
            assert a.stats.messages == 0
    assert await count(database_url, "observations") == 0

    try:
        async with open_pool(database_url) as pool:
            async with Ingester(settings, pool, LiveHub()) as b:
                await eventually(lambda: count(database_url, "observations"), what="redelivery")
                assert b.stats.batches == 1
            async with Ingester(settings, pool, LiveHub()) as c:
                await asyncio.wait_for(c.subscribed.wait(), 10)
                await publish(mqtt_url, (obs_topic(site), batch("edge-1", 2, observation(EPC_2))))
                await until(lambda: c.stats.messages >= 1, what="C's message")
                assert (c.stats.messages, c.stats.duplicates) == (1, 0)
    finally:
        await forget_session(mqtt_url, settings.mqtt_client_id())


async def test_ingesters_in_one_group_share_the_batches_and_store_each_once(
    database_url, mqtt_url, site
):
    """A shared subscription ($share/<group>/...): the broker gives each message to one
    member (Mosquitto; the embedded amqtt broker has no shared subscriptions)."""
    await require_mosquitto(mqtt_url, "a shared subscription ($share/...)")
    first = settings_for(database_url, mqtt_url, site, ingest_group="ingest")
    second = first.model_copy(update={"ingest_client_id": f"test-ingest-2-{site}"})
    async with running_ingester(first) as a, running_ingester(second, migrate=False) as b:
        assert a.ingester.topic_filter == f"$share/ingest/rfidwms/v1/{site}/+/+"
        await publish(
            mqtt_url,
            *((obs_topic(site), batch("edge-1", seq, observation(EPC_1))) for seq in range(20)),
        )
        await until(
            lambda: a.ingester.stats.messages + b.ingester.stats.messages == 20, what="20 batches"
        )
        assert await count(database_url, "ingested_batches") == 20
        assert await count(database_url, "observations") == 20
        assert a.ingester.stats.batches > 0 and b.ingester.stats.batches > 0


async def test_a_new_spool_starting_again_at_seq_0_is_ingested_not_dropped(
    database_url, mqtt_url, site
):
    """An edge that lost its disk starts a new spool, numbered from 0 again: its batch
    0 is new. The old spool's batch 0 sent again is still a duplicate."""
    settings = settings_for(database_url, mqtt_url, site)
    async with running_ingester(settings) as rig:
        await publish(
            mqtt_url,
            (obs_topic(site), batch("edge-1", 0, observation(EPC_1), spool=SPOOL_1)),
            (obs_topic(site), batch("edge-1", 0, observation(EPC_2), spool=SPOOL_2)),
            (obs_topic(site), batch("edge-1", 0, observation(EPC_1), spool=SPOOL_1)),
        )
        await until(lambda: rig.ingester.stats.messages == 3, what="3 messages")
        assert await rows(
            database_url, "SELECT spool, seq FROM ingested_batches ORDER BY spool"
        ) == [(SPOOL_1, 0), (SPOOL_2, 0)]
        assert await rows(database_url, "SELECT epc FROM observations ORDER BY epc") == [
            (EPC_1,),
            (EPC_2,),
        ]
        assert (rig.ingester.stats.batches, rig.ingester.stats.duplicates) == (2, 1)


def _now() -> datetime:
    return datetime.now(UTC)


async def test_a_read_dated_in_the_far_future_is_a_dead_letter_and_the_tag_moves_on(
    database_url, mqtt_url, site
):
    """Year 10000 in UTC cannot be read back from PostgreSQL, and any read dated ahead
    would hold the tag's location (newer reads never override it): both are dead
    letters naming the field, and the tag's next read lands, readable everywhere."""
    settings = settings_for(database_url, mqtt_url, site)
    year_10000 = json.loads(batch("edge-1", 1, observation(EPC_1)))
    year_10000["observations"][0]["last_seen"] = "9999-12-31T23:59:59-14:00"
    an_hour_ahead = batch(
        "edge-1",
        2,
        observation(
            EPC_1,
            read_point="zone-a/shelf",
            reader_id="reader-zone-a",
            at=_now() + timedelta(hours=1),
        ),
    )
    now = _now()
    async with running_ingester(settings) as rig:
        await publish(
            mqtt_url,
            (obs_topic(site), json.dumps(year_10000).encode()),
            (obs_topic(site), an_hour_ahead),
            (
                obs_topic(site),
                batch(
                    "edge-1",
                    3,
                    observation(EPC_1, read_point="door-1/inside", antenna=3, at=now),
                    observation(EPC_2, at=now),
                ),
            ),
        )
        await until(lambda: rig.ingester.stats.messages == 3, what="3 messages")
        reasons = [
            r for (r,) in await rows(database_url, "SELECT reason FROM dead_letters ORDER BY id")
        ]
        assert len(reasons) == 2, reasons
        assert reasons[0].startswith(
            "ObservationBatch.observations.0.last_seen: 9999-12-31T23:59:59-14:00 is later than"
        )
        assert reasons[1].startswith("ObservationBatch.observations.0.first_seen: ")
        assert "allowed clock skew of 300 s" in reasons[1]
        async with rig.pool.connection() as conn:
            here = await queries.tag_location(conn, EPC_1)
            recent = await queries.recent_reads(conn, 10)
        assert here is not None and here.read_point == "door-1/inside"
        assert sorted(r.epc for r in recent) == [EPC_1, EPC_2]


async def test_an_edge_whose_clock_runs_ahead_still_goes_offline_on_its_last_will(
    database_url, mqtt_url, site
):
    """The will has no time of its own: ordering by the edge's clock would have kept
    the edge online. Status is ordered by the cloud's receive time."""
    settings = settings_for(database_url, mqtt_url, site)
    status_topic = topic(site, "edge-1", TopicKind.STATUS)
    ahead = (_now() + timedelta(seconds=200)).isoformat()
    async with running_ingester(settings) as rig:
        await publish(
            mqtt_url,
            (
                status_topic,
                f'{{"v":1,"edge_id":"edge-1","state":"online","at":"{ahead}"}}'.encode(),
            ),
        )
        await until(lambda: rig.ingester.stats.messages == 1, what="online")
        await publish(mqtt_url, (status_topic, b'{"v":1,"edge_id":"edge-1","state":"offline"}'))
        await until(lambda: rig.ingester.stats.messages == 2, what="offline")
        ((state, last_seen),) = await rows(database_url, "SELECT state, last_seen FROM edges")
        assert state == "offline" and last_seen <= _now()


def _dbname(database_url: str) -> str:
    return str(psycopg.conninfo.conninfo_to_dict(database_url)["dbname"])


async def _sql(database_url: str, statement: str) -> None:
    """Run ``statement`` as the test's superuser, also while the database is read-only."""
    url = psycopg.conninfo.make_conninfo(
        database_url, options="-c default_transaction_read_only=off"
    )
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(statement.encode())


async def _end_other_sessions(database_url: str) -> None:
    await _sql(
        database_url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )


# (case, SQL that breaks the database, SQL that repairs it, the error it causes)
DATABASE_FAULTS = [
    (
        "read-only, as a standby during a failover",
        'ALTER DATABASE "{db}" SET default_transaction_read_only = on',
        'ALTER DATABASE "{db}" RESET default_transaction_read_only',
        "ReadOnlySqlTransaction",
    ),
    (
        "a table missing",
        "ALTER TABLE tag_locations RENAME TO tag_locations_elsewhere",
        "ALTER TABLE tag_locations_elsewhere RENAME TO tag_locations",
        "UndefinedTable",
    ),
    (
        "no privilege on a table",
        "CREATE ROLE {db}_ingest LOGIN; GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA"
        " public TO {db}_ingest; GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {db}_ingest;"
        " REVOKE UPDATE ON tag_locations FROM {db}_ingest",
        "GRANT UPDATE ON tag_locations TO {db}_ingest",
        "InsufficientPrivilege",
    ),
]


@pytest.mark.parametrize(
    ("break_sql", "repair_sql", "error"),
    [c[1:] for c in DATABASE_FAULTS],
    ids=[c[0] for c in DATABASE_FAULTS],
)
async def test_valid_batches_wait_unacknowledged_through_a_database_fault_and_land_after_it(
    database_url, mqtt_url, site, break_sql, repair_sql, error
):
    """Only a message's data makes it a dead letter; any other refusal is retried."""
    await apply_migrations(database_url)
    db = _dbname(database_url)
    await _sql(database_url, break_sql.format(db=db))
    url = database_url
    if "{db}_ingest" in break_sql:
        url = psycopg.conninfo.make_conninfo(database_url, user=f"{db}_ingest")
    settings = settings_for(url, mqtt_url, site)
    try:
        async with running_ingester(settings, migrate=False) as rig:
            await publish(mqtt_url, (obs_topic(site), batch("edge-1", 1, observation(EPC_1))))
            await until(lambda: error in (rig.ingester.stats.last_error or ""), what=f"a {error}")
            await asyncio.sleep(0.5)  # a few retries
            assert rig.ingester.stats.messages == 0
            await _sql(database_url, repair_sql.format(db=db))
            await _end_other_sessions(database_url)
            await until(lambda: rig.ingester.stats.messages == 1, what="the batch stored")
        assert await rows(database_url, "SELECT epc FROM observations") == [(EPC_1,)]
        assert await count(database_url, "dead_letters") == 0
        assert rig.ingester.stats.dead_letters == 0 and rig.ingester.stats.last_error is None
    finally:
        if "{db}_ingest" in break_sql:
            await _end_other_sessions(database_url)
            await _sql(database_url, f"DROP OWNED BY {db}_ingest; DROP ROLE {db}_ingest")


async def test_a_group_the_database_cancels_for_its_size_is_halved_until_it_fits(
    database_url, mqtt_url, site, caplog
):
    """statement_timeout cancels a statement (QueryCanceled) in proportion to its size.
    A trigger stands in for it here, cancelling any claim of more than 2 batches."""
    await apply_migrations(database_url)
    await _sql(
        database_url,
        "CREATE FUNCTION cancel_big_claims() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN IF (SELECT count(*) FROM claimed) > 2 THEN"
        " RAISE EXCEPTION 'canceling statement due to statement timeout'"
        " USING ERRCODE = 'query_canceled'; END IF; RETURN NULL; END $$;"
        " CREATE TRIGGER cancel_big_claims AFTER INSERT ON ingested_batches"
        " REFERENCING NEW TABLE AS claimed FOR EACH STATEMENT EXECUTE FUNCTION cancel_big_claims()",
    )
    settings = settings_for(database_url, mqtt_url, site, ingest_flush_interval_s=1.0)
    caplog.set_level(logging.WARNING, logger="cloud.ingest.ingester")
    async with running_ingester(settings, migrate=False) as rig:
        await publish(
            mqtt_url,
            *((obs_topic(site), batch("edge-1", seq, observation(EPC_1))) for seq in range(8)),
        )
        await until(lambda: rig.ingester.stats.messages == 8, what="8 batches", timeout=20)
    assert await count(database_url, "ingested_batches") == 8
    assert await count(database_url, "dead_letters") == 0
    sizes = await rows(
        database_url, "SELECT count(*) FROM ingested_batches GROUP BY ingested_at ORDER BY 1"
    )
    assert max(n for (n,) in sizes) <= 2
    assert "a group of 8 message(s) (8 observation(s)) failed (QueryCanceled" in caplog.text


async def test_a_group_stops_before_the_message_that_would_pass_the_observation_cap(
    database_url, mqtt_url, site
):
    settings = settings_for(
        database_url, mqtt_url, site, ingest_flush_interval_s=1.0, ingest_max_observations=3
    )
    five = [observation(f"3074257BF7194E40000000{i:02X}") for i in range(5)]
    async with running_ingester(settings) as rig:
        await publish(
            mqtt_url,
            *((obs_topic(site), batch("edge-1", seq, observation(EPC_1))) for seq in range(6)),
            (obs_topic(site), batch("edge-1", 6, *five)),
        )
        await until(lambda: rig.ingester.stats.messages == 7, what="7 batches")
    transactions = await rows(
        database_url,
        "SELECT count(*), sum(observations) FROM ingested_batches GROUP BY ingested_at"
        " ORDER BY min(seq)",
    )
    assert transactions == [(3, 3), (3, 3), (1, 5)]


async def test_the_mqtt_password_is_never_logged(database_url, mqtt_url, site, caplog):
    u = parse_mqtt_url(mqtt_url)
    password = u.password or "s3cret-pw"
    with_password = f"mqtt://{u.username or 'rfidwms-cloud'}:{password}@{u.host}:{u.port}"
    unreachable = f"mqtt://rfidwms-cloud:{password}@127.0.0.1:9"
    caplog.set_level(logging.DEBUG)
    settings = settings_for(database_url, with_password, site)
    async with running_ingester(settings):
        pass
    async with open_pool(database_url) as pool:
        refused = Ingester(settings_for(database_url, unreachable, site), pool)
        async with refused:
            await until(lambda: "MQTT" in (refused.stats.last_error or ""), what="a refusal")
    assert f":***@{u.host}:{u.port}" in caplog.text
    assert "MQTT connection to mqtt://rfidwms-cloud:***@127.0.0.1:9 failed" in caplog.text
    assert password not in caplog.text


def _received(payload: bytes) -> _Received:
    item = DeadLetter("t", payload, "test", datetime(2025, 1, 1, tzinfo=UTC))
    return _Received(None, item, payload)  # type: ignore[arg-type]


def test_a_pending_group_takes_what_fits_and_hands_over_a_part_keeping_its_counts():
    pending = _Pending(most=3, most_observations=100, most_bytes=10)
    big = _received(b"x" * 20)
    assert pending.fits(big)  # a group always takes its first message, however large
    pending.add(big)
    assert not pending.fits(_received(b"y"))  # past the byte cap
    assert pending.take(5) == [big]
    parts = [_received(bytes([65 + i]) * 3) for i in range(3)]
    for r in parts:
        assert pending.fits(r)
        pending.add(r)
    assert pending.full() and not pending.fits(_received(b"z"))  # the message cap
    assert pending.take(2) == parts[:2]
    assert (pending.group, pending.size) == (parts[2:], 3)


def test_the_window_is_the_most_messages_ever_in_hand():
    pending = _Pending(most=100, most_observations=100, most_bytes=1000)
    pending.writing = 4
    pending.add(_received(b"a"))
    pending.seen_in_hand(queued=5)
    assert pending.window == 10
    pending.writing = 0
    pending.seen_in_hand(queued=0)
    assert pending.window == 10


async def test_events_are_stored_while_observations_received_before_them_are_still_written(
    database_url, mqtt_url, site
):
    """The observations' lane is held up (another session locks the table against
    inserts); a passage published after the observations is stored meanwhile, and
    acknowledged only once the observations received before it have committed."""
    settings = settings_for(database_url, mqtt_url, site)
    async with running_ingester(settings) as rig:
        async with await psycopg.AsyncConnection.connect(database_url) as blocker:
            async with blocker.transaction():
                await blocker.execute("LOCK TABLE observations IN SHARE ROW EXCLUSIVE MODE")
                await publish(
                    mqtt_url,
                    (obs_topic(site), batch("edge-1", 1, observation(EPC_1))),
                    (events_topic(site), event_batch("edge-1", 2, passage())),
                )
                await eventually(lambda: count(database_url, "passages"), what="the passage")
                assert await count(database_url, "observations") == 0
                assert rig.ingester._order.waiting == 1  # the passage waits for its turn
        await eventually(lambda: count(database_url, "observations"), what="the observations")
        await until(lambda: rig.ingester._order.waiting == 0, what="both acknowledged")


@pytest.mark.parametrize(
    ("commits", "acked"),
    [
        # in order: each acknowledged as it commits
        ([[0], [1], [2]], [[0], [1], [2]]),
        # the second lane first: held until the first's message commits, then both
        ([[1], [0], [2]], [[], [0, 1], [2]]),
        # a group of three committed while the message before it is written
        ([[1, 2, 3], [0]], [[], [0, 1, 2, 3]]),
        # gaps fill in any order
        ([[3], [1], [0], [2]], [[], [], [0, 1], [2, 3]]),
    ],
)
def test_messages_are_acknowledged_in_the_order_received_whichever_lane_commits_first(
    commits, acked
):
    order = AckOrder()
    indexes = [order.receive() for _ in range(4)]
    assert indexes == [0, 1, 2, 3]
    got = [order.commit([(i, f"m{i}") for i in group]) for group in commits]  # type: ignore[misc]
    assert got == [[f"m{i}" for i in group] for group in acked]
    assert order.waiting == 0


def test_the_edges_events_go_in_their_own_lane():
    received = T0
    events = classify(
        events_topic("dc-1"),
        event_batch("edge-1", 1, passage(at=received)),
        sites=SITES,
        retained=False,
        received_at=received,
    )
    observations = classify(
        obs_topic("dc-1"),
        batch("edge-1", 2, observation(EPC_1, at=received)),
        sites=SITES,
        retained=False,
        received_at=received,
    )
    garbage = classify(obs_topic("dc-1"), b"{", sites=SITES, retained=False, received_at=received)
    assert isinstance(events, Accepted) and isinstance(observations, Accepted)
    assert isinstance(garbage, DeadLetter)
    assert [lane_of(x) for x in (events, observations, garbage)] == [
        Lane.EVENTS,
        Lane.OBSERVATIONS,
        Lane.OBSERVATIONS,
    ]
