"""The event core's events become the protocol's messages field for field."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from edge.agent import reader_status
from edge.event_messages import event_message, weight_message
from edge.events import (
    Passage,
    PassageEvidence,
    ReaderStatus,
    SideEvidence,
    ZoneEvent,
    ZoneEventKind,
)
from protocols import mqtt
from protocols.mqtt import ReaderState

T = datetime(2025, 1, 6, 8, 0, 1, 250000, tzinfo=UTC)
PALLET = "3114257BF400EBA58A000000"
CASE = "3074257BF7194E4000001A85"
OUTSIDE = SideEvidence(4, -41.0, T, T)
INSIDE = SideEvidence(2, None, None, None)


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (
            ZoneEvent(ZoneEventKind.ARRIVED, PALLET, "zone-a", T),
            {"type": "zone", "kind": "arrived", "epc": PALLET, "zone": "zone-a", "time": T},
        ),
        (
            ZoneEvent(ZoneEventKind.MOVED, PALLET, "zone-b", T, "zone-a"),
            {"type": "zone", "kind": "moved", "epc": PALLET, "zone": "zone-b",
             "from_zone": "zone-a", "time": T},
        ),
        (
            ZoneEvent(ZoneEventKind.DEPARTED, CASE, "packing", T),
            {"type": "zone", "kind": "departed", "epc": CASE, "zone": "packing", "time": T},
        ),
        (
            ZoneEvent(ZoneEventKind.UNKNOWN, PALLET, "zone-c", T),
            {"type": "zone", "kind": "unknown", "epc": PALLET, "zone": "zone-c", "time": T},
        ),
        (
            ZoneEvent(ZoneEventKind.PRESENT, PALLET, "zone-c", T),
            {"type": "zone", "kind": "present", "epc": PALLET, "zone": "zone-c", "time": T},
        ),
        (
            Passage("door-2", "outbound", T, PALLET, (CASE,), 0.875,
                    PassageEvidence(OUTSIDE, INSIDE)),
            {"type": "passage", "door": "door-2", "direction": "outbound", "epc": PALLET,
             "cases": [CASE], "confidence": 0.875, "time": T,
             "evidence": {
                 "outside": {"reads": 4, "peak_rssi_dbm": -41.0, "first_seen": T, "last_seen": T},
                 "inside": {"reads": 2}}},
        ),
        (
            Passage("door-1", "inbound", T, CASE, (), 0.5, PassageEvidence(INSIDE, OUTSIDE)),
            {"type": "passage", "door": "door-1", "direction": "inbound", "epc": CASE,
             "cases": [], "confidence": 0.5, "time": T,
             "evidence": {
                 "outside": {"reads": 2},
                 "inside": {"reads": 4, "peak_rssi_dbm": -41.0, "first_seen": T, "last_seen": T}}},
        ),
    ],
)  # fmt: skip
def test_each_core_event_becomes_its_protocol_message(event, expected):
    message = event_message(event)
    assert message.model_dump(exclude_none=True) == expected
    batch = mqtt.EventBatch(edge_id="edge-1", spool="0" * 32, seq=0, sent_at=T, events=[message])
    decoded = mqtt.decode(mqtt.TopicKind.EVENTS, mqtt.encode(batch))
    assert isinstance(decoded, mqtt.EventBatch) and decoded.events == [message]


@pytest.mark.parametrize(
    ("epc", "cases", "candidates", "expected"),
    [
        (PALLET, (CASE,), (PALLET,), {"type": "weight", "scale": "scale-1", "weight_kg": 412.5,
                                      "epc": PALLET, "cases": [CASE], "candidates": [PALLET],
                                      "time": T}),
        (None, (), (), {"type": "weight", "scale": "scale-1", "weight_kg": 412.5, "cases": [],
                        "candidates": [], "time": T}),
    ],
)  # fmt: skip
def test_a_stable_weight_becomes_a_weight_message_with_or_without_its_pallet(
    epc, cases, candidates, expected
):
    message = weight_message("scale-1", 412.5, epc, T, cases, candidates)
    assert message.model_dump(exclude_none=True) == expected


def test_anything_else_is_refused_by_type():
    with pytest.raises(TypeError, match="neither a ZoneEvent nor a Passage"):
        event_message("arrived")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("state", "silent", "status"),
    [
        (ReaderState.INVENTORYING, False, ReaderStatus.UP),
        (ReaderState.INVENTORYING, True, ReaderStatus.SILENT),
        (ReaderState.CONNECTED, False, ReaderStatus.DOWN),
        (ReaderState.CONNECTING, False, ReaderStatus.DOWN),
        (ReaderState.DISCONNECTED, False, ReaderStatus.DOWN),
        (ReaderState.DISCONNECTED, True, ReaderStatus.DOWN),
    ],
)
def test_the_core_hears_a_reader_up_only_while_it_inventories_and_speaks(state, silent, status):
    assert reader_status(state, silent) is status
