"""Where each tag is, from the edges' events. Pure.

The store reads the current :class:`~cloud.model.TagPlace` of every tag an event
batch names, calls :func:`apply_events`, and writes what it returns.

- ``arrived``, ``moved``, ``present``: the tag is *present* in the event's zone;
- ``departed``: it left that zone (ignored when the tag is known to be elsewhere);
- ``unknown``: the zone's readers are out, so where the tag is cannot be told
  (never *departed*: a reader outage must not make stock vanish);
- a passage: the pallet and every case that crossed with it were *received*
  (inbound) or *shipped* (outbound) through the door; a case remembers its pallet,
  and its place follows the pallet's (:func:`place_of`).

Events older than what is known of a tag (a late batch) change nothing for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from cloud.model import TagPlace
from protocols.mqtt import PassageMessage, WeightMessage, ZoneEventKind, ZoneEventMessage

PlaceEvent = ZoneEventMessage | PassageMessage | WeightMessage


def apply_events(
    events: Iterable[PlaceEvent], current: Mapping[str, TagPlace], *, stored_at: datetime
) -> list[TagPlace]:
    """The new place of every tag the events move (sorted by EPC), events applied in
    time order."""
    known = dict(current)
    changed: dict[str, TagPlace] = {}

    def put(place: TagPlace) -> None:
        before = known.get(place.epc)
        if before is not None and place.changed_at < before.changed_at:
            return
        known[place.epc] = changed[place.epc] = place

    for ev in sorted(events, key=lambda e: e.time):
        if isinstance(ev, WeightMessage):
            continue
        if isinstance(ev, PassageMessage):
            state = "received" if ev.direction == "inbound" else "shipped"
            for epc, pallet in [(ev.epc, None), *((c, ev.epc) for c in ev.cases)]:
                before = known.get(epc)
                put(
                    TagPlace(
                        epc=epc,
                        state=state,
                        zone=None,
                        last_zone=_last_zone(before),
                        door=ev.door,
                        pallet=pallet if pallet is not None else _pallet(before),
                        changed_at=ev.time,
                        stored_at=stored_at,
                    )
                )
            continue
        before = known.get(ev.epc)
        if ev.kind in (ZoneEventKind.DEPARTED, ZoneEventKind.UNKNOWN):
            if before is not None and before.state == "present" and before.zone != ev.zone:
                continue  # already seen elsewhere: old news of the zone it left
            put(
                TagPlace(
                    epc=ev.epc,
                    state="departed" if ev.kind is ZoneEventKind.DEPARTED else "unknown",
                    zone=None,
                    last_zone=ev.zone,
                    door=None,
                    pallet=_pallet(before),
                    changed_at=ev.time,
                    stored_at=stored_at,
                )
            )
        else:
            put(
                TagPlace(
                    epc=ev.epc,
                    state="present",
                    zone=ev.zone,
                    last_zone=ev.zone,
                    door=None,
                    pallet=_pallet(before),
                    changed_at=ev.time,
                    stored_at=stored_at,
                )
            )
    return [changed[k] for k in sorted(changed)]


def _pallet(p: TagPlace | None) -> str | None:
    return p.pallet if p is not None else None


def _last_zone(p: TagPlace | None) -> str | None:
    return p.last_zone if p is not None else None


def place_of(tag: TagPlace, pallet: TagPlace | None) -> TagPlace:
    """A case's place follows its pallet's when the pallet's news is as new or newer."""
    if pallet is None or pallet.changed_at < tag.changed_at:
        return tag
    return TagPlace(
        epc=tag.epc,
        state=pallet.state,
        zone=pallet.zone,
        last_zone=pallet.last_zone,
        door=pallet.door,
        pallet=tag.pallet,
        changed_at=pallet.changed_at,
        stored_at=pallet.stored_at,
    )
