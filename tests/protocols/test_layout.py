"""The layout file: the bundled demo, lookups, and wrong files refused by field."""

from __future__ import annotations

import pytest
import yaml

from protocols.layout import LayoutError, ReadPoint, load_layout, parse_layout

DEMO = load_layout(None)


def demo_with(change) -> str:
    data = yaml.safe_load(DEMO.model_dump_json())
    change(data)
    return yaml.safe_dump(data)


def test_the_bundled_demo_is_one_warehouse_with_4_doors_3_storage_zones_and_2_scales():
    assert DEMO.warehouse.id == "dc-1"
    doors = [r for r in DEMO.readers if r.door]
    zone_readers = [r for r in DEMO.readers if r.zone]
    assert [r.door for r in doors] == ["door-1", "door-2", "door-3", "door-4"]
    for r in doors:
        assert {a.id: a.read_point.split("/")[1] for a in r.antennas} == {
            1: "outside",
            2: "outside",
            3: "inside",
            4: "inside",
        }
    assert sorted(r.zone for r in zone_readers) == ["packing", "zone-a", "zone-b", "zone-c"]
    assert len([z for z in DEMO.zones if z.kind == "storage"]) == 3
    assert [s.id for s in DEMO.scales] == ["scale-1", "scale-2"]


def test_the_demo_packing_reader_hangs_an_antenna_over_each_scale_and_comes_last():
    packing = DEMO.readers[-1]
    assert (packing.id, packing.zone) == ("reader-packing", "packing")
    assert {s.id: s.read_point for s in DEMO.scales} == {
        "scale-1": "packing/scale-1",
        "scale-2": "packing/scale-2",
    }
    assert DEMO.read_point("reader-packing", 1) == "packing/scale-1"
    assert DEMO.read_point("reader-packing", 2) == "packing/scale-2"
    assert DEMO.reader_port("reader-packing", 5084) == 5091  # after every older reader


def test_a_scale_without_a_read_point_is_still_a_scale():
    layout = parse_layout(demo_with(lambda d: [s.pop("read_point") for s in d["scales"]]))
    assert [s.read_point for s in layout.scales] == [None, None]


def test_read_points_and_ports_follow_the_layout():
    assert DEMO.read_point("reader-door-3", 2) == "door-3/outside"
    assert DEMO.read_point("reader-door-3", 4) == "door-3/inside"
    assert DEMO.read_point("reader-door-3", 9) is None
    assert DEMO.reader_port("reader-door-1", 5084) == 5084
    assert DEMO.reader_port("reader-zone-c", 5084) == 5090
    assert DEMO.scale_port("scale-2", 5184) == 5185
    assert [r.id for r in DEMO.readers_of_edge("edge-1")] == [r.id for r in DEMO.readers]
    assert DEMO.readers_of_edge("edge-9") == []


def test_an_antenna_s_read_point_is_typed_door_side_or_zone_spot():
    door = DEMO.read_point_of("reader-door-2", 1)
    assert door == ReadPoint("door-2/outside", "door", "door-2", "outside")
    assert (door.door, door.zone, door.side) == ("door-2", None, "outside")
    inside = DEMO.read_point_of("reader-door-2", 4)
    assert inside is not None and inside.side == "inside"
    shelf = DEMO.read_point_of("reader-zone-b", 3)
    assert shelf == ReadPoint("zone-b/shelf", "zone", "zone-b", "shelf")
    assert (shelf.door, shelf.zone, shelf.side) == (None, "zone-b", None)
    assert DEMO.read_point_of("reader-zone-b", 9) is None


def test_the_typed_read_point_names_the_same_point_as_the_string_lookup():
    for r in DEMO.readers:
        for a in r.antennas:
            point = DEMO.read_point_of(r.id, a.id)
            assert point is not None and point.name == DEMO.read_point(r.id, a.id) == a.read_point


def test_lookups_of_a_reader_the_layout_does_not_have_raise_key_error():
    for lookup in (
        lambda: DEMO.reader("reader-x"),
        lambda: DEMO.read_point("reader-x", 1),
        lambda: DEMO.read_point_of("reader-x", 1),
        lambda: DEMO.reader_port("reader-x", 5084),
        lambda: DEMO.scale_port("scale-x", 5184),
    ):
        with pytest.raises(KeyError):
            lookup()


def test_readers_at_a_place_and_explicit_ports_follow_the_layout():
    assert [r.id for r in DEMO.readers_at("door-4")] == ["reader-door-4"]
    assert [r.id for r in DEMO.readers_at("zone-a")] == ["reader-zone-a"]
    assert DEMO.readers_at("staging") == []
    text = demo_with(lambda d: d["readers"][2].update(port=6000))
    layout = parse_layout(text)
    assert layout.reader_port("reader-door-3", 5084) == 6000
    assert layout.reader_port("reader-door-4", 5084) == 5087
    assert layout.reader("reader-door-3").port == 6000


def test_the_lookup_index_leaves_the_layout_equal_and_serialisable():
    fresh = load_layout(None)
    assert fresh.read_point("reader-door-1", 1) == "door-1/outside"  # builds the index
    assert fresh == load_layout(None)
    assert fresh.model_dump() == load_layout(None).model_dump()
    assert "_index" not in fresh.model_dump_json()


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (
            lambda d: d["readers"][1]["antennas"][2].update(read_point="door-9/inside"),
            "readers[1].antennas[2].read_point: 'door-9/inside' must be 'door-2/outside'",
        ),
        (
            lambda d: d["readers"][0].update(door="door-7"),
            "readers[0].door: 'door-7' is not a door of the layout",
        ),
        (
            lambda d: d["readers"][4].update(zone="zone-q"),
            "readers[4].zone: 'zone-q' is not a zone of the layout",
        ),
        (lambda d: d["readers"][0].update(zone="zone-a"), "exactly one place"),
        (
            lambda d: d["readers"][0]["antennas"].append({"id": 1, "read_point": "door-1/inside"}),
            "antenna ids repeat",
        ),
        (
            lambda d: d["readers"][0]["antennas"][0].update(id=0),
            "readers.0.antennas.0.id: Input should be greater than or equal to 1 (got 0)",
        ),
        (
            lambda d: d["doors"][0]["area"].update(w=-8),
            "doors.0.area.w: Input should be greater than 0 (got -8",
        ),
        (lambda d: d["zones"].append(dict(d["zones"][0])), "zones[5].id: 'zone-a' is used twice"),
        (
            lambda d: d["scales"][0].update(zone="dock"),
            "scales[0].zone: 'dock' is not a zone of the layout",
        ),
        (
            lambda d: d["scales"][0].update(read_point="zone-a/shelf"),
            "scales[0].read_point: 'zone-a/shelf' must start with the scale's zone 'packing/'",
        ),
        (
            lambda d: d["scales"][1].update(read_point="packing/scale-9"),
            "scales[1].read_point: 'packing/scale-9' is not the read point of any antenna",
        ),
        (
            lambda d: d["scales"][1].update(read_point="packing scale"),
            "scales.1.read_point: String should match",
        ),
        (lambda d: d.update(readerz=[]), "readerz: unknown field"),
        (lambda d: d.update(site="demo"), "site: unknown field"),
        (lambda d: d["readers"][0].update(id="Reader One"), "readers.0.id: String should match"),
        (lambda d: d.pop("warehouse"), "warehouse: Field required"),
    ],
)
def test_a_wrong_layout_is_refused_naming_the_field(change, named):
    with pytest.raises(LayoutError) as e:
        parse_layout(demo_with(change), "site.yaml")
    assert str(e.value).startswith("site.yaml: invalid layout: ")
    assert named in str(e.value).replace("[", ".").replace("]", "") or named in str(e.value)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("site: [unclosed", "site.yaml: not valid YAML"),
        ("- a\n- b\n", "a layout is a YAML mapping, got list"),
    ],
)
def test_a_file_that_is_not_a_layout_mapping_is_refused(text, named):
    with pytest.raises(LayoutError, match=named):
        parse_layout(text, "site.yaml")


def test_a_missing_layout_file_is_named(tmp_path):
    with pytest.raises(LayoutError, match=r"nope\.yaml: cannot read layout file"):
        load_layout(tmp_path / "nope.yaml")
