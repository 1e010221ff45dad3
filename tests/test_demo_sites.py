"""The warehouses ``rfidwms demo`` runs (:mod:`rfidwms.commands.demo_sites`): which
sites with which layouts and scenarios, their ports, truth files and faults."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from protocols.layout import Layout, load_layout
from rfidwms.commands.demo_sites import (
    DemoSite,
    DemoSiteError,
    PortRanges,
    SiteEntry,
    plan_sites,
    port_ranges,
    route_faults,
    sites_setting,
    truth_path,
)

DC2 = Path(str(resources.files("protocols.layouts").joinpath("dc-2.yaml")))
MINE = Path("/etc/rfidwms/mine.yaml")


def load(path: Path | None) -> Layout:
    """The bundled layouts; MINE is a copy of the demo layout."""
    return load_layout(None if path == MINE else path)


def plan(**given: Any) -> list[DemoSite]:
    kw: dict[str, Any] = {
        "first": "dc-1",
        "first_layout": None,
        "sites": [],
        "second_site": True,
        "second_layout": DC2,
        "scenario": None,
    }
    kw.update(given)
    return plan_sites(load=load, **kw)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({}, [("dc-1", None, None, ["edge-1"]), ("dc-2", DC2, "small-site", ["edge-2"])]),
        (
            {"first_layout": MINE, "scenario": "dock-rush"},
            [("dc-1", MINE, "dock-rush", ["edge-1"]), ("dc-2", DC2, "small-site", ["edge-2"])],
        ),
        ({"second_site": False, "first": "t1"}, [("t1", None, None, ["edge-1"])]),
        (
            {"sites": [SiteEntry("a", None), SiteEntry("b", DC2)], "scenario": "shelves"},
            [("a", None, "shelves", ["edge-1"]), ("b", DC2, "small-site", ["edge-2"])],
        ),
        ({"sites": [SiteEntry("a", None)]}, [("a", None, None, ["edge-1"])]),
        (
            {"sites": [SiteEntry("a", None), SiteEntry("b", DC2)], "second_site": False},
            [("a", None, None, ["edge-1"])],
        ),
    ],
)
def test_the_demo_runs_dc_1_and_the_smaller_dc_2_unless_told_otherwise(
    given: dict[str, Any], expected: list[tuple[str, Path | None, str | None, list[str]]]
) -> None:
    sites = plan(**given)
    assert [(s.id, s.layout_path, s.scenario, s.edges) for s in sites] == expected


@pytest.mark.parametrize(
    ("given", "error"),
    [
        (
            {"sites": [SiteEntry("a", None)], "first_layout": MINE},
            "RFIDWMS_LAYOUT or --layout is set and so is RFIDWMS_SITES",
        ),
        (
            {"sites": [SiteEntry(x, None) for x in "abc"]},
            r"RFIDWMS_SITES names 3 sites; the demo runs one or two \(a, b, c\)",
        ),
        (
            {"first_layout": DC2},  # dc-2's layout as the first: the same ids twice
            "edge 'edge-2' is in the layouts of both site 'dc-1' and site 'dc-2'.*"
            "--no-second-site runs the first alone",
        ),
        (
            {"first_layout": Path("/x,y/demo.yaml")},
            "layout '/x,y/demo.yaml' of site 'dc-1': a path with ',' or '='",
        ),
    ],
)
def test_sites_that_cannot_run_together_are_refused_by_name(
    given: dict[str, Any], error: str
) -> None:
    with pytest.raises(DemoSiteError, match=error):
        plan(**given)


def test_the_cloud_serves_every_site_with_its_layout_file() -> None:
    assert sites_setting(plan()) == f"dc-1,dc-2={DC2}"
    assert sites_setting(plan(first_layout=MINE)) == f"dc-1={MINE},dc-2={DC2}"


@pytest.mark.parametrize(
    ("first", "site", "position", "expected"),
    [
        (Path(".rfidwms/ground-truth.jsonl"), "dc-1", 0, ".rfidwms/ground-truth.jsonl"),
        (Path(".rfidwms/ground-truth.jsonl"), "dc-2", 1, ".rfidwms/ground-truth-dc-2.jsonl"),
        (Path("/tmp/run7/t.jsonl"), "dc-2", 1, "/tmp/run7/t-dc-2.jsonl"),
        (Path("truth"), "b", 1, "truth-b"),
    ],
)
def test_each_sites_truth_goes_next_to_the_first(
    first: Path, site: str, position: int, expected: str
) -> None:
    assert truth_path(first, site, position) == Path(expected)


def test_a_fault_goes_to_the_site_whose_reader_or_scale_it_names() -> None:
    faults = [
        ("reader-door-2", "reader-door-2:silent@10s"),
        ("reader-door-5", "reader-door-5:drop@1m"),
        ("scale-3", "scale-3:overload@2m"),
        ("scale-1", "scale-1:overload@1m+15s"),
        ("reader-nowhere", "reader-nowhere:drop@1m"),  # the first site's sim names it
    ]
    assert route_faults(faults, plan()) == {
        "dc-1": ["reader-door-2:silent@10s", "scale-1:overload@1m+15s", "reader-nowhere:drop@1m"],
        "dc-2": ["reader-door-5:drop@1m", "scale-3:overload@2m"],
    }


def free_from(busy: set[int]) -> Any:
    """A ``free_range`` on a machine where ``busy`` ports are held: the preferred range
    when free, else the next free one above it."""

    def free_range(preferred: int, count: int) -> int:
        base = preferred
        while any(p in busy for p in range(base, base + count)):
            base += 1
        return base

    return free_range


@pytest.mark.parametrize(
    ("busy", "expected"),
    [
        # dc-1: 8 readers from 5084, 2 scales from 5184; dc-2's right after
        (set(), {"dc-1": PortRanges(5084, 5184), "dc-2": PortRanges(5092, 5186)}),
        ({5085}, {"dc-1": PortRanges(5086, 5186), "dc-2": PortRanges(5094, 5188)}),
        ({5093, 5186}, {"dc-1": PortRanges(5084, 5184), "dc-2": PortRanges(5094, 5187)}),
    ],
)
def test_every_sites_devices_get_ports_of_their_own(
    busy: set[int], expected: dict[str, PortRanges]
) -> None:
    assert port_ranges(plan(), free_from(busy)) == expected


def test_ranges_handed_out_but_not_yet_bound_are_never_handed_out_again() -> None:
    # a machine where the preferred ranges look busy and the fallback is always 20000
    def always(preferred: int, count: int) -> int:
        return preferred if preferred >= 20000 else 20000

    got = port_ranges(plan(), always)
    spans = [range(p.llrp, p.llrp + n) for p, n in ((got["dc-1"], 8), (got["dc-2"], 5))] + [
        range(p.scale, p.scale + n) for p, n in ((got["dc-1"], 2), (got["dc-2"], 1))
    ]
    ports = [p for span in spans for p in span]
    assert len(ports) == len(set(ports)), got
