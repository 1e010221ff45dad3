"""The layout engine: parameter and message classes declare their fields, this encodes them.

Every LLRP parameter and message is a frozen dataclass whose ``LAYOUT`` lists its
fields in wire order as ``(name, kind)`` pairs. Fixed fields come first (integers,
bit runs, counted arrays, strings), sub-parameters last (:func:`One`, :func:`Opt`,
:func:`Many`, :func:`Some`, :class:`TVValue`). The class decorators
:func:`tlv_parameter`, :func:`tv_parameter` and :func:`llrp_message` check the
layout against the dataclass fields once, at import, and register the type number.

Decoding accepts sub-parameters in any order inside their parent, skips vendor
custom parameters (type 1023) wherever they appear, and reports every problem as
an :class:`~protocols.llrp.errors.LLRPDecodeError` naming the byte offset.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar, cast

from protocols.llrp.errors import LLRPDecodeError, LLRPEncodeError
from protocols.llrp.header import (
    HEADER_LENGTH,
    MessageHeader,
    decode_header,
    encode_header,
)
from protocols.llrp.wire import Kind, Reader, Writer

CUSTOM_PARAMETER_TYPE = 1023
"""TLV type of vendor extension parameters (skipped when decoding)."""

Layout = tuple[tuple[str, Kind], ...]


class _Self:
    """Placeholder for a parameter that may contain itself (ParameterError)."""


SELF: type = _Self


@dataclasses.dataclass(slots=True)
class _Spec:
    name: str
    fixed: Layout
    params: tuple[tuple[str, _SubKind], ...]
    by_type: dict[int, tuple[str, _SubKind]]
    tv_size: int
    encoders: tuple[tuple[str, Kind | _SubKind, str], ...] = ()
    """Every field in wire order: (attribute, or "" for padding; its kind; where it is,
    ``Name.field``, for an error's message), made once rather than per encoded field."""

    def __post_init__(self) -> None:
        self.encoders = tuple(
            (field_name, kind, f"{self.name}.{field_name}")
            for field_name, kind in (*self.fixed, *self.params)
        )


class Parameter:
    """Base of every LLRP parameter class (TLV or TV)."""

    __slots__ = ()
    TYPE: ClassVar[int]
    LAYOUT: ClassVar[Layout]
    IS_TV: ClassVar[bool] = False
    _llrp_spec: ClassVar[_Spec]


@dataclasses.dataclass(frozen=True, slots=True)
class Message:
    """Base of every LLRP message class. ``message_id`` travels in the header."""

    TYPE: ClassVar[int]
    NAME: ClassVar[str]
    LAYOUT: ClassVar[Layout]
    _llrp_spec: ClassVar[_Spec]

    message_id: int = dataclasses.field(default=0, kw_only=True)


TLV_PARAMETERS: dict[int, type[Parameter]] = {}
TV_PARAMETERS: dict[int, type[Parameter]] = {}
MESSAGES: dict[int, type[Message]] = {}


class _SubKind(Kind):
    """A slot for sub-parameters: which types it takes and how many."""

    minimum: int
    maximum: int | None
    types: tuple[type[Parameter], ...]

    def finish(self, found: list[Any], owner: str, origin: int) -> Any:
        raise NotImplementedError


class ParamSlot(_SubKind):
    def __init__(self, types: tuple[type, ...], minimum: int, maximum: int | None) -> None:
        self.types = cast(tuple[type[Parameter], ...], types)
        self.minimum = minimum
        self.maximum = maximum

    def _names(self) -> str:
        return " or ".join(t.__name__ for t in self.types)

    def encode(self, value: Any, w: Writer, where: str) -> None:
        if self.maximum == 1:
            if value is None:
                if self.minimum:
                    raise LLRPEncodeError(where, f"a {self._names()} is required")
                return
            items: tuple[Any, ...] = (value,)
        else:
            if not isinstance(value, tuple | list):
                raise LLRPEncodeError(where, f"expected a tuple of {self._names()}, got {value!r}")
            if len(value) < self.minimum:
                raise LLRPEncodeError(where, f"at least {self.minimum} {self._names()} required")
            items = tuple(value)
        for item in items:
            if not isinstance(item, self.types):
                raise LLRPEncodeError(where, f"expected {self._names()}, got {item!r}")
            write_parameter(item, w)

    def finish(self, found: list[Any], owner: str, origin: int) -> Any:
        if len(found) < self.minimum:
            raise LLRPDecodeError(origin, f"{owner} lacks its required {self._names()}")
        if self.maximum == 1:
            return found[0] if found else None
        return tuple(found)


def One(*types: type) -> ParamSlot:
    """Exactly one sub-parameter of one of ``types``."""
    return ParamSlot(types, 1, 1)


def Opt(*types: type) -> ParamSlot:
    """At most one sub-parameter of one of ``types`` (field value or None)."""
    return ParamSlot(types, 0, 1)


def Many(*types: type) -> ParamSlot:
    """Any number of sub-parameters (a tuple)."""
    return ParamSlot(types, 0, None)


def Some(*types: type) -> ParamSlot:
    """One or more sub-parameters (a tuple)."""
    return ParamSlot(types, 1, None)


class TVValue(_SubKind):
    """An optional TV parameter with a single field, surfaced as that plain value."""

    def __init__(self, tv_class: type[Parameter]) -> None:
        if not tv_class.IS_TV or len(tv_class.LAYOUT) != 1:
            raise TypeError(f"{tv_class.__name__} is not a single-field TV parameter")
        self.types = (tv_class,)
        self.minimum = 0
        self.maximum = 1
        self.value_kind = tv_class.LAYOUT[0][1]

    def encode(self, value: Any, w: Writer, where: str) -> None:
        if value is None:
            return
        w.out.append(0x80 | self.types[0].TYPE)
        self.value_kind.encode(value, w, where)

    def finish(self, found: list[Any], owner: str, origin: int) -> Any:
        return getattr(found[0], "value") if found else None  # noqa: B009


# --- registration -------------------------------------------------------------------------


def _build_spec(cls: type, name: str, skip: tuple[str, ...] = ()) -> _Spec:
    layout: Layout = cls.LAYOUT  # type: ignore[attr-defined]
    field_names = [f.name for f in dataclasses.fields(cls) if f.name not in skip]
    layout_names = [n for n, _ in layout if n]
    if field_names != layout_names:
        raise TypeError(f"{name}: LAYOUT names {layout_names} differ from fields {field_names}")
    fixed: list[tuple[str, Kind]] = []
    params: list[tuple[str, _SubKind]] = []
    by_type: dict[int, tuple[str, _SubKind]] = {}
    pending_bits = 0
    tv_size = 0
    for field_name, kind in layout:
        if isinstance(kind, _SubKind):
            if isinstance(kind, ParamSlot) and SELF in kind.types:
                kind.types = tuple(
                    cast(type[Parameter], cls) if t is SELF else t for t in kind.types
                )
            params.append((field_name, kind))
            for sub in kind.types:
                if sub.TYPE in by_type:
                    raise TypeError(f"{name}: two slots take {sub.__name__}")
                by_type[sub.TYPE] = (field_name, kind)
            continue
        if params:
            raise TypeError(f"{name}: field {field_name} follows sub-parameters")
        if kind.bit_width:
            pending_bits += kind.bit_width
        elif pending_bits % 8:
            raise TypeError(f"{name}: bit fields before {field_name} do not fill whole bytes")
        fixed.append((field_name, kind))
        tv_size += kind.fixed_size if kind.fixed_size is not None else 0
    if pending_bits % 8:
        raise TypeError(f"{name}: bit fields do not fill whole bytes")
    return _Spec(name, tuple(fixed), tuple(params), by_type, tv_size + pending_bits // 8)


_P = TypeVar("_P", bound=Parameter)
_M = TypeVar("_M", bound=Message)


def tlv_parameter(type_num: int) -> Callable[[type[_P]], type[_P]]:
    """Register a TLV parameter class under LLRP parameter type ``type_num``."""

    def register(cls: type[_P]) -> type[_P]:
        if not 128 <= type_num < CUSTOM_PARAMETER_TYPE or type_num in TLV_PARAMETERS:
            raise TypeError(f"{cls.__name__}: bad or duplicate TLV type {type_num}")
        cls.TYPE = type_num
        cls._llrp_spec = _build_spec(cls, cls.__name__)
        TLV_PARAMETERS[type_num] = cls
        return cls

    return register


def tv_parameter(type_num: int) -> Callable[[type[_P]], type[_P]]:
    """Register a TV parameter class (fixed size, 1-byte type) under ``type_num``."""

    def register(cls: type[_P]) -> type[_P]:
        if not 1 <= type_num < 128 or type_num in TV_PARAMETERS:
            raise TypeError(f"{cls.__name__}: bad or duplicate TV type {type_num}")
        cls.TYPE = type_num
        cls.IS_TV = True
        spec = _build_spec(cls, cls.__name__)
        if spec.params or any(k.fixed_size is None and not k.bit_width for _, k in spec.fixed):
            raise TypeError(f"{cls.__name__}: a TV parameter must have a fixed size")
        cls._llrp_spec = spec
        TV_PARAMETERS[type_num] = cls
        return cls

    return register


def llrp_message(type_num: int, name: str) -> Callable[[type[_M]], type[_M]]:
    """Register a message class under LLRP message type ``type_num`` named ``name``."""

    def register(cls: type[_M]) -> type[_M]:
        if not 0 < type_num < 1024 or type_num in MESSAGES:
            raise TypeError(f"{cls.__name__}: bad or duplicate message type {type_num}")
        cls.TYPE = type_num
        cls.NAME = name
        cls._llrp_spec = _build_spec(cls, name, skip=("message_id",))
        MESSAGES[type_num] = cls
        return cls

    return register


# --- encoding -----------------------------------------------------------------------------


def _encode_fields(obj: object, spec: _Spec, w: Writer) -> None:
    for field_name, kind, where in spec.encoders:
        kind.encode(getattr(obj, field_name) if field_name else None, w, where)


def write_parameter(param: Parameter, w: Writer) -> None:
    """Append ``param`` (header included) to ``w``."""
    cls = type(param)
    spec = cls._llrp_spec
    if cls.IS_TV:
        w.out.append(0x80 | cls.TYPE)
        _encode_fields(param, spec, w)
        return
    start = len(w.out)
    w.out += b"\x00\x00\x00\x00"
    _encode_fields(param, spec, w)
    length = len(w.out) - start
    if length > 0xFFFF:
        raise LLRPEncodeError(spec.name, f"encoded length {length} exceeds 65535 bytes")
    struct.pack_into(">HH", w.out, start, cls.TYPE, length)


def encode_parameter(param: Parameter) -> bytes:
    """The wire bytes of one parameter, header included."""
    w = Writer()
    write_parameter(param, w)
    return bytes(w.out)


def encode_message(message: Message) -> bytes:
    """The wire bytes of one message, 10-byte header included."""
    cls = type(message)
    w = Writer()
    w.out += bytes(HEADER_LENGTH)
    _encode_fields(message, cls._llrp_spec, w)
    header = MessageHeader(cls.TYPE, len(w.out), message.message_id)
    w.out[:HEADER_LENGTH] = encode_header(header)
    return bytes(w.out)


# --- decoding -----------------------------------------------------------------------------


def _decode_fields(cls: type, r: Reader, origin: int, extra: dict[str, Any]) -> Any:
    spec: _Spec = cls._llrp_spec  # type: ignore[attr-defined]
    values = extra
    for field_name, kind in spec.fixed:
        value = kind.decode(r, f"{spec.name}.{field_name}")
        if field_name:
            values[field_name] = value
    if spec.params:
        found: dict[str, list[Any]] = {field_name: [] for field_name, _ in spec.params}
        while r.pos < r.end:
            start = r.pos
            sub = read_parameter(r)
            if sub is None:
                continue
            slot = spec.by_type.get(type(sub).TYPE)
            if slot is None:
                raise LLRPDecodeError(
                    start, f"parameter {type(sub).__name__} is not allowed inside {spec.name}"
                )
            field_name, sub_kind = slot
            if sub_kind.maximum == 1 and found[field_name]:
                raise LLRPDecodeError(
                    start, f"duplicate {type(sub).__name__} parameter inside {spec.name}"
                )
            found[field_name].append(sub)
        for field_name, sub_kind in spec.params:
            values[field_name] = sub_kind.finish(found[field_name], spec.name, origin)
    elif r.pos < r.end:
        raise LLRPDecodeError(
            r.pos, f"{r.end - r.pos} unexpected bytes after the last field of {spec.name}"
        )
    return cast(Any, cls)(**values)


def read_parameter(r: Reader) -> Parameter | None:
    """Decode the parameter at ``r.pos`` and move past it; None for a skipped custom one."""
    start = r.pos
    first = r.take(1, "parameter header")[0]
    if first & 0x80:
        type_num = first & 0x7F
        tv_cls = TV_PARAMETERS.get(type_num)
        if tv_cls is None:
            raise LLRPDecodeError(
                start, f"unknown TV parameter type {type_num} (its length is unknown)"
            )
        size = tv_cls._llrp_spec.tv_size
        if r.end - r.pos < size:
            raise LLRPDecodeError(
                start,
                f"truncated parameter {tv_cls.__name__}: needs {size} value bytes, "
                f"{r.end - r.pos} remain",
            )
        body = Reader(r.data, r.pos, r.pos + size)
        r.pos += size
        return cast(Parameter, _decode_fields(tv_cls, body, start, {}))
    r.pos = start
    header = r.take(4, "TLV parameter header")
    type_num = ((header[0] << 8) | header[1]) & 0x3FF
    length = (header[2] << 8) | header[3]
    if length < 4:
        raise LLRPDecodeError(
            start, f"parameter type {type_num} declares length {length}, less than its header"
        )
    if start + length > r.end:
        raise LLRPDecodeError(
            start,
            f"truncated parameter type {type_num}: declares {length} bytes, {r.end - start} remain",
        )
    r.pos = start + length
    if type_num == CUSTOM_PARAMETER_TYPE:
        return None
    tlv_cls = TLV_PARAMETERS.get(type_num)
    if tlv_cls is None:
        raise LLRPDecodeError(start, f"unknown parameter type {type_num}")
    body = Reader(r.data, start + 4, start + length)
    return cast(Parameter, _decode_fields(tlv_cls, body, start, {}))


def decode_parameter(data: bytes) -> Parameter:
    """Decode exactly one parameter occupying all of ``data``."""
    r = Reader(bytes(data), 0, len(data))
    param = read_parameter(r)
    if param is None:
        raise LLRPDecodeError(0, "a vendor custom parameter cannot be decoded on its own")
    if r.pos != len(data):
        raise LLRPDecodeError(r.pos, f"{len(data) - r.pos} bytes follow the parameter")
    return param


def decode_message(frame: bytes) -> Message:
    """Decode one whole message (header included); ``frame`` must hold exactly one."""
    data = bytes(frame)
    header = decode_header(data)
    if header.length != len(data):
        raise LLRPDecodeError(
            2, f"message length field says {header.length} bytes but the frame has {len(data)}"
        )
    cls = MESSAGES.get(header.message_type)
    if cls is None:
        raise LLRPDecodeError(0, f"unknown message type {header.message_type}")
    r = Reader(data, HEADER_LENGTH, header.length)
    return cast(Message, _decode_fields(cls, r, 0, {"message_id": header.message_id}))
