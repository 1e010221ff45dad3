"""The stock rules job: ``low_stock``, ``overstock`` and ``expiry`` alerts raised and
resolved from the stock ledger's balances and the stock rules
(:mod:`cloud.warehouse.stock_alerts`).

Every ``every`` real seconds it reads the site's rules, the balances of the items that
have one (:func:`cloud.db.stock_rules.balances_under_rules`) and the unresolved stock
alerts, judges them for today (the injected clock's date, UTC), and raises and
resolves (as ``system``) in one transaction, under an advisory lock so two nodes
running it never both write.
"""

from __future__ import annotations

import logging

from cloud.background import PeriodicJob
from cloud.db import alerts as alerts_db
from cloud.db import stock_rules as rules_db
from cloud.db.pool import Pool
from cloud.warehouse.alerts import SYSTEM_ACTOR
from cloud.warehouse.stock_alerts import STOCK_KINDS, StockVerdict, judge_stock
from protocols.clock import Clock

log = logging.getLogger(__name__)

LOCK_KEY = 0x7266_6964_776D_7303
"""pg advisory lock of the stock rules job's writes ("rfidwms" + 3)."""


class StockAlertJob(PeriodicJob):
    """Runs the stock rules every ``every`` seconds; ``async with`` runs it."""

    def __init__(self, pool: Pool, *, site: str, clock: Clock, every: float = 10.0) -> None:
        self._pool = pool
        self._site = site
        self._clock = clock
        self.every = every
        self.raised = 0
        self.resolved = 0

    async def check_once(self) -> StockVerdict | None:
        """One look: the verdict, written; None when another node holds the lock."""
        async with self._pool.connection() as conn, conn.transaction():
            cur = await conn.execute("SELECT pg_try_advisory_xact_lock(%s)", [LOCK_KEY])
            row = await cur.fetchone()
            if not (row and row[0]):
                return None
            now = self._clock()
            rules = await rules_db.rules_of_site(conn, self._site)
            balances = await rules_db.balances_under_rules(conn, self._site)
            unresolved = {
                (self._site, kind, subject)
                for kind, subject in await alerts_db.unresolved_keys(conn, self._site, STOCK_KINDS)
            }
            verdict = judge_stock(balances, rules, unresolved, now.date())
            for a in verdict.to_raise:
                await alerts_db.raise_alert(
                    conn,
                    site=a.site,
                    kind=a.kind,
                    subject=a.subject,
                    message=a.message,
                    at=now,
                    detail=a.detail,
                    severity=a.severity,
                )
                log.info("alert %s: %s", a.kind.value, a.message)
            for site, kind, subject in verdict.to_resolve:
                await alerts_db.resolve_by_key(
                    conn,
                    site=site,
                    dedupe_key=f"{kind.value}:{subject}",
                    by=SYSTEM_ACTOR,
                    at=now,
                    note="the stock rule holds no more",
                )
                log.info("alert %s of %s resolved", kind.value, subject)
        self.raised += len(verdict.to_raise)
        self.resolved += len(verdict.to_resolve)
        return verdict

    task_name = "stock rules job"

    async def step(self) -> bool:
        await self.check_once()
        return True
