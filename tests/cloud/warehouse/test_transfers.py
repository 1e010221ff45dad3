"""Transfers between sites, the pure decisions: the request, transit times, the status,
dispatching a pallet at the source's door, its arrival at the destination (short,
over), lateness, cancelling, and the webhook events of a transfer's order."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from cloud.warehouse.door_check import OrderPallets, OutboundPassage, check_passage
from cloud.warehouse.ledger import (
    IN_TRANSIT,
    Bucket,
    Cause,
    CauseKind,
    EntryKind,
    Position,
    StockState,
)
from cloud.warehouse.orders import OrderStatus, TimelineEntry
from cloud.warehouse.transfers import (
    CancelPlan,
    OnTheRoad,
    Outcome,
    TransferConflict,
    TransferError,
    TransferLine,
    TransferStatus,
    cancel_plan,
    check_request,
    dispatch_operations,
    internal_customer,
    is_internal_customer,
    is_late,
    outcomes,
    parse_transit_times,
    receive_pallet,
    status_of,
    transit_time,
)
from cloud.warehouse.webhooks import EventType, SubjectKind, transfer_order_event
from protocols.epc import Sgtin96, Sscc96

T0 = datetime(2025, 3, 1, 8, tzinfo=UTC)
GTIN = "00614141123452"
GTIN2 = "10614141123459"
SSCC = Sscc96(company_prefix="0614141", serial_reference="0000000001").sscc
CAUSE = Cause(CauseKind.PASSAGE, "7")


def case(n: int, gtin: str = GTIN) -> str:
    return Sgtin96.from_gtin(gtin, company_prefix_length=7, serial=n, filter=0).to_hex()


@pytest.mark.parametrize(
    ("from_site", "to_site", "lines", "said"),
    [
        ("dc-1", "dc-2", [TransferLine(GTIN, 3)], None),
        ("dc-1", "dc-1", [TransferLine(GTIN, 3)], "to_site: 'dc-1' is the source site"),
        ("dc-9", "dc-2", [TransferLine(GTIN, 3)], "from_site: 'dc-9' is not a site"),
        ("dc-1", "dc-9", [TransferLine(GTIN, 3)], "to_site: 'dc-9' is not a site"),
        ("dc-1", "dc-2", [], "lines: a transfer moves at least one item"),
        (
            "dc-1",
            "dc-2",
            [TransferLine(GTIN, 1), TransferLine(GTIN2, 1), TransferLine(GTIN, 2)],
            "lines[2].sku: '00614141123452' is listed already (lines[0])",
        ),
        ("dc-1", "dc-2", [TransferLine(GTIN, 0)], "lines[0].qty: must be a whole number"),
    ],
)
def test_a_request_names_two_served_sites_and_each_item_once(from_site, to_site, lines, said):
    if said is None:
        check_request(from_site, to_site, lines, ["dc-1", "dc-2"])
        return
    with pytest.raises(TransferError, match="^" + re.escape(said)):
        check_request(from_site, to_site, lines, ["dc-1", "dc-2"])


@pytest.mark.parametrize(
    ("text", "pair", "minutes"),
    [
        ("dc-1>dc-2=240", ("dc-1", "dc-2"), 240),
        ("dc-1>dc-2=240", ("dc-2", "dc-1"), 240),  # one way given: serves both
        ("dc-1>dc-2=240, dc-2>dc-1=300", ("dc-2", "dc-1"), 300),
        ("", ("dc-1", "dc-2"), 60),  # the default
        ("dc-1>dc-3=15", ("dc-1", "dc-2"), 60),
    ],
)
def test_transit_time_per_site_pair(text, pair, minutes):
    got = transit_time(parse_transit_times(text), *pair, timedelta(minutes=60))
    assert got == timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("dc-1-dc-2=5", "a transit time is from>to=minutes"),
        ("dc-1>dc-2", "a transit time is from>to=minutes"),
        ("dc-1>dc-2=soon", "'soon' is not minutes"),
        ("dc-1>dc-2=0", "minutes must be above 0"),
        ("dc-1>dc-2=5,dc-1>dc-2=6", "dc-1>dc-2 is given twice"),
    ],
)
def test_bad_transit_times_name_the_entry(text, said):
    with pytest.raises(ValueError, match=said):
        parse_transit_times(text)


@pytest.mark.parametrize(
    ("shipped", "dispatched", "arrived", "status"),
    [
        (False, 0, 0, TransferStatus.OPEN),
        (False, 2, 1, TransferStatus.OPEN),  # a pallet on the road, one still loading
        (True, 2, 0, TransferStatus.IN_TRANSIT),
        (True, 2, 1, TransferStatus.IN_TRANSIT),
        (True, 2, 2, TransferStatus.RECEIVED),
    ],
)
def test_status_follows_the_order_then_the_pallets(shipped, dispatched, arrived, status):
    assert status_of(order_shipped=shipped, dispatched=dispatched, arrived=arrived) is status


def test_more_pallets_arrived_than_left_is_refused():
    with pytest.raises(TransferError, match="3 arrived of 2 dispatched"):
        status_of(order_shipped=True, dispatched=2, arrived=3)


@pytest.mark.parametrize(
    ("now_min", "all_arrived", "late"),
    [(60, False, False), (90, False, False), (91, False, True), (200, True, False)],
)
def test_late_after_the_expected_arrival_plus_grace(now_min, all_arrived, late):
    expected = T0 + timedelta(minutes=60)
    now = T0 + timedelta(minutes=now_min)
    assert is_late(expected, timedelta(minutes=30), now, all_arrived=all_arrived) is late


def test_internal_customer_cannot_be_an_api_customer():
    assert internal_customer("dc-2") == "site:dc-2"
    assert is_internal_customer("site:dc-2") and not is_internal_customer("acme")


def _reserved(site: str, lot: str, qty: int, pallet: str = SSCC) -> tuple[Position, int]:
    return Position(Bucket(site, GTIN, lot, "door-1", StockState.RESERVED), pallet), qty


def test_a_transfer_pallet_through_its_door_is_dispatched_in_transit_to_the_destination():
    passage = OutboundPassage("7", "dc-1", "door-1", T0, SSCC)
    check = check_passage(passage, [OrderPallets("SO-1", "dc-1", frozenset({SSCC}), "door-1")])
    other = Sscc96(company_prefix="0614141", serial_reference="0000000002").sscc
    positions = dict(
        [_reserved("dc-1", "L1", 3), _reserved("dc-1", "L2", 2), _reserved("dc-1", "L1", 4, other)]
    )
    ops = dispatch_operations(check, positions, to_site="dc-2")
    assert [op.kind for op in ops] == [EntryKind.DISPATCH, EntryKind.DISPATCH]
    assert [(op.lines[1].position.bucket, op.lines[1].qty) for op in ops] == [
        (Bucket("dc-2", GTIN, "L1", IN_TRANSIT, StockState.IN_TRANSIT), 3),
        (Bucket("dc-2", GTIN, "L2", IN_TRANSIT, StockState.IN_TRANSIT), 2),
    ]
    assert all(op.lines[1].position.pallet == SSCC and op.cause == CAUSE for op in ops)
    # a mis-shipment dispatches nothing
    wrong = check_passage(passage, [])
    assert dispatch_operations(wrong, positions, to_site="dc-2") == []
    with pytest.raises(TransferError, match="to_site: 'dc-1' is the site the pallet leaves"):
        dispatch_operations(check, positions, to_site="dc-1")


def _road(cases: frozenset[str], held: dict[str, int]) -> OnTheRoad:
    """``held``: ``"<gtin>/<lot>"`` -> cases in transit on the pallet."""
    positions = {}
    for key, qty in held.items():
        gtin, lot = key.split("/")
        bucket = Bucket("dc-2", gtin, lot, IN_TRANSIT, StockState.IN_TRANSIT)
        positions[Position(bucket, SSCC)] = qty
    return OnTheRoad("TR-1", SSCC, positions, cases)


@pytest.mark.parametrize(
    ("left", "held", "heard", "arrived", "missing", "extra"),
    [
        # every case that left came: all of it arrives
        ({1, 2, 3}, {f"{GTIN}/L1": 3}, {1, 2, 3}, {(GTIN, "L1"): 3}, (), ()),
        # a case did not come: short, the rest arrives (lots in position order)
        (
            {1, 2, 3},
            {f"{GTIN}/L1": 1, f"{GTIN}/L2": 2},
            {1, 3},
            {(GTIN, "L1"): 1, (GTIN, "L2"): 1},
            (2,),
            (),
        ),
        # a case that had not left came too: over, not booked
        ({1, 2}, {f"{GTIN}/L1": 2}, {1, 2, 9}, {(GTIN, "L1"): 2}, (), (9,)),
        # nothing heard: nothing arrives, all short
        ({1, 2}, {f"{GTIN}/L1": 2}, set(), {}, (1, 2), ()),
        # the cases that left are not known: everything in transit arrives
        (set(), {f"{GTIN}/L1": 4}, set(), {(GTIN, "L1"): 4}, (), ()),
    ],
)
def test_a_pallet_arriving_is_compared_with_what_left_on_it(
    left, held, heard, arrived, missing, extra
):
    road = _road(frozenset(case(n) for n in left), held)
    got = receive_pallet(
        road, site="dc-2", door="door-5", heard=[case(n) for n in heard], cause=CAUSE, time=T0
    )
    assert {
        (op.lines[1].position.bucket.item, op.lines[1].position.bucket.lot): op.lines[1].qty
        for op in got.operations
    } == arrived
    assert all(op.kind is EntryKind.ARRIVE for op in got.operations)
    for op in got.operations:
        b = op.lines[1].position.bucket
        assert (b.site, b.location, b.state) == ("dc-2", "door-5", StockState.AVAILABLE)
    assert got.received == sum(arrived.values())
    assert got.missing == tuple(sorted(case(n) for n in missing))
    assert got.extra == tuple(sorted(case(n) for n in extra))


@pytest.mark.parametrize(
    ("missing", "extra", "late", "expected"),
    [
        (0, 0, False, []),
        (1, 0, False, [Outcome.SHORT]),
        (0, 2, True, [Outcome.OVER, Outcome.LATE]),
        (1, 1, True, [Outcome.SHORT, Outcome.OVER, Outcome.LATE]),
    ],
)
def test_outcomes(missing, extra, late, expected):
    assert outcomes(missing=missing, extra=extra, late=late) == expected


@pytest.mark.parametrize(
    ("event", "status", "told"),
    [
        ("allocated", OrderStatus.ALLOCATED, EventType.TRANSFER_RESERVED),
        ("partially_allocated", OrderStatus.PARTIALLY_ALLOCATED, EventType.TRANSFER_RESERVED),
        ("backordered", OrderStatus.BACKORDERED, EventType.TRANSFER_DELAYED),
        ("on_hold", OrderStatus.ON_HOLD, EventType.TRANSFER_DELAYED),
        ("picked", OrderStatus.PICKED, EventType.TRANSFER_PICKED),
        ("shipped", OrderStatus.SHIPPED, None),  # told by the transfer, with its arrival
        ("pallet_picked", OrderStatus.PICKING, None),
    ],
)
def test_a_transfer_orders_timeline_is_told_as_the_transfers(event, status, told):
    got = transfer_order_event("dc-1", "TR-1", "dc-2", "SO-1", TimelineEntry(T0, status, event))
    if told is None:
        assert got is None
        return
    assert got is not None
    assert (got.type, got.subject_kind, got.subject_id, got.customer) == (
        told,
        SubjectKind.TRANSFER,
        "TR-1",
        None,
    )
    assert got.data["to_site"] == "dc-2" and got.data["order_id"] == "SO-1"


_T = TransferStatus


@pytest.mark.parametrize(
    ("status", "order", "dispatched", "plan"),
    [
        (_T.OPEN, "allocated", 0, CancelPlan(cancel_order=True)),
        (_T.OPEN, "partially_allocated", 0, CancelPlan(cancel_order=True)),
        (_T.OPEN, "backordered", 0, CancelPlan(cancel_order=True)),
        (_T.OPEN, "picking", 0, CancelPlan(cancel_order=True)),
        (_T.OPEN, "picked", 0, CancelPlan(cancel_order=True)),
        (_T.OPEN, "packed", 0, CancelPlan(cancel_order=True)),
        (_T.OPEN, "on_hold", 0, CancelPlan(cancel_order=True)),
        # its order was cancelled through /api/orders: the transfer is only closed
        (_T.OPEN, "cancelled", 0, CancelPlan(cancel_order=False)),
    ],
)
def test_a_transfer_nothing_of_which_left_is_cancelled_with_its_order(
    status, order, dispatched, plan
):
    assert cancel_plan("TR-000001", status, order, dispatched) == plan


@pytest.mark.parametrize(
    ("status", "order", "dispatched", "said"),
    [
        (_T.IN_TRANSIT, "shipped", 2, "is in_transit: its pallets left the source"),
        (_T.RECEIVED, "shipped", 2, "is received: its pallets left the source"),
        (_T.CANCELLED, "cancelled", 0, "is cancelled already"),
        (_T.OPEN, "loading", 1, "1 pallet(s) of transfer TR-000001 left the source's door"),
        (_T.OPEN, "loading", 0, "being loaded at the source's door"),
        (_T.OPEN, "shipped", 0, "order is shipped; it cannot be cancelled"),
        (_T.OPEN, "no-such", 0, "order_status: 'no-such' is no status"),
    ],
)
def test_a_transfer_something_of_which_left_is_not_cancelled(status, order, dispatched, said):
    with pytest.raises(TransferConflict, match=re.escape(said)):
        cancel_plan("TR-000001", status, order, dispatched)
