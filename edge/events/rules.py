"""The event core's parameters: hold times per read-point kind and the RF thresholds.

Every parameter has a default tuned on the simulator (``bench/bench_events_replay.py``)
and is documented in ``docs/events.md``. :class:`EventRules` refuses a wrong value
with an :class:`EventRulesError` naming the field and the value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields


class EventRulesError(ValueError):
    """A parameter of the event core is out of range; the message names it."""


@dataclass(frozen=True, slots=True)
class EventRules:
    # -- doors ---------------------------------------------------------------------------
    door_hold_s: float = 3.0
    """A door ends its track of a tag this long after it last heard it (read time)."""
    door_window_s: float = 0.5
    """Reads this close in time count as simultaneous when the two sides are compared."""
    door_margin_db: float = 3.0
    """A side is where the tag is once it is this much stronger than the other side."""
    door_confirm: int = 2
    """Comparisons in a row that must agree before the tag counts as on the other side."""
    door_sure_margin_db: float = 10.0
    """One comparison won by this much is enough (a tag leaving the field fades fast), if
    the losing side heard the tag at all."""
    door_rise_s: float = 10.0
    """A crossing's far side must have begun to hear the tag well at most this long ago
    (its strong reads without a break over ``door_hold_s``: a turn-back's close approach
    before the crossing is another run)."""
    door_min_peak_dbm: float = -58.0
    """A passage needs a peak at least this strong on both sides (strays are weaker)."""
    door_floor_dbm: float = -90.0
    """The level of a side that did not hear the tag at all."""
    door_rival_margin_db: float = 6.0
    """A door loses a tag to another door that heard it this much stronger meanwhile."""
    group_window_s: float = 3.0
    """Cases whose crossing is this close to their pallet's travel with the pallet."""
    lone_case_wait_s: float = 8.0
    """How long (read time) a case's crossing waits for its pallet's before it is a
    passage of its own (the pallet's label may be decided a report or two later)."""
    # -- zones ---------------------------------------------------------------------------
    zone_hold_s: float = 3.0
    """A tag departs its zone once the zone's readers heard on this long without it (at
    least; see ``zone_cycle_factor``)."""
    zone_cycle_factor: float = 1.5
    """A zone's hold is at least this many times the time its readers now take to read a
    present tag again (the 99th percentile of its recent re-read gaps): a reader with
    more tags in its field than it reads in a round reads them in turns, and a tag
    waiting for its turn has not left."""
    zone_hold_max_s: float = 60.0
    """The most a zone's hold grows to however slowly its readers cycle."""
    report_lag_s: float = 3.0
    """How late a live reader's reports may arrive: decisions by the clock wait this more."""
    zone_window_s: float = 3.0
    """A zone's claim on a tag is its strongest read over this last stretch (or over the
    zone's hold when that is longer: a reader reading its tags in turns)."""
    zone_margin_db: float = 6.0
    """A tag moves to another zone only when heard this much stronger there (hysteresis)."""
    zone_settle_s: float = 1.5
    """A tag new to the zones settles at most this long: until every live zone reader
    has had its say, a stronger claim elsewhere moves it without the margin."""

    recovery_hold_s: float = 5.0
    """After a reader recovers, a tag it does not hear again within this is departed."""
    reader_silent_s: float = 10.0
    """A zone reader holding tags whose reports stop moving on for this long, while other
    readers report, counts as silent (twice this when every reader is quiet); reports
    that keep coming, however late, never make it silent."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise EventRulesError(f"{f.name}: {value!r} is not a number")
            if not math.isfinite(value):
                raise EventRulesError(f"{f.name}: {value!r} is not a finite number")
            if f.name.endswith("_dbm"):
                if not -128 <= value <= 0:
                    raise EventRulesError(f"{f.name}: {value!r} is not between -128 and 0 dBm")
            elif value < 0 or (value == 0 and not f.name.endswith("_db")):
                raise EventRulesError(f"{f.name}: {value!r} must be positive")
        if self.door_confirm != int(self.door_confirm):
            raise EventRulesError(f"door_confirm: {self.door_confirm!r} is not a whole number")
        if self.door_floor_dbm >= self.door_min_peak_dbm:
            raise EventRulesError(
                f"door_floor_dbm: {self.door_floor_dbm!r} must be below "
                f"door_min_peak_dbm ({self.door_min_peak_dbm!r})"
            )

    def hold_s(self, kind: str) -> float:
        """The hold time of a read-point kind (``door`` or ``zone``)."""
        if kind == "door":
            return self.door_hold_s
        if kind == "zone":
            return self.zone_hold_s
        raise EventRulesError(f"read-point kind {kind!r} is neither 'door' nor 'zone'")
