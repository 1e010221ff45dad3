"""Typed response bodies of the REST API (they make the OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from cloud.model import Read


class DatabaseHealth(BaseModel):
    ok: bool
    error: str | None = None


class MqttHealth(BaseModel):
    connected: bool
    broker: str = Field(description="broker URL without its password")
    client_id: str
    subscription: str


class IngestHealth(BaseModel):
    running: bool
    messages: int = Field(description="MQTT messages stored since start, dead letters included")
    batches: int
    observations: int
    events: int = Field(default=0, description="zone events, passages and weights stored")
    duplicates: int = Field(
        description="batches skipped because their (edge, spool, seq) was stored"
    )
    dead_letters: int
    poison: int = Field(
        default=0,
        description="messages dead-lettered because they kept failing alone (in dead_letters)",
    )
    last_ingest_at: datetime | None = Field(description="when observations were last stored")
    last_error: str | None = None
    failing_since: datetime | None = Field(
        default=None, description="since when the writes still failing have failed"
    )


class TableCounts(BaseModel):
    tags: int = Field(description="EPCs with a known location")
    readers: int
    edges: int
    dead_letters: int
    estimated: list[str] = Field(
        default_factory=list,
        description="counts (tags, dead_letters) that are PostgreSQL's estimate "
        "(pg_class.reltuples, kept by autovacuum and ANALYZE) because the table holds "
        "more than 10,000 rows; the others are exact",
    )


class LiveHealth(BaseModel):
    seq: int
    stream: str
    clients: int
    resyncs: int = Field(description="clients that fell behind and were sent a fresh snapshot")
    buffered: int = Field(description="deltas kept for resuming clients")
    buffered_bytes: int = Field(description="their approximate size")
    broker_connected: bool = Field(
        default=False,
        description="subscribed to the ingesters' live deltas on the broker (every node)",
    )
    from_broker: int = Field(
        default=0, description="deltas of other processes' ingesters applied, from the broker"
    )
    gaps: int = Field(
        default=0, description="times deltas from the broker were missed (each: a reseed)"
    )
    reseeds: int = Field(
        default=0,
        description="times the view was read again from the database and every client "
        "sent a fresh snapshot (after subscribing, and after each gap)",
    )


class FeedHealth(BaseModel):
    running: bool
    events: int = Field(description="events read from the event tables since the start")
    applied: int = Field(description="of them, applied by a warehouse handler")
    skipped: int = Field(
        description="events skipped since the start after their handlers kept failing "
        "(each recorded: GET /api/feed-failures)"
    )
    last_error: str | None


class Health(BaseModel):
    status: Literal["ok", "degraded", "down"] = Field(
        description="down: database unreachable (HTTP 503); degraded: broker not connected, "
        "ingest stuck (writes failing for RFIDWMS_INGEST_STUCK_AFTER_S), or warehouse-feed "
        "events skipped"
    )
    problems: list[str] = Field(default_factory=list, description="why it is not ok")
    site: str = Field(description="the default site (the first served)")
    sites: list[str] = Field(default_factory=list, description="every site this cloud serves")
    database: DatabaseHealth
    mqtt: MqttHealth
    ingest: IngestHealth
    counts: TableCounts | None
    live: LiveHealth
    feed: FeedHealth = Field(description="the warehouse feed: goods and stock from events")


class AntennaRate(BaseModel):
    antenna: int
    read_point: str | None = Field(description="None for an antenna the layout does not map")
    reads_per_s: float


class ReaderOut(BaseModel):
    reader_id: str
    edge_id: str
    place: str | None = Field(description="door or zone id from the layout")
    place_kind: Literal["door", "zone"] | None
    in_layout: bool = Field(description="False for a reader only known from health messages")
    state: str = Field(description="connecting, connected, inventorying, disconnected or unknown")
    last_seen: datetime | None = Field(description="time of the last health message about it")
    last_report_at: datetime | None = Field(description="the reader's last tag report")
    reads_per_s: float = Field(description="all antennas together")
    antennas: list[AntennaRate]
    clock_offset_s: float | None = Field(
        default=None,
        description="edge clock minus reader clock (s) by the edge's last health message "
        "(it corrects read times by it beyond 2 s); null: not reported",
    )


class SpoolOut(BaseModel):
    batches: int = Field(description="batches waiting in the edge's spool for the cloud")
    bytes: int
    max_bytes: int = Field(description="the spool's size limit")
    full: bool = Field(description="the spool refuses new batches")
    refused_batches: int = Field(description="batches refused for a full spool (lost)")
    at: datetime = Field(description="time of the health message that reported it")


class EdgeOut(BaseModel):
    edge_id: str
    state: Literal["online", "offline"]
    last_seen: datetime = Field(description="the last status message (the cloud's clock)")
    changed_at: datetime = Field(description="since when it is in that state")
    spool: SpoolOut | None = Field(description="null until a health message reports it")


class ReaderEventOut(BaseModel):
    id: int
    time: datetime = Field(description="when the edge saw it (the edge's clock)")
    edge_id: str
    reader_id: str
    kind: str = Field(
        description="unreachable, refused, connection_lost, reconnected, silent, speaking, "
        "reader_exception, llrp_error, antenna_disconnected or antenna_connected"
    )
    fault: bool = Field(description="something went wrong (false: it is right again)")
    antenna: int | None = Field(description="the antenna of an antenna event; null otherwise")
    detail: str
    stored_at: datetime = Field(description="when the cloud stored it (the cloud's clock)")


class TagOut(BaseModel):
    epc: str
    uri: str | None = Field(description="GS1 pure-identity URI when the EPC decodes")
    read_point: str
    reader_id: str
    antenna: int
    edge_id: str
    rssi_dbm: float | None
    last_seen: datetime
    arrived_at: datetime = Field(description="first seen at this read point since its last move")
    zone: str | None = Field(
        default=None,
        description="the zone it is in by the edges' events (a case: its pallet's); null "
        "when it departed, left through a door, or its zone's readers are out",
    )
    state: Literal["present", "departed", "unknown", "received", "shipped"] | None = Field(
        default=None,
        description="present (in zone), departed (from its last zone), unknown (the zone's "
        "readers are out), received or shipped (through door); null: no event yet",
    )
    door: str | None = Field(default=None, description="the door it was received or shipped by")
    pallet: str | None = Field(default=None, description="for a case: its pallet's EPC")
    place_since: datetime | None = Field(default=None, description="time of that event")
    history: list[Read] = Field(description="the tag's reads, newest first")


class DeadLetterOut(BaseModel):
    id: int
    received_at: datetime
    topic: str
    reason: str = Field(description="why it could not be ingested")
    payload_bytes: int = Field(description="size of the whole payload")
    payload_preview: str = Field(
        description="the payload's first 512 bytes as UTF-8, invalid bytes replaced (U+FFFD)"
    )


class FeedFailureOut(BaseModel):
    id: int
    consumer: str = Field(description="the feed that skipped it (the warehouse feed)")
    source: str = Field(description="passages, zone_events or weights")
    event_id: int = Field(description="the event's id in its table")
    error: str
    attempts: int
    failed_at: datetime


class SideEvidenceOut(BaseModel):
    reads: int
    peak_rssi_dbm: float | None
    first_seen: datetime | None
    last_seen: datetime | None


class PassageOut(BaseModel):
    time: datetime = Field(description="when the tag crossed the door's middle")
    door: str
    direction: Literal["inbound", "outbound"]
    epc: str = Field(description="the pallet's SSCC-96 (hex, upper case), or a lone tag's EPC")
    cases: list[str] = Field(description="SGTIN-96 EPCs of the cases that crossed with it")
    confidence: float = Field(ge=0, le=1)
    edge_id: str
    site: str | None = Field(
        None,
        description="the site whose edge reported it (null only for an event stored before "
        "events had a site, until the cloud next starts and fills it)",
    )
    stored_at: datetime = Field(description="when the cloud stored it (its clock)")
    evidence: dict[str, SideEvidenceOut] = Field(
        description="per side (outside, inside): reads, peak RSSI, first and last seen"
    )


class ZoneEventOut(BaseModel):
    time: datetime = Field(description="when the movement happened, as the reads show")
    kind: Literal["arrived", "moved", "departed", "unknown", "present"]
    epc: str
    zone: str
    from_zone: str | None
    edge_id: str
    site: str | None = Field(
        None,
        description="the site whose edge reported it (null only for an event stored before "
        "events had a site, until the cloud next starts and fills it)",
    )
    stored_at: datetime


class WeightOut(BaseModel):
    time: datetime
    scale: str
    weight_kg: float
    epc: str | None = Field(
        description="the pallet weighed: the edge's choice, unless the weight failed its "
        "check and fitted another of the pallets the edge heard (candidates) that awaited "
        "one; null when it could not tell"
    )
    cases: list[str] = Field(
        default_factory=list,
        description="the cases (SGTIN-96 EPCs) heard coming onto the scale with the pallet",
    )
    candidates: list[str] = Field(
        default_factory=list,
        description="the pallets the scale's read point heard that may be the one weighed, "
        "likeliest first as the edge judged",
    )
    edge_epc: str | None = Field(
        None,
        description="the edge's own choice, when the cloud weighed another candidate (epc)",
    )
    edge_id: str
    site: str | None = Field(
        None,
        description="the site whose edge reported it (null only for an event stored before "
        "events had a site, until the cloud next starts and fills it)",
    )
    stored_at: datetime


class ZoneTagOut(BaseModel):
    epc: str
    kind: Literal["pallet", "case", "tag"]
    pallet: str | None = Field(description="for a case: the pallet it travels on")
    since: datetime = Field(description="when it came into the zone (its pallet, for a case)")
