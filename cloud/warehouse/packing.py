"""Packing: a pallet's weight on the packing scale against what it should weigh. Pure.

The **expected gross** of a pallet is its cases times each item's case weight plus
the pallet's tare: what the order should ship on it. The scale's reading is right
when it is within the **tolerance** of that:

    tolerance = min(max(pct % of expected, kg), case_share x the lightest case)

``pct`` and ``kg`` (e.g. 2 % or 5 kg, whichever is more) absorb the scale's
resolution and the natural spread of case weights; the cap keeps the tolerance under
one case (half the lightest, by default), so a pallet missing a case, or carrying one
too many, is always a mismatch. :func:`check_weight` says ``ok`` or ``mismatch`` with
the numbers, and how many cases the difference is worth (``-1.0``: about one case
missing).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from cloud.warehouse.ledger import LedgerError


class PackingError(LedgerError):
    """A load or a tolerance that cannot be checked; names the field and value."""


@dataclass(frozen=True, slots=True)
class Tolerance:
    pct: float = 2.0
    """Percent of the expected gross."""
    kg: float = 5.0
    """Kilograms; the larger of the two applies ..."""
    case_share: float | None = 0.5
    """... up to this share of the lightest case on the pallet (None: no cap)."""

    def __post_init__(self) -> None:
        if not 0 <= self.pct <= 100:
            raise PackingError(f"pct: a tolerance is 0-100 %, got {self.pct!r}")
        if not self.kg >= 0:
            raise PackingError(f"kg: a tolerance is 0 kg or more, got {self.kg!r}")
        if self.case_share is not None and not 0 < self.case_share <= 1:
            raise PackingError(
                f"case_share: must be above 0 and at most 1, got {self.case_share!r}"
            )

    def of(self, expected_kg: float, lightest_case_kg: float | None) -> float:
        allowed = max(expected_kg * self.pct / 100, self.kg)
        if self.case_share is not None and lightest_case_kg is not None:
            allowed = min(allowed, self.case_share * lightest_case_kg)
        return allowed


@dataclass(frozen=True, slots=True)
class Load:
    """Cases of one item on a pallet."""

    item: str
    cases: int
    case_weight_kg: float

    def __post_init__(self) -> None:
        if isinstance(self.cases, bool) or not isinstance(self.cases, int) or self.cases < 0:
            raise PackingError(f"cases: a whole number of 0 or more, got {self.cases!r}")
        if not self.case_weight_kg > 0:
            raise PackingError(
                f"case_weight_kg: item {self.item} has case weight {self.case_weight_kg!r}; "
                "a weight check needs one above 0"
            )


def expected_gross(loads: Iterable[Load], tare_kg: float) -> float:
    """What a pallet of ``loads`` should weigh, tare included."""
    if not tare_kg >= 0:
        raise PackingError(f"tare_kg: must be 0 or more, got {tare_kg!r}")
    return tare_kg + sum(x.cases * x.case_weight_kg for x in loads)


class Verdict(StrEnum):
    OK = "ok"
    MISMATCH = "mismatch"


@dataclass(frozen=True, slots=True)
class WeightCheck:
    verdict: Verdict
    measured_kg: float
    expected_kg: float
    tolerance_kg: float
    cases: int
    """Cases expected on the pallet."""
    case_weight_kg: float | None
    """The mean case weight of the pallet (None without cases)."""

    @property
    def ok(self) -> bool:
        return self.verdict is Verdict.OK

    @property
    def difference_kg(self) -> float:
        """Measured minus expected: below 0 the pallet is light."""
        return self.measured_kg - self.expected_kg

    @property
    def cases_off(self) -> float | None:
        """The difference in cases (``-1.0``: about one missing), None without cases."""
        if self.case_weight_kg is None:
            return None
        return round(self.difference_kg / self.case_weight_kg, 2)

    @property
    def message(self) -> str:
        off = ""
        if self.cases_off is not None and self.verdict is Verdict.MISMATCH:
            way = "over" if self.cases_off > 0 else "short"
            off = f", about {abs(self.cases_off):g} case(s) {way}"
        return (
            f"weighed {self.measured_kg:.1f} kg, expected {self.expected_kg:.1f} kg "
            f"± {self.tolerance_kg:.1f} kg ({self.cases} cases): {self.verdict.value}"
            f" ({self.difference_kg:+.1f} kg{off})"
        )

    def detail(self) -> dict[str, float | int | str | None]:
        return {
            "verdict": self.verdict.value,
            "measured_kg": round(self.measured_kg, 3),
            "expected_kg": round(self.expected_kg, 3),
            "difference_kg": round(self.difference_kg, 3),
            "tolerance_kg": round(self.tolerance_kg, 3),
            "cases": self.cases,
            "cases_off": self.cases_off,
        }


def check_weight(
    measured_kg: float, loads: Iterable[Load], *, tare_kg: float, tolerance: Tolerance
) -> WeightCheck:
    """``ok`` when ``measured_kg`` is within the tolerance of the expected gross
    (module doc), else ``mismatch``; both with the numbers."""
    if not measured_kg >= 0:
        raise PackingError(f"measured_kg: a weight is 0 kg or more, got {measured_kg!r}")
    loads = [x for x in loads if x.cases > 0]
    expected = expected_gross(loads, tare_kg)
    cases = sum(x.cases for x in loads)
    lightest = min((x.case_weight_kg for x in loads), default=None)
    mean = (expected - tare_kg) / cases if cases else None
    allowed = tolerance.of(expected, lightest)
    verdict = Verdict.OK if abs(measured_kg - expected) <= allowed else Verdict.MISMATCH
    return WeightCheck(verdict, measured_kg, expected, allowed, cases, mean)


CASES_OFF_SLACK = 0.3
"""How far from a whole number of cases a light pallet's difference may be for the
weight to say how many cases it lacks (the tolerance keeps a right pallet under half a
case off; case weights spread)."""


def cases_light(check: WeightCheck) -> int:
    """How many whole cases light the pallet weighed: ``k`` when ``check`` is a mismatch
    whose ``cases_off`` is within :data:`CASES_OFF_SLACK` of ``-k`` (``k`` >= 1), else 0
    (right, heavy, or off by no whole number of cases)."""
    off = check.cases_off
    if check.ok or off is None or off >= 0:
        return 0
    k = round(-off)
    if k < 1 or abs(off + k) > CASES_OFF_SLACK:
        return 0
    return k


def missing_cases(
    check: WeightCheck, booked: Iterable[str], heard: Iterable[str]
) -> tuple[str, ...]:
    """The cases the books hold on a pallet that is not carrying them: only when two
    independent witnesses agree. The scale says the pallet is about ``k`` whole cases
    light (:func:`cases_light`), and exactly ``k`` of the ``booked`` cases (EPCs) were
    not ``heard`` coming onto the scale with it, while others were (the scale's read
    point worked). Then those ``k`` (sorted); otherwise none: a case a read missed, or a
    weight off for another reason, is left to a person."""
    k = cases_light(check)
    heard_set = frozenset(heard)
    if not k or not heard_set:
        return ()
    booked = sorted(set(booked))
    unheard = tuple(c for c in booked if c not in heard_set)
    if len(unheard) != k or len(unheard) == len(booked):
        return ()
    return unheard


ROLLED_ON_WITHIN_S = 30.0
"""A pallet whose weight check was a mismatch this recently (seconds, the weights'
time) may still be rolling on: a weight that fits it is its own (:func:`weighed_pallet`).
A pallet held beside the scale for minutes is not weighed again by chance."""

LIGHT_CANDIDATE_MAX_CASES = 2
"""A weight the edge gave a pallet that awaits no check goes to a heard candidate that
awaits one when it says that candidate is this many whole cases light at most."""


MISMATCH_CASES_MAX = 3.0
"""A weight further than this many cases off a pallet's expected gross is not taken for
that pallet's weight (:func:`plausible`): a pallet packed wrong is off by a case or
two; one 8 cases light or 30 heavy was not on the scale. Its weight is another
pallet's, one the scale's read point did not hear, given to one it heard."""


def plausible(check: WeightCheck) -> bool:
    """Whether the weight may be the checked pallet's: it fits, or is off by at most
    :data:`MISMATCH_CASES_MAX` cases (a mismatch to raise), or the cases' weight is
    unknown."""
    off = check.cases_off
    return check.ok or off is None or abs(off) <= MISMATCH_CASES_MAX


def weighed_pallet(
    named: str | None,
    candidates: Sequence[str],
    checks: Mapping[str, WeightCheck],
    *,
    named_again: WeightCheck | None = None,
    named_weighed: WeightCheck | None = None,
) -> str | None:
    """The pallet a weight was, of those the scale's read point heard (``candidates``,
    the edge's, likeliest first; ``named`` is its own choice). ``checks`` holds the
    candidates that await a weight check, each with this weight's check against it.

    In turn: the edge's choice when the weight fits it; the first candidate it fits;
    the edge's choice when it awaits a check and the weight may be its (:func:`plausible`:
    its mismatch is raised, not moved onto a neighbour); when the edge's choice awaits
    none (weighed before, or on no order: nobody had reason to roll it on) or the
    weight cannot be its, the first candidate the weight says is a case or two light
    (:func:`cases_light`, at most :data:`LIGHT_CANDIDATE_MAX_CASES`), the pallet a
    missing case is hidden in; else the edge's choice still, or None when the weight
    cannot be that one's: the weight of a pallet the read point did not hear, which
    stays no pallet's (no check, no alert; the pallet it went to still awaits its own).
    ``named_again`` is the weight's check against the edge's
    choice when that pallet's check was a mismatch weighed within
    :data:`ROLLED_ON_WITHIN_S` before: a weight that fits it now is its own (the
    reading before was another pallet's, given it as it rolled on). ``named_weighed``
    is its check against the edge's choice when that one was weighed before (on an
    open order still): a weight that cannot be its is no pallet's either, rather than
    a mismatch of a pallet packed right held beside the scale.

    The weight is the evidence: a pallet parked at the platform's edge, or one queued
    for the scale, can be heard as well as the one rolled on, but two pallets seldom
    weigh the same within the tolerance, nor does a pallet weigh about a whole case
    less than another by chance often."""
    own = checks.get(named, named_again) if named is not None else None
    if own is not None and own.ok:
        return named
    fitting = next((epc for epc in candidates if (c := checks.get(epc)) is not None and c.ok), None)
    if fitting is not None:
        return fitting
    awaited = checks.get(named) if named is not None else None
    if awaited is not None and plausible(awaited):
        return named
    light = (
        epc
        for epc in candidates
        if (c := checks.get(epc)) is not None and 1 <= cases_light(c) <= LIGHT_CANDIDATE_MAX_CASES
    )
    named_check = awaited if awaited is not None else named_weighed
    return next(light, named if named_check is None or plausible(named_check) else None)


REWEIGH_AFTER_S = 180.0
"""Seconds (on the run's clock) a pallet waits in packing for its weight check before
it is sent onto the scale again."""
REWEIGH_MAX = 3
"""Weigh tasks at most per pallet and order."""


@dataclass(frozen=True, slots=True)
class AwaitingWeight:
    """A pallet in packing for its order, its weight check not come (or not right and
    its order released since)."""

    order: str
    pallet: str
    """Its SSCC."""
    since: datetime
    """When it reached packing (by its arrival, else by the worker's pick report)."""
    last_weighed: datetime | None
    """Its last weight check for the order."""
    weigh_tasks: int
    """Weigh tasks made for it on the order so far."""
    last_task: datetime | None


def reweigh_due(
    p: AwaitingWeight,
    now: datetime,
    *,
    after_s: float = REWEIGH_AFTER_S,
    max_tasks: int = REWEIGH_MAX,
) -> bool:
    """Whether to send ``p`` onto the scale again at ``now``: ``after_s`` have passed
    since it reached packing, since its last weighing and since its last weigh task, and
    it has had fewer than ``max_tasks`` of them."""
    if p.weigh_tasks >= max_tasks:
        return False
    last = max(t for t in (p.since, p.last_weighed, p.last_task) if t is not None)
    return (now - last).total_seconds() >= after_s
