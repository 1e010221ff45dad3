"""The webhook sender: outbox events fanned out to subscriptions, deliveries sent.

Every ``poll`` seconds it fans the outbox out (:func:`cloud.db.webhooks.fan_out`),
leases the deliveries that are due (:func:`cloud.db.webhooks.claim_due`) and sends
each one in a task of its own, signed per the Standard Webhooks spec (headers
``webhook-id``, ``webhook-timestamp``, ``webhook-signature``, by the
``standardwebhooks`` library). One endpoint never holds up another: every try has a
timeout, at most ``per_endpoint`` deliveries to one endpoint are in flight at once,
and the loop never waits for a send. Each try is logged and the delivery moved on
(:func:`cloud.db.webhooks.record_attempt`: delivered, again later, given up, the
endpoint disabled). A try whose result cannot be written (the database is down) is
tried again once its lease runs out.

Events whose deliveries are all done are forgotten, with their log, after
``retention`` (``RFIDWMS_WEBHOOKS_RETENTION_DAYS``), looked at every 10 minutes.

Two clocks: ``clock`` (the process's, simulated in a scored run) schedules retries;
``wall`` (the real time) stamps the signature, which receivers check against their
own clocks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Self

import httpx
import psycopg
from standardwebhooks import Webhook

from cloud.background import BackgroundTask
from cloud.db import webhooks as db
from cloud.db.pool import Pool
from cloud.settings import CloudSettings
from cloud.warehouse.webhooks import DisableRule, RetryPolicy, is_success
from protocols.clock import Clock

log = logging.getLogger(__name__)

USER_AGENT = "rfidwms-webhooks/1"
MAX_ERROR_CHARS = 300
PRUNE_EVERY_S = 600.0


def _wall() -> datetime:
    return datetime.now(UTC)


class WebhookSender(BackgroundTask):
    task_name = "webhook sender"

    def __init__(
        self,
        pool: Pool,
        *,
        site: str,
        clock: Clock,
        policy: RetryPolicy,
        rule: DisableRule,
        poll: float = 0.5,
        timeout: float = 10.0,
        per_endpoint: int = 4,
        max_in_flight: int = 64,
        retention: timedelta | None = None,
        wall: Callable[[], datetime] = _wall,
    ) -> None:
        self.pool = pool
        self.site = site
        self.clock = clock
        self.policy = policy
        self.rule = rule
        self.poll = poll
        self.timeout = timeout
        self.per_endpoint = per_endpoint
        self.max_in_flight = max_in_flight
        self.retention = retention
        self.wall = wall
        self._pruned_at: float | None = None
        self.lease = timedelta(seconds=timeout * 2 + 30)
        self._busy: dict[int, int] = {}
        self._sending: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None

    @classmethod
    def of(cls, pool: Pool, settings: CloudSettings) -> WebhookSender:
        return cls(
            pool,
            site=settings.site,
            clock=settings.now_clock(),
            policy=settings.webhook_retry,
            rule=settings.webhook_disable_rule,
            poll=settings.webhooks_poll_s,
            timeout=settings.webhooks_timeout_s,
            per_endpoint=settings.webhooks_per_endpoint,
            max_in_flight=settings.webhooks_max_in_flight,
            retention=(
                timedelta(days=settings.webhooks_retention_days)
                if settings.webhooks_retention_days > 0
                else None
            ),
        )

    async def __aenter__(self) -> Self:
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(self.timeout),
            limits=httpx.Limits(max_connections=self.max_in_flight),
            follow_redirects=False,
            headers={"user-agent": USER_AGENT},
        )
        return await super().__aenter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await super().__aexit__(exc_type, exc, tb)
        for task in list(self._sending):
            task.cancel()
        for task in list(self._sending):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._client is not None:
            await self._client.aclose()

    async def _run(self) -> None:
        while True:
            try:
                await self.step()
            except psycopg.Error as e:
                log.warning("%s failed (retrying): %s", self.task_name, " ".join(str(e).split()))
            await asyncio.sleep(self.poll)

    async def step(self) -> int:
        """Fan the outbox out and start sending what is due; how many sends started."""
        async with self.pool.connection() as conn:
            await db.fan_out(conn, now=self.clock())
            await self._prune(conn)
        free = self.max_in_flight - len(self._sending)
        if free <= 0:
            return 0
        async with self.pool.connection() as conn:
            due = await db.claim_due(
                conn,
                now=self.clock(),
                lease=self.lease,
                limit=free,
                per_endpoint=self.per_endpoint,
                busy=self._busy,
            )
        for d in due:
            self._busy[d.subscription_id] = self._busy.get(d.subscription_id, 0) + 1
            task = asyncio.create_task(self._deliver(d), name=f"webhook delivery {d.id}")
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)
        return len(due)

    async def _prune(self, conn: db.Conn) -> None:
        """Forget old events and their log, once every ``PRUNE_EVERY_S``."""
        if self.retention is None:
            return
        if self._pruned_at is not None and time.monotonic() - self._pruned_at < PRUNE_EVERY_S:
            return
        self._pruned_at = time.monotonic()
        gone = await db.prune(conn, before=self.clock() - self.retention)
        if gone:
            log.info("forgot %d webhook events older than %s", gone, self.retention)

    async def _deliver(self, due: db.Due) -> None:
        try:
            outcome = await self.send(due)
            async with self.pool.connection() as conn:
                disabled = await db.record_attempt(
                    conn,
                    due,
                    outcome,
                    now=self.clock(),
                    policy=self.policy,
                    rule=self.rule,
                    site=self.site,
                )
            if disabled:
                log.warning(
                    "webhook %s (%s) disabled: it keeps failing", due.subscription_id, due.url
                )
        except psycopg.Error as e:
            log.warning("webhook delivery %s: cannot record the attempt (retried): %s", due.id, e)
        finally:
            left = self._busy.get(due.subscription_id, 1) - 1
            if left > 0:
                self._busy[due.subscription_id] = left
            else:
                self._busy.pop(due.subscription_id, None)

    async def send(self, due: db.Due) -> db.Outcome:
        """One try: POST the signed message; what the endpoint answered, or the error."""
        assert self._client is not None, "send() runs inside `async with`"
        stamp = self.wall().astimezone(UTC)
        signature = Webhook(due.secret).sign(due.msg_id, stamp, due.body)
        headers = {
            "content-type": "application/json",
            "webhook-id": due.msg_id,
            "webhook-timestamp": str(int(stamp.timestamp())),
            "webhook-signature": signature,
        }
        started = time.monotonic()
        try:
            r = await self._client.post(due.url, content=due.body.encode(), headers=headers)
        except httpx.TimeoutException:
            return db.Outcome(None, f"timeout: no answer within {self.timeout:g} s", _ms(started))
        except httpx.HTTPError as e:
            text = " ".join(str(e).split()) or type(e).__name__
            return db.Outcome(None, f"{type(e).__name__}: {text}"[:MAX_ERROR_CHARS], _ms(started))
        if is_success(r.status_code):
            return db.Outcome(r.status_code, None, _ms(started))
        body = " ".join(r.text.split())
        return db.Outcome(
            r.status_code, f"HTTP {r.status_code}: {body}"[:MAX_ERROR_CHARS], _ms(started)
        )


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 3)
