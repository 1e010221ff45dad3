"""Webhooks: subscribe an endpoint to order (and transfer) events, list, delete and
re-enable subscriptions, read a subscription's delivery log, replay a delivery.

A customer's token subscribes for its own orders only and sees only its own
subscriptions (another's is "not found"); an ERP's or an admin's sees every
subscription and may subscribe to every customer's events. The rules:
:mod:`cloud.warehouse.webhooks`; the sending: :mod:`cloud.operations.webhook_delivery`;
the whole story, with how to verify a signature: ``docs/webhooks.md``.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, HTTPException, Path, Response
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

from cloud.api.auth import CallerDep
from cloud.api.paging import DEFAULT_LIMIT, Cursor, Limit, Page, cursor_or_422, encode_cursor
from cloud.api.state import State
from cloud.db import webhooks as db
from cloud.warehouse.webhooks import EMITTED, EventType, WebhookError, parse_event_types

router = APIRouter(prefix="/api", tags=["webhooks"])

WebhookId = Annotated[int, Path(ge=1, le=2**62, description="the subscription's id")]
DeliveryId = Annotated[int, Path(ge=1, le=2**62, description="the delivery's id")]


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: AnyHttpUrl = Field(description="where to POST the events (http or https)")
    events: list[str] | None = Field(
        default=None,
        max_length=len(EventType),
        description="event types wanted; leave it out for all of them. Types: "
        + ", ".join(t.value for t in EventType)
        + " (emitted today: "
        + ", ".join(sorted(t.value for t in EMITTED))
        + ")",
    )


WEBHOOK_EXAMPLES = {
    "shipping": {
        "summary": "an order's reservations, shipping and delays",
        "value": {
            "url": "https://erp.example.com/hooks/rfidwms",
            "events": ["order.reserved", "order.shipped", "order.delayed"],
        },
    },
    "all": {
        "summary": "every event",
        "value": {"url": "https://erp.example.com/hooks/rfidwms"},
    },
}


class WebhookCreated(BaseModel):
    id: int
    secret: str = Field(
        description="the signing secret (Standard Webhooks, `whsec_...`); shown only now"
    )


class WebhookOut(BaseModel):
    id: int
    url: str
    events: list[str] | None = Field(description="the types subscribed; null: all")
    customer: str | None = Field(description="a customer's subscription: its orders only")
    created_at: datetime
    enabled: bool
    disabled_at: datetime | None
    disabled_reason: str | None
    consecutive_failures: int = Field(description="failed attempts since the last success")


class AttemptOut(BaseModel):
    attempt: int
    at: datetime
    status_code: int | None = Field(description="the endpoint's HTTP status; null: no answer")
    error: str | None
    duration_ms: float


class DeliveryOut(BaseModel):
    id: int
    webhook_id: int
    msg_id: str = Field(description="the message's `webhook-id` header (the same on retries)")
    type: str
    status: str = Field(description="pending, delivered, or failed (given up)")
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
    replay_of: int | None = Field(description="the delivery this one replays")
    log: list[AttemptOut]


def _webhook(r: db.SubscriptionRow) -> WebhookOut:
    return WebhookOut(
        id=r.id,
        url=r.url,
        events=r.events,
        customer=r.customer,
        created_at=r.created_at,
        enabled=r.disabled_at is None,
        disabled_at=r.disabled_at,
        disabled_reason=r.disabled_reason,
        consecutive_failures=r.consecutive_failures,
    )


def _delivery(r: db.DeliveryRow) -> DeliveryOut:
    return DeliveryOut(
        id=r.id,
        webhook_id=r.subscription_id,
        msg_id=r.msg_id,
        type=r.type,
        status=r.status,
        attempts=r.attempts,
        next_attempt_at=r.next_attempt_at,
        last_status_code=r.last_status_code,
        last_error=r.last_error,
        delivered_at=r.delivered_at,
        created_at=r.created_at,
        replay_of=r.replay_of,
        log=[AttemptOut(**dataclasses.asdict(a)) for a in r.log],
    )


def _not_found(e: LookupError) -> HTTPException:
    return HTTPException(404, detail=str(e))


@router.post("/webhooks", status_code=201, response_model=WebhookCreated)
async def create_webhook(
    st: State,
    caller: CallerDep,
    body: Annotated[WebhookIn, Body(openapi_examples=WEBHOOK_EXAMPLES)],
) -> WebhookCreated:
    """Subscribe ``url`` to ``events`` (all when left out); the answer's ``secret``
    signs every message (verify it: docs/webhooks.md)."""
    try:
        types = parse_event_types(body.events)
    except WebhookError as e:
        raise HTTPException(422, detail=str(e)) from None
    async with st.pool.connection() as conn:
        row, secret = await db.create_subscription(
            conn,
            url=str(body.url),
            events=types,
            customer=caller.customer_scope,
            created_by=caller.user_id,
            now=st.settings.now_clock()(),
        )
    return WebhookCreated(id=row.id, secret=secret)


@router.get("/webhooks", response_model=Page[WebhookOut])
async def list_webhooks(
    st: State, caller: CallerDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[WebhookOut]:
    """Subscriptions in the order they were made (a customer: its own only)."""
    after = int(cursor_or_422(cursor, int)[0]) if cursor else None
    async with st.pool.connection() as conn:
        rows = await db.list_subscriptions(
            conn, customer=caller.customer_scope, after=after, limit=limit + 1
        )
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(
        items=[_webhook(r) for r in rows], next=encode_cursor(rows[-1].id) if more else None
    )


@router.get("/webhooks/{webhook_id}", response_model=WebhookOut)
async def get_webhook(st: State, caller: CallerDep, webhook_id: WebhookId) -> WebhookOut:
    async with st.pool.connection() as conn:
        try:
            row = await db.get_subscription(conn, webhook_id, customer=caller.customer_scope)
        except db.SubscriptionNotFound as e:
            raise _not_found(e) from None
    return _webhook(row)


@router.delete("/webhooks/{webhook_id}", status_code=204)
async def delete_webhook(st: State, caller: CallerDep, webhook_id: WebhookId) -> Response:
    """Unsubscribe: nothing more is sent (deliveries still waiting are given up)."""
    async with st.pool.connection() as conn:
        try:
            await db.delete_subscription(
                conn, webhook_id, customer=caller.customer_scope, now=st.settings.now_clock()()
            )
        except db.SubscriptionNotFound as e:
            raise _not_found(e) from None
    return Response(status_code=204)


@router.post("/webhooks/{webhook_id}/enable", response_model=WebhookOut)
async def enable_webhook(st: State, caller: CallerDep, webhook_id: WebhookId) -> WebhookOut:
    """Enable a subscription disabled for failing: the deliveries that waited are sent
    at once, and its ``webhook_disabled`` alert is resolved."""
    async with st.pool.connection() as conn:
        try:
            row = await db.enable_subscription(
                conn,
                webhook_id,
                customer=caller.customer_scope,
                site=st.settings.site,
                by=caller.user,
                now=st.settings.now_clock()(),
            )
        except db.SubscriptionNotFound as e:
            raise _not_found(e) from None
    return _webhook(row)


@router.get("/webhooks/{webhook_id}/deliveries", response_model=Page[DeliveryOut])
async def list_deliveries(
    st: State,
    caller: CallerDep,
    webhook_id: WebhookId,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[DeliveryOut]:
    """The delivery log, newest first: each delivery with every attempt."""
    before = int(cursor_or_422(cursor, int)[0]) if cursor else None
    async with st.pool.connection() as conn:
        try:
            await db.get_subscription(conn, webhook_id, customer=caller.customer_scope)
        except db.SubscriptionNotFound as e:
            raise _not_found(e) from None
        rows = await db.list_deliveries(conn, webhook_id, before=before, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(
        items=[_delivery(r) for r in rows], next=encode_cursor(rows[-1].id) if more else None
    )


@router.post(
    "/webhooks/{webhook_id}/deliveries/{delivery_id}/replay",
    status_code=202,
    response_model=DeliveryOut,
)
async def replay_delivery(
    st: State, caller: CallerDep, webhook_id: WebhookId, delivery_id: DeliveryId
) -> DeliveryOut:
    """Send a delivery's event again (a new delivery, due now, with the same
    ``webhook-id``, so a receiver that keeps ids drops a duplicate)."""
    async with st.pool.connection() as conn:
        try:
            await db.get_subscription(conn, webhook_id, customer=caller.customer_scope)
            row = await db.replay(conn, webhook_id, delivery_id, now=st.settings.now_clock()())
        except (db.SubscriptionNotFound, db.DeliveryNotFound) as e:
            raise _not_found(e) from None
    return _delivery(row)
