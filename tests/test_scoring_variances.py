"""The cycle count figures on constructed truth and variances: shrinkage found within
5 minutes, variances in zones whose reader was down, false variances, and vanished or
misplaced pallets where the truth leaves them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rfidwms.scoring import (
    ScoreInputError,
    Shrinkage,
    parse_truth,
    parse_variances,
    score,
    score_variances,
)
from rfidwms.scoring.warehouse import pallet_at

T0 = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
START = T0.timestamp()
P1, P2, P3, P4, P5 = (f"3074257BF7194E4000000{i:03X}" for i in range(1, 6))


def iso(sim_s: float) -> str:
    return (T0 + timedelta(seconds=sim_s)).isoformat().replace("+00:00", "Z")


def line(sim_s: float, event: str, epc: str | None = None, **fields: Any) -> dict[str, Any]:
    core = {k: fields.pop(k, None) for k in ("door", "direction", "zone")}
    return {"t": iso(sim_s), "sim_s": sim_s, "event": event, "epc": epc, **core, **fields}


def fault(sim_s: float, target: str, phase: str, zone: str) -> dict[str, Any]:
    return line(sim_s, "fault", target=target, fault="silent", phase=phase,
                spec=f"{target}:silent", zone=zone)  # fmt: skip


TRUTH = [
    *(line(0, "stock", p, zone=z, sscc="x", sku="1", lot="L", cases=[]) for p, z in
      [(P1, "zone-a"), (P2, "zone-a"), (P3, "zone-b"), (P4, "zone-c"), (P5, "zone-c")]),
    line(200, "vanish", P1, zone="zone-a"),
    line(300, "misplace", P2, zone="zone-a", to_zone="zone-b"),
    line(400, "vanish", P3, zone="zone-b"),  # found too late
    fault(500, "reader-zone-c", "start", "zone-c"),
    fault(700, "reader-zone-c", "end", "zone-c"),
    line(1000, "misplace", P4, zone="zone-c", to_zone="zone-a"),  # never found
    line(1900, "stock", "30000000000000000000FFFF", zone="zone-a"),  # the run's end
]  # fmt: skip


def variance(vid: int, epc: str, kind: str, sim_s: float, zone: str, **kw: Any) -> dict:
    return {"id": vid, "epc": epc, "kind": kind, "opened_at": iso(sim_s), "zone": zone,
            "status": "open", **kw}  # fmt: skip


VARIANCES = [
    variance(1, P1, "missing", 265, "zone-a", book_zone="zone-a"),
    variance(2, P2, "wrong_zone", 499, "zone-b", book_zone="zone-a", heard_zone="zone-b"),
    variance(3, P3, "missing", 701, "zone-b", book_zone="zone-b"),
    variance(4, P5, "missing", 600, "zone-c", book_zone="zone-c"),  # reader down; false
    variance(5, P5, "unexpected", 1200, "zone-b", heard_zone="zone-b"),  # false
]


def counted(variances: list[dict], truth: list[dict] = TRUTH):
    t = parse_truth(truth)
    misses: list[tuple[str, str, str]] = []
    out = score_variances(
        t,
        parse_variances(variances),
        t.outages(60),
        window=(START + 120, t.end - 60),
        miss=lambda what, epc, at, door, zone, detail: misses.append((what, epc, detail)),
    )
    return out, misses


def test_shrinkage_is_found_by_a_variance_of_its_pallet_and_kind_within_five_minutes():
    out, misses = counted(VARIANCES)
    assert (out.shrinkage, out.found) == (4, 2)
    lost = [(epc, detail) for what, epc, detail in misses if what.startswith("shrinkage")]
    assert lost == [
        (P3, "vanish; variance 3 (missing) after 301 s"),
        (P4, "misplace to zone-a; no variance"),
    ]


def test_a_variance_in_a_zone_whose_reader_was_down_and_false_variances_are_counted():
    out, misses = counted(VARIANCES)
    assert (out.variances, out.while_down, out.false) == (5, 1, 2)
    assert [(w, e) for w, e, _ in misses if not w.startswith("shrinkage")] == [
        ("variance while reader down", P5),
        ("false variance", P5),
        ("false variance", P5),
    ]


def test_a_variance_of_the_wrong_kind_does_not_find_the_shrinkage():
    wrong = [variance(1, P1, "wrong_zone", 230, "zone-b", heard_zone="zone-b")]
    out, _ = counted(wrong)
    assert out.found == 0 and out.false == 0  # it is explained by the vanish, not found


def test_the_figures_are_in_the_report_with_their_requirements():
    report = score(parse_truth(TRUTH), [], [], [], variances=parse_variances(VARIANCES))
    found = report.figure("shrinkage found as variance within 5 min")
    assert (found.value, found.n, found.need, found.ok()) == (50.0, 4, "== 100", False)
    down = report.figure("variances in zones whose reader was down")
    assert (down.value, down.n, down.need, down.ok()) == (1, 5, "== 0", False)
    assert report.figure("false variances").value == 2
    assert (report.scored_kinds["vanish"], report.scored_kinds["misplace"]) == (2, 2)
    assert report.cloud_counts["variances"] == 5
    every = score(parse_truth(TRUTH), [], [], [], variances=parse_variances(VARIANCES[:2]))
    assert every.figure("variances in zones whose reader was down").ok() is True
    # variances not read: no cycle count figures
    names = {f.name for f in score(parse_truth(TRUTH), [], [], []).figures}
    assert "false variances" not in names


def test_vanished_and_misplaced_pallets_are_where_the_truth_leaves_them():
    truth = parse_truth(TRUTH)
    assert truth.shrinkage[:2] == [
        Shrinkage(START + 200, "vanish", P1, "zone-a", None),
        Shrinkage(START + 300, "misplace", P2, "zone-a", "zone-b"),
    ]
    assert pallet_at(P1, truth.moves[P1], truth.end).status == "gone"
    p2 = pallet_at(P2, truth.moves[P2], truth.end)
    assert (p2.status, p2.zone) == ("in", "zone-b")
    assert truth.zone_at(P2, START + 301) == "zone-b"
    assert truth.zone_at(P1, START + 201) is None


@pytest.mark.parametrize(
    ("item", "named"),
    [
        ({"id": 1, "epc": P1, "kind": "missing", "status": "open", "zone": "z"}, "opened_at"),
        ({"id": "1", "epc": P1, "kind": "missing", "status": "open", "zone": "z",
          "opened_at": iso(1)}, "id"),
    ],
)  # fmt: skip
def test_a_variance_item_that_cannot_be_read_is_refused_naming_it(item, named):
    with pytest.raises(ScoreInputError, match=rf"variances\[0\]\.{named}"):
        parse_variances([item])


def test_a_misplace_line_without_to_zone_is_refused():
    with pytest.raises(ScoreInputError, match=r"truth line 1\.to_zone: missing"):
        parse_truth([line(0, "misplace", P1, zone="zone-a")])
