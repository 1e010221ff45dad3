"""Commands from the cloud to an edge's readers, and the edge's results (schema v1). Pure.

The cloud publishes a :class:`ReaderCommand` on :func:`command_topic`
(``rfidwms/v1/<site>/<edge-id>/commands/reader``, QoS 1, not retained); the edge
does it and publishes a :class:`CommandResult` with the same ``id`` on
:func:`result_topic` (``rfidwms/v1/<site>/<edge-id>/command_results/reader``).
Both topics have six levels, so the ingester's ``rfidwms/v1/<site>/+/+`` never
sees them. A command carries ``expires_at``: an edge that gets it later (it was
offline, and its persistent session kept the command) refuses it instead of
acting on an order nobody is waiting for. See ``docs/mqtt.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, Self, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from protocols.mqtt import (
    MAX_PAYLOAD_BYTES,
    SCHEMA_VERSION,
    TOPIC_ROOT,
    PayloadError,
    shorten,
)
from protocols.types import ID_RE, DeviceId

COMMAND_ID_PATTERN = r"^[0-9a-f]{32}$"
MAX_DETAIL = 500
MIN_POWER_DBM = -20.0
MAX_POWER_DBM = 40.0
"""What a command may ask for at all; the reader's own power table decides the rest."""


class CommandName(StrEnum):
    RECONNECT = "reconnect"
    """Drop the reader's LLRP connection and connect again at once."""
    START = "start"
    """Start the reader's inventory (its ROSpec)."""
    STOP = "stop"
    """Stop the reader's inventory; the connection stays up."""
    SET_POWER = "set_power"
    """Set one antenna's transmit power (``antenna``, ``power_dbm``)."""


class ReaderCommand(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    v: Literal[1] = SCHEMA_VERSION
    id: str = Field(pattern=COMMAND_ID_PATTERN, description="the cloud's id of the command")
    edge_id: DeviceId
    reader_id: DeviceId
    command: CommandName
    antenna: int | None = Field(default=None, ge=1, le=65535)
    power_dbm: float | None = Field(
        default=None, ge=MIN_POWER_DBM, le=MAX_POWER_DBM, allow_inf_nan=False
    )
    sent_at: AwareDatetime
    expires_at: AwareDatetime

    @model_validator(mode="after")
    def _fields_of_the_command(self) -> Self:
        if self.command is CommandName.SET_POWER:
            if self.antenna is None or self.power_dbm is None:
                raise ValueError("set_power needs antenna and power_dbm")
        elif self.antenna is not None or self.power_dbm is not None:
            raise ValueError(f"{self.command.value} takes no antenna or power_dbm")
        if self.expires_at <= self.sent_at:
            raise ValueError("expires_at must be after sent_at")
        return self


class CommandStatus(StrEnum):
    OK = "ok"
    ERROR = "error"


class CommandResult(BaseModel):
    """What became of a command, as the edge tells it; ``detail`` says what was done
    (``antenna 2: 20.0 dBm``) or why not."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    v: Literal[1] = SCHEMA_VERSION
    id: str = Field(pattern=COMMAND_ID_PATTERN)
    edge_id: DeviceId
    reader_id: DeviceId
    command: CommandName
    status: CommandStatus
    detail: str = Field(default="", max_length=MAX_DETAIL)
    at: AwareDatetime


@dataclass(frozen=True, slots=True)
class ResultAddress:
    site: str
    edge_id: str


def _edge_root(site: str, edge_id: str) -> str:
    for name, value in (("site", site), ("edge id", edge_id)):
        if not ID_RE.match(value):
            raise PayloadError(f"{name} {shorten(value, 80)!r} is not a valid topic segment")
    return f"{TOPIC_ROOT}/{site}/{edge_id}"


def command_topic(site: str, edge_id: str) -> str:
    """``rfidwms/v1/<site>/<edge-id>/commands/reader``."""
    return f"{_edge_root(site, edge_id)}/commands/reader"


def result_topic(site: str, edge_id: str) -> str:
    """``rfidwms/v1/<site>/<edge-id>/command_results/reader``."""
    return f"{_edge_root(site, edge_id)}/command_results/reader"


def result_subscription(site: str) -> str:
    """The results of every edge of ``site``."""
    return f"{TOPIC_ROOT}/{site}/+/command_results/reader"


def parse_result_topic(name: str) -> ResultAddress:
    parts = name.split("/")
    if (
        len(parts) != 6
        or "/".join(parts[:2]) != TOPIC_ROOT
        or parts[4:] != ["command_results", "reader"]
        or not ID_RE.match(parts[2])
        or not ID_RE.match(parts[3])
    ):
        raise PayloadError(
            f"topic {shorten(name, 200)!r} is not of the form "
            f"{TOPIC_ROOT}/<site>/<edge>/command_results/reader"
        )
    return ResultAddress(parts[2], parts[3])


def encode(message: ReaderCommand | CommandResult) -> bytes:
    return message.model_dump_json(exclude_none=True).encode("utf-8")


M = TypeVar("M", bound=BaseModel)


def _decode(model: type[M], data: bytes) -> M:
    if len(data) > MAX_PAYLOAD_BYTES:
        raise PayloadError(f"{model.__name__}: payload of {len(data)} bytes is too large")
    try:
        return model.model_validate_json(data)
    except ValidationError as e:
        first = e.errors()[0]
        loc = ".".join(shorten(str(p), 40) for p in first["loc"])
        where = f"{model.__name__}.{loc}" if loc else model.__name__
        value = first.get("input")
        shown = "" if isinstance(value, dict | list) or value is None else f" (got {value!r:.80})"
        msg = first["msg"].removeprefix("Value error, ")
        raise PayloadError(f"{where}: {msg}{shown}") from None


def decode_command(data: bytes) -> ReaderCommand:
    """A command; :class:`PayloadError` naming the bad field otherwise."""
    return _decode(ReaderCommand, data)


def decode_result(data: bytes) -> CommandResult:
    """A result; :class:`PayloadError` naming the bad field otherwise."""
    return _decode(CommandResult, data)
