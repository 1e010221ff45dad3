"""Settings of the cloud process (``rfidwms cloud``), from ``RFIDWMS_*`` variables.

Everything the cloud reads from its environment is here, on top of
:class:`protocols.settings.CommonSettings` (site, layout, MQTT URL, log level).
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from cloud.warehouse.forecast import ForecastConfig, ForecastError, ReorderPolicy
from cloud.warehouse.packing import REWEIGH_AFTER_S, Tolerance
from cloud.warehouse.sites import Sites
from cloud.warehouse.transfers import parse_transit_times, transit_time
from cloud.warehouse.webhooks import DisableRule, RetryPolicy
from protocols.layout import load_layout
from protocols.mqtt import redact_url
from protocols.settings import CommonSettings
from protocols.types import ID_PATTERN

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _split_origins(text: str) -> list[str]:
    return [o.strip() for o in text.split(",") if o.strip()]


_SITE_ID = re.compile(ID_PATTERN)


def parse_sites(text: str) -> list[tuple[str, Path | None]]:
    """``RFIDWMS_SITES``: comma-separated ``site=layout-file`` entries, in order (the first
    is the default site); a ``site`` without ``=file`` has the bundled demo layout.
    ValueError naming the entry that is wrong."""
    out: list[tuple[str, Path | None]] = []
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        site, eq, path = (part.strip() for part in entry.partition("="))
        if not _SITE_ID.match(site):
            raise ValueError(
                f"entry {entry!r}: site {site!r} is not a site id (letters, digits, '_', '.',"
                " '-'); entries are site=layout-file, e.g. dc-1=/etc/rfidwms/dc-1.yaml"
            )
        if eq and not path:
            raise ValueError(f"entry {entry!r}: the layout file after '=' is empty")
        if site in (s for s, _ in out):
            raise ValueError(f"entry {entry!r}: site {site!r} is named twice")
        out.append((site, Path(path) if path else None))
    return out


def normalize_origin(origin: str) -> str:
    """``origin`` as a browser sends it in an ``Origin`` header (lower-case scheme and
    host, no default port); ValueError naming it unless it is ``http(s)://host[:port]``."""
    form = "an origin is scheme://host[:port] such as https://wms.example.com"
    try:
        u = urlsplit(origin)
        port = u.port
    except ValueError:
        raise ValueError(f"origin {origin!r} is not valid: {form}") from None
    scheme = u.scheme.lower()
    if (
        scheme not in _DEFAULT_PORTS
        or not u.hostname
        or u.username is not None
        or u.password is not None
        or u.path
        or u.query
        or u.fragment
        or origin.endswith(("?", "#"))
    ):
        raise ValueError(f"origin {origin!r} is not valid: {form}")
    host = u.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


class CloudSettings(CommonSettings):
    sites: str = ""
    """``RFIDWMS_SITES``: the sites this cloud serves when more than one, as
    ``dc-1=/etc/rfidwms/dc-1.yaml,dc-2=/etc/rfidwms/dc-2.yaml`` (:func:`parse_sites`);
    the first is the default. Unset: the one site ``RFIDWMS_SITE`` with
    ``RFIDWMS_LAYOUT``. See :meth:`served_sites`."""
    database_url: str = Field(min_length=1)
    """PostgreSQL (TimescaleDB where installed) URL or conninfo; RFIDWMS_DATABASE_URL."""
    http_host: str = "127.0.0.1"
    """Address the API listens on; 0.0.0.0 or :: for every interface (never empty)."""
    http_port: int = Field(default=8080, ge=0, le=65535)
    http_allowed_origins: str = ""
    """Comma-separated origins (``https://wms.example.com``) whose pages may open
    ``/ws/live`` besides the API's own; see :meth:`allowed_origins`."""
    http_ws_compression: bool = False
    """Offer WebSocket clients permessage-deflate. Off: a live delta is encoded once for
    every page but would be compressed once per page (zlib keeps a context per
    connection), the largest cost per page of the live feed (``docs/cloud.md``)."""

    ingest_enabled: bool = True
    """Run the MQTT ingester (and the jobs and warehouse feed beside it) in this
    process; false makes an API-only node (``rfidwms cloud --no-ingest``), whose live
    hub hears every ingester's deltas through the broker."""
    ingest_group: str | None = Field(default=None, pattern=ID_PATTERN)
    """When set, subscribe through ``$share/<group>/...`` so several ingesters share the
    load (Mosquitto, EMQX, HiveMQ; not the embedded amqtt broker). Needs
    ``ingest_client_id``."""
    ingest_client_id: str | None = None
    """MQTT client id of the ingester's persistent session; ``rfidwms-ingest-<site>``
    when unset, required with ``ingest_group`` (each member names its own). It must
    stay the same across restarts, or messages the broker held for the old session
    are stranded there."""
    ingest_max_messages: int = Field(default=200, ge=1, le=10_000)
    """Most MQTT messages written in one database transaction."""
    ingest_max_observations: int = Field(default=20_000, ge=1, le=1_000_000)
    """Most observations written in one database transaction (a group stops before the
    message that would pass it; a single larger batch is written alone)."""
    ingest_flush_interval_s: float = Field(default=0.0, ge=0.0, le=10.0)
    """How long to wait for more messages before a transaction; 0 writes at once."""
    ingest_retry_max_s: float = Field(default=10.0, gt=0.0)
    """Longest pause between retries while the database or the broker is unreachable."""
    ingest_max_clock_skew_s: float = Field(default=300.0, ge=0.0, le=86_400.0)
    """How far in the future (after the cloud received it) a time in a message may be;
    a message with a later time is a dead letter."""
    ingest_max_group_bytes: int = Field(default=16 * 1024 * 1024, ge=64 * 1024, le=1 << 30)
    """Most payload bytes written in one transaction (a group stops before the message
    that would pass it): what the ingester holds in hand is bounded."""
    ingest_poison_after: int = Field(default=5, ge=1, le=1000)
    """Failures of one message alone, the same way, after which it is a dead letter
    when a control write shows the database stores other messages."""
    ingest_last_seen_resolution_s: float = Field(default=60.0, ge=0.0, le=3600.0)
    """How far a tag's stored ``last_seen`` (and reader, antenna, RSSI) may lag its newest
    read at the same read point: a tag seen again there is rewritten in
    ``tag_locations`` once its read is this much past the stored ``last_seen``; a move
    is written at once. 0 rewrites it on every batch. ``GET /api/tags/{epc}`` gives the
    newest read's time whatever this is (from the tag's history)."""
    ingest_stuck_after_s: float = Field(default=15.0, gt=0.0, le=86_400.0)
    """How long writes may keep failing before ``/api/health`` says ``degraded``."""
    observations_retention_h: float = Field(default=24.0, gt=0.0, le=24 * 3650)
    """Hours raw observations are kept (events are kept for good): a TimescaleDB
    retention policy where the extension is, a deletion job otherwise."""
    reader_events_retention_days: float = Field(default=90.0, gt=0.0, le=3650.0)
    """Days the readers' faults and antenna events are kept (by their time)."""
    ingest_pool_max: int = Field(default=2, ge=1, le=20)
    """Connections of the ingester's own pool (separate from the API's ``db_pool_max``)."""
    db_pool_max: int = Field(default=10, ge=1, le=200)
    """Connections of the API's pool."""
    db_timeout_s: float = Field(default=5.0, gt=0.0, le=120.0)
    """How long a request waits for a database connection before it fails."""

    feed_enabled: bool = True
    """Run the warehouse feed (passages, zone events, weights applied to goods and
    stock: :mod:`cloud.operations.feed`) beside the ingester."""
    feed_poll_interval_s: float = Field(default=0.1, gt=0.0, le=10.0)
    """How often the feed looks for new events once it has caught up."""
    feed_batch: int = Field(default=500, ge=1, le=100_000)
    """Most events of one table the feed applies in one transaction."""
    feed_max_attempts: int = Field(default=3, ge=1, le=100)
    """Tries of an event whose handlers fail before it is skipped (``feed_failures``)."""
    feed_gap_wait_s: float = Field(default=1.0, ge=0.0, le=600.0)
    """How long a missing event id holds its table back (a transaction not committed
    yet) before the feed takes it as rolled back."""
    short_receipt_grace_min: float = Field(default=30.0, ge=0.0, le=7 * 24 * 60)
    """Minutes after a notice's ``expected_at`` before pallets not come are short."""
    transit_times: str = ""
    """``RFIDWMS_TRANSIT_TIMES``: minutes on the road between two sites, as
    ``dc-1>dc-2=240,dc-2>dc-1=300`` (a pair given one way serves the other way too);
    a transfer's expected arrival is its shipping time plus this
    (:func:`cloud.warehouse.transfers.transit_time`)."""
    transit_default_min: float = Field(default=240.0, gt=0.0, le=60 * 24 * 60)
    """Minutes on the road between two sites that ``transit_times`` does not name."""
    transfer_late_grace_min: float = Field(default=30.0, ge=0.0, le=7 * 24 * 60)
    """Minutes after a transfer's expected arrival before pallets not come are late
    (``transfer_late``)."""

    default_ship_door: str | None = Field(default=None, pattern=ID_PATTERN)
    """Door an order loads at when it names none; unset: the layout's door nearest the
    packing area."""
    pack_tolerance_pct: float = Field(default=2.0, ge=0.0, le=100.0)
    """Packing weight check: percent of the expected gross a reading may be off ..."""
    pack_tolerance_kg: float = Field(default=5.0, ge=0.0, le=1000.0)
    """... or this many kilograms, whichever is more ..."""
    pack_tolerance_case_share: float | None = Field(default=0.5, gt=0.0, le=1.0)
    """... but never more than this share of the pallet's lightest case, so one case
    missing or over is always a mismatch (unset: no cap)."""

    live_buffer: int = Field(default=1000, ge=1)
    """Deltas kept for clients resuming with ``?since=``; older ones get a snapshot."""
    live_buffer_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)
    """Bytes of encoded deltas kept for resuming clients (approximate), on top of the
    ``live_buffer`` count: whichever is reached first drops the oldest."""
    live_buffer_age_s: float = Field(default=600.0, gt=0.0, le=86_400.0)
    """... and none older than this many seconds (a client away longer gets a snapshot)."""
    live_client_queue: int = Field(default=256, ge=1)
    """Deltas queued per WebSocket client before it is dropped to a fresh snapshot."""
    live_client_max_lag_s: float = Field(default=2.0, gt=0.0, le=3600.0)
    """A WebSocket client whose next message was published longer ago than this (its
    socket drains slower than deltas come) is dropped to a fresh snapshot instead."""
    live_recent_reads: int = Field(default=200, ge=1, le=10_000)
    """Reads a snapshot carries (and reads and moves a delta carries at most)."""
    live_tag_locations: int = Field(default=2000, ge=1, le=1_000_000)
    """Most recently seen tag locations a snapshot carries (and a delta at most)."""
    live_max_readers: int = Field(default=2000, ge=1, le=1_000_000)
    """Readers (and, apart, edges) the live view keeps, least recently updated dropped
    first; a snapshot carries at most this many of each, and so does a delta."""

    live_open_alerts: int = Field(default=200, ge=1, le=100_000)
    """Unresolved alerts the live view keeps and a snapshot carries, newest raised first."""

    alerts_reader_offline_after_s: float = Field(default=30.0, gt=0.0, le=86_400.0)
    """A reader not inventorying or connected for longer than this (on the cloud's clock)
    raises ``reader_offline``."""
    alerts_edge_offline_after_s: float = Field(default=120.0, gt=0.0, le=86_400.0)
    """An edge last heard of (health, online status) longer ago than this (on the cloud's
    clock) raises ``edge_offline``. Edges send health every 5 real seconds: 50 simulated
    seconds at ``--speed 10``, hence the margin."""
    alerts_fleet_every_s: float = Field(default=1.0, gt=0.0, le=3600.0)
    """Real seconds between two looks of the fleet watch."""
    commands_expire_s: float = Field(default=30.0, gt=0.0, le=3600.0)
    """A command to an edge's reader that has not reached the edge this long (clock
    seconds) after it was sent is refused by the edge (it was offline meanwhile)."""
    alerts_stock_every_s: float = Field(default=10.0, gt=0.0, le=86_400.0)
    """Real seconds between two looks of the stock rules job."""
    promised_dates_every_s: float = Field(default=5.0, gt=0.0, le=86_400.0)
    """Real seconds between two looks of the promised dates job (the promised date of
    each short order, ``order.promised_date_changed``)."""

    forecast_history_days: int = Field(default=90, ge=1, le=730)
    """Whole days of shipments the demand forecast fits on (docs/forecast.md)."""
    forecast_holdout_days: int = Field(default=14, ge=1, le=730)
    """The last days of the history the forecast's backtest holds out (at most the history)."""
    forecast_lead_time_days: int = Field(default=7, ge=0, le=730)
    """Default lead time (days from ordering to the goods being available)."""
    forecast_review_days: int = Field(default=7, ge=0, le=730)
    """Default review period (days between two looks at an item)."""
    forecast_service_level: float = Field(default=0.95, ge=0.5, le=0.999)
    """Default chance of not running out before the next delivery."""
    forecast_alert_horizon_days: int = Field(default=7, ge=1, le=730)
    """Days of forecast a low-stock alert's detail carries."""

    webhooks_enabled: bool = True
    """Run the webhook sender (:mod:`cloud.operations.webhook_delivery`) in this node;
    several nodes may run it (deliveries are leased, never sent twice at once)."""
    webhooks_poll_s: float = Field(default=0.5, gt=0.0, le=60.0)
    """Real seconds between two looks for events to fan out and deliveries due."""
    webhooks_timeout_s: float = Field(default=10.0, gt=0.0, le=300.0)
    """Longest wait for an endpoint's answer (connect, send and read)."""
    webhooks_per_endpoint: int = Field(default=4, ge=1, le=100)
    """Deliveries in flight to one endpoint at a time (per node)."""
    webhooks_max_in_flight: int = Field(default=64, ge=1, le=10_000)
    """Deliveries in flight in all (per node)."""
    webhooks_retry_first_s: float = Field(default=5.0, gt=0.0, le=86_400.0)
    """Wait before the first retry; each next one waits ``webhooks_retry_factor`` times
    longer, at most ``webhooks_retry_longest_s``."""
    webhooks_retry_factor: float = Field(default=4.0, ge=1.0, le=100.0)
    webhooks_retry_longest_s: float = Field(default=6 * 3600.0, gt=0.0, le=7 * 86_400.0)
    webhooks_max_attempts: int = Field(default=12, ge=1, le=1000)
    """Attempts of one delivery before it is given up (``failed``; replay it by hand)."""
    webhooks_disable_after_failures: int = Field(default=10, ge=1, le=100_000)
    """An endpoint is disabled (alert ``webhook_disabled``) after this many failed
    attempts in a row ..."""
    webhooks_disable_after_s: float = Field(default=86_400.0, ge=0.0, le=30 * 86_400.0)
    """... once it has been failing for at least this long (seconds)."""
    webhooks_retention_days: float = Field(default=30.0, ge=0.0, le=3650.0)
    """Days events and their delivery log are kept once nothing waits to be sent; 0:
    forever."""

    rate_limit_per_s: float = Field(default=100.0, ge=0.0, le=1_000_000.0)
    """``RFIDWMS_RATE_LIMIT_PER_S``: requests per second one token may make, on average
    (per API node); 0: no limit."""
    rate_limit_burst: int = Field(default=500, ge=1, le=1_000_000)
    """``RFIDWMS_RATE_LIMIT_BURST``: requests one token may make at once after a pause."""
    idempotency_ttl_h: float = Field(default=24.0, gt=0.0, le=24 * 30)
    """Hours an ``Idempotency-Key`` and its first answer are kept."""
    variance_after_s: float = Field(default=60.0, gt=0.0, le=7 * 86_400.0)
    """Seconds (on the cloud's clock) the zone readers and the book must disagree about a
    pallet before the cycle count opens a variance; also how long after the book last
    moved a pallet an untasked move between storage zones is still taken as its
    put-away settling (:mod:`cloud.operations.inbound`)."""
    variances_every_s: float = Field(default=2.0, gt=0.0, le=3600.0)
    """Real seconds between two looks of the cycle count job."""
    reweigh_after_s: float = Field(default=REWEIGH_AFTER_S, gt=0.0, le=86_400.0)
    """Seconds (on the cloud's clock) a pallet waits in packing for its weight check
    (since it came, since its last weighing, since its last weigh task) before a
    ``weigh`` task sends it onto the scale again (at most three per pallet and order)."""
    reweigh_every_s: float = Field(default=5.0, gt=0.0, le=3600.0)
    """Real seconds between two looks of the reweigh job."""

    @field_validator("http_host")
    @classmethod
    def _http_host_not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError(
                "is blank, and an empty host makes the server listen on every interface; "
                "to listen on all interfaces deliberately set 0.0.0.0 (IPv4) or :: (IPv6), "
                "else leave it unset for 127.0.0.1"
            )
        return v

    @field_validator("http_allowed_origins")
    @classmethod
    def _origins_well_formed(cls, v: str) -> str:
        for origin in _split_origins(v):
            normalize_origin(origin)
        return v

    @field_validator("sites")
    @classmethod
    def _sites_well_formed(cls, v: str) -> str:
        parse_sites(v)
        return v

    @model_validator(mode="after")
    def _sites_or_site(self) -> CloudSettings:
        served = parse_sites(self.sites)
        if not served:
            return self
        names = [s for s, _ in served]
        if "layout" in self.model_fields_set:
            raise ValueError(
                "RFIDWMS_LAYOUT is set and so is RFIDWMS_SITES, which names each site's "
                "layout file: set one of them"
            )
        if "site" in self.model_fields_set and self.site not in names:
            raise ValueError(
                f"RFIDWMS_SITE is {self.site!r}, not one of the sites of RFIDWMS_SITES "
                f"({', '.join(names)}): leave it unset (the first site is the default)"
            )
        self.site = names[0]
        return self

    def served_sites(self) -> list[tuple[str, Path | None]]:
        """Each served site with its layout file (None: the bundled demo layout), the
        default one first: ``RFIDWMS_SITES``, else ``RFIDWMS_SITE`` and ``RFIDWMS_LAYOUT``."""
        return parse_sites(self.sites) or [(self.site, self.layout)]

    def load_sites(self) -> Sites:
        """The served sites with their layouts read (LayoutError naming a bad file,
        SiteError when two layouts share an id: :meth:`Sites.of`)."""
        return Sites.of((site, load_layout(path)) for site, path in self.served_sites())

    @field_validator("transit_times")
    @classmethod
    def _transit_times_well_formed(cls, v: str) -> str:
        parse_transit_times(v)
        return v

    def transit_time(self, from_site: str, to_site: str) -> timedelta:
        """The configured time on the road from one site to another."""
        return transit_time(
            parse_transit_times(self.transit_times),
            from_site,
            to_site,
            timedelta(minutes=self.transit_default_min),
        )

    @property
    def transfer_late_grace(self) -> timedelta:
        return timedelta(minutes=self.transfer_late_grace_min)

    @field_validator("ingest_client_id")
    @classmethod
    def _client_id(cls, v: str | None) -> str | None:
        if v is not None and not 1 <= len(v) <= 128:
            raise ValueError(f"ingest_client_id {v!r} must be 1-128 characters")
        return v

    @model_validator(mode="after")
    def _group_needs_a_client_id(self) -> CloudSettings:
        if self.ingest_group and not self.ingest_client_id:
            raise ValueError(
                f"RFIDWMS_INGEST_GROUP is set ({self.ingest_group!r}) but "
                "RFIDWMS_INGEST_CLIENT_ID is not: each ingester of a group needs its own "
                "client id that stays the same across restarts (e.g. ingest-1, ingest-2), "
                "or the messages the broker keeps for a session are stranded when it changes"
            )
        return self

    def mqtt_client_id(self) -> str:
        """The ingester's fixed MQTT client id (its persistent session's name); named
        for the default site when unset, which stays when more sites are added."""
        return self.ingest_client_id or f"rfidwms-ingest-{self.site}"

    @property
    def allowed_origins(self) -> frozenset[str]:
        """The ``http_allowed_origins``, normalised as :func:`normalize_origin` does."""
        return frozenset(normalize_origin(o) for o in _split_origins(self.http_allowed_origins))

    @property
    def mqtt_broker(self) -> str:
        """The MQTT URL without its password, for logs and ``/api/health``."""
        return redact_url(self.mqtt_url)

    @property
    def observations_retention(self) -> timedelta:
        return timedelta(hours=self.observations_retention_h)

    @property
    def reader_events_retention(self) -> timedelta:
        return timedelta(days=self.reader_events_retention_days)

    @property
    def reader_offline_after(self) -> timedelta:
        return timedelta(seconds=self.alerts_reader_offline_after_s)

    @property
    def edge_offline_after(self) -> timedelta:
        return timedelta(seconds=self.alerts_edge_offline_after_s)

    @property
    def variance_after(self) -> timedelta:
        return timedelta(seconds=self.variance_after_s)

    @property
    def short_receipt_grace(self) -> timedelta:
        return timedelta(minutes=self.short_receipt_grace_min)

    @property
    def pack_tolerance(self) -> Tolerance:
        """The packing weight check's tolerance (:mod:`cloud.warehouse.packing`)."""
        return Tolerance(
            self.pack_tolerance_pct, self.pack_tolerance_kg, self.pack_tolerance_case_share
        )

    @property
    def max_clock_skew(self) -> timedelta:
        return timedelta(seconds=self.ingest_max_clock_skew_s)

    @property
    def last_seen_resolution(self) -> timedelta:
        return timedelta(seconds=self.ingest_last_seen_resolution_s)

    @property
    def forecast_config(self) -> ForecastConfig:
        return ForecastConfig(
            history_days=self.forecast_history_days,
            holdout_days=self.forecast_holdout_days,
            policy=ReorderPolicy(
                self.forecast_lead_time_days,
                self.forecast_review_days,
                self.forecast_service_level,
            ),
            alert_horizon_days=self.forecast_alert_horizon_days,
        )

    @model_validator(mode="after")
    def _forecast_config_holds(self) -> CloudSettings:
        try:
            self.forecast_config  # noqa: B018 (built to check it)
        except ForecastError as e:
            raise ValueError(f"forecast_{e}") from None
        return self

    @property
    def webhook_retry(self) -> RetryPolicy:
        return RetryPolicy(
            first=timedelta(seconds=self.webhooks_retry_first_s),
            factor=self.webhooks_retry_factor,
            longest=timedelta(
                seconds=max(self.webhooks_retry_longest_s, self.webhooks_retry_first_s)
            ),
            max_attempts=self.webhooks_max_attempts,
        )

    @property
    def webhook_disable_rule(self) -> DisableRule:
        return DisableRule(
            failures=self.webhooks_disable_after_failures,
            span=timedelta(seconds=self.webhooks_disable_after_s),
        )
