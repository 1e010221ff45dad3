"""The stock rules job: ``low_stock``, ``overstock`` and ``expiry`` alerts raised and
resolved from the stock ledger's balances and the stock rules
(:mod:`cloud.warehouse.stock_alerts`).

Every ``every`` real seconds it reads the site's rules, the balances of the items that
have one (:func:`cloud.db.stock_rules.balances_under_rules`) and the unresolved stock
alerts, judges them for today (the injected clock's date, UTC), and raises and
resolves (as ``system``) in one transaction, under an advisory lock so two nodes
running it never both write.

With a :class:`~cloud.warehouse.forecast.ForecastConfig`, a ``low_stock`` alert it
raises carries the item's demand forecast and suggested order quantity
(:func:`cloud.warehouse.forecast.with_reorder`); an alert whose forecast fails is
raised without one (the failure logged): the alert never waits on the forecast.
"""

from __future__ import annotations

import logging
from datetime import date

from cloud.background import PeriodicJob
from cloud.db import alerts as alerts_db
from cloud.db import stock_rules as rules_db
from cloud.db.pool import Pool, try_xact_lock
from cloud.operations.forecasting import forecast_items
from cloud.warehouse.alerts import SYSTEM_ACTOR, AlertKind
from cloud.warehouse.forecast import ForecastConfig, with_reorder
from cloud.warehouse.stock_alerts import STOCK_KINDS, StockAlert, StockVerdict, judge_stock
from protocols.clock import Clock

log = logging.getLogger(__name__)

LOCK_KEY = 0x7266_6964_776D_7303
"""pg advisory lock of the stock rules job's writes ("rfidwms" + 3)."""


class StockAlertJob(PeriodicJob):
    """Runs the stock rules every ``every`` seconds; ``async with`` runs it."""

    def __init__(
        self,
        pool: Pool,
        *,
        site: str,
        clock: Clock,
        every: float = 10.0,
        forecast: ForecastConfig | None = None,
    ) -> None:
        self._pool = pool
        self._forecast = forecast
        self._site = site
        self._clock = clock
        self.every = every
        self.raised = 0
        self.resolved = 0

    async def check_once(self) -> StockVerdict | None:
        """One look: the verdict, written; None when another node holds the lock."""
        async with self._pool.connection() as conn, conn.transaction():
            if not await try_xact_lock(conn, LOCK_KEY):
                return None
            now = self._clock()
            rules = await rules_db.rules_of_site(conn, self._site)
            balances = await rules_db.balances_under_rules(conn, self._site)
            unresolved = {
                (self._site, kind, subject)
                for kind, subject in await alerts_db.unresolved_keys(conn, self._site, STOCK_KINDS)
            }
            verdict = judge_stock(balances, rules, unresolved, now.date())
            verdict = StockVerdict(
                await self._with_forecasts(conn, verdict.to_raise, now.date()),
                verdict.to_resolve,
            )
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

    async def _with_forecasts(
        self, conn: rules_db.Conn, alerts: list[StockAlert], today: date
    ) -> list[StockAlert]:
        config = self._forecast
        low = [(a.site, a.subject) for a in alerts if a.kind is AlertKind.LOW_STOCK]
        if config is None or not low:
            return alerts
        try:
            async with conn.transaction():  # a savepoint: a failed read spoils nothing
                found = await forecast_items(
                    conn, low, today=today, config=config, horizon_days=config.alert_horizon_days
                )
        except Exception:  # the alert must not wait on its forecast
            log.exception("forecast of %s failed; the low_stock alerts go without", low)
            return alerts
        plans = {(f.site, f.sku): f.plan for f in found}
        return [
            with_reorder(a, plans[(a.site, a.subject)], config.policy)
            if (a.site, a.subject) in plans
            else a
            for a in alerts
        ]

    task_name = "stock rules job"

    async def step(self) -> bool:
        await self.check_once()
        return True
