"""The cycle count figures of a scored run: the WMS's count variances against the
truth's shrinkage and reader outages. Pure.

- **Shrinkage found as variance**: a truth ``vanish`` (or ``misplace``) of a pallet
  inside the scored window is *found* when a variance of that pallet's EPC of kind
  ``missing`` (``wrong_zone``) was opened no earlier than it and at most ``within_s``
  (300 s) after it. Each variance finds at most one event.
- **Variances in zones whose reader was down**: variances opened inside the window
  while a zone reader outage of their zone (``zone``, or the zone booked or heard)
  was on (truth ``fault``: ``silent`` and ``antenna`` from start to end, ``drop`` for
  ``drop_down_s``), or within ``grace_s`` after it ended. Must be none.
- **False variances**: variances opened inside the window that no truth shrinkage of
  their pallet at or before their opening explains.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rfidwms.scoring.inputs import Outage, Shrinkage, Truth, VarianceItem

KIND_OF = {"vanish": "missing", "misplace": "wrong_zone"}
"""The variance kind that finds each shrinkage kind."""

MissSink = Callable[[str, str, float, str | None, str | None, str], None]
"""Takes a miss: (what, EPC, time, door, zone, detail)."""


@dataclass(slots=True)
class VarianceScore:
    shrinkage: int = 0
    """Truth ``vanish`` and ``misplace`` events inside the window."""
    found: int = 0
    """Of those, found as a variance within ``within_s``."""
    variances: int = 0
    """Variances opened inside the window."""
    while_down: int = 0
    false: int = 0


def match_shrinkage(
    events: Sequence[Shrinkage], variances: Sequence[VarianceItem], within_s: float
) -> dict[int, int]:
    """Shrinkage event index -> the index of the variance that found it (each variance
    finds at most one, the earliest event first)."""
    used: set[int] = set()
    found: dict[int, int] = {}
    for i, e in sorted(enumerate(events), key=lambda x: x[1].t):
        near = [
            j
            for j, v in enumerate(variances)
            if j not in used
            and v.epc == e.epc
            and v.kind == KIND_OF[e.kind]
            and e.t <= v.opened_at <= e.t + within_s
        ]
        if near:
            j = min(near, key=lambda j: variances[j].opened_at)
            used.add(j)
            found[i] = j
    return found


def score_variances(
    truth: Truth,
    variances: Sequence[VarianceItem],
    outages: Sequence[Outage],
    *,
    window: tuple[float, float],
    within_s: float = 300.0,
    grace_s: float = 0.0,
    miss: MissSink,
) -> VarianceScore:
    """The cycle count figures' counts (module doc); each miss goes to ``miss``."""
    lo, hi = window
    out = VarianceScore()
    events = list(truth.shrinkage)
    found = match_shrinkage(events, variances, within_s)
    for i, e in enumerate(events):
        if not lo <= e.t <= hi:
            continue
        out.shrinkage += 1
        if i in found:
            out.found += 1
        else:
            late = [v for v in variances if v.epc == e.epc and v.opened_at >= e.t]
            detail = (f"{e.kind} to {e.to_zone}; " if e.to_zone else f"{e.kind}; ") + (
                f"variance {late[0].id} ({late[0].kind}) after {late[0].opened_at - e.t:.0f} s"
                if late
                else "no variance"
            )
            miss("shrinkage not found as variance", e.epc, e.t, None, e.zone, detail)
    explained = set(found.values())
    shrunk = {e.epc: e.t for e in sorted(events, key=lambda e: e.t, reverse=True)}
    for j, v in enumerate(variances):
        if not lo <= v.opened_at <= hi:
            continue
        out.variances += 1
        zones = {z for z in (v.zone, v.book_zone, v.heard_zone) if z}
        outage = next(
            (x for x in outages if x.zone in zones and x.begin <= v.opened_at <= x.end + grace_s),
            None,
        )
        if outage is not None:
            out.while_down += 1
            detail = f"variance {v.id} ({v.kind}); {outage.target} {outage.fault}"
            miss("variance while reader down", v.epc, v.opened_at, None, v.zone, detail)
        if j not in explained and not (v.epc in shrunk and shrunk[v.epc] <= v.opened_at):
            out.false += 1
            detail = f"variance {v.id} ({v.kind}), book {v.book_zone}, heard {v.heard_zone}"
            miss("false variance", v.epc, v.opened_at, None, v.zone, detail)
    return out
