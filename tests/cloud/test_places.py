"""Where a tag is by the edges' events (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cloud.ingest.places import apply_events, place_of
from cloud.model import TagPlace
from protocols.mqtt import PassageMessage, ZoneEventMessage

T0 = datetime(2025, 3, 1, 8, tzinfo=UTC)
P = "3174257BF7194E4000001A87"
C = "3074257BF7194E4000001A85"


def t(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def zone(kind: str, at: float, z: str = "zone-a", epc: str = P) -> ZoneEventMessage:
    return ZoneEventMessage.model_validate(
        {"type": "zone", "kind": kind, "epc": epc, "zone": z, "time": t(at)}
    )


def crossing(direction: str, at: float, cases: tuple[str, ...] = ()) -> PassageMessage:
    side = {"reads": 3}
    return PassageMessage.model_validate(
        {
            "door": "door-1",
            "direction": direction,
            "epc": P,
            "cases": list(cases),
            "confidence": 1.0,
            "time": t(at),
            "evidence": {"outside": side, "inside": side},
        }
    )


def place(state: str, at: float, z: str | None = None, epc: str = P, **kw: str) -> TagPlace:
    return TagPlace(
        epc=epc,
        state=state,
        zone=z,
        last_zone=kw.get("last_zone", z),
        door=kw.get("door"),
        pallet=kw.get("pallet"),
        changed_at=t(at),
        stored_at=t(100),
    )


CASES = [
    ("arrives in a zone", [zone("arrived", 1)], {}, {P: ("present", "zone-a")}),
    (
        "moves on",
        [zone("arrived", 1), zone("moved", 5, "zone-b")],
        {},
        {P: ("present", "zone-b")},
    ),
    ("departs", [zone("arrived", 1), zone("departed", 5)], {}, {P: ("departed", None)}),
    (
        "a reader outage makes it unknown, never departed",
        [zone("arrived", 1), zone("unknown", 5)],
        {},
        {P: ("unknown", None)},
    ),
    (
        "present again after the outage",
        [zone("unknown", 5), zone("present", 9)],
        {P: place("present", 1, "zone-a")},
        {P: ("present", "zone-a")},
    ),
    (
        "the departure of a zone it already left is old news",
        [zone("departed", 6, "zone-a")],
        {P: place("present", 5, "zone-b")},
        {},
    ),
    (
        "an event older than what is known changes nothing",
        [zone("arrived", 1, "zone-c")],
        {P: place("present", 5, "zone-b")},
        {},
    ),
    (
        "an inbound passage receives the pallet and its cases",
        [crossing("inbound", 3, (C,))],
        {},
        {P: ("received", None), C: ("received", None)},
    ),
    (
        "an outbound passage ships it out of its zone",
        [crossing("outbound", 9)],
        {P: place("present", 5, "zone-b")},
        {P: ("shipped", None)},
    ),
]


@pytest.mark.parametrize(
    ("events", "current", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_apply_events(events, current, expected):
    got = apply_events(events, current, stored_at=t(100))
    assert {p.epc: (p.state, p.zone) for p in got} == expected


def test_a_case_remembers_the_pallet_it_crossed_with_and_follows_it():
    (pallet, case) = sorted(
        apply_events([crossing("inbound", 3, (C,))], {}, stored_at=t(100)), key=lambda p: p.epc
    )[::-1]
    assert case.epc == C and case.pallet == P and case.door == "door-1"
    moved = apply_events([zone("arrived", 20)], {P: pallet}, stored_at=t(100))[0]
    assert place_of(case, moved).zone == "zone-a"
    assert place_of(case, moved).state == "present"
    # the case's own newer news wins over its pallet's older news
    own = place("present", 30, "zone-c", epc=C, pallet=P)
    assert place_of(own, moved).zone == "zone-c"
