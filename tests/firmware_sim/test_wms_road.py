"""The road between two simulated sites: a transfer's truck written by the source is
read back by the destination as the very same pallets (tags, cases, weights, radio
facts), taken once; a file that is no truck is set aside, naming the field."""

from __future__ import annotations

import json
import random
from datetime import date

import pytest

from firmware_sim.wms.road import Road
from firmware_sim.world.floor import TaggedPallet
from firmware_sim.world.model import Sku, TagIssuer
from firmware_sim.world.transfer_truck import TransferTruck, TruckError


def truck(pallets: int = 2) -> TransferTruck:
    sku = Sku("0614141", "812345", "Sparkling water 24x0.5 L", 12.4, 365)
    issuer = TagIssuer("0614141", next_sscc=7, next_serial=100)
    lot = issuer.lot(sku, date(2025, 1, 2))
    rng = random.Random(3)
    loaded = tuple(TaggedPallet.of(issuer.pallet(lot, 4, 25.0, rng), 9) for _ in range(pallets))
    return TransferTruck("TR-000001", "dc-1", "dc-2", 1000.0, 1600.0, loaded)


def test_a_truck_comes_off_the_road_as_the_same_pallets():
    sent = truck()
    back = TransferTruck.of_json(json.loads(json.dumps(sent.to_json())))
    assert back.transfer == sent.transfer and back.arrives_at == 1600.0
    for a, b in zip(sent.pallets, back.pallets, strict=True):
        assert b.pallet == a.pallet  # tags, item, lot, cases and their weights
        assert (b.keys, b.offsets_db, b.epcs) == (a.keys, a.offsets_db, a.epcs)


@pytest.mark.parametrize(
    ("spoil", "said"),
    [
        (lambda d: d.pop("transfer"), "transfer: missing"),
        (lambda d: d.update(pallets=[]), "pallets: a truck carries at least one pallet"),
        (lambda d: d["pallets"][1].pop("lot"), "pallets[1].lot: missing"),
        (lambda d: d["pallets"][0]["tags"].reverse(), "pallets[0].tags: not the pallet's"),
        (lambda d: d["pallets"][0].update(expiry="soon"), "pallets[0]: Invalid isoformat"),
    ],
)
def test_a_load_that_cannot_be_read_names_the_field(spoil, said):
    data = truck().to_json()
    spoil(data)
    with pytest.raises(TruckError, match=said.replace("[", r"\[").replace("]", r"\]")):
        TransferTruck.of_json(data)


class _Flow:
    def transfer_coming(self, t: TransferTruck) -> None: ...


class _World:
    flow = _Flow()


class _Bridge:
    """Records what the road hands to the world."""

    def __init__(self) -> None:
        self.world = _World()
        self.decided: list[tuple[object, tuple[object, ...]]] = []

    def decide(self, action: object, *args: object) -> None:
        self.decided.append((action, args))


def test_the_destination_takes_each_truck_once_and_sets_aside_what_is_no_truck(tmp_path):
    source = Road(tmp_path, "dc-1", _Bridge())  # type: ignore[arg-type]
    bridge = _Bridge()
    destination = Road(tmp_path, "dc-2", bridge)  # type: ignore[arg-type]
    path = source.send(truck())
    assert path == tmp_path / "dc-2" / "TR-000001.json"
    (tmp_path / "dc-2" / "junk.json").write_text("{}")
    (got,) = destination.receive()
    assert [p.pallet.epc for p in got.pallets] == [p.pallet.epc for p in truck().pallets]
    assert [args[0].transfer for _, args in bridge.decided] == ["TR-000001"]
    assert destination.receive() == []  # taken once
    assert (tmp_path / "dc-2" / "junk.json.bad").exists()
    assert destination.stats.bad == 1 and destination.stats.received == 1
