"""Settings of the edge agent process (``RFIDWMS_*`` environment variables)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from protocols.mqtt import MAX_BATCH_OBSERVATIONS, parse_mqtt_url
from protocols.settings import CommonSettings


class EdgeSettings(CommonSettings):
    edge_id: str = Field(default="edge-1", pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    """This agent's id: it serves the layout's readers and scales whose ``edge`` is this id."""
    llrp_host: str = "127.0.0.1"
    """Host of readers whose layout entry has no ``host``."""
    llrp_port_base: int = Field(default=5084, ge=1, le=65535)
    """Port of the first reader without a ``port``; later ones count up in layout order."""
    spool_dir: Path = Path(".rfidwms/edge")
    """Where the on-disk spool keeps batches until the broker has acknowledged them."""
    flush_interval_s: float = Field(default=0.5, gt=0, le=60)
    """How often reads are summarised into observations and published."""
    rssi_floor_dbm: float = Field(default=-90.0, ge=-128, le=0)
    """Reads weaker than this are dropped as noise."""
    health_interval_s: float = Field(default=5.0, gt=0, le=600)
    llrp_keepalive_s: float = Field(default=5.0, ge=0.2, le=600)
    """Keepalive interval asked of every reader; three without a word mean it is lost."""
    max_batch_observations: int = Field(default=1000, ge=1, le=MAX_BATCH_OBSERVATIONS)
    """Observations per MQTT message (1,000 are about 220 kB, within every broker's limits)."""

    @model_validator(mode="after")
    def _user_is_the_edge(self) -> EdgeSettings:
        user = parse_mqtt_url(self.mqtt_url).username if self.mqtt_url else None
        if user is not None and user != self.edge_id:
            raise ValueError(
                f"RFIDWMS_MQTT_URL logs in as {user!r} but this is edge {self.edge_id!r}: "
                "the broker's ACL lets an edge publish only under its own id, and it drops "
                "the rest without telling the sender, so the user name must be the edge id"
            )
        return self

    reconnect_max_s: float = Field(default=30.0, gt=0)
