"""Reader events (READER_EVENT_NOTIFICATION, section 13.2.6)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from protocols.llrp import params_tv as tv
from protocols.llrp.enums import (
    AISpecEventType,
    AntennaEventType,
    ConnectionAttemptStatus,
    RFSurveyEventType,
    ROSpecEventType,
)
from protocols.llrp.layout import Layout, One, Opt, Parameter, TVValue, tlv_parameter
from protocols.llrp.params_common import Uptime, UTCTimestamp
from protocols.llrp.wire import FLAG, U8, U16, U32, EnumOf, Reserved, Utf8


@tlv_parameter(247)
@dataclass(frozen=True, slots=True)
class HoppingEvent(Parameter):
    LAYOUT: ClassVar[Layout] = (("hop_table_id", U16), ("next_channel_index", U16))
    hop_table_id: int
    next_channel_index: int


@tlv_parameter(248)
@dataclass(frozen=True, slots=True)
class GPIEvent(Parameter):
    LAYOUT: ClassVar[Layout] = (
        ("gpi_port_number", U16),
        ("gpi_event", FLAG),
        ("", Reserved(7)),
    )
    gpi_port_number: int
    gpi_event: bool


@tlv_parameter(249)
@dataclass(frozen=True, slots=True)
class ROSpecEvent(Parameter):
    LAYOUT: ClassVar[Layout] = (
        ("event_type", EnumOf(U8, ROSpecEventType)),
        ("rospec_id", U32),
        ("preempting_rospec_id", U32),
    )
    event_type: ROSpecEventType
    rospec_id: int
    preempting_rospec_id: int = 0


@tlv_parameter(250)
@dataclass(frozen=True, slots=True)
class ReportBufferLevelWarningEvent(Parameter):
    LAYOUT: ClassVar[Layout] = (("report_buffer_percentage_full", U8),)
    report_buffer_percentage_full: int


@tlv_parameter(251)
@dataclass(frozen=True, slots=True)
class ReportBufferOverflowErrorEvent(Parameter):
    LAYOUT: ClassVar[Layout] = ()


@tlv_parameter(252)
@dataclass(frozen=True, slots=True)
class ReaderExceptionEvent(Parameter):
    LAYOUT: ClassVar[Layout] = (
        ("message", Utf8()),
        ("rospec_id", TVValue(tv.ROSpecID)),
        ("spec_index", TVValue(tv.SpecIndex)),
        ("inventory_parameter_spec_id", TVValue(tv.InventoryParameterSpecID)),
        ("antenna_id", TVValue(tv.AntennaID)),
        ("access_spec_id", TVValue(tv.AccessSpecID)),
        ("op_spec_id", TVValue(tv.OpSpecID)),
    )
    message: str
    rospec_id: int | None = None
    spec_index: int | None = None
    inventory_parameter_spec_id: int | None = None
    antenna_id: int | None = None
    access_spec_id: int | None = None
    op_spec_id: int | None = None


@tlv_parameter(253)
@dataclass(frozen=True, slots=True)
class RFSurveyEvent(Parameter):
    LAYOUT: ClassVar[Layout] = (
        ("event_type", EnumOf(U8, RFSurveyEventType)),
        ("rospec_id", U32),
        ("spec_index", U16),
    )
    event_type: RFSurveyEventType
    rospec_id: int
    spec_index: int


@tlv_parameter(254)
@dataclass(frozen=True, slots=True)
class AISpecEvent(Parameter):
    LAYOUT: ClassVar[Layout] = (
        ("event_type", EnumOf(U8, AISpecEventType)),
        ("rospec_id", U32),
        ("spec_index", U16),
        ("singulation_details", Opt(tv.C1G2SingulationDetails)),
    )
    event_type: AISpecEventType
    rospec_id: int
    spec_index: int
    singulation_details: tv.C1G2SingulationDetails | None = None


@tlv_parameter(255)
@dataclass(frozen=True, slots=True)
class AntennaEvent(Parameter):
    LAYOUT: ClassVar[Layout] = (
        ("event_type", EnumOf(U8, AntennaEventType)),
        ("antenna_id", U16),
    )
    event_type: AntennaEventType
    antenna_id: int


@tlv_parameter(256)
@dataclass(frozen=True, slots=True)
class ConnectionAttemptEvent(Parameter):
    LAYOUT: ClassVar[Layout] = (("status", EnumOf(U16, ConnectionAttemptStatus)),)
    status: ConnectionAttemptStatus


@tlv_parameter(257)
@dataclass(frozen=True, slots=True)
class ConnectionCloseEvent(Parameter):
    LAYOUT: ClassVar[Layout] = ()


@tlv_parameter(246)
@dataclass(frozen=True, slots=True)
class ReaderEventNotificationData(Parameter):
    """A timestamp and the events that happened at that time."""

    LAYOUT: ClassVar[Layout] = (
        ("timestamp", One(UTCTimestamp, Uptime)),
        ("hopping", Opt(HoppingEvent)),
        ("gpi", Opt(GPIEvent)),
        ("rospec", Opt(ROSpecEvent)),
        ("buffer_level_warning", Opt(ReportBufferLevelWarningEvent)),
        ("buffer_overflow", Opt(ReportBufferOverflowErrorEvent)),
        ("reader_exception", Opt(ReaderExceptionEvent)),
        ("rf_survey", Opt(RFSurveyEvent)),
        ("aispec", Opt(AISpecEvent)),
        ("antenna", Opt(AntennaEvent)),
        ("connection_attempt", Opt(ConnectionAttemptEvent)),
        ("connection_close", Opt(ConnectionCloseEvent)),
    )
    timestamp: UTCTimestamp | Uptime
    hopping: HoppingEvent | None = None
    gpi: GPIEvent | None = None
    rospec: ROSpecEvent | None = None
    buffer_level_warning: ReportBufferLevelWarningEvent | None = None
    buffer_overflow: ReportBufferOverflowErrorEvent | None = None
    reader_exception: ReaderExceptionEvent | None = None
    rf_survey: RFSurveyEvent | None = None
    aispec: AISpecEvent | None = None
    antenna: AntennaEvent | None = None
    connection_attempt: ConnectionAttemptEvent | None = None
    connection_close: ConnectionCloseEvent | None = None
