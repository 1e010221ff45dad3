"""Observation batches as the cloud receives them: decoded once, by msgspec, into slotted
structs. Pure.

:class:`protocols.mqtt.ObservationBatch` (pydantic) is the schema: the edge builds its
batches with it, and ``docs/mqtt.md`` describes it. Decoding a batch with it costs about
2 µs per observation, a fifth of all that ingest did per observation (its three string
patterns alone are most of that); the cloud decodes every batch an edge sends, so it
decodes them here instead, to the same rules:

- msgspec checks the structure, the types and the numeric bounds while it parses (no
  unknown field, ``v`` 1, times with a UTC offset, antenna 1-65535, RSSI -128-127 or
  absent, seen count 1-10⁹, seq 0-2⁶³-1, 1-5,000 observations);
- the string patterns are checked once per batch: the EPCs with one match over all of
  them, the readers and read points once per distinct value (a batch names a few).

What this decoder refuses, :func:`decode_observations` hands to the schema, which
accepts what it does in lax mode (a number as a string, a time as seconds) and names
the field and value of anything wrong: the two decoders accept the same batches, and a
refusal reads the same as before. ``tests/protocols/test_observations_in.py`` holds them
to it.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, ClassVar, Literal

import msgspec

from protocols.mqtt import (
    MAX_BATCH_OBSERVATIONS,
    MAX_PAYLOAD_BYTES,
    EdgeHealth,
    EdgeStatus,
    EventBatch,
    ObservationBatch,
    TopicKind,
    decode,
)
from protocols.types import EPC_HEX_PATTERN, ID_RE, READ_POINT_PATTERN

_Time = Annotated[datetime, msgspec.Meta(tz=True)]


class ObservationIn(msgspec.Struct, frozen=True, gc=False, forbid_unknown_fields=True):
    """One observation of a received batch (the fields of
    :class:`protocols.mqtt.Observation`)."""

    epc: str
    reader_id: str
    antenna: Annotated[int, msgspec.Meta(ge=1, le=65535)]
    read_point: str
    first_seen: _Time
    last_seen: _Time
    rssi_dbm: Annotated[float, msgspec.Meta(ge=-128, le=127)] | None = None
    seen_count: Annotated[int, msgspec.Meta(ge=1, le=1_000_000_000)] = 1


class ObservationBatchIn(msgspec.Struct, frozen=True, gc=False, forbid_unknown_fields=True):
    """A received :class:`protocols.mqtt.ObservationBatch`."""

    edge_id: str
    spool: str
    seq: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
    sent_at: _Time
    observations: Annotated[
        list[ObservationIn], msgspec.Meta(min_length=1, max_length=MAX_BATCH_OBSERVATIONS)
    ]
    v: Literal[1] = 1

    schema_name: ClassVar[str] = "ObservationBatch"
    """The schema's name, which error messages about a batch start with."""


_DECODER = msgspec.json.Decoder(ObservationBatchIn)
_SPOOL_RE = re.compile(r"[0-9a-f]{32}")
_EPC_RE = EPC_HEX_PATTERN.removeprefix("^").removesuffix("$")
_EPC_LINES = re.compile(f"{_EPC_RE}(?:\n{_EPC_RE})*")
"""The EPCs of a batch, one a line (no EPC can hold a line break: the count of lines
is checked too)."""
_READ_POINT_RE = re.compile(READ_POINT_PATTERN)


def _rules_kept(batch: ObservationBatchIn) -> bool:
    """Whether the batch's strings follow the schema's patterns (``fullmatch``: unlike
    ``match`` with ``$``, it takes no trailing line break, as pydantic does not)."""
    if ID_RE.fullmatch(batch.edge_id) is None or _SPOOL_RE.fullmatch(batch.spool) is None:
        return False
    obs = batch.observations
    epcs = "\n".join([o.epc for o in obs])
    if epcs.count("\n") != len(obs) - 1 or _EPC_LINES.fullmatch(epcs) is None:
        return False
    if not all(ID_RE.fullmatch(r) for r in {o.reader_id for o in obs}):
        return False
    return all(_READ_POINT_RE.fullmatch(p) for p in {o.read_point for o in obs})


def from_schema(batch: ObservationBatch) -> ObservationBatchIn:
    """The received form of a batch the schema validated (or the edge built)."""
    return msgspec.convert(batch.model_dump(), ObservationBatchIn)


def decode_observations(data: bytes) -> ObservationBatchIn:
    """Decode and validate an observation batch; raise
    :class:`protocols.mqtt.PayloadError` naming the field and value, as
    :func:`protocols.mqtt.decode` does (it decides whenever this decoder refuses)."""
    if len(data) <= MAX_PAYLOAD_BYTES:
        try:
            batch = _DECODER.decode(data)
        except msgspec.DecodeError:  # ValidationError is one too
            pass
        else:
            if _rules_kept(batch):
                return batch
    checked = decode(TopicKind.OBSERVATIONS, data)  # raises PayloadError naming the field
    assert isinstance(checked, ObservationBatch)
    return from_schema(checked)


ReceivedPayload = ObservationBatchIn | EventBatch | EdgeHealth | EdgeStatus
"""A payload as the cloud holds it once decoded."""
ReceivedBatch = ObservationBatchIn | EventBatch
"""The received payloads numbered by an edge's spool and ingested exactly once."""


def schema_name(payload: ReceivedPayload) -> str:
    """The schema's name of a payload (``ObservationBatch``, ``EdgeHealth``, ...)."""
    return (
        ObservationBatchIn.schema_name
        if isinstance(payload, ObservationBatchIn)
        else (type(payload).__name__)
    )


def decode_received(kind: TopicKind, data: bytes) -> ReceivedPayload:
    """:func:`protocols.mqtt.decode`, with observation batches in their received form."""
    if kind is TopicKind.OBSERVATIONS:
        return decode_observations(data)
    payload = decode(kind, data)
    assert not isinstance(payload, ObservationBatch)
    return payload
