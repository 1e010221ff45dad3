"""TV parameters: a 1-byte type (high bit set) and a fixed-size value, no length.

Most are single values that :class:`~protocols.llrp.layout.TVValue` surfaces as
plain integers on their parent (TagReportData.antenna_id, ...). A decoder must know
every TV type's size to step over it, so all LLRP 1.0.1 TV parameters are here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from protocols.llrp.layout import Layout, Parameter, tv_parameter
from protocols.llrp.wire import S8, U16, U32, U64, FixedBytes


@tv_parameter(1)
@dataclass(frozen=True, slots=True)
class AntennaID(Parameter):
    LAYOUT: ClassVar[Layout] = (("value", U16),)
    value: int


@tv_parameter(2)
@dataclass(frozen=True, slots=True)
class FirstSeenTimestampUTC(Parameter):
    """Microseconds since the Unix epoch."""

    LAYOUT: ClassVar[Layout] = (("value", U64),)
    value: int


@tv_parameter(3)
@dataclass(frozen=True, slots=True)
class FirstSeenTimestampUptime(Parameter):
    LAYOUT: ClassVar[Layout] = (("value", U64),)
    value: int


@tv_parameter(4)
@dataclass(frozen=True, slots=True)
class LastSeenTimestampUTC(Parameter):
    LAYOUT: ClassVar[Layout] = (("value", U64),)
    value: int


@tv_parameter(5)
@dataclass(frozen=True, slots=True)
class LastSeenTimestampUptime(Parameter):
    LAYOUT: ClassVar[Layout] = (("value", U64),)
    value: int


@tv_parameter(6)
@dataclass(frozen=True, slots=True)
class PeakRSSI(Parameter):
    """dBm, signed."""

    LAYOUT: ClassVar[Layout] = (("value", S8),)
    value: int


@tv_parameter(7)
@dataclass(frozen=True, slots=True)
class ChannelIndex(Parameter):
    LAYOUT: ClassVar[Layout] = (("value", U16),)
    value: int


@tv_parameter(8)
@dataclass(frozen=True, slots=True)
class TagSeenCount(Parameter):
    LAYOUT: ClassVar[Layout] = (("value", U16),)
    value: int


@tv_parameter(9)
@dataclass(frozen=True, slots=True)
class ROSpecID(Parameter):
    LAYOUT: ClassVar[Layout] = (("value", U32),)
    value: int


@tv_parameter(10)
@dataclass(frozen=True, slots=True)
class InventoryParameterSpecID(Parameter):
    LAYOUT: ClassVar[Layout] = (("value", U16),)
    value: int


@tv_parameter(11)
@dataclass(frozen=True, slots=True)
class C1G2CRC(Parameter):
    LAYOUT: ClassVar[Layout] = (("value", U16),)
    value: int


@tv_parameter(12)
@dataclass(frozen=True, slots=True)
class C1G2PC(Parameter):
    LAYOUT: ClassVar[Layout] = (("value", U16),)
    value: int


@tv_parameter(13)
@dataclass(frozen=True, slots=True)
class EPC96(Parameter):
    """A 96-bit EPC in its compact TV form."""

    LAYOUT: ClassVar[Layout] = (("epc", FixedBytes(12)),)
    epc: bytes


@tv_parameter(14)
@dataclass(frozen=True, slots=True)
class SpecIndex(Parameter):
    LAYOUT: ClassVar[Layout] = (("value", U16),)
    value: int


@tv_parameter(15)
@dataclass(frozen=True, slots=True)
class ClientRequestOpSpecResult(Parameter):
    LAYOUT: ClassVar[Layout] = (("value", U16),)
    value: int


@tv_parameter(16)
@dataclass(frozen=True, slots=True)
class AccessSpecID(Parameter):
    LAYOUT: ClassVar[Layout] = (("value", U32),)
    value: int


@tv_parameter(17)
@dataclass(frozen=True, slots=True)
class OpSpecID(Parameter):
    LAYOUT: ClassVar[Layout] = (("value", U16),)
    value: int


@tv_parameter(18)
@dataclass(frozen=True, slots=True)
class C1G2SingulationDetails(Parameter):
    LAYOUT: ClassVar[Layout] = (
        ("num_collision_slots", U16),
        ("num_empty_slots", U16),
    )
    num_collision_slots: int
    num_empty_slots: int
