"""The sites one cloud serves (:mod:`cloud.warehouse.sites`) and ``RFIDWMS_SITES``."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloud.settings import CloudSettings, parse_sites
from cloud.warehouse.sites import AmbiguousSite, SiteError, Sites, UnknownSite, layout_edges
from protocols.layout import load_layout
from protocols.settings import SettingsError, load_settings

LAYOUTS = Path(__file__).parents[2] / "protocols" / "layouts"
DC1 = load_layout(None)
DC2 = load_layout(LAYOUTS / "dc-2.yaml")
TWO = Sites.of([("dc-1", DC1), ("dc-2", DC2)])
ONE = Sites.single("dc-1", DC1)


@pytest.mark.parametrize(
    ("sites", "requested", "chosen"),
    [
        (ONE, None, "dc-1"),
        (ONE, "dc-1", "dc-1"),
        (TWO, "dc-2", "dc-2"),
        (TWO, "dc-1", "dc-1"),
    ],
)
def test_a_request_means_the_site_it_names_else_the_only_one(sites, requested, chosen):
    assert sites.choose(requested) == chosen


@pytest.mark.parametrize(
    ("sites", "requested", "error", "message"),
    [
        (TWO, None, AmbiguousSite, "this cloud serves several sites ('dc-1', 'dc-2'); name one"),
        (ONE, "dc-9", UnknownSite, "site 'dc-9' is not served by this cloud (it serves 'dc-1')"),
        (TWO, "x", UnknownSite, "site 'x' is not served by this cloud (it serves 'dc-1', 'dc-2')"),
    ],
)
def test_a_request_naming_no_served_site_or_none_of_several_is_refused(
    sites, requested, error, message
):
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        sites.choose(requested)


@pytest.mark.parametrize(
    ("sites", "requested", "selected"),
    [(TWO, None, ("dc-1", "dc-2")), (TWO, "dc-2", ("dc-2",)), (ONE, None, ("dc-1",))],
)
def test_a_list_covers_the_site_it_names_else_every_site(sites, requested, selected):
    assert sites.select(requested) == selected


def test_each_edge_belongs_to_the_site_whose_layout_has_it():
    assert layout_edges(DC2) == {"edge-2"}
    assert TWO.site_of_edge("edge-1") == "dc-1"
    assert TWO.site_of_edge("edge-2") == "dc-2"
    assert TWO.site_of_edge("edge-9") is None
    assert {"door-1", "door-5", "door-6"} <= TWO.doors and "zone-d" in TWO.zones


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        ([], "no site to serve"),
        ([("dc-1", DC1), ("dc-1", DC2)], "site 'dc-1' is named twice"),
        ([("dc-1", DC1), ("dc-3", DC1)], "edge 'edge-1' is in the layouts of both site 'dc-1'"),
        (
            [("dc-2", DC2), ("dc-3", DC2.model_copy(update={"readers": [], "scales": []}))],
            "zone 'zone-d' is in the layouts of both site 'dc-2' and site 'dc-3'",
        ),
    ],
)
def test_sites_that_cannot_be_kept_apart_are_refused_naming_what(pairs, message):
    with pytest.raises(SiteError, match=message):
        Sites.of(pairs)


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("", []),
        ("dc-1", [("dc-1", None)]),
        (
            "dc-1=/a/one.yaml, dc-2=/b/two.yaml",
            [("dc-1", Path("/a/one.yaml")), ("dc-2", Path("/b/two.yaml"))],
        ),
    ],
)
def test_rfidwms_sites_names_each_site_with_its_layout_file(text, parsed):
    assert parse_sites(text) == parsed


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"sites": "dc 1=/x.yaml"},
            "RFIDWMS_SITES: entry 'dc 1=/x.yaml': site 'dc 1' is not a site id",
        ),
        ({"sites": "dc-1="}, "RFIDWMS_SITES: entry 'dc-1=': the layout file after '=' is empty"),
        ({"sites": "a,a"}, "RFIDWMS_SITES: entry 'a': site 'a' is named twice"),
        (
            {"sites": "a,b", "site": "c"},
            "RFIDWMS_SITE is 'c', not one of the sites of RFIDWMS_SITES",
        ),
        ({"sites": "a,b", "layout": "/x.yaml"}, "RFIDWMS_LAYOUT is set and so is RFIDWMS_SITES"),
    ],
)
def test_a_wrong_rfidwms_sites_is_refused_naming_it(env, message, monkeypatch):
    for k, v in env.items():
        monkeypatch.setenv(f"RFIDWMS_{k.upper()}", v)
    with pytest.raises(SettingsError, match=message.replace("(", r"\(")):
        load_settings(CloudSettings, database_url="postgresql:///x")


def test_the_first_of_rfidwms_sites_is_the_default_site_and_one_site_still_works(monkeypatch):
    monkeypatch.setenv("RFIDWMS_SITES", f"dc-1,dc-2={LAYOUTS / 'dc-2.yaml'}")
    two = load_settings(CloudSettings, database_url="postgresql:///x")
    assert two.site == "dc-1" and two.mqtt_client_id() == "rfidwms-ingest-dc-1"
    assert two.load_sites().ids == ("dc-1", "dc-2")
    monkeypatch.delenv("RFIDWMS_SITES")
    monkeypatch.setenv("RFIDWMS_SITE", "north")
    one = load_settings(CloudSettings, database_url="postgresql:///x")
    assert one.served_sites() == [("north", None)] and one.load_sites().ids == ("north",)
