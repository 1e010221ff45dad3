"""The control message that tells a poison message from a broken database. Pure.

A message that keeps failing alone, the same way, is either poison (something in it
trips a trigger, a limit or a bug) or the database fails everything of its kind.
The ingester tells them apart by writing a harmless message of the same kind for
the same edge in a transaction it then rolls back: when that write succeeds, the
database stores such messages, and the failing one is a dead letter; when it fails
too, the trouble is the database's and the message is kept and retried.
"""

from __future__ import annotations

from cloud.ingest.classify import Accepted
from cloud.ingest.ownership import SiteDevices
from protocols.mqtt import (
    EdgeHealth,
    EdgeStatus,
    EventBatch,
    Observation,
    ObservationBatch,
    Payload,
    ReaderHealth,
    ReaderState,
    ZoneEventKind,
    ZoneEventMessage,
)
from protocols.observations_in import ObservationBatchIn, from_schema

CONTROL_EPC = "0" * 24
CONTROL_SPOOL = "0" * 32


def control_message(suspect: Accepted, devices: SiteDevices) -> Accepted | None:
    """A valid message of ``suspect``'s kind and edge with none of its content, or None
    when the layout gives nothing to build one from."""
    edge_id = suspect.address.edge_id
    at = suspect.received_at
    readers = sorted(r for r, e in devices.reader_edge.items() if e == edge_id) or sorted(
        devices.reader_edge
    )
    payload: Payload
    if isinstance(suspect.payload, EdgeStatus):
        payload = EdgeStatus(edge_id=edge_id, state=suspect.payload.state, at=at)
    elif not readers:
        return None
    elif isinstance(suspect.payload, EdgeHealth):
        payload = EdgeHealth(
            edge_id=edge_id,
            at=at,
            readers=[ReaderHealth(reader_id=readers[0], state=ReaderState.CONNECTING)],
        )
    elif isinstance(suspect.payload, EventBatch):
        places = sorted(devices.places.get(edge_id, ()))
        if not places:
            return None
        payload = EventBatch(
            edge_id=edge_id,
            spool=CONTROL_SPOOL,
            seq=0,
            sent_at=at,
            events=[
                ZoneEventMessage(
                    kind=ZoneEventKind.ARRIVED, epc=CONTROL_EPC, zone=places[0], time=at
                )
            ],
        )
    else:
        assert isinstance(suspect.payload, ObservationBatchIn)
        reader = readers[0]
        antenna, read_point = min(
            (a, p) for (r, a), p in devices.read_points.items() if r == reader
        )
        payload = ObservationBatch(
            edge_id=edge_id,
            spool=CONTROL_SPOOL,
            seq=0,
            sent_at=at,
            observations=[
                Observation(
                    epc=CONTROL_EPC,
                    reader_id=reader,
                    antenna=antenna,
                    read_point=read_point,
                    first_seen=at,
                    last_seen=at,
                )
            ],
        )
    raw = payload.model_dump_json(exclude_none=True).encode("utf-8")
    return Accepted(
        suspect.topic,
        suspect.address,
        from_schema(payload) if isinstance(payload, ObservationBatch) else payload,
        False,
        at,
        raw,
        b"control",
    )
