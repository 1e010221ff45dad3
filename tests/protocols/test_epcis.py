"""EPCIS 2.0 serialisation: typed events to JSON-LD documents that GS1's JSON schema
accepts, and the identifiers in them (EPC URIs, Digital Link, places)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta, timezone

import pytest
from epciskit import gs1_example, schema_errors

from protocols.epc import Sgtin96, Sscc96
from protocols.epcis import (
    CONTEXT,
    Action,
    AggregationEvent,
    BizStep,
    BizTransaction,
    Disposition,
    EpcisError,
    ObjectEvent,
    Quantity,
    Where,
    biz_step_word,
    capture_document,
    event_id,
    event_json,
    format_time,
    lgtin_class,
    location_uri,
    query_document,
    sgtin_uri,
    sscc_uri,
)

T = datetime(2025, 3, 3, 8, 0, 1, 234567, tzinfo=UTC)
PALLET = Sscc96(company_prefix="0614141", serial_reference="1234567890")
CASE = Sgtin96(company_prefix="0614141", item_reference="812345", serial=6789, filter=3)
WHERE = Where(location_uri("dc-1", "door-1"), location_uri("dc-1"))
EXAMPLES = ["Example_9.6.1-ObjectEvent.jsonld", "Example_9.6.3-AggregationEvent.jsonld"]


def receiving() -> ObjectEvent:
    return ObjectEvent(
        event_id=event_id("receipt-1"),
        event_time=T,
        record_time=T + timedelta(seconds=1),
        action=Action.OBSERVE,
        biz_step=BizStep.RECEIVING,
        disposition=Disposition.IN_PROGRESS,
        where=WHERE,
        epcs=(sscc_uri(PALLET.sscc, PALLET.to_hex()),),
        biz_transactions=(BizTransaction("urn:rfidwms:asn:ASN-1", "desadv"),),
    )


def packed() -> AggregationEvent:
    return AggregationEvent(
        event_id=event_id("receipt-1:aggregation"),
        event_time=T,
        record_time=None,
        action=Action.ADD,
        parent_id=sscc_uri(PALLET.sscc, PALLET.to_hex()),
        biz_step=BizStep.RECEIVING,
        disposition=Disposition.IN_PROGRESS,
        where=WHERE,
        child_epcs=(sgtin_uri(CASE.to_hex()),),
    )


def loose_cases() -> ObjectEvent:
    return ObjectEvent(
        event_id=event_id("move-1"),
        event_time=T,
        record_time=None,
        action=Action.OBSERVE,
        biz_step=BizStep.STORING,
        disposition=Disposition.SELLABLE_ACCESSIBLE,
        where=Where(location_uri("dc-1", "zone-b"), location_uri("dc-1")),
        quantities=(Quantity(lgtin_class("00614141123452", "L 7/a"), 4),),
    )


def cases_off() -> AggregationEvent:
    return AggregationEvent(
        event_id=event_id("move-1:off"),
        event_time=T,
        record_time=None,
        action=Action.DELETE,
        parent_id=sscc_uri(PALLET.sscc),
        biz_step=BizStep.STORING,
        disposition=None,
        where=WHERE,
        child_quantities=(Quantity(lgtin_class("00614141123452", "L7"), 4),),
    )


# -- the validator: GS1's examples pass, a broken one fails ------------------------------


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_gs1_examples_pass_the_gs1_schema(name):
    assert schema_errors(gs1_example(name)) == []


@pytest.mark.parametrize(
    ("breakage", "error"),
    [
        (lambda e: e.pop("eventTimeZoneOffset"), "'eventTimeZoneOffset' is a required"),
        (lambda e: e.update(action="MOVE"), "'MOVE' is not one of"),
        (lambda e: e.update(eventTime="yesterday"), "is not a 'date-time'"),
        (lambda e: e.update(readPoint={"id": "door 1"}), "is not a 'uri'"),
        (lambda e: e.update(bizStep="urn:epcglobal:cbv:bizstep:shipping"), "bizStep"),
        (lambda e: e.update(eventTimeZoneOffset="+25:00"), "does not match"),
    ],
)
def test_a_broken_gs1_example_fails_the_schema(breakage, error):
    doc = copy.deepcopy(gs1_example(EXAMPLES[0]))
    breakage(doc["epcisBody"]["eventList"][0])
    errors = schema_errors(doc)
    assert errors and any(error in e for e in errors), errors


# -- documents ---------------------------------------------------------------------------


def test_a_query_document_of_every_kind_of_event_passes_the_gs1_schema():
    doc = query_document(
        [receiving(), packed(), loose_cases(), cases_off()], created=T + timedelta(hours=1)
    )
    assert schema_errors(doc) == []
    assert doc["type"] == "EPCISQueryDocument" and doc["@context"] == [CONTEXT]
    assert doc["epcisBody"]["queryResults"]["queryName"] == "SimpleEventQuery"
    events = doc["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert [e["type"] for e in events] == [
        "ObjectEvent",
        "AggregationEvent",
        "ObjectEvent",
        "AggregationEvent",
    ]


def test_a_capture_document_passes_the_gs1_schema_and_an_empty_one_too():
    assert schema_errors(capture_document([receiving(), packed()], created=T)) == []
    assert schema_errors(capture_document([], created=T)) == []
    assert schema_errors(query_document([], created=T)) == []


def test_an_object_event_is_written_as_the_json_binding_writes_it():
    assert event_json(receiving()) == {
        "type": "ObjectEvent",
        "eventID": event_id("receipt-1"),
        "eventTime": "2025-03-03T08:00:01.234Z",
        "eventTimeZoneOffset": "+00:00",
        "recordTime": "2025-03-03T08:00:02.234Z",
        "epcList": ["urn:epc:id:sscc:0614141.1234567890"],
        "action": "OBSERVE",
        "bizStep": "receiving",
        "disposition": "in_progress",
        "readPoint": {"id": "urn:rfidwms:site:dc-1:loc:door-1"},
        "bizLocation": {"id": "urn:rfidwms:site:dc-1"},
        "bizTransactionList": [{"bizTransaction": "urn:rfidwms:asn:ASN-1", "type": "desadv"}],
    }


def test_an_aggregation_names_its_parent_and_children_and_a_delete_may_give_quantities():
    add = event_json(packed())
    assert (add["action"], add["parentID"], add["childEPCs"]) == (
        "ADD",
        "urn:epc:id:sscc:0614141.1234567890",
        ["urn:epc:id:sgtin:0614141.812345.6789"],
    )
    off = event_json(cases_off())
    assert off["action"] == "DELETE" and "childEPCs" not in off and "disposition" not in off
    assert off["childQuantityList"] == [
        {"epcClass": "https://id.gs1.org/01/00614141123452/10/L7", "quantity": 4}
    ]


def test_an_event_without_objects_is_refused():
    with pytest.raises(EpcisError, match="neither EPCs nor quantities"):
        ObjectEvent(event_id(""), T, None, Action.OBSERVE, BizStep.SHIPPING, None, WHERE, (), ())
    with pytest.raises(EpcisError, match="an ADD names its children"):
        AggregationEvent(
            event_id(""), T, None, Action.ADD, sscc_uri(PALLET.sscc), BizStep.RECEIVING, None, WHERE
        )


# -- identifiers and values ------------------------------------------------------------------


def test_a_pallet_is_its_sscc_uri_or_its_digital_link_when_only_the_sscc_is_known():
    assert sscc_uri(PALLET.sscc, PALLET.to_hex()) == "urn:epc:id:sscc:0614141.1234567890"
    assert sscc_uri(PALLET.sscc) == f"https://id.gs1.org/00/{PALLET.sscc}"
    with pytest.raises(EpcisError, match="not an SSCC-96"):
        sscc_uri(PALLET.sscc, CASE.to_hex())
    with pytest.raises(EpcisError, match="not 18 digits"):
        sscc_uri("12345")


def test_a_case_is_its_sgtin_uri_whatever_its_filter():
    assert sgtin_uri(CASE.to_hex()) == "urn:epc:id:sgtin:0614141.812345.6789"
    with pytest.raises(EpcisError, match="not an SGTIN-96"):
        sgtin_uri(PALLET.to_hex())
    with pytest.raises(EpcisError, match="case EPC"):
        sgtin_uri("XYZ")


def test_classes_and_places_are_uris_with_their_parts_escaped():
    assert (
        lgtin_class("00614141123452", "L 7/a")
        == "https://id.gs1.org/01/00614141123452/10/L%207%2Fa"
    )
    assert location_uri("dc 1", "zone:b") == "urn:rfidwms:site:dc%201:loc:zone%3Ab"
    with pytest.raises(EpcisError, match="GTIN"):
        lgtin_class("123", "L1")


def test_times_are_utc_with_milliseconds_and_a_naive_time_is_refused():
    plus2 = datetime(2025, 3, 3, 10, 0, 0, 5000, tzinfo=timezone(timedelta(hours=2)))
    assert format_time(plus2) == "2025-03-03T08:00:00.005Z"
    with pytest.raises(EpcisError, match="no time zone"):
        format_time(datetime(2025, 3, 3))


def test_event_ids_are_stable_uuid_urns_of_their_key():
    assert event_id("a") == event_id("a") != event_id("b")
    assert event_id("a").startswith("urn:uuid:")


@pytest.mark.parametrize(
    ("given", "word"),
    [
        ("receiving", "receiving"),
        ("https://ref.gs1.org/cbv/BizStep-shipping", "shipping"),
        ("urn:epcglobal:cbv:bizstep:storing", "storing"),
        ("void_shipping", "void_shipping"),
    ],
)
def test_a_business_step_is_read_bare_or_as_a_cbv_uri(given, word):
    assert biz_step_word(given) == word


@pytest.mark.parametrize("bad", ["Receiving", "moving", "https://ref.gs1.org/cbv/BizStep-"])
def test_a_word_not_of_cbv_is_not_a_business_step(bad):
    with pytest.raises(EpcisError, match=r"not a CBV 2\.0 business step"):
        biz_step_word(bad)
