"""Fuzz the ingest with hypothesis: valid, invalid and oversized messages interleaved.

``rfidwms cloud`` runs as its users start it (a process of its own, so its memory can
be measured) against the real broker and database. Each example publishes a mix of
generated messages on every topic an edge writes (observations, events, health,
status) and on the cloud's acknowledgement topic, valid observation and event batches
among them, then a valid batch; afterwards every valid batch is stored, every other
message is a dead letter and stored nothing (no observation, passage, zone event or
weight beyond the valid batches'), the cloud's memory stays bounded and its ingest
never stops (its health stays ``ok``).
"""

from __future__ import annotations

import json
import re
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import paho.mqtt.client as paho
import psutil
import psycopg
import pytest
from conftest import fresh_database
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from running import RunningProcess, get_json

from protocols.layout import load_layout
from protocols.mqtt import MAX_PAYLOAD_BYTES, TopicKind, ack_topic, parse_mqtt_url, topic

LAYOUT = load_layout(None)
ANTENNAS = [(r.id, a.id, a.read_point) for r in LAYOUT.readers for a in r.antennas]
SPOOL = "0123456789abcdef0123456789abcdef"
MEMORY_BOUND_MB = 250
"""What the cloud may grow by while it takes ~100 MB of messages, 20 MB ones included."""


@dataclass
class Cloud:
    url: str
    site: str
    database_url: str
    process: psutil.Process
    mqtt: paho.Client
    published: int = 0
    valid: int = 0
    valid_observations: int = 0
    valid_events: int = 0
    next_seq: int = 0
    baseline_rss: int = 0
    peak_rss: int = 0

    def sample_memory(self) -> None:
        self.peak_rss = max(self.peak_rss, self.process.memory_info().rss)

    def publish(self, kind: TopicKind, payload: bytes, edge: str = "edge-1") -> None:
        info = self.mqtt.publish(topic(self.site, edge, kind), payload, qos=1)
        info.wait_for_publish(30)
        self.published += 1
        self.sample_memory()

    def publish_to_acks(self, payload: bytes) -> None:
        """On the topic the cloud confirms batches on: the ingester does not take it."""
        info = self.mqtt.publish(ack_topic(self.site, "edge-1"), payload, qos=1)
        info.wait_for_publish(30)

    def publish_valid(self, kind: TopicKind) -> None:
        """A valid observation or event batch, numbered next."""
        if kind is TopicKind.OBSERVATIONS:
            self.publish(kind, valid_batch(self.next_seq))
            self.valid_observations += OBS_PER_BATCH
        else:
            self.publish(kind, valid_event_batch(self.next_seq))
            self.valid_events += len(EVENTS)
        self.next_seq += 1
        self.valid += 1

    def health(self) -> dict[str, Any]:
        status, body = get_json(f"{self.url}api/health")
        assert status == 200, body
        return body  # type: ignore[no-any-return]

    def wait_until_taken(self, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            h = self.health()
            self.sample_memory()
            if h["ingest"]["messages"] >= self.published:
                return h
            assert time.monotonic() < deadline, f"ingest stopped: {h['ingest']}"
            time.sleep(0.05)


@pytest.fixture(scope="module")
def cloud(pg_admin_url: str, mqtt_url: str) -> Iterator[Cloud]:
    with fresh_database(pg_admin_url, "rfidwms_fuzz") as database_url:
        yield from _running_cloud(database_url, mqtt_url)


def _running_cloud(database_url: str, mqtt_url: str) -> Iterator[Cloud]:
    site = f"fuzz{uuid.uuid4().hex[:10]}"
    proc = RunningProcess(
        ["cloud", "--http-port", "0"],
        {
            "RFIDWMS_DATABASE_URL": database_url,
            "RFIDWMS_MQTT_URL": mqtt_url,
            "RFIDWMS_SITE": site,
            "RFIDWMS_INGEST_CLIENT_ID": f"fuzz-{site}",
        },
    )
    u = parse_mqtt_url(mqtt_url)
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"fuzz-pub-{site}")
    if u.username:
        client.username_pw_set(u.username, u.password)
    client.connect(u.host, u.port)
    client.loop_start()
    try:
        line = proc.wait_for(
            lambda lines: next((ln for ln in lines if "serving http://" in ln), None), timeout=60
        )
        url = re.search(r"serving (http://\S+/)", line).group(1)  # type: ignore[union-attr]
        deadline = time.monotonic() + 30
        while not get_json(f"{url}api/health")[1]["mqtt"]["connected"]:
            assert time.monotonic() < deadline, "the cloud never subscribed"
            time.sleep(0.1)
        c = Cloud(url, site, database_url, psutil.Process(proc.proc.pid), client)
        c.baseline_rss = c.peak_rss = c.process.memory_info().rss
        yield c
    finally:
        client.loop_stop()
        client.disconnect()
        proc.stop(signal.SIGTERM)
        proc.stop(signal.SIGKILL)


# -- what is published ----------------------------------------------------------------

NOW = datetime.now(UTC)


def _obs(i: int, epc_tail: int) -> dict[str, Any]:
    reader, antenna, read_point = ANTENNAS[i % len(ANTENNAS)]
    at = NOW - timedelta(seconds=i % 60)
    return {
        "epc": f"3074257BF7194E4{epc_tail:09X}",
        "reader_id": reader,
        "antenna": antenna,
        "read_point": read_point,
        "rssi_dbm": -50.0,
        "first_seen": (at - timedelta(seconds=1)).isoformat(),
        "last_seen": at.isoformat(),
        "seen_count": 1,
    }


OBS_PER_BATCH = 3


def valid_batch(seq: int, n: int = OBS_PER_BATCH) -> bytes:
    return json.dumps(
        {
            "v": 1,
            "edge_id": "edge-1",
            "spool": SPOOL,
            "seq": seq,
            "sent_at": NOW.isoformat(),
            "observations": [_obs(seq + i, seq * 10 + i) for i in range(n)],
        }
    ).encode()


EVENTS: list[dict[str, Any]] = [
    {
        "type": "passage",
        "door": "door-1",
        "direction": "inbound",
        "epc": "3174257BF7194E4000001A87",
        "cases": [],
        "confidence": 0.9,
        "time": NOW.isoformat(),
        "evidence": {"outside": {"reads": 3}, "inside": {"reads": 2}},
    },
    {
        "type": "zone",
        "kind": "arrived",
        "epc": "3074257BF7194E4000001A85",
        "zone": "zone-a",
        "time": NOW.isoformat(),
    },
    {"type": "weight", "scale": "scale-1", "weight_kg": 512.5, "time": NOW.isoformat()},
]


def valid_event_batch(seq: int) -> bytes:
    return json.dumps(
        {
            "v": 1,
            "edge_id": "edge-1",
            "spool": SPOOL,
            "seq": seq,
            "sent_at": NOW.isoformat(),
            "events": EVENTS,
        }
    ).encode()


EVENT_MANGLES = {
    # event index, field -> replacement values that break one rule each
    (0, "direction"): ["sideways", None, 1],
    (0, "confidence"): [1.5, -0.1, "sure"],
    (0, "door"): ["", "d" * 10_000, "door 1"],
    (0, "evidence"): [{}, {"outside": {"reads": -1}, "inside": {"reads": 0}}, None],
    (1, "kind"): ["teleported", ""],
    (1, "epc"): ["G" * 24, "", 7],
    (1, "time"): ["yesterday", "2025-01-01T00:00:00", 0],
    (2, "weight_kg"): [1e300, "heavy", -1e7],
    (2, "type"): ["volume", None],
}

STATUS_MANGLES = [
    {"v": 1, "edge_id": "edge-1", "state": "sleeping"},
    {"v": 1, "edge_id": "", "state": "online"},
    {"v": 2, "edge_id": "edge-1", "state": "online"},
    {"v": 1, "edge_id": "edge-1", "state": "online", "at": "noon"},
    {"v": 1, "edge_id": "edge-1", "state": "online", "extra": True},
    {"v": 1, "edge_id": "edge-9", "state": "offline"},
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=20,
)

MANGLES = {
    # field path -> replacement values that break one rule each
    "reader_id": [
        "r" * 100_000,
        "reader-door-9",
        "",
        None,
        "reader\u0000door-1",
        "reader-zone-a",  # a reader whose antenna maps elsewhere
    ],
    "read_point": ["zone-q/shelf", "x" * 10_000, "door-1", 3],
    "epc": ["G" * 24, "", "3074" * 40, 5],
    "antenna": [0, -1, 70_000, "1", 1e300],
    "rssi_dbm": [float("nan"), 1e300, -1e300, "loud"],
    "seen_count": [0, -5, 10**30],
    "last_seen": ["9999-12-31T23:59:59-14:00", "1970-01-01T00:00:00Z", "yesterday", 0],
}


@st.composite
def invalid_message(draw: st.DrawFn) -> tuple[TopicKind, bytes, str]:
    """(kind, payload, edge) breaking one rule (or random garbage)."""
    choice = draw(
        st.sampled_from(
            ["mangle", "events", "status", "garbage", "json", "health", "oversized", "edge"]
        )
    )
    seq = draw(st.integers(min_value=10**9, max_value=2 * 10**9))  # never a valid seq
    if choice == "mangle":
        field = draw(st.sampled_from(sorted(MANGLES)))
        value = draw(st.sampled_from(MANGLES[field]))
        doc = json.loads(valid_batch(seq))
        doc["observations"][draw(st.integers(0, 2))][field] = value
        return TopicKind.OBSERVATIONS, json.dumps(doc).encode(), "edge-1"
    if choice == "events":
        index, field = draw(st.sampled_from(sorted(EVENT_MANGLES)))
        doc = json.loads(valid_event_batch(seq))
        doc["events"][index][field] = draw(st.sampled_from(EVENT_MANGLES[index, field]))
        return TopicKind.EVENTS, json.dumps(doc).encode(), "edge-1"
    if choice == "status":
        doc = draw(st.sampled_from(STATUS_MANGLES))
        return TopicKind.STATUS, json.dumps(doc).encode(), "edge-1"
    if choice == "garbage":
        return draw(st.sampled_from(list(TopicKind))), draw(st.binary(max_size=200)), "edge-1"
    if choice == "json":
        return (
            draw(st.sampled_from(list(TopicKind))),
            json.dumps(draw(json_values)).encode(),
            "edge-1",
        )
    if choice == "health":
        rates = draw(
            st.sampled_from(
                [
                    {str(i): 1.0 for i in range(1000)},
                    {"1": -1.0},
                    {"1": 1e300},
                    {"x" * 1000: 1.0},
                ]
            )
        )
        readers = draw(
            st.sampled_from(
                [
                    [{"reader_id": "reader-door-1", "state": "connected", "reads_per_s": rates}],
                    [{"reader_id": "reader-door-1", "state": "connected"}] * 1000,
                ]
            )
        )
        doc = {"v": 1, "edge_id": "edge-1", "at": NOW.isoformat(), "readers": readers}
        return TopicKind.HEALTH, json.dumps(doc).encode(), "edge-1"
    if choice == "edge":
        doc = json.loads(valid_batch(seq))
        doc["edge_id"] = "edge-9"
        return TopicKind.OBSERVATIONS, json.dumps(doc).encode(), "edge-9"
    size = draw(st.sampled_from([MAX_PAYLOAD_BYTES + 1, 8 * 1024 * 1024, 20 * 1024 * 1024]))
    return TopicKind.OBSERVATIONS, valid_batch(seq)[:-1] + b" " * size + b"}", "edge-1"


messages = st.lists(
    st.one_of(
        st.sampled_from([TopicKind.OBSERVATIONS, TopicKind.EVENTS]),
        invalid_message(),
        st.binary(max_size=100).map(lambda b: ("ack", b)),
    ),
    min_size=1,
    max_size=8,
)
"""A TopicKind stands for a valid batch of that kind, numbered when published;
("ack", bytes) for bytes on the acknowledgement topic."""


def _stored(database_url: str) -> dict[str, int]:
    """Rows ingest writes from a batch."""
    with psycopg.connect(database_url) as conn:
        return {
            table: conn.execute(f"SELECT count(*) FROM {table}".encode()).fetchall()[0][0]
            for table in ("ingested_batches", "observations", "passages", "zone_events", "weights")
        }


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
@given(mix=messages)
def test_fuzzed_messages_never_stop_ingest_nor_lose_a_valid_batch(cloud: Cloud, mix):
    before = cloud.wait_until_taken()
    valid = acks = 0
    for m in mix:
        if isinstance(m, TopicKind):
            cloud.publish_valid(m)
            valid += 1
        elif m[0] == "ack":
            cloud.publish_to_acks(m[1])
            acks += 1
        else:
            kind, payload, edge = m
            cloud.publish(kind, payload, edge)
    cloud.publish_valid(TopicKind.OBSERVATIONS)  # behind them all
    after = cloud.wait_until_taken()
    assert after["status"] == "ok", after
    ingest = after["ingest"]
    taken = ingest["messages"] - before["ingest"]["messages"]
    stored = ingest["batches"] - before["ingest"]["batches"]
    dead = ingest["dead_letters"] - before["ingest"]["dead_letters"]
    assert taken == len(mix) - acks + 1  # what is published on the ack topic is not ingest's
    assert stored == valid + 1
    assert dead == taken - stored
    assert _stored(cloud.database_url) == {
        "ingested_batches": cloud.valid,
        "observations": cloud.valid_observations,
        "passages": cloud.valid_events // len(EVENTS),
        "zone_events": cloud.valid_events // len(EVENTS),
        "weights": cloud.valid_events // len(EVENTS),
    }


def test_after_the_fuzzing_the_cloud_is_healthy_and_its_memory_bounded(cloud: Cloud):
    """Runs after the fuzz test in this module: the cloud took every message and grew by
    less than the bound, though it was sent 20 MB messages."""
    h = cloud.wait_until_taken()
    assert h["status"] == "ok"
    assert h["ingest"]["messages"] == cloud.published
    grew_mb = (cloud.peak_rss - cloud.baseline_rss) / 1e6
    print(f"{h['ingest']['messages']} messages taken; stored {_stored(cloud.database_url)}")
    print(
        f"cloud RSS {cloud.baseline_rss / 1e6:.0f} MB at start, peak {cloud.peak_rss / 1e6:.0f} MB"
    )
    assert grew_mb < MEMORY_BOUND_MB, f"the cloud grew by {grew_mb:.0f} MB"
