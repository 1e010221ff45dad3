"""The alert lifecycle: which steps are allowed, response times, catching up a view."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from cloud.warehouse.alerts import (
    TRANSITIONS,
    Alert,
    AlertAction,
    AlertEvent,
    AlertStatus,
    TransitionRefused,
    alert_document,
    catch_up_event,
    next_status,
    response_times,
)

T = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
OPEN, ACKED, RESOLVED = AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED, AlertStatus.RESOLVED
ACK, RESOLVE = AlertAction.ACKNOWLEDGE, AlertAction.RESOLVE

# (status now, action, status after | the refusal's message)
STEPS = [
    (OPEN, ACK, ACKED),
    (OPEN, RESOLVE, RESOLVED),
    (ACKED, RESOLVE, RESOLVED),
    (ACKED, ACK, "alert 7 is acknowledged: it cannot be acknowledged"),
    (RESOLVED, ACK, "alert 7 is resolved: it cannot be acknowledged"),
    (RESOLVED, RESOLVE, "alert 7 is resolved: it cannot be resolved"),
]


def test_the_table_covers_every_status_and_action():
    assert {(s, a) for s, a, _ in STEPS} == {(s, a) for s in AlertStatus for a in AlertAction}
    assert {(s, a) for s, a, after in STEPS if isinstance(after, AlertStatus)} == set(TRANSITIONS)


@pytest.mark.parametrize(("status", "action", "after"), STEPS)
def test_a_step_goes_to_its_status_or_is_refused_naming_the_status(status, action, after):
    if isinstance(after, AlertStatus):
        assert next_status(7, status, action) is after
    else:
        with pytest.raises(TransitionRefused) as refused:
            next_status(7, status, action)
        assert str(refused.value) == after
        assert refused.value.status is status and refused.value.alert_id == 7


@pytest.mark.parametrize(
    ("acked", "resolved", "to_ack", "to_resolve"),
    [
        (None, None, None, None),
        (T + timedelta(seconds=42), None, 42.0, None),
        (T + timedelta(seconds=42), T + timedelta(minutes=10), 42.0, 600.0),
        (None, T + timedelta(seconds=5), None, 5.0),  # resolved without an acknowledgement
    ],
)
def test_response_times_count_from_the_first_raise(acked, resolved, to_ack, to_resolve):
    r = response_times(T, acked, resolved)
    assert (r.to_acknowledge, r.to_resolve) == (
        None if to_ack is None else timedelta(seconds=to_ack),
        None if to_resolve is None else timedelta(seconds=to_resolve),
    )
    alert = replace(
        ALERT,
        last_raised_at=T + timedelta(seconds=30),  # raising again does not restart the count
        raised_count=3,
        acknowledged_at=acked,
        resolved_at=resolved,
        status=RESOLVED if resolved else ACKED if acked else OPEN,
    )
    doc = alert_document(alert)
    assert (doc["time_to_acknowledge_s"], doc["time_to_resolve_s"]) == (to_ack, to_resolve)


ALERT = Alert(
    id=7,
    site="dc-1",
    kind="reader_offline",
    severity="critical",
    subject="reader-1",
    message="reader reader-1 disconnected for 31 s",
    status=OPEN,
    raised_at=T,
    last_raised_at=T,
)


def test_the_document_names_the_cause_only_when_there_is_one():
    assert alert_document(ALERT)["cause"] is None
    with_cause = replace(ALERT, cause_kind="passage", cause_id="17")
    assert alert_document(with_cause)["cause"] == {"kind": "passage", "id": "17"}
    assert set(alert_document(ALERT)) == {
        "id", "site", "kind", "severity", "subject", "message", "detail", "cause", "status",
        "raised_at", "last_raised_at", "raised_count", "acknowledged_at", "acknowledged_by",
        "acknowledgement", "resolved_at", "resolved_by", "resolution",
        "time_to_acknowledge_s", "time_to_resolve_s",
    }  # fmt: skip


AGAIN = replace(ALERT, raised_count=2, last_raised_at=T + timedelta(seconds=9))
ACKED_ALERT = replace(ALERT, status=ACKED, acknowledged_at=T + timedelta(seconds=20))
RESOLVED_ALERT = replace(ALERT, status=RESOLVED, resolved_at=T + timedelta(seconds=60))


@pytest.mark.parametrize(
    ("case", "now", "known", "event"),
    [
        ("a new alert the view does not hold", ALERT, None, AlertEvent.RAISED),
        ("the view holds it as it is", ALERT, ALERT, None),
        ("raised again meanwhile", AGAIN, ALERT, AlertEvent.RAISED_AGAIN),
        ("unknown, raised twice", AGAIN, None, AlertEvent.RAISED_AGAIN),
        ("acknowledged meanwhile", ACKED_ALERT, ALERT, AlertEvent.ACKNOWLEDGED),
        ("unknown and acknowledged", ACKED_ALERT, None, AlertEvent.ACKNOWLEDGED),
        (
            "acknowledged, then raised again",
            replace(ACKED_ALERT, raised_count=2, last_raised_at=T + timedelta(seconds=30)),
            ACKED_ALERT,
            AlertEvent.RAISED_AGAIN,
        ),
        ("resolved meanwhile", RESOLVED_ALERT, ALERT, AlertEvent.RESOLVED),
        ("resolved after an acknowledgement", RESOLVED_ALERT, ACKED_ALERT, AlertEvent.RESOLVED),
    ],
)
def test_a_view_that_missed_notifications_is_told_what_became_of_an_alert(case, now, known, event):
    assert catch_up_event(now, known) is event, case
