"""Faults mid-stream lose nothing and duplicate nothing, counted against what was sent.

Each test streams a known set of batches from an edge (:mod:`stream_edge`: the edge's
real spool and publisher) through a private Mosquitto to ``rfidwms cloud``, breaks one
part while the stream runs, and waits until the edge says the cloud has confirmed every
batch it spooled; then every observation is in the database exactly once. The faults:
the broker killed (``kill -9``: what it had acknowledged and not saved is gone) and
restarted; the cloud killed; the edge killed (its spool survives and it resends); the
edge cut off from the broker for a while; the spool full while the cloud is away; the
database restarted.
"""

from __future__ import annotations

import time

from faultkit import (
    PrivateBroker,
    PrivatePostgres,
    assert_exactly_once,
    create_database,
    kill,
    lines_like,
    spooled,
    start_cloud,
    start_edge,
    stopped_at_end,
    subscribed,
    wait_empty,
    wait_spooled,
)

PER_BATCH = 5


def test_a_broker_killed_and_restarted_mid_stream_loses_and_duplicates_nothing(
    database_url, site, tmp_path
):
    with PrivateBroker(tmp_path) as broker, stopped_at_end() as parts:
        cloud = start_cloud(database_url, broker.url, site)
        parts.append(cloud)
        edge = start_edge(broker.url, site, tmp_path / "spool", batches=200)
        parts.append(edge)
        wait_spooled(edge, 60)
        broker.kill()
        time.sleep(1.0)
        broker.start()
        wait_empty(edge)
        assert_exactly_once(database_url, spooled(edge), PER_BATCH)
        assert spooled(edge) == set(range(200))


def test_the_cloud_killed_mid_stream_and_started_again_loses_and_duplicates_nothing(
    database_url, site, tmp_path
):
    with PrivateBroker(tmp_path) as broker, stopped_at_end() as parts:
        cloud = start_cloud(database_url, broker.url, site)
        parts.append(cloud)
        edge = start_edge(broker.url, site, tmp_path / "spool", batches=200)
        parts.append(edge)
        wait_spooled(edge, 60)
        kill(cloud)  # between receipt and commit, or commit and PUBACK, or PUBACK and ack
        wait_spooled(edge, 100)  # the edge goes on; the broker keeps the cloud's session
        parts.append(start_cloud(database_url, broker.url, site))
        wait_empty(edge)
        assert_exactly_once(database_url, spooled(edge), PER_BATCH)


def test_the_edge_killed_mid_stream_resends_its_spool_and_nothing_is_lost_or_doubled(
    database_url, site, tmp_path
):
    spool = tmp_path / "spool"
    with PrivateBroker(tmp_path) as broker, stopped_at_end() as parts:
        parts.append(start_cloud(database_url, broker.url, site))
        first = start_edge(broker.url, site, spool, batches=200)
        parts.append(first)
        wait_spooled(first, 80)
        kill(first)  # batches spooled and not yet confirmed stay on disk
        second = start_edge(broker.url, site, spool, batches=200)
        parts.append(second)
        wait_empty(second)
        sent = spooled(first, second)
        assert sent == set(range(200)) and min(spooled(second)) >= max(spooled(first))
        assert_exactly_once(database_url, sent, PER_BATCH)


def test_an_edge_cut_off_from_the_broker_spools_meanwhile_and_catches_up(
    database_url, site, tmp_path
):
    with PrivateBroker(tmp_path) as broker, stopped_at_end() as parts:
        cloud = start_cloud(database_url, broker.url, site)
        parts.append(cloud)
        edge = start_edge(broker.url, site, tmp_path / "spool", batches=300, per_second=30)
        parts.append(edge)
        wait_spooled(edge, 30)
        broker.stop()
        before = len(spooled(edge))
        wait_spooled(edge, before + 120)  # four seconds and more without a broker
        seen = len(cloud.lines)
        broker.start()
        subscribed(cloud, after=seen)
        wait_empty(edge)
        assert_exactly_once(database_url, spooled(edge), PER_BATCH)
        assert spooled(edge) == set(range(300))


def test_a_full_spool_refuses_new_batches_says_so_and_takes_them_again_once_drained(
    database_url, site, tmp_path
):
    """The cloud is away (its session kept by the broker): the spool reaches its limit
    and refuses batches (each refused one takes no seq, so what was spooled is
    numbered without gaps); once the cloud is back and confirms, the spool has room
    and the stream carries on; everything spooled arrives once."""
    with PrivateBroker(tmp_path) as broker, stopped_at_end() as parts:
        first_cloud = start_cloud(database_url, broker.url, site)
        assert first_cloud.stop() == 0  # its persistent session stays with the broker
        edge = start_edge(
            broker.url, site, tmp_path / "spool", batches=60, per_second=50, max_bytes=24_000
        )
        parts.append(edge)
        edge.wait_for(lambda ls: "full" in ls, timeout=60)
        edge.wait_for(lambda ls: sum(x.startswith("refused ") for x in ls) >= 5, timeout=60)
        held = len(spooled(edge))
        assert 0 < held < 60
        parts.append(start_cloud(database_url, broker.url, site))
        edge.wait_for(lambda ls: "room" in ls, timeout=60)
        wait_empty(edge)
        assert spooled(edge) == set(range(60)) and lines_like(edge, "refused ") >= 5
        assert_exactly_once(database_url, spooled(edge), PER_BATCH)


def test_a_database_restart_mid_stream_loses_and_duplicates_nothing(site, tmp_path):
    with (
        PrivatePostgres() as pg,
        PrivateBroker(tmp_path) as broker,
        stopped_at_end() as parts,
    ):
        database_url = create_database(pg.url(), "rfidwms_faults")
        parts.append(start_cloud(database_url, broker.url, site))
        edge = start_edge(broker.url, site, tmp_path / "spool", batches=200)
        parts.append(edge)
        wait_spooled(edge, 60)
        pg.stop()
        wait_spooled(edge, 120)  # the edge goes on; the ingester keeps what it holds
        pg.start()
        wait_empty(edge)
        assert_exactly_once(database_url, spooled(edge), PER_BATCH)
