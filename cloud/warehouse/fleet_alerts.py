"""The fleet watch: a reader or an edge gone quiet raises an alert, and its return
resolves it. Pure: fed what the edges' health says and the time.

- ``edge_offline``: an edge is offline when the newest thing heard from it is older
  than :attr:`FleetRules.edge_offline_after`. Heard: a health message (the newest
  ``last_seen`` of its readers, stamped by the edge) or, while its status is
  ``online``, that status (stamped by the cloud when received). An edge whose status
  is ``offline`` (its last will, or a clean stop) is heard only through health, so it
  goes offline ``edge_offline_after`` after its last health message.
- ``reader_offline``: a reader is offline when its state has not been ``inventorying``
  or ``connected`` for longer than :attr:`FleetRules.reader_offline_after`. The
  health messages give a reader's state, not since when it holds, so the watch
  remembers when it first saw the reader down (a restarted cloud counts again from
  its first look). A reader of an offline edge, or one its edge stopped reporting
  for ``edge_offline_after``, is not judged: its state is not known (the edge's alert
  stands for it), and an open alert of it stays open.
- Either alert is resolved (as ``system``) when the device is back; the watch raises
  no alert that is already unresolved (it would only count up ``raised_count``).
"""

from __future__ import annotations

from collections.abc import Iterable, Set
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cloud.warehouse.alerts import AlertKind

UP_STATES = frozenset({"inventorying", "connected"})
"""Reader states that count as working."""


@dataclass(frozen=True, slots=True)
class FleetRules:
    reader_offline_after: timedelta
    edge_offline_after: timedelta


@dataclass(frozen=True, slots=True)
class ReaderSignal:
    """A reader as its edge's newest health message described it."""

    reader_id: str
    edge_id: str
    state: str
    last_seen: datetime
    """Time of that health message (the edge's clock)."""


@dataclass(frozen=True, slots=True)
class EdgeSignal:
    """An edge's status (online/offline) and when the cloud received it."""

    edge_id: str
    state: str
    status_seen: datetime


@dataclass(frozen=True, slots=True)
class FleetAlert:
    kind: AlertKind
    subject: str
    message: str
    detail: dict[str, Any]


Key = tuple[AlertKind, str]
"""(kind, subject) of a fleet alert: the subject is the reader's or the edge's id."""


@dataclass(frozen=True, slots=True)
class FleetVerdict:
    to_raise: list[FleetAlert] = field(default_factory=list)
    to_resolve: list[Key] = field(default_factory=list)
    offline_edges: frozenset[str] = frozenset()
    down_readers: frozenset[str] = frozenset()
    """Readers judged down now (offline or not yet for long enough)."""


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _for(d: timedelta) -> str:
    return f"{d.total_seconds():.0f} s"


def edges_last_heard(
    readers: Iterable[ReaderSignal], edges: Iterable[EdgeSignal]
) -> dict[str, datetime | None]:
    """Every edge named by a reader or a status, with when it was last heard (None:
    only an ``offline`` status is known of it)."""
    heard: dict[str, datetime | None] = {}
    for e in edges:
        heard[e.edge_id] = e.status_seen if e.state == "online" else None
    for r in readers:
        before = heard.get(r.edge_id)
        heard[r.edge_id] = r.last_seen if before is None else max(before, r.last_seen)
    return heard


class FleetWatch:
    """Judges the fleet at each look; remembers since when each reader is down."""

    def __init__(self, rules: FleetRules) -> None:
        self.rules = rules
        self._down_since: dict[str, datetime] = {}

    def judge(
        self,
        readers: Iterable[ReaderSignal],
        edges: Iterable[EdgeSignal],
        unresolved: Set[Key],
        now: datetime,
    ) -> FleetVerdict:
        """The alerts to raise and to resolve at ``now``, given the fleet's signals and
        the fleet alerts not yet resolved."""
        readers = list(readers)
        edges = list(edges)
        status_of = {e.edge_id: e for e in edges}
        to_raise: list[FleetAlert] = []
        to_resolve: list[Key] = []
        offline: set[str] = set()
        for edge_id, heard in sorted(edges_last_heard(readers, edges).items()):
            key = (AlertKind.EDGE_OFFLINE, edge_id)
            if heard is None:
                silent = now - status_of[edge_id].status_seen
                why = f"edge {edge_id} is offline (its status) and sent no health"
            else:
                silent = now - heard
                why = f"edge {edge_id} sent no health for {_for(silent)}"
            if silent > self.rules.edge_offline_after:
                offline.add(edge_id)
                if key not in unresolved:
                    to_raise.append(
                        FleetAlert(
                            AlertKind.EDGE_OFFLINE,
                            edge_id,
                            why,
                            {
                                "edge_id": edge_id,
                                "last_heard": _iso(heard) if heard is not None else None,
                                "status": status_of[edge_id].state
                                if edge_id in status_of
                                else None,
                            },
                        )
                    )
            elif key in unresolved:
                to_resolve.append(key)
        down: set[str] = set()
        seen: set[str] = set()
        for r in sorted(readers, key=lambda r: r.reader_id):
            seen.add(r.reader_id)
            key = (AlertKind.READER_OFFLINE, r.reader_id)
            if r.edge_id in offline or now - r.last_seen > self.rules.edge_offline_after:
                continue  # not known now
            if r.state in UP_STATES:
                self._down_since.pop(r.reader_id, None)
                if key in unresolved:
                    to_resolve.append(key)
                continue
            down.add(r.reader_id)
            since = self._down_since.setdefault(r.reader_id, now)
            if now - since > self.rules.reader_offline_after and key not in unresolved:
                to_raise.append(
                    FleetAlert(
                        AlertKind.READER_OFFLINE,
                        r.reader_id,
                        f"reader {r.reader_id} (edge {r.edge_id}) {r.state} for "
                        f"{_for(now - since)}",
                        {
                            "reader_id": r.reader_id,
                            "edge_id": r.edge_id,
                            "state": r.state,
                            "down_since": _iso(since),
                        },
                    )
                )
        for gone in set(self._down_since) - seen:
            del self._down_since[gone]
        return FleetVerdict(to_raise, to_resolve, frozenset(offline), frozenset(down))
