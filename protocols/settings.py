"""Settings every rfidwms process shares, read from ``RFIDWMS_*`` environment variables.

Each process extends :class:`CommonSettings` with its own fields (``edge.settings``,
``cloud.settings``), so one typed object holds all of a process's configuration.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from protocols.mqtt import parse_mqtt_url

DEFAULT_MQTT_URL = "mqtt://127.0.0.1:1883"


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RFIDWMS_", extra="ignore")

    site: str = Field(default="demo", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
    """Site name: the second segment of every MQTT topic; isolates sites sharing a broker."""
    layout: Path | None = None
    """Layout YAML file; the bundled demo layout when unset."""
    mqtt_url: str = DEFAULT_MQTT_URL
    log_level: str = "INFO"

    @field_validator("mqtt_url")
    @classmethod
    def _valid_mqtt_url(cls, v: str) -> str:
        parse_mqtt_url(v)
        return v
