"""The simulated warehouse's ERP: the item master, advance ship notices, customer orders.

It takes the world's requests one at a time, in the order they came (so each order
is planned on what the orders before it left):

- **opening**: every SKU of the scenario to the item master (``POST /api/items``),
  then the stock on the shelves as one notice (``POST /api/asns``, ``…-opening``,
  no door: the zone readers receive its pallets where they stand; more than
  :data:`MAX_ASN_PALLETS` pallets: ``…-opening-1``, ``-2``, ...); then the warehouse
  opens;
- **a truck in the yard**: its notice (``POST /api/asns``, ``ASN-<run>-<truck>``):
  each pallet with its SSCC-96 EPC, SSCC, item, lot, expiry and every case EPC,
  exactly the load the truck brings, expected at its door ``dock_s`` later; then the
  truck docks (also when the notice was refused: the refusal is logged);
- **a customer wanting goods**: the available pallets in storage zones
  (``GET /api/pallets``), lines of whole pallets FEFO fills
  (:func:`~firmware_sim.wms.order_lines.plan_order`), and ``POST /api/orders`` for
  the next customer in turn, at the door the customer's truck comes to, with the
  client order id ``PO-<run>-<n>`` (a retried post is the same order); the order and
  the pallets it reserved go to the world (its ``order`` truth line);
- **stock wanted at another site** (``erp.transfer_per_hour``): the available pallets
  in storage zones, lines of whole pallets FEFO fills (as an order's), and
  ``POST /api/transfers`` from this site to ``erp.transfer_to`` (else the WMS's other
  sites, ``GET /api/sites``, in turn), ``transit_min`` the longest drive
  (``erp.transfer_drive_s``), ``Idempotency-Key`` ``TR-<run>-<n>``; the pallets its
  order reserved (``GET /api/orders/{order_id}``) go to the world (its ``transfer``
  truth line), whose workers then pick and ship them on the order's tasks;
- **a customer sending an order back**: ``POST /api/returns`` for the order by the case
  EPCs that truly left on its pallets (a retried post is the same return: the
  ``Idempotency-Key`` is ``RMA-<run>-<order>``); the world's truck brings them back
  once it is posted (nothing comes when the WMS refuses it: logged).

``<run>`` is the simulated start and the seed (``20250106080000-s7``): a run's ids
are its own, and the same run again posts the same ones.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from firmware_sim.wms.bridge import (
    ErpRequest,
    Opening,
    OrderWanted,
    ReturnWanted,
    TransferWanted,
    TruckComing,
    WorldBridge,
)
from firmware_sim.wms.client import WmsClient, WmsUnavailable
from firmware_sim.wms.order_lines import plan_order, stock_pallet
from firmware_sim.world.model import Pallet
from firmware_sim.world.rf import stable_key

__all__ = ["Erp", "ErpStats", "run_tag"]

logger = logging.getLogger(__name__)

SUPPLIER = "Simulated supplier"
MAX_ASN_PALLETS = 1000
"""The most pallets the WMS takes in one notice: a larger opening stock is split."""


def run_tag(start: float, seed: int, site: str | None = None) -> str:
    """``20250106080000-s7``: the run's part of the notices' and orders' ids; with a
    ``site``, ``dc-2-20250106080000-s7`` (the sites of one run post ids of their own:
    notice ids are unique in the whole WMS)."""
    stamp = f"{datetime.fromtimestamp(start, UTC):%Y%m%d%H%M%S}-s{seed}"
    return stamp if site is None else f"{site}-{stamp}"


def _iso(t: float) -> str:
    return datetime.fromtimestamp(round(t, 3), UTC).isoformat().replace("+00:00", "Z")


def asn_pallet(p: Pallet) -> dict[str, Any]:
    """A pallet as a notice announces it: exactly what the world will send."""
    return {
        "sscc": p.sscc,
        "epc": p.epc,
        "sku": p.sku.gtin,
        "lot": p.lot.code,
        "expiry": p.lot.expiry.isoformat(),
        "cases": p.case_epcs,
    }


@dataclass
class ErpStats:
    items: int = 0
    notices: int = 0
    orders: int = 0
    returns: int = 0
    transfers: int = 0
    refused: int = 0
    """Requests the WMS refused (4xx), or could not be made (nothing available)."""


class Erp:
    """Posts what the world's business needs to the WMS; see the module docstring."""

    def __init__(
        self,
        client: WmsClient,
        bridge: WorldBridge,
        *,
        customers: list[str],
        tag: str,
        seed: int,
        site: str | None = None,
    ) -> None:
        """``site``: the WMS site this warehouse is, sent with every notice, order and
        stock query (None: sent with none, which a WMS serving one site accepts)."""
        if not customers:
            raise ValueError("customers: the ERP needs at least one customer")
        self.client = client
        self.bridge = bridge
        self.customers = customers
        self.tag = tag
        self.site = site
        self.rng = random.Random(stable_key("erp", seed))
        self.stats = ErpStats()
        self._orders = 0
        self._transfers = 0

    async def run(self) -> None:
        """Take the world's requests until cancelled."""
        while True:
            request = await self.bridge.erp_requests.get()
            try:
                await self.handle(request)
            except WmsUnavailable as e:
                self.stats.refused += 1
                logger.error("erp: gave up on %s: %s", type(request).__name__, e)
            except Exception:  # an answer it cannot read: this request only
                self.stats.refused += 1
                logger.exception("erp: %s failed", request)

    async def handle(self, request: ErpRequest) -> None:
        match request:
            case Opening():
                await self.open(request)
            case TruckComing():
                await self.announce(request)
            case OrderWanted():
                await self.order(request)
            case ReturnWanted():
                await self.send_back(request)
            case TransferWanted():
                await self.transfer(request)

    # ------------------------------------------------------------------ opening

    async def open(self, opening: Opening) -> None:
        flow = self.bridge.world.flow
        for sku in opening.skus:
            answer = await self.client.post(
                "/api/items",
                {
                    "sku": sku.gtin,
                    "name": sku.name,
                    "case_weight_kg": sku.case_kg,
                    "shelf_life_days": sku.shelf_life_days,
                    "pallet_tare_kg": opening.tare_kg,
                },
                attempts=None,  # the first call of a run: wait for the WMS to come up
            )
            self._count(answer.ok, "items")
        chunks = [
            opening.stock[i : i + MAX_ASN_PALLETS]
            for i in range(0, len(opening.stock), MAX_ASN_PALLETS)
        ]
        for n, chunk in enumerate(chunks, start=1):
            answer = await self.client.post(
                "/api/asns",
                {
                    "asn": f"ASN-{self.tag}-opening" + (f"-{n}" if len(chunks) > 1 else ""),
                    "supplier": "Opening stock",
                    "expected_at": _iso(self.bridge.world.start),
                    "pallets": [asn_pallet(p) for p in chunk],
                    **self._at_site(),
                },
                attempts=None,
            )
            self._count(answer.ok, "notices")
        logger.info(
            "erp: %d items and %d pallets of opening stock announced",
            len(opening.skus),
            len(opening.stock),
        )
        self.bridge.decide(flow.open_business)

    # ------------------------------------------------------------------ inbound

    async def announce(self, truck: TruckComing) -> None:
        dock_s = self.bridge.world.scenario.timing.dock_s
        answer = await self.client.post(
            "/api/asns",
            {
                "asn": f"ASN-{self.tag}-{truck.truck}",
                "supplier": SUPPLIER,
                "expected_at": _iso(truck.at + dock_s),
                "door": truck.door,
                "pallets": [asn_pallet(p) for p in truck.load],
                **self._at_site(),
            },
            attempts=None,
        )
        self._count(answer.ok, "notices")
        self.bridge.decide(self.bridge.world.flow.notice_posted, truck.truck)

    # ------------------------------------------------------------------ outbound

    async def order(self, wanted: OrderWanted) -> None:
        world = self.bridge.world
        storage = world.flow.storage_zones
        params: dict[str, Any] = {"limit": 1000, **self._at_site()}
        if wanted.sku is not None:
            params["sku"] = wanted.sku.gtin
        items = await self.client.pages("/api/pallets", params, attempts=None)
        if items is None:
            self.stats.refused += 1
            return
        available = [p for p in (stock_pallet(i, storage) for i in items) if p is not None]
        sku = wanted.sku.gtin if wanted.sku is not None else None
        lines = plan_order(available, wanted.pallets, self.rng, sku)
        if not lines:
            self.stats.refused += 1
            logger.info(
                "erp: nothing available to order at %s (%s)", wanted.door, sku or "any item"
            )
            return
        self._orders += 1
        customer = self.customers[(self._orders - 1) % len(self.customers)]
        client_id = f"PO-{self.tag}-{self._orders:04d}"
        answer = await self.client.post(
            "/api/orders",
            {
                "customer": customer,
                "lines": [{"sku": x.sku, "qty": x.qty} for x in lines],
                "ship_door": wanted.door,
                "order": client_id,
                **self._at_site(),
            },
            attempts=None,
        )
        self._count(answer.ok, "orders")
        if not answer.ok or not isinstance(answer.body, dict):
            return
        order = answer.body
        pallets = [t["pallet_epc"] for t in order.get("pick_tasks", []) if t.get("pallet_epc")]
        logger.info(
            "erp: order %s (%s) for %s at %s: %s, %s",
            order.get("id"),
            client_id,
            customer,
            wanted.door,
            ", ".join(f"{x.qty} x {x.sku}" for x in lines),
            order.get("status"),
        )
        if pallets:
            door = order.get("ship_door") or wanted.door
            self.bridge.decide(world.flow.order_placed, str(order["id"]), door, pallets)

    # ------------------------------------------------------------------ transfers

    async def transfer(self, wanted: TransferWanted) -> None:
        world = self.bridge.world
        if self.site is None:
            self.stats.refused += 1
            logger.info("erp: no transfer: this warehouse names no site (--site)")
            return
        to_site = await self._transfer_to()
        if to_site is None:
            self.stats.refused += 1
            return
        items = await self.client.pages("/api/pallets", {"limit": 1000, "site": self.site})
        if items is None:
            self.stats.refused += 1
            return
        storage = world.flow.storage_zones
        available = [p for p in (stock_pallet(i, storage) for i in items) if p is not None]
        lines = plan_order(available, wanted.pallets, self.rng, None)
        if not lines:
            self.stats.refused += 1
            logger.info("erp: nothing available to transfer to %s", to_site)
            return
        self._transfers += 1
        key = f"TR-{self.tag}-{self._transfers:04d}"
        drive_s = world.scenario.erp.transfer_drive_s[1]
        answer = await self.client.post(
            "/api/transfers",
            {
                "from_site": self.site,
                "to_site": to_site,
                "lines": [{"sku": x.sku, "qty": x.qty} for x in lines],
                "transit_min": max(1.0, round(drive_s / 60.0, 1)),
            },
            attempts=None,
            headers={"Idempotency-Key": key},
        )
        self._count(answer.ok, "transfers")
        body = answer.body
        if not answer.ok or not isinstance(body, dict) or not isinstance(body.get("id"), str):
            logger.warning("erp: transfer %s to %s not posted: %s", key, to_site, answer.detail)
            return
        order_id = str(body["order_id"])
        order = await self.client.get(f"/api/orders/{order_id}")
        detail = order.body if order.ok and isinstance(order.body, dict) else {}
        pallets = [t["pallet_epc"] for t in detail.get("pick_tasks", []) if t.get("pallet_epc")]
        logger.info(
            "erp: transfer %s (%s, order %s) to %s: %s, %d pallet(s) reserved",
            body["id"],
            key,
            order_id,
            to_site,
            ", ".join(f"{x.qty} x {x.sku}" for x in lines),
            len(pallets),
        )
        if pallets:
            self.bridge.decide(
                world.flow.transfer_placed,
                str(body["id"]),
                order_id,
                (self.site, to_site),
                detail.get("ship_door"),
                pallets,
            )

    async def _transfer_to(self) -> str | None:
        """The site the next transfer goes to: the scenario's, else the WMS's other
        sites in turn; None (logged) when there is none."""
        wanted = self.bridge.world.scenario.erp.transfer_to
        if wanted is not None:
            return wanted
        answer = await self.client.get("/api/sites")
        body = answer.body
        items = body.get("items") if answer.ok and isinstance(body, dict) else None
        others = [
            str(s["id"])
            for s in items or []
            if isinstance(s, dict) and s.get("id") and s["id"] != self.site
        ]
        if not others:
            logger.info("erp: no transfer: the WMS serves no other site than %s", self.site)
            return None
        return others[self._transfers % len(others)]

    # ------------------------------------------------------------------ returns

    async def send_back(self, wanted: ReturnWanted) -> None:
        flow = self.bridge.world.flow
        epcs = [c for p in wanted.pallets for c in p.case_epcs]
        answer = await self.client.post(
            "/api/returns",
            {"order_id": wanted.order, "epcs": epcs, "reason": "customer return"},
            attempts=None,
            headers={"Idempotency-Key": f"RMA-{self.tag}-{wanted.order}"},
        )
        self._count(answer.ok, "returns")
        body = answer.body
        if not answer.ok or not isinstance(body, dict) or not isinstance(body.get("id"), str):
            logger.warning("erp: the return of %s was not posted: %s", wanted.order, answer.detail)
            self.bridge.decide(flow.return_dropped, wanted.order)
            return
        logger.info(
            "erp: return %s of %s: %d pallet(s), %d cases",
            body["id"],
            wanted.order,
            len(wanted.pallets),
            len(epcs),
        )
        self.bridge.decide(flow.return_posted, wanted.order, body["id"])

    def _at_site(self) -> dict[str, str]:
        """The ``site`` field or query parameter of a request about this warehouse."""
        return {} if self.site is None else {"site": self.site}

    def _count(self, ok: bool, what: str) -> None:
        if ok:
            setattr(self.stats, what, getattr(self.stats, what) + 1)
        else:
            self.stats.refused += 1
