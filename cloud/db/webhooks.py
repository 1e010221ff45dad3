"""Webhooks on PostgreSQL: subscriptions, the outbox of events, deliveries and their log.

- :func:`publish` writes an event to the outbox **in the caller's transaction** (the
  order change it tells of): :func:`publish_order_timeline` is called by
  :func:`cloud.db.orders.record` for every timeline entry it writes.
- :func:`fan_out` turns outbox events into one delivery per subscription that wants
  them (:func:`cloud.warehouse.webhooks.wants`), several senders safely
  (``FOR UPDATE SKIP LOCKED``).
- :func:`claim_due` leases due deliveries to a sender (a lease that runs out is taken
  over, so a crashed sender loses nothing); :func:`record_attempt` logs a try, moves
  the delivery on (delivered, again later, given up) and disables an endpoint that
  keeps failing, raising a ``webhook_disabled`` alert in the same transaction.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import TupleRow

from cloud.db import alerts as alerts_db
from cloud.warehouse.alerts import AlertKind
from cloud.warehouse.orders import TimelineEntry
from cloud.warehouse.transfers import INTERNAL_PREFIX, is_internal_customer
from cloud.warehouse.webhooks import (
    DisableRule,
    Event,
    EventType,
    RetryPolicy,
    SubjectKind,
    Subscription,
    is_success,
    next_attempt_at,
    order_event,
    payload,
    should_disable,
    transfer_order_event,
    wants,
)

Conn = AsyncConnection[TupleRow]
SECRET_BYTES = 32


class SubscriptionNotFound(LookupError):
    """No such subscription (for this caller), or a deleted one."""


class DeliveryNotFound(LookupError):
    """No such delivery of that subscription."""


def new_secret() -> str:
    """A signing secret in the Standard Webhooks format: ``whsec_`` + base64 of 32
    random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


# -- the outbox ----------------------------------------------------------------------


async def publish(conn: Conn, event: Event, *, now: datetime) -> str:
    """Put ``event`` in the outbox (in the caller's transaction); its message id."""
    msg_id = f"msg_{uuid.uuid4().hex}"
    await conn.execute(
        "INSERT INTO webhook_events (msg_id, site, type, subject_kind, subject_id, customer,"
        " time, payload, recorded_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s)",
        [
            msg_id,
            event.site,
            event.type.value,
            event.subject_kind.value,
            event.subject_id,
            event.customer,
            event.time,
            json.dumps(payload(event), default=str),
            now,
        ],
    )
    return msg_id


async def publish_order_timeline(
    conn: Conn, site: str, order_id: str, entries: Iterable[TimelineEntry], *, now: datetime
) -> int:
    """The events of an order's new timeline entries into the outbox; how many."""
    events: list[Event] = []
    customer: str | None = None
    client_id: str | None = None
    for entry in entries:
        if customer is None:
            cur = await conn.execute(
                "SELECT customer, client_id FROM orders WHERE id = %s", [order_id]
            )
            row = await cur.fetchone()
            if row is None:
                return 0
            customer, client_id = str(row[0]), row[1]
        if is_internal_customer(customer) and client_id is not None:
            # a transfer's order (its own id is the transfer's): told as the transfer's
            to_site = customer.removeprefix(INTERNAL_PREFIX)
            event = transfer_order_event(site, client_id, to_site, order_id, entry)
        else:
            event = order_event(site, order_id, customer, entry)
        if event is not None:
            events.append(event)
    for event in events:
        await publish(conn, event, now=now)
    return len(events)


# -- subscriptions -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SubscriptionRow:
    id: int
    url: str
    events: list[str] | None
    customer: str | None
    created_at: datetime
    disabled_at: datetime | None
    disabled_reason: str | None
    consecutive_failures: int
    failing_since: datetime | None

    def rules(self) -> Subscription:
        types = None if self.events is None else frozenset(EventType(e) for e in self.events)
        return Subscription(self.id, types, self.customer)


_SUB = (
    "id, url, events, customer, created_at, disabled_at, disabled_reason,"
    " consecutive_failures, failing_since"
)


async def create_subscription(
    conn: Conn,
    *,
    url: str,
    events: frozenset[EventType] | None,
    customer: str | None,
    created_by: int,
    now: datetime,
) -> tuple[SubscriptionRow, str]:
    """A new subscription and its secret (given out only here)."""
    secret = new_secret()
    names = None if events is None else sorted(e.value for e in events)
    cur = await conn.execute(
        "INSERT INTO webhook_subscriptions (url, events, customer, secret, created_by,"
        f" created_at) VALUES (%s, %s, %s, %s, %s, %s) RETURNING {_SUB}",
        [url, names, customer, secret, created_by, now],
    )
    row = await cur.fetchone()
    assert row is not None
    return SubscriptionRow(*row), secret


async def list_subscriptions(
    conn: Conn, *, customer: str | None, after: int | None, limit: int
) -> list[SubscriptionRow]:
    """Subscriptions in id order (of ``customer`` only when given), not deleted."""
    cur = await conn.execute(
        f"SELECT {_SUB} FROM webhook_subscriptions WHERE deleted_at IS NULL"
        " AND (%s::text IS NULL OR customer = %s) AND (%s::bigint IS NULL OR id > %s)"
        " ORDER BY id LIMIT %s",
        [customer, customer, after, after, limit],
    )
    return [SubscriptionRow(*r) for r in await cur.fetchall()]


async def get_subscription(
    conn: Conn, sub_id: int, *, customer: str | None, lock: bool = False
) -> SubscriptionRow:
    """The subscription (SubscriptionNotFound when there is none, it is deleted, or it
    is another customer's and ``customer`` is given)."""
    cur = await conn.execute(
        f"SELECT {_SUB} FROM webhook_subscriptions WHERE id = %s AND deleted_at IS NULL"
        " AND (%s::text IS NULL OR customer = %s)" + (" FOR UPDATE" if lock else ""),
        [sub_id, customer, customer],
    )
    row = await cur.fetchone()
    if row is None:
        raise SubscriptionNotFound(f"webhook {sub_id} does not exist")
    return SubscriptionRow(*row)


async def delete_subscription(
    conn: Conn, sub_id: int, *, customer: str | None, now: datetime
) -> None:
    """Delete a subscription: nothing more is sent to it (its log stays)."""
    async with conn.transaction():
        await get_subscription(conn, sub_id, customer=customer, lock=True)
        await conn.execute(
            "UPDATE webhook_subscriptions SET deleted_at = %s WHERE id = %s", [now, sub_id]
        )
        await conn.execute(
            "UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL,"
            " last_error = COALESCE(last_error, 'subscription deleted')"
            " WHERE subscription_id = %s AND status = 'pending'",
            [sub_id],
        )


async def enable_subscription(
    conn: Conn, sub_id: int, *, customer: str | None, site: str, by: str, now: datetime
) -> SubscriptionRow:
    """Enable a disabled subscription again: its waiting deliveries are due at once,
    its failure count starts again, and its ``webhook_disabled`` alert is resolved."""
    async with conn.transaction():
        await get_subscription(conn, sub_id, customer=customer, lock=True)
        cur = await conn.execute(
            "UPDATE webhook_subscriptions SET disabled_at = NULL, disabled_reason = NULL,"
            " consecutive_failures = 0, failing_since = NULL WHERE id = %s"
            f" RETURNING {_SUB}",
            [sub_id],
        )
        row = await cur.fetchone()
        assert row is not None
        await conn.execute(
            "UPDATE webhook_deliveries SET next_attempt_at = LEAST(next_attempt_at, %s)"
            " WHERE subscription_id = %s AND status = 'pending'",
            [now, sub_id],
        )
        await alerts_db.resolve_by_key(
            conn, site=site, dedupe_key=_alert_key(sub_id), by=by, at=now, note="re-enabled"
        )
    return SubscriptionRow(*row)


# -- deliveries and their log ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AttemptRow:
    attempt: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: float


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    id: int
    subscription_id: int
    msg_id: str
    type: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
    replay_of: int | None
    log: tuple[AttemptRow, ...] = ()


_DELIVERY = (
    "d.id, d.subscription_id, e.msg_id, e.type, d.status, d.attempts, d.next_attempt_at,"
    " d.last_status_code, d.last_error, d.delivered_at, d.created_at, d.replay_of"
)


async def list_deliveries(
    conn: Conn, sub_id: int, *, before: int | None, limit: int
) -> list[DeliveryRow]:
    """A subscription's deliveries newest first, each with its attempts."""
    cur = await conn.execute(
        f"SELECT {_DELIVERY} FROM webhook_deliveries d JOIN webhook_events e"
        " ON e.id = d.event_id WHERE d.subscription_id = %s"
        " AND (%s::bigint IS NULL OR d.id < %s) ORDER BY d.id DESC LIMIT %s",
        [sub_id, before, before, limit],
    )
    rows = [DeliveryRow(*r) for r in await cur.fetchall()]
    if not rows:
        return []
    cur = await conn.execute(
        "SELECT delivery_id, attempt, at, status_code, error, duration_ms FROM webhook_attempts"
        " WHERE delivery_id = ANY(%s::bigint[]) ORDER BY delivery_id, attempt",
        [[r.id for r in rows]],
    )
    log: dict[int, list[AttemptRow]] = {}
    for r in await cur.fetchall():
        log.setdefault(r[0], []).append(AttemptRow(*r[1:]))
    return [_with_log(r, log.get(r.id, [])) for r in rows]


def _with_log(row: DeliveryRow, log: Sequence[AttemptRow]) -> DeliveryRow:
    return dataclasses.replace(row, log=tuple(log))


async def replay(conn: Conn, sub_id: int, delivery_id: int, *, now: datetime) -> DeliveryRow:
    """A new delivery of the event of ``delivery_id`` to the same subscription, due now
    (whatever became of the first: delivered, given up or still trying)."""
    async with conn.transaction():
        cur = await conn.execute(
            "INSERT INTO webhook_deliveries (subscription_id, event_id, replay_of,"
            " next_attempt_at, created_at) SELECT subscription_id, event_id, id, %s, %s"
            " FROM webhook_deliveries WHERE id = %s AND subscription_id = %s RETURNING id",
            [now, now, delivery_id, sub_id],
        )
        row = await cur.fetchone()
        if row is None:
            raise DeliveryNotFound(f"webhook {sub_id} has no delivery {delivery_id}")
        cur = await conn.execute(
            f"SELECT {_DELIVERY} FROM webhook_deliveries d JOIN webhook_events e"
            " ON e.id = d.event_id WHERE d.id = %s",
            [row[0]],
        )
        got = await cur.fetchone()
        assert got is not None
        return DeliveryRow(*got)


# -- the sender's side ---------------------------------------------------------------


async def fan_out(conn: Conn, *, now: datetime, limit: int = 500) -> int:
    """One delivery per (outbox event, subscription that wants it), for up to ``limit``
    events not fanned out yet; how many deliveries were made."""
    made = 0
    async with conn.transaction():
        cur = await conn.execute(
            "SELECT id, type, subject_kind, subject_id, site, customer, time"
            " FROM webhook_events WHERE fanned_out_at IS NULL ORDER BY id LIMIT %s"
            " FOR UPDATE SKIP LOCKED",
            [limit],
        )
        events = await cur.fetchall()
        if not events:
            return 0
        cur = await conn.execute(
            f"SELECT {_SUB} FROM webhook_subscriptions WHERE deleted_at IS NULL ORDER BY id"
        )
        subs = [SubscriptionRow(*r).rules() for r in await cur.fetchall()]
        pairs: list[tuple[int, int]] = []
        for e in events:
            event = _event_of(e)
            pairs.extend((s.id, e[0]) for s in subs if wants(s, event))
        if pairs:
            cur = await conn.execute(
                "INSERT INTO webhook_deliveries (subscription_id, event_id, next_attempt_at,"
                " created_at) SELECT s, e, %s, %s FROM unnest(%s::bigint[], %s::bigint[])"
                " AS u(s, e) ON CONFLICT DO NOTHING",
                [now, now, [p[0] for p in pairs], [p[1] for p in pairs]],
            )
            made = cur.rowcount
        await conn.execute(
            "UPDATE webhook_events SET fanned_out_at = %s WHERE id = ANY(%s::bigint[])",
            [now, [e[0] for e in events]],
        )
    return made


def _event_of(row: Sequence[Any]) -> Event:
    return Event(EventType(row[1]), SubjectKind(row[2]), row[3], row[4], row[5], row[6])


@dataclass(frozen=True, slots=True)
class Due:
    """A delivery leased to a sender: everything it needs to send it."""

    id: int
    subscription_id: int
    url: str
    secret: str
    msg_id: str
    body: str
    attempts: int


async def claim_due(
    conn: Conn,
    *,
    now: datetime,
    lease: timedelta,
    limit: int,
    per_endpoint: int,
    busy: dict[int, int],
) -> list[Due]:
    """Lease up to ``limit`` due deliveries of enabled endpoints, at most
    ``per_endpoint`` per endpoint less what this sender has in flight there
    (``busy``: subscription id -> deliveries in flight)."""
    full = [s for s, n in busy.items() if n >= per_endpoint]
    cur = await conn.execute(
        "SELECT d.id, d.subscription_id FROM webhook_deliveries d"
        " JOIN webhook_subscriptions s ON s.id = d.subscription_id"
        " WHERE d.status = 'pending' AND d.next_attempt_at <= %s"
        " AND (d.lease_until IS NULL OR d.lease_until < %s)"
        " AND s.disabled_at IS NULL AND s.deleted_at IS NULL"
        " AND NOT (d.subscription_id = ANY(%s::bigint[]))"
        " ORDER BY d.next_attempt_at, d.id LIMIT %s",
        [now, now, full, limit * 4],
    )
    picked: list[int] = []
    taken = dict(busy)
    for delivery_id, sub_id in await cur.fetchall():
        if len(picked) >= limit:
            break
        if taken.get(sub_id, 0) >= per_endpoint:
            continue
        taken[sub_id] = taken.get(sub_id, 0) + 1
        picked.append(delivery_id)
    if not picked:
        return []
    # the lease: a row another sender leased meanwhile fails the re-checked WHERE
    cur = await conn.execute(
        "UPDATE webhook_deliveries d SET lease_until = %s FROM webhook_subscriptions s,"
        " webhook_events e WHERE d.id = ANY(%s::bigint[]) AND s.id = d.subscription_id"
        " AND e.id = d.event_id AND d.status = 'pending'"
        " AND (d.lease_until IS NULL OR d.lease_until < %s)"
        " RETURNING d.id, d.subscription_id, s.url, s.secret, e.msg_id, e.payload::text,"
        " d.attempts",
        [now + lease, picked, now],
    )
    return [Due(*r) for r in await cur.fetchall()]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one try gave: the endpoint's HTTP status, or the error (timeout, refused)."""

    status_code: int | None
    error: str | None
    duration_ms: float


def _alert_key(sub_id: int) -> str:
    return f"webhook_disabled:{sub_id}"


async def record_attempt(
    conn: Conn,
    due: Due,
    outcome: Outcome,
    *,
    now: datetime,
    policy: RetryPolicy,
    rule: DisableRule,
    site: str,
) -> bool:
    """Log a try and move its delivery and endpoint on; True when this try disabled
    the endpoint (and raised its ``webhook_disabled`` alert)."""
    attempt = due.attempts + 1
    ok = is_success(outcome.status_code)
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO webhook_attempts (delivery_id, attempt, at, status_code, error,"
            " duration_ms) VALUES (%s, %s, %s, %s, %s, %s)",
            [due.id, attempt, now, outcome.status_code, outcome.error, outcome.duration_ms],
        )
        if ok:
            await conn.execute(
                "UPDATE webhook_deliveries SET status = 'delivered', attempts = %s,"
                " next_attempt_at = NULL, lease_until = NULL, last_status_code = %s,"
                " last_error = NULL, delivered_at = %s WHERE id = %s AND status = 'pending'",
                [attempt, outcome.status_code, now, due.id],
            )
            await conn.execute(
                "UPDATE webhook_subscriptions SET consecutive_failures = 0,"
                " failing_since = NULL WHERE id = %s",
                [due.subscription_id],
            )
            return False
        again = next_attempt_at(attempt, now, policy)
        await conn.execute(
            "UPDATE webhook_deliveries SET status = %s, attempts = %s, next_attempt_at = %s,"
            " lease_until = NULL, last_status_code = %s, last_error = %s"
            " WHERE id = %s AND status = 'pending'",
            [
                "pending" if again is not None else "failed",
                attempt,
                again,
                outcome.status_code,
                outcome.error,
                due.id,
            ],
        )
        cur = await conn.execute(
            "UPDATE webhook_subscriptions SET consecutive_failures = consecutive_failures + 1,"
            " failing_since = COALESCE(failing_since, %s) WHERE id = %s"
            " RETURNING consecutive_failures, failing_since, disabled_at, url",
            [now, due.subscription_id],
        )
        row = await cur.fetchone()
        assert row is not None
        failures, since, disabled_at, url = row
        if disabled_at is not None or not should_disable(failures, since, now, rule):
            return False
        reason = (
            f"{failures} failed attempts in a row since {since.isoformat()}"
            f" (last: {outcome.error or f'HTTP {outcome.status_code}'})"
        )
        await conn.execute(
            "UPDATE webhook_subscriptions SET disabled_at = %s, disabled_reason = %s WHERE id = %s",
            [now, reason, due.subscription_id],
        )
        await alerts_db.raise_alert(
            conn,
            site=site,
            kind=AlertKind.WEBHOOK_DISABLED,
            subject=f"webhook-{due.subscription_id}",
            message=f"webhook {due.subscription_id} ({url}) disabled: {reason}",
            at=now,
            dedupe_key=_alert_key(due.subscription_id),
            detail={"webhook": due.subscription_id, "url": url, "failures": failures},
        )
        return True


async def prune(conn: Conn, *, before: datetime, limit: int = 1000) -> int:
    """Forget up to ``limit`` events recorded before ``before`` that nothing waits to
    send any more, with their deliveries and attempts; how many events."""
    cur = await conn.execute(
        "WITH old AS (SELECT e.id FROM webhook_events e WHERE e.fanned_out_at IS NOT NULL"
        " AND e.recorded_at < %s AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d"
        " WHERE d.event_id = e.id AND d.status = 'pending') ORDER BY e.id LIMIT %s),"
        " gone_attempts AS (DELETE FROM webhook_attempts WHERE delivery_id IN"
        " (SELECT id FROM webhook_deliveries WHERE event_id IN (SELECT id FROM old))),"
        " gone_deliveries AS (DELETE FROM webhook_deliveries"
        " WHERE event_id IN (SELECT id FROM old))"
        " DELETE FROM webhook_events WHERE id IN (SELECT id FROM old)",
        [before, limit],
    )
    return cur.rowcount
