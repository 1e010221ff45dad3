"""A transfer's truck between two simulated warehouses: :class:`TransferTruck`. Pure.

The two sites of ``rfidwms demo`` are two simulator processes, each with a world of
its own. A truck that leaves one site's door with a transfer's pallets is the same
truck, with the same pallets, that docks at the other site: what physically left (its
tags, its cases and their weights, each tag's radio facts), not what any WMS thinks
left. :meth:`TransferTruck.to_json` and :meth:`TransferTruck.of_json` carry it across
(:mod:`firmware_sim.wms.road` moves the file); :class:`TruckError` names the field of
a load that cannot be read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from firmware_sim.world.floor import TaggedPallet
from firmware_sim.world.model import Case, Lot, Pallet, Sku

__all__ = ["TransferTruck", "TruckError"]


class TruckError(ValueError):
    """A truck's load that cannot be read; the message names the field."""


@dataclass(frozen=True, slots=True)
class TransferTruck:
    transfer: str
    """The WMS's transfer id (``TR-000123``)."""
    from_site: str
    to_site: str
    left_at: float
    """Simulated Unix time the last pallet left the source's door."""
    arrives_at: float
    """Simulated Unix time it reaches the destination's yard (``left_at`` + the drive)."""
    pallets: tuple[TaggedPallet, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "transfer": self.transfer,
            "from_site": self.from_site,
            "to_site": self.to_site,
            "left_at": self.left_at,
            "arrives_at": self.arrives_at,
            "pallets": [_pallet_json(tp) for tp in self.pallets],
        }

    @classmethod
    def of_json(cls, data: Any) -> TransferTruck:
        if not isinstance(data, dict):
            raise TruckError("truck: not an object")
        try:
            pallets = data["pallets"]
            if not isinstance(pallets, list) or not pallets:
                raise TruckError("pallets: a truck carries at least one pallet")
            return cls(
                str(data["transfer"]),
                str(data["from_site"]),
                str(data["to_site"]),
                float(data["left_at"]),
                float(data["arrives_at"]),
                tuple(_pallet_of(p, f"pallets[{i}]") for i, p in enumerate(pallets)),
            )
        except KeyError as e:
            raise TruckError(f"{e.args[0]}: missing") from None
        except (TypeError, ValueError) as e:
            if isinstance(e, TruckError):
                raise
            raise TruckError(f"truck: {e}") from None


def _pallet_json(tp: TaggedPallet) -> dict[str, Any]:
    p = tp.pallet
    sku = p.sku
    return {
        "epc": p.epc,
        "sscc": p.sscc,
        "sku": {
            "company_prefix": sku.company_prefix,
            "item_reference": sku.item_reference,
            "name": sku.name,
            "case_kg": sku.case_kg,
            "shelf_life_days": sku.shelf_life_days,
        },
        "lot": p.lot.code,
        "expiry": p.lot.expiry.isoformat(),
        "tare_kg": p.tare_kg,
        "cases": [{"epc": c.epc, "serial": c.serial, "weight_kg": c.weight_kg} for c in p.cases],
        "tags": [
            {"epc": e, "key": k, "offset_db": o}
            for e, k, o in zip(tp.epcs, tp.keys, tp.offsets_db, strict=True)
        ],
    }


def _pallet_of(d: Any, where: str) -> TaggedPallet:
    if not isinstance(d, dict):
        raise TruckError(f"{where}: not an object")
    try:
        s = d["sku"]
        sku = Sku(
            str(s["company_prefix"]),
            str(s["item_reference"]),
            str(s["name"]),
            float(s["case_kg"]),
            int(s["shelf_life_days"]),
        )
        lot = Lot(sku, str(d["lot"]), date.fromisoformat(str(d["expiry"])))
        cases = tuple(
            Case(str(c["epc"]), int(c["serial"]), float(c["weight_kg"])) for c in d["cases"]
        )
        pallet = Pallet(str(d["epc"]), str(d["sscc"]), lot, cases, float(d["tare_kg"]))
        tags = d["tags"]
        epcs = tuple(str(t["epc"]) for t in tags)
        if epcs != (pallet.epc, *pallet.case_epcs):
            raise TruckError(f"{where}.tags: not the pallet's tag and its cases', in order")
        return TaggedPallet(
            pallet,
            tuple(int(t["key"]) for t in tags),
            tuple(float(t["offset_db"]) for t in tags),
            epcs,
        )
    except KeyError as e:
        raise TruckError(f"{where}.{e.args[0]}: missing") from None
    except (TypeError, ValueError) as e:
        if isinstance(e, TruckError):
            raise
        raise TruckError(f"{where}: {e}") from None
