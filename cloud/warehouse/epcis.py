"""The stock ledger told as GS1 EPCIS 2.0 events: which posting is which event. Pure.

Every ledger posting that moves goods is one or more events (the serialisation is
:mod:`protocols.epcis`); postings that only change a state in place (reserve,
unreserve, quarantine, release, damage) and adjustments are not events here, unless a
return or a count caused them (below).

- ``receipt``: ObjectEvent OBSERVE, ``receiving``, ``in_progress`` (``non_sellable_other``
  into quarantine), readPoint where it was booked (the door); the first receipt of a
  pallet whose case EPCs are known adds an AggregationEvent ADD (parent the SSCC,
  children its case SGTINs) at the same time and place;
- ``putaway``, ``move``: ObjectEvent OBSERVE, ``storing``, the disposition of the state
  it goes to (available ``sellable_accessible``, reserved ``sellable_not_accessible``,
  quarantine ``non_sellable_other``, damaged ``damaged``), readPoint where it goes;
- ``pick``: ObjectEvent OBSERVE, ``picking``, ``in_progress``, where it goes (packing);
- a ``pick`` or ``move`` to a door (the door check takes what the books hold on a pallet
  to the door it passed): ``staging_outbound``, ``in_progress`` for a pick, else the
  state's disposition;
- ``ship``: ObjectEvent OBSERVE, ``shipping``, ``in_transit``, the door;
- ``dispatch`` (to another site): as ``ship``, where it left from, at the site it left;
- ``arrive`` (from another site): as ``receipt``, where it arrived;
- a **return** (postings with a return as their cause, ``docs/warehouse.md``
  *Returns*): its ``receipt`` is ``receiving``, ``returned`` (not the receipt's
  ``in_progress`` or ``non_sellable_other``: CBV's word for goods sent back to who
  shipped them); an inspection's restock (``release`` quarantine -> available) is
  ``inspecting``, ``sellable_accessible``, and its write-off (``adjust`` of minus the
  cases) ``destroying``, ``destroyed`` (CBV: rendered non-sellable, never to be sold
  again), both where the cases are; the objects of an inspection are its cases as a
  quantity of item and lot (it decides cases, not always a whole pallet); each names the
  return as a ``rma`` business transaction;
- a **count** (postings with a count as their cause: an approved variance, cause
  ``count``, ``docs/warehouse.md`` *Automatic cycle counts*; or a handheld count, a
  scan of action ``count``): ``cycle_counting``. Its ``adjust`` out (a pallet written
  off as missing, cases counted short) is ``unknown`` (CBV: the object's condition is
  not known; the count found it missing, nobody found it ``stolen``), where the book
  had it; its ``adjust`` in (a pallet found, cases counted over) and its transfers (a
  pallet heard, or counted, in another zone than the book's: ``move``, ``putaway``,
  ``pick``) the disposition of the state the stock is in (available
  ``sellable_accessible``), where the stock is now (the zone it was heard or counted
  in), never ``staging_outbound``. A variance's events name the pallet (it decides a
  whole pallet); a handheld count's adjustments name the cases as a quantity of item
  and lot (it counts cases). CBV has no business transaction type for a count (nor a
  source type), so none is named;
- a transfer that takes cases off a pallet adds an AggregationEvent DELETE (parent that
  pallet, the cases as a quantity of item and lot), and one that puts them onto another
  pallet an ADD, with the transfer's step, disposition and place.

The objects: a pallet's position is its SSCC (``epcList``); loose cases are a quantity
of their item and lot (``quantityList``). The ledger counts cases, not case EPCs, so
only the receipt's aggregation names cases one by one. A shipped pallet keeps its
cases (the aggregation travels with it: no DELETE at shipping). The bizLocation is the
site (for a dispatch, the site it leaves; for an arrival, the site it reaches).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Final

from cloud.warehouse.ledger import CauseKind, EntryKind, StockState
from protocols.epcis import (
    Action,
    AggregationEvent,
    BizStep,
    BizTransaction,
    Disposition,
    Event,
    ObjectEvent,
    Quantity,
    Where,
    event_id,
    lgtin_class,
    location_uri,
    sgtin_uri,
    sscc_uri,
)

STEP_OF_KIND: Final[Mapping[EntryKind, BizStep]] = MappingProxyType(
    {
        EntryKind.RECEIPT: BizStep.RECEIVING,
        EntryKind.ARRIVE: BizStep.RECEIVING,
        EntryKind.PUTAWAY: BizStep.STORING,
        EntryKind.MOVE: BizStep.STORING,
        EntryKind.PICK: BizStep.PICKING,
        EntryKind.SHIP: BizStep.SHIPPING,
        EntryKind.DISPATCH: BizStep.SHIPPING,
    }
)
"""The ledger kinds that are events, and their business step."""


RETURN_STEP_OF_KIND: Final[Mapping[EntryKind, BizStep]] = MappingProxyType(
    {
        EntryKind.RECEIPT: BizStep.RECEIVING,
        EntryKind.RELEASE: BizStep.INSPECTING,
        EntryKind.ADJUST: BizStep.DESTROYING,
    }
)
"""The ledger kinds that are events when a return is their cause (a receipt is one
anyway), and their business step."""


COUNT_STEP_OF_KIND: Final[Mapping[EntryKind, BizStep]] = MappingProxyType(
    {
        EntryKind.ADJUST: BizStep.CYCLE_COUNTING,
        EntryKind.MOVE: BizStep.CYCLE_COUNTING,
        EntryKind.PUTAWAY: BizStep.CYCLE_COUNTING,
        EntryKind.PICK: BizStep.CYCLE_COUNTING,
    }
)
"""The ledger kinds that are events when a count is their cause (its adjustments, and
the transfers of a pallet to where it was heard or counted), and their business step."""


TO_A_DOOR: Final = frozenset({EntryKind.PICK, EntryKind.MOVE})
"""The kinds whose step is ``staging_outbound`` when they go to a door."""


def kinds_of_steps(steps: Iterable[str]) -> frozenset[EntryKind]:
    """The ledger kinds whose events may have one of the CBV business ``steps`` (words)."""
    wanted = set(steps)
    kinds = {k for k, s in STEP_OF_KIND.items() if s.value in wanted}
    if BizStep.STAGING_OUTBOUND.value in wanted:
        kinds |= TO_A_DOOR
    return frozenset(kinds)


def return_kinds_of_steps(steps: Iterable[str]) -> frozenset[EntryKind]:
    """The ledger kinds whose events may have one of the CBV business ``steps`` when a
    return is their cause."""
    wanted = set(steps)
    return frozenset(k for k, s in RETURN_STEP_OF_KIND.items() if s.value in wanted)


def count_kinds_of_steps(steps: Iterable[str]) -> frozenset[EntryKind]:
    """The ledger kinds whose events may have one of the CBV business ``steps`` when a
    count is their cause."""
    wanted = set(steps)
    return frozenset(k for k, s in COUNT_STEP_OF_KIND.items() if s.value in wanted)


_DISPOSITION_OF_STATE: Final[Mapping[StockState, Disposition]] = MappingProxyType(
    {
        StockState.AVAILABLE: Disposition.SELLABLE_ACCESSIBLE,
        StockState.RESERVED: Disposition.SELLABLE_NOT_ACCESSIBLE,
        StockState.QUARANTINE: Disposition.NON_SELLABLE_OTHER,
        StockState.DAMAGED: Disposition.DAMAGED,
        StockState.IN_TRANSIT: Disposition.IN_TRANSIT,
    }
)


@dataclass(frozen=True, slots=True)
class PostingLine:
    """One ledger entry of a posting, with what is known of its pallet."""

    entry_id: int
    site: str
    sku: str
    lot: str
    location: str
    state: StockState
    pallet: str | None
    """SSCC, None for loose cases."""
    pallet_epc: str | None
    """The pallet's SSCC-96 EPC (hex) when known."""
    qty: int
    asn: str | None = None
    """The notice that announced the pallet."""


@dataclass(frozen=True, slots=True)
class Posting:
    posting: int
    kind: EntryKind
    time: datetime
    recorded_at: datetime
    lines: tuple[PostingLine, ...]
    cause: CauseKind | None = None
    """What caused it (the kind of its first entry's cause)."""
    cause_ref: str | None = None
    """That cause's id (``RMA-000123`` for a return, ``variance:12`` for a count)."""
    scan_action: str | None = None
    """When a scan caused it, what the scan did (``receive``, ``move``, ``count``, ``ship``)."""

    @property
    def of_a_return(self) -> bool:
        return self.cause is CauseKind.RETURN and self.cause_ref is not None

    @property
    def of_a_variance(self) -> bool:
        """An approved count variance caused it."""
        return self.cause is CauseKind.COUNT

    @property
    def of_a_count(self) -> bool:
        """A count caused it: an approved variance, or a handheld count (a scan)."""
        return self.of_a_variance or (self.cause is CauseKind.SCAN and self.scan_action == "count")


@dataclass(frozen=True, slots=True)
class PalletCases:
    """A pallet's case EPCs (SGTIN-96 hex) and its first receipt posting."""

    site: str
    sscc: str
    first_receipt: int
    case_epcs: tuple[str, ...]


def step_of(p: Posting) -> BizStep | None:
    """The business step of posting ``p``'s events (None: it is no event)."""
    if p.of_a_return and p.kind in RETURN_STEP_OF_KIND:
        return RETURN_STEP_OF_KIND[p.kind]
    if p.of_a_count and p.kind in COUNT_STEP_OF_KIND:
        return COUNT_STEP_OF_KIND[p.kind]
    return STEP_OF_KIND.get(p.kind)


def _disposition(p: Posting, step: BizStep, line: PostingLine) -> Disposition:
    kind, state, returned = p.kind, line.state, p.of_a_return
    if step is BizStep.CYCLE_COUNTING:
        # out: not where the book had it, its condition not known; else the state's
        return Disposition.UNKNOWN if line.qty < 0 else _DISPOSITION_OF_STATE[state]
    if returned and kind is EntryKind.RECEIPT:
        return Disposition.RETURNED
    if returned and kind is EntryKind.ADJUST:
        return Disposition.DESTROYED
    if kind in (EntryKind.RECEIPT, EntryKind.ARRIVE):
        quarantined = state is StockState.QUARANTINE
        return Disposition.NON_SELLABLE_OTHER if quarantined else Disposition.IN_PROGRESS
    if kind is EntryKind.PICK:
        return Disposition.IN_PROGRESS
    if kind in (EntryKind.SHIP, EntryKind.DISPATCH):
        return Disposition.IN_TRANSIT
    return _DISPOSITION_OF_STATE[state]


def _what(line: PostingLine) -> tuple[tuple[str, ...], tuple[Quantity, ...]]:
    if line.pallet is not None:
        return (sscc_uri(line.pallet, line.pallet_epc),), ()
    return (), (Quantity(lgtin_class(line.sku, line.lot), abs(line.qty)),)


def _mover(p: Posting) -> tuple[PostingLine, PostingLine | None]:
    """The line an event tells of (where the goods went, or left from for a ship and a
    dispatch) and, for a transfer, the line they left."""
    out = [ln for ln in p.lines if ln.qty < 0]
    into = [ln for ln in p.lines if ln.qty > 0]
    if p.kind is EntryKind.ADJUST:  # one line, in or out
        return p.lines[0], None
    if p.kind is EntryKind.SHIP:
        return out[0], None
    if p.kind is EntryKind.RECEIPT:
        return into[0], None
    source = out[0] if out else None
    if p.kind is EntryKind.DISPATCH:
        assert source is not None
        return source, source
    return into[0], source


def posting_events(
    p: Posting,
    pallets: Mapping[tuple[str, str], PalletCases],
    doors: frozenset[str] = frozenset(),
) -> list[Event]:
    """The events of one posting (none for a kind that is not an event);
    ``pallets`` gives the case EPCs of the pallets it names, by (site, SSCC); ``doors``
    the dock doors (a pick or move to one is staging for shipping)."""
    step = step_of(p)
    if step is None or not p.lines:
        return []
    if step is BizStep.DESTROYING and not any(ln.qty < 0 for ln in p.lines):
        return []
    line, source = _mover(p)
    disposition = _disposition(p, step, line)
    if p.kind in TO_A_DOOR and line.location in doors and step is not BizStep.CYCLE_COUNTING:
        step = BizStep.STAGING_OUTBOUND
    where = Where(location_uri(line.site, line.location), location_uri(line.site))
    epcs, quantities = _what(line)
    counted_cases = p.kind is EntryKind.ADJUST and p.of_a_count and not p.of_a_variance
    if step in (BizStep.INSPECTING, BizStep.DESTROYING) or counted_cases:
        # cases decided (an inspection) or counted (a handheld count), not a pallet
        epcs, quantities = (), (Quantity(lgtin_class(line.sku, line.lot), abs(line.qty)),)
    transactions: tuple[BizTransaction, ...] = ()
    if p.of_a_return:
        transactions = (BizTransaction(f"urn:rfidwms:rma:{p.cause_ref}", "rma"),)
    elif p.kind is EntryKind.RECEIPT and line.asn:
        transactions = (BizTransaction(f"urn:rfidwms:asn:{line.asn}", "desadv"),)
    key = f"rfidwms:ledger:{p.posting}:{line.entry_id}"
    events: list[Event] = [
        ObjectEvent(
            event_id=event_id(key + ":object"),
            event_time=p.time,
            record_time=p.recorded_at,
            action=Action.OBSERVE,
            biz_step=step,
            disposition=disposition,
            where=where,
            epcs=epcs,
            quantities=quantities,
            biz_transactions=transactions,
        )
    ]
    contents = pallets.get((line.site, line.pallet)) if line.pallet else None
    if (
        p.kind is EntryKind.RECEIPT
        and contents is not None
        and contents.first_receipt == p.posting
        and contents.case_epcs
    ):
        events.append(
            AggregationEvent(
                event_id=event_id(key + ":aggregation"),
                event_time=p.time,
                record_time=p.recorded_at,
                action=Action.ADD,
                parent_id=epcs[0],
                biz_step=step,
                disposition=disposition,
                where=where,
                child_epcs=tuple(sgtin_uri(c) for c in sorted(contents.case_epcs)),
            )
        )
    if source is not None and source is not line and source.pallet != line.pallet:
        cases = (Quantity(lgtin_class(line.sku, line.lot), abs(line.qty)),)
        if source.pallet is not None:
            events.append(
                AggregationEvent(
                    event_id=event_id(key + ":off"),
                    event_time=p.time,
                    record_time=p.recorded_at,
                    action=Action.DELETE,
                    parent_id=sscc_uri(source.pallet, source.pallet_epc),
                    biz_step=step,
                    disposition=disposition,
                    where=where,
                    child_quantities=cases,
                )
            )
        if line.pallet is not None:
            events.append(
                AggregationEvent(
                    event_id=event_id(key + ":on"),
                    event_time=p.time,
                    record_time=p.recorded_at,
                    action=Action.ADD,
                    parent_id=sscc_uri(line.pallet, line.pallet_epc),
                    biz_step=step,
                    disposition=disposition,
                    where=where,
                    child_quantities=cases,
                )
            )
    return events


@dataclass(frozen=True, slots=True)
class EventPage:
    events: list[Event]
    last_posting: int | None
    """The last posting the page covers (the cursor of the next page); None: no more."""


def page_of_events(
    postings: Sequence[Posting],
    pallets: Mapping[tuple[str, str], PalletCases],
    *,
    per_page: int,
    more: bool,
    names: frozenset[str] | None = None,
    event_types: frozenset[str] | None = None,
    steps: frozenset[str] | None = None,
    doors: frozenset[str] = frozenset(),
) -> EventPage:
    """The events of ``postings`` (in posting order), a page of at most ``per_page``
    events ending on a whole posting (a posting whose events alone exceed it is given
    whole); ``names``: keep only events naming one of these identifiers (in epcList,
    parentID or childEPCs); ``event_types``: keep only these (``ObjectEvent``,
    ``AggregationEvent``); ``steps``: keep only events of these business steps;
    ``doors``: as for :func:`posting_events`. ``more``: there are postings after these."""
    events: list[Event] = []
    last: int | None = None
    for i, p in enumerate(postings):
        mine = [
            e
            for e in posting_events(p, pallets, doors)
            if (names is None or e.names() & names)
            and (event_types is None or type(e).__name__ in event_types)
            and (steps is None or e.biz_step.value in steps)
        ]
        if events and len(events) + len(mine) > per_page:
            return EventPage(events, last)
        events.extend(mine)
        last = p.posting
        if len(events) >= per_page and (i + 1 < len(postings) or more):
            return EventPage(events, last)
    return EventPage(events, last if more else None)
