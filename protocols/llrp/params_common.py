"""Parameters used everywhere: timestamps and the LLRPStatus of every response."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from protocols.llrp.enums import StatusCode
from protocols.llrp.layout import SELF, Layout, Opt, Parameter, tlv_parameter
from protocols.llrp.wire import U16, U64, EnumOf, Utf8


@tlv_parameter(128)
@dataclass(frozen=True, slots=True)
class UTCTimestamp(Parameter):
    """Microseconds since the Unix epoch, UTC."""

    LAYOUT: ClassVar[Layout] = (("microseconds", U64),)
    microseconds: int


@tlv_parameter(129)
@dataclass(frozen=True, slots=True)
class Uptime(Parameter):
    """Microseconds since the reader booted."""

    LAYOUT: ClassVar[Layout] = (("microseconds", U64),)
    microseconds: int


@tlv_parameter(288)
@dataclass(frozen=True, slots=True)
class FieldError(Parameter):
    """Which field of a message or parameter was wrong (0-based field number)."""

    LAYOUT: ClassVar[Layout] = (
        ("field_num", U16),
        ("error_code", EnumOf(U16, StatusCode)),
    )
    field_num: int
    error_code: StatusCode


@tlv_parameter(289)
@dataclass(frozen=True, slots=True)
class ParameterError(Parameter):
    """Which parameter was wrong; may nest to point inside a sub-parameter."""

    LAYOUT: ClassVar[Layout] = (
        ("parameter_type", U16),
        ("error_code", EnumOf(U16, StatusCode)),
        ("field_error", Opt(FieldError)),
        ("parameter_error", Opt(SELF)),
    )
    parameter_type: int
    error_code: StatusCode
    field_error: FieldError | None = None
    parameter_error: ParameterError | None = None


@tlv_parameter(287)
@dataclass(frozen=True, slots=True)
class LLRPStatus(Parameter):
    """Outcome of a request, carried by every response message."""

    LAYOUT: ClassVar[Layout] = (
        ("status_code", EnumOf(U16, StatusCode)),
        ("error_description", Utf8()),
        ("field_error", Opt(FieldError)),
        ("parameter_error", Opt(ParameterError)),
    )
    status_code: StatusCode = StatusCode.M_Success
    error_description: str = ""
    field_error: FieldError | None = None
    parameter_error: ParameterError | None = None

    @property
    def is_success(self) -> bool:
        return self.status_code is StatusCode.M_Success


SUCCESS = LLRPStatus()
"""The LLRPStatus of a request that succeeded."""
