"""An order's statuses: allowed transitions, forward steps that skip nothing, holds,
release to where the goods are, cancellation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloud.warehouse.ledger import Cause, CauseKind
from cloud.warehouse.orders import (
    FINAL,
    STAGE,
    TRANSITIONS,
    OrderStateError,
    OrderStatus,
    Progress,
    advance,
    allocation_status,
    cancel,
    check_transition,
    hold,
    progress_status,
    release,
)

S = OrderStatus
T0 = datetime(2025, 3, 1, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    ("wanted", "allocated", "status"),
    [(10, 10, S.ALLOCATED), (10, 4, S.PARTIALLY_ALLOCATED), (10, 0, S.BACKORDERED)],
    ids=["all reserved", "some reserved", "none reserved"],
)
def test_allocation_status(wanted, allocated, status):
    assert allocation_status(wanted, allocated) is status


@pytest.mark.parametrize(("wanted", "allocated"), [(10, 11), (0, 0), (5, -1)])
def test_an_allocation_beyond_what_was_wanted_is_refused(wanted, allocated):
    with pytest.raises(OrderStateError, match="allocated"):
        allocation_status(wanted, allocated)


# (case, progress, status)
PROGRESS = [
    ("nothing picked yet", Progress(S.ALLOCATED, 3), S.ALLOCATED),
    ("partial, nothing picked", Progress(S.PARTIALLY_ALLOCATED, 2), S.PARTIALLY_ALLOCATED),
    ("backordered has no pallets", Progress(S.BACKORDERED, 0), S.BACKORDERED),
    ("one of three picked", Progress(S.ALLOCATED, 3, picked=1), S.PICKING),
    ("all picked", Progress(S.ALLOCATED, 3, picked=3), S.PICKED),
    ("all picked, two packed", Progress(S.ALLOCATED, 3, picked=3, packed=2), S.PICKED),
    ("all packed, not released", Progress(S.ALLOCATED, 2, picked=2, packed=2), S.PACKED),
    (
        "all packed and released",
        Progress(S.ALLOCATED, 2, picked=2, packed=2, released=True),
        S.LOADING,
    ),
    (
        "one of two shipped",
        Progress(S.ALLOCATED, 2, picked=2, packed=2, shipped=1, released=True),
        S.LOADING,
    ),
    ("all shipped", Progress(S.ALLOCATED, 2, 2, 2, 2, released=True), S.SHIPPED),
    ("a packed pallet counts as picked", Progress(S.ALLOCATED, 2, picked=1, packed=2), S.PACKED),
    ("a shipped pallet was picked", Progress(S.ALLOCATED, 2, shipped=1), S.PICKING),
]


@pytest.mark.parametrize(
    ("progress", "status"), [c[1:] for c in PROGRESS], ids=[c[0] for c in PROGRESS]
)
def test_progress_status(progress, status):
    assert progress_status(progress) is status


@pytest.mark.parametrize(
    "make",
    [
        lambda: Progress(S.ALLOCATED, 2, picked=3),
        lambda: Progress(S.ALLOCATED, 0),
        lambda: Progress(S.BACKORDERED, 1),
        lambda: Progress(S.PICKING, 1),
    ],
    ids=["more picked than pallets", "allocated without pallets", "backordered with one", "no"],
)
def test_impossible_progress_is_refused(make):
    with pytest.raises(OrderStateError):
        make()


# (case, current, target, path)
ADVANCE = [
    ("one step", S.ALLOCATED, S.PICKING, [S.PICKING]),
    (
        "one pallet picked at once: picking then picked",
        S.ALLOCATED,
        S.PICKED,
        [S.PICKING, S.PICKED],
    ),
    (
        "received to loading walks every step",
        S.RECEIVED,
        S.LOADING,
        [S.ALLOCATED, S.PICKING, S.PICKED, S.PACKED, S.LOADING],
    ),
    ("partial goes on to picking", S.PARTIALLY_ALLOCATED, S.PICKED, [S.PICKING, S.PICKED]),
    ("backordered gets its stock", S.BACKORDERED, S.ALLOCATED, [S.ALLOCATED]),
    ("partial gets the rest", S.PARTIALLY_ALLOCATED, S.ALLOCATED, [S.ALLOCATED]),
    ("already there", S.PICKED, S.PICKED, []),
    ("never backwards", S.PACKED, S.PICKING, []),
    ("not from allocated back to partial", S.ALLOCATED, S.PARTIALLY_ALLOCATED, []),
    ("a held order waits", S.ON_HOLD, S.SHIPPED, []),
    ("a shipped order stays shipped", S.SHIPPED, S.SHIPPED, []),
    ("a cancelled order stays cancelled", S.CANCELLED, S.PICKING, []),
]


@pytest.mark.parametrize(
    ("current", "target", "path"), [c[1:] for c in ADVANCE], ids=[c[0] for c in ADVANCE]
)
def test_advance(current, target, path):
    cause = Cause(CauseKind.ZONE_EVENT, "17")
    entries = advance("SO-1", current, target, time=T0, cause=cause, detail={"pallet": "x"})
    assert [e.status for e in entries] == path
    assert all(
        e.event == e.status.value
        and e.cause == cause
        and e.time == T0
        and e.detail["pallet"] == "x"
        for e in entries
    )


@given(
    st.sampled_from(sorted(STAGE, key=STAGE.__getitem__)),
    st.sampled_from(sorted(STAGE, key=STAGE.__getitem__)),
)
def test_every_step_of_an_advance_is_an_allowed_transition(current, target):
    try:
        entries = advance("SO-1", current, target, time=T0)
    except OrderStateError:
        # only the backordered -> picking kind: no stock, nothing to pick
        assert current is S.BACKORDERED or target is S.BACKORDERED
        return
    here = current
    for e in entries:
        check_transition("SO-1", here, e.status)
        here = e.status
    assert here is (target if entries else here)


def test_hold_names_the_reason_and_where_it_was():
    e = hold("SO-1", S.LOADING, time=T0, reason="mis_shipment", detail={"alert": 4})
    assert e is not None
    assert (e.status, e.event) == (S.ON_HOLD, "on_hold")
    assert dict(e.detail) == {"reason": "mis_shipment", "held_from": "loading", "alert": 4}
    assert hold("SO-1", S.ON_HOLD, time=T0, reason="weight_mismatch") is None


@pytest.mark.parametrize("status", [S.SHIPPED, S.CANCELLED, S.RECEIVED])
def test_a_final_or_new_order_cannot_be_held(status):
    with pytest.raises(OrderStateError, match=f"order SO-1 is {status.value}"):
        hold("SO-1", status, time=T0, reason="mis_shipment")


# (case, progress, to)
RELEASES = [
    (
        "weight mismatch: back to picked for a re-weigh",
        Progress(S.ALLOCATED, 1, picked=1),
        S.PICKED,
    ),
    (
        "mis-shipment while loading: back to loading",
        Progress(S.ALLOCATED, 2, 2, 2, 1, released=True),
        S.LOADING,
    ),
    ("everything left meanwhile: shipped", Progress(S.ALLOCATED, 1, 1, 1, 1, True), S.SHIPPED),
    ("nothing picked yet", Progress(S.PARTIALLY_ALLOCATED, 2), S.PARTIALLY_ALLOCATED),
]


@pytest.mark.parametrize(
    ("progress", "to"), [c[1:] for c in RELEASES], ids=[c[0] for c in RELEASES]
)
def test_release_goes_to_where_the_goods_are(progress, to):
    e = release("SO-1", S.ON_HOLD, progress, time=T0, detail={"by": "ops"})
    assert (e.status, e.event, dict(e.detail)) == (to, "released", {"to": to.value, "by": "ops"})


def test_only_a_held_order_is_released():
    with pytest.raises(OrderStateError, match="is picked, not on_hold"):
        release("SO-1", S.PICKED, Progress(S.ALLOCATED, 1, picked=1), time=T0)


@pytest.mark.parametrize("status", sorted(S, key=str))
def test_cancel_only_before_anything_left(status):
    if status in (S.LOADING, S.SHIPPED, S.CANCELLED):
        with pytest.raises(OrderStateError, match="cannot become cancelled"):
            cancel("SO-1", status, time=T0)
    else:
        assert cancel("SO-1", status, time=T0).status is S.CANCELLED


def test_final_statuses_go_nowhere():
    assert all(not TRANSITIONS[s] for s in FINAL)
    with pytest.raises(OrderStateError, match="from shipped it may become nothing"):
        check_transition("SO-1", S.SHIPPED, S.ON_HOLD)
