"""The layout file: the bundled demo, lookups, and wrong files refused by field."""

from __future__ import annotations

import pytest
import yaml

from protocols.layout import LayoutError, load_layout, parse_layout

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
    assert sorted(r.zone for r in zone_readers) == ["zone-a", "zone-b", "zone-c"]
    assert len([z for z in DEMO.zones if z.kind == "storage"]) == 3
    assert [s.id for s in DEMO.scales] == ["scale-1", "scale-2"]


def test_read_points_and_ports_follow_the_layout():
    assert DEMO.read_point("reader-door-3", 2) == "door-3/outside"
    assert DEMO.read_point("reader-door-3", 4) == "door-3/inside"
    assert DEMO.read_point("reader-door-3", 9) is None
    assert DEMO.reader_port("reader-door-1", 5084) == 5084
    assert DEMO.reader_port("reader-zone-c", 5084) == 5090
    assert DEMO.scale_port("scale-2", 5184) == 5185
    assert [r.id for r in DEMO.readers_of_edge("edge-1")] == [r.id for r in DEMO.readers]
    assert DEMO.readers_of_edge("edge-9") == []


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
