"""Customer notifications by webhook: which events there are, who gets which, the
shape of a message, when to try again and when to give up on an endpoint. Pure.

An **event** (:class:`Event`) is something a customer or an ERP wants to hear of: an
order reserved, picked, shipped, delayed ... It is derived from what the warehouse
writes anyway (an order's timeline entry: :func:`order_event`) and put in the
database's outbox in the same transaction (``cloud.db.webhooks.publish``), so an
event is never lost and never told of a change that was rolled back. Any other
source plugs in the same way: build an :class:`Event` of its subject kind and publish
it. A transfer's order (its customer is the destination site,
:func:`cloud.warehouse.transfers.internal_customer`) tells of the transfer instead
(:func:`transfer_order_event`); its shipping and arrival are told by the transfers
(:func:`transfer_event`).

A **subscription** (:class:`Subscription`) names the event types it wants (all when
it names none) and, for a customer's subscription, the customer: it hears only of
that customer's orders (:func:`wants`).

A **delivery** is one event for one subscription, tried until the endpoint answers
2xx: after a failed attempt :func:`next_attempt_at` says when to try again
(exponential backoff, :class:`RetryPolicy`), or None when the delivery is given up.
An endpoint that keeps failing is disabled (:func:`should_disable`,
:class:`DisableRule`): its deliveries wait until it is enabled again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final

from cloud.warehouse.orders import OrderStatus, TimelineEntry


class EventType(StrEnum):
    ORDER_RESERVED = "order.reserved"
    ORDER_PICKED = "order.picked"
    ORDER_SHIPPED = "order.shipped"
    ORDER_DELAYED = "order.delayed"
    ORDER_CANCELLED = "order.cancelled"
    ORDER_DELIVERED = "order.delivered"
    ORDER_RETURNED = "order.returned"
    ORDER_PROMISED_DATE_CHANGED = "order.promised_date_changed"
    TRANSFER_RESERVED = "transfer.reserved"
    TRANSFER_PICKED = "transfer.picked"
    TRANSFER_SHIPPED = "transfer.shipped"
    TRANSFER_DELAYED = "transfer.delayed"
    TRANSFER_DELIVERED = "transfer.delivered"
    TRANSFER_CANCELLED = "transfer.cancelled"


EMITTED: Final = frozenset(
    {
        EventType.ORDER_RESERVED,
        EventType.ORDER_PICKED,
        EventType.ORDER_SHIPPED,
        EventType.ORDER_DELAYED,
        EventType.ORDER_CANCELLED,
        EventType.ORDER_RETURNED,
        EventType.ORDER_DELIVERED,
        EventType.ORDER_PROMISED_DATE_CHANGED,
        EventType.TRANSFER_RESERVED,
        EventType.TRANSFER_PICKED,
        EventType.TRANSFER_SHIPPED,
        EventType.TRANSFER_DELAYED,
        EventType.TRANSFER_DELIVERED,
        EventType.TRANSFER_CANCELLED,
    }
)
"""The types something emits today (the order timeline, a transfer's steps): every
type."""


class SubjectKind(StrEnum):
    ORDER = "order"
    TRANSFER = "transfer"


class WebhookError(ValueError):
    """A subscription request that cannot be served; the message names the field."""


@dataclass(frozen=True, slots=True)
class Event:
    type: EventType
    subject_kind: SubjectKind
    subject_id: str
    site: str
    customer: str | None
    """Whose it is (an order's customer); None: nobody's in particular (a transfer),
    told only to subscriptions that are not a customer's."""
    time: datetime
    data: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


_ORDER_EVENTS: Mapping[str, EventType] = MappingProxyType(
    {
        OrderStatus.ALLOCATED.value: EventType.ORDER_RESERVED,
        OrderStatus.PARTIALLY_ALLOCATED.value: EventType.ORDER_RESERVED,
        OrderStatus.BACKORDERED.value: EventType.ORDER_DELAYED,
        OrderStatus.ON_HOLD.value: EventType.ORDER_DELAYED,
        OrderStatus.PICKED.value: EventType.ORDER_PICKED,
        OrderStatus.SHIPPED.value: EventType.ORDER_SHIPPED,
        OrderStatus.CANCELLED.value: EventType.ORDER_CANCELLED,
        "return_received": EventType.ORDER_RETURNED,
        "delivered": EventType.ORDER_DELIVERED,
        "promised_date_changed": EventType.ORDER_PROMISED_DATE_CHANGED,
    }
)
"""Timeline events (the status an order reached) that customers are told of; the rest
(received, picking, packed, loading, pallet_picked, weight_ok, released, a return
requested or inspected ...) are the warehouse's own steps. ``order.returned`` is told
each time goods of a return (RMA) came back through a door (``return_received``);
``order.delivered`` when an ERP or carrier confirmed the delivery (``delivered``);
``order.promised_date_changed`` when the promised date of a short order moved
(``promised_date_changed``, by :mod:`cloud.operations.promised_dates`)."""


def order_event(site: str, order_id: str, customer: str, entry: TimelineEntry) -> Event | None:
    """The event a timeline entry of an order makes, or None when it makes none."""
    kind = _ORDER_EVENTS.get(entry.event)
    if kind is None:
        return None
    data: dict[str, Any] = {
        "order_id": order_id,
        "customer": customer,
        "site": site,
        "status": entry.status.value,
        "timeline_event": entry.event,
        "time": entry.time.astimezone(UTC).isoformat(),
    }
    if entry.cause is not None:
        data["cause"] = {"kind": entry.cause.kind.value, "id": entry.cause.ref}
    if entry.event == OrderStatus.BACKORDERED.value:
        data["reason"] = "backordered"
    elif entry.event == OrderStatus.ON_HOLD.value and "reason" in entry.detail:
        data["reason"] = str(entry.detail["reason"])
    elif kind is EventType.ORDER_RETURNED:
        data["return_id"] = str(entry.detail.get("return", ""))
        data["cases"] = int(entry.detail.get("cases", 0))
    elif kind is EventType.ORDER_PROMISED_DATE_CHANGED:
        data["promised_date"] = entry.detail.get("promised_date")
        data["was"] = entry.detail.get("was")
    elif kind is EventType.ORDER_DELIVERED:
        data["delivered_at"] = data["time"]
        for key in ("by", "note"):
            if entry.detail.get(key) is not None:
                data[key] = str(entry.detail[key])
    return Event(kind, SubjectKind.ORDER, order_id, site, customer, entry.time, data)


_TRANSFER_ORDER_EVENTS: Mapping[str, EventType] = MappingProxyType(
    {
        OrderStatus.ALLOCATED.value: EventType.TRANSFER_RESERVED,
        OrderStatus.PARTIALLY_ALLOCATED.value: EventType.TRANSFER_RESERVED,
        OrderStatus.BACKORDERED.value: EventType.TRANSFER_DELAYED,
        OrderStatus.ON_HOLD.value: EventType.TRANSFER_DELAYED,
        OrderStatus.PICKED.value: EventType.TRANSFER_PICKED,
    }
)
"""Timeline events of a transfer's order told as the transfer's; its ``shipped`` is
told by the transfer itself (``transfer.shipped``, with the expected arrival)."""


def transfer_order_event(
    site: str, transfer_id: str, to_site: str, order_id: str, entry: TimelineEntry
) -> Event | None:
    """The event a timeline entry of a transfer's order (at the source ``site``) makes
    for the transfer, or None when it makes none."""
    kind = _TRANSFER_ORDER_EVENTS.get(entry.event)
    if kind is None:
        return None
    data: dict[str, Any] = {
        "transfer_id": transfer_id,
        "from_site": site,
        "to_site": to_site,
        "order_id": order_id,
        "order_status": entry.status.value,
        "time": entry.time.astimezone(UTC).isoformat(),
    }
    if entry.event == OrderStatus.BACKORDERED.value:
        data["reason"] = "backordered"
    elif entry.event == OrderStatus.ON_HOLD.value and "reason" in entry.detail:
        data["reason"] = str(entry.detail["reason"])
    if entry.cause is not None:
        data["cause"] = {"kind": entry.cause.kind.value, "id": entry.cause.ref}
    return Event(kind, SubjectKind.TRANSFER, transfer_id, site, None, entry.time, data)


def transfer_event(
    kind: EventType,
    *,
    transfer_id: str,
    from_site: str,
    to_site: str,
    site: str,
    time: datetime,
    data: Mapping[str, Any] | None = None,
) -> Event:
    """An event of a transfer's own steps (shipped, delayed, delivered) at ``site``."""
    if not kind.value.startswith("transfer."):
        raise WebhookError(f"type: {kind.value!r} is not a transfer event")
    body: dict[str, Any] = {
        "transfer_id": transfer_id,
        "from_site": from_site,
        "to_site": to_site,
        "time": time.astimezone(UTC).isoformat(),
        **(data or {}),
    }
    return Event(kind, SubjectKind.TRANSFER, transfer_id, site, None, time, body)


def parse_event_types(names: list[str] | None) -> frozenset[EventType] | None:
    """The types a subscription names (None: all); :class:`WebhookError` naming
    ``events[i]`` for one that is not an event type."""
    if names is None:
        return None
    known = {t.value: t for t in EventType}
    out: set[EventType] = set()
    for i, name in enumerate(names):
        if name not in known:
            raise WebhookError(
                f"events[{i}]: {name!r} is not an event type (one of {', '.join(known)})"
            )
        out.add(known[name])
    if not out:
        raise WebhookError("events: name at least one event type, or leave it out for all")
    return frozenset(out)


@dataclass(frozen=True, slots=True)
class Subscription:
    id: int
    events: frozenset[EventType] | None
    """None: every event type."""
    customer: str | None
    """A customer's subscription: that customer's events only; None: everyone's."""


def wants(sub: Subscription, event: Event) -> bool:
    """Whether ``sub`` is told of ``event``: a type it named (or it named none), and,
    for a customer's subscription, that customer's event."""
    if sub.events is not None and event.type not in sub.events:
        return False
    return sub.customer is None or sub.customer == event.customer


def payload(event: Event) -> dict[str, Any]:
    """The body sent: the Standard Webhooks shape ``{"type", "timestamp", "data"}``."""
    return {
        "type": event.type.value,
        "timestamp": event.time.astimezone(UTC).isoformat(),
        "data": {"subject": event.subject_kind.value, **event.data},
    }


# -- retries -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff: the n-th retry waits ``first * factor**(n-1)``, at most
    ``longest``; a delivery is given up after ``max_attempts`` attempts."""

    first: timedelta = timedelta(seconds=5)
    factor: float = 4.0
    longest: timedelta = timedelta(hours=6)
    max_attempts: int = 12

    def __post_init__(self) -> None:
        if self.first <= timedelta(0) or self.longest < self.first:
            raise WebhookError("retry: first must be > 0 and longest >= first")
        if self.factor < 1 or self.max_attempts < 1:
            raise WebhookError("retry: factor must be >= 1 and max_attempts >= 1")


def retry_delay(attempts: int, policy: RetryPolicy) -> timedelta | None:
    """How long to wait after ``attempts`` failed attempts; None: give up."""
    if attempts < 1:
        raise WebhookError(f"attempts: {attempts} failed attempts is not a retry")
    if attempts >= policy.max_attempts:
        return None
    seconds = policy.first.total_seconds() * policy.factor ** (attempts - 1)
    return min(timedelta(seconds=seconds), policy.longest)


def next_attempt_at(attempts: int, now: datetime, policy: RetryPolicy) -> datetime | None:
    """When to try a delivery again after its ``attempts``-th failure at ``now``."""
    delay = retry_delay(attempts, policy)
    return None if delay is None else now + delay


# -- disabling an endpoint that keeps failing --------------------------------------------


@dataclass(frozen=True, slots=True)
class DisableRule:
    """An endpoint is disabled once it has failed ``failures`` attempts in a row
    (whatever the deliveries) **and** has been failing for at least ``span`` (its
    first failure since its last success is that old)."""

    failures: int = 10
    span: timedelta = timedelta(hours=24)

    def __post_init__(self) -> None:
        if self.failures < 1 or self.span < timedelta(0):
            raise WebhookError("disable rule: failures must be >= 1 and span >= 0")


def should_disable(
    consecutive_failures: int, failing_since: datetime | None, now: datetime, rule: DisableRule
) -> bool:
    """Whether an endpoint with this record of failures is to be disabled at ``now``."""
    if failing_since is None or consecutive_failures < rule.failures:
        return False
    return now - failing_since >= rule.span


def is_success(status_code: int | None) -> bool:
    """A delivery is done when the endpoint answers 2xx (anything else: try again)."""
    return status_code is not None and 200 <= status_code < 300
