"""The event core's events as MQTT messages: one translation, nothing decided here.

:func:`event_message` turns a :class:`~edge.events.ZoneEvent` or
:class:`~edge.events.Passage` into the ``protocols.mqtt`` message that carries it in
an :class:`~protocols.mqtt.EventBatch`; :func:`weight_message` does the same for a
stable weight found on a scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from edge.events import Event, Passage, SideEvidence, ZoneEvent
from protocols import mqtt

__all__ = ["event_message", "weight_message"]


def _side(side: SideEvidence) -> mqtt.SideEvidence:
    return mqtt.SideEvidence(
        reads=side.reads,
        peak_rssi_dbm=side.peak_rssi_dbm,
        first_seen=side.first_seen,
        last_seen=side.last_seen,
    )


def event_message(event: Event) -> mqtt.ZoneEventMessage | mqtt.PassageMessage:
    """The message of one zone event or passage."""
    if isinstance(event, ZoneEvent):
        return mqtt.ZoneEventMessage(
            kind=mqtt.ZoneEventKind(event.kind.value),
            epc=event.epc,
            zone=event.zone,
            from_zone=event.from_zone,
            time=event.time,
        )
    if isinstance(event, Passage):
        return mqtt.PassageMessage(
            door=event.door,
            direction=event.direction,
            epc=event.epc,
            cases=list(event.cases),
            confidence=event.confidence,
            time=event.time,
            evidence=mqtt.PassageEvidence(
                outside=_side(event.evidence.outside), inside=_side(event.evidence.inside)
            ),
        )
    raise TypeError(f"event {event!r:.200} is neither a ZoneEvent nor a Passage")


def weight_message(
    scale: str,
    weight_kg: float,
    epc: str | None,
    time: datetime,
    cases: Sequence[str] = (),
    candidates: Sequence[str] = (),
) -> mqtt.WeightMessage:
    """The message of a stable weight on ``scale``, the pallet found on it (or None),
    the cases that came onto the platform with it and the pallets it may be, likeliest
    first."""
    return mqtt.WeightMessage(
        scale=scale,
        weight_kg=weight_kg,
        epc=epc,
        cases=list(cases),
        candidates=list(candidates),
        time=time,
    )
