"""What a failed write means, from errors the real database raises."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from cloud.api.health_status import overall_health
from cloud.ingest.failure import Failure, describe, failure_of, poisoned, signature

CASES = [
    # (what, setup, statement, failure)
    (
        "an index row too large (54000, the megabyte reader id)",
        "CREATE TEMP TABLE t (x text PRIMARY KEY)",
        "INSERT INTO t SELECT string_agg(md5(g::text), '') FROM generate_series(1, 300) g",
        Failure.DATA,
    ),
    (
        "a check violation",
        "CREATE TEMP TABLE t (x int CHECK (x > 0))",
        "INSERT INTO t VALUES (0)",
        Failure.DATA,
    ),
    ("a value out of range", "SELECT 1", "SELECT 2147483647::int + 1", Failure.DATA),
    ("a missing table", "SELECT 1", "INSERT INTO nowhere VALUES (1)", Failure.ENVIRONMENT),
    (
        "a missing privilege",
        "CREATE TEMP TABLE t (x int) ;; REVOKE ALL ON t FROM PUBLIC",
        "SET ROLE pg_monitor ;; INSERT INTO t VALUES (1)",
        Failure.ENVIRONMENT,
    ),
    (
        "a read-only transaction",
        "SET default_transaction_read_only = on",
        "CREATE TEMP TABLE u (x int)",
        Failure.UNAVAILABLE,
    ),
    ("a statement timeout", "SET statement_timeout = 10", "SELECT pg_sleep(1)", Failure.TOO_BIG),
    (
        "a trigger raising",
        "SELECT 1",
        "DO $$ BEGIN RAISE EXCEPTION 'no'; END $$",
        Failure.OTHER,
    ),
]


@pytest.mark.parametrize(
    ("setup", "statement", "failure"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_failures_are_sorted_by_what_they_say_about_the_message(
    database_url, setup, statement, failure
):
    with psycopg.connect(database_url, autocommit=True) as conn:
        for sql in setup.split(" ;; "):
            conn.execute(sql.encode())
        with pytest.raises(psycopg.Error) as e:
            for sql in statement.split(" ;; "):
                conn.execute(sql.encode())
    assert failure_of(e.value) is failure


def test_only_failures_that_can_be_about_one_message_make_it_poison():
    assert poisoned(Failure.OTHER, 5, limit=5)
    assert poisoned(Failure.TOO_BIG, 5, limit=5)
    assert not poisoned(Failure.OTHER, 4, limit=5)
    for f in (Failure.ENVIRONMENT, Failure.UNAVAILABLE):
        assert not poisoned(f, 1000, limit=5)


def test_the_same_way_means_the_same_sqlstate_or_exception_type():
    a = psycopg.errors.RaiseException("epc 1 trips a trigger")
    b = psycopg.errors.RaiseException("epc 2 trips a trigger")
    assert signature(a) == signature(b)
    assert signature(KeyError("x")) == signature(KeyError("y")) != signature(ValueError("x"))


def test_an_error_quoting_a_megabyte_is_described_in_a_few_hundred_characters():
    text = describe(ValueError("x" * 1_000_000))
    assert len(text) < 600 and text.endswith("(1000000 characters)")


T = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
HEALTH_CASES = [
    ("all well", True, True, True, None, "ok", []),
    ("database away", False, True, True, None, "down", ["the database cannot be reached"]),
    ("broker away", True, True, False, None, "degraded", ["not connected to the MQTT broker"]),
    ("writes failing briefly", True, True, True, T - timedelta(seconds=14), "ok", []),
    ("ingest stuck", True, True, True, T - timedelta(seconds=15), "degraded", ["failed for 15 s"]),
    ("an API-only node", True, False, False, None, "ok", []),
]


@pytest.mark.parametrize(
    ("db", "running", "connected", "failing_since", "status", "problems"),
    [c[1:] for c in HEALTH_CASES],
    ids=[c[0] for c in HEALTH_CASES],
)
def test_health_turns_degraded_when_ingest_is_stuck(
    db, running, connected, failing_since, status, problems
):
    v = overall_health(
        database_ok=db,
        ingest_running=running,
        broker_connected=connected,
        failing_since=failing_since,
        now=T,
        stuck_after=timedelta(seconds=15),
    )
    assert v.status == status
    assert len(v.problems) == len(problems)
    for got, want in zip(v.problems, problems, strict=True):
        assert want in got


def test_health_turns_degraded_when_the_warehouse_feed_skipped_events():
    v = overall_health(
        database_ok=True,
        ingest_running=True,
        broker_connected=True,
        failing_since=None,
        now=T,
        stuck_after=timedelta(seconds=15),
        feed_skipped=2,
    )
    assert v.status == "degraded"
    assert v.problems == [
        "the warehouse feed skipped 2 event(s) its handlers kept failing on "
        "(GET /api/feed-failures)"
    ]


def test_health_turns_degraded_when_the_live_feed_does_not_hear_the_broker():
    v = overall_health(
        database_ok=True,
        ingest_running=False,  # an API-only node: its pages live on the broker's deltas
        broker_connected=False,
        failing_since=None,
        now=T,
        stuck_after=timedelta(seconds=15),
        live_feed_connected=False,
    )
    assert (v.status, v.problems) == (
        "degraded",
        ["the live feed is not connected to the MQTT broker"],
    )
