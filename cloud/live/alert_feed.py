"""Alerts to the live hub: LISTEN on the alerts' channel, publish each change.

Every change of an alert (raised, raised again, acknowledged, resolved) is notified
on :data:`cloud.db.alerts.CHANNEL` when its transaction commits, by whichever
process made it (the ingest side, a job, an API node). :class:`AlertFeed` listens on
a connection of its own (``application_name`` ``rfidwms-alert-feed``), reads the
alerts named (through the pool, several at once when they come together) and hands
each to :meth:`LiveHub.publish_alert`. So every API node's live page hears of every
alert, wherever it was raised.

When the connection is lost it connects again with backoff; what changed while it
was not listening is caught up by comparing the hub's unresolved alerts with the
database's (:func:`cloud.warehouse.alerts.catch_up_event`), which it also does once
at start (the hub was seeded a moment before). A connection that stays silent is
checked every ``ping_s`` seconds, so a dead one is noticed
(:class:`cloud.live.listener.ChannelListener`).
"""

from __future__ import annotations

import json
import logging

from cloud.db import alerts as db
from cloud.db.pool import Pool
from cloud.live.hub import LiveHub
from cloud.live.listener import ChannelListener
from cloud.warehouse.alerts import AlertEvent, AlertStatus, catch_up_event

log = logging.getLogger(__name__)

APPLICATION_NAME = "rfidwms-alert-feed"


def parse_notification(payload: str) -> tuple[int, AlertEvent] | None:
    """(alert id, event) of a notification, or None when it is not one of ours."""
    try:
        body = json.loads(payload)
        return int(body["id"]), AlertEvent(body["event"])
    except (ValueError, TypeError, KeyError):
        return None


class AlertFeed(ChannelListener):
    """Keeps the hub's alerts live; ``async with`` runs it."""

    task_name = "alert feed"
    channel = db.CHANNEL
    application_name = APPLICATION_NAME

    def __init__(
        self,
        database_url: str,
        pool: Pool,
        hub: LiveHub,
        *,
        open_alerts: int = 200,
        retry_min_s: float = 0.25,
        retry_max_s: float = 10.0,
        ping_s: float = 30.0,
    ) -> None:
        super().__init__(
            database_url, retry_min_s=retry_min_s, retry_max_s=retry_max_s, ping_s=ping_s
        )
        self._pool = pool
        self._hub = hub
        self._open_alerts = open_alerts
        self.published = 0
        self.caught_up = 0
        """Of ``published``: changes found by comparing with the database."""

    async def publish(self, payloads: list[str]) -> None:
        changes = [c for c in map(parse_notification, payloads) if c is not None]
        if len(changes) < len(payloads):
            log.warning("alert feed: ignored %d notifications not of alerts",
                        len(payloads) - len(changes))  # fmt: skip
        if not changes:
            return
        async with self._pool.connection() as conn:
            found = await db.alerts_by_id(conn, {i for i, _ in changes})
        for alert_id, event in changes:
            alert = found.get(alert_id)
            if alert is not None:
                self._hub.publish_alert(event, alert)
                self.published += 1

    async def catch_up(self) -> int:
        """Publish what the hub's alerts miss against the database; how many."""
        held = self._hub.alerts
        async with self._pool.connection() as conn:
            unresolved = await db.unresolved_alerts(conn, self._open_alerts)
            gone = set(held) - {a.id for a in unresolved}
            others = await db.alerts_by_id(conn, gone) if gone else {}
        n = 0
        for alert in [*others.values(), *reversed(unresolved)]:
            if alert.id in gone and alert.status is not AlertStatus.RESOLVED:
                continue  # still unresolved, only older than what the view keeps
            event = catch_up_event(alert, held.get(alert.id))
            if event is not None:
                self._hub.publish_alert(event, alert)
                n += 1
        if n:
            log.info("alert feed: caught up %d alert changes", n)
        self.published += n
        self.caught_up += n
        return n
