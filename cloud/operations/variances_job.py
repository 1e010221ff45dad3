"""The cycle count job: count variances opened and cleared from what the zone readers
hear against the book (:mod:`cloud.warehouse.variances`).

Every ``every`` real seconds it reads the readers' health, the pallets the book holds
on hand and where, the pallets' places by the edges' events, the pallets being received
or put away or with an event the warehouse feed has not applied yet (the book is about to
move: under load the feed may lag the places by more than the threshold) and the open
variances, lets the :class:`CycleCount` judge
them at the injected clock's time, and opens variances (each with a ``count_variance``
alert) and clears those whose disagreement is over (resolving their alert, as
``system``) in one transaction, under an advisory lock so two nodes never both write.
Every node looks at each round, so its memory of since when a disagreement holds stays
current. :attr:`CycleCountJob.zones` is the last look's count status per zone.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from datetime import datetime

from cloud.background import PeriodicJob
from cloud.db import alerts as alerts_db
from cloud.db import variances as db
from cloud.db.pool import Pool, try_xact_lock
from cloud.operations.inbound import pallet_sscc
from cloud.warehouse.alerts import SYSTEM_ACTOR, AlertKind
from cloud.warehouse.putaway import storage_zones
from cloud.warehouse.variances import (
    CountRules,
    CountVerdict,
    CycleCount,
    Discrepancy,
    ReaderState,
    VarianceKind,
    ZoneCount,
    zone_counts,
)
from protocols.clock import Clock
from protocols.layout import Layout

log = logging.getLogger(__name__)

LOCK_KEY = 0x7266_6964_776D_7304
"""pg advisory lock of the cycle count's writes ("rfidwms" + 4)."""

_WHAT = {
    VarianceKind.MISSING: "booked in {book_zone} and not heard there",
    VarianceKind.UNEXPECTED: "heard in {heard_zone} and not on the book",
    VarianceKind.WRONG_ZONE: "booked in {book_zone}, heard in {heard_zone}",
}


def alert_key(variance_id: int) -> str:
    """The dedupe key of a variance's ``count_variance`` alert."""
    return f"{AlertKind.COUNT_VARIANCE.value}:{variance_id}"


async def resolve_alert(
    conn: db.Conn, *, site: str, variance_id: int, by: str, at: datetime, note: str
) -> None:
    """Resolve the variance's alert (if still unresolved)."""
    await alerts_db.resolve_by_key(
        conn, site=site, dedupe_key=alert_key(variance_id), by=by, at=at, note=note
    )


class CycleCountJob(PeriodicJob):
    """Runs the cycle count every ``every`` seconds; ``async with`` runs it."""

    task_name = "cycle count"

    def __init__(
        self,
        pool: Pool,
        *,
        site: str,
        layout: Layout,
        rules: CountRules,
        clock: Clock,
        every: float = 2.0,
    ) -> None:
        self._pool = pool
        self._site = site
        self._clock = clock
        self.every = every
        self.count = CycleCount(rules)
        storage = storage_zones(layout)
        self._zone_readers: dict[str, list[str]] = {
            z: [r.id for r in layout.readers_at(z)] for z in storage
        }
        self.zones: Mapping[str, ZoneCount] = {}
        self.opened = 0
        self.cleared = 0

    async def check_once(self) -> CountVerdict | None:
        """One look: the verdict, written; None when another node holds the lock."""
        async with self._pool.connection() as conn, conn.transaction():
            cur = await conn.execute("SELECT reader_id, state, last_seen FROM readers")
            readers = [ReaderState(*row) for row in await cur.fetchall()]
            now = self._clock()
            heard = await db.heard_pallets(conn)
            zones = zone_counts(self._zone_readers, readers, now, self.count.rules, heard)
            self.zones = zones
            booked = await db.booked_pallets(conn, self._site)
            left_out = await db.pallets_not_counted(conn, self._site)
            left_out |= await db.pallets_pending(conn)
            open_now = await db.open_variances(conn, self._site)
            verdict = self.count.judge(
                zones=zones,
                booked=booked,
                heard=heard,
                open_variances=open_now,
                now=now,
                ignore=left_out,
            )
            if not (verdict.to_open or verdict.to_clear):
                return verdict
            if not await try_xact_lock(conn, LOCK_KEY):
                return None
            opened: list[Discrepancy] = []
            for d in verdict.to_open:
                if d.sscc is None:
                    d = dataclasses.replace(d, sscc=pallet_sscc(d.epc))
                variance_id = await db.open_variance(conn, self._site, d, at=now)
                if variance_id is None:
                    continue
                opened.append(d)
                what = _WHAT[d.kind].format(book_zone=d.book_zone, heard_zone=d.heard_zone)
                name = d.sscc or d.epc
                await alerts_db.raise_alert(
                    conn,
                    site=self._site,
                    kind=AlertKind.COUNT_VARIANCE,
                    subject=name,
                    message=f"count variance {variance_id} ({d.kind.value}): pallet {name} {what}",
                    at=now,
                    dedupe_key=alert_key(variance_id),
                    detail={
                        "variance": variance_id,
                        "kind": d.kind.value,
                        "epc": d.epc,
                        "pallet": d.sscc,
                        "zone": d.zone,
                        "book_zone": d.book_zone,
                        "heard_zone": d.heard_zone,
                    },
                    cause=("count", f"variance:{variance_id}"),
                )
                log.warning("count variance %d (%s): pallet %s %s", variance_id, d.kind, name, what)
            cleared = 0
            for variance_id in verdict.to_clear:
                if await db.clear(conn, variance_id, by=SYSTEM_ACTOR, at=now) is None:
                    continue
                cleared += 1
                await resolve_alert(
                    conn,
                    site=self._site,
                    variance_id=variance_id,
                    by=SYSTEM_ACTOR,
                    at=now,
                    note="cleared: the readers and the book agree again",
                )
                log.info("count variance %d cleared", variance_id)
        self.count.opened(opened)
        self.opened += len(opened)
        self.cleared += cleared
        return verdict

    async def step(self) -> bool:
        await self.check_once()
        return True
