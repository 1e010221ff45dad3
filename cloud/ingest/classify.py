"""Sort one received MQTT message into an accepted payload or a dead letter. Pure.

A message is dead-lettered with a reason naming what is wrong: a topic outside
the schema, a payload larger than the limit or not valid JSON or violating the
schema, a site this cloud does not serve, an edge id in the payload that differs
from the topic's, an edge, reader or read point the site's layout does not give that edge
(:mod:`cloud.ingest.ownership`), or a time the cloud cannot trust (see
:func:`untrusted_time`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cloud.ingest.ownership import SiteDevices
from protocols.mqtt import (
    MAX_PAYLOAD_BYTES,
    EdgeHealth,
    EdgeStatus,
    EventBatch,
    PassageMessage,
    PayloadError,
    TopicAddress,
    TopicKind,
    parse_topic,
    shorten,
)
from protocols.observations_in import (
    ObservationBatchIn,
    ReceivedPayload,
    decode_received,
    schema_name,
)

EARLIEST_TIME = datetime(2000, 1, 1, tzinfo=UTC)
"""No time in a message may be earlier: an edge whose clock says so has no clock."""
DEFAULT_MAX_CLOCK_SKEW = timedelta(seconds=300)


@dataclass(frozen=True, slots=True)
class Accepted:
    topic: str
    address: TopicAddress
    payload: ReceivedPayload
    retained: bool
    received_at: datetime
    raw: bytes
    """The payload as received."""
    digest: bytes
    """SHA-256 of ``raw``: a batch sent again carries the same bytes."""


BatchKey = tuple[str, str, int]
"""(edge_id, spool, seq): what makes a batch unique."""

_SPOOL_ID = re.compile(r"^[0-9a-f]{32}\Z")
_SPOOLED_KINDS = (TopicKind.OBSERVATIONS, TopicKind.EVENTS)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    topic: str
    payload: bytes
    reason: str
    received_at: datetime
    retained: bool = False
    batch: BatchKey | None = None
    """The spooled batch this was, when that can be told (the cloud confirms it to its
    edge, which would otherwise send it again for ever); None for anything else."""


def batch_key(address: TopicAddress, payload: bytes) -> BatchKey | None:
    """The (edge, spool, seq) of a spooled batch that is not valid, when its topic and
    JSON still tell them (the edge is the topic's: the broker's ACL vouches for it)."""
    if address.kind not in _SPOOLED_KINDS or len(payload) > MAX_PAYLOAD_BYTES:
        return None
    try:
        body = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    spool, seq = body.get("spool"), body.get("seq")
    if not isinstance(spool, str) or not _SPOOL_ID.match(spool):
        return None
    if type(seq) is not int or not 0 <= seq < 2**63:
        return None
    return (address.edge_id, spool, seq)


def classify(
    topic: str,
    payload: bytes,
    *,
    sites: Mapping[str, SiteDevices],
    retained: bool,
    received_at: datetime,
    max_clock_skew: timedelta = DEFAULT_MAX_CLOCK_SKEW,
) -> Accepted | DeadLetter:
    try:
        address = parse_topic(topic)
    except PayloadError as e:
        return DeadLetter(topic, payload, str(e), received_at, retained)

    devices = sites.get(address.site)

    def dead(reason: str) -> DeadLetter:
        key = batch_key(address, payload) if devices is not None else None
        return DeadLetter(topic, payload, reason, received_at, retained, key)

    if devices is None:
        served = ", ".join(repr(s) for s in sites)
        return dead(
            f"topic {shorten(topic, 200)!r} is for site {address.site!r}, "
            f"this cloud serves {shorten(served, 200)}"
        )
    try:
        decoded = decode_received(address.kind, payload)
    except PayloadError as e:
        return dead(str(e))
    if decoded.edge_id != address.edge_id:
        return dead(
            f"{schema_name(decoded)}.edge_id {decoded.edge_id!r} differs from the topic's "
            f"edge id {address.edge_id!r}"
        )
    refused = devices.refusal(address.edge_id, decoded)
    if refused is not None:
        return dead(refused)
    bad_time = untrusted_time(decoded, received_at=received_at, max_clock_skew=max_clock_skew)
    if bad_time is not None:
        return dead(bad_time)
    digest = hashlib.sha256(payload).digest()
    return Accepted(topic, address, decoded, retained, received_at, payload, digest)


def _times(payload: ReceivedPayload) -> Iterator[tuple[str, datetime]]:
    """Every (field path, time) of a payload."""
    name = schema_name(payload)
    if isinstance(payload, ObservationBatchIn):
        yield f"{name}.sent_at", payload.sent_at
        for i, o in enumerate(payload.observations):
            yield f"{name}.observations.{i}.first_seen", o.first_seen
            yield f"{name}.observations.{i}.last_seen", o.last_seen
    elif isinstance(payload, EventBatch):
        yield f"{name}.sent_at", payload.sent_at
        for i, ev in enumerate(payload.events):
            yield f"{name}.events.{i}.time", ev.time
            if isinstance(ev, PassageMessage):
                for side in ("outside", "inside"):
                    e = getattr(ev.evidence, side)
                    for what in ("first_seen", "last_seen"):
                        t = getattr(e, what)
                        if t is not None:
                            yield f"{name}.events.{i}.evidence.{side}.{what}", t
    elif isinstance(payload, EdgeHealth):
        yield f"{name}.at", payload.at
        for i, r in enumerate(payload.readers):
            if r.last_report_at is not None:
                yield f"{name}.readers.{i}.last_report_at", r.last_report_at
    elif isinstance(payload, EdgeStatus) and payload.at is not None:
        yield f"{name}.at", payload.at


def _observation_times_fine(batch: ObservationBatchIn, latest: datetime) -> bool:
    """Whether every time of ``batch`` is within [EARLIEST_TIME, latest] and no
    observation's first_seen is after its last_seen: one pass, no message built. When
    not, :func:`untrusted_time` walks the times in order to name the first bad one."""
    lo = hi = batch.sent_at
    for o in batch.observations:
        first, last = o.first_seen, o.last_seen
        if first > last:
            return False
        if first < lo:
            lo = first
        if last > hi:
            hi = last
    return lo >= EARLIEST_TIME and hi <= latest


def untrusted_time(
    payload: ReceivedPayload, *, received_at: datetime, max_clock_skew: timedelta
) -> str | None:
    """Why a time in ``payload`` cannot be stored, or None when every time is fine.

    A time later than ``received_at + max_clock_skew`` would freeze a tag or reader
    (newer data never overrides it) and may not even be representable in UTC; one
    before :data:`EARLIEST_TIME` is a clock never set; an observation whose
    first_seen is after its last_seen contradicts itself.
    """
    latest = received_at + max_clock_skew
    if isinstance(payload, ObservationBatchIn) and _observation_times_fine(payload, latest):
        return None
    for path, t in _times(payload):
        if t > latest:
            return (
                f"{path}: {t.isoformat()} is later than the time the cloud received the "
                f"message ({received_at.isoformat()}) plus the allowed clock skew of "
                f"{max_clock_skew.total_seconds():g} s (RFIDWMS_INGEST_MAX_CLOCK_SKEW_S); "
                "is the edge's clock right?"
            )
        if t < EARLIEST_TIME:
            return (
                f"{path}: {t.isoformat()} is before {EARLIEST_TIME.date()}; "
                "is the edge's clock set?"
            )
    if isinstance(payload, ObservationBatchIn):
        for i, o in enumerate(payload.observations):
            if o.first_seen > o.last_seen:
                return (
                    f"ObservationBatch.observations.{i}: first_seen {o.first_seen.isoformat()} "
                    f"is after last_seen {o.last_seen.isoformat()}"
                )
    return None
