"""Handheld scans of GS1 barcodes, for goods without tags: receive, move, count, ship.

:func:`apply_scan` parses the barcode (:func:`cloud.warehouse.gs1.parse_scan`: GS1
element strings, or the 24 hex digits of an SSCC-96 or SGTIN-96 EPC),
stores the scan (its id is the cause of what it posts) and posts through the same
ledger as the door and zone events, all in the caller's transaction. Anything wrong
raises :class:`ScanError` (with the HTTP status it means) before the ledger is
touched, or rolls back with the transaction:

- **receive** an SSCC (``00``): an announced pallet is received at ``location`` (or
  its notice's door) with ``qty`` cases, or the label's count (``37``), or the
  announced count; cases beyond the notice raise ``over_receipt``. An SSCC nobody
  announced needs the content (``02`` or ``01``), lot (``10``) and count: it is
  received into quarantine with an ``unexpected_receipt`` alert. A GTIN (``01``) with
  a lot receives loose cases, available, at ``location``;
- **move** an SSCC: the pallet's stock goes to ``location`` (put-away from a door,
  pick of reserved stock, move otherwise); a GTIN with a lot: ``qty`` loose available
  cases from the one place that holds them (several places: refused, naming them);
- **count** an SSCC or a GTIN with a lot at ``location``: the counted ``qty`` (or the
  label's count) against the book, the variance posted as ``adjust`` (a counted
  pallet found elsewhere than the book says is moved there first). A pallet may be
  counted by its cases' EPCs (``cases``: what a handheld RFID reader found on it):
  its booked cases not among them come off its case list, and off its order's
  reservation when an open order holds it (as a weight's missing cases do,
  :func:`cloud.db.order_flow.count_off_pallet`); the count is their number.

- **ship** an SSCC at a door (``location``): the orders' door check, as for an
  outbound passage there (:func:`cloud.db.order_flow.door_passage`): its order's
  reserved cases ship, or a ``mis_shipment`` alert holds the orders.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from cloud.db import goods, order_flow, stock
from cloud.db.alerts import raise_alert
from cloud.db.orders import Floor
from cloud.operations.feed import Conn
from cloud.warehouse.alerts import AlertKind
from cloud.warehouse.gs1 import Gs1Data, Gs1Error, parse_scan
from cloud.warehouse.handling import count_adjustments, moves_to
from cloud.warehouse.ledger import (
    ON_HAND_STATES,
    Bucket,
    Cause,
    CauseKind,
    EntryKind,
    LedgerError,
    Operation,
    Position,
    StockState,
    receipt,
    transfer,
)
from protocols.epc import EPCError, Sgtin96, decode_hex
from protocols.layout import Layout

Action = Literal["receive", "move", "count", "ship"]


class ScanError(ValueError):
    """A scan that cannot be applied; names the field and value. ``status``: HTTP."""

    def __init__(self, message: str, *, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Scan:
    barcode: str
    action: Action
    location: str | None = None
    qty: int | None = None
    cases: tuple[str, ...] | None = None
    """count of a pallet: the EPCs (upper-case hex SGTIN-96) of the cases found on it."""


@dataclass(slots=True)
class ScanResult:
    id: int
    scan: Scan
    data: Gs1Data
    time: datetime
    postings: list[int] = field(default_factory=list)
    variance: int | None = None
    """count: counted minus the book."""
    door_check: order_flow.Passed | None = None
    """ship: the door check's verdict (the orders' :func:`cloud.db.order_flow.door_passage`)."""


async def apply_scan(
    conn: Conn, scan: Scan, *, site: str, layout: Layout, now: datetime
) -> ScanResult:
    try:
        data = parse_scan(scan.barcode, today=now.date())
    except Gs1Error as e:
        raise ScanError(f"barcode: {e}") from None
    if data.is_location:
        raise ScanError(
            f"barcode: {scan.barcode!r} is a location label ((414) {data.gln}"
            f"{f', (254) {data.place}' if data.place else ''}); scan the goods, and give the "
            "place as location"
        )
    places = layout_places(layout)
    if scan.location is not None and scan.location not in places:
        raise ScanError(
            f"location: {scan.location!r} is not a zone or door of the layout "
            f"({', '.join(sorted(places))})"
        )
    cur = await conn.execute(
        "INSERT INTO scans (site, action, barcode, elements, location, qty, time)"
        " VALUES (%s, %s, %s, %s::jsonb, %s, %s, %s) RETURNING id",
        [
            site,
            scan.action,
            scan.barcode,
            json.dumps(dict(data.elements)),
            scan.location,
            scan.qty,
            now,
        ],
    )
    row = await cur.fetchone()
    assert row is not None
    result = ScanResult(int(row[0]), scan, data, now)
    cause = Cause(CauseKind.SCAN, str(result.id))
    doors = frozenset(d.id for d in layout.doors)
    handling = _Handling(conn, site, doors, cause, now, result)
    if scan.action == "receive":
        await handling.receive(scan, data)
    elif scan.action == "move":
        await handling.move(scan, data)
    elif scan.action == "count":
        await handling.count(scan, data)
    else:
        await handling.ship(scan, data, layout)
    await conn.execute("UPDATE scans SET postings = %s WHERE id = %s", [result.postings, result.id])
    return result


def layout_places(layout: Layout) -> frozenset[str]:
    """The places a scan may name: the layout's zones and doors."""
    return frozenset(z.id for z in layout.zones) | frozenset(d.id for d in layout.doors)


def _needs(scan: Scan, what: str) -> str:
    if scan.location is None:
        raise ScanError(f"location: a {scan.action} scan {what} needs a location")
    return scan.location


def _qty(scan: Scan, data: Gs1Data, *, allow_zero: bool = False) -> int | None:
    qty = scan.qty if scan.qty is not None else data.count
    if qty is not None and (qty < 0 or (qty == 0 and not allow_zero)):
        raise ScanError(f"qty: must be {'0 or more' if allow_zero else 'above 0'}, got {qty}")
    return qty


def _sgtin(epc: str) -> Sgtin96:
    try:
        case = decode_hex(epc)
    except EPCError as e:
        raise ScanError(f"cases: {epc!r} is not an EPC: {e}") from None
    if not isinstance(case, Sgtin96):
        raise ScanError(f"cases: {epc!r} is a {case.scheme}, not an SGTIN-96")
    return case


def _item_lot(data: Gs1Data, action: str) -> tuple[str, str]:
    if data.item is None or data.lot is None:
        missing = [n for n, v in (("(01) GTIN", data.item), ("(10) lot", data.lot)) if v is None]
        raise ScanError(
            f"barcode: a {action} scan of loose cases needs {' and '.join(missing)}; "
            f"it has {', '.join(f'({k})' for k in data.elements)}"
        )
    return data.item, data.lot


@dataclass
class _Handling:
    conn: Conn
    site: str
    doors: frozenset[str]
    cause: Cause
    now: datetime
    result: ScanResult

    async def post(self, op: Operation) -> None:
        try:
            posting = await stock.post(self.conn, op, recorded_at=self.now)
        except LedgerError as e:
            raise ScanError(str(e), status=409) from None
        self.result.postings.append(posting)

    async def known_item(self, sku: str) -> None:
        if await goods.item(self.conn, sku) is None:
            raise ScanError(f"barcode: item {sku} is not in the item master (POST /api/items)")

    async def lot(self, sku: str, lot: str, data: Gs1Data) -> None:
        try:
            await goods.ensure_lot(self.conn, sku, lot, data.expiry, now=self.now)
        except goods.GoodsError as e:
            raise ScanError(f"barcode: {e}", status=e.status) from None

    # -- receive -------------------------------------------------------------------

    async def receive(self, scan: Scan, data: Gs1Data) -> None:
        if data.sscc is None:
            sku, lot = _item_lot(data, "receive")
            location = _needs(scan, "of loose cases")
            qty = _qty(scan, data)
            if qty is None:
                raise ScanError("qty: how many cases? give qty or a label with (37)")
            await self.known_item(sku)
            await self.lot(sku, lot, data)
            where = Position(Bucket(self.site, sku, lot, location, StockState.AVAILABLE))
            await self.post(receipt(where, qty, cause=self.cause, time=self.now))
            return
        pallet = await goods.pallet(self.conn, self.site, data.sscc, lock=True)
        if pallet is None:
            await self.receive_unexpected(scan, data, data.sscc)
            return
        if pallet.status != "announced":
            raise ScanError(
                f"barcode: pallet {data.sscc} was received already"
                f" ({pallet.received_cause} at {pallet.received_at})",
                status=409,
            )
        assert pallet.sku is not None and pallet.lot is not None
        assert pallet.asn is not None and pallet.announced_cases is not None
        if data.item is not None and data.item != pallet.sku:
            raise ScanError(
                f"barcode: pallet {data.sscc} holds {data.item} by its label, "
                f"{pallet.sku} by notice {pallet.asn}",
                status=409,
            )
        header = await goods.asn_header(self.conn, pallet.asn)
        place = scan.location or (header.door if header else None)
        if place is None:
            raise ScanError("location: where was the pallet received? (its notice names no door)")
        qty = _qty(scan, data)
        counted = qty if qty is not None else pallet.announced_cases
        booked = min(counted, pallet.announced_cases)
        over = counted - booked
        where = Position(
            Bucket(self.site, pallet.sku, pallet.lot, place, StockState.AVAILABLE), data.sscc
        )
        await self.post(receipt(where, booked, cause=self.cause, time=self.now))
        await goods.mark_received(
            self.conn,
            self.site,
            data.sscc,
            epc=None,
            at=self.now,
            door=place if place in self.doors else None,
            cause=f"scan:{self.result.id}",
            received_cases=booked,
            over_cases=over,
            now=self.now,
        )
        if over:
            await raise_alert(
                self.conn,
                site=self.site,
                kind=AlertKind.OVER_RECEIPT,
                subject=data.sscc,
                message=(
                    f"pallet {data.sscc} of notice {pallet.asn} was scanned in with {over}"
                    " cases more than announced"
                ),
                at=self.now,
                detail={"asn": pallet.asn, "over_cases": over, "location": place},
                cause=("scan", str(self.result.id)),
            )

    async def receive_unexpected(self, scan: Scan, data: Gs1Data, sscc: str) -> None:
        qty = _qty(scan, data)
        if data.item is None or data.lot is None or qty is None:
            raise ScanError(
                f"barcode: pallet {sscc} was not announced; to receive it into quarantine the "
                "label must give its content ((02) or (01)) and lot ((10)), and the count "
                "((37)) or qty"
            )
        location = _needs(scan, "of a pallet nobody announced")
        await self.known_item(data.item)
        await self.lot(data.item, data.lot, data)
        where = Position(
            Bucket(self.site, data.item, data.lot, location, StockState.QUARANTINE), sscc
        )
        await self.post(receipt(where, qty, cause=self.cause, time=self.now))
        await goods.insert_unexpected(
            self.conn,
            self.site,
            sscc,
            epc=None,
            sku=data.item,
            lot=data.lot,
            at=self.now,
            door=location if location in self.doors else None,
            cause=f"scan:{self.result.id}",
            received_cases=qty,
            now=self.now,
        )
        await raise_alert(
            self.conn,
            site=self.site,
            kind=AlertKind.UNEXPECTED_RECEIPT,
            subject=sscc,
            message=(
                f"pallet {sscc} was scanned in at {location} and no notice announced it:"
                f" {qty} cases received into quarantine"
            ),
            at=self.now,
            detail={"location": location, "cases": qty, "items": [data.item]},
            cause=("scan", str(self.result.id)),
        )

    # -- move ----------------------------------------------------------------------

    async def move(self, scan: Scan, data: Gs1Data) -> None:
        location = _needs(scan, "")
        if data.sscc is not None:
            held = await stock.pallet_positions(self.conn, self.site, data.sscc)
            if not held:
                raise ScanError(
                    f"barcode: pallet {data.sscc} holds no stock at site {self.site!r}",
                    status=409,
                )
            ops = moves_to(
                [(r.position, r.qty) for r in held],
                location,
                doors=self.doors,
                cause=self.cause,
                time=self.now,
            )
            for op in ops:
                await self.post(op)
            return
        sku, lot = _item_lot(data, "move")
        qty = _qty(scan, data)
        if qty is None:
            raise ScanError("qty: how many cases? give qty or a label with (37)")
        sources = [
            r
            for r in await stock.positions(
                self.conn, site=self.site, sku=sku, lot=lot, pallet="", state=StockState.AVAILABLE
            )
            if r.bucket.location != location
        ]
        places = sorted({r.bucket.location for r in sources})
        if not places:
            raise ScanError(
                f"barcode: no loose available cases of {sku} lot {lot} elsewhere than {location}",
                status=409,
            )
        if len(places) > 1:
            raise ScanError(
                f"barcode: loose cases of {sku} lot {lot} are in {', '.join(places)}: move "
                "them by pallet, or count them where they are",
                status=409,
            )
        source = sources[0].position
        kind = EntryKind.PUTAWAY if source.bucket.location in self.doors else EntryKind.MOVE
        target = Position(
            Bucket(self.site, sku, lot, location, StockState.AVAILABLE),
        )
        await self.post(transfer(kind, source, target, qty, cause=self.cause, time=self.now))

    # -- ship: the orders' door check, as for an outbound passage --------------------

    async def ship(self, scan: Scan, data: Gs1Data, layout: Layout) -> None:
        door = _needs(scan, "at a door")
        if door not in self.doors:
            raise ScanError(
                f"location: a ship scan is taken at a door ({', '.join(sorted(self.doors))}),"
                f" got {door!r}"
            )
        if data.sscc is None:
            raise ScanError("barcode: a ship scan needs the pallet's SSCC (00)")
        passed = await order_flow.door_passage(
            self.conn,
            site=self.site,
            cause=self.cause,
            door=door,
            sscc=data.sscc,
            time=self.now,
            now=self.now,
            floor=Floor.of(layout),
        )
        self.result.postings.extend(passed.postings)
        self.result.door_check = passed

    # -- count ---------------------------------------------------------------------

    async def count(self, scan: Scan, data: Gs1Data) -> None:
        counted = _qty(scan, data, allow_zero=True)
        if scan.cases is not None:
            if data.sscc is None:
                raise ScanError("cases: a count by case EPCs is of a pallet; scan its SSCC")
            if counted is not None and counted != len(scan.cases):
                raise ScanError(f"qty: {counted} cases counted, but cases lists {len(scan.cases)}")
            counted = len(scan.cases)
        if counted is None:
            raise ScanError("qty: how many cases were counted? give qty or a label with (37)")
        if data.sscc is not None:
            await self.count_pallet(scan, data, data.sscc, counted)
            return
        sku, lot = _item_lot(data, "count")
        location = _needs(scan, "of loose cases")
        await self.known_item(sku)
        await self.lot(sku, lot, data)
        held = await stock.positions(
            self.conn, site=self.site, sku=sku, lot=lot, location=location, pallet=""
        )
        surplus = Position(Bucket(self.site, sku, lot, location, StockState.AVAILABLE))
        book = [(r.position, r.qty) for r in held if r.bucket.state in ON_HAND_STATES]
        await self.adjust(book, counted, surplus)

    async def pallet_book(self, sscc: str) -> list[stock.PositionRow]:
        """The pallet's on-hand positions."""
        return [
            r
            for r in await stock.pallet_positions(self.conn, self.site, sscc)
            if r.bucket.state in ON_HAND_STATES
        ]

    async def count_pallet(self, scan: Scan, data: Gs1Data, sscc: str, counted: int) -> None:
        held = await self.pallet_book(sscc)
        pallet = await goods.pallet(self.conn, self.site, sscc)
        where: str | None
        if held:
            main = max(held, key=lambda r: r.qty).bucket
            sku, lot, where = main.item, main.lot, main.location
        elif pallet is not None and pallet.sku is not None and pallet.lot is not None:
            sku, lot, where = pallet.sku, pallet.lot, pallet.received_door
        else:
            raise ScanError(
                f"barcode: pallet {sscc} is not in stock at site {self.site!r}; receive it",
                status=409,
            )
        location = scan.location or where
        if location is None:
            raise ScanError("location: where was the pallet counted?")
        book = [(r.position, r.qty) for r in held]
        if any(p.bucket.location != location for p, _ in book):
            for op in moves_to(book, location, doors=self.doors, cause=self.cause, time=self.now):
                await self.post(op)
            book = [(r.position, r.qty) for r in await self.pallet_book(sscc)]
        booked = sum(q for _, q in book)
        if scan.cases is not None and pallet is not None:
            book = await self.cases_not_found(sscc, pallet, scan.cases, book)
        surplus = Position(Bucket(self.site, sku, lot, location, StockState.AVAILABLE), sscc)
        await self.adjust(book, counted, surplus)
        self.result.variance = counted - booked  # the cases its order gave up included

    async def cases_not_found(
        self,
        sscc: str,
        pallet: goods.Pallet,
        found: tuple[str, ...],
        book: list[tuple[Position, int]],
    ) -> list[tuple[Position, int]]:
        """The pallet's booked cases not ``found`` on it come off its case list (and
        off its order, when one holds it); the book of its stock after that."""
        for epc in found:
            case = _sgtin(epc)
            if case.gtin != pallet.sku:
                raise ScanError(f"cases: {epc} is an item {case.gtin}, not {pallet.sku}")
        listed = await goods.pallet_with_cases(self.conn, self.site, sscc)
        assert listed is not None
        here = set(found)
        gone = [c.epc for c in listed.cases if c.epc not in here]
        if not gone:
            return book
        posted = await order_flow.count_off_pallet(
            self.conn, site=self.site, sscc=sscc, cases=gone, time=self.now, cause=self.cause
        )
        if posted is None:  # no order holds it: the count's adjust takes the cases off
            await goods.drop_cases(self.conn, self.site, sscc, gone)
            return book
        self.result.postings.extend(posted)
        return [(r.position, r.qty) for r in await self.pallet_book(sscc)]

    async def adjust(
        self, book: list[tuple[Position, int]], counted: int, surplus: Position
    ) -> None:
        self.result.variance = counted - sum(q for _, q in book)
        for op in count_adjustments(
            book, counted, surplus_to=surplus, cause=self.cause, time=self.now
        ):
            await self.post(op)
