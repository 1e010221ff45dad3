"""What a reader says it can do (GET_READER_CAPABILITIES_RESPONSE, section 9.2)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from protocols.llrp.layout import Layout, Many, One, Opt, Parameter, Some, tlv_parameter
from protocols.llrp.params_c1g2 import UHFC1G2RFModeTable
from protocols.llrp.wire import FLAG, S16, U8, U16, U32, Array, Reserved, Utf8


@tlv_parameter(139)
@dataclass(frozen=True, slots=True)
class ReceiveSensitivityTableEntry(Parameter):
    LAYOUT: ClassVar[Layout] = (("index", U16), ("receive_sensitivity_value", S16))
    index: int
    receive_sensitivity_value: int


@tlv_parameter(149)
@dataclass(frozen=True, slots=True)
class PerAntennaReceiveSensitivityRange(Parameter):
    LAYOUT: ClassVar[Layout] = (
        ("antenna_id", U16),
        ("receive_sensitivity_index_min", U16),
        ("receive_sensitivity_index_max", U16),
    )
    antenna_id: int
    receive_sensitivity_index_min: int
    receive_sensitivity_index_max: int


@tlv_parameter(140)
@dataclass(frozen=True, slots=True)
class PerAntennaAirProtocol(Parameter):
    LAYOUT: ClassVar[Layout] = (("antenna_id", U16), ("protocol_ids", Array(U8)))
    antenna_id: int
    protocol_ids: tuple[int, ...]


@tlv_parameter(141)
@dataclass(frozen=True, slots=True)
class GPIOCapabilities(Parameter):
    LAYOUT: ClassVar[Layout] = (("num_gpis", U16), ("num_gpos", U16))
    num_gpis: int
    num_gpos: int


@tlv_parameter(137)
@dataclass(frozen=True, slots=True)
class GeneralDeviceCapabilities(Parameter):
    LAYOUT: ClassVar[Layout] = (
        ("max_number_of_antenna_supported", U16),
        ("can_set_antenna_properties", FLAG),
        ("has_utc_clock_capability", FLAG),
        ("", Reserved(14)),
        ("device_manufacturer_name", U32),
        ("model_name", U32),
        ("reader_firmware_version", Utf8()),
        ("receive_sensitivity_table", Some(ReceiveSensitivityTableEntry)),
        ("receive_sensitivity_ranges", Many(PerAntennaReceiveSensitivityRange)),
        ("gpio_capabilities", One(GPIOCapabilities)),
        ("air_protocols", Some(PerAntennaAirProtocol)),
    )
    max_number_of_antenna_supported: int
    can_set_antenna_properties: bool
    has_utc_clock_capability: bool
    device_manufacturer_name: int
    """IANA private enterprise number of the maker (Impinj: 25882)."""
    model_name: int
    reader_firmware_version: str
    receive_sensitivity_table: tuple[ReceiveSensitivityTableEntry, ...]
    receive_sensitivity_ranges: tuple[PerAntennaReceiveSensitivityRange, ...]
    gpio_capabilities: GPIOCapabilities
    air_protocols: tuple[PerAntennaAirProtocol, ...]


@tlv_parameter(142)
@dataclass(frozen=True, slots=True)
class LLRPCapabilities(Parameter):
    LAYOUT: ClassVar[Layout] = (
        ("can_do_rf_survey", FLAG),
        ("can_report_buffer_fill_warning", FLAG),
        ("supports_client_request_op_spec", FLAG),
        ("can_do_tag_inventory_state_aware_singulation", FLAG),
        ("supports_event_and_report_holding", FLAG),
        ("", Reserved(3)),
        ("max_priority_level_supported", U8),
        ("client_request_op_spec_timeout", U16),
        ("max_num_rospecs", U32),
        ("max_num_specs_per_rospec", U32),
        ("max_num_inventory_parameter_specs_per_aispec", U32),
        ("max_num_access_specs", U32),
        ("max_num_op_specs_per_access_spec", U32),
    )
    can_do_rf_survey: bool
    can_report_buffer_fill_warning: bool
    supports_client_request_op_spec: bool
    can_do_tag_inventory_state_aware_singulation: bool
    supports_event_and_report_holding: bool
    max_priority_level_supported: int
    client_request_op_spec_timeout: int
    max_num_rospecs: int
    max_num_specs_per_rospec: int
    max_num_inventory_parameter_specs_per_aispec: int
    max_num_access_specs: int
    max_num_op_specs_per_access_spec: int


@tlv_parameter(145)
@dataclass(frozen=True, slots=True)
class TransmitPowerLevelTableEntry(Parameter):
    """One selectable transmit power; ``transmit_power_value`` is dBm x 100."""

    LAYOUT: ClassVar[Layout] = (("index", U16), ("transmit_power_value", S16))
    index: int
    transmit_power_value: int

    @property
    def dbm(self) -> float:
        return self.transmit_power_value / 100.0


@tlv_parameter(147)
@dataclass(frozen=True, slots=True)
class FrequencyHopTable(Parameter):
    """Channel frequencies in kHz."""

    LAYOUT: ClassVar[Layout] = (
        ("hop_table_id", U8),
        ("", Reserved(8)),
        ("frequencies", Array(U32)),
    )
    hop_table_id: int
    frequencies: tuple[int, ...]


@tlv_parameter(148)
@dataclass(frozen=True, slots=True)
class FixedFrequencyTable(Parameter):
    LAYOUT: ClassVar[Layout] = (("frequencies", Array(U32)),)
    frequencies: tuple[int, ...]


@tlv_parameter(146)
@dataclass(frozen=True, slots=True)
class FrequencyInformation(Parameter):
    LAYOUT: ClassVar[Layout] = (
        ("hopping", FLAG),
        ("", Reserved(7)),
        ("hop_tables", Many(FrequencyHopTable)),
        ("fixed_frequency_table", Opt(FixedFrequencyTable)),
    )
    hopping: bool
    hop_tables: tuple[FrequencyHopTable, ...] = ()
    fixed_frequency_table: FixedFrequencyTable | None = None


@tlv_parameter(144)
@dataclass(frozen=True, slots=True)
class UHFBandCapabilities(Parameter):
    LAYOUT: ClassVar[Layout] = (
        ("transmit_power_levels", Some(TransmitPowerLevelTableEntry)),
        ("frequency_information", One(FrequencyInformation)),
        ("rf_mode_tables", Some(UHFC1G2RFModeTable)),
    )
    transmit_power_levels: tuple[TransmitPowerLevelTableEntry, ...]
    frequency_information: FrequencyInformation
    rf_mode_tables: tuple[UHFC1G2RFModeTable, ...]


@tlv_parameter(143)
@dataclass(frozen=True, slots=True)
class RegulatoryCapabilities(Parameter):
    LAYOUT: ClassVar[Layout] = (
        ("country_code", U16),
        ("communications_standard", U16),
        ("uhf_band_capabilities", Opt(UHFBandCapabilities)),
    )
    country_code: int
    """ISO 3166 numeric (840 = USA)."""
    communications_standard: int
    """1 = US FCC Part 15, 2 = ETSI EN 302 208, ..."""
    uhf_band_capabilities: UHFBandCapabilities | None = None
