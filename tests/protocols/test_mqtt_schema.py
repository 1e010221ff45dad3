"""The MQTT contract between edge and cloud: topics, payloads, errors, URLs."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from protocols.mqtt import (
    EdgeHealth,
    EdgeStatus,
    Observation,
    ObservationBatch,
    PayloadError,
    ReaderEventKind,
    TopicAddress,
    TopicKind,
    decode,
    encode,
    encode_observation_batch,
    encode_observations,
    parse_mqtt_url,
    parse_topic,
    redact_url,
    shared_subscription,
    subscription,
    topic,
)
from protocols.settings import CommonSettings, SettingsError, load_settings

T = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def batch(**changes) -> ObservationBatch:
    obs = Observation(
        epc="3034257BF7194E4000001A85",
        reader_id="reader-door-1",
        antenna=1,
        read_point="door-1/outside",
        rssi_dbm=-48.0,
        first_seen=T,
        last_seen=T,
        seen_count=6,
    )
    return ObservationBatch(
        edge_id="edge-1", spool="0" * 32, seq=7, sent_at=T, observations=[obs]
    ).model_copy(update=changes)


def test_topics_carry_version_site_edge_and_kind():
    assert topic("demo", "edge-1", TopicKind.OBSERVATIONS) == "rfidwms/v1/demo/edge-1/observations"
    assert parse_topic("rfidwms/v1/demo/edge-1/health") == TopicAddress(
        "demo", "edge-1", TopicKind.HEALTH
    )
    assert subscription("demo") == "rfidwms/v1/demo/+/+"
    assert subscription("+", TopicKind.STATUS) == "rfidwms/v1/+/+/status"
    assert (
        shared_subscription("ingest", subscription("demo")) == "$share/ingest/rfidwms/v1/demo/+/+"
    )


@pytest.mark.parametrize(
    ("name", "named"),
    [
        ("rfidwms/v2/demo/edge-1/observations", "is not of the form"),
        ("rfidwms/v1/demo/edge-1", "is not of the form"),
        ("rfidwms/v1/demo/edge-1/telemetry", "unknown kind 'telemetry'"),
        ("rfidwms/v1/de mo/edge-1/health", "site 'de mo' is not a valid topic segment"),
        ("rfidwms/v1/demo/+/health", "edge id '+' is not a valid topic segment"),
    ],
)
def test_a_wrong_topic_is_refused_by_name(name, named):
    with pytest.raises(PayloadError, match=re.escape(named)):
        parse_topic(name)


def test_a_batch_survives_encode_and_decode():
    b = batch()
    assert decode(TopicKind.OBSERVATIONS, encode(b)) == b
    assert b'"v":1' in encode(b)


def test_a_batch_of_observations_encoded_ahead_is_the_same_bytes():
    # the edge encodes a flush's observations on a worker thread and only numbers each
    # batch in the spool's transaction: what the cloud gets must not change
    b = batch()
    many = [
        b.observations[0].model_copy(update={"rssi_dbm": None, "seen_count": 1}),
        *b.observations,
    ]
    for observations in (b.observations, many):
        ahead = encode_observation_batch(
            edge_id="edge-1",
            spool="0" * 32,
            seq=7,
            sent_at=T,
            observations=encode_observations(observations),
        )
        assert ahead == encode(batch(observations=observations))
        assert decode(TopicKind.OBSERVATIONS, ahead) == batch(observations=observations)
    with pytest.raises(ValueError, match="at least one observation"):
        encode_observation_batch(
            edge_id="edge-1", spool="0" * 32, seq=7, sent_at=T, observations=b"[]"
        )


@pytest.mark.parametrize(
    ("payload", "named"),
    [
        (b"not json", "ObservationBatch.(payload): Invalid JSON"),
        (
            encode(batch()).replace(b"3034257BF7194E4000001A85", b"xyz"),
            "ObservationBatch.observations.0.epc: String should match pattern",
        ),
        (
            encode(batch()).replace(b'"seq":7', b'"seq":-1'),
            "ObservationBatch.seq: Input should be greater than or equal to 0 (got -1)",
        ),
        (encode(batch()).replace(b'"v":1', b'"v":2'), "ObservationBatch.v: Input should be 1"),
        (
            encode(batch()).replace(b'"seq":7', b'"seq":7,"extra":1'),
            "ObservationBatch.extra: Extra inputs are not permitted",
        ),
        (
            encode(batch()).replace(b"+00:00", b"").replace(b"Z", b""),
            "Input should have timezone info",
        ),
        (encode(batch(observations=[])), "observations: List should have at least 1 item"),
    ],
)
def test_a_bad_payload_is_refused_naming_the_field(payload, named):
    with pytest.raises(PayloadError) as e:
        decode(TopicKind.OBSERVATIONS, payload)
    assert named in str(e.value)


def test_status_is_online_or_offline():
    assert decode(TopicKind.STATUS, b'{"v":1,"edge_id":"e","state":"offline"}') == EdgeStatus(
        edge_id="e", state="offline"
    )
    with pytest.raises(PayloadError, match=r"EdgeStatus\.state"):
        decode(TopicKind.STATUS, b'{"v":1,"edge_id":"e","state":"asleep"}')


@pytest.mark.parametrize(
    ("url", "host", "port", "user", "password", "tls"),
    [
        ("mqtt://127.0.0.1:1883", "127.0.0.1", 1883, None, None, False),
        ("mqtt://broker", "broker", 1883, None, None, False),
        ("mqtts://broker", "broker", 8883, None, None, True),
        ("mqtt://edge-1:p%40ss@mosquitto:1884", "mosquitto", 1884, "edge-1", "p@ss", False),
    ],
)
def test_mqtt_urls(url, host, port, user, password, tls):
    u = parse_mqtt_url(url)
    assert (u.host, u.port, u.username, u.password, u.tls) == (host, port, user, password, tls)


@pytest.mark.parametrize(
    ("url", "named"),
    [("http://x", "scheme must be"), ("mqtt://", "no host"), ("mqtt://h:99999", "port")],
)
def test_a_wrong_mqtt_url_is_refused(url, named):
    with pytest.raises(ValueError, match=named):
        parse_mqtt_url(url)


@pytest.mark.parametrize("key", ["²", "x", "", "123456"])
def test_reader_health_antenna_keys_are_antenna_numbers(key):
    payload = (
        b'{"v":1,"edge_id":"e","at":"2026-11-23T08:00:00Z","readers":[{"reader_id":"r",'
        b'"state":"inventorying","reads_per_s":{"' + key.encode() + b'":1.0}}]}'
    )
    with pytest.raises(PayloadError, match="reads_per_s"):
        decode(TopicKind.HEALTH, payload)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("mqtt://edge-1:s3cret@mosquitto:1883", "mqtt://edge-1:***@mosquitto:1883"),
        ("mqtt://edge-1@mosquitto", "mqtt://edge-1@mosquitto"),
        ("mqtt://127.0.0.1:1883", "mqtt://127.0.0.1:1883"),
        ("postgresql://postgres:pw@db:5432/x", "postgresql://postgres:***@db:5432/x"),
        ("mqtt://u:p@ss@host:1883", "mqtt://u:***@host:1883"),
        ("mqtt://u:a/b@host", "mqtt://u:***@host"),
    ],
)
def test_urls_are_shown_without_their_password(url, shown):
    assert redact_url(url) == shown


def test_a_url_in_a_message_is_redacted_and_the_message_kept():
    msg = (
        "MQTT URL 'mqtt://edge-1:***@mosquitto:x': port is not a number 1-65535 (a password "
        "with any of / # ? @ : must be percent-encoded, e.g. / as %2F)"
    )
    assert redact_url(msg) == msg
    assert redact_url("cannot reach mqtt://u:p@ss@h:1883 (refused) at 08:00 @ dock") == (
        "cannot reach mqtt://u:***@h:1883 (refused) at 08:00 @ dock"
    )


def test_a_settings_error_with_an_at_sign_keeps_its_reason(monkeypatch):
    monkeypatch.setenv("RFIDWMS_MQTT_URL", "mqtt://edge-1:a/b@mosquitto:1883")
    with pytest.raises(SettingsError) as e:
        load_settings(CommonSettings)
    text = str(e.value)
    assert "a/b" not in text
    assert "port is not a number 1-65535" in text and "must be percent-encoded" in text


def test_an_unparsable_url_is_refused_without_showing_the_password():
    with pytest.raises(ValueError) as e:
        parse_mqtt_url("mqtt://edge-1:a/b@mosquitto:1883")
    assert "a/b" not in str(e.value) and "percent-encoded" in str(e.value)


def _health_with_events(events: str) -> bytes:
    return (
        b'{"v":1,"edge_id":"e","at":"2026-11-23T08:00:00Z","readers":[{"reader_id":"r",'
        b'"state":"inventorying"' + events.encode() + b"}]}"
    )


def test_a_health_message_without_reader_events_is_still_valid():
    health = decode(TopicKind.HEALTH, _health_with_events(""))
    assert isinstance(health, EdgeHealth)
    assert health.readers[0].events is None
    assert b"events" not in encode(health)  # nor does an edge without any send the field


@pytest.mark.parametrize(
    ("event", "kind", "antenna"),
    [
        ('{"kind":"antenna_disconnected","time":"2026-11-23T08:00:01Z","antenna":2}',
         ReaderEventKind.ANTENNA_DISCONNECTED, 2),
        ('{"kind":"antenna_connected","time":"2026-11-23T08:00:01Z","antenna":65535}',
         ReaderEventKind.ANTENNA_CONNECTED, 65535),
        ('{"kind":"connection_lost","time":"2026-11-23T08:00:01Z","detail":"connection closed"}',
         ReaderEventKind.CONNECTION_LOST, None),
        ('{"kind":"reader_exception","time":"2026-11-23T08:00:01Z"}',
         ReaderEventKind.READER_EXCEPTION, None),
    ],
)  # fmt: skip
def test_reader_events_ride_in_the_readers_health(event, kind, antenna):
    health = decode(TopicKind.HEALTH, _health_with_events(f',"events":[{event}]'))
    assert isinstance(health, EdgeHealth)
    (got,) = health.readers[0].events or []
    assert (got.kind, got.antenna) == (kind, antenna)
    assert decode(TopicKind.HEALTH, encode(health)) == health


@pytest.mark.parametrize(
    ("event", "named"),
    [
        ('{"kind":"antenna_disconnected","time":"2026-11-23T08:00:01Z"}',
         "readers.0.events.0: Value error, kind 'antenna_disconnected' needs an antenna"),
        ('{"kind":"silent","time":"2026-11-23T08:00:01Z","antenna":1}',
         "readers.0.events.0: Value error, kind 'silent' takes no antenna"),
        ('{"kind":"exploded","time":"2026-11-23T08:00:01Z"}', "readers.0.events.0.kind"),
        ('{"kind":"silent","time":"2026-11-23T08:00:01"}', "readers.0.events.0.time"),
        ('{"kind":"antenna_connected","time":"2026-11-23T08:00:01Z","antenna":0}',
         "readers.0.events.0.antenna"),
        ('{"kind":"silent","time":"2026-11-23T08:00:01Z","detail":"' + "x" * 301 + '"}',
         "readers.0.events.0.detail"),
        ('{"kind":"silent","time":"2026-11-23T08:00:01Z","why":"x"}', "readers.0.events.0.why"),
    ],
)  # fmt: skip
def test_a_bad_reader_event_is_refused_naming_its_field(event, named):
    with pytest.raises(PayloadError, match=re.escape(f"EdgeHealth.{named}")):
        decode(TopicKind.HEALTH, _health_with_events(f',"events":[{event}]'))


def test_a_reader_carries_at_most_32_events():
    one = '{"kind":"silent","time":"2026-11-23T08:00:01Z"}'
    with pytest.raises(PayloadError, match=r"readers\.0\.events"):
        decode(TopicKind.HEALTH, _health_with_events(f',"events":[{",".join([one] * 33)}]'))
