"""Reader operation specs: when to inventory, on which antennas, when to report (section 10)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from protocols.llrp.enums import (
    AirProtocol,
    AISpecStopTriggerType,
    ROReportTriggerType,
    ROSpecStartTriggerType,
    ROSpecState,
    ROSpecStopTriggerType,
    TagObservationTriggerType,
)
from protocols.llrp.layout import Layout, Many, One, Opt, Parameter, Some, tlv_parameter
from protocols.llrp.params_c1g2 import C1G2EPCMemorySelector
from protocols.llrp.params_common import UTCTimestamp
from protocols.llrp.params_config import AntennaConfiguration
from protocols.llrp.wire import FLAG, U8, U16, U32, Array, EnumOf, Reserved


@tlv_parameter(181)
@dataclass(frozen=True, slots=True)
class GPITriggerValue(Parameter):
    LAYOUT: ClassVar[Layout] = (
        ("gpi_port_num", U16),
        ("gpi_event", FLAG),
        ("", Reserved(7)),
        ("timeout_ms", U32),
    )
    gpi_port_num: int
    gpi_event: bool
    timeout_ms: int


@tlv_parameter(180)
@dataclass(frozen=True, slots=True)
class PeriodicTriggerValue(Parameter):
    """Start ``offset_ms`` after enabling (or at ``utc_timestamp``), then every ``period_ms``."""

    LAYOUT: ClassVar[Layout] = (
        ("offset_ms", U32),
        ("period_ms", U32),
        ("utc_timestamp", Opt(UTCTimestamp)),
    )
    offset_ms: int
    period_ms: int
    utc_timestamp: UTCTimestamp | None = None


@tlv_parameter(179)
@dataclass(frozen=True, slots=True)
class ROSpecStartTrigger(Parameter):
    LAYOUT: ClassVar[Layout] = (
        ("trigger_type", EnumOf(U8, ROSpecStartTriggerType)),
        ("periodic", Opt(PeriodicTriggerValue)),
        ("gpi", Opt(GPITriggerValue)),
    )
    trigger_type: ROSpecStartTriggerType
    periodic: PeriodicTriggerValue | None = None
    gpi: GPITriggerValue | None = None


@tlv_parameter(182)
@dataclass(frozen=True, slots=True)
class ROSpecStopTrigger(Parameter):
    LAYOUT: ClassVar[Layout] = (
        ("trigger_type", EnumOf(U8, ROSpecStopTriggerType)),
        ("duration_ms", U32),
        ("gpi", Opt(GPITriggerValue)),
    )
    trigger_type: ROSpecStopTriggerType
    duration_ms: int = 0
    gpi: GPITriggerValue | None = None


@tlv_parameter(178)
@dataclass(frozen=True, slots=True)
class ROBoundarySpec(Parameter):
    LAYOUT: ClassVar[Layout] = (
        ("start_trigger", One(ROSpecStartTrigger)),
        ("stop_trigger", One(ROSpecStopTrigger)),
    )
    start_trigger: ROSpecStartTrigger
    stop_trigger: ROSpecStopTrigger


@tlv_parameter(185)
@dataclass(frozen=True, slots=True)
class TagObservationTrigger(Parameter):
    LAYOUT: ClassVar[Layout] = (
        ("trigger_type", EnumOf(U8, TagObservationTriggerType)),
        ("", Reserved(8)),
        ("number_of_tags", U16),
        ("number_of_attempts", U16),
        ("t_ms", U16),
        ("timeout_ms", U32),
    )
    trigger_type: TagObservationTriggerType
    number_of_tags: int = 0
    number_of_attempts: int = 0
    t_ms: int = 0
    timeout_ms: int = 0


@tlv_parameter(184)
@dataclass(frozen=True, slots=True)
class AISpecStopTrigger(Parameter):
    LAYOUT: ClassVar[Layout] = (
        ("trigger_type", EnumOf(U8, AISpecStopTriggerType)),
        ("duration_ms", U32),
        ("gpi", Opt(GPITriggerValue)),
        ("tag_observation", Opt(TagObservationTrigger)),
    )
    trigger_type: AISpecStopTriggerType
    duration_ms: int = 0
    gpi: GPITriggerValue | None = None
    tag_observation: TagObservationTrigger | None = None


@tlv_parameter(186)
@dataclass(frozen=True, slots=True)
class InventoryParameterSpec(Parameter):
    LAYOUT: ClassVar[Layout] = (
        ("spec_id", U16),
        ("protocol_id", EnumOf(U8, AirProtocol)),
        ("antenna_configurations", Many(AntennaConfiguration)),
    )
    spec_id: int
    protocol_id: AirProtocol = AirProtocol.EPCGlobalClass1Gen2
    antenna_configurations: tuple[AntennaConfiguration, ...] = ()


@tlv_parameter(183)
@dataclass(frozen=True, slots=True)
class AISpec(Parameter):
    """An antenna inventory: which antennas (0 = all), until when, with what settings."""

    LAYOUT: ClassVar[Layout] = (
        ("antenna_ids", Array(U16)),
        ("stop_trigger", One(AISpecStopTrigger)),
        ("inventory_parameter_specs", Some(InventoryParameterSpec)),
    )
    antenna_ids: tuple[int, ...]
    stop_trigger: AISpecStopTrigger
    inventory_parameter_specs: tuple[InventoryParameterSpec, ...]


@tlv_parameter(238)
@dataclass(frozen=True, slots=True)
class TagReportContentSelector(Parameter):
    """Which optional fields each TagReportData carries."""

    LAYOUT: ClassVar[Layout] = (
        ("enable_rospec_id", FLAG),
        ("enable_spec_index", FLAG),
        ("enable_inventory_parameter_spec_id", FLAG),
        ("enable_antenna_id", FLAG),
        ("enable_channel_index", FLAG),
        ("enable_peak_rssi", FLAG),
        ("enable_first_seen_timestamp", FLAG),
        ("enable_last_seen_timestamp", FLAG),
        ("enable_tag_seen_count", FLAG),
        ("enable_access_spec_id", FLAG),
        ("", Reserved(6)),
        ("epc_memory_selectors", Many(C1G2EPCMemorySelector)),
    )
    enable_rospec_id: bool = False
    enable_spec_index: bool = False
    enable_inventory_parameter_spec_id: bool = False
    enable_antenna_id: bool = False
    enable_channel_index: bool = False
    enable_peak_rssi: bool = False
    enable_first_seen_timestamp: bool = False
    enable_last_seen_timestamp: bool = False
    enable_tag_seen_count: bool = False
    enable_access_spec_id: bool = False
    epc_memory_selectors: tuple[C1G2EPCMemorySelector, ...] = ()


@tlv_parameter(237)
@dataclass(frozen=True, slots=True)
class ROReportSpec(Parameter):
    """When to send RO_ACCESS_REPORTs (every ``n`` tags and/or at spec end) and with what."""

    LAYOUT: ClassVar[Layout] = (
        ("trigger", EnumOf(U8, ROReportTriggerType)),
        ("n", U16),
        ("content_selector", One(TagReportContentSelector)),
    )
    trigger: ROReportTriggerType
    n: int
    content_selector: TagReportContentSelector


@tlv_parameter(177)
@dataclass(frozen=True, slots=True)
class ROSpec(Parameter):
    LAYOUT: ClassVar[Layout] = (
        ("rospec_id", U32),
        ("priority", U8),
        ("current_state", EnumOf(U8, ROSpecState)),
        ("boundary", One(ROBoundarySpec)),
        ("ai_specs", Some(AISpec)),
        ("report_spec", Opt(ROReportSpec)),
    )
    rospec_id: int
    priority: int
    current_state: ROSpecState
    boundary: ROBoundarySpec
    ai_specs: tuple[AISpec, ...]
    report_spec: ROReportSpec | None = None
