"""EPCglobal Class-1 Gen-2 air protocol parameters (LLRP 1.0.1 section 15)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from protocols.llrp.layout import Layout, Many, One, Opt, Parameter, Some, tlv_parameter
from protocols.llrp.wire import FLAG, U8, U16, U32, Array, BitArray, Bits, BitString, Reserved


@tlv_parameter(327)
@dataclass(frozen=True, slots=True)
class C1G2LLRPCapabilities(Parameter):
    LAYOUT: ClassVar[Layout] = (
        ("can_support_block_erase", FLAG),
        ("can_support_block_write", FLAG),
        ("can_support_block_permalock", FLAG),
        ("can_support_tag_recommissioning", FLAG),
        ("can_support_umi_method2", FLAG),
        ("can_support_xpc", FLAG),
        ("", Reserved(2)),
        ("max_num_select_filters_per_query", U16),
    )
    can_support_block_erase: bool = False
    can_support_block_write: bool = False
    can_support_block_permalock: bool = False
    can_support_tag_recommissioning: bool = False
    can_support_umi_method2: bool = False
    can_support_xpc: bool = False
    max_num_select_filters_per_query: int = 0


@tlv_parameter(329)
@dataclass(frozen=True, slots=True)
class UHFC1G2RFModeTableEntry(Parameter):
    """One air-interface mode the reader offers (mode identifier, link rates, Tari)."""

    LAYOUT: ClassVar[Layout] = (
        ("mode_identifier", U32),
        ("dr", Bits(1)),
        ("epc_hag_tc_conformance", FLAG),
        ("", Reserved(6)),
        ("m", U8),
        ("forward_link_modulation", U8),
        ("spectral_mask_indicator", U8),
        ("bdr", U32),
        ("pie", U32),
        ("min_tari", U32),
        ("max_tari", U32),
        ("step_tari", U32),
    )
    mode_identifier: int
    dr: int
    """Divide ratio: 0 = 8, 1 = 64/3."""
    epc_hag_tc_conformance: bool
    m: int
    """Modulation: 0 FM0, 1 Miller-2, 2 Miller-4, 3 Miller-8."""
    forward_link_modulation: int
    spectral_mask_indicator: int
    bdr: int
    pie: int
    min_tari: int
    max_tari: int
    step_tari: int


@tlv_parameter(328)
@dataclass(frozen=True, slots=True)
class UHFC1G2RFModeTable(Parameter):
    LAYOUT: ClassVar[Layout] = (("entries", Some(UHFC1G2RFModeTableEntry)),)
    entries: tuple[UHFC1G2RFModeTableEntry, ...]


@tlv_parameter(332)
@dataclass(frozen=True, slots=True)
class C1G2TagInventoryMask(Parameter):
    LAYOUT: ClassVar[Layout] = (
        ("mb", Bits(2)),
        ("", Reserved(6)),
        ("pointer", U16),
        ("tag_mask", BitArray()),
    )
    mb: int
    pointer: int
    tag_mask: BitString


@tlv_parameter(333)
@dataclass(frozen=True, slots=True)
class C1G2TagInventoryStateAwareFilterAction(Parameter):
    LAYOUT: ClassVar[Layout] = (("target", U8), ("action", U8))
    target: int
    action: int


@tlv_parameter(334)
@dataclass(frozen=True, slots=True)
class C1G2TagInventoryStateUnawareFilterAction(Parameter):
    LAYOUT: ClassVar[Layout] = (("action", U8),)
    action: int


@tlv_parameter(331)
@dataclass(frozen=True, slots=True)
class C1G2Filter(Parameter):
    LAYOUT: ClassVar[Layout] = (
        ("truncate", Bits(2)),
        ("", Reserved(6)),
        ("mask", One(C1G2TagInventoryMask)),
        ("state_aware_action", Opt(C1G2TagInventoryStateAwareFilterAction)),
        ("state_unaware_action", Opt(C1G2TagInventoryStateUnawareFilterAction)),
    )
    truncate: int
    mask: C1G2TagInventoryMask
    state_aware_action: C1G2TagInventoryStateAwareFilterAction | None = None
    state_unaware_action: C1G2TagInventoryStateUnawareFilterAction | None = None


@tlv_parameter(335)
@dataclass(frozen=True, slots=True)
class C1G2RFControl(Parameter):
    LAYOUT: ClassVar[Layout] = (("mode_index", U16), ("tari", U16))
    mode_index: int
    tari: int


@tlv_parameter(337)
@dataclass(frozen=True, slots=True)
class C1G2TagInventoryStateAwareSingulationAction(Parameter):
    LAYOUT: ClassVar[Layout] = (
        ("i", Bits(1)),
        ("s", Bits(1)),
        ("", Reserved(6)),
    )
    i: int
    s: int


@tlv_parameter(336)
@dataclass(frozen=True, slots=True)
class C1G2SingulationControl(Parameter):
    LAYOUT: ClassVar[Layout] = (
        ("session", Bits(2)),
        ("", Reserved(6)),
        ("tag_population", U16),
        ("tag_transit_time", U32),
        ("state_aware_action", Opt(C1G2TagInventoryStateAwareSingulationAction)),
    )
    session: int
    tag_population: int
    tag_transit_time: int
    state_aware_action: C1G2TagInventoryStateAwareSingulationAction | None = None


@tlv_parameter(330)
@dataclass(frozen=True, slots=True)
class C1G2InventoryCommand(Parameter):
    """How an antenna inventories Gen2 tags: filters, RF mode, session."""

    LAYOUT: ClassVar[Layout] = (
        ("tag_inventory_state_aware", FLAG),
        ("", Reserved(7)),
        ("filters", Many(C1G2Filter)),
        ("rf_control", Opt(C1G2RFControl)),
        ("singulation_control", Opt(C1G2SingulationControl)),
    )
    tag_inventory_state_aware: bool = False
    filters: tuple[C1G2Filter, ...] = ()
    rf_control: C1G2RFControl | None = None
    singulation_control: C1G2SingulationControl | None = None


@tlv_parameter(348)
@dataclass(frozen=True, slots=True)
class C1G2EPCMemorySelector(Parameter):
    LAYOUT: ClassVar[Layout] = (
        ("enable_crc", FLAG),
        ("enable_pc_bits", FLAG),
        ("", Reserved(6)),
    )
    enable_crc: bool = False
    enable_pc_bits: bool = False


# --- access: which tag, which operation ---------------------------------------------------


@tlv_parameter(339)
@dataclass(frozen=True, slots=True)
class C1G2TargetTag(Parameter):
    LAYOUT: ClassVar[Layout] = (
        ("mb", Bits(2)),
        ("match", FLAG),
        ("", Reserved(5)),
        ("pointer", U16),
        ("tag_mask", BitArray()),
        ("tag_data", BitArray()),
    )
    mb: int
    match: bool
    pointer: int
    tag_mask: BitString
    tag_data: BitString


@tlv_parameter(338)
@dataclass(frozen=True, slots=True)
class C1G2TagSpec(Parameter):
    LAYOUT: ClassVar[Layout] = (("targets", Some(C1G2TargetTag)),)
    targets: tuple[C1G2TargetTag, ...]


@tlv_parameter(341)
@dataclass(frozen=True, slots=True)
class C1G2Read(Parameter):
    LAYOUT: ClassVar[Layout] = (
        ("op_spec_id", U16),
        ("access_password", U32),
        ("mb", Bits(2)),
        ("", Reserved(6)),
        ("word_pointer", U16),
        ("word_count", U16),
    )
    op_spec_id: int
    access_password: int
    mb: int
    word_pointer: int
    word_count: int


@tlv_parameter(342)
@dataclass(frozen=True, slots=True)
class C1G2Write(Parameter):
    LAYOUT: ClassVar[Layout] = (
        ("op_spec_id", U16),
        ("access_password", U32),
        ("mb", Bits(2)),
        ("", Reserved(6)),
        ("word_pointer", U16),
        ("write_data", Array(U16)),
    )
    op_spec_id: int
    access_password: int
    mb: int
    word_pointer: int
    write_data: tuple[int, ...]


@tlv_parameter(343)
@dataclass(frozen=True, slots=True)
class C1G2Kill(Parameter):
    LAYOUT: ClassVar[Layout] = (("op_spec_id", U16), ("kill_password", U32))
    op_spec_id: int
    kill_password: int


@tlv_parameter(345)
@dataclass(frozen=True, slots=True)
class C1G2LockPayload(Parameter):
    LAYOUT: ClassVar[Layout] = (("privilege", U8), ("data_field", U8))
    privilege: int
    data_field: int


@tlv_parameter(344)
@dataclass(frozen=True, slots=True)
class C1G2Lock(Parameter):
    LAYOUT: ClassVar[Layout] = (
        ("op_spec_id", U16),
        ("access_password", U32),
        ("payloads", Some(C1G2LockPayload)),
    )
    op_spec_id: int
    access_password: int
    payloads: tuple[C1G2LockPayload, ...]


@tlv_parameter(346)
@dataclass(frozen=True, slots=True)
class C1G2BlockErase(Parameter):
    LAYOUT: ClassVar[Layout] = (
        ("op_spec_id", U16),
        ("access_password", U32),
        ("mb", Bits(2)),
        ("", Reserved(6)),
        ("word_pointer", U16),
        ("word_count", U16),
    )
    op_spec_id: int
    access_password: int
    mb: int
    word_pointer: int
    word_count: int


@tlv_parameter(347)
@dataclass(frozen=True, slots=True)
class C1G2BlockWrite(Parameter):
    LAYOUT: ClassVar[Layout] = (
        ("op_spec_id", U16),
        ("access_password", U32),
        ("mb", Bits(2)),
        ("", Reserved(6)),
        ("word_pointer", U16),
        ("write_data", Array(U16)),
    )
    op_spec_id: int
    access_password: int
    mb: int
    word_pointer: int
    write_data: tuple[int, ...]


C1G2OpSpec = C1G2Read | C1G2Write | C1G2Kill | C1G2Lock | C1G2BlockErase | C1G2BlockWrite
C1G2_OP_SPECS = (C1G2Read, C1G2Write, C1G2Kill, C1G2Lock, C1G2BlockErase, C1G2BlockWrite)


# --- access results, carried in TagReportData ---------------------------------------------


@tlv_parameter(349)
@dataclass(frozen=True, slots=True)
class C1G2ReadOpSpecResult(Parameter):
    LAYOUT: ClassVar[Layout] = (
        ("result", U8),
        ("op_spec_id", U16),
        ("read_data", Array(U16)),
    )
    result: int
    op_spec_id: int
    read_data: tuple[int, ...]


@tlv_parameter(350)
@dataclass(frozen=True, slots=True)
class C1G2WriteOpSpecResult(Parameter):
    LAYOUT: ClassVar[Layout] = (
        ("result", U8),
        ("op_spec_id", U16),
        ("num_words_written", U16),
    )
    result: int
    op_spec_id: int
    num_words_written: int


@tlv_parameter(351)
@dataclass(frozen=True, slots=True)
class C1G2KillOpSpecResult(Parameter):
    LAYOUT: ClassVar[Layout] = (("result", U8), ("op_spec_id", U16))
    result: int
    op_spec_id: int


@tlv_parameter(352)
@dataclass(frozen=True, slots=True)
class C1G2LockOpSpecResult(Parameter):
    LAYOUT: ClassVar[Layout] = (("result", U8), ("op_spec_id", U16))
    result: int
    op_spec_id: int


@tlv_parameter(353)
@dataclass(frozen=True, slots=True)
class C1G2BlockEraseOpSpecResult(Parameter):
    LAYOUT: ClassVar[Layout] = (("result", U8), ("op_spec_id", U16))
    result: int
    op_spec_id: int


@tlv_parameter(354)
@dataclass(frozen=True, slots=True)
class C1G2BlockWriteOpSpecResult(Parameter):
    LAYOUT: ClassVar[Layout] = (
        ("result", U8),
        ("op_spec_id", U16),
        ("num_words_written", U16),
    )
    result: int
    op_spec_id: int
    num_words_written: int


C1G2OpSpecResult = (
    C1G2ReadOpSpecResult
    | C1G2WriteOpSpecResult
    | C1G2KillOpSpecResult
    | C1G2LockOpSpecResult
    | C1G2BlockEraseOpSpecResult
    | C1G2BlockWriteOpSpecResult
)
C1G2_OP_SPEC_RESULTS = (
    C1G2ReadOpSpecResult,
    C1G2WriteOpSpecResult,
    C1G2KillOpSpecResult,
    C1G2LockOpSpecResult,
    C1G2BlockEraseOpSpecResult,
    C1G2BlockWriteOpSpecResult,
)
