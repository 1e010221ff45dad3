"""Interoperability with sllurp in both directions, byte for byte.

What our codec encodes, sllurp's decoder reads back to the same values; what sllurp's
own client state machine sends (captured from its transport), our codec decodes to the
values sllurp meant.
"""

from __future__ import annotations

from typing import Any

from sllurp.llrp import C1G2Read, C1G2TargetTag, LLRPClient, LLRPMessage, LLRPReaderConfig

from protocols import llrp


def sllurp_decode(frame: bytes) -> tuple[str, dict[str, Any]]:
    msgdict: dict[str, Any] = LLRPMessage(msgbytes=frame).msgdict
    ((name, body),) = msgdict.items()
    return name, body


def sllurp_client(**config: Any) -> tuple[LLRPClient, list[bytes]]:
    sent: list[bytes] = []
    client = LLRPClient(LLRPReaderConfig(config), transport_tx_write=sent.append)
    return client, sent


def ignore(*_args: Any) -> None:
    return None


# --- our bytes, sllurp's decoder -------------------------------------------------------


def test_sllurp_reads_our_tag_reports_with_every_optional_field() -> None:
    reports = (
        llrp.TagReportData(
            epc=llrp.EPC96(bytes.fromhex("3005fb63ac1f3841ec880467")),
            rospec_id=7,
            antenna_id=3,
            peak_rssi=-61,
            channel_index=12,
            first_seen_utc=1_700_000_000_123_456,
            last_seen_utc=1_700_000_000_223_456,
            tag_seen_count=9,
        ),
        llrp.TagReportData(
            epc=llrp.EPCData(llrp.BitString.of_bytes(bytes.fromhex("e2801160600002054e5c1a2b"))),
            antenna_id=1,
            peak_rssi=-40,
        ),
    )
    frame = llrp.encode_message(llrp.ROAccessReport(message_id=77, tag_reports=reports))
    name, body = sllurp_decode(frame)
    assert (name, body["ID"]) == ("RO_ACCESS_REPORT", 77)
    first, second = body["TagReportData"]
    assert first["EPC-96"] == b"3005fb63ac1f3841ec880467"
    assert (first["ROSpecID"], first["AntennaID"], first["PeakRSSI"]) == (7, 3, -61)
    assert (first["ChannelIndex"], first["TagSeenCount"]) == (12, 9)
    assert first["FirstSeenTimestampUTC"] == 1_700_000_000_123_456
    assert first["LastSeenTimestampUTC"] == 1_700_000_000_223_456
    assert second["EPC"] == b"e2801160600002054e5c1a2b"
    assert (second["AntennaID"], second["PeakRSSI"]) == (1, -40)


def test_sllurp_reads_our_reader_events() -> None:
    status = llrp.ConnectionAttemptStatus
    expected_names = {
        status.Success: "Success",
        status.Failed_A_Client_Initiated_Connection_Already_Exists: (
            "Failed (a Client initiated connection already exists)"
        ),
        status.Another_Connection_Attempted: "Another connection attempted",
    }
    for value, sllurp_name in expected_names.items():
        event = llrp.ReaderEventNotification(
            message_id=5,
            data=llrp.ReaderEventNotificationData(
                timestamp=llrp.UTCTimestamp(1_700_000_000_000_001),
                connection_attempt=llrp.ConnectionAttemptEvent(value),
            ),
        )
        _, body = sllurp_decode(llrp.encode_message(event))
        data = body["ReaderEventNotificationData"]
        assert data["ConnectionAttemptEvent"]["Status"] == sllurp_name
        assert data["UTCTimestamp"]["Microseconds"] == 1_700_000_000_000_001

    antenna = llrp.ReaderEventNotification(
        data=llrp.ReaderEventNotificationData(
            timestamp=llrp.UTCTimestamp(1),
            antenna=llrp.AntennaEvent(llrp.AntennaEventType.Antenna_Disconnected, 2),
        )
    )
    _, body = sllurp_decode(llrp.encode_message(antenna))
    assert body["ReaderEventNotificationData"]["AntennaEvent"]["AntennaID"] == 2


def test_sllurp_reads_our_capabilities_power_table_and_modes() -> None:
    response = llrp.GetReaderCapabilitiesResponse(
        message_id=1,
        general_device=llrp.GeneralDeviceCapabilities(
            max_number_of_antenna_supported=4,
            can_set_antenna_properties=False,
            has_utc_clock_capability=True,
            device_manufacturer_name=0,
            model_name=1,
            reader_firmware_version="sim 1.0",
            receive_sensitivity_table=(llrp.ReceiveSensitivityTableEntry(1, 0),),
            receive_sensitivity_ranges=(),
            gpio_capabilities=llrp.GPIOCapabilities(0, 0),
            air_protocols=(llrp.PerAntennaAirProtocol(1, (1,)),),
        ),
        regulatory=llrp.RegulatoryCapabilities(
            840,
            1,
            llrp.UHFBandCapabilities(
                transmit_power_levels=tuple(
                    llrp.TransmitPowerLevelTableEntry(i + 1, 1000 + 25 * i) for i in range(91)
                ),
                frequency_information=llrp.FrequencyInformation(
                    True, (llrp.FrequencyHopTable(1, (902750, 903250)),)
                ),
                rf_mode_tables=(
                    llrp.UHFC1G2RFModeTable(
                        (
                            llrp.UHFC1G2RFModeTableEntry(
                                2, 1, False, 2, 0, 3, 274000, 2000, 20000, 20000, 0
                            ),
                        )
                    ),
                ),
            ),
        ),
    )
    name, body = sllurp_decode(llrp.encode_message(response))
    assert name == "GET_READER_CAPABILITIES_RESPONSE"
    assert body["LLRPStatus"]["StatusCode"] == "Success"
    assert body["GeneralDeviceCapabilities"]["MaxNumberOfAntennaSupported"] == 4
    band = body["RegulatoryCapabilities"]["UHFBandCapabilities"]
    assert LLRPClient.parsePowerTable(band)[1::45] == [10.0, 21.25, 32.5]
    mode = band["UHFC1G2RFModeTable"]["UHFC1G2RFModeTableEntry"][0]
    assert (mode["ModeIdentifier"], mode["BDR"], mode["MaxTari"]) == (2, 274000, 20000)


def test_sllurp_reads_our_error_message_and_keepalive() -> None:
    error = llrp.ErrorMessage(
        message_id=9,
        status=llrp.LLRPStatus(llrp.StatusCode.M_UnsupportedMessage, "at byte offset 0: nope"),
    )
    name, body = sllurp_decode(llrp.encode_message(error))
    assert name == "ERROR_MESSAGE"
    assert body["LLRPStatus"]["StatusCode"] == "UnsupportedMessage"
    assert body["LLRPStatus"]["ErrorDescription"] == b"at byte offset 0: nope"
    assert sllurp_decode(llrp.encode_message(llrp.Keepalive(message_id=3)))[0] == "KEEPALIVE"


# --- sllurp's bytes, our decoder -------------------------------------------------------


def test_we_read_the_configuration_sllurp_sends() -> None:
    client, sent = sllurp_client(keepalive_interval=1500, event_selector={"AntennaEvent": True})
    client.send_GET_READER_CAPABILITIES(None, onCompletion=ignore)
    client.send_GET_READER_CONFIG(onCompletion=ignore)
    client.send_ENABLE_EVENTS_AND_REPORTS()
    client.send_SET_READER_CONFIG(onCompletion=ignore)
    get_caps, get_config, enable, set_config = (llrp.decode_message(f) for f in sent)
    assert get_caps == llrp.GetReaderCapabilities(message_id=1)
    assert get_config == llrp.GetReaderConfig(message_id=2)
    assert enable == llrp.EnableEventsAndReports(message_id=3)
    assert isinstance(set_config, llrp.SetReaderConfig)
    assert set_config.keepalive_spec == llrp.KeepaliveSpec(llrp.KeepaliveTriggerType.Periodic, 1500)
    assert set_config.reader_event_notification_spec is not None
    assert set_config.reader_event_notification_spec.enabled() == {llrp.EventType.Antenna_Event}
    assert not set_config.reset_to_factory_defaults


def test_we_read_the_rospec_sllurp_builds() -> None:
    client, sent = sllurp_client(
        antennas=[1, 3],
        tx_power={1: 40, 3: 91},
        report_every_n_tags=5,
        report_timeout_ms=250,
        tag_content_selector={"EnablePeakRSSI": True, "EnableFirstSeenTimestamp": True},
    )
    client.startInventory()
    (frame,) = sent
    message = llrp.decode_message(frame)
    assert isinstance(message, llrp.AddROSpec)
    rospec = message.rospec
    assert (rospec.rospec_id, rospec.current_state) == (1, llrp.ROSpecState.Disabled)
    assert rospec.boundary.start_trigger.trigger_type is llrp.ROSpecStartTriggerType.Immediate
    assert rospec.boundary.stop_trigger.trigger_type is llrp.ROSpecStopTriggerType.Null
    (ai_spec,) = rospec.ai_specs
    assert ai_spec.antenna_ids == (1, 3)
    stop = ai_spec.stop_trigger
    assert stop.trigger_type is llrp.AISpecStopTriggerType.Tag_Observation
    assert stop.tag_observation == llrp.TagObservationTrigger(
        llrp.TagObservationTriggerType.Upon_Seeing_N_Tags_Or_Timeout,
        number_of_tags=5,
        timeout_ms=250,
    )
    configs = ai_spec.inventory_parameter_specs[0].antenna_configurations
    powers = {c.antenna_id: c.rf_transmitter.transmit_power for c in configs if c.rf_transmitter}
    assert powers == {1: 40, 3: 91}
    assert rospec.report_spec is not None
    assert rospec.report_spec.trigger is llrp.ROReportTriggerType.Upon_N_Tags_Or_End_Of_AISpec
    selector = rospec.report_spec.content_selector
    assert selector.enable_peak_rssi and selector.enable_first_seen_timestamp
    assert selector.enable_antenna_id and selector.enable_rospec_id
    assert llrp.encode_message(message) == frame


def test_we_read_the_duration_rospec_sllurp_builds() -> None:
    client, sent = sllurp_client(duration=2.5)
    client.startInventory()
    message = llrp.decode_message(sent[0])
    assert isinstance(message, llrp.AddROSpec)
    assert message.rospec.boundary.stop_trigger == llrp.ROSpecStopTrigger(
        llrp.ROSpecStopTriggerType.Duration, 2500
    )


def test_we_read_sllurp_access_specs_and_housekeeping() -> None:
    client, sent = sllurp_client()
    client.startAccess(
        C1G2Read(OpSpecID=4, MB=3, WordPtr=0, WordCount=2),
        targetSpec=C1G2TargetTag(MB=1, Pointer=32, TagMask="fff", TagData="300"),
        stopAfterCount=1,
        accessSpecID=6,
    )
    client.stopPolitely()
    client.send_KEEPALIVE_ACK()
    add, delete, ack = (llrp.decode_message(f) for f in sent)
    assert isinstance(add, llrp.AddAccessSpec)
    spec = add.access_spec
    assert (spec.access_spec_id, spec.current_state) == (6, llrp.AccessSpecState.Disabled)
    assert spec.stop_trigger.operation_count == 1
    (read,) = spec.access_command.op_specs
    assert read == llrp.C1G2Read(
        op_spec_id=4, access_password=0, mb=3, word_pointer=0, word_count=2
    )
    (target,) = spec.access_command.tag_spec.targets
    assert (target.mb, target.pointer) == (1, 32)
    assert target.tag_mask == llrp.BitString(12, b"\xff\xf0")
    assert target.tag_data == llrp.BitString(12, b"\x30\x00")
    assert delete == llrp.DeleteAccessSpec(message_id=2, access_spec_id=0)
    assert isinstance(ack, llrp.KeepaliveAck)
