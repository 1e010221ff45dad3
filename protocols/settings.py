"""Settings every rfidwms process shares, read from ``RFIDWMS_*`` environment variables.

Each process extends :class:`CommonSettings` with its own fields (``edge.settings``,
``cloud.settings``), so one typed object holds all of a process's configuration.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from protocols.clock import Clock, parse_clock
from protocols.mqtt import parse_mqtt_url, redact_url
from protocols.types import ID_PATTERN

DEFAULT_MQTT_URL = "mqtt://127.0.0.1:1883"


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RFIDWMS_", extra="ignore")

    site: str = Field(default="demo", pattern=ID_PATTERN)
    """Site name: the second segment of every MQTT topic; isolates sites sharing a broker."""
    layout: Path | None = None
    """Layout YAML file; the bundled demo layout when unset."""
    mqtt_url: str = DEFAULT_MQTT_URL
    mqtt_ca_file: Path | None = None
    """``RFIDWMS_MQTT_CA_FILE``: PEM file of the CA certificates an ``mqtts://`` broker's
    certificate is checked against (a private CA); the system's CAs when unset."""
    clock: str | None = None
    """``RFIDWMS_CLOCK``: unset for the wall clock, or a simulated clock shared by every
    process of a scored run (:mod:`protocols.clock`)."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, v: object) -> object:
        return v.upper() if isinstance(v, str) else v

    @field_validator("clock")
    @classmethod
    def _valid_clock(cls, v: str | None) -> str | None:
        parse_clock(v)
        return v

    def now_clock(self) -> Clock:
        """The clock this process runs on (the wall clock unless ``RFIDWMS_CLOCK``)."""
        return parse_clock(self.clock)

    @field_validator("mqtt_ca_file")
    @classmethod
    def _readable_ca_file(cls, v: Path | None) -> Path | None:
        if v is not None:
            try:
                ssl.create_default_context(cafile=str(v))
            except (OSError, ssl.SSLError) as e:
                raise ValueError(f"not a readable PEM file of CA certificates ({e})") from None
        return v

    @field_validator("mqtt_url")
    @classmethod
    def _valid_mqtt_url(cls, v: str | None) -> str | None:
        if v is not None:  # None: a process that embeds its own broker (the demo)
            parse_mqtt_url(v)
        return v


class SettingsError(ValueError):
    """A setting has a wrong value; the message names the ``RFIDWMS_*`` variable."""


S = TypeVar("S", bound=CommonSettings)


def load_settings(cls: type[S], **overrides: Any) -> S:
    """Build ``cls`` from the environment plus command-line ``overrides`` (None = not given).

    A wrong value raises :class:`SettingsError` naming the variable and the value.
    """
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return cls(**given)
    except ValidationError as e:
        problems = []
        for err in e.errors():
            field = str(err["loc"][0]) if err["loc"] else "?"
            name = f"--{field.replace('_', '-')}" if field in given else f"RFIDWMS_{field.upper()}"
            msg = redact_url(err["msg"].removeprefix("Value error, "))
            value = err.get("input")
            shown = f" (got {redact_url(value)!r})" if isinstance(value, str) else ""
            if not err["loc"]:
                problems.append(f"{msg}")
            else:
                problems.append(f"{name}: {msg}{shown}")
        raise SettingsError("; ".join(problems)) from None
