"""The cloud's msgspec decoder of observation batches accepts what the pydantic schema
accepts, with the same values, and refuses what it refuses, with the same message."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.mqtt import ObservationBatch, PayloadError, TopicKind, decode
from protocols.observations_in import ObservationBatchIn, decode_observations, from_schema

SPOOL = "0123456789abcdef0123456789abcdef"


def observation(**changes: object) -> dict[str, object]:
    o: dict[str, object] = {
        "epc": "30340000000000000000000A",
        "reader_id": "reader-door-1",
        "antenna": 1,
        "read_point": "door-1/outside",
        "rssi_dbm": -52.5,
        "first_seen": "2026-11-23T08:00:00Z",
        "last_seen": "2026-11-23T08:00:01.250000Z",
        "seen_count": 3,
    }
    o.update(changes)
    return {k: v for k, v in o.items() if v is not ...}


def batch(*observations: dict[str, object], **changes: object) -> bytes:
    b: dict[str, object] = {
        "v": 1,
        "edge_id": "edge-1",
        "spool": SPOOL,
        "seq": 7,
        "sent_at": "2026-11-23T08:00:02Z",
        "observations": list(observations) or [observation()],
    }
    b.update(changes)
    return json.dumps({k: v for k, v in b.items() if v is not ...}).encode()


def outcome(decoder, data: bytes) -> tuple[str, object]:
    try:
        return "ok", decoder(data)
    except PayloadError as e:
        return "refused", str(e)


def same_as_schema(data: bytes) -> None:
    """Both decoders accept ``data`` with equal values, or both refuse it alike."""
    schema = outcome(lambda d: from_schema(decode(TopicKind.OBSERVATIONS, d)), data)
    fast = outcome(decode_observations, data)
    assert fast == schema


CASES = [
    ("a valid batch", batch()),
    ("absent rssi and seen count", batch(observation(rssi_dbm=..., seen_count=...))),
    ("null rssi", batch(observation(rssi_dbm=None))),
    ("integer rssi", batch(observation(rssi_dbm=-50))),
    ("a time with an offset", batch(observation(last_seen="2026-11-23T09:00:01+01:00"))),
    ("many observations", batch(*[observation(epc=f"{i:024X}") for i in range(300)])),
    ("a lax number: seq as a string", batch(seq="7")),
    ("a lax time: seconds since 1970", batch(sent_at=1_790_000_000)),
    ("a time without offset", batch(sent_at="2026-11-23T08:00:02")),
    ("a lower-case EPC", batch(observation(epc="30340000000000000000000a"))),
    ("an EPC of 3 hex digits", batch(observation(epc="303"))),
    ("an EPC with a line break", batch(observation(epc="3034\n3034"))),
    ("an EPC ending in a line break", batch(observation(epc="3034\n"))),
    ("a bad EPC among good ones", batch(observation(), observation(epc="XYZW"))),
    ("a reader id with a space", batch(observation(reader_id="reader 1"))),
    ("a reader id ending in a line break", batch(observation(reader_id="r1\n"))),
    ("a read point without its spot", batch(observation(read_point="door-1"))),
    ("an upper-case read point", batch(observation(read_point="Door-1/outside"))),
    ("a bad edge id", batch(edge_id="edge 1")),
    ("a bad spool", batch(spool="XYZ")),
    ("antenna 0", batch(observation(antenna=0))),
    ("antenna as a float", batch(observation(antenna=1.0))),
    ("rssi too strong", batch(observation(rssi_dbm=200))),
    ("seen count 0", batch(observation(seen_count=0))),
    ("negative seq", batch(seq=-1)),
    ("seq past 63 bits", batch(seq=2**63)),
    ("version 2", batch(v=2)),
    ("no version", batch(v=...)),
    ("an unknown field", batch(colour="red")),
    ("an unknown observation field", batch(observation(colour="red"))),
    ("no observations", json.dumps({"v": 1, "observations": []}).encode()),
    ("too many observations", batch(*[observation()] * 5001)),
    ("a missing last_seen", batch(observation(last_seen=...))),
    ("a bool antenna", batch(observation(antenna=True))),
    ("not JSON", b"{not json"),
    ("a JSON list", b"[]"),
]


@pytest.mark.parametrize("data", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_the_fast_decoder_agrees_with_the_schema(data: bytes) -> None:
    same_as_schema(data)


def test_a_valid_batch_is_decoded_with_its_values() -> None:
    b = decode_observations(batch())
    assert isinstance(b, ObservationBatchIn)
    assert (b.edge_id, b.spool, b.seq) == ("edge-1", SPOOL, 7)
    o = b.observations[0]
    assert (o.epc, o.reader_id, o.antenna, o.read_point) == (
        "30340000000000000000000A",
        "reader-door-1",
        1,
        "door-1/outside",
    )
    assert o.last_seen == datetime(2026, 11, 23, 8, 0, 1, 250000, tzinfo=UTC)
    assert (o.rssi_dbm, o.seen_count) == (-52.5, 3)


def test_a_refusal_names_the_field_as_the_schema_does() -> None:
    with pytest.raises(PayloadError, match=r"ObservationBatch\.observations\.1\.epc"):
        decode_observations(batch(observation(), observation(epc="XYZW")))


def test_what_the_edge_builds_converts_to_the_received_form() -> None:
    built = ObservationBatch.model_validate_json(batch())
    assert from_schema(built) == decode_observations(batch())


_text = st.text(alphabet=st.sampled_from("0123456789ABCDEFabcdef-_./ \n:xZ"), max_size=12)


@settings(max_examples=300, deadline=None)
@given(
    epc=st.one_of(st.just("30340000000000000000000A"), _text),
    reader=st.one_of(st.just("reader-door-1"), _text),
    point=st.one_of(st.just("door-1/outside"), _text),
    antenna=st.one_of(st.integers(-2, 70000), st.floats(allow_nan=False), st.booleans()),
    rssi=st.one_of(st.none(), st.floats(-300, 300), st.integers(-300, 300)),
    seen=st.one_of(st.integers(-1, 2_000_000_000), st.just("5")),
    last=st.one_of(
        st.just("2026-11-23T08:00:01Z"),
        st.just("2026-11-23T08:00:01"),
        st.just("2026-11-23t08:00:01z"),
        st.just("2026-11-23 08:00:01+02:00"),
        st.just("2026-11-23T08:00Z"),
        _text,
    ),
)
def test_any_observation_is_decided_alike(epc, reader, point, antenna, rssi, seen, last) -> None:
    same_as_schema(
        batch(
            observation(
                epc=epc,
                reader_id=reader,
                read_point=point,
                antenna=antenna,
                rssi_dbm=rssi,
                seen_count=seen,
                last_seen=last,
            )
        )
    )
