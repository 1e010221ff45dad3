"""How the simulated reader folds sightings into TagReportData (no I/O)."""

from __future__ import annotations

from firmware_sim.llrp_inventory import TagTally, gen2_crc16
from protocols import llrp

EPC = bytes.fromhex("3005fb63ac1f3841ec880467")
OTHER = bytes.fromhex("300833b2ddd906c000000000")
FULL = llrp.TagReportContentSelector(
    enable_rospec_id=True,
    enable_antenna_id=True,
    enable_peak_rssi=True,
    enable_channel_index=True,
    enable_first_seen_timestamp=True,
    enable_last_seen_timestamp=True,
    enable_tag_seen_count=True,
)


def test_repeated_sightings_fold_into_peak_first_last_and_count_per_antenna() -> None:
    tally = TagTally(5, FULL)
    tally.add(EPC, 1, -60, 3, 1_000)
    tally.add(EPC, 1, -52, 3, 2_000)
    tally.add(EPC, 1, -58, 3, 3_000)
    tally.add(EPC, 2, -70, 3, 1_500)
    tally.add(OTHER, 1, -65, 3, 1_000)
    reports = {(r.epc_hex, r.antenna_id): r for r in tally.drain()}
    assert len(tally) == 0
    merged = reports[(EPC.hex().upper(), 1)]
    assert (merged.peak_rssi, merged.first_seen_utc, merged.last_seen_utc) == (-52, 1_000, 3_000)
    assert (merged.tag_seen_count, merged.rospec_id, merged.channel_index) == (3, 5, 3)
    assert reports[(EPC.hex().upper(), 2)].tag_seen_count == 1
    assert len(reports) == 3


def test_without_antenna_ids_one_entry_per_tag_and_only_selected_fields() -> None:
    tally = TagTally(5, llrp.TagReportContentSelector(enable_tag_seen_count=True))
    tally.add(EPC, 1, -60, 1, 1_000)
    tally.add(EPC, 2, -50, 1, 2_000)
    (report,) = tally.drain()
    assert report.tag_seen_count == 2
    assert (report.antenna_id, report.peak_rssi, report.first_seen_utc, report.rospec_id) == (
        None,
        None,
        None,
        None,
    )


def test_epcs_that_are_not_96_bits_are_reported_as_epc_data() -> None:
    tally = TagTally(1, FULL)
    tally.add(bytes(16), 1, -50, 1, 1)
    (report,) = tally.drain()
    assert report.epc == llrp.EPCData(llrp.BitString(128, bytes(16)))


def test_gen2_crc16_matches_the_standard_check_value() -> None:
    assert gen2_crc16(b"123456789") == 0xD64E  # CRC-16/GENIBUS check value
