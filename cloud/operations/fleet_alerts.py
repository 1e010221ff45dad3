"""The fleet watch job: ``reader_offline`` and ``edge_offline`` alerts, raised and
resolved from the readers' and edges' health (:mod:`cloud.warehouse.fleet_alerts`).

Every ``every`` real seconds it reads the ``readers`` and ``edges`` tables and the
unresolved fleet alerts of the site, lets the :class:`FleetWatch` judge them at the
injected clock's time, and raises and resolves (as ``system``) in one transaction.
Every node running it looks at each round (so its memory of since when a reader is
down stays current) but only the one holding the job's advisory lock for that
transaction writes, so two nodes never raise the same alert twice.
"""

from __future__ import annotations

import logging

from cloud.background import PeriodicJob
from cloud.db import alerts as alerts_db
from cloud.db.pool import Pool, try_xact_lock
from cloud.warehouse.alerts import SYSTEM_ACTOR, AlertKind
from cloud.warehouse.fleet_alerts import (
    EdgeSignal,
    FleetRules,
    FleetVerdict,
    FleetWatch,
    ReaderSignal,
)
from protocols.clock import Clock

log = logging.getLogger(__name__)

LOCK_KEY = 0x7266_6964_776D_7302
"""pg advisory lock of the fleet watch's writes ("rfidwms" + 2)."""
FLEET_KINDS = (AlertKind.READER_OFFLINE, AlertKind.EDGE_OFFLINE)


class FleetAlertJob(PeriodicJob):
    """Runs the fleet watch every ``every`` seconds; ``async with`` runs it."""

    def __init__(
        self,
        pool: Pool,
        *,
        site: str,
        rules: FleetRules,
        clock: Clock,
        every: float = 1.0,
        edges: frozenset[str] | None = None,
    ) -> None:
        """``edges``: the site's edges, whose readers and selves it watches (None:
        every edge and reader, when the cloud serves one site)."""
        self._pool = pool
        self._site = site
        self._edges = edges
        self._clock = clock
        self.every = every
        self.watch = FleetWatch(rules)
        self.raised = 0
        self.resolved = 0

    async def check_once(self) -> FleetVerdict | None:
        """One look: the verdict, written; None when another node holds the lock."""
        async with self._pool.connection() as conn, conn.transaction():
            cur = await conn.execute("SELECT reader_id, edge_id, state, last_seen FROM readers")
            readers = [ReaderSignal(*row) for row in await cur.fetchall()]
            cur = await conn.execute("SELECT edge_id, state, last_seen FROM edges")
            edges = [EdgeSignal(*row) for row in await cur.fetchall()]
            if self._edges is not None:
                readers = [r for r in readers if r.edge_id in self._edges]
                edges = [e for e in edges if e.edge_id in self._edges]
            unresolved = await alerts_db.unresolved_keys(conn, self._site, FLEET_KINDS)
            now = self._clock()
            verdict = self.watch.judge(readers, edges, unresolved, now)
            if not (verdict.to_raise or verdict.to_resolve):
                return verdict
            if not await try_xact_lock(conn, LOCK_KEY):
                return None
            # decide again from what is unresolved now that no other node writes
            unresolved = await alerts_db.unresolved_keys(conn, self._site, FLEET_KINDS)
            verdict = self.watch.judge(readers, edges, unresolved, now)
            for a in verdict.to_raise:
                await alerts_db.raise_alert(
                    conn,
                    site=self._site,
                    kind=a.kind,
                    subject=a.subject,
                    message=a.message,
                    at=now,
                    detail=a.detail,
                )
                log.warning("alert %s: %s", a.kind.value, a.message)
            for kind, subject in verdict.to_resolve:
                await alerts_db.resolve_by_key(
                    conn,
                    site=self._site,
                    dedupe_key=f"{kind.value}:{subject}",
                    by=SYSTEM_ACTOR,
                    at=now,
                    note=f"{subject} is back",
                )
                log.info("alert %s of %s resolved: it is back", kind.value, subject)
        self.raised += len(verdict.to_raise)
        self.resolved += len(verdict.to_resolve)
        return verdict

    task_name = "fleet watch"

    async def step(self) -> bool:
        await self.check_once()
        return True
