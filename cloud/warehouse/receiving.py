"""Receiving: inbound door passages matched against advance ship notices. Pure.

An **ASN** (advance ship notice) announces pallets before a truck arrives: each
pallet's SSCC, item, lot, expiry, and its cases (their SGTIN EPCs, or only a count),
with a **deadline** by which they should have come through a door. An inbound
**passage** is a pallet (SSCC) and the case EPCs heard crossing the door with it.

:func:`match_receipts` says, per pallet:

- ``received``: announced, came through, every announced case with it;
- ``missing_cases``: announced and came, but fewer cases than announced (the EPCs
  announced and not heard, or the count short); the scale's weight check or a zone
  read may yet find a case the door did not hear;
- ``unexpected``: came through, but no notice of the site announced it;
- ``short``: announced, and not come by the notice's deadline;
- ``pending``: announced, not come, deadline not passed yet;

and, per notice, the over/short figures in pallets and cases. The first inbound
passage of a pallet receives it; a later one is reported as ``repeated`` and changes
nothing. A passage after the deadline still receives its pallet, marked ``late``.

:func:`receipt_operations` turns what was received into ledger receipts at the door
(available, on the pallet; put-away follows the zone arrival).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from cloud.warehouse.ledger import (
    Bucket,
    Cause,
    CauseKind,
    LedgerError,
    Operation,
    Position,
    StockState,
    check_gtin14,
    receipt,
)
from protocols.epc import EPCError, Sscc96, decode_hex
from protocols.mqtt import PassageMessage


class ReceivingError(LedgerError):
    """A notice or passage that cannot be matched; the message names field and value."""


def _check_sscc(field: str, sscc: str) -> str:
    if len(sscc) != 18 or not (sscc.isascii() and sscc.isdigit()):
        raise ReceivingError(f"{field}: an SSCC is 18 digits, got {sscc!r}")
    return sscc


@dataclass(frozen=True, slots=True)
class AsnPallet:
    sscc: str
    item: str
    """GTIN-14."""
    lot: str
    expiry: date | None
    case_count: int
    cases: frozenset[str] = frozenset()
    """The announced case EPCs (upper-case hex); empty when the notice gives a count only."""

    def __post_init__(self) -> None:
        _check_sscc("sscc", self.sscc)
        check_gtin14("item", self.item)
        if not self.lot:
            raise ReceivingError(f"lot: must not be empty (pallet {self.sscc})")
        if self.case_count <= 0:
            raise ReceivingError(f"case_count: must be above 0, got {self.case_count}")
        if self.cases and len(self.cases) != self.case_count:
            raise ReceivingError(
                f"cases: pallet {self.sscc} lists {len(self.cases)} case EPCs "
                f"but case_count is {self.case_count}"
            )


@dataclass(frozen=True, slots=True)
class Asn:
    id: str
    site: str
    deadline: datetime
    """Pallets not come through a door by then are ``short``."""
    pallets: tuple[AsnPallet, ...]

    def __post_init__(self) -> None:
        if not self.pallets:
            raise ReceivingError(f"pallets: notice {self.id!r} announces no pallet")
        seen: set[str] = set()
        for i, p in enumerate(self.pallets):
            if p.sscc in seen:
                raise ReceivingError(f"pallets[{i}].sscc: {p.sscc} is announced twice")
            seen.add(p.sscc)


@dataclass(frozen=True, slots=True)
class InboundPassage:
    id: str
    """The passage's reference, the cause of what it books."""
    site: str
    door: str
    time: datetime
    pallet: str
    """SSCC."""
    cases: frozenset[str]
    """Case EPCs heard with the pallet (upper-case hex)."""

    def __post_init__(self) -> None:
        _check_sscc("pallet", self.pallet)


def inbound_passage(msg: PassageMessage, *, site: str, ref: str) -> InboundPassage:
    """An edge's inbound passage as a receiving passage: its EPC decoded to the SSCC."""
    if msg.direction != "inbound":
        raise ReceivingError(f"direction: receiving takes inbound passages, got {msg.direction!r}")
    return InboundPassage(ref, site, msg.door, msg.time, pallet_sscc(msg.epc), frozenset(msg.cases))


def pallet_sscc(epc_hex: str) -> str:
    """The 18-digit SSCC of a pallet's SSCC-96 EPC; :class:`ReceivingError` for anything
    else."""
    try:
        epc = decode_hex(epc_hex)
    except EPCError as e:
        raise ReceivingError(f"epc: {epc_hex!r} is not an EPC: {e}") from None
    if not isinstance(epc, Sscc96):
        raise ReceivingError(f"epc: {epc_hex!r} is a {epc.scheme}, not a pallet's SSCC-96")
    return epc.sscc


class Outcome(StrEnum):
    RECEIVED = "received"
    MISSING_CASES = "missing_cases"
    UNEXPECTED = "unexpected"
    SHORT = "short"
    PENDING = "pending"


@dataclass(frozen=True, slots=True)
class PalletReceipt:
    site: str
    sscc: str
    outcome: Outcome
    asn: str | None
    announced: AsnPallet | None
    passage: InboundPassage | None
    received_cases: int
    """Announced cases that came: announced EPCs heard, or the cases heard up to the
    announced count; for an unexpected pallet, the cases heard. With
    ``missing_cases`` it makes up the announced count."""
    missing_cases: int
    over_cases: int
    """Cases heard beyond what was announced (not booked: someone looks first)."""
    missing: frozenset[str] = frozenset()
    """Announced case EPCs not heard (when the notice listed them)."""
    extra: frozenset[str] = frozenset()
    """Case EPCs heard that the notice did not list for this pallet."""
    late: bool = False


@dataclass(frozen=True, slots=True)
class AsnReport:
    asn: str
    pallets_expected: int
    pallets_received: int
    pallets_short: int
    pallets_pending: int
    cases_expected: int
    cases_received: int
    cases_short: int
    """Cases of pallets that came but were missing, plus the cases of short pallets."""
    cases_over: int

    @property
    def complete(self) -> bool:
        """Everything announced came, with every case, and nothing over."""
        return self.pallets_received == self.pallets_expected and not (
            self.cases_short or self.cases_over
        )


@dataclass(frozen=True, slots=True)
class ReceivingReport:
    pallets: tuple[PalletReceipt, ...]
    """One per announced or arrived pallet, by SSCC, then site."""
    asns: tuple[AsnReport, ...]
    """One per notice, by id."""
    repeated: tuple[InboundPassage, ...]
    """Later inbound passages of a pallet already received: they change nothing."""

    def of(self, outcome: Outcome) -> list[PalletReceipt]:
        return [p for p in self.pallets if p.outcome is outcome]


def _came(pallet: AsnPallet, passage: InboundPassage, asn: Asn) -> PalletReceipt:
    if pallet.cases:
        missing = pallet.cases - passage.cases
        extra = passage.cases - pallet.cases
        received = len(pallet.cases & passage.cases)
        missing_n, over_n = len(missing), len(extra)
    else:
        missing, extra = frozenset(), frozenset()
        heard = len(passage.cases)
        received = min(heard, pallet.case_count)
        missing_n = pallet.case_count - received
        over_n = heard - received
    return PalletReceipt(
        site=asn.site,
        sscc=pallet.sscc,
        outcome=Outcome.MISSING_CASES if missing_n else Outcome.RECEIVED,
        asn=asn.id,
        announced=pallet,
        passage=passage,
        received_cases=received,
        missing_cases=missing_n,
        over_cases=over_n,
        missing=missing,
        extra=extra,
        late=passage.time > asn.deadline,
    )


def match_receipts(
    asns: Iterable[Asn], passages: Iterable[InboundPassage], *, now: datetime
) -> ReceivingReport:
    """Match inbound passages against the notices, as of ``now`` (module doc). A
    pallet is matched against the notices of its passage's site only."""
    notices = sorted(asns, key=lambda a: a.id)
    announced: dict[tuple[str, str], tuple[Asn, AsnPallet]] = {}
    for a in notices:
        for p in a.pallets:
            key = (a.site, p.sscc)
            if key in announced:
                raise ReceivingError(
                    f"pallets.sscc: {p.sscc} is announced by notices "
                    f"{announced[key][0].id!r} and {a.id!r} for site {a.site!r}"
                )
            announced[key] = (a, p)
    first: dict[tuple[str, str], InboundPassage] = {}
    repeated: list[InboundPassage] = []
    for ps in sorted(passages, key=lambda x: (x.time, x.id)):
        key = (ps.site, ps.pallet)
        if key in first:
            repeated.append(ps)
        else:
            first[key] = ps

    results: dict[tuple[str, str], PalletReceipt] = {}
    for key, (a, p) in announced.items():
        came = first.get(key)
        if came is not None:
            results[key] = _came(p, came, a)
        else:
            results[key] = PalletReceipt(
                site=a.site,
                sscc=p.sscc,
                outcome=Outcome.SHORT if now > a.deadline else Outcome.PENDING,
                asn=a.id,
                announced=p,
                passage=None,
                received_cases=0,
                missing_cases=p.case_count if now > a.deadline else 0,
                over_cases=0,
            )
    for key, ps in first.items():
        if key not in announced:
            results[key] = PalletReceipt(
                site=ps.site,
                sscc=ps.pallet,
                outcome=Outcome.UNEXPECTED,
                asn=None,
                announced=None,
                passage=ps,
                received_cases=len(ps.cases),
                missing_cases=0,
                over_cases=len(ps.cases),
                extra=ps.cases,
            )
    pallets = tuple(results[k] for k in sorted(results, key=lambda k: (k[1], k[0])))
    return ReceivingReport(pallets, tuple(_report(a, pallets) for a in notices), tuple(repeated))


def _report(asn: Asn, pallets: Sequence[PalletReceipt]) -> AsnReport:
    mine = [p for p in pallets if p.asn == asn.id]
    came = [p for p in mine if p.passage is not None]
    return AsnReport(
        asn=asn.id,
        pallets_expected=len(asn.pallets),
        pallets_received=len(came),
        pallets_short=sum(p.outcome is Outcome.SHORT for p in mine),
        pallets_pending=sum(p.outcome is Outcome.PENDING for p in mine),
        cases_expected=sum(p.case_count for p in asn.pallets),
        cases_received=sum(p.received_cases for p in came),
        cases_short=sum(p.missing_cases for p in mine),
        cases_over=sum(p.over_cases for p in mine),
    )


def receipt_operations(report: ReceivingReport) -> list[Operation]:
    """Ledger receipts for what came as announced (``received`` and ``missing_cases``):
    the booked cases, available, on the pallet at the door, caused by the passage.
    Unexpected pallets are not booked: nobody said what is on them."""
    ops: list[Operation] = []
    for p in report.pallets:
        if p.announced is None or p.passage is None or p.received_cases == 0:
            continue
        a, ps = p.announced, p.passage
        position = Position(Bucket(ps.site, a.item, a.lot, ps.door, StockState.AVAILABLE), a.sscc)
        cause = Cause(CauseKind.PASSAGE, ps.id)
        ops.append(receipt(position, p.received_cases, cause=cause, time=ps.time))
    return ops
