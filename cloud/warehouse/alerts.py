"""Alerts: their kinds and severities, their lifecycle, and the document they are shown
as. Pure.

An alert is raised by the part that decides something is wrong (receiving, the door
check, packing, the stock rules, the fleet watch) through
:func:`cloud.db.alerts.raise_alert`, inside the transaction that decided it.

Lifecycle: ``open`` -> ``acknowledged`` -> ``resolved``, or ``open`` -> ``resolved``
(:data:`TRANSITIONS`). Each step records who took it and when; what it took to respond
is kept as times from the raise (:func:`response_times`): to acknowledge
(``acknowledged_at - raised_at``) and to resolve (``resolved_at - raised_at``). Anything
else (acknowledging an acknowledged or resolved alert, resolving a resolved one) is
refused with :class:`TransitionRefused`, naming the alert's status. Rules that watch a
condition (the fleet watch, the stock rules) resolve their own alerts as
:data:`SYSTEM_ACTOR` when the condition is over.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


class AlertKind(StrEnum):
    LOW_STOCK = "low_stock"
    OVERSTOCK = "overstock"
    EXPIRY = "expiry"
    UNEXPECTED_RECEIPT = "unexpected_receipt"
    SHORT_RECEIPT = "short_receipt"
    OVER_RECEIPT = "over_receipt"
    WRONG_PICK = "wrong_pick"
    WEIGHT_MISMATCH = "weight_mismatch"
    MIS_SHIPMENT = "mis_shipment"
    OVER_SHIPMENT = "over_shipment"
    READER_OFFLINE = "reader_offline"
    EDGE_OFFLINE = "edge_offline"
    WEBHOOK_DISABLED = "webhook_disabled"
    COUNT_VARIANCE = "count_variance"
    TRANSFER_SHORT = "transfer_short"
    TRANSFER_OVER = "transfer_over"
    TRANSFER_LATE = "transfer_late"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


DEFAULT_SEVERITY: dict[AlertKind, Severity] = {
    AlertKind.LOW_STOCK: Severity.WARNING,
    AlertKind.OVERSTOCK: Severity.INFO,
    AlertKind.EXPIRY: Severity.WARNING,
    AlertKind.UNEXPECTED_RECEIPT: Severity.WARNING,
    AlertKind.SHORT_RECEIPT: Severity.WARNING,
    AlertKind.OVER_RECEIPT: Severity.WARNING,
    AlertKind.WRONG_PICK: Severity.CRITICAL,
    AlertKind.WEIGHT_MISMATCH: Severity.CRITICAL,
    AlertKind.MIS_SHIPMENT: Severity.CRITICAL,
    AlertKind.OVER_SHIPMENT: Severity.WARNING,
    AlertKind.READER_OFFLINE: Severity.CRITICAL,
    AlertKind.EDGE_OFFLINE: Severity.CRITICAL,
    AlertKind.WEBHOOK_DISABLED: Severity.WARNING,
    AlertKind.COUNT_VARIANCE: Severity.WARNING,
    AlertKind.TRANSFER_SHORT: Severity.WARNING,
    AlertKind.TRANSFER_OVER: Severity.WARNING,
    AlertKind.TRANSFER_LATE: Severity.WARNING,
}

SYSTEM_ACTOR = "system"
"""Who resolves an alert whose rule sees its condition over (a reader back online)."""


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


UNRESOLVED = frozenset({AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED})


class AlertAction(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"


class AlertEvent(StrEnum):
    """What happened to an alert, as the live feed tells it."""

    RAISED = "raised"
    """A new alert."""
    RAISED_AGAIN = "raised_again"
    """Raised while one of the same key was unresolved: ``raised_count`` went up."""
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


TRANSITIONS: dict[tuple[AlertStatus, AlertAction], AlertStatus] = {
    (AlertStatus.OPEN, AlertAction.ACKNOWLEDGE): AlertStatus.ACKNOWLEDGED,
    (AlertStatus.OPEN, AlertAction.RESOLVE): AlertStatus.RESOLVED,
    (AlertStatus.ACKNOWLEDGED, AlertAction.RESOLVE): AlertStatus.RESOLVED,
}
"""Every allowed step: (status now, action) -> status after."""

EVENT_OF: dict[AlertAction, AlertEvent] = {
    AlertAction.ACKNOWLEDGE: AlertEvent.ACKNOWLEDGED,
    AlertAction.RESOLVE: AlertEvent.RESOLVED,
}


class TransitionRefused(ValueError):
    """An action the alert's status does not allow; the message names the status."""

    def __init__(self, alert_id: int, status: AlertStatus, action: AlertAction) -> None:
        self.alert_id = alert_id
        self.status = status
        self.action = action
        verb = {AlertAction.ACKNOWLEDGE: "acknowledged", AlertAction.RESOLVE: "resolved"}[action]
        super().__init__(f"alert {alert_id} is {status.value}: it cannot be {verb}")


def next_status(alert_id: int, status: AlertStatus, action: AlertAction) -> AlertStatus:
    """The status after ``action``, or :class:`TransitionRefused`."""
    after = TRANSITIONS.get((status, action))
    if after is None:
        raise TransitionRefused(alert_id, status, action)
    return after


@dataclass(frozen=True, slots=True)
class ResponseTimes:
    to_acknowledge: timedelta | None
    """``acknowledged_at - raised_at``; None while not acknowledged (or resolved
    without an acknowledgement)."""
    to_resolve: timedelta | None
    """``resolved_at - raised_at``; None while unresolved."""


def response_times(
    raised_at: datetime, acknowledged_at: datetime | None, resolved_at: datetime | None
) -> ResponseTimes:
    """How long the alert waited for each response, counted from its first raise
    (raising it again does not restart the count)."""
    return ResponseTimes(
        acknowledged_at - raised_at if acknowledged_at is not None else None,
        resolved_at - raised_at if resolved_at is not None else None,
    )


@dataclass(frozen=True, slots=True)
class Alert:
    """An alert as stored, with its lifecycle."""

    id: int
    site: str
    kind: str
    """An :class:`AlertKind` value."""
    severity: str
    subject: str
    """What the alert is about: a pallet, a SKU, a reader ..."""
    message: str
    status: AlertStatus
    raised_at: datetime
    last_raised_at: datetime
    raised_count: int = 1
    detail: dict[str, Any] = field(default_factory=dict)
    cause_kind: str | None = None
    cause_id: str | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    acknowledgement: str | None = None
    """The note given with the acknowledgement."""
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    resolution: str | None = None
    """The note given with the resolution."""

    @property
    def response(self) -> ResponseTimes:
        return response_times(self.raised_at, self.acknowledged_at, self.resolved_at)


def _seconds(d: timedelta | None) -> float | None:
    return None if d is None else d.total_seconds()


def alert_document(alert: Alert) -> dict[str, Any]:
    """The alert as the API and the live feed show it (JSON-ready but for datetimes)."""
    r = alert.response
    return {
        "id": alert.id,
        "site": alert.site,
        "kind": alert.kind,
        "severity": alert.severity,
        "subject": alert.subject,
        "message": alert.message,
        "detail": alert.detail,
        "cause": (
            {"kind": alert.cause_kind, "id": alert.cause_id}
            if alert.cause_kind is not None and alert.cause_id is not None
            else None
        ),
        "status": alert.status.value,
        "raised_at": alert.raised_at,
        "last_raised_at": alert.last_raised_at,
        "raised_count": alert.raised_count,
        "acknowledged_at": alert.acknowledged_at,
        "acknowledged_by": alert.acknowledged_by,
        "acknowledgement": alert.acknowledgement,
        "resolved_at": alert.resolved_at,
        "resolved_by": alert.resolved_by,
        "resolution": alert.resolution,
        "time_to_acknowledge_s": _seconds(r.to_acknowledge),
        "time_to_resolve_s": _seconds(r.to_resolve),
    }


def catch_up_event(alert: Alert, known: Alert | None) -> AlertEvent | None:
    """The event that tells a live view holding ``known`` (None: it does not hold the
    alert) what became of ``alert``; None when nothing did. For a view that missed
    notifications (its listener was reconnecting)."""
    if known is not None and (
        known.status,
        known.raised_count,
        known.last_raised_at,
    ) == (alert.status, alert.raised_count, alert.last_raised_at):
        return None
    if alert.status is AlertStatus.RESOLVED:
        return AlertEvent.RESOLVED
    if known is not None and known.status is not alert.status:
        return AlertEvent.ACKNOWLEDGED
    if alert.status is AlertStatus.ACKNOWLEDGED and known is None:
        return AlertEvent.ACKNOWLEDGED
    if alert.raised_count > 1:
        return AlertEvent.RAISED_AGAIN
    return AlertEvent.RAISED
