"""The promised date of a short order and when it moved; a shipped order's delivery;
the webhook events both make (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from cloud.warehouse.availability import Inbound
from cloud.warehouse.ledger import Cause, CauseKind
from cloud.warehouse.orders import (
    DeliveryError,
    OrderStateError,
    OrderStatus,
    deliver,
)
from cloud.warehouse.promised_dates import (
    PROMISED_DATE_CHANGED,
    ShortLine,
    order_promised_date,
    promised_date_change,
)
from cloud.warehouse.webhooks import EMITTED, EventType, order_event

NOW = datetime(2025, 3, 1, 8, tzinfo=UTC)
A, B = "00614141010017", "00614141010024"


def asn(ref: str, days: int, qty: int) -> Inbound:
    return Inbound(ref, NOW + timedelta(days=days), qty)


@pytest.mark.parametrize(
    ("lines", "available", "inbound", "expected"),
    [
        ([], {}, {}, None),
        ([ShortLine(A, 5)], {A: 5}, {}, date(2025, 3, 1)),
        ([ShortLine(A, 5)], {}, {}, None),
        ([ShortLine(A, 5)], {}, {A: [asn("n1", 3, 5)]}, date(2025, 3, 4)),
        ([ShortLine(A, 5)], {A: 2}, {A: [asn("n1", 3, 2), asn("n2", 1, 2)]}, date(2025, 3, 4)),
        ([ShortLine(A, 5)], {}, {A: [asn("n1", 3, 4)]}, None),
        # the latest line's day; one line that cannot be promised makes the order's None
        ([ShortLine(A, 1), ShortLine(B, 1)], {A: 1}, {B: [asn("n1", 6, 1)]}, date(2025, 3, 7)),
        ([ShortLine(A, 1), ShortLine(B, 1)], {A: 1}, {}, None),
        # each line is promised alone, as the portal shows it (stock is not split)
        ([ShortLine(A, 3), ShortLine(A, 3)], {A: 3}, {}, date(2025, 3, 1)),
        ([ShortLine(A, 0)], {}, {}, None),
    ],
)
def test_an_orders_promised_date_is_its_latest_short_lines_day(
    lines, available, inbound, expected
) -> None:
    assert order_promised_date(lines, available=available, inbound=inbound, now=NOW) == expected


D1, D2 = date(2025, 3, 4), date(2025, 3, 6)


@pytest.mark.parametrize(
    ("was", "promised", "told"),
    [
        (None, None, None),
        (D1, D1, None),
        (None, D1, {"promised_date": "2025-03-04", "was": None}),
        (D1, D2, {"promised_date": "2025-03-06", "was": "2025-03-04"}),
        (D2, D1, {"promised_date": "2025-03-04", "was": "2025-03-06"}),
        (D1, None, {"promised_date": None, "was": "2025-03-04"}),
    ],
)
def test_a_promised_date_change_is_told_only_when_the_date_moved(was, promised, told) -> None:
    entry = promised_date_change(OrderStatus.BACKORDERED, was, promised, now=NOW)
    if told is None:
        assert entry is None
        return
    assert entry is not None
    assert (entry.event, entry.status, entry.time) == (
        PROMISED_DATE_CHANGED,
        OrderStatus.BACKORDERED,
        NOW,
    )
    assert dict(entry.detail) == told
    event = order_event("dc-1", "SO-1", "acme", entry)
    assert event is not None and event.type is EventType.ORDER_PROMISED_DATE_CHANGED
    assert event.customer == "acme"
    assert (event.data["promised_date"], event.data["was"]) == (told["promised_date"], told["was"])


SHIPPED_AT = NOW - timedelta(hours=5)


def test_a_shipped_order_is_delivered_once_with_its_time_and_who_said_so() -> None:
    at = NOW - timedelta(hours=1)
    entry = deliver(
        "SO-1",
        OrderStatus.SHIPPED,
        shipped_at=SHIPPED_AT,
        delivered_at=None,
        at=at,
        now=NOW,
        cause=Cause(CauseKind.USER, "erp"),
        detail={"by": "erp", "note": "signed by J. Doe"},
    )
    assert (entry.time, entry.status, entry.event) == (at, OrderStatus.SHIPPED, "delivered")
    event = order_event("dc-1", "SO-1", "acme", entry)
    assert event is not None and event.type is EventType.ORDER_DELIVERED
    assert event.data["delivered_at"] == at.isoformat()
    assert (event.data["by"], event.data["note"]) == ("erp", "signed by J. Doe")


@pytest.mark.parametrize(
    ("status", "delivered_at", "at", "error", "names"),
    [
        (OrderStatus.PICKED, None, NOW, OrderStateError, "is picked"),
        (OrderStatus.CANCELLED, None, NOW, OrderStateError, "is cancelled"),
        (OrderStatus.SHIPPED, NOW, NOW, OrderStateError, "delivered already"),
        (OrderStatus.SHIPPED, None, NOW + timedelta(minutes=1), DeliveryError, "in the future"),
        (OrderStatus.SHIPPED, None, SHIPPED_AT - timedelta(seconds=1), DeliveryError, "before"),
    ],
)
def test_a_delivery_is_refused_naming_why(status, delivered_at, at, error, names) -> None:
    with pytest.raises(error, match=names):
        deliver("SO-1", status, shipped_at=SHIPPED_AT, delivered_at=delivered_at, at=at, now=NOW)


def test_every_declared_event_type_is_emitted() -> None:
    assert set(EventType) == EMITTED
