"""Alert kinds and severities: the words every part that raises an alert shares. Pure.

An alert is raised by the part that decides something is wrong (receiving, the door
check, packing, the stock rules, the fleet watch) through
:func:`cloud.db.alerts.raise_alert`, inside the transaction that decided it.
"""

from __future__ import annotations

from enum import StrEnum


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
    READER_OFFLINE = "reader_offline"
    EDGE_OFFLINE = "edge_offline"


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
    AlertKind.READER_OFFLINE: Severity.CRITICAL,
    AlertKind.EDGE_OFFLINE: Severity.CRITICAL,
}
