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
    """Where the on-disk spool keeps batches until the cloud has committed them."""
    spool_max_bytes: int = Field(default=1 << 30, ge=64 * 1024, le=1 << 50)
    """The most bytes of batches the spool keeps; past it (or when its disk is full) new
    batches are refused and lost, the edge logs an error and its health says ``full``.
    A batch of 1,000 observations is about 220 kB: at 2 batches a second, 1 GiB holds
    about 40 minutes of a busy edge cut off from the cloud."""
    ack_timeout_s: float = Field(default=30.0, gt=0, le=600)
    """How long the edge waits for the cloud to confirm batches it sent before sending the
    unconfirmed ones again (doubling while none comes, up to 10 minutes)."""
    max_unconfirmed: int = Field(default=2000, ge=1, le=1_000_000)
    """Batches sent and not yet confirmed by the cloud at once; the rest wait in the spool."""
    flush_interval_s: float = Field(default=0.5, gt=0, le=60)
    """How often reads are summarised into observations and published."""
    event_flush_s: float = Field(default=0.02, ge=0, le=60)
    """Events are spooled this soon after they are decided, on their own (observations wait
    for the next flush); also the least time between two flushes."""
    rssi_floor_dbm: float = Field(default=-90.0, ge=-128, le=0)
    """Reads weaker than this are dropped as noise."""
    health_interval_s: float = Field(default=5.0, gt=0, le=600)
    llrp_keepalive_s: float = Field(default=1.0, ge=0.05, le=600)
    """Keepalive interval asked of every reader; two without a word make it silent, three
    mean it is lost. A keepalive is also a heartbeat (the reader has reported everything
    up to a report interval ago), so it bounds how soon the last tag of a zone departs."""
    llrp_report_interval_ms: int = Field(default=50, ge=10, le=60_000)
    """How often each reader reports (sllurp's report timeout: the ROSpec's AISpec ends
    after this long and a report follows). Read times reach the edge up to this late."""
    llrp_door_report_interval_ms: int = Field(default=25, ge=10, le=60_000)
    """The same for a dock door's readers (every antenna at a door): a passage is told
    from the reads after the tag crossed the door's middle, so it waits for their report.
    A door hears a crossing's pallet and cases for seconds, not hundreds of standing tags
    as a zone's reader does: reports twice as often cost little there."""
    event_tick_s: float = Field(default=0.1, gt=0, le=10)
    """How often the event core makes its time-based decisions."""
    scale_host: str = "127.0.0.1"
    """Host of scales whose layout entry has no ``host``."""
    scale_port_base: int = Field(default=5184, ge=1, le=65535)
    """Port of the first scale without a ``port``; later ones count up in layout order."""
    scale_poll_s: float = Field(default=0.05, gt=0, le=60)
    """How often each scale is asked for its weight (MT-SICS ``SI``)."""
    scale_min_load_kg: float = Field(default=5.0, gt=0)
    """A load lighter than this is an empty platform: a new load must rise above it."""
    inbox_max_reads: int = Field(default=200_000, ge=1_000, le=100_000_000)
    """Reads the reader threads may hand the event loop ahead of it; past it, a reader's
    thread waits (its TCP connection fills, the reader keeps its reports) until the loop
    catches up, instead of the edge's memory growing without end. 200,000 reads are
    10 s of 20 busy readers, about 100 MB."""
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
    command_timeout_s: float = Field(default=10.0, gt=0, le=300)
    """How long a command from the cloud waits for its reader to confirm it."""
