"""Edge events: tag reads turned into zone events and dock-door passages (pure core).

See :mod:`edge.events.core` for the entry point and ``docs/events.md`` for the rules.
"""

from edge.events.core import EventCore, ReaderStatus
from edge.events.model import (
    Direction,
    Event,
    Passage,
    PassageEvidence,
    SideEvidence,
    ZoneEvent,
    ZoneEventKind,
    is_case,
    is_pallet,
)
from edge.events.rules import EventRules, EventRulesError

__all__ = [
    "Direction",
    "Event",
    "EventCore",
    "EventRules",
    "EventRulesError",
    "Passage",
    "PassageEvidence",
    "ReaderStatus",
    "SideEvidence",
    "ZoneEvent",
    "ZoneEventKind",
    "is_case",
    "is_pallet",
]
