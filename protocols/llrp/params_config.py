"""Reader configuration parameters (GET/SET_READER_CONFIG, section 12.2)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from protocols.llrp.enums import (
    AccessReportTriggerType,
    EventType,
    IdentificationType,
    KeepaliveTriggerType,
)
from protocols.llrp.layout import Layout, Many, Opt, Parameter, Some, tlv_parameter
from protocols.llrp.params_c1g2 import C1G2InventoryCommand
from protocols.llrp.wire import FLAG, S16, U8, U16, U32, Blob, EnumOf, Reserved


@tlv_parameter(218)
@dataclass(frozen=True, slots=True)
class Identification(Parameter):
    LAYOUT: ClassVar[Layout] = (
        ("id_type", EnumOf(U8, IdentificationType)),
        ("reader_id", Blob()),
    )
    id_type: IdentificationType
    reader_id: bytes


@tlv_parameter(221)
@dataclass(frozen=True, slots=True)
class AntennaProperties(Parameter):
    LAYOUT: ClassVar[Layout] = (
        ("antenna_connected", FLAG),
        ("", Reserved(7)),
        ("antenna_id", U16),
        ("antenna_gain", S16),
    )
    antenna_connected: bool
    antenna_id: int
    antenna_gain: int
    """dBi x 100."""


@tlv_parameter(223)
@dataclass(frozen=True, slots=True)
class RFReceiver(Parameter):
    LAYOUT: ClassVar[Layout] = (("receiver_sensitivity", U16),)
    receiver_sensitivity: int
    """Index into the receive sensitivity table."""


@tlv_parameter(224)
@dataclass(frozen=True, slots=True)
class RFTransmitter(Parameter):
    LAYOUT: ClassVar[Layout] = (
        ("hop_table_id", U16),
        ("channel_index", U16),
        ("transmit_power", U16),
    )
    hop_table_id: int
    channel_index: int
    transmit_power: int
    """Index into the transmit power level table (1-based)."""


@tlv_parameter(222)
@dataclass(frozen=True, slots=True)
class AntennaConfiguration(Parameter):
    """Receiver, transmitter and inventory settings of one antenna (0 = all)."""

    LAYOUT: ClassVar[Layout] = (
        ("antenna_id", U16),
        ("rf_receiver", Opt(RFReceiver)),
        ("rf_transmitter", Opt(RFTransmitter)),
        ("inventory_commands", Many(C1G2InventoryCommand)),
    )
    antenna_id: int
    rf_receiver: RFReceiver | None = None
    rf_transmitter: RFTransmitter | None = None
    inventory_commands: tuple[C1G2InventoryCommand, ...] = ()


@tlv_parameter(220)
@dataclass(frozen=True, slots=True)
class KeepaliveSpec(Parameter):
    LAYOUT: ClassVar[Layout] = (
        ("trigger_type", EnumOf(U8, KeepaliveTriggerType)),
        ("time_interval_ms", U32),
    )
    trigger_type: KeepaliveTriggerType
    time_interval_ms: int


@tlv_parameter(245)
@dataclass(frozen=True, slots=True)
class EventNotificationState(Parameter):
    LAYOUT: ClassVar[Layout] = (
        ("event_type", EnumOf(U16, EventType)),
        ("notification_state", FLAG),
        ("", Reserved(7)),
    )
    event_type: EventType
    notification_state: bool


@tlv_parameter(244)
@dataclass(frozen=True, slots=True)
class ReaderEventNotificationSpec(Parameter):
    """Which reader events the client wants to be told about."""

    LAYOUT: ClassVar[Layout] = (("states", Some(EventNotificationState)),)
    states: tuple[EventNotificationState, ...]

    def enabled(self) -> frozenset[EventType]:
        return frozenset(s.event_type for s in self.states if s.notification_state)


@tlv_parameter(219)
@dataclass(frozen=True, slots=True)
class GPOWriteData(Parameter):
    LAYOUT: ClassVar[Layout] = (
        ("gpo_port_number", U16),
        ("gpo_data", FLAG),
        ("", Reserved(7)),
    )
    gpo_port_number: int
    gpo_data: bool


@tlv_parameter(225)
@dataclass(frozen=True, slots=True)
class GPIPortCurrentState(Parameter):
    LAYOUT: ClassVar[Layout] = (
        ("gpi_port_num", U16),
        ("config", FLAG),
        ("", Reserved(7)),
        ("state", U8),
    )
    gpi_port_num: int
    config: bool
    state: int
    """0 low, 1 high, 2 unknown."""


@tlv_parameter(226)
@dataclass(frozen=True, slots=True)
class EventsAndReports(Parameter):
    LAYOUT: ClassVar[Layout] = (
        ("hold_events_and_reports_upon_reconnect", FLAG),
        ("", Reserved(7)),
    )
    hold_events_and_reports_upon_reconnect: bool


@tlv_parameter(239)
@dataclass(frozen=True, slots=True)
class AccessReportSpec(Parameter):
    LAYOUT: ClassVar[Layout] = (("trigger", EnumOf(U8, AccessReportTriggerType)),)
    trigger: AccessReportTriggerType


@tlv_parameter(217)
@dataclass(frozen=True, slots=True)
class LLRPConfigurationStateValue(Parameter):
    LAYOUT: ClassVar[Layout] = (("value", U32),)
    value: int
