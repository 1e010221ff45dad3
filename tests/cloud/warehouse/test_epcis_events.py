"""Ledger postings told as EPCIS events (cloud/warehouse/epcis.py): which posting is
which event, step, disposition, place and objects; the page of events."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from epciskit import schema_errors
from hypothesis import given, settings
from hypothesis import strategies as st

from cloud.warehouse.epcis import (
    PalletCases,
    Posting,
    PostingLine,
    count_kinds_of_steps,
    kinds_of_steps,
    page_of_events,
    posting_events,
    return_kinds_of_steps,
)
from cloud.warehouse.ledger import CauseKind, EntryKind, StockState
from protocols.epc import Sgtin96, Sscc96
from protocols.epcis import AggregationEvent, ObjectEvent, event_json, query_document

T = datetime(2025, 3, 3, 8, tzinfo=UTC)
GTIN = "00614141123452"
P1 = Sscc96(company_prefix="0614141", serial_reference="1000000001")
P2 = Sscc96(company_prefix="0614141", serial_reference="1000000002")
CASES = tuple(
    Sgtin96.from_gtin(GTIN, company_prefix_length=7, serial=n, filter=0).to_hex() for n in (1, 2)
)
K, S = EntryKind, StockState
P1_URI = "urn:epc:id:sscc:0614141.1000000001"
CLASS = f"https://id.gs1.org/01/{GTIN}/10/L1"


def line(
    location: str,
    qty: int,
    *,
    state: S = S.AVAILABLE,
    pallet: Sscc96 | None = P1,
    site: str = "dc-1",
    asn: str | None = None,
    entry: int = 1,
) -> PostingLine:
    return PostingLine(
        entry,
        site,
        GTIN,
        "L1",
        location,
        state,
        pallet.sscc if pallet else None,
        pallet.to_hex() if pallet else None,
        qty,
        asn,
    )


def posting(kind: EntryKind, *lines: PostingLine, n: int = 7) -> Posting:
    return Posting(n, kind, T, T + timedelta(seconds=1), lines)


PALLETS = {("dc-1", P1.sscc): PalletCases("dc-1", P1.sscc, 7, CASES)}


def summary(events) -> list[tuple]:
    out = []
    for e in events:
        j = event_json(e)
        objects = j.get("epcList") or [q["epcClass"] for q in j.get("quantityList", [])]
        if isinstance(e, AggregationEvent):
            objects = [j["parentID"], *j.get("childEPCs", [])] + [
                f"{q['quantity']}x" for q in j.get("childQuantityList", [])
            ]
        out.append(
            (
                j["type"],
                j["action"],
                j["bizStep"],
                j.get("disposition"),
                j["readPoint"]["id"].rsplit(":", 1)[-1],
                j["bizLocation"]["id"],
                objects,
            )
        )
    return out


SITE = "urn:rfidwms:site:dc-1"


@pytest.mark.parametrize(
    ("p", "expected"),
    [
        pytest.param(
            posting(K.RECEIPT, line("door-1", 2, asn="ASN-1")),
            [
                ("ObjectEvent", "OBSERVE", "receiving", "in_progress", "door-1", SITE, [P1_URI]),
                (
                    "AggregationEvent",
                    "ADD",
                    "receiving",
                    "in_progress",
                    "door-1",
                    SITE,
                    [
                        P1_URI,
                        "urn:epc:id:sgtin:0614141.012345.1",
                        "urn:epc:id:sgtin:0614141.012345.2",
                    ],
                ),
            ],
            id="the first receipt of a pallet: object and aggregation ADD",
        ),
        pytest.param(
            posting(K.RECEIPT, line("door-1", 1), n=9),
            [("ObjectEvent", "OBSERVE", "receiving", "in_progress", "door-1", SITE, [P1_URI])],
            id="a later receipt onto the pallet: no second aggregation",
        ),
        pytest.param(
            posting(K.RECEIPT, line("door-2", 5, state=S.QUARANTINE, pallet=None)),
            [
                (
                    "ObjectEvent",
                    "OBSERVE",
                    "receiving",
                    "non_sellable_other",
                    "door-2",
                    SITE,
                    [CLASS],
                )
            ],
            id="loose cases into quarantine: a quantity, not sellable",
        ),
        pytest.param(
            posting(K.PUTAWAY, line("door-1", -2), line("zone-a", 2, entry=2)),
            [
                (
                    "ObjectEvent",
                    "OBSERVE",
                    "storing",
                    "sellable_accessible",
                    "zone-a",
                    SITE,
                    [P1_URI],
                )
            ],
            id="put-away: storing where it goes",
        ),
        pytest.param(
            posting(
                K.MOVE,
                line("zone-a", -2, state=S.QUARANTINE),
                line("zone-b", 2, state=S.QUARANTINE, entry=2),
            ),
            [("ObjectEvent", "OBSERVE", "storing", "non_sellable_other", "zone-b", SITE, [P1_URI])],
            id="a move keeps the state's disposition",
        ),
        pytest.param(
            posting(
                K.PICK,
                line("zone-a", -2, state=S.RESERVED),
                line("packing", 2, state=S.RESERVED, entry=2),
            ),
            [("ObjectEvent", "OBSERVE", "picking", "in_progress", "packing", SITE, [P1_URI])],
            id="a pick",
        ),
        pytest.param(
            posting(K.SHIP, line("door-3", -2, state=S.RESERVED)),
            [("ObjectEvent", "OBSERVE", "shipping", "in_transit", "door-3", SITE, [P1_URI])],
            id="a ship: out through the door",
        ),
        pytest.param(
            posting(
                K.DISPATCH,
                line("door-3", -2, state=S.RESERVED),
                line("in_transit", 2, state=S.IN_TRANSIT, site="dc-2", entry=2),
            ),
            [("ObjectEvent", "OBSERVE", "shipping", "in_transit", "door-3", SITE, [P1_URI])],
            id="a dispatch to another site: where and from which site it left",
        ),
        pytest.param(
            posting(
                K.ARRIVE,
                line("in_transit", -2, state=S.IN_TRANSIT, site="dc-2"),
                line("door-1", 2, site="dc-2", entry=2),
            ),
            [
                (
                    "ObjectEvent",
                    "OBSERVE",
                    "receiving",
                    "in_progress",
                    "door-1",
                    "urn:rfidwms:site:dc-2",
                    [P1_URI],
                )
            ],
            id="an arrival: received at the site it reached",
        ),
        pytest.param(
            posting(K.MOVE, line("zone-a", -3), line("zone-b", 3, pallet=None, entry=2)),
            [
                (
                    "ObjectEvent",
                    "OBSERVE",
                    "storing",
                    "sellable_accessible",
                    "zone-b",
                    SITE,
                    [CLASS],
                ),
                (
                    "AggregationEvent",
                    "DELETE",
                    "storing",
                    "sellable_accessible",
                    "zone-b",
                    SITE,
                    [P1_URI, "3x"],
                ),
            ],
            id="cases taken off a pallet: aggregation DELETE",
        ),
        pytest.param(
            posting(K.MOVE, line("zone-a", -3), line("zone-b", 3, pallet=P2, entry=2)),
            [
                (
                    "ObjectEvent",
                    "OBSERVE",
                    "storing",
                    "sellable_accessible",
                    "zone-b",
                    SITE,
                    [P2.uri],
                ),
                (
                    "AggregationEvent",
                    "DELETE",
                    "storing",
                    "sellable_accessible",
                    "zone-b",
                    SITE,
                    [P1_URI, "3x"],
                ),
                (
                    "AggregationEvent",
                    "ADD",
                    "storing",
                    "sellable_accessible",
                    "zone-b",
                    SITE,
                    [P2.uri, "3x"],
                ),
            ],
            id="cases moved onto another pallet: DELETE from one, ADD to the other",
        ),
        pytest.param(
            posting(K.RESERVE, line("zone-a", -2), line("zone-a", 2, state=S.RESERVED)),
            [],
            id="a reservation moves nothing: no event",
        ),
        pytest.param(
            posting(K.ADJUST, line("zone-a", -1)),
            [],
            id="an adjustment neither a return nor a count caused: none",
        ),
    ],
)
def test_each_posting_is_its_events(p, expected):
    events = posting_events(p, PALLETS)
    assert summary(events) == expected
    assert schema_errors(query_document(events, created=T)) == []


@pytest.mark.parametrize(
    ("p", "step", "disposition"),
    [
        (
            posting(
                K.PICK,
                line("packing", -2, state=S.RESERVED),
                line("door-1", 2, state=S.RESERVED, entry=2),
            ),
            "staging_outbound",
            "in_progress",
        ),
        (
            posting(K.MOVE, line("zone-a", -2), line("door-2", 2, entry=2)),
            "staging_outbound",
            "sellable_accessible",
        ),
        (
            posting(K.MOVE, line("door-2", -2), line("zone-a", 2, entry=2)),
            "storing",
            "sellable_accessible",
        ),
    ],
)
def test_a_pick_or_move_to_a_door_is_staging_for_shipping(p, step, disposition):
    (e,) = posting_events(p, PALLETS, frozenset({"door-1", "door-2"}))
    assert (e.biz_step.value, e.disposition and e.disposition.value) == (step, disposition)
    (plain,) = posting_events(p, PALLETS)  # no doors known: the kind's own step
    assert plain.biz_step.value in ("picking", "storing")


def test_a_page_keeps_only_the_events_of_the_steps_asked():
    p = [
        posting(K.PICK, line("zone-a", -1, state=S.RESERVED),
                line("door-1", 1, state=S.RESERVED, entry=2), n=1),
        posting(K.PICK, line("zone-a", -1, state=S.RESERVED),
                line("packing", 1, state=S.RESERVED, entry=2), n=2),
    ]  # fmt: skip
    page = page_of_events(
        p,
        {},
        per_page=10,
        more=False,
        steps=frozenset({"staging_outbound"}),
        doors=frozenset({"door-1"}),
    )
    assert [(e.biz_step.value, e.where.read_point[-6:]) for e in page.events] == [
        ("staging_outbound", "door-1")
    ]


def test_a_receipt_names_its_notice_as_a_despatch_advice():
    (obj, _) = posting_events(posting(K.RECEIPT, line("door-1", 2, asn="ASN-1")), PALLETS)
    assert isinstance(obj, ObjectEvent)
    assert event_json(obj)["bizTransactionList"] == [
        {"bizTransaction": "urn:rfidwms:asn:ASN-1", "type": "desadv"}
    ]


def test_a_pallet_known_only_by_its_sscc_is_its_digital_link():
    bare = replace(line("door-1", 2), pallet_epc=None)
    (obj,) = posting_events(posting(K.RECEIPT, bare, n=1), {})
    assert event_json(obj)["epcList"] == [f"https://id.gs1.org/00/{P1.sscc}"]


def test_event_ids_are_the_same_in_every_answer_and_differ_between_events():
    p = posting(K.RECEIPT, line("door-1", 2))
    a, b = posting_events(p, PALLETS), posting_events(p, PALLETS)
    assert [e.event_id for e in a] == [e.event_id for e in b]
    assert len({e.event_id for e in a}) == 2


def test_steps_name_their_ledger_kinds():
    assert kinds_of_steps(["receiving"]) == {K.RECEIPT, K.ARRIVE}
    assert kinds_of_steps(["storing", "shipping"]) == {K.PUTAWAY, K.MOVE, K.SHIP, K.DISPATCH}
    assert kinds_of_steps(["void_shipping"]) == set()
    assert kinds_of_steps(["staging_outbound"]) == {K.PICK, K.MOVE}


def _ships(n: int) -> list[Posting]:
    return [posting(K.SHIP, line("door-1", -1, state=S.RESERVED), n=i) for i in range(1, n + 1)]


@pytest.mark.parametrize(
    ("postings", "per_page", "more", "events", "last"),
    [
        (_ships(3), 2, False, 2, 2),
        (_ships(3), 3, False, 3, None),
        (_ships(3), 5, True, 3, 3),
        # a receipt's two events are never split: the page stops before it
        ([*_ships(1), posting(K.RECEIPT, line("door-1", 2), n=7)], 2, False, 1, 1),
        # ... unless it is the page's first posting
        ([posting(K.RECEIPT, line("door-1", 2), n=7)], 1, True, 2, 7),
        ([], 10, False, 0, None),
    ],
)
def test_a_page_holds_whole_postings_up_to_its_size(postings, per_page, more, events, last):
    page = page_of_events(postings, PALLETS, per_page=per_page, more=more)
    assert (len(page.events), page.last_posting) == (events, last)


def test_a_page_keeps_only_the_events_naming_an_epc_or_of_a_type():
    p = [posting(K.RECEIPT, line("door-1", 2), n=7)]
    case = "urn:epc:id:sgtin:0614141.012345.2"
    page = page_of_events(p, PALLETS, per_page=10, more=False, names=frozenset({case}))
    assert [type(e).__name__ for e in page.events] == ["AggregationEvent"]
    page = page_of_events(
        p, PALLETS, per_page=10, more=False, event_types=frozenset({"ObjectEvent"})
    )
    assert [type(e).__name__ for e in page.events] == ["ObjectEvent"]


_LOCATIONS = st.sampled_from(["door-1", "zone-a", "zone b/ü", "packing"])


@st.composite
def postings(draw) -> Posting:
    kind = draw(st.sampled_from(list(K)))
    pallet = draw(st.sampled_from([P1, P2, None]))
    target_pallet = draw(st.sampled_from([pallet, P1, P2, None]))
    qty = draw(st.integers(1, 500))
    state = draw(st.sampled_from([s for s in S if s is not S.IN_TRANSIT]))
    lot = draw(st.text("AZ09 -/", min_size=1, max_size=8))
    asn = draw(st.sampled_from([None, "ASN-1"]))
    cause, ref, action = draw(
        st.sampled_from(
            [
                (None, None, None),
                (CauseKind.RETURN, "RMA-1", None),
                (CauseKind.COUNT, "variance:3", None),
                (CauseKind.SCAN, "8", "count"),
                (CauseKind.SCAN, "9", "move"),
            ]
        )
    )

    def ln(location, q, entry, p, site="dc-1", s=state):
        return PostingLine(
            entry, site, GTIN, lot, location, s, p.sscc if p else None,
            p.to_hex() if p else None, q, asn,
        )  # fmt: skip

    a, b = draw(_LOCATIONS), draw(_LOCATIONS)
    if kind is K.RECEIPT:
        lines = (ln(a, qty, 1, pallet),)
    elif kind is K.ADJUST:
        lines = (ln(a, draw(st.sampled_from([qty, -qty])), 1, pallet),)
    elif kind is K.SHIP:
        lines = (ln(a, -qty, 1, pallet, s=S.RESERVED),)
    elif kind is K.DISPATCH:
        lines = (ln(a, -qty, 1, pallet), ln("in_transit", qty, 2, pallet, "dc-2", S.IN_TRANSIT))
    elif kind is K.ARRIVE:
        lines = (ln("in_transit", -qty, 1, pallet, "dc-2", S.IN_TRANSIT), ln(b, qty, 2, pallet))
    else:
        lines = (ln(a, -qty, 1, pallet), ln(b, qty, 2, target_pallet))
    n = draw(st.integers(1, 10))
    return Posting(n, kind, T, T + timedelta(seconds=1), lines, cause, ref, action)


@settings(max_examples=60, deadline=None)
@given(st.lists(postings(), max_size=6), st.booleans())
def test_every_posting_makes_events_the_gs1_schema_accepts(ps, known_cases):
    pallets = PALLETS if known_cases else {}
    events = [e for p in ps for e in posting_events(p, pallets, frozenset({"door-1"}))]
    assert schema_errors(query_document(events, created=T)) == []
    assert all(e.event_id.startswith("urn:uuid:") for e in events)


# -- returns ---------------------------------------------------------------------------


def returned(kind: EntryKind, *lines: PostingLine, n: int = 9) -> Posting:
    return Posting(
        n, kind, T, T + timedelta(seconds=1), lines, cause=CauseKind.RETURN, cause_ref="RMA-4"
    )


@pytest.mark.parametrize(
    ("p", "expected"),
    [
        (  # back through the door into quarantine: received, returned (no aggregation:
            # the pallet's first receipt was long before)
            returned(K.RECEIPT, line("door-1", 2, state=S.QUARANTINE)),
            [("ObjectEvent", "OBSERVE", "receiving", "returned", "door-1", SITE, [P1_URI])],
        ),
        (  # restocked where it is: inspected, sellable; the cases decided, not the pallet
            returned(
                K.RELEASE,
                line("zone-a", -2, state=S.QUARANTINE),
                line("zone-a", 2, entry=2),
            ),
            [
                (
                    "ObjectEvent",
                    "OBSERVE",
                    "inspecting",
                    "sellable_accessible",
                    "zone-a",
                    SITE,
                    [CLASS],
                )
            ],
        ),
        (  # written off: destroyed
            returned(K.ADJUST, line("zone-a", -1, state=S.QUARANTINE)),
            [("ObjectEvent", "OBSERVE", "destroying", "destroyed", "zone-a", SITE, [CLASS])],
        ),
        (  # a loose case back
            returned(K.RECEIPT, line("door-2", 1, state=S.QUARANTINE, pallet=None)),
            [("ObjectEvent", "OBSERVE", "receiving", "returned", "door-2", SITE, [CLASS])],
        ),
    ],
)
def test_a_returns_receipt_inspection_and_write_off_are_their_cbv_events(p, expected):
    first_receipt_before = {("dc-1", P1.sscc): PalletCases("dc-1", P1.sscc, 1, CASES)}
    events = posting_events(p, first_receipt_before)
    assert summary(events) == expected
    (e,) = events
    assert event_json(e)["bizTransactionList"] == [
        {"bizTransaction": "urn:rfidwms:rma:RMA-4", "type": "rma"}
    ]
    assert schema_errors(query_document(events, created=T)) == []


def test_a_release_or_adjust_no_return_caused_is_no_event():
    release = posting(K.RELEASE, line("zone-a", -2, state=S.QUARANTINE), line("zone-a", 2, entry=2))
    adjust = posting(K.ADJUST, line("zone-a", -1))
    assert posting_events(release, PALLETS) == []
    assert posting_events(adjust, PALLETS) == []
    # a return's adjust that adds (none is posted today) tells nothing either
    assert posting_events(returned(K.ADJUST, line("zone-a", 1)), PALLETS) == []


def test_return_steps_name_their_ledger_kinds():
    assert return_kinds_of_steps(["receiving"]) == {K.RECEIPT}
    assert return_kinds_of_steps(["inspecting", "destroying"]) == {K.RELEASE, K.ADJUST}
    assert return_kinds_of_steps(["storing"]) == set()


# -- counts ----------------------------------------------------------------------------


def counted(kind: EntryKind, *lines: PostingLine, handheld: bool = False, n: int = 11) -> Posting:
    """A posting an approved variance caused, or (``handheld``) a handheld count scan."""
    if handheld:
        cause, ref, action = CauseKind.SCAN, "31", "count"
    else:
        cause, ref, action = CauseKind.COUNT, "variance:12", None
    return Posting(n, kind, T, T + timedelta(seconds=1), lines, cause, ref, action)


def cc(disposition: str, where: str, objects: list[str]) -> tuple:
    return ("ObjectEvent", "OBSERVE", "cycle_counting", disposition, where, SITE, objects)


@pytest.mark.parametrize(
    ("p", "expected"),
    [
        pytest.param(
            counted(K.ADJUST, line("zone-a", -4)),
            [cc("unknown", "zone-a", [P1_URI])],
            id="a pallet written off as missing: not found where the book had it, unknown",
        ),
        pytest.param(
            counted(K.ADJUST, line("zone-a", -2, state=S.QUARANTINE)),
            [cc("unknown", "zone-a", [P1_URI])],
            id="a missing pallet's quarantined stock: unknown as well",
        ),
        pytest.param(
            counted(K.ADJUST, line("zone-c", 4)),
            [cc("sellable_accessible", "zone-c", [P1_URI])],
            id="an unexpected pallet booked in where it was heard: sellable",
        ),
        pytest.param(
            counted(K.ADJUST, line("zone-c", 4, state=S.QUARANTINE)),
            [cc("non_sellable_other", "zone-c", [P1_URI])],
            id="an unexpected pallet of an unknown lot, booked into quarantine",
        ),
        pytest.param(
            counted(K.MOVE, line("zone-a", -4), line("zone-b", 4, entry=2)),
            [cc("sellable_accessible", "zone-b", [P1_URI])],
            id="a wrong zone corrected: the state's disposition, where it was heard",
        ),
        pytest.param(
            counted(
                K.MOVE,
                line("zone-a", -4, state=S.DAMAGED),
                line("zone-b", 4, state=S.DAMAGED, entry=2),
            ),
            [cc("damaged", "zone-b", [P1_URI])],
            id="a damaged pallet in the wrong zone stays damaged",
        ),
        pytest.param(
            counted(K.PUTAWAY, line("door-1", -4), line("zone-b", 4, entry=2)),
            [cc("sellable_accessible", "zone-b", [P1_URI])],
            id="a pallet the book left at the door, heard on a shelf",
        ),
        pytest.param(
            counted(
                K.PICK,
                line("zone-a", -2, state=S.RESERVED),
                line("zone-b", 2, state=S.RESERVED, entry=2),
            ),
            [cc("sellable_not_accessible", "zone-b", [P1_URI])],
            id="reserved stock heard elsewhere: held for an order, not picked",
        ),
        pytest.param(
            counted(K.ADJUST, line("zone-a", -1), handheld=True),
            [cc("unknown", "zone-a", [CLASS])],
            id="a handheld count short of the book: the cases not found",
        ),
        pytest.param(
            counted(K.ADJUST, line("zone-a", 2, pallet=None), handheld=True),
            [cc("sellable_accessible", "zone-a", [CLASS])],
            id="a handheld count over the book: the cases found, as a quantity",
        ),
        pytest.param(
            counted(K.MOVE, line("zone-a", -4), line("zone-b", 4, entry=2), handheld=True),
            [cc("sellable_accessible", "zone-b", [P1_URI])],
            id="a pallet counted by hand elsewhere than the book: moved where it was counted",
        ),
    ],
)
def test_what_a_count_booked_is_a_cycle_counting_event(p, expected):
    events = posting_events(p, PALLETS, frozenset({"door-1"}))
    assert summary(events) == expected
    assert schema_errors(query_document(events, created=T)) == []
    # CBV 2.0 has no business transaction (nor source) type for a count: none is named
    assert all("bizTransactionList" not in event_json(e) for e in events)


def test_a_count_that_moves_a_pallet_to_a_door_is_still_counting_not_staging():
    p = counted(K.MOVE, line("zone-a", -4), line("door-1", 4, entry=2))
    (e,) = posting_events(p, PALLETS, frozenset({"door-1"}))
    assert (e.biz_step.value, e.where.read_point[-6:]) == ("cycle_counting", "door-1")


def test_a_count_quantity_is_the_cases_adjusted():
    (e,) = posting_events(counted(K.ADJUST, line("zone-a", -3), handheld=True), PALLETS)
    assert event_json(e)["quantityList"] == [{"epcClass": CLASS, "quantity": 3}]


def test_what_other_causes_book_is_not_a_count():
    move = line("zone-a", -4), line("zone-b", 4, entry=2)
    scanned_move = Posting(3, K.MOVE, T, T, move, CauseKind.SCAN, "30", "move")
    (e,) = posting_events(scanned_move, PALLETS)
    assert e.biz_step.value == "storing"
    # cases the scale says a pallet lacks (an adjust naming the weight): no event
    weighed = Posting(4, K.ADJUST, T, T, (line("packing", -1),), CauseKind.WEIGHT, "5")
    assert posting_events(weighed, PALLETS) == []
    # a scan of another action never books an adjust; if one did, it would be no count
    odd = Posting(5, K.ADJUST, T, T, (line("zone-a", -1),), CauseKind.SCAN, "31", "receive")
    assert posting_events(odd, PALLETS) == []


def test_count_steps_name_their_ledger_kinds():
    assert count_kinds_of_steps(["cycle_counting"]) == {K.ADJUST, K.MOVE, K.PUTAWAY, K.PICK}
    assert count_kinds_of_steps(["storing", "receiving"]) == set()
    assert kinds_of_steps(["cycle_counting"]) == set()


def test_a_page_tells_a_count_by_its_step_from_the_storing_around_it():
    p = [
        posting(K.MOVE, line("zone-a", -4), line("zone-b", 4, entry=2), n=1),
        counted(K.MOVE, line("zone-b", -4), line("zone-c", 4, entry=2), n=2),
        counted(K.ADJUST, line("zone-c", -4), n=3),
    ]
    counts = page_of_events(p, {}, per_page=10, more=False, steps=frozenset({"cycle_counting"}))
    assert [(e.disposition and e.disposition.value) for e in counts.events] == [
        "sellable_accessible",
        "unknown",
    ]
    storing = page_of_events(p, {}, per_page=10, more=False, steps=frozenset({"storing"}))
    assert [e.where.read_point[-6:] for e in storing.events] == ["zone-b"]
