"""A reader's clock offset, estimated from report arrival times (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from edge.clock_offset import ClockOffset, clock_speed, reported_through
from protocols.clock import ScaledClock, wall_clock

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def s(x: float) -> timedelta:
    return timedelta(seconds=x)


@pytest.mark.parametrize(
    ("skew_s", "delays_s", "offset_s", "correction_s"),
    [
        (0.0, [0.25, 0.1, 0.3], 0.1, 0.0),  # in sync: delays only, nothing corrected
        (-90.0, [0.25, 0.1, 0.3], 90.1, 90.1),  # reader 90 s behind: add 90 s
        (90.0, [0.25, 0.05, 0.3], -89.95, -89.95),  # reader 90 s ahead: take it off
        (-1.5, [0.2, 0.2], 1.7, 0.0),  # within the 2 s tolerance: left alone
    ],
)
def test_offset_is_the_smallest_arrival_lag(skew_s, delays_s, offset_s, correction_s):
    clock = ClockOffset(tolerance_s=2.0)
    for i, delay in enumerate(delays_s):
        read_at_reader = T0 + s(i) + s(skew_s)  # what the reader's clock says
        arrived = T0 + s(i) + s(delay)  # what the edge's clock says
        clock.observe(arrived, read_at_reader)
    assert clock.offset_s == pytest.approx(offset_s)
    assert clock.correction.total_seconds() == pytest.approx(correction_s)


def test_no_reports_no_estimate():
    clock = ClockOffset()
    assert clock.offset_s is None and clock.correction == timedelta(0)


def test_a_clock_set_right_is_trusted_again_once_old_samples_leave_the_window():
    clock = ClockOffset(window=3)
    for i in range(3):
        clock.observe(T0 + s(i), T0 + s(i) - s(90))
    assert clock.correction == s(90)
    for i in range(3, 6):
        clock.observe(T0 + s(i) + s(0.1), T0 + s(i))
    assert clock.correction == timedelta(0)


@pytest.mark.parametrize(
    ("skew_s", "uncorrected_s"),
    [
        (0.0, 0.1),  # in sync: the shortest delay is all that is left
        (-1.5, 1.6),  # within the tolerance: the read times keep the offset
        (-90.0, 0.0),  # corrected: the corrected read times are on the edge's clock
    ],
)
def test_the_offset_left_in_read_times_is_zero_once_corrected(skew_s, uncorrected_s):
    clock = ClockOffset(tolerance_s=2.0)
    assert clock.uncorrected_s == 0.0  # no report yet: taken as in sync
    for i in range(3):
        clock.observe(T0 + s(i + 0.1), T0 + s(i) + s(skew_s))
    assert clock.uncorrected_s == pytest.approx(uncorrected_s)


def test_the_clock_speed_turns_wall_intervals_into_clock_time():
    assert clock_speed(wall_clock) == 1.0
    assert clock_speed(ScaledClock(T0, 0.0, 10.0)) == 10.0


@pytest.mark.parametrize(
    ("uncorrected_s", "last_delay_s", "through_s"),
    [
        (0.0, 0.0, -2.5),  # in step: everything up to a report interval (and slack) ago
        (0.0, 2.0, -2.5),  # the last report came within the interval: no backlog
        (0.0, 12.5, -12.5),  # reports come 10 s late: so is this one, claim 10 s less
        (1.5, 0.0, -4.0),  # the reader's clock is 1.5 s behind, uncorrected: its time
        (-1.0, 0.0, -1.5),  # ... or 1 s ahead
    ],
)
def test_a_heartbeat_claims_only_reads_the_edge_has_had(uncorrected_s, last_delay_s, through_s):
    through = reported_through(T0, s(2.5), uncorrected_s, last_delay_s)
    assert (through - T0).total_seconds() == pytest.approx(through_s)


def test_a_backlog_of_late_reports_is_not_taken_for_a_reader_clock_behind():
    # a reader in sync; then the edge falls behind for 100 reports (each arrives 2.5 s
    # after its reads): over the window the on-time reports still show the clock is right
    clock = ClockOffset(tolerance_s=2.0)
    for i in range(200):
        clock.observe(T0 + s(i * 0.05 + 0.05), T0 + s(i * 0.05))
    for i in range(200, 300):
        clock.observe(T0 + s(i * 0.05 + 2.5), T0 + s(i * 0.05))
    assert clock.offset_s == pytest.approx(0.05) and clock.correction == timedelta(0)


def test_a_reader_clock_set_back_is_corrected_within_twenty_reports_not_the_window():
    # in sync for 600 reports, then the reader's clock is set 90 s back: twenty reports
    # later the offset is the new one (a backlog never makes a step of 10 s)
    clock = ClockOffset(tolerance_s=2.0)
    for i in range(600):
        clock.observe(T0 + s(i * 0.05 + 0.05), T0 + s(i * 0.05))
    for i in range(600, 619):
        clock.observe(T0 + s(i * 0.05 + 0.05), T0 + s(i * 0.05) - s(90))
    assert clock.correction == timedelta(0)  # nineteen reports: not yet
    clock.observe(T0 + s(619 * 0.05 + 0.05), T0 + s(619 * 0.05) - s(90))
    assert clock.offset_s == pytest.approx(90.05)
    assert clock.correction.total_seconds() == pytest.approx(90.05)
    for i in range(620, 700):  # set right again: a smaller lag is taken at once
        clock.observe(T0 + s(i * 0.05 + 0.05), T0 + s(i * 0.05))
    assert clock.correction == timedelta(0)
