"""GS1 EPCIS 2.0 JSON-LD serialisation: typed events in, EPCIS documents out. Pure.

An :class:`ObjectEvent` or :class:`AggregationEvent` becomes a JSON object of the
EPCIS 2.0 JSON binding (:func:`event_json`); a list of them an ``EPCISQueryDocument``
(:func:`query_document`, what a query answers) or an ``EPCISDocument``
(:func:`capture_document`). The documents validate against GS1's JSON schema
(``tests/data/epcis/EPCIS-JSON-Schema.json``, checked by the tests).

Identifiers (what :func:`sscc_uri`, :func:`sgtin_uri`, :func:`lgtin_class` and
:func:`location_uri` make):

- a pallet: its SSCC as an EPC pure-identity URI, ``urn:epc:id:sscc:0614141.1234567890``
  (from its SSCC-96 EPC, which knows the company prefix's length); a pallet known only
  by its 18-digit SSCC as a GS1 Digital Link URI, ``https://id.gs1.org/00/<sscc>``
  (EPCIS 2.0 accepts either form);
- a case: its SGTIN as ``urn:epc:id:sgtin:0614141.812345.6789``;
- cases counted but not identified one by one: a quantity of the class *item and lot*,
  ``https://id.gs1.org/01/<gtin>/10/<lot>`` (a Digital Link LGTIN: no company prefix
  length needed);
- a place: ``urn:rfidwms:site:<site>`` (the bizLocation) and
  ``urn:rfidwms:site:<site>:loc:<location>`` (the readPoint: a door, a zone), each part
  percent-encoded. The item master holds no GLNs, so an SGLN cannot be made; these
  private URNs name the same places the rest of the API does, and would give way to
  SGLNs once sites and locations carry GLNs.

Times are written in UTC with milliseconds and ``eventTimeZoneOffset`` ``+00:00``.
Event ids are ``urn:uuid:`` UUIDv5 of a key the caller gives (:func:`event_id`), so the
same event has the same id in every answer.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final
from urllib.parse import quote

from protocols.epc import EPCError, Sgtin96, Sscc96, decode_hex

CONTEXT: Final = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
"""The JSON-LD context of EPCIS 2.0 (GS1's published location)."""
SCHEMA_VERSION: Final = "2.0"
SIMPLE_EVENT_QUERY: Final = "SimpleEventQuery"

_EVENT_NAMESPACE: Final = uuid.UUID("0d5f3c1e-5b7e-4d8a-9a57-6c1f2e9b7a10")


class EpcisError(ValueError):
    """A value that cannot go into an EPCIS document; the message names it."""


class Action(StrEnum):
    OBSERVE = "OBSERVE"
    ADD = "ADD"
    DELETE = "DELETE"


class BizStep(StrEnum):
    """The CBV 2.0 business steps rfidwms writes."""

    RECEIVING = "receiving"
    STORING = "storing"
    PICKING = "picking"
    STAGING_OUTBOUND = "staging_outbound"
    SHIPPING = "shipping"
    CYCLE_COUNTING = "cycle_counting"
    INSPECTING = "inspecting"
    DESTROYING = "destroying"


CBV_BIZ_STEPS: Final = frozenset(
    "accepting arriving assembling collecting commissioning consigning "
    "creating_class_instance cycle_counting decommissioning departing destroying "
    "disassembling dispensing encoding entering_exiting holding inspecting installing "
    "killing loading other packing picking receiving removing repackaging repairing "
    "replacing reserving retail_selling shipping staging_outbound stock_taking stocking "
    "storing transporting unloading unpacking void_shipping sensor_reporting "
    "sampling".split()
)
"""Every business step of CBV 2.0 (a query may name one rfidwms never writes)."""


class Disposition(StrEnum):
    """The CBV 2.0 dispositions rfidwms writes."""

    IN_PROGRESS = "in_progress"
    IN_TRANSIT = "in_transit"
    SELLABLE_ACCESSIBLE = "sellable_accessible"
    SELLABLE_NOT_ACCESSIBLE = "sellable_not_accessible"
    NON_SELLABLE_OTHER = "non_sellable_other"
    DAMAGED = "damaged"
    RETURNED = "returned"
    DESTROYED = "destroyed"
    UNKNOWN = "unknown"


_BIZSTEP_PREFIXES: Final = ("https://ref.gs1.org/cbv/BizStep-", "urn:epcglobal:cbv:bizstep:")


def biz_step_word(text: str) -> str:
    """The CBV word of a business step given bare (``receiving``) or as a URI
    (``https://ref.gs1.org/cbv/BizStep-receiving``, ``urn:epcglobal:cbv:bizstep:receiving``);
    EpcisError naming it when it is not a CBV 2.0 step."""
    word = text
    for prefix in _BIZSTEP_PREFIXES:
        if text.startswith(prefix):
            word = text[len(prefix) :]
    if word not in CBV_BIZ_STEPS:
        raise EpcisError(f"{text!r} is not a CBV 2.0 business step")
    return word


# -- identifiers ------------------------------------------------------------------------


def sscc_uri(sscc: str, epc: str | None = None) -> str:
    """A pallet's identifier: the SSCC's EPC URI from its SSCC-96 ``epc`` (hex), or its
    GS1 Digital Link URI when only the 18-digit ``sscc`` is known."""
    if epc is not None:
        try:
            decoded = decode_hex(epc)
        except EPCError as e:
            raise EpcisError(f"pallet EPC {epc!r}: {e}") from None
        if not isinstance(decoded, Sscc96):
            raise EpcisError(f"pallet EPC {epc!r} is a {decoded.scheme}, not an SSCC-96")
        return decoded.uri
    if len(sscc) != 18 or not sscc.isdigit():
        raise EpcisError(f"SSCC {sscc!r} is not 18 digits")
    return f"https://id.gs1.org/00/{sscc}"


def sgtin_uri(epc: str) -> str:
    """A case's SGTIN pure-identity URI from its SGTIN-96 EPC (hex)."""
    try:
        decoded = decode_hex(epc)
    except EPCError as e:
        raise EpcisError(f"case EPC {epc!r}: {e}") from None
    if not isinstance(decoded, Sgtin96):
        raise EpcisError(f"case EPC {epc!r} is a {decoded.scheme}, not an SGTIN-96")
    return decoded.uri


def lgtin_class(gtin: str, lot: str) -> str:
    """The class *item and lot* as a GS1 Digital Link URI (quantities of cases)."""
    if len(gtin) != 14 or not gtin.isdigit():
        raise EpcisError(f"GTIN {gtin!r} is not 14 digits")
    return f"https://id.gs1.org/01/{gtin}/10/{quote(lot, safe='')}"


def location_uri(site: str, location: str | None = None) -> str:
    """A site (the bizLocation) or a place in it (the readPoint): door, zone, in_transit."""
    if not site:
        raise EpcisError("site: empty")
    uri = f"urn:rfidwms:site:{quote(site, safe='')}"
    return uri if location is None else f"{uri}:loc:{quote(location, safe='')}"


def event_id(key: str) -> str:
    """A stable event id (``urn:uuid:``, UUIDv5) for the event the caller keys ``key``."""
    return uuid.uuid5(_EVENT_NAMESPACE, key).urn


# -- events -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Quantity:
    """``quantity`` of the class ``epc_class`` (see :func:`lgtin_class`)."""

    epc_class: str
    quantity: int


@dataclass(frozen=True, slots=True)
class BizTransaction:
    """A business transaction: ``type`` a CBV word (``desadv``, ``po`` ...), ``uri`` its id."""

    uri: str
    type: str | None = None


@dataclass(frozen=True, slots=True)
class Where:
    read_point: str
    biz_location: str


@dataclass(frozen=True, slots=True)
class ObjectEvent:
    event_id: str
    event_time: datetime
    record_time: datetime | None
    action: Action
    biz_step: BizStep
    disposition: Disposition | None
    where: Where
    epcs: tuple[str, ...] = ()
    quantities: tuple[Quantity, ...] = ()
    biz_transactions: tuple[BizTransaction, ...] = ()

    def __post_init__(self) -> None:
        if not self.epcs and not self.quantities:
            raise EpcisError(f"ObjectEvent {self.event_id}: neither EPCs nor quantities")

    def names(self) -> frozenset[str]:
        return frozenset(self.epcs)


@dataclass(frozen=True, slots=True)
class AggregationEvent:
    event_id: str
    event_time: datetime
    record_time: datetime | None
    action: Action
    parent_id: str
    biz_step: BizStep
    disposition: Disposition | None
    where: Where
    child_epcs: tuple[str, ...] = ()
    child_quantities: tuple[Quantity, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.action is not Action.DELETE and not self.child_epcs and not self.child_quantities:
            raise EpcisError(
                f"AggregationEvent {self.event_id}: an {self.action.value} names its children"
            )

    def names(self) -> frozenset[str]:
        return frozenset((self.parent_id, *self.child_epcs))


Event = ObjectEvent | AggregationEvent


def format_time(t: datetime) -> str:
    """UTC, milliseconds, ``Z``; a naive time is an error (its zone is not known)."""
    if t.tzinfo is None:
        raise EpcisError(f"time {t.isoformat()!r} has no time zone")
    u = t.astimezone(UTC)
    return u.strftime("%Y-%m-%dT%H:%M:%S.") + f"{u.microsecond // 1000:03d}Z"


def _quantities(qs: Sequence[Quantity]) -> list[dict[str, Any]]:
    return [{"epcClass": q.epc_class, "quantity": q.quantity} for q in qs]


def event_json(event: Event) -> dict[str, Any]:
    """The event as an object of the EPCIS 2.0 JSON binding (without ``@context``: the
    document's applies)."""
    out: dict[str, Any] = {
        "type": type(event).__name__,
        "eventID": event.event_id,
        "eventTime": format_time(event.event_time),
        "eventTimeZoneOffset": "+00:00",
    }
    if event.record_time is not None:
        out["recordTime"] = format_time(event.record_time)
    if isinstance(event, ObjectEvent):
        out["epcList"] = list(event.epcs)
        if event.quantities:
            out["quantityList"] = _quantities(event.quantities)
        out["action"] = event.action.value
    else:
        out["parentID"] = event.parent_id
        if event.child_epcs:
            out["childEPCs"] = list(event.child_epcs)
        if event.child_quantities:
            out["childQuantityList"] = _quantities(event.child_quantities)
        out["action"] = event.action.value
    out["bizStep"] = event.biz_step.value
    if event.disposition is not None:
        out["disposition"] = event.disposition.value
    out["readPoint"] = {"id": event.where.read_point}
    out["bizLocation"] = {"id": event.where.biz_location}
    if isinstance(event, ObjectEvent) and event.biz_transactions:
        out["bizTransactionList"] = [
            {"bizTransaction": b.uri} | ({"type": b.type} if b.type else {})
            for b in event.biz_transactions
        ]
    return out


def query_document(
    events: Iterable[Event], *, created: datetime, query_name: str = SIMPLE_EVENT_QUERY
) -> dict[str, Any]:
    """An ``EPCISQueryDocument``: the answer of the EPCIS query interface."""
    return {
        "@context": [CONTEXT],
        "type": "EPCISQueryDocument",
        "schemaVersion": SCHEMA_VERSION,
        "creationDate": format_time(created),
        "epcisBody": {
            "queryResults": {
                "queryName": query_name,
                "resultsBody": {"eventList": [event_json(e) for e in events]},
            }
        },
    }


def capture_document(events: Iterable[Event], *, created: datetime) -> dict[str, Any]:
    """An ``EPCISDocument``: events to capture into another EPCIS repository."""
    return {
        "@context": [CONTEXT],
        "type": "EPCISDocument",
        "schemaVersion": SCHEMA_VERSION,
        "creationDate": format_time(created),
        "epcisBody": {"eventList": [event_json(e) for e in events]},
    }
