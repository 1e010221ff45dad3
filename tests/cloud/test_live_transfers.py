"""Transfer changes on the live feed: staff hear each, numbered with everything else; a
customer's connection never sees a transfer (nor the internal customer's orders)."""

from __future__ import annotations

from test_live_hub import take

from cloud.live.hub import LiveHub
from cloud.live.transfer_feed import parse_notification


def transfer(n: int, status: str = "open") -> dict[str, object]:
    return {"id": f"TR-{n:06d}", "status": status, "from_site": "dc-1", "to_site": "dc-2"}


async def test_staff_hear_every_transfer_change_in_the_hub_s_sequence_and_customers_none():
    hub = LiveHub()
    hub.publish_transfer(transfer(1))
    with hub.subscribe(customer="acme") as acme, hub.subscribe() as staff:
        hub.publish_transfer(transfer(1, "in_transit"))
        hub.publish_order({"id": "SO-000001", "customer": "acme", "status": "picking"})
        staff_seen = await take(staff, 3)
        (snap, mine) = await take(acme, 2)
    assert [m["type"] for m in staff_seen] == ["snapshot", "transfer", "order"]
    assert [t["id"] for t in staff_seen[0]["transfers"]] == ["TR-000001"]
    assert staff_seen[1]["seq"] == 2 and staff_seen[1]["transfer"]["status"] == "in_transit"
    assert "transfers" not in snap and mine["type"] == "order"
    assert acme._queue.empty()  # no transfer message ever


def test_a_notification_names_a_transfer_or_an_order_or_is_ignored():
    assert parse_notification('{"transfer": "TR-000001"}') == ("transfer", "TR-000001")
    assert parse_notification('{"order": "SO-000001"}') == ("order", "SO-000001")
    for bad in ["", "[]", "{}", '{"transfer": 3}', '{"order": ""}', "not json"]:
        assert parse_notification(bad) is None
