"""LLRP 1.0.1 messages. Each class is one message type; responses carry an LLRPStatus."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from protocols.llrp.enums import CapabilitiesRequest, ConfigRequest
from protocols.llrp.layout import Layout, Many, Message, One, Opt, llrp_message
from protocols.llrp.params_accessspec import AccessSpec
from protocols.llrp.params_c1g2 import C1G2LLRPCapabilities
from protocols.llrp.params_capabilities import (
    GeneralDeviceCapabilities,
    LLRPCapabilities,
    RegulatoryCapabilities,
)
from protocols.llrp.params_common import SUCCESS, LLRPStatus
from protocols.llrp.params_config import (
    AccessReportSpec,
    AntennaConfiguration,
    AntennaProperties,
    EventsAndReports,
    GPIPortCurrentState,
    GPOWriteData,
    Identification,
    KeepaliveSpec,
    LLRPConfigurationStateValue,
    ReaderEventNotificationSpec,
)
from protocols.llrp.params_events import ReaderEventNotificationData
from protocols.llrp.params_report import TagReportData
from protocols.llrp.params_rospec import ROReportSpec, ROSpec
from protocols.llrp.wire import FLAG, U8, U16, U32, EnumOf, Reserved, Rest

# --- capabilities and configuration -------------------------------------------------------


@llrp_message(1, "GET_READER_CAPABILITIES")
@dataclass(frozen=True, slots=True)
class GetReaderCapabilities(Message):
    LAYOUT: ClassVar[Layout] = (("requested_data", EnumOf(U8, CapabilitiesRequest)),)
    requested_data: CapabilitiesRequest = CapabilitiesRequest.All


@llrp_message(11, "GET_READER_CAPABILITIES_RESPONSE")
@dataclass(frozen=True, slots=True)
class GetReaderCapabilitiesResponse(Message):
    LAYOUT: ClassVar[Layout] = (
        ("status", One(LLRPStatus)),
        ("general_device", Opt(GeneralDeviceCapabilities)),
        ("llrp", Opt(LLRPCapabilities)),
        ("regulatory", Opt(RegulatoryCapabilities)),
        ("air_protocol", Opt(C1G2LLRPCapabilities)),
    )
    status: LLRPStatus = SUCCESS
    general_device: GeneralDeviceCapabilities | None = None
    llrp: LLRPCapabilities | None = None
    regulatory: RegulatoryCapabilities | None = None
    air_protocol: C1G2LLRPCapabilities | None = None


@llrp_message(2, "GET_READER_CONFIG")
@dataclass(frozen=True, slots=True)
class GetReaderConfig(Message):
    LAYOUT: ClassVar[Layout] = (
        ("antenna_id", U16),
        ("requested_data", EnumOf(U8, ConfigRequest)),
        ("gpi_port_num", U16),
        ("gpo_port_num", U16),
    )
    antenna_id: int = 0
    requested_data: ConfigRequest = ConfigRequest.All
    gpi_port_num: int = 0
    gpo_port_num: int = 0


@llrp_message(12, "GET_READER_CONFIG_RESPONSE")
@dataclass(frozen=True, slots=True)
class GetReaderConfigResponse(Message):
    LAYOUT: ClassVar[Layout] = (
        ("status", One(LLRPStatus)),
        ("identification", Opt(Identification)),
        ("antenna_properties", Many(AntennaProperties)),
        ("antenna_configurations", Many(AntennaConfiguration)),
        ("reader_event_notification_spec", Opt(ReaderEventNotificationSpec)),
        ("ro_report_spec", Opt(ROReportSpec)),
        ("access_report_spec", Opt(AccessReportSpec)),
        ("configuration_state", Opt(LLRPConfigurationStateValue)),
        ("keepalive_spec", Opt(KeepaliveSpec)),
        ("gpi_port_states", Many(GPIPortCurrentState)),
        ("gpo_write_data", Many(GPOWriteData)),
        ("events_and_reports", Opt(EventsAndReports)),
    )
    status: LLRPStatus = SUCCESS
    identification: Identification | None = None
    antenna_properties: tuple[AntennaProperties, ...] = ()
    antenna_configurations: tuple[AntennaConfiguration, ...] = ()
    reader_event_notification_spec: ReaderEventNotificationSpec | None = None
    ro_report_spec: ROReportSpec | None = None
    access_report_spec: AccessReportSpec | None = None
    configuration_state: LLRPConfigurationStateValue | None = None
    keepalive_spec: KeepaliveSpec | None = None
    gpi_port_states: tuple[GPIPortCurrentState, ...] = ()
    gpo_write_data: tuple[GPOWriteData, ...] = ()
    events_and_reports: EventsAndReports | None = None


@llrp_message(3, "SET_READER_CONFIG")
@dataclass(frozen=True, slots=True)
class SetReaderConfig(Message):
    LAYOUT: ClassVar[Layout] = (
        ("reset_to_factory_defaults", FLAG),
        ("", Reserved(7)),
        ("reader_event_notification_spec", Opt(ReaderEventNotificationSpec)),
        ("antenna_properties", Many(AntennaProperties)),
        ("antenna_configurations", Many(AntennaConfiguration)),
        ("ro_report_spec", Opt(ROReportSpec)),
        ("access_report_spec", Opt(AccessReportSpec)),
        ("keepalive_spec", Opt(KeepaliveSpec)),
        ("gpo_write_data", Many(GPOWriteData)),
        ("gpi_port_states", Many(GPIPortCurrentState)),
        ("events_and_reports", Opt(EventsAndReports)),
    )
    reset_to_factory_defaults: bool = False
    reader_event_notification_spec: ReaderEventNotificationSpec | None = None
    antenna_properties: tuple[AntennaProperties, ...] = ()
    antenna_configurations: tuple[AntennaConfiguration, ...] = ()
    ro_report_spec: ROReportSpec | None = None
    access_report_spec: AccessReportSpec | None = None
    keepalive_spec: KeepaliveSpec | None = None
    gpo_write_data: tuple[GPOWriteData, ...] = ()
    gpi_port_states: tuple[GPIPortCurrentState, ...] = ()
    events_and_reports: EventsAndReports | None = None


@llrp_message(13, "SET_READER_CONFIG_RESPONSE")
@dataclass(frozen=True, slots=True)
class SetReaderConfigResponse(Message):
    LAYOUT: ClassVar[Layout] = (("status", One(LLRPStatus)),)
    status: LLRPStatus = SUCCESS


@llrp_message(14, "CLOSE_CONNECTION")
@dataclass(frozen=True, slots=True)
class CloseConnection(Message):
    LAYOUT: ClassVar[Layout] = ()


@llrp_message(4, "CLOSE_CONNECTION_RESPONSE")
@dataclass(frozen=True, slots=True)
class CloseConnectionResponse(Message):
    LAYOUT: ClassVar[Layout] = (("status", One(LLRPStatus)),)
    status: LLRPStatus = SUCCESS


# --- ROSpecs ------------------------------------------------------------------------------


@llrp_message(20, "ADD_ROSPEC")
@dataclass(frozen=True, slots=True)
class AddROSpec(Message):
    LAYOUT: ClassVar[Layout] = (("rospec", One(ROSpec)),)
    rospec: ROSpec


@llrp_message(30, "ADD_ROSPEC_RESPONSE")
@dataclass(frozen=True, slots=True)
class AddROSpecResponse(Message):
    LAYOUT: ClassVar[Layout] = (("status", One(LLRPStatus)),)
    status: LLRPStatus = SUCCESS


@llrp_message(21, "DELETE_ROSPEC")
@dataclass(frozen=True, slots=True)
class DeleteROSpec(Message):
    """Delete one ROSpec, or all of them with id 0."""

    LAYOUT: ClassVar[Layout] = (("rospec_id", U32),)
    rospec_id: int


@llrp_message(31, "DELETE_ROSPEC_RESPONSE")
@dataclass(frozen=True, slots=True)
class DeleteROSpecResponse(Message):
    LAYOUT: ClassVar[Layout] = (("status", One(LLRPStatus)),)
    status: LLRPStatus = SUCCESS


@llrp_message(22, "START_ROSPEC")
@dataclass(frozen=True, slots=True)
class StartROSpec(Message):
    LAYOUT: ClassVar[Layout] = (("rospec_id", U32),)
    rospec_id: int


@llrp_message(32, "START_ROSPEC_RESPONSE")
@dataclass(frozen=True, slots=True)
class StartROSpecResponse(Message):
    LAYOUT: ClassVar[Layout] = (("status", One(LLRPStatus)),)
    status: LLRPStatus = SUCCESS


@llrp_message(23, "STOP_ROSPEC")
@dataclass(frozen=True, slots=True)
class StopROSpec(Message):
    LAYOUT: ClassVar[Layout] = (("rospec_id", U32),)
    rospec_id: int


@llrp_message(33, "STOP_ROSPEC_RESPONSE")
@dataclass(frozen=True, slots=True)
class StopROSpecResponse(Message):
    LAYOUT: ClassVar[Layout] = (("status", One(LLRPStatus)),)
    status: LLRPStatus = SUCCESS


@llrp_message(24, "ENABLE_ROSPEC")
@dataclass(frozen=True, slots=True)
class EnableROSpec(Message):
    LAYOUT: ClassVar[Layout] = (("rospec_id", U32),)
    rospec_id: int


@llrp_message(34, "ENABLE_ROSPEC_RESPONSE")
@dataclass(frozen=True, slots=True)
class EnableROSpecResponse(Message):
    LAYOUT: ClassVar[Layout] = (("status", One(LLRPStatus)),)
    status: LLRPStatus = SUCCESS


@llrp_message(25, "DISABLE_ROSPEC")
@dataclass(frozen=True, slots=True)
class DisableROSpec(Message):
    LAYOUT: ClassVar[Layout] = (("rospec_id", U32),)
    rospec_id: int


@llrp_message(35, "DISABLE_ROSPEC_RESPONSE")
@dataclass(frozen=True, slots=True)
class DisableROSpecResponse(Message):
    LAYOUT: ClassVar[Layout] = (("status", One(LLRPStatus)),)
    status: LLRPStatus = SUCCESS


@llrp_message(26, "GET_ROSPECS")
@dataclass(frozen=True, slots=True)
class GetROSpecs(Message):
    LAYOUT: ClassVar[Layout] = ()


@llrp_message(36, "GET_ROSPECS_RESPONSE")
@dataclass(frozen=True, slots=True)
class GetROSpecsResponse(Message):
    LAYOUT: ClassVar[Layout] = (("status", One(LLRPStatus)), ("rospecs", Many(ROSpec)))
    status: LLRPStatus = SUCCESS
    rospecs: tuple[ROSpec, ...] = ()


# --- AccessSpecs --------------------------------------------------------------------------


@llrp_message(40, "ADD_ACCESSSPEC")
@dataclass(frozen=True, slots=True)
class AddAccessSpec(Message):
    LAYOUT: ClassVar[Layout] = (("access_spec", One(AccessSpec)),)
    access_spec: AccessSpec


@llrp_message(50, "ADD_ACCESSSPEC_RESPONSE")
@dataclass(frozen=True, slots=True)
class AddAccessSpecResponse(Message):
    LAYOUT: ClassVar[Layout] = (("status", One(LLRPStatus)),)
    status: LLRPStatus = SUCCESS


@llrp_message(41, "DELETE_ACCESSSPEC")
@dataclass(frozen=True, slots=True)
class DeleteAccessSpec(Message):
    """Delete one AccessSpec, or all of them with id 0."""

    LAYOUT: ClassVar[Layout] = (("access_spec_id", U32),)
    access_spec_id: int


@llrp_message(51, "DELETE_ACCESSSPEC_RESPONSE")
@dataclass(frozen=True, slots=True)
class DeleteAccessSpecResponse(Message):
    LAYOUT: ClassVar[Layout] = (("status", One(LLRPStatus)),)
    status: LLRPStatus = SUCCESS


@llrp_message(42, "ENABLE_ACCESSSPEC")
@dataclass(frozen=True, slots=True)
class EnableAccessSpec(Message):
    LAYOUT: ClassVar[Layout] = (("access_spec_id", U32),)
    access_spec_id: int


@llrp_message(52, "ENABLE_ACCESSSPEC_RESPONSE")
@dataclass(frozen=True, slots=True)
class EnableAccessSpecResponse(Message):
    LAYOUT: ClassVar[Layout] = (("status", One(LLRPStatus)),)
    status: LLRPStatus = SUCCESS


@llrp_message(43, "DISABLE_ACCESSSPEC")
@dataclass(frozen=True, slots=True)
class DisableAccessSpec(Message):
    LAYOUT: ClassVar[Layout] = (("access_spec_id", U32),)
    access_spec_id: int


@llrp_message(53, "DISABLE_ACCESSSPEC_RESPONSE")
@dataclass(frozen=True, slots=True)
class DisableAccessSpecResponse(Message):
    LAYOUT: ClassVar[Layout] = (("status", One(LLRPStatus)),)
    status: LLRPStatus = SUCCESS


@llrp_message(44, "GET_ACCESSSPECS")
@dataclass(frozen=True, slots=True)
class GetAccessSpecs(Message):
    LAYOUT: ClassVar[Layout] = ()


@llrp_message(54, "GET_ACCESSSPECS_RESPONSE")
@dataclass(frozen=True, slots=True)
class GetAccessSpecsResponse(Message):
    LAYOUT: ClassVar[Layout] = (
        ("status", One(LLRPStatus)),
        ("access_specs", Many(AccessSpec)),
    )
    status: LLRPStatus = SUCCESS
    access_specs: tuple[AccessSpec, ...] = ()


# --- reports, events, keepalives, errors --------------------------------------------------


@llrp_message(60, "GET_REPORT")
@dataclass(frozen=True, slots=True)
class GetReport(Message):
    LAYOUT: ClassVar[Layout] = ()


@llrp_message(61, "RO_ACCESS_REPORT")
@dataclass(frozen=True, slots=True)
class ROAccessReport(Message):
    LAYOUT: ClassVar[Layout] = (("tag_reports", Many(TagReportData)),)
    tag_reports: tuple[TagReportData, ...] = ()


@llrp_message(62, "KEEPALIVE")
@dataclass(frozen=True, slots=True)
class Keepalive(Message):
    LAYOUT: ClassVar[Layout] = ()


@llrp_message(72, "KEEPALIVE_ACK")
@dataclass(frozen=True, slots=True)
class KeepaliveAck(Message):
    LAYOUT: ClassVar[Layout] = ()


@llrp_message(63, "READER_EVENT_NOTIFICATION")
@dataclass(frozen=True, slots=True)
class ReaderEventNotification(Message):
    LAYOUT: ClassVar[Layout] = (("data", One(ReaderEventNotificationData)),)
    data: ReaderEventNotificationData


@llrp_message(64, "ENABLE_EVENTS_AND_REPORTS")
@dataclass(frozen=True, slots=True)
class EnableEventsAndReports(Message):
    LAYOUT: ClassVar[Layout] = ()


@llrp_message(100, "ERROR_MESSAGE")
@dataclass(frozen=True, slots=True)
class ErrorMessage(Message):
    """The reader's answer to a message it could not parse or does not support."""

    LAYOUT: ClassVar[Layout] = (("status", One(LLRPStatus)),)
    status: LLRPStatus


@llrp_message(1023, "CUSTOM_MESSAGE")
@dataclass(frozen=True, slots=True)
class CustomMessage(Message):
    """A vendor extension message, kept as raw bytes."""

    LAYOUT: ClassVar[Layout] = (("vendor_id", U32), ("subtype", U8), ("data", Rest()))
    vendor_id: int
    subtype: int
    data: bytes = b""


RESPONSE_TO: dict[type[Message], type[Message]] = {
    GetReaderCapabilities: GetReaderCapabilitiesResponse,
    GetReaderConfig: GetReaderConfigResponse,
    SetReaderConfig: SetReaderConfigResponse,
    CloseConnection: CloseConnectionResponse,
    AddROSpec: AddROSpecResponse,
    DeleteROSpec: DeleteROSpecResponse,
    StartROSpec: StartROSpecResponse,
    StopROSpec: StopROSpecResponse,
    EnableROSpec: EnableROSpecResponse,
    DisableROSpec: DisableROSpecResponse,
    GetROSpecs: GetROSpecsResponse,
    AddAccessSpec: AddAccessSpecResponse,
    DeleteAccessSpec: DeleteAccessSpecResponse,
    EnableAccessSpec: EnableAccessSpecResponse,
    DisableAccessSpec: DisableAccessSpecResponse,
    GetAccessSpecs: GetAccessSpecsResponse,
}
"""The response message class of each request that has one."""
