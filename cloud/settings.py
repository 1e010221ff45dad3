"""Settings of the cloud process (``rfidwms cloud``), from ``RFIDWMS_*`` variables.

Everything the cloud reads from its environment is here, on top of
:class:`protocols.settings.CommonSettings` (site, layout, MQTT URL, log level).
"""

from __future__ import annotations

import socket

from pydantic import Field, field_validator

from protocols.settings import CommonSettings

_GROUP = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"


class CloudSettings(CommonSettings):
    database_url: str = Field(min_length=1)
    """PostgreSQL (TimescaleDB where installed) URL or conninfo; RFIDWMS_DATABASE_URL."""
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)

    ingest_group: str | None = Field(default=None, pattern=_GROUP)
    """When set, subscribe through ``$share/<group>/...`` so several ingesters share the
    load (Mosquitto, EMQX, HiveMQ; not the embedded amqtt broker)."""
    ingest_client_id: str | None = None
    """MQTT client id of the ingester's persistent session; derived from the site (and
    the host name when ``ingest_group`` is set) when unset. It must stay the same across
    restarts, or messages the broker held for the old session are lost."""
    ingest_max_messages: int = Field(default=200, ge=1, le=10_000)
    """Most MQTT messages written in one database transaction."""
    ingest_flush_interval_s: float = Field(default=0.0, ge=0.0, le=10.0)
    """How long to wait for more messages before a transaction; 0 writes at once."""
    ingest_retry_max_s: float = Field(default=10.0, gt=0.0)
    """Longest pause between retries while the database or the broker is unreachable."""
    db_pool_max: int = Field(default=10, ge=1, le=200)
    db_timeout_s: float = Field(default=5.0, gt=0.0, le=120.0)
    """How long a request waits for a database connection before it fails."""

    live_buffer: int = Field(default=1000, ge=1)
    """Deltas kept for clients resuming with ``?since=``; older ones get a snapshot."""
    live_client_queue: int = Field(default=256, ge=1)
    """Deltas queued per WebSocket client before it is dropped to a fresh snapshot."""
    live_recent_reads: int = Field(default=200, ge=1, le=10_000)
    """Reads a snapshot carries (and a delta at most)."""
    live_tag_locations: int = Field(default=2000, ge=1, le=1_000_000)
    """Most recently seen tag locations a snapshot carries."""

    @field_validator("ingest_client_id")
    @classmethod
    def _client_id(cls, v: str | None) -> str | None:
        if v is not None and not 1 <= len(v) <= 128:
            raise ValueError(f"ingest_client_id {v!r} must be 1-128 characters")
        return v

    def mqtt_client_id(self) -> str:
        """The ingester's fixed MQTT client id (its persistent session's name)."""
        if self.ingest_client_id:
            return self.ingest_client_id
        if self.ingest_group:
            return f"rfidwms-ingest-{self.site}-{self.ingest_group}-{socket.gethostname()}"
        return f"rfidwms-ingest-{self.site}"
