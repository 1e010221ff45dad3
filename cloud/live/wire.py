"""Live deltas between cloud processes over the broker: the payload and its order.

Each ingester publishes what each committed transaction changed (cut to the live
view, :func:`cloud.live.delta.trimmed`) to its live topic
(:func:`protocols.mqtt.live_topic`, QoS 1, retained), so the hub of every API node
hears every commit, whichever ingester made it (``docs/cloud.md``, *Several API
nodes*). The payload is MessagePack (msgspec): ``{"v": 1, "origin": O, "seq": N,
"change": {...}}`` with ``change`` a :class:`~cloud.model.LiveChange` field for field.
``origin`` names one run of one ingester (a new one at every start) and ``seq`` counts
its commits from 1, so a node can tell a delta it missed from one it has
(:class:`DeltaOrder`). Only the cloud reads and writes these topics (the broker's ACL:
``deploy/mosquitto/acl``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

import msgspec

from cloud.model import LiveChange

WIRE_VERSION: Literal[1] = 1


class DeltaError(ValueError):
    """A live delta that cannot be read; the message says why."""


class LiveDelta(msgspec.Struct, frozen=True):
    origin: str
    seq: int
    change: LiveChange
    v: int = WIRE_VERSION


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(LiveDelta)


def encode_delta(origin: str, seq: int, change: LiveChange) -> bytes:
    return _encoder.encode(LiveDelta(origin, seq, change))


def decode_delta(data: bytes) -> LiveDelta:
    """The delta in ``data``; :class:`DeltaError` naming what is wrong."""
    try:
        delta = _decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as e:
        raise DeltaError(f"not a live delta ({len(data)} bytes): {e}") from None
    if delta.v != WIRE_VERSION:
        raise DeltaError(f"live delta version {delta.v} (this cloud reads {WIRE_VERSION})")
    if delta.seq < 1:
        raise DeltaError(f"live delta seq {delta.seq} (they count from 1)")
    return delta


class Verdict(StrEnum):
    APPLY = "apply"
    """The next delta of its publisher: apply it."""
    OWN = "own"
    """This process's own ingester's: its hub has it already."""
    HEAD = "head"
    """A retained delta, heard on subscribing: where its publisher stands (what it
    says is older than the subscription, so the database read that follows has it)."""
    DUPLICATE = "duplicate"
    """Already had (a QoS 1 delivery repeated)."""
    GAP = "gap"
    """Deltas of its publisher were missed: the view must be read again."""


@dataclass(slots=True)
class DeltaOrder:
    """Where each publisher (one live topic: one ingester, across its restarts) stands,
    and what a delta that arrives means for the view. Pure: fed (topic, origin, seq).

    A publisher is followed from its retained delta (heard on subscribing) or from a
    delta with ``seq`` 1 (an ingester started after the subscription). A delta of a
    publisher not followed yet with a later ``seq``, or one past the next ``seq``, is a
    gap; so is a new ``origin`` on a followed topic (the ingester started again) that
    does not start at 1."""

    own: str | None = None
    """The origin of this process's ingester, if it runs one."""
    _at: dict[str, tuple[str, int]] = field(default_factory=dict)
    """topic -> (origin, last seq) of the publisher on it"""

    def take(self, topic: str, origin: str, seq: int, *, retained: bool) -> Verdict:
        if origin == self.own:
            return Verdict.OWN
        at = self._at.get(topic)
        if retained:
            if at is None or at[0] != origin or seq > at[1]:
                self._at[topic] = (origin, seq)
            return Verdict.HEAD
        if at is not None and at[0] == origin:
            if seq <= at[1]:
                return Verdict.DUPLICATE
            self._at[topic] = (origin, seq)
            return Verdict.APPLY if seq == at[1] + 1 else Verdict.GAP
        self._at[topic] = (origin, seq)
        return Verdict.APPLY if seq == 1 else Verdict.GAP

    def forget(self, topic: str) -> None:
        """Its publisher stopped (an empty retained message cleared its topic)."""
        self._at.pop(topic, None)

    def restart(self) -> None:
        """A new subscription: every publisher is followed anew."""
        self._at.clear()

    @property
    def publishers(self) -> int:
        return len(self._at)
