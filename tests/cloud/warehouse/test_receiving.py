"""Receiving: inbound passages against advance ship notices."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloud.warehouse.ledger import Book, LedgerError, balances_of, post
from cloud.warehouse.receiving import (
    Asn,
    AsnPallet,
    InboundPassage,
    Outcome,
    inbound_passage,
    match_receipts,
    receipt_operations,
)
from protocols.epc import Sgtin96, Sscc96
from protocols.epc.gs1 import with_check_digit
from protocols.mqtt import PassageMessage

T0 = datetime(2025, 3, 1, 8, tzinfo=UTC)
DEADLINE = T0 + timedelta(hours=4)
GTIN = "00614141123452"


def t(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def sscc(n: int) -> str:
    return with_check_digit(f"106141410{n:08d}")


def case(n: int) -> str:
    return Sgtin96(company_prefix="0614141", item_reference="812345", serial=n, filter=1).to_hex()


def cases(*ns: int) -> frozenset[str]:
    return frozenset(case(n) for n in ns)


def pallet(n: int, *, listed: tuple[int, ...] = (), count: int | None = None) -> AsnPallet:
    return AsnPallet(
        sscc(n),
        GTIN,
        "L1",
        date(2025, 9, 1),
        count if count is not None else len(listed),
        cases(*listed),
    )


def asn(*pallets: AsnPallet, id: str = "asn-1", site: str = "dc-1") -> Asn:
    return Asn(id, site, DEADLINE, pallets)


def came(
    n: int, *case_ns: int, at: float = 10, site: str = "dc-1", ref: str = ""
) -> InboundPassage:
    return InboundPassage(ref or f"p-{n}-{at}", site, "door-1", t(at), sscc(n), cases(*case_ns))


def outcomes(report) -> dict[str, tuple]:
    return {
        f"{p.site}/{p.sscc[-3:-1]}": (
            p.outcome.value,
            p.received_cases,
            p.missing_cases,
            p.over_cases,
        )
        for p in report.pallets
    }


def key(n: int, site: str = "dc-1") -> str:
    return f"{site}/{sscc(n)[-3:-1]}"


CASES = [
    (
        "an announced pallet with every listed case is received",
        [asn(pallet(1, listed=(1, 2, 3)))],
        [came(1, 1, 2, 3)],
        60,
        {key(1): ("received", 3, 0, 0)},
    ),
    (
        "a listed case not heard makes it missing_cases",
        [asn(pallet(1, listed=(1, 2, 3)))],
        [came(1, 1, 3)],
        60,
        {key(1): ("missing_cases", 2, 1, 0)},
    ),
    (
        "a count-only notice compares the count",
        [asn(pallet(1, count=4))],
        [came(1, 1, 2, 3)],
        60,
        {key(1): ("missing_cases", 3, 1, 0)},
    ),
    (
        "cases beyond the count are over, not booked",
        [asn(pallet(1, count=2))],
        [came(1, 1, 2, 3)],
        60,
        {key(1): ("received", 2, 0, 1)},
    ),
    (
        "a case not listed for the pallet is over; a listed one missing still counts",
        [asn(pallet(1, listed=(1, 2)))],
        [came(1, 1, 9)],
        60,
        {key(1): ("missing_cases", 1, 1, 1)},
    ),
    (
        "a pallet nobody announced is unexpected",
        [asn(pallet(1, count=1))],
        [came(1, 1), came(2, 5, 6)],
        60,
        {key(1): ("received", 1, 0, 0), key(2): ("unexpected", 2, 0, 2)},
    ),
    (
        "an announced pallet not come before the deadline is pending",
        [asn(pallet(1, count=3))],
        [],
        60,
        {key(1): ("pending", 0, 0, 0)},
    ),
    (
        "an announced pallet not come by the deadline is short",
        [asn(pallet(1, count=3))],
        [],
        241,
        {key(1): ("short", 0, 3, 0)},
    ),
    (
        "a notice of another site does not announce the pallet",
        [asn(pallet(1, count=1), site="dc-2")],
        [came(1, 1)],
        241,
        {key(1): ("unexpected", 1, 0, 1), key(1, "dc-2"): ("short", 0, 1, 0)},
    ),
]


@pytest.mark.parametrize(
    ("asns", "passages", "now", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_receiving(asns, passages, now, expected):
    report = match_receipts(asns, passages, now=t(now))
    assert outcomes(report) == expected


def test_missing_and_extra_case_epcs_are_named():
    report = match_receipts([asn(pallet(1, listed=(1, 2)))], [came(1, 1, 9)], now=t(60))
    (p,) = report.pallets
    assert (p.missing, p.extra) == (cases(2), cases(9))


def test_the_first_passage_receives_a_later_one_is_repeated_and_a_late_one_is_marked():
    first, again = came(1, 1, 2, at=250, ref="a"), came(1, 1, at=260, ref="b")
    report = match_receipts([asn(pallet(1, count=2))], [again, first], now=t(300))
    (p,) = report.pallets
    assert (p.outcome, p.passage, p.late) == (Outcome.RECEIVED, first, True)
    assert report.repeated == (again,)


def test_the_notice_report_counts_pallets_and_cases_over_and_short():
    notice = asn(
        pallet(1, listed=(1, 2, 3)),
        pallet(2, count=5),
        pallet(3, count=4),
        pallet(4, count=2),
    )
    report = match_receipts(
        [notice], [came(1, 1, 2, 3, 7), came(2, 11, 12), came(9, 20)], now=t(300)
    )
    (r,) = report.asns
    assert (r.pallets_expected, r.pallets_received, r.pallets_short, r.pallets_pending) == (
        4,
        2,
        2,
        0,
    )
    assert (r.cases_expected, r.cases_received, r.cases_short, r.cases_over) == (14, 5, 9, 1)
    assert not r.complete
    assert [p.outcome for p in report.of(Outcome.UNEXPECTED)] == [Outcome.UNEXPECTED]


def test_a_notice_that_all_came_is_complete():
    report = match_receipts([asn(pallet(1, count=2))], [came(1, 1, 2)], now=t(10))
    assert report.asns[0].complete


def test_receipts_book_the_announced_cases_at_the_door_on_the_pallet():
    report = match_receipts(
        [asn(pallet(1, listed=(1, 2, 3)), pallet(2, count=2))],
        [came(1, 1, 2), came(3, 4)],
        now=t(60),
    )
    book = Book.empty()
    for op in receipt_operations(report):
        book, _ = post(book, op)
    assert [
        (p.bucket.location, p.bucket.state.value, p.bucket.lot, p.pallet, q)
        for p, q in book.positions.items()
    ] == [("door-1", "available", "L1", sscc(1), 2)]
    assert [b.qty for b in balances_of(book.positions)] == [2]
    (op,) = receipt_operations(report)
    assert (op.cause.kind.value, op.cause.ref, op.time) == ("passage", "p-1-10", t(10))


def passage_message(epc: str, direction: str = "inbound") -> PassageMessage:
    side = {"reads": 3}
    return PassageMessage.model_validate(
        {
            "door": "door-2",
            "direction": direction,
            "epc": epc,
            "cases": [case(1), case(2)],
            "confidence": 1.0,
            "time": t(5),
            "evidence": {"outside": side, "inside": side},
        }
    )


def test_an_edge_passage_becomes_a_receiving_passage_with_its_sscc():
    epc = Sscc96.from_sscc(sscc(7), company_prefix_length=7, filter=2).to_hex()
    p = inbound_passage(passage_message(epc), site="dc-1", ref="passage-9")
    assert (p.id, p.site, p.door, p.time, p.pallet, p.cases) == (
        "passage-9",
        "dc-1",
        "door-2",
        t(5),
        sscc(7),
        cases(1, 2),
    )


BAD = [
    (
        "an outbound passage",
        lambda: inbound_passage(
            passage_message(
                Sscc96.from_sscc(sscc(7), company_prefix_length=7).to_hex(), "outbound"
            ),
            site="dc-1",
            ref="x",
        ),
        "direction: receiving takes inbound passages, got 'outbound'",
    ),
    (
        "a case's EPC as the pallet",
        lambda: inbound_passage(passage_message(case(3)), site="dc-1", ref="x"),
        "is a sgtin, not a pallet's SSCC-96",
    ),
    (
        "an SSCC of 18 digits",
        lambda: InboundPassage("x", "dc-1", "d", T0, "12", frozenset()),
        "pallet: an SSCC is 18 digits",
    ),
    (
        "a listed case count that matches",
        lambda: AsnPallet(sscc(1), GTIN, "L1", None, 3, cases(1, 2)),
        "cases: pallet .* lists 2 case EPCs but case_count is 3",
    ),
    ("a notice with pallets", lambda: Asn("asn-1", "dc-1", DEADLINE, ()), "announces no pallet"),
    (
        "a pallet once per notice",
        lambda: asn(pallet(1, count=1), pallet(1, count=2)),
        r"pallets\[1\].sscc: .* is announced twice",
    ),
    (
        "a pallet once per site",
        lambda: match_receipts(
            [asn(pallet(1, count=1)), asn(pallet(1, count=1), id="asn-2")], [], now=T0
        ),
        "is announced by notices 'asn-1' and 'asn-2' for site 'dc-1'",
    ),
    ("a GTIN-14 item", lambda: AsnPallet(sscc(1), "1", "L1", None, 1), "item: a GTIN-14"),
]


@pytest.mark.parametrize(("make", "message"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_a_wrong_notice_or_passage_is_refused_naming_the_field(make, message):
    with pytest.raises(LedgerError, match=message):
        make()


# -- properties -------------------------------------------------------------------------


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[Asn], list[InboundPassage], datetime]:
    n_pallets = draw(st.integers(1, 8))
    notices: dict[str, list[AsnPallet]] = {}
    for i in range(n_pallets):
        if draw(st.booleans()):
            listed = tuple(range(i * 10, i * 10 + draw(st.integers(1, 5))))
            p = pallet(i, listed=listed)
        else:
            p = pallet(i, count=draw(st.integers(1, 5)))
        notices.setdefault(draw(st.sampled_from(["asn-1", "asn-2"])), []).append(p)
    asns = [asn(*ps, id=k) for k, ps in notices.items()]
    passages = []
    for i in range(n_pallets + 3):  # some pallets nobody announced
        for _ in range(draw(st.integers(0, 2))):
            heard = draw(st.sets(st.integers(i * 10, i * 10 + 6), max_size=7))
            passages.append(came(i, *heard, at=draw(st.integers(0, 400))))
    return asns, passages, t(draw(st.integers(0, 400)))


@settings(max_examples=200, deadline=None)
@given(scenarios())
def test_every_pallet_has_one_outcome_and_the_notice_figures_add_up(scenario):
    asns, passages, now = scenario
    report = match_receipts(asns, passages, now=now)
    announced = {p.sscc for a in asns for p in a.pallets}
    arrived = {p.pallet for p in passages}
    assert [p.sscc for p in report.pallets] == sorted(announced | arrived)
    assert len(report.repeated) == len(passages) - len(arrived)
    for p in report.pallets:
        if p.sscc not in announced:
            assert p.outcome is Outcome.UNEXPECTED
        elif p.sscc in arrived:
            assert p.outcome in (Outcome.RECEIVED, Outcome.MISSING_CASES)
            assert p.received_cases + p.missing_cases == p.announced.case_count
            assert (p.outcome is Outcome.MISSING_CASES) == (p.missing_cases > 0)
        else:
            assert p.outcome is (Outcome.SHORT if now > DEADLINE else Outcome.PENDING)
    for a, r in zip(sorted(asns, key=lambda a: a.id), report.asns, strict=True):
        assert r.pallets_received + r.pallets_short + r.pallets_pending == r.pallets_expected
        pending = sum(
            p.announced.case_count
            for p in report.pallets
            if p.asn == a.id and p.outcome is Outcome.PENDING
        )
        assert r.cases_received + r.cases_short + pending == r.cases_expected
    booked = sum(op.lines[0].qty for op in receipt_operations(report))
    assert booked == sum(r.cases_received for r in report.asns)
