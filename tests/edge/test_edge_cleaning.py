"""The edge's pure steps: sllurp reports -> tag reads -> observations; rates; backoff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from edge.aggregation import ObservationWindow
from edge.backoff import next_backoff
from edge.rates import ReadRateMeter
from edge.reads import BadTagReport, TagRead, tag_read_from_sllurp

T0 = datetime(2026, 11, 23, 8, 0, 0, tzinfo=UTC)
EPC_A = "3034257BF7194E4000001A85"
EPC_B = "3034257BF7194E4000001A86"


def read(epc: str = EPC_A, antenna: int = 1, rssi: float | None = -50, dt: float = 0, n: int = 1):
    t = T0 + timedelta(seconds=dt)
    return TagRead("reader-door-1", antenna, epc, rssi, t, t, n)


def read_point(reader_id: str, antenna: int) -> str | None:
    return {1: "door-1/outside", 2: "door-1/outside", 3: "door-1/inside"}.get(antenna)


# -- sllurp report dicts ----------------------------------------------------------------


def test_sllurp_report_as_a_real_impinj_reader_sends_it():
    # Values as sllurp decodes the first report of tests/data/llrp/ro-access-reports-45.bin
    report = {
        "EPC-96": b"3005fb63ac1f3841ec880467",
        "AntennaID": 1,
        "PeakRSSI": -50,
        "FirstSeenTimestampUTC": 1385585041558537,
        "TagSeenCount": 1,
        "EPC": b"3005fb63ac1f3841ec880467",
    }
    r = tag_read_from_sllurp("r1", report, received_at=T0)
    assert r.epc == "3005FB63AC1F3841EC880467"
    assert r.antenna == 1 and r.rssi_dbm == -50.0 and r.seen_count == 1
    assert r.first_seen == datetime(2013, 11, 27, 20, 44, 1, 558537, tzinfo=UTC)
    assert r.last_seen == r.first_seen  # no LastSeen asked for: falls back to FirstSeen


def test_sllurp_report_without_timestamps_uses_arrival_time():
    r = tag_read_from_sllurp("r1", {"EPC": b"ABCD1234", "AntennaID": 2}, received_at=T0)
    assert (r.first_seen, r.last_seen, r.seen_count, r.rssi_dbm) == (T0, T0, 1, None)


@pytest.mark.parametrize(
    ("report", "message"),
    [
        ({"AntennaID": 1}, "no EPC"),
        ({"EPC": b"XYZ1", "AntennaID": 1}, "not hex"),
        ({"EPC": b"ABC", "AntennaID": 1}, "not hex"),
        ({"EPC": b"ABCD", "AntennaID": 0}, "AntennaID"),
        ({"EPC": b"ABCD"}, "AntennaID"),
        ({"EPC": 5, "AntennaID": 1}, "unexpected type"),
        ({"EPC": b"ABCD" * 32, "AntennaID": 1}, "longer than 496 bits"),
        ({"EPC": b"ABCD", "AntennaID": 1, "FirstSeenTimestampUTC": 2**63 - 1}, "not a time"),
    ],
)
def test_unusable_sllurp_reports_are_refused_with_the_reason(report, message):
    with pytest.raises(BadTagReport, match=message):
        tag_read_from_sllurp("r1", report, received_at=T0)
    with pytest.raises(BadTagReport, match=message):  # twice: a refused EPC is not cached
        tag_read_from_sllurp("r1", report, received_at=T0)


def test_a_report_per_tag_is_filed_under_the_default_antenna_and_an_antenna_id_wins():
    per_tag = tag_read_from_sllurp("r1", {"EPC": b"abcd1234"}, T0, default_antenna=3)
    assert (per_tag.antenna, per_tag.epc) == (3, "ABCD1234")
    own = tag_read_from_sllurp("r1", {"EPC": b"ABCD1234", "AntennaID": 2}, T0, default_antenna=3)
    assert own.antenna == 2


# -- observation window -----------------------------------------------------------------


def test_repeated_reads_of_one_tag_by_one_antenna_fold_into_one_observation():
    w = ObservationWindow(read_point, rssi_floor_dbm=-80)
    w.add(read(rssi=-60, dt=0.0, n=2))
    w.add(read(rssi=-48, dt=0.2, n=3))
    w.add(read(rssi=-55, dt=0.4, n=1))
    [obs], stats = w.flush()
    assert obs.epc == EPC_A and obs.read_point == "door-1/outside"
    assert obs.first_seen == T0 and obs.last_seen == T0 + timedelta(seconds=0.4)
    assert obs.rssi_dbm == -48 and obs.seen_count == 6
    assert stats.reads == 3


def test_each_tag_and_antenna_is_its_own_observation_in_first_seen_order():
    w = ObservationWindow(read_point, rssi_floor_dbm=-80)
    w.add(read(EPC_B, antenna=3, dt=0.3))
    w.add(read(EPC_A, antenna=1, dt=0.1))
    w.add(read(EPC_A, antenna=2, dt=0.2))
    obs, _ = w.flush()
    assert [(o.epc, o.antenna) for o in obs] == [(EPC_A, 1), (EPC_A, 2), (EPC_B, 3)]


@pytest.mark.parametrize(
    ("rssi", "antenna", "kept", "below", "unmapped"),
    [
        (-50, 1, 1, 0, 0),
        (-80, 1, 1, 0, 0),  # at the floor: kept
        (-80.5, 1, 0, 1, 0),
        (None, 1, 1, 0, 0),  # no RSSI reported: nothing to judge it by, kept
        (-50, 4, 0, 0, 1),  # antenna the layout does not map
    ],
)
def test_reads_below_the_floor_or_from_unmapped_antennas_are_dropped(
    rssi, antenna, kept, below, unmapped
):
    w = ObservationWindow(read_point, rssi_floor_dbm=-80)
    w.add(read(rssi=rssi, antenna=antenna))
    obs, stats = w.flush()
    assert (len(obs), stats.below_floor, stats.unmapped) == (kept, below, unmapped)


def test_flush_empties_the_window():
    w = ObservationWindow(read_point, rssi_floor_dbm=-80)
    w.add(read())
    w.flush()
    assert len(w) == 0
    assert w.flush()[0] == []


# -- rates and backoff ------------------------------------------------------------------


def test_read_rate_is_reads_per_second_over_the_window_per_antenna():
    m = ReadRateMeter(window_s=10)
    for i in range(20):
        m.count("r1", 1, 5, now=100 + i * 0.5)  # 100 reads in 10 s
    m.count("r1", 3, 10, now=109)
    m.count("r2", 1, 99, now=109)
    assert m.rates("r1", now=109.5) == {"1": 10.0, "3": 1.0}
    assert m.rates("r1", now=130) == {}


@pytest.mark.parametrize(
    ("current", "maximum", "expected"),
    [(0, 30, 0.5), (0.5, 30, 1.0), (8, 30, 16), (16, 30, 30), (30, 30, 30)],
)
def test_reconnect_backoff_doubles_up_to_the_maximum(current, maximum, expected):
    assert next_backoff(current, maximum) == expected
