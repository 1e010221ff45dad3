"""Access specs: operations (read, write, kill, lock) on tags that match (section 11)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from protocols.llrp.enums import AccessSpecState, AccessSpecStopTriggerType, AirProtocol
from protocols.llrp.layout import Layout, One, Opt, Parameter, Some, tlv_parameter
from protocols.llrp.params_c1g2 import C1G2_OP_SPECS, C1G2OpSpec, C1G2TagSpec
from protocols.llrp.params_config import AccessReportSpec
from protocols.llrp.wire import U8, U16, U32, Bits, EnumOf, Reserved


@tlv_parameter(208)
@dataclass(frozen=True, slots=True)
class AccessSpecStopTrigger(Parameter):
    LAYOUT: ClassVar[Layout] = (
        ("trigger_type", EnumOf(U8, AccessSpecStopTriggerType)),
        ("operation_count", U16),
    )
    trigger_type: AccessSpecStopTriggerType
    operation_count: int = 0


@tlv_parameter(209)
@dataclass(frozen=True, slots=True)
class AccessCommand(Parameter):
    LAYOUT: ClassVar[Layout] = (
        ("tag_spec", One(C1G2TagSpec)),
        ("op_specs", Some(*C1G2_OP_SPECS)),
    )
    tag_spec: C1G2TagSpec
    op_specs: tuple[C1G2OpSpec, ...]


@tlv_parameter(207)
@dataclass(frozen=True, slots=True)
class AccessSpec(Parameter):
    LAYOUT: ClassVar[Layout] = (
        ("access_spec_id", U32),
        ("antenna_id", U16),
        ("protocol_id", EnumOf(U8, AirProtocol)),
        ("current_state", EnumOf(Bits(1), AccessSpecState)),
        ("", Reserved(7)),
        ("rospec_id", U32),
        ("stop_trigger", One(AccessSpecStopTrigger)),
        ("access_command", One(AccessCommand)),
        ("report_spec", Opt(AccessReportSpec)),
    )
    access_spec_id: int
    antenna_id: int
    protocol_id: AirProtocol
    current_state: AccessSpecState
    rospec_id: int
    stop_trigger: AccessSpecStopTrigger
    access_command: AccessCommand
    report_spec: AccessReportSpec | None = None
