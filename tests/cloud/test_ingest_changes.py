"""Pure decisions of the ingester: where tags are, what moved, reader and edge status,
and which messages are dead letters."""

from __future__ import annotations

import heapq
from datetime import UTC, datetime, timedelta

import pytest

from cloud.ingest.changes import (
    locate_tags,
    newest_per_epc,
    newest_read_per_epc,
    newest_reads,
    reads_of_batch,
    update_edge,
    update_readers,
    update_spools,
)
from cloud.ingest.classify import Accepted, DeadLetter, classify
from cloud.ingest.ownership import SiteDevices
from cloud.model import EdgeState, Read, ReaderStatus, SpoolDepth, TagLocation
from cloud.settings import CloudSettings
from protocols.layout import Layout, load_layout
from protocols.mqtt import (
    MAX_PAYLOAD_BYTES,
    EdgeHealth,
    EdgeStatus,
    Observation,
    ObservationBatch,
)

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def t(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def read(epc: str, rp: str, at: float, rssi: float | None = -50.0) -> Read:
    return Read(t(at), epc, rp, f"r-{rp.split('/')[0]}", 1, rssi, 1, "edge-1", t(at - 1))


def here(epc: str, rp: str, last: float, arrived: float) -> TagLocation:
    return TagLocation(epc, rp, f"r-{rp.split('/')[0]}", 1, "edge-1", -50.0, t(last), t(arrived))


# (case, reads, current, expected locations [(epc, rp, last_seen, arrived_at)],
#  expected moves [(epc, from, to)])
LOCATE_CASES = [
    (
        "a tag never seen arrives at its read point",
        [read("A", "door-1/outside", 10)],
        {},
        [("A", "door-1/outside", 10, 9)],
        [("A", None, "door-1/outside")],
    ),
    (
        "a read at the same read point refreshes last_seen, keeps arrived_at, no move",
        [read("A", "zone-a/shelf", 20)],
        {"A": here("A", "zone-a/shelf", 10, 5)},
        [("A", "zone-a/shelf", 20, 5)],
        [],
    ),
    (
        "a read elsewhere moves the tag and restarts arrived_at at its first sighting",
        [read("A", "door-1/inside", 20)],
        {"A": here("A", "door-1/outside", 10, 5)},
        [("A", "door-1/inside", 20, 19)],
        [("A", "door-1/outside", "door-1/inside")],
    ),
    (
        "a late read older than the current location changes nothing",
        [read("A", "door-1/outside", 5)],
        {"A": here("A", "zone-a/shelf", 10, 8)},
        [],
        [],
    ),
    (
        "within a batch the newest read of a tag decides",
        [read("A", "door-1/outside", 10), read("A", "door-1/inside", 12)],
        {},
        [("A", "door-1/inside", 12, 11)],
        [("A", None, "door-1/inside")],
    ),
    (
        "on equal times the stronger read decides",
        [read("A", "door-1/outside", 10, -70.0), read("A", "door-2/outside", 10, -40.0)],
        {},
        [("A", "door-2/outside", 10, 9)],
        [("A", None, "door-2/outside")],
    ),
    (
        "tags are independent and come back sorted by EPC",
        [read("B", "zone-b/shelf", 3), read("A", "zone-a/shelf", 4)],
        {"B": here("B", "zone-b/shelf", 1, 1)},
        [("A", "zone-a/shelf", 4, 3), ("B", "zone-b/shelf", 3, 1)],
        [("A", None, "zone-a/shelf")],
    ),
]


@pytest.mark.parametrize(
    ("reads", "current", "locations", "moves"),
    [c[1:] for c in LOCATE_CASES],
    ids=[c[0] for c in LOCATE_CASES],
)
def test_locate_tags(reads, current, locations, moves):
    got_locations, got_moves = locate_tags(reads, current)
    assert [(x.epc, x.read_point, x.last_seen, x.arrived_at) for x in got_locations] == [
        (e, rp, t(last), t(arr)) for e, rp, last, arr in locations
    ]
    assert [(m.epc, m.from_read_point, m.to_read_point) for m in got_moves] == moves


# (case, reads, current, expected locations [(epc, rp, last_seen, arrived_at)],
#  expected moves [(epc, from, to)]) with a resolution of 60 s
RESOLUTION_CASES = [
    (
        "a read at the same read point within the resolution is not written",
        [read("A", "zone-a/shelf", 69)],
        {"A": here("A", "zone-a/shelf", 10, 5)},
        [],
        [],
    ),
    (
        "a read at the same read point the resolution past last_seen is written",
        [read("A", "zone-a/shelf", 70)],
        {"A": here("A", "zone-a/shelf", 10, 5)},
        [("A", "zone-a/shelf", 70, 5)],
        [],
    ),
    (
        "a move within the resolution is written at once",
        [read("A", "door-1/inside", 11)],
        {"A": here("A", "door-1/outside", 10, 5)},
        [("A", "door-1/inside", 11, 10)],
        [("A", "door-1/outside", "door-1/inside")],
    ),
    (
        "an arrival is written at once",
        [read("B", "door-1/inside", 11)],
        {},
        [("B", "door-1/inside", 11, 10)],
        [("B", None, "door-1/inside")],
    ),
    (
        "a late read elsewhere still changes nothing",
        [read("A", "door-1/inside", 9)],
        {"A": here("A", "door-1/outside", 10, 5)},
        [],
        [],
    ),
]


@pytest.mark.parametrize(
    ("reads", "current", "locations", "moves"),
    [c[1:] for c in RESOLUTION_CASES],
    ids=[c[0] for c in RESOLUTION_CASES],
)
def test_locate_tags_rewrites_a_standing_tag_once_per_resolution(reads, current, locations, moves):
    got_locations, got_moves = locate_tags(reads, current, resolution=timedelta(seconds=60))
    assert [(x.epc, x.read_point, x.last_seen, x.arrived_at) for x in got_locations] == [
        (e, rp, t(last), t(arr)) for e, rp, last, arr in locations
    ]
    assert [(m.epc, m.from_read_point, m.to_read_point) for m in got_moves] == moves


def test_newest_read_without_rssi_loses_a_tie_to_one_with_rssi():
    a, b = read("A", "x/y", 1, None), read("A", "x/z", 1, -80.0)
    assert newest_per_epc([a, b])["A"] is b
    assert newest_per_epc([b, a])["A"] is b


def health(at: float, *readers: tuple[str, str], edge: str = "edge-1") -> EdgeHealth:
    return EdgeHealth.model_validate(
        {
            "edge_id": edge,
            "at": t(at),
            "readers": [
                {"reader_id": r, "state": s, "reads_per_s": {"1": 2.5}} for r, s in readers
            ],
        }
    )


def status(rid: str, state: str, at: float) -> ReaderStatus:
    return ReaderStatus(rid, "edge-1", state, {}, None, t(at))


READER_CASES = [
    ("a new reader is reported", [health(1, ("r1", "connected"))], {}, [("r1", "connected", None)]),
    (
        "a state change keeps the previous state",
        [health(5, ("r1", "inventorying"))],
        {"r1": status("r1", "connected", 1)},
        [("r1", "inventorying", "connected")],
    ),
    (
        "an older health message is ignored",
        [health(1, ("r1", "disconnected"))],
        {"r1": status("r1", "inventorying", 5)},
        [],
    ),
    (
        "several messages in a group: the last wins, the first previous state stays",
        [health(2, ("r1", "connecting")), health(3, ("r1", "inventorying"))],
        {"r1": status("r1", "disconnected", 1)},
        [("r1", "inventorying", "disconnected")],
    ),
]


@pytest.mark.parametrize(
    ("messages", "current", "expected"),
    [c[1:] for c in READER_CASES],
    ids=[c[0] for c in READER_CASES],
)
def test_update_readers(messages, current, expected):
    changes = update_readers(messages, current)
    assert [(c.status.reader_id, c.status.state, c.previous_state) for c in changes] == expected
    assert all(c.status.reads_per_s == {"1": 2.5} for c in changes)


def edge(state: str, last: float, changed: float) -> EdgeState:
    return EdgeState("edge-1", state, t(last), t(changed))


# (case, state, the message's own at (edge clock), received at, retained, current,
#  expected (state, last_seen, changed_at) or None)
EDGE_CASES = [
    (
        "first status is dated by its receive time",
        "online",
        5,
        100,
        False,
        None,
        ("online", 100, 100),
    ),
    (
        "same state refreshes last_seen and keeps changed_at",
        "online",
        None,
        120,
        False,
        edge("online", 100, 50),
        ("online", 120, 50),
    ),
    ("state change", "offline", 119, 120, False, edge("online", 100, 50), ("offline", 120, 120)),
    (
        "an edge clock running ahead does not hide the last will that follows",
        "offline",
        None,
        110,
        False,
        edge("online", 100, 100),
        ("offline", 110, 110),
    ),
    (
        "a status dated far ahead by the edge is dated by the cloud",
        "online",
        86_400,
        100,
        False,
        None,
        ("online", 100, 100),
    ),
    ("received before the known state", "offline", 200, 90, False, edge("online", 100, 50), None),
    ("retained replay of the known state", "online", 5, 200, True, edge("online", 100, 50), None),
    (
        "retained status that differs from the known state",
        "offline",
        None,
        200,
        True,
        edge("online", 100, 50),
        ("offline", 200, 200),
    ),
    ("retained status of an unknown edge", "online", None, 200, True, None, ("online", 200, 200)),
]


@pytest.mark.parametrize(
    ("state", "at", "received", "retained", "current", "expected"),
    [c[1:] for c in EDGE_CASES],
    ids=[c[0] for c in EDGE_CASES],
)
def test_update_edge(state, at, received, retained, current, expected):
    msg = EdgeStatus(edge_id="edge-1", state=state, at=t(at) if at is not None else None)
    got = update_edge(msg, retained=retained, received_at=t(received), current=current)
    if expected is None:
        assert got is None
    else:
        s, last, changed = expected
        assert got == EdgeState("edge-1", s, t(last), t(changed))


GOOD_BATCH = (
    b'{"v":1,"edge_id":"edge-1","spool":"5f0c6a3e9b2d4c7f8e1a2b3c4d5e6f70","seq":4,"sent_at":"2025-03-01T08:00:00Z","observations":'
    b'[{"epc":"3074257BF7194E4000001A85","reader_id":"reader-door-1","antenna":3,"read_point":"door-1/inside",'
    b'"first_seen":"2025-03-01T08:00:00Z","last_seen":"2025-03-01T08:00:00Z"}]}'
)
OBS_TOPIC = "rfidwms/v1/s1/edge-1/observations"
HEALTH_TOPIC = "rfidwms/v1/s1/edge-1/health"


def _two_edge_layout() -> Layout:
    """The demo site with its zone-c reader served by a second edge, edge-2."""
    data = load_layout(None).model_dump()
    for r in data["readers"]:
        if r["id"] == "reader-zone-c":
            r["edge"] = "edge-2"
    return Layout.model_validate(data)


DEVICES = SiteDevices.of(_two_edge_layout(), "s1")


def _health(reader: bytes, rates: bytes = b"{}", edge: bytes = b"edge-1") -> bytes:
    return (
        b'{"v":1,"edge_id":"'
        + edge
        + b'","at":"2025-03-01T08:00:00Z","readers":[{"reader_id":"'
        + reader
        + b'","state":"connected","reads_per_s":'
        + rates
        + b"}]}"
    )


CLASSIFY_CASES = [
    ("good batch", "rfidwms/v1/s1/edge-1/observations", GOOD_BATCH, None),
    ("topic of another shape", "rfidwms/v1/s1/edge-1", GOOD_BATCH, "is not of the form"),
    ("unknown kind", "rfidwms/v1/s1/edge-1/telemetry", GOOD_BATCH, "unknown kind 'telemetry'"),
    ("another site", "rfidwms/v1/s2/edge-1/observations", GOOD_BATCH, "for site 's2'"),
    ("not JSON", "rfidwms/v1/s1/edge-1/observations", b"{oops", "Invalid JSON"),
    (
        "schema violation names the field",
        "rfidwms/v1/s1/edge-1/observations",
        GOOD_BATCH.replace(b'"seq":4', b'"seq":-1'),
        "ObservationBatch.seq",
    ),
    (
        "edge id differs from the topic",
        "rfidwms/v1/s1/edge-2/observations",
        GOOD_BATCH,
        "differs from the topic's edge id 'edge-2'",
    ),
    (
        "a time that is year 10000 in UTC",
        OBS_TOPIC,
        GOOD_BATCH.replace(
            b'"last_seen":"2025-03-01T08:00:00Z"', b'"last_seen":"9999-12-31T23:59:59-14:00"'
        ),
        "ObservationBatch.observations.0.last_seen: 9999-12-31T23:59:59-14:00 is later than the"
        " time the cloud received the message (2025-03-01T08:00:00+00:00) plus the allowed"
        " clock skew of 300 s",
    ),
    (
        "a read dated beyond the allowed clock skew",
        OBS_TOPIC,
        GOOD_BATCH.replace(
            b'"last_seen":"2025-03-01T08:00:00Z"', b'"last_seen":"2025-03-01T08:05:01Z"'
        ),
        "ObservationBatch.observations.0.last_seen: 2025-03-01T08:05:01+00:00 is later than",
    ),
    (
        "a read dated within the allowed clock skew",
        OBS_TOPIC,
        GOOD_BATCH.replace(
            b'"last_seen":"2025-03-01T08:00:00Z"', b'"last_seen":"2025-03-01T08:05:00Z"'
        ),
        None,
    ),
    (
        "a send time in the future",
        OBS_TOPIC,
        GOOD_BATCH.replace(
            b'"sent_at":"2025-03-01T08:00:00Z"', b'"sent_at":"2025-03-02T08:00:00Z"'
        ),
        "ObservationBatch.sent_at: 2025-03-02T08:00:00+00:00 is later than",
    ),
    (
        "a clock never set",
        OBS_TOPIC,
        GOOD_BATCH.replace(
            b'"first_seen":"2025-03-01T08:00:00Z"', b'"first_seen":"1970-01-01T00:00:00Z"'
        ),
        "ObservationBatch.observations.0.first_seen: 1970-01-01T00:00:00+00:00 is before"
        " 2000-01-01",
    ),
    (
        "first seen after last seen",
        OBS_TOPIC,
        GOOD_BATCH.replace(
            b'"first_seen":"2025-03-01T08:00:00Z"', b'"first_seen":"2025-03-01T08:00:01Z"'
        ),
        "ObservationBatch.observations.0: first_seen 2025-03-01T08:00:01+00:00 is after last_seen"
        " 2025-03-01T08:00:00+00:00",
    ),
    (
        "health dated in the future",
        "rfidwms/v1/s1/edge-1/health",
        b'{"v":1,"edge_id":"edge-1","at":"2025-03-01T09:00:00Z","readers":[]}',
        "EdgeHealth.at: 2025-03-01T09:00:00+00:00 is later than",
    ),
    (
        "a reader report dated in the future",
        "rfidwms/v1/s1/edge-1/health",
        b'{"v":1,"edge_id":"edge-1","at":"2025-03-01T08:00:00Z","readers":[{"reader_id":"reader-door-1",'
        b'"state":"connected","last_report_at":"2025-03-01T09:00:00Z"}]}',
        "EdgeHealth.readers.0.last_report_at: 2025-03-01T09:00:00+00:00 is later than",
    ),
    (
        "a status dated in the future",
        "rfidwms/v1/s1/edge-1/status",
        b'{"v":1,"edge_id":"edge-1","state":"online","at":"2025-03-01T09:00:00Z"}',
        "EdgeStatus.at: 2025-03-01T09:00:00+00:00 is later than",
    ),
    # -- what the layout gives each edge ---------------------------------------------
    (
        "an edge the layout does not have",
        "rfidwms/v1/s1/edge-9/status",
        b'{"v":1,"edge_id":"edge-9","state":"online"}',
        "edge 'edge-9' is not an edge in the layout of site 's1' (its edges: edge-1, edge-2)",
    ),
    (
        "observations of another edge's reader",
        "rfidwms/v1/s1/edge-2/observations",
        GOOD_BATCH.replace(b'"edge_id":"edge-1"', b'"edge_id":"edge-2"'),
        "ObservationBatch.observations.0: reader 'reader-door-1' belongs to edge 'edge-1', "
        "not to edge 'edge-2'",
    ),
    (
        "observations of a reader not in the layout",
        OBS_TOPIC,
        GOOD_BATCH.replace(b"reader-door-1", b"reader-door-9"),
        "ObservationBatch.observations.0: reader 'reader-door-9' is not a reader in the layout "
        "of site 's1'",
    ),
    (
        "observations at a read point the antenna does not read",
        OBS_TOPIC,
        GOOD_BATCH.replace(b"door-1/inside", b"zone-a/shelf"),
        "ObservationBatch.observations.0: read point 'zone-a/shelf' is not where antenna 3 of "
        "reader 'reader-door-1' reads: the layout says 'door-1/inside'",
    ),
    (
        "observations from an antenna the layout does not map",
        OBS_TOPIC,
        GOOD_BATCH.replace(b'"antenna":3', b'"antenna":9'),
        "antenna 9 of reader 'reader-door-1' is not in the layout",
    ),
    (
        "health taking over another edge's reader",
        HEALTH_TOPIC,
        _health(b"reader-zone-c"),
        "EdgeHealth.readers.0: reader 'reader-zone-c' belongs to edge 'edge-2', not to "
        "edge 'edge-1'",
    ),
    ("health of its own reader", HEALTH_TOPIC, _health(b"reader-zone-a"), None),
    # -- bounds ----------------------------------------------------------------------
    (
        "a seq past a bigint",
        OBS_TOPIC,
        GOOD_BATCH.replace(b'"seq":4', b'"seq":9223372036854775808'),
        "ObservationBatch.seq: Input should be less than or equal to 9223372036854775807",
    ),
    (
        "a reader id of a megabyte",
        HEALTH_TOPIC,
        _health(b"r" * 1_000_000),
        "EdgeHealth.readers.0.reader_id: String should match pattern",
    ),
    ("a negative read rate", HEALTH_TOPIC, _health(b"reader-door-1", b'{"1":-1}'), "reads_per_s.1"),
    (
        "a read rate of 1e300",
        HEALTH_TOPIC,
        _health(b"reader-door-1", b'{"1":1e300}'),
        "reads_per_s.1",
    ),
    (
        "a read rate that is NaN",
        HEALTH_TOPIC,
        _health(b"reader-door-1", b'{"1":NaN}'),
        "reads_per_s",
    ),
    (
        "rates of too many antennas",
        HEALTH_TOPIC,
        _health(b"reader-door-1", ("{" + ",".join(f'"{i}":1' for i in range(65)) + "}").encode()),
        "EdgeHealth.readers.0.reads_per_s: Dictionary should have at most 64 items",
    ),
    (
        "too many readers in one health message",
        HEALTH_TOPIC,
        b'{"v":1,"edge_id":"edge-1","at":"2025-03-01T08:00:00Z","readers":['
        + b",".join([b'{"reader_id":"reader-door-1","state":"connected"}'] * 257)
        + b"]}",
        "EdgeHealth.readers: List should have at most 256 items",
    ),
    (
        "a payload over the size limit is refused before it is parsed",
        OBS_TOPIC,
        GOOD_BATCH + b" " * MAX_PAYLOAD_BYTES,
        f"ObservationBatch: payload of {len(GOOD_BATCH) + MAX_PAYLOAD_BYTES} bytes is larger "
        f"than the limit of {MAX_PAYLOAD_BYTES} bytes",
    ),
    (
        "a topic segment of a megabyte is named, not quoted whole",
        "rfidwms/v1/s1/" + "e" * 1_000_000 + "/observations",
        GOOD_BATCH,
        "... (1000000 characters)' is not a valid topic segment",
    ),
]


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [c[1:] for c in CLASSIFY_CASES],
    ids=[c[0] for c in CLASSIFY_CASES],
)
def test_classify(topic, payload, reason):
    got = classify(topic, payload, sites={"s1": DEVICES}, retained=False, received_at=T0)
    if reason is None:
        assert isinstance(got, Accepted)
        assert got.address.edge_id == "edge-1"
    else:
        assert isinstance(got, DeadLetter)
        assert reason in got.reason
        assert len(got.reason) < 1000
        assert got.payload == payload and got.topic == topic


def test_the_allowed_clock_skew_comes_from_the_settings():
    payload = GOOD_BATCH.replace(
        b'"last_seen":"2025-03-01T08:00:00Z"', b'"last_seen":"2025-03-01T08:00:02Z"'
    )
    strict = classify(
        OBS_TOPIC,
        payload,
        sites={"s1": DEVICES},
        retained=False,
        received_at=T0,
        max_clock_skew=timedelta(0),
    )
    assert isinstance(strict, DeadLetter)
    assert "allowed clock skew of 0 s" in strict.reason
    settings = CloudSettings(database_url="postgresql:///x", ingest_max_clock_skew_s=1.5)
    assert settings.max_clock_skew == timedelta(seconds=1.5)


def _batches_with_ties() -> list[ObservationBatch]:
    """Two batches whose reads tie on time and RSSI in every way the rules know."""
    times = [3, 1, 3, 2, 3, 1, 2, 3]
    rssis: list[float | None] = [-50, -40, -45, None, -45, -60, -30, None]
    out = []
    for b in range(2):
        obs = [
            Observation(
                epc=f"3074257BF7194E40000{(i % 3) + b:05X}",
                reader_id="reader-door-1",
                antenna=1 + i % 2,
                read_point="door-1/outside",
                rssi_dbm=rssis[i],
                first_seen=t(times[i] - 1),
                last_seen=t(times[i] + b),
                seen_count=1 + i,
            )
            for i in range(len(times))
        ]
        out.append(
            ObservationBatch(
                edge_id=f"edge-{b + 1}",
                spool="5f0c6a3e9b2d4c7f8e1a2b3c4d5e6f70",
                seq=b,
                sent_at=t(9),
                observations=obs,
            )
        )
    return out


@pytest.mark.parametrize("most", [1, 2, 3, 5, 16, 100])
def test_newest_reads_are_what_the_live_feed_would_pick_from_every_read(most):
    batches = _batches_with_ties()
    every = [r for b in batches for r in reads_of_batch(b)]
    assert newest_reads(batches, most) == heapq.nlargest(most, every, key=lambda r: r.time)
    assert newest_reads(batches, None) == every


def test_newest_read_per_epc_is_newest_per_epc_of_every_read():
    batches = _batches_with_ties()
    every = [r for b in batches for r in reads_of_batch(b)]
    assert newest_read_per_epc(batches) == newest_per_epc(every)


def test_a_cloud_serving_two_sites_dead_letters_a_third_naming_those_it_serves():
    sites = {"s1": DEVICES, "s2": DEVICES}
    got = classify(
        OBS_TOPIC.replace("/s1/", "/s3/"), GOOD_BATCH, sites=sites, retained=False, received_at=T0
    )
    assert isinstance(got, DeadLetter) and got.batch is None
    assert got.reason.endswith("is for site 's3', this cloud serves 's1', 's2'")
    assert isinstance(
        classify(OBS_TOPIC, GOOD_BATCH, sites=sites, retained=False, received_at=T0), Accepted
    )


def test_a_readers_clock_offset_is_kept_as_its_edge_reports_it():
    msg = EdgeHealth.model_validate(
        {
            "edge_id": "edge-1",
            "at": t(5),
            "readers": [
                {"reader_id": "r1", "state": "inventorying", "clock_offset_s": -2.04},
                {"reader_id": "r2", "state": "inventorying"},
            ],
        }
    )
    got = {c.status.reader_id: c.status.clock_offset_s for c in update_readers([msg], {})}
    assert got == {"r1": -2.04, "r2": None}


def test_a_status_message_keeps_the_spool_the_health_messages_reported():
    spool = SpoolDepth(3, 4096, 1 << 20, False, 0, t(90))
    known = EdgeState("edge-1", "online", t(100), t(50), spool)
    got = update_edge(
        EdgeStatus(edge_id="edge-1", state="offline"),
        retained=False,
        received_at=t(120),
        current=known,
    )
    assert got == EdgeState("edge-1", "offline", t(120), t(120), spool)


def spool_health(at: float, batches: int | None, edge: str = "edge-1") -> EdgeHealth:
    body: dict[str, object] = {"edge_id": edge, "at": t(at), "readers": []}
    if batches is not None:
        body["spool"] = {
            "batches": batches,
            "bytes": batches * 1000,
            "max_bytes": 10_000,
            "full": batches >= 10,
            "refused_batches": 2 if batches >= 10 else 0,
        }
    return EdgeHealth.model_validate(body)


def online(edge_id: str = "edge-1", spool_at: float | None = None) -> EdgeState:
    spool = SpoolDepth(1, 1000, 10_000, False, 0, t(spool_at)) if spool_at is not None else None
    return EdgeState(edge_id, "online", t(100), t(50), spool)


# (case, health messages in order, current edges, expected: edge -> (batches, full,
#  refused, at) of the changed edges)
SPOOL_CASES = [
    ("the first report", [spool_health(5, 3)], {"edge-1": online()}, {"edge-1": (3, False, 0, 5)}),
    (
        "a full spool, with the batches it refused",
        [spool_health(5, 10)],
        {"edge-1": online(spool_at=1)},
        {"edge-1": (10, True, 2, 5)},
    ),
    ("an older report is ignored", [spool_health(5, 3)], {"edge-1": online(spool_at=9)}, {}),
    (
        "several in a group: the newest wins",
        [spool_health(5, 3), spool_health(6, 0), spool_health(4, 7)],
        {"edge-1": online()},
        {"edge-1": (0, False, 0, 6)},
    ),
    (
        "a message without a spool changes nothing",
        [spool_health(5, None)],
        {"edge-1": online()},
        {},
    ),
    ("an edge with no status yet waits for it", [spool_health(5, 3)], {}, {}),
    (
        "each edge its own",
        [spool_health(5, 3), spool_health(5, 4, edge="edge-2")],
        {"edge-1": online(), "edge-2": online("edge-2")},
        {"edge-1": (3, False, 0, 5), "edge-2": (4, False, 0, 5)},
    ),
]


@pytest.mark.parametrize(
    ("messages", "current", "expected"),
    [c[1:] for c in SPOOL_CASES],
    ids=[c[0] for c in SPOOL_CASES],
)
def test_update_spools(messages, current, expected):
    got = update_spools(messages, current)
    assert {
        e.edge_id: (e.spool.batches, e.spool.full, e.spool.refused_batches, e.spool.at)
        for e in got
        if e.spool is not None
    } == {k: (b, f, r, t(at)) for k, (b, f, r, at) in expected.items()}
    for e in got:  # what the status messages set stays
        before = current[e.edge_id]
        assert (e.state, e.last_seen, e.changed_at) == (
            before.state,
            before.last_seen,
            before.changed_at,
        )
