"""Sort one received MQTT message into an accepted payload or a dead letter. Pure.

A message is dead-lettered with a reason naming what is wrong: a topic outside
the schema, a payload that is not valid JSON or violates the schema, or an edge
id in the payload that differs from the topic's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from protocols.mqtt import Payload, PayloadError, TopicAddress, decode, parse_topic


@dataclass(frozen=True, slots=True)
class Accepted:
    address: TopicAddress
    payload: Payload
    retained: bool
    received_at: datetime


@dataclass(frozen=True, slots=True)
class DeadLetter:
    topic: str
    payload: bytes
    reason: str
    received_at: datetime


def classify(
    topic: str, payload: bytes, *, site: str, retained: bool, received_at: datetime
) -> Accepted | DeadLetter:
    def dead(reason: str) -> DeadLetter:
        return DeadLetter(topic, payload, reason, received_at)

    try:
        address = parse_topic(topic)
    except PayloadError as e:
        return dead(str(e))
    if address.site != site:
        return dead(f"topic {topic!r} is for site {address.site!r}, this cloud serves {site!r}")
    try:
        decoded = decode(address.kind, payload)
    except PayloadError as e:
        return dead(str(e))
    if decoded.edge_id != address.edge_id:
        return dead(
            f"{type(decoded).__name__}.edge_id {decoded.edge_id!r} differs from the topic's "
            f"edge id {address.edge_id!r}"
        )
    return Accepted(address, decoded, retained, received_at)
