"""What floor events and scans do to stock (pure): moves of a pallet to where it was
seen, unannounced receipts into quarantine, count variances; and the availability
promise and a notice's status from stored figures."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from cloud.warehouse.availability import Inbound, promise
from cloud.warehouse.handling import (
    UNKNOWN_LOT,
    count_adjustments,
    moves_to,
    unexpected_receipts,
)
from cloud.warehouse.ledger import (
    Bucket,
    Cause,
    CauseKind,
    EntryKind,
    LedgerError,
    Position,
    StockState,
)
from cloud.warehouse.notices import StoredPallet, notice_status
from cloud.warehouse.receiving import Outcome
from protocols.epc import Sgtin96

T0 = datetime(2025, 3, 3, 8, tzinfo=UTC)
GTIN = "00614141123452"
GTIN2 = "10614141123459"
SSCC = "106141410000000019"
S = StockState
K = EntryKind
CAUSE = Cause(CauseKind.ZONE_EVENT, "5")
DOORS = frozenset({"door-1", "door-2"})


def pos(location: str, state: StockState = S.AVAILABLE, pallet: str | None = SSCC) -> Position:
    return Position(Bucket("dc-1", GTIN, "L1", location, state), pallet)


def legs(ops):
    return [(op.kind, [(line.position, line.qty) for line in op.lines]) for op in ops]


@pytest.mark.parametrize(
    ("held", "to", "expected"),
    [
        # from the door it is a put-away, keeping state (quarantine stays quarantined)
        ([(pos("door-1"), 10)], "zone-a",
         [(K.PUTAWAY, [(pos("door-1"), -10), (pos("zone-a"), 10)])]),
        ([(pos("door-1", S.QUARANTINE), 3)], "zone-b",
         [(K.PUTAWAY, [(pos("door-1", S.QUARANTINE), -3), (pos("zone-b", S.QUARANTINE), 3)])]),
        # between zones a move; reserved stock is picked
        ([(pos("zone-a"), 6), (pos("zone-a", S.RESERVED), 4)], "packing",
         [(K.MOVE, [(pos("zone-a"), -6), (pos("packing"), 6)]),
          (K.PICK, [(pos("zone-a", S.RESERVED), -4), (pos("packing", S.RESERVED), 4)])]),
        # damaged stock leaving a door moves (a put-away is for sellable stock)
        ([(pos("door-2", S.DAMAGED), 1)], "zone-c",
         [(K.MOVE, [(pos("door-2", S.DAMAGED), -1), (pos("zone-c", S.DAMAGED), 1)])]),
        # already there, empty, or in transit: nothing
        ([(pos("zone-a"), 5), (pos("zone-b"), 0)], "zone-a", []),
        ([(Position(Bucket("dc-1", GTIN, "L1", "in_transit", S.IN_TRANSIT), SSCC), 5)],
         "zone-a", []),
    ],
)  # fmt: skip
def test_stock_seen_elsewhere_goes_there_by_the_right_kind(held, to, expected):
    assert legs(moves_to(held, to, doors=DOORS, cause=CAUSE, time=T0)) == expected


def case(n: int, gtin: str = GTIN) -> str:
    return Sgtin96.from_gtin(gtin, company_prefix_length=7, serial=n).to_hex()


def test_an_unannounced_pallet_is_received_into_quarantine_per_item():
    found = unexpected_receipts(
        site="dc-1",
        door="door-2",
        pallet=SSCC,
        cases=[case(1), case(2), case(3, GTIN2), case(2), "3114257BF43B9ACA01000000", "ZZ"],
        cause=Cause(CauseKind.PASSAGE, "9"),
        time=T0,
    )
    assert found.items == (GTIN, GTIN2)
    assert found.not_cases == ("3114257BF43B9ACA01000000", "ZZ")
    q = S.QUARANTINE
    assert legs(found.operations) == [
        (K.RECEIPT, [(Position(Bucket("dc-1", GTIN, UNKNOWN_LOT, "door-2", q), SSCC), 2)]),
        (K.RECEIPT, [(Position(Bucket("dc-1", GTIN2, UNKNOWN_LOT, "door-2", q), SSCC), 1)]),
    ]


@pytest.mark.parametrize(
    ("held", "counted", "expected"),
    [
        ([(pos("zone-a"), 10)], 10, []),
        ([(pos("zone-a"), 10)], 12, [(K.ADJUST, [(pos("zone-a"), 2)])]),
        ([], 3, [(K.ADJUST, [(pos("zone-a"), 3)])]),
        # a shortage comes out of available first, reserved (held for an order) last
        ([(pos("zone-a", S.RESERVED), 4), (pos("zone-a"), 3), (pos("zone-a", S.QUARANTINE), 2)],
         4, [(K.ADJUST, [(pos("zone-a"), -3)]), (K.ADJUST, [(pos("zone-a", S.QUARANTINE), -2)])]),
        ([(pos("zone-a", S.RESERVED), 4), (pos("zone-a"), 3)], 0,
         [(K.ADJUST, [(pos("zone-a"), -3)]), (K.ADJUST, [(pos("zone-a", S.RESERVED), -4)])]),
    ],
)  # fmt: skip
def test_a_count_posts_its_variance_against_the_book(held, counted, expected):
    ops = count_adjustments(held, counted, surplus_to=pos("zone-a"), cause=CAUSE, time=T0)
    assert legs(ops) == expected


def test_a_negative_count_is_refused():
    with pytest.raises(LedgerError, match="counted"):
        count_adjustments([], -1, surplus_to=pos("zone-a"), cause=CAUSE, time=T0)


@pytest.mark.parametrize(
    ("qty", "now_qty", "inbound", "date_", "sources"),
    [
        (5, 8, [], date(2025, 3, 3), [("stock", None, 5)]),
        (10, 8, [Inbound("A2", T0 + timedelta(days=4), 6),
                 Inbound("A1", T0 + timedelta(days=2), 1)],
         date(2025, 3, 7), [("stock", None, 8), ("asn", "A1", 1), ("asn", "A2", 1)]),
        (10, 0, [Inbound("A1", T0 + timedelta(days=2), 9)], None, [("asn", "A1", 9)]),
        (1, 0, [Inbound("A1", T0 - timedelta(hours=1), 3)], date(2025, 3, 3), [("asn", "A1", 1)]),
    ],
)  # fmt: skip
def test_a_quantity_is_promised_from_stock_then_from_inbound_in_expected_order(
    qty, now_qty, inbound, date_, sources
):
    p = promise(qty, available_now=now_qty, inbound=inbound, now=T0)
    assert p.promised_date == date_
    assert [(s.kind, s.ref, s.qty) for s in p.sources] == sources


def test_a_notice_status_adds_up_to_what_was_announced():
    deadline = T0 + timedelta(hours=1)
    pallets = [
        StoredPallet("P1", 10, T0, 10, 0),
        StoredPallet("P2", 10, T0 + timedelta(hours=2), 7, 2),
        StoredPallet("P3", 5, None, 0, 0),
    ]
    early, report = notice_status("A", pallets, deadline=deadline, now=T0)
    assert [s.outcome for s in early] == [Outcome.RECEIVED, Outcome.MISSING_CASES, Outcome.PENDING]
    assert early[1].late
    assert (report.cases_received, report.cases_short, report.cases_over) == (17, 3, 2)
    later, report = notice_status("A", pallets, deadline=deadline, now=deadline + timedelta(1))
    assert later[2].outcome is Outcome.SHORT and report.pallets_short == 1
    assert report.cases_received + report.cases_short == report.cases_expected == 25
    assert not report.complete
