"""The webhook rules: which timeline entries make which events, who is told of them,
the message's shape, the retry schedule and when an endpoint is disabled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cloud.warehouse.ledger import Cause, CauseKind
from cloud.warehouse.orders import OrderStatus, TimelineEntry
from cloud.warehouse.webhooks import (
    DisableRule,
    Event,
    EventType,
    RetryPolicy,
    SubjectKind,
    Subscription,
    WebhookError,
    next_attempt_at,
    order_event,
    parse_event_types,
    payload,
    retry_delay,
    should_disable,
    wants,
)

T0 = datetime(2025, 3, 1, 8, tzinfo=UTC)
S = OrderStatus
E = EventType


@pytest.mark.parametrize(
    ("status", "event", "expected", "reason"),
    [
        (S.RECEIVED, "received", None, None),
        (S.ALLOCATED, "allocated", E.ORDER_RESERVED, None),
        (S.PARTIALLY_ALLOCATED, "partially_allocated", E.ORDER_RESERVED, None),
        (S.BACKORDERED, "backordered", E.ORDER_DELAYED, "backordered"),
        (S.PICKING, "picking", None, None),
        (S.PICKED, "pallet_picked", None, None),
        (S.PICKED, "picked", E.ORDER_PICKED, None),
        (S.PACKED, "packed", None, None),
        (S.SHIPPED, "shipped", E.ORDER_SHIPPED, None),
        (S.ON_HOLD, "on_hold", E.ORDER_DELAYED, "mis_shipment"),
        (S.PICKED, "released", None, None),
        (S.CANCELLED, "cancelled", E.ORDER_CANCELLED, None),
    ],
)
def test_timeline_entries_make_the_customer_events(status, event, expected, reason):
    entry = TimelineEntry(
        T0, status, event, Cause(CauseKind.ORDER, "SO-000001"), {"reason": "mis_shipment"}
    )
    got = order_event("dc-1", "SO-000001", "acme", entry)
    if expected is None:
        assert got is None
        return
    assert got is not None and got.type is expected
    assert got.customer == "acme" and got.subject_id == "SO-000001"
    assert got.data["status"] == status.value and got.data.get("reason") == reason
    assert got.data["cause"] == {"kind": "order", "id": "SO-000001"}


def _event(kind: EventType = E.ORDER_SHIPPED, customer: str | None = "acme") -> Event:
    return Event(kind, SubjectKind.ORDER, "SO-000001", "dc-1", customer, T0, {"order_id": "x"})


@pytest.mark.parametrize(
    ("events", "customer", "event", "told"),
    [
        (None, None, _event(), True),
        (None, "acme", _event(), True),
        (None, "globex", _event(), False),
        (frozenset({E.ORDER_SHIPPED}), None, _event(), True),
        (frozenset({E.ORDER_PICKED}), None, _event(), False),
        (frozenset({E.ORDER_SHIPPED}), "acme", _event(), True),
        (None, "acme", _event(E.TRANSFER_SHIPPED, customer=None), False),
        (None, None, _event(E.TRANSFER_SHIPPED, customer=None), True),
    ],
)
def test_a_subscription_hears_its_types_and_its_customer_only(events, customer, event, told):
    assert wants(Subscription(1, events, customer), event) is told


def test_event_types_are_parsed_naming_the_bad_one():
    assert parse_event_types(None) is None
    assert parse_event_types(["order.shipped", "order.shipped"]) == {E.ORDER_SHIPPED}
    with pytest.raises(WebhookError, match=r"events\[1\]: 'order.lost'"):
        parse_event_types(["order.shipped", "order.lost"])
    with pytest.raises(WebhookError, match="at least one"):
        parse_event_types([])


def test_the_payload_has_the_standard_webhooks_shape():
    assert payload(_event()) == {
        "type": "order.shipped",
        "timestamp": "2025-03-01T08:00:00+00:00",
        "data": {"subject": "order", "order_id": "x"},
    }


POLICY = RetryPolicy(
    first=timedelta(seconds=5), factor=4, longest=timedelta(hours=1), max_attempts=6
)


@pytest.mark.parametrize(
    ("attempts", "delay_s"),
    [(1, 5), (2, 20), (3, 80), (4, 320), (5, 1280), (6, None), (7, None)],
)
def test_retries_back_off_exponentially_and_give_up(attempts, delay_s):
    delay = retry_delay(attempts, POLICY)
    assert (delay.total_seconds() if delay else None) == delay_s
    expect = None if delay_s is None else T0 + timedelta(seconds=delay_s)
    assert next_attempt_at(attempts, T0, POLICY) == expect


def test_a_retry_waits_at_most_the_longest_wait():
    policy = RetryPolicy(timedelta(seconds=60), 10, timedelta(minutes=30), 20)
    assert retry_delay(5, policy) == timedelta(minutes=30)


def test_no_retry_before_a_failure_and_no_bad_policy():
    with pytest.raises(WebhookError):
        retry_delay(0, POLICY)
    with pytest.raises(WebhookError):
        RetryPolicy(first=timedelta(0))
    with pytest.raises(WebhookError):
        RetryPolicy(factor=0.5)


RULE = DisableRule(failures=5, span=timedelta(hours=1))


@pytest.mark.parametrize(
    ("failures", "since", "disabled"),
    [
        (0, None, False),
        (4, T0 - timedelta(hours=2), False),  # long, but not enough failures
        (5, T0 - timedelta(minutes=59), False),  # enough failures, not long enough
        (5, T0 - timedelta(hours=1), True),
        (50, T0 - timedelta(days=1), True),
    ],
)
def test_an_endpoint_is_disabled_after_enough_failures_over_the_span(failures, since, disabled):
    assert should_disable(failures, since, T0, RULE) is disabled


def test_with_the_defaults_one_message_that_never_gets_through_disables_its_endpoint():
    """The defaults fit together: a dead endpoint is disabled (and alerted) before its
    one delivery is given up, after about a day of retries."""
    policy, rule = RetryPolicy(), DisableRule()
    at, failures, disabled_at = T0, 0, None
    while True:
        failures += 1
        if disabled_at is None and should_disable(failures, T0, at, rule):
            disabled_at = at
        delay = retry_delay(failures, policy)
        if delay is None:
            break
        at += delay
    assert disabled_at is not None and disabled_at < at
    assert timedelta(hours=24) <= disabled_at - T0 <= timedelta(hours=30)
