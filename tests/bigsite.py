"""A generated site with 50 readers: 10 doors with a reader each, 10 zones with four."""

from __future__ import annotations

from typing import Any


def fifty_reader_site() -> dict[str, Any]:
    """The layout as YAML-ready data (``parse_layout(yaml.safe_dump(...))``)."""
    doors = [
        {"id": f"door-{i}", "name": f"Door {i}", "area": {"x": 2 + 10 * i, "y": 0, "w": 6, "h": 2}}
        for i in range(10)
    ]
    zones = [
        {
            "id": f"zone-{i}",
            "name": f"Zone {i}",
            "area": {"x": 2 + 10 * i, "y": 10, "w": 8, "h": 30},
        }
        for i in range(10)
    ]
    readers: list[dict[str, Any]] = [
        {
            "id": f"reader-door-{i}",
            "door": f"door-{i}",
            "antennas": [
                {"id": 1, "read_point": f"door-{i}/outside"},
                {"id": 2, "read_point": f"door-{i}/inside"},
            ],
        }
        for i in range(10)
    ]
    for i in range(10):
        for j in range(4):
            readers.append(
                {
                    "id": f"reader-zone-{i}-{j}",
                    "zone": f"zone-{i}",
                    "antennas": [{"id": 1, "read_point": f"zone-{i}/shelf-{j}"}],
                }
            )
    return {
        "warehouse": {"id": "dc-big", "name": "Big", "width_m": 110, "depth_m": 50},
        "zones": [
            *zones,
            {
                "id": "packing",
                "name": "Packing",
                "kind": "packing",
                "area": {"x": 2, "y": 42, "w": 50, "h": 6},
            },
        ],
        "doors": doors,
        "readers": readers,
        "scales": [{"id": "scale-1", "zone": "packing"}, {"id": "scale-2", "zone": "packing"}],
    }
