"""A reader's faults and antenna events on the edge: what a READER_EVENT_NOTIFICATION or
an ERROR_MESSAGE says, a reader that stays unreachable making one event and not one per
retry, and events kept until enough health messages carried them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from edge.reader_events import (
    FaultStreak,
    ReaderEventLog,
    SeenEvent,
    error_message_event,
    notification_events,
)
from protocols.mqtt import ReaderEventKind as K

T = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def notification(data: object) -> SimpleNamespace:
    return SimpleNamespace(
        msgdict={"READER_EVENT_NOTIFICATION": {"ReaderEventNotificationData": data}}
    )


@pytest.mark.parametrize(
    ("data", "events"),
    [
        ({"AntennaEvent": {"EventType": "Disconnected", "AntennaID": 2}},
         [SeenEvent(K.ANTENNA_DISCONNECTED, 2)]),
        ({"AntennaEvent": {"EventType": "Connected", "AntennaID": 4}},
         [SeenEvent(K.ANTENNA_CONNECTED, 4)]),
        ({"AntennaEvent": {"EventType": "Disconnected", "AntennaID": 0}}, []),  # no antenna 0
        ({"AntennaEvent": {"EventType": "Connected"}}, []),
        ({"ReaderExceptionEvent": {"Message": b"PA overheated"}},
         [SeenEvent(K.READER_EXCEPTION, None, "PA overheated")]),
        ({"ReaderExceptionEvent": {"Message": b"", "AntennaID": 3}},
         [SeenEvent(K.READER_EXCEPTION, None, "no message (antenna 3)")]),
        ({"ReportBufferOverflowErrorEvent": {}},
         [SeenEvent(K.LLRP_ERROR, None, "report buffer overflow: reports lost")]),
        ({"ReportBufferLevelWarningEvent": {"ReportBufferPercentageFull": 90}},
         [SeenEvent(K.LLRP_ERROR, None, "report buffer filling (90 % full)")]),
        ({"ConnectionAttemptEvent": {"Status": "Success"}}, []),  # the greeting: not a fault
        ({"ROSpecEvent": {"EventType": "Start_of_ROSpec"}}, []),
        ("garbage", []),
    ],
)  # fmt: skip
def test_a_reader_event_notification_gives_its_faults_and_antenna_events(data, events):
    assert notification_events(notification(data)) == events


def test_a_message_that_is_no_notification_gives_no_event():
    assert notification_events(SimpleNamespace(msgdict={"KEEPALIVE": {}})) == []
    assert notification_events(object()) == []


@pytest.mark.parametrize(
    ("msgdict", "detail"),
    [
        ({"ERROR_MESSAGE": {"LLRPStatus": {"StatusCode": "M_UnsupportedMessageType",
                                           "ErrorDescription": "what is that"}}},
         "ERROR_MESSAGE M_UnsupportedMessageType: what is that"),
        ({"ERROR_MESSAGE": {"LLRPStatus": {"StatusCode": "M_ParameterError"}}},
         "ERROR_MESSAGE M_ParameterError"),
        ({"ERROR_MESSAGE": {}}, "ERROR_MESSAGE unknown"),
    ],
)  # fmt: skip
def test_an_error_message_is_an_llrp_error(msgdict, detail):
    assert error_message_event(SimpleNamespace(msgdict=msgdict)) == SeenEvent(
        K.LLRP_ERROR, None, detail
    )


REFUSED = SeenEvent(K.UNREACHABLE, None, "127.0.0.1:5084: [Errno 111] Connection refused")
TIMED_OUT = SeenEvent(K.UNREACHABLE, None, "127.0.0.1:5084: timed out")
LOST = SeenEvent(K.CONNECTION_LOST, None, "connection closed")


@pytest.mark.parametrize(
    ("faults", "news"),
    [
        ([LOST], [True]),
        ([LOST, REFUSED, REFUSED, REFUSED], [True, True, False, False]),
        ([REFUSED, TIMED_OUT, REFUSED], [True, True, True]),  # changed: news again
    ],
)
def test_a_fault_is_news_once_however_often_it_repeats(faults, news):
    streak = FaultStreak()
    assert [streak.fault(f, float(i)) for i, f in enumerate(faults)] == news


def test_a_recovery_after_faults_says_how_long_and_how_many():
    streak = FaultStreak()
    assert streak.recovered(5.0) is None  # a first connection is no recovery
    streak.fault(LOST, 10.0)
    streak.fault(REFUSED, 11.0)
    streak.fault(REFUSED, 13.0)
    assert streak.recovered(22.5) == SeenEvent(K.RECONNECTED, None, "after 12.5 s (3 faults)")
    assert streak.recovered(30.0) is None
    assert streak.fault(REFUSED, 40.0)  # a new streak: the same fault is news again
    assert streak.recovered(41.0) == SeenEvent(K.RECONNECTED, None, "after 1.0 s (1 fault)")


def test_an_event_rides_in_health_messages_until_enough_reached_the_broker():
    log = ReaderEventLog(carry=2)
    first = log.record("r1", SeenEvent(K.ANTENNA_DISCONNECTED, 2), T)
    assert log.waiting("r1") == [first]
    assert (first.kind, first.antenna, first.time) == (K.ANTENNA_DISCONNECTED, 2, T)
    log.carried(log.waiting("r1"))
    second = log.record("r1", SeenEvent(K.ANTENNA_CONNECTED, 2), T + timedelta(seconds=5))
    log.record("r2", LOST, T)
    log.carried([])  # a health message that carried none of them changes nothing
    assert log.waiting("r1") == [first, second]
    log.carried(log.waiting("r1"))
    assert log.waiting("r1") == [second]  # the first was carried twice
    log.carried(log.waiting("r1"))
    assert log.waiting("r1") == []
    assert len(log.waiting("r2")) == 1


def test_a_flapping_reader_keeps_its_newest_events_and_counts_the_dropped():
    log = ReaderEventLog(most_per_reader=3)
    for i in range(5):
        log.record("r1", SeenEvent(K.ANTENNA_CONNECTED, i + 1), T + timedelta(seconds=i))
    assert [e.antenna for e in log.waiting("r1")] == [3, 4, 5]
    assert log.dropped == 2


def test_a_long_detail_is_cut_to_what_the_schema_takes():
    log = ReaderEventLog()
    event = log.record("r1", SeenEvent(K.READER_EXCEPTION, None, "x" * 1000), T)
    assert len(event.detail) == 300
    assert event.detail.endswith("...")
