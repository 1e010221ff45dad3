"""What kind of reader the simulator pretends to be: antennas, power table, radio.

A :class:`ReaderModel` is plain data; :func:`capabilities_response` and
:func:`default_antenna_configuration` turn it into the LLRP parameters a client
sees in GET_READER_CAPABILITIES_RESPONSE and GET_READER_CONFIG_RESPONSE.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from protocols import llrp
from protocols.llrp.params_capabilities import PerAntennaAirProtocol

FCC_HOP_TABLE_KHZ = tuple(902_750 + 500 * i for i in range(50))
"""The 50 US channels (902.75 .. 927.25 MHz), hop table 1."""


@dataclass(frozen=True, slots=True)
class ReaderModel:
    antenna_ids: tuple[int, ...] = (1, 2, 3, 4)
    min_power_dbm: float = 10.0
    max_power_dbm: float = 32.5
    power_step_db: float = 0.25
    sensitivity_dbm: float = -84.0
    """Weakest tag reply the receiver decodes."""
    reads_per_s: float | None = None
    """Most tag reads a second over all antennas (Gen2 singulation; a real reader makes
    about 200-1,100 depending on its air mode); None: no limit."""
    manufacturer: int = 0
    model_name: int = 1
    firmware_version: str = "rfidwms-sim 1.0"

    @property
    def power_levels_dbm(self) -> tuple[float, ...]:
        """Transmit power of each table index; index 1 is element 0."""
        steps = round((self.max_power_dbm - self.min_power_dbm) / self.power_step_db)
        return tuple(self.min_power_dbm + i * self.power_step_db for i in range(steps + 1))

    @property
    def max_power_index(self) -> int:
        return len(self.power_levels_dbm)

    def power_dbm(self, index: int) -> float | None:
        """dBm of a 1-based power table index, None when the index is not in the table."""
        levels = self.power_levels_dbm
        return levels[index - 1] if 1 <= index <= len(levels) else None

    def reader_mac(self, reader_id: str) -> bytes:
        """A stable 8-byte identity derived from the reader id."""
        return b"\x00\x16\x25" + hashlib.sha256(reader_id.encode()).digest()[:5]


RF_MODES = (
    llrp.UHFC1G2RFModeTableEntry(0, 1, False, 0, 0, 1, 640_000, 1500, 6250, 6250, 0),
    llrp.UHFC1G2RFModeTableEntry(1, 1, False, 1, 0, 1, 640_000, 1500, 6250, 6250, 0),
    llrp.UHFC1G2RFModeTableEntry(2, 1, False, 2, 0, 3, 274_000, 2000, 20000, 20000, 0),
    llrp.UHFC1G2RFModeTableEntry(3, 1, False, 3, 0, 3, 170_600, 2000, 20000, 20000, 0),
    llrp.UHFC1G2RFModeTableEntry(1000, 0, False, 0, 0, 0, 40_000, 1500, 6250, 6250, 0),
)
"""Air-interface modes, in the shape of a dense-reader UHF reader's table."""


def capabilities_response(
    model: ReaderModel, request: llrp.GetReaderCapabilities
) -> llrp.GetReaderCapabilitiesResponse:
    wanted = request.requested_data
    every = wanted is llrp.CapabilitiesRequest.All
    general = llrp.GeneralDeviceCapabilities(
        max_number_of_antenna_supported=max(model.antenna_ids),
        can_set_antenna_properties=False,
        has_utc_clock_capability=True,
        device_manufacturer_name=model.manufacturer,
        model_name=model.model_name,
        reader_firmware_version=model.firmware_version,
        receive_sensitivity_table=(llrp.ReceiveSensitivityTableEntry(1, 0),),
        receive_sensitivity_ranges=(),
        gpio_capabilities=llrp.GPIOCapabilities(0, 0),
        air_protocols=tuple(PerAntennaAirProtocol(a, (1,)) for a in model.antenna_ids),
    )
    capabilities = llrp.LLRPCapabilities(
        can_do_rf_survey=False,
        can_report_buffer_fill_warning=False,
        supports_client_request_op_spec=False,
        can_do_tag_inventory_state_aware_singulation=False,
        supports_event_and_report_holding=False,
        max_priority_level_supported=7,
        client_request_op_spec_timeout=0,
        max_num_rospecs=8,
        max_num_specs_per_rospec=8,
        max_num_inventory_parameter_specs_per_aispec=1,
        max_num_access_specs=16,
        max_num_op_specs_per_access_spec=8,
    )
    power_table = tuple(
        llrp.TransmitPowerLevelTableEntry(index, round(dbm * 100))
        for index, dbm in enumerate(model.power_levels_dbm, start=1)
    )
    regulatory = llrp.RegulatoryCapabilities(
        country_code=840,
        communications_standard=1,
        uhf_band_capabilities=llrp.UHFBandCapabilities(
            transmit_power_levels=power_table,
            frequency_information=llrp.FrequencyInformation(
                hopping=True, hop_tables=(llrp.FrequencyHopTable(1, FCC_HOP_TABLE_KHZ),)
            ),
            rf_mode_tables=(llrp.UHFC1G2RFModeTable(RF_MODES),),
        ),
    )
    c1g2 = llrp.C1G2LLRPCapabilities(max_num_select_filters_per_query=2)
    kinds = llrp.CapabilitiesRequest
    return llrp.GetReaderCapabilitiesResponse(
        message_id=request.message_id,
        general_device=general if every or wanted is kinds.General_Device_Capabilities else None,
        llrp=capabilities if every or wanted is kinds.LLRP_Capabilities else None,
        regulatory=regulatory if every or wanted is kinds.Regulatory_Capabilities else None,
        air_protocol=c1g2 if every or wanted is kinds.Air_Protocol_LLRP_Capabilities else None,
    )


def default_antenna_configuration(model: ReaderModel, antenna_id: int) -> llrp.AntennaConfiguration:
    return llrp.AntennaConfiguration(
        antenna_id=antenna_id,
        rf_receiver=llrp.RFReceiver(1),
        rf_transmitter=llrp.RFTransmitter(
            hop_table_id=1, channel_index=0, transmit_power=model.max_power_index
        ),
        inventory_commands=(
            llrp.C1G2InventoryCommand(
                rf_control=llrp.C1G2RFControl(mode_index=2, tari=0),
                singulation_control=llrp.C1G2SingulationControl(
                    session=2, tag_population=32, tag_transit_time=0
                ),
            ),
        ),
    )


DEFAULT_EVENTS = frozenset({llrp.EventType.Antenna_Event, llrp.EventType.Reader_Exception_Event})
"""Reader events notified until a client says otherwise."""

DEFAULT_RO_REPORT_SPEC = llrp.ROReportSpec(
    trigger=llrp.ROReportTriggerType.Upon_N_Tags_Or_End_Of_ROSpec,
    n=1,
    content_selector=llrp.TagReportContentSelector(
        enable_antenna_id=True, enable_peak_rssi=True, enable_first_seen_timestamp=True
    ),
)
"""Report settings a ROSpec without its own ROReportSpec uses, until SET_READER_CONFIG."""
