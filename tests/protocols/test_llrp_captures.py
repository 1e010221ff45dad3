"""Real reader captures decode, and give the values sllurp's decoder gives for the same bytes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sllurp.llrp import LLRPMessage

from protocols import llrp

DATA = Path(__file__).resolve().parent.parent / "data" / "llrp"


def capture(name: str) -> bytes:
    return (DATA / name).read_bytes()


def frames(stream: bytes) -> list[bytes]:
    return list(llrp.LLRPFramer().frames(stream))


def sllurp_view(frame: bytes) -> dict[str, Any]:
    msgdict: dict[str, Any] = LLRPMessage(msgbytes=frame).msgdict
    ((_name, body),) = msgdict.items()
    return body  # type: ignore[no-any-return]


def test_report_stream_holds_45_messages_that_re_encode_byte_for_byte() -> None:
    stream = capture("ro-access-reports-45.bin")
    messages = llrp.decode_stream(stream)
    assert len(messages) == 45
    assert all(isinstance(m, llrp.ROAccessReport) for m in messages)
    assert b"".join(llrp.encode_message(m) for m in messages) == stream


def test_report_values_equal_what_sllurp_decodes() -> None:
    compared = 0
    for frame in frames(capture("ro-access-reports-45.bin")):
        ours = llrp.decode_message(frame)
        assert isinstance(ours, llrp.ROAccessReport)
        theirs = sllurp_view(frame)
        assert ours.message_id == theirs["ID"]
        assert len(ours.tag_reports) == len(theirs["TagReportData"])
        for tag, expected in zip(ours.tag_reports, theirs["TagReportData"], strict=True):
            assert tag.epc_bytes.hex().encode() == expected.get("EPC-96", expected.get("EPC"))
            assert tag.antenna_id == expected.get("AntennaID")
            assert tag.peak_rssi == expected.get("PeakRSSI")
            assert tag.first_seen_utc == expected.get("FirstSeenTimestampUTC")
            assert tag.last_seen_utc == expected.get("LastSeenTimestampUTC")
            assert tag.tag_seen_count == expected.get("TagSeenCount")
            assert tag.channel_index == expected.get("ChannelIndex")
            assert tag.rospec_id == expected.get("ROSpecID")
            compared += 1
    assert compared >= 45


def test_report_stream_first_tag_is_the_known_one() -> None:
    first = llrp.decode_stream(capture("ro-access-reports-45.bin"))[0]
    assert isinstance(first, llrp.ROAccessReport)
    tag = first.tag_reports[0]
    assert (tag.epc_hex, tag.antenna_id, tag.peak_rssi, tag.tag_seen_count) == (
        "3005FB63AC1F3841EC880467",
        1,
        -50,
        1,
    )
    assert tag.first_seen_utc == 1385585041558537


def test_reader_event_notification_capture_decodes_like_sllurp() -> None:
    frame = capture("reader-event-notification.bin")
    ours = llrp.decode_message(frame)
    theirs = sllurp_view(frame)["ReaderEventNotificationData"]
    assert isinstance(ours, llrp.ReaderEventNotification)
    assert isinstance(ours.data.timestamp, llrp.UTCTimestamp)
    assert ours.data.timestamp.microseconds == theirs["UTCTimestamp"]["Microseconds"]
    assert ours.data.connection_attempt == llrp.ConnectionAttemptEvent(
        llrp.ConnectionAttemptStatus.Success
    )
    assert llrp.encode_message(ours) == frame


def test_capabilities_capture_decodes_like_sllurp() -> None:
    frame = capture("impinj-get-reader-capabilities-response.bin")
    ours = llrp.decode_message(frame)
    theirs = sllurp_view(frame)
    assert isinstance(ours, llrp.GetReaderCapabilitiesResponse)
    assert ours.status.is_success

    general, expected = ours.general_device, theirs["GeneralDeviceCapabilities"]
    assert general is not None
    assert general.max_number_of_antenna_supported == expected["MaxNumberOfAntennaSupported"]
    assert general.has_utc_clock_capability == expected["HasUTCClockCapability"]
    assert general.can_set_antenna_properties == expected["CanSetAntennaProperties"]
    assert general.device_manufacturer_name == expected["DeviceManufacturerName"] == 25882
    assert general.model_name == expected["ModelName"]
    assert general.reader_firmware_version.encode() == expected["ReaderFirmwareVersion"]
    assert [(e.index, e.receive_sensitivity_value) for e in general.receive_sensitivity_table] == [
        (e["Index"], e["ReceiveSensitivityValue"]) for e in expected["ReceiveSensitivityTableEntry"]
    ]
    assert [(a.antenna_id, a.protocol_ids) for a in general.air_protocols] == [
        (a["AntennaID"], tuple(a["ProtocolID"])) for a in expected["PerAntennaAirProtocol"]
    ]

    caps, expected = ours.llrp, theirs["LLRPCapabilities"]
    assert caps is not None
    assert caps.max_num_access_specs == expected["MaxNumAccessSpec"]
    assert caps.max_num_rospecs == expected["MaxNumROSpec"]
    assert caps.max_priority_level_supported == expected["MaxPriorityLevelSupported"]
    assert caps.can_report_buffer_fill_warning == expected["CanReportBufferFillWarning"]
    assert caps.supports_event_and_report_holding == expected["SupportsEventAndReportHolding"]

    regulatory, expected = ours.regulatory, theirs["RegulatoryCapabilities"]
    assert regulatory is not None and regulatory.uhf_band_capabilities is not None
    assert regulatory.country_code == expected["CountryCode"] == 840
    band, expected_band = regulatory.uhf_band_capabilities, expected["UHFBandCapabilities"]
    power = [(e.index, e.transmit_power_value) for e in band.transmit_power_levels]
    assert power == [
        (e["Index"], e["TransmitPowerValue"]) for e in expected_band["TransmitPowerLevelTableEntry"]
    ]
    assert power[-1] == (91, 3250)
    hop_tables = band.frequency_information.hop_tables
    expected_hops = expected_band["FrequencyInformation"]["FrequencyHopTable"]
    assert [list(t.frequencies) for t in hop_tables] == [t["Frequency"] for t in expected_hops]
    modes = band.rf_mode_tables[0].entries
    expected_modes = expected_band["UHFC1G2RFModeTable"]["UHFC1G2RFModeTableEntry"]
    assert [
        (m.mode_identifier, m.dr, m.m, m.forward_link_modulation, m.spectral_mask_indicator)
        for m in modes
    ] == [(e["ModeIdentifier"], e["DR"], e["Mod"], e["FLM"], e["M"]) for e in expected_modes]
    assert [(m.bdr, m.pie, m.min_tari, m.max_tari, m.step_tari) for m in modes] == [
        (e["BDR"], e["PIE"], e["MinTari"], e["MaxTari"], e["StepTari"]) for e in expected_modes
    ]

    c1g2, expected = ours.air_protocol, theirs["C1G2LLRPCapabilities"]
    assert c1g2 is not None
    assert c1g2.can_support_block_write == expected["CanSupportBlockWrite"]
    assert c1g2.max_num_select_filters_per_query == expected["MaxNumSelectFiltersPerQuery"]


def test_config_capture_decodes_like_sllurp_and_skips_impinj_parameters() -> None:
    frame = capture("impinj-get-reader-config-response.bin")
    ours = llrp.decode_message(frame)
    theirs = sllurp_view(frame)
    assert isinstance(ours, llrp.GetReaderConfigResponse)
    assert ours.identification is not None
    assert ours.identification.reader_id.hex().encode() == theirs["Identification"]["ReaderID"]
    assert [
        (p.antenna_id, p.antenna_connected, p.antenna_gain) for p in ours.antenna_properties
    ] == [
        (p["AntennaID"], p["AntennaConnected"], p["AntennaGain"])
        for p in theirs["AntennaProperties"]
    ]
    for config, expected in zip(
        ours.antenna_configurations, theirs["AntennaConfiguration"], strict=True
    ):
        assert config.antenna_id == expected["AntennaID"]
        assert config.rf_transmitter is not None and config.rf_receiver is not None
        assert config.rf_transmitter.transmit_power == expected["RFTransmitter"]["TransmitPower"]
        assert config.rf_transmitter.hop_table_id == expected["RFTransmitter"]["HopTableId"]
        assert (
            config.rf_receiver.receiver_sensitivity
            == (expected["RFReceiver"]["ReceiverSensitivity"])
        )
        command, expected_command = (
            config.inventory_commands[0],
            expected["C1G2InventoryCommand"][0],
        )
        assert command.singulation_control is not None and command.rf_control is not None
        assert (
            command.singulation_control.session
            == (expected_command["C1G2SingulationControl"]["Session"])
        )
        assert (
            command.singulation_control.tag_population
            == (expected_command["C1G2SingulationControl"]["TagPopulation"])
        )
        assert command.rf_control.mode_index == expected_command["C1G2RFControl"]["ModeIndex"]

    spec = ours.reader_event_notification_spec
    assert spec is not None
    assert [(s.event_type.value, s.notification_state) for s in spec.states] == [
        (i, s["NotificationState"])
        for i, s in enumerate(theirs["ReaderEventNotificationSpec"]["EventNotificationState"])
    ]
    report = ours.ro_report_spec
    assert report is not None
    assert report.trigger is llrp.ROReportTriggerType.Upon_N_Tags_Or_End_Of_ROSpec
    assert report.n == theirs["ROReportSpec"]["N"]
    selector, expected = report.content_selector, theirs["ROReportSpec"]["TagReportContentSelector"]
    assert selector.enable_antenna_id == expected["EnableAntennaID"]
    assert selector.enable_peak_rssi == expected["EnablePeakRSSI"]
    assert selector.enable_first_seen_timestamp == expected["EnableFirstSeenTimestamp"]
    assert selector.enable_tag_seen_count == expected["EnableTagSeenCount"]
    assert ours.keepalive_spec == llrp.KeepaliveSpec(llrp.KeepaliveTriggerType.Null, 0)
    assert ours.configuration_state is not None
    assert (
        ours.configuration_state.value
        == (theirs["LLRPConfigurationStateValue"]["LLRPConfigurationStateValue"])
    )
    assert [(g.gpi_port_num, g.config, g.state) for g in ours.gpi_port_states] == [
        (g["GPIPortNum"], g["GPIConfig"], g["GPIState"]) for g in theirs["GPIPortCurrentState"]
    ]
    assert [(g.gpo_port_number, g.gpo_data) for g in ours.gpo_write_data] == [
        (g["GPOPortNumber"], g["GPOData"]) for g in theirs["GPOWriteData"]
    ]
    assert ours.events_and_reports == llrp.EventsAndReports(False)
    assert ours.access_report_spec is not None
    assert ours.access_report_spec.trigger.value == theirs["AccessReportSpec"]


@pytest.mark.parametrize(
    "name",
    [
        "impinj-get-reader-capabilities-response.bin",
        "impinj-get-reader-config-response.bin",
        "reader-event-notification.bin",
    ],
)
def test_decoded_capture_re_encodes_to_what_it_decodes_from(name: str) -> None:
    message = llrp.decode_message(capture(name))
    assert llrp.decode_message(llrp.encode_message(message)) == message
