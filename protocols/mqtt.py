"""MQTT topics and payloads between edge agents and the cloud (schema version 1).

Every topic starts with ``rfidwms/v1/<site>/<edge-id>/``; the version in the
topic changes only when a payload changes incompatibly, so old and new edges
can share a broker during an upgrade. Payloads are UTF-8 JSON objects with a
``v`` field carrying the same version. See ``docs/mqtt.md``.

| topic suffix     | QoS | retained | payload                 |
|------------------|-----|----------|-------------------------|
| ``observations`` | 1   | no       | :class:`ObservationBatch` |
| ``events``       | 1   | no       | :class:`EventBatch` (zone events, door passages, weights) |
| ``health``       | 1   | no       | :class:`EdgeHealth`       |
| ``status``       | 1   | yes      | :class:`EdgeStatus` (also the last will: ``offline``) |

The cloud answers on ``rfidwms/v1/<site>/_cloud/acks/<edge-id>`` (:func:`ack_topic`,
QoS 1, not retained) with a :class:`BatchAck` after it has committed an edge's
batches: only then does the edge drop them from its spool.

Between cloud processes: each ingester publishes what each committed transaction
changed on ``rfidwms/v1/<site>/_cloud/live/<publisher>`` (:func:`live_topic`, QoS 1,
retained) for the live hub of every API node.
"""

from __future__ import annotations

import hashlib
import re
import ssl
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal, TypeVar
from urllib.parse import unquote, urlsplit

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from protocols.types import ID_RE, DeviceId, EpcHex, Rate, ReadPointName, Seconds

SCHEMA_VERSION: Literal[1] = 1
TOPIC_ROOT = f"rfidwms/v{SCHEMA_VERSION}"
MAX_BATCH_OBSERVATIONS = 5000
MAX_BATCH_EVENTS = 5000
MAX_PASSAGE_CASES = 512
MAX_WEIGHT_CANDIDATES = 16
MAX_READERS_PER_HEALTH = 256
MAX_ANTENNAS_PER_READER = 64
MAX_EVENTS_PER_READER = 32
"""Reader events one :class:`ReaderHealth` carries at most (the edge keeps the newest)."""
MAX_EVENT_DETAIL = 300
MAX_ACK_SEQS = 10_000
"""Sequence numbers in one :class:`BatchAck` (a larger answer is split)."""
MAX_PAYLOAD_BYTES = 4 * 1024 * 1024
"""The largest message payload: a full batch of the largest observations fits in about
2.5 MB. The broker refuses larger ones (``message_size_limit``) and the cloud
dead-letters them before parsing."""


class TopicKind(StrEnum):
    OBSERVATIONS = "observations"
    EVENTS = "events"
    HEALTH = "health"
    STATUS = "status"


class PayloadError(ValueError):
    """A message that does not follow the schema; the message names the field and value."""


@dataclass(frozen=True, slots=True)
class TopicAddress:
    site: str
    edge_id: str
    kind: TopicKind


def _segment(name: str, value: str) -> str:
    if not ID_RE.match(value):
        raise PayloadError(
            f"{name} {shorten(value, 80)!r} is not a valid topic segment "
            "(letters, digits, '_', '.', '-'; 1-63 characters)"
        )
    return value


def topic(site: str, edge_id: str, kind: TopicKind) -> str:
    """``rfidwms/v1/<site>/<edge-id>/<kind>``."""
    return f"{TOPIC_ROOT}/{_segment('site', site)}/{_segment('edge id', edge_id)}/{kind.value}"


def subscription(site: str, kind: TopicKind | None = None) -> str:
    """The filter for every edge of ``site`` (``'+'`` for every site), one kind or all."""
    suffix = kind.value if kind is not None else "+"
    site_part = site if site == "+" else _segment("site", site)
    return f"{TOPIC_ROOT}/{site_part}/+/{suffix}"


def shared_subscription(group: str, topic_filter: str) -> str:
    """An MQTT 5 shared subscription: brokers hand each message to one member of ``group``."""
    return f"$share/{_segment('group', group)}/{topic_filter}"


CLOUD_SEGMENT = "_cloud"
"""The topic segment under a site that only the cloud writes (no edge id can start with
``_``); its topics have six levels, so the cloud's ``+/+`` filter never matches them."""


def ack_topic(site: str, edge_id: str) -> str:
    """``rfidwms/v1/<site>/_cloud/acks/<edge-id>``: where the cloud confirms what it
    committed of ``edge_id``'s batches (:class:`BatchAck`)."""
    return (
        f"{TOPIC_ROOT}/{_segment('site', site)}/{CLOUD_SEGMENT}/acks/{_segment('edge id', edge_id)}"
    )


def live_topic(site: str, publisher: str) -> str:
    """``rfidwms/v1/<site>/_cloud/live/<publisher>``: where one cloud ingester publishes
    what each of its committed transactions changed, for the live hub of every API node
    (QoS 1, retained: a node subscribing hears where each publisher stands). The
    payload is the cloud's own (``cloud/live/wire.py``); no edge reads or writes it."""
    return (
        f"{TOPIC_ROOT}/{_segment('site', site)}/{CLOUD_SEGMENT}/live/"
        f"{_segment('live publisher', publisher)}"
    )


def live_subscription(site: str) -> str:
    """The filter for every publisher's live deltas of ``site``."""
    return f"{TOPIC_ROOT}/{_segment('site', site)}/{CLOUD_SEGMENT}/live/+"


def live_publisher(client_id: str) -> str:
    """The topic segment naming an ingester of MQTT client id ``client_id`` (the same
    across its restarts): the id itself when it is a valid segment, else a digest of it."""
    if ID_RE.fullmatch(client_id):
        return client_id
    return "id-" + hashlib.sha256(client_id.encode("utf-8")).hexdigest()[:20]


def parse_topic(name: str) -> TopicAddress:
    parts = name.split("/")
    if len(parts) != 5 or "/".join(parts[:2]) != TOPIC_ROOT:
        raise PayloadError(
            f"topic {shorten(name, 200)!r} is not of the form {TOPIC_ROOT}/<site>/<edge>/<kind>"
        )
    site, edge_id, kind = parts[2:]
    try:
        k = TopicKind(kind)
    except ValueError:
        raise PayloadError(f"topic {shorten(name, 200)!r}: unknown kind {kind!r:.80}") from None
    return TopicAddress(_segment("site", site), _segment("edge id", edge_id), k)


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    v: Literal[1] = SCHEMA_VERSION


class Observation(BaseModel):
    """One tag seen by one antenna, as the edge summarises the reader's reports."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    epc: EpcHex
    reader_id: DeviceId
    antenna: int = Field(ge=1, le=65535)
    read_point: ReadPointName
    rssi_dbm: float | None = Field(default=None, ge=-128, le=127, allow_inf_nan=False)
    first_seen: AwareDatetime
    last_seen: AwareDatetime
    seen_count: int = Field(default=1, ge=1, le=1_000_000_000)


class _SpooledHead(_Payload):
    """What every batch numbered by an edge's spool starts with."""

    edge_id: DeviceId
    spool: str = Field(pattern=r"^[0-9a-f]{32}$", description="the edge spool's id")
    seq: int = Field(ge=0, le=2**63 - 1)
    sent_at: AwareDatetime


class ObservationBatch(_SpooledHead):
    """Observations an edge publishes together. ``seq`` rises by one per batch within
    one spool and survives restarts; ``spool`` names that spool (a new spool, e.g. after
    its disk was lost, gets a new id and counts from 0 again). The cloud ingests each
    (edge, spool, seq) once."""

    observations: list[Observation] = Field(min_length=1, max_length=MAX_BATCH_OBSERVATIONS)


class ReaderState(StrEnum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    INVENTORYING = "inventorying"
    DISCONNECTED = "disconnected"


class ReaderEventKind(StrEnum):
    """What happened to a reader, as its edge saw it."""

    UNREACHABLE = "unreachable"
    """A TCP connection could not be made (refused, timed out, no route)."""
    REFUSED = "refused"
    """The peer accepted TCP but refused the LLRP session, or did not speak LLRP."""
    CONNECTION_LOST = "connection_lost"
    """An established connection ended (closed, lost, or silent too long)."""
    RECONNECTED = "reconnected"
    """Connected and inventorying again after one of the faults above."""
    SILENT = "silent"
    """The connection is up but the reader has said nothing for two keepalive intervals."""
    SPEAKING = "speaking"
    """After ``silent``: the reader spoke again."""
    READER_EXCEPTION = "reader_exception"
    """The reader sent a ReaderExceptionEvent (``detail``: its message)."""
    LLRP_ERROR = "llrp_error"
    """The reader sent an ERROR_MESSAGE, or reported its report buffer filling or
    overflowing."""
    ANTENNA_DISCONNECTED = "antenna_disconnected"
    """AntennaEvent: ``antenna`` was disconnected."""
    ANTENNA_CONNECTED = "antenna_connected"
    """AntennaEvent: ``antenna`` was connected (again)."""


ANTENNA_EVENT_KINDS = frozenset(
    {ReaderEventKind.ANTENNA_DISCONNECTED, ReaderEventKind.ANTENNA_CONNECTED}
)
FAULT_KINDS = frozenset(
    {
        ReaderEventKind.UNREACHABLE,
        ReaderEventKind.REFUSED,
        ReaderEventKind.CONNECTION_LOST,
        ReaderEventKind.SILENT,
        ReaderEventKind.READER_EXCEPTION,
        ReaderEventKind.LLRP_ERROR,
        ReaderEventKind.ANTENNA_DISCONNECTED,
    }
)
"""The kinds that are something going wrong (the others say it is right again)."""


class ReaderEventMessage(BaseModel):
    """A fault of a reader or an antenna event, as :class:`ReaderHealth` carries it.

    An edge repeats each event in a few health messages (health is not spooled): the
    cloud keeps one per (edge, reader, time, kind, antenna)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: ReaderEventKind
    time: AwareDatetime
    """When the edge saw it (the edge's clock)."""
    antenna: int | None = Field(default=None, ge=1, le=65535)
    """The antenna of an antenna event (required there); None otherwise."""
    detail: str = Field(default="", max_length=MAX_EVENT_DETAIL)

    @model_validator(mode="after")
    def _antenna_with_antenna_events(self) -> ReaderEventMessage:
        if (self.kind in ANTENNA_EVENT_KINDS) != (self.antenna is not None):
            need = "needs an" if self.antenna is None else "takes no"
            raise ValueError(f"kind {self.kind.value!r} {need} antenna (got {self.antenna})")
        return self


class ReaderHealth(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    reader_id: DeviceId
    state: ReaderState
    reads_per_s: dict[Annotated[str, Field(pattern=r"^[0-9]{1,5}$")], Rate] = Field(
        default_factory=dict,
        max_length=MAX_ANTENNAS_PER_READER,
        description="antenna id (as a string) -> tag reads per second",
    )
    last_report_at: AwareDatetime | None = None
    clock_offset_s: Seconds | None = Field(
        default=None,
        description="edge clock minus reader clock, estimated from report arrivals; the edge "
        "corrects read times by it when it exceeds 2 s",
    )
    events: list[ReaderEventMessage] | None = Field(
        default=None,
        max_length=MAX_EVENTS_PER_READER,
        description="the reader's recent faults and antenna events, oldest first; each is "
        "repeated in a few health messages; optional (an edge without them is still v1)",
    )


class SpoolHealth(BaseModel):
    """The edge's on-disk spool: what waits there for the cloud's confirmation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    batches: int = Field(ge=0, le=2**63 - 1)
    bytes: int = Field(ge=0, le=2**63 - 1)
    max_bytes: int = Field(ge=0, le=2**63 - 1)
    full: bool
    """The spool refuses new batches (its size limit is reached, or its disk is full)."""
    refused_batches: int = Field(default=0, ge=0, le=2**63 - 1)
    """Batches refused because the spool was full, since the edge started: lost."""


class EdgeHealth(_Payload):
    edge_id: DeviceId
    at: AwareDatetime
    readers: list[ReaderHealth] = Field(default_factory=list, max_length=MAX_READERS_PER_HEALTH)
    spool: SpoolHealth | None = None
    """Optional (an edge that does not send it is still valid v1)."""


class EdgeStatus(_Payload):
    edge_id: DeviceId
    state: Literal["online", "offline"]
    at: AwareDatetime | None = None


class ZoneEventKind(StrEnum):
    ARRIVED = "arrived"
    """The tag is in ``zone`` now; it was in no zone before."""
    MOVED = "moved"
    """The tag went from ``from_zone`` to ``zone``."""
    DEPARTED = "departed"
    """The tag left ``zone`` (``time``: its last read there)."""
    UNKNOWN = "unknown"
    """Every reader of ``zone`` is down or silent: where the tag is cannot be told."""
    PRESENT = "present"
    """After ``unknown``: the recovered reader hears the tag in ``zone`` again."""


class ZoneEventMessage(BaseModel):
    """A tag's zone changed, as the edge's event core decided."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["zone"] = "zone"
    kind: ZoneEventKind
    epc: EpcHex
    zone: DeviceId
    from_zone: DeviceId | None = None
    time: AwareDatetime
    """When the movement happened as far as the reads show (not when it was decided)."""


class SideEvidence(BaseModel):
    """What one side of a door heard of a tag during one crossing."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reads: int = Field(ge=0, le=1_000_000_000)
    peak_rssi_dbm: float | None = Field(default=None, ge=-128, le=127, allow_inf_nan=False)
    first_seen: AwareDatetime | None = None
    last_seen: AwareDatetime | None = None


class PassageEvidence(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    outside: SideEvidence
    inside: SideEvidence


class PassageMessage(BaseModel):
    """A tag crossed a dock door. For a pallet ``epc`` is its SSCC-96 and ``cases`` the
    SGTIN-96 EPCs that crossed with it; a lone tag has no cases."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["passage"] = "passage"
    door: DeviceId
    direction: Literal["inbound", "outbound"]
    epc: EpcHex
    cases: list[EpcHex] = Field(default_factory=list, max_length=MAX_PASSAGE_CASES)
    confidence: float = Field(ge=0.0, le=1.0, allow_inf_nan=False)
    time: AwareDatetime
    """When the tag crossed the door's middle."""
    evidence: PassageEvidence


class WeightMessage(BaseModel):
    """A stable weight on a scale, with the pallet the edge found on it (if any)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["weight"] = "weight"
    scale: DeviceId
    weight_kg: float = Field(ge=-1e6, le=1e6, allow_inf_nan=False)
    epc: EpcHex | None = None
    """The pallet on the scale when the weight became stable, as the scale's read point
    heard it; None when the edge could not tell."""
    cases: list[EpcHex] = Field(default_factory=list, max_length=MAX_PASSAGE_CASES)
    """The SGTIN-96 EPCs of the cases that came onto the platform with the load (heard
    stronger once the weight settled than before it rolled on). Empty when none was
    heard; a case that is not in it was not heard on the platform, which alone does not
    mean it is missing (a read can be missed)."""
    candidates: list[EpcHex] = Field(default_factory=list, max_length=MAX_WEIGHT_CANDIDATES)
    """The pallets (SSCC-96 EPCs) the scale's read point heard that may be the one on
    the platform, the likeliest first (``epc`` is the first): one heard coming closer
    as the load rolled on ranks above one heard as well as before (a pallet parked
    beside the scale). Whoever knows which pallets still await a weight check can
    choose among them. Empty when the edge could not tell (and from edges before it)."""
    time: AwareDatetime


EventMessage = Annotated[
    ZoneEventMessage | PassageMessage | WeightMessage, Field(discriminator="type")
]


class EventBatch(_SpooledHead):
    """Events an edge publishes together, numbered in the same spool sequence as its
    observation batches: the cloud ingests each (edge, spool, seq) once."""

    events: list[EventMessage] = Field(min_length=1, max_length=MAX_BATCH_EVENTS)


class BatchAck(_Payload):
    """The cloud has committed these batches of one edge's spool: the edge may drop them.

    ``stored``: stored now or before (a batch sent again is confirmed again);
    ``dead_lettered``: the cloud could not use them and kept them in its dead-letter
    store with the reason (sending them again would not help). Sent on
    :func:`ack_topic`, after the commit."""

    edge_id: DeviceId
    spool: str = Field(pattern=r"^[0-9a-f]{32}$", description="the edge spool's id")
    stored: list[Annotated[int, Field(ge=0, le=2**63 - 1)]] = Field(
        default_factory=list, max_length=MAX_ACK_SEQS
    )
    dead_lettered: list[Annotated[int, Field(ge=0, le=2**63 - 1)]] = Field(
        default_factory=list, max_length=MAX_ACK_SEQS
    )


def encode_ack(ack: BatchAck) -> bytes:
    return ack.model_dump_json().encode("utf-8")


def decode_ack(data: bytes) -> BatchAck:
    """Decode and validate a :class:`BatchAck`; raise :class:`PayloadError` naming the field."""
    return _validated(BatchAck, data)


Payload = ObservationBatch | EventBatch | EdgeHealth | EdgeStatus
SpooledBatch = ObservationBatch | EventBatch
"""The payloads numbered by an edge's spool and ingested exactly once."""
_MODELS: dict[TopicKind, type[Payload]] = {
    TopicKind.OBSERVATIONS: ObservationBatch,
    TopicKind.EVENTS: EventBatch,
    TopicKind.HEALTH: EdgeHealth,
    TopicKind.STATUS: EdgeStatus,
}


def encode(payload: Payload) -> bytes:
    return payload.model_dump_json(exclude_none=True).encode("utf-8")


_OBSERVATIONS = TypeAdapter(list[Observation])


def encode_observations(observations: list[Observation]) -> bytes:
    """The JSON array of ``observations`` as :func:`encode` writes it in a batch: encoded
    ahead (off the event loop), then numbered by :func:`encode_observation_batch`."""
    return _OBSERVATIONS.dump_json(observations, exclude_none=True)


def encode_observation_batch(
    *, edge_id: str, spool: str, seq: int, sent_at: datetime, observations: bytes
) -> bytes:
    """:func:`encode` of the :class:`ObservationBatch` of these fields, byte for byte,
    with its ``observations`` encoded before (:func:`encode_observations`, at most
    :data:`MAX_BATCH_OBSERVATIONS`, at least one): the spool numbers a batch in its
    transaction, and a thousand observations are not encoded there again."""
    if not observations.startswith(b"[{"):
        raise ValueError("observations: an encoded batch holds at least one observation")
    head = _SpooledHead(edge_id=edge_id, spool=spool, seq=seq, sent_at=sent_at)
    return head.model_dump_json()[:-1].encode("utf-8") + b',"observations":' + observations + b"}"


def decode(kind: TopicKind, data: bytes) -> Payload:
    """Decode and validate a payload; raise :class:`PayloadError` naming the bad field.

    A payload larger than :data:`MAX_PAYLOAD_BYTES` is refused before it is parsed."""
    return _validated(_MODELS[kind], data)


_P = TypeVar("_P", bound=_Payload)


def _validated(model: type[_P], data: bytes) -> _P:
    if len(data) > MAX_PAYLOAD_BYTES:
        raise PayloadError(
            f"{model.__name__}: payload of {len(data)} bytes is larger than the limit of "
            f"{MAX_PAYLOAD_BYTES} bytes"
        )
    try:
        return model.model_validate_json(data)
    except ValidationError as e:
        first = e.errors()[0]
        loc = ".".join(shorten(str(p), 40) for p in first["loc"]) or "(payload)"
        value = first.get("input")
        shown = "" if isinstance(value, dict | list) or value is None else f" (got {value!r:.80})"
        more = f" (+{e.error_count() - 1} more)" if e.error_count() > 1 else ""
        raise PayloadError(f"{model.__name__}.{loc}: {first['msg']}{shown}{more}") from None


def shorten(text: str, most: int) -> str:
    """``text`` cut to ``most`` characters, saying how long it was: outside input can be
    megabytes long and must not end up whole in a log line or an error message."""
    if len(text) <= most:
        return text
    return f"{text[:most]}... ({len(text)} characters)"


@dataclass(frozen=True, slots=True)
class MqttUrl:
    """``mqtt://[user[:password]@]host[:port]`` (``mqtts://`` for TLS)."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False


def parse_mqtt_url(url: str) -> MqttUrl:
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts", "tcp"):
        raise ValueError(f"MQTT URL {redact_url(url)!r}: scheme must be mqtt:// or mqtts://")
    if not parts.hostname:
        raise ValueError(f"MQTT URL {redact_url(url)!r}: no host")
    tls = parts.scheme == "mqtts"
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError:
        raise ValueError(
            f"MQTT URL {redact_url(url)!r}: port is not a number 1-65535 (a password with "
            "any of / # ? @ : must be percent-encoded, e.g. / as %2F)"
        ) from None
    return MqttUrl(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        tls=tls,
    )


def tls_context(url: MqttUrl, ca_file: Path | None = None) -> ssl.SSLContext | None:
    """How to reach the broker of ``url``: None for ``mqtt://``; for ``mqtts://`` a TLS
    context that checks the broker's certificate and host name against the system's CAs,
    or, given ``ca_file`` (PEM, ``RFIDWMS_MQTT_CA_FILE``), against its CAs only (a
    private CA)."""
    if not url.tls:
        return None
    return ssl.create_default_context(cafile=str(ca_file) if ca_file is not None else None)


# user:password@ - the password runs to the URL's last '@' (an unencoded '@' in it is
# common), but never past the URL: a URL ends at white space, where the text around it
# (an error message naming the URL) goes on.
_CREDENTIALS = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:@/\s]*):\S*@", re.IGNORECASE)


def redact_url(url: str) -> str:
    """The URL without its password (``mqtt://edge-1:***@host:1883``), for logs and errors;
    also every URL in a text such as an error message, leaving the rest of the text."""
    return _CREDENTIALS.sub(lambda m: f"{m['head']}:***@", url)


def utc_iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")
