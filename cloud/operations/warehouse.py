"""The handlers and timers the cloud's warehouse feed runs, in one place.

Each area adds its own with one ``register`` call here (transfers arriving, inbound,
returns, and the orders' door check and weight check).
"""

from __future__ import annotations

from cloud.operations import inbound, orders_feed, returns_feed, transfers_feed
from cloud.operations.feed import Registry


def warehouse_registry() -> Registry:
    """Every handler and timer of the warehouse feed."""
    registry = Registry()
    transfers_feed.register(registry)  # a transfer's pallet: received before inbound looks
    inbound.register(registry)
    returns_feed.register(registry)  # a shipped pallet coming back: inbound leaves it
    orders_feed.register(registry)  # after inbound: stock has moved when they run
    return registry
