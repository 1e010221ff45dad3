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


class Health(BaseModel):
    status: Literal["ok", "degraded", "down"] = Field(
        description="down: database unreachable (HTTP 503); degraded: broker not connected, "
        "or ingest stuck (writes failing for RFIDWMS_INGEST_STUCK_AFTER_S)"
    )
    problems: list[str] = Field(default_factory=list, description="why it is not ok")
    site: str
    database: DatabaseHealth
    mqtt: MqttHealth
    ingest: IngestHealth
    counts: TableCounts | None
    live: LiveHealth


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
