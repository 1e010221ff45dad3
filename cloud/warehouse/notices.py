"""Where a notice stands, from what is stored of its pallets. Pure.

:mod:`cloud.warehouse.receiving` matches passages against notices as they come; the
database then keeps, per announced pallet, whether it came (when, through which door
or by which scan), the announced cases booked and the cases over. :func:`notice_status`
gives back the same words from those figures: per pallet an
:class:`~cloud.warehouse.receiving.Outcome` (``received``, ``missing_cases``,
``short``, ``pending``) and per notice an :class:`~cloud.warehouse.receiving.AsnReport`
(received + short + pending cases = expected).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cloud.warehouse.receiving import AsnReport, Outcome


@dataclass(frozen=True, slots=True)
class StoredPallet:
    sscc: str
    announced_cases: int
    came_at: datetime | None
    """When it came through a door or was scanned in; None: not come."""
    received_cases: int
    """Announced cases booked when it came (and since, cases found late)."""
    over_cases: int


@dataclass(frozen=True, slots=True)
class PalletStatus:
    sscc: str
    outcome: Outcome
    received_cases: int
    missing_cases: int
    over_cases: int
    late: bool


def pallet_status(p: StoredPallet, *, deadline: datetime, now: datetime) -> PalletStatus:
    if p.came_at is None:
        overdue = now > deadline
        return PalletStatus(
            p.sscc,
            Outcome.SHORT if overdue else Outcome.PENDING,
            0,
            p.announced_cases if overdue else 0,
            0,
            False,
        )
    received = min(p.received_cases, p.announced_cases)
    missing = p.announced_cases - received
    return PalletStatus(
        p.sscc,
        Outcome.MISSING_CASES if missing else Outcome.RECEIVED,
        received,
        missing,
        p.over_cases,
        p.came_at > deadline,
    )


def notice_status(
    asn: str, pallets: Sequence[StoredPallet], *, deadline: datetime, now: datetime
) -> tuple[list[PalletStatus], AsnReport]:
    """Each pallet's status (in the order given) and the notice's report, as of ``now``
    (pallets not come by ``deadline`` are short)."""
    statuses = [pallet_status(p, deadline=deadline, now=now) for p in pallets]
    came = [s for s in statuses if s.outcome in (Outcome.RECEIVED, Outcome.MISSING_CASES)]
    report = AsnReport(
        asn=asn,
        pallets_expected=len(pallets),
        pallets_received=len(came),
        pallets_short=sum(s.outcome is Outcome.SHORT for s in statuses),
        pallets_pending=sum(s.outcome is Outcome.PENDING for s in statuses),
        cases_expected=sum(p.announced_cases for p in pallets),
        cases_received=sum(s.received_cases for s in came),
        cases_short=sum(s.missing_cases for s in statuses),
        cases_over=sum(s.over_cases for s in statuses),
    )
    return statuses, report
