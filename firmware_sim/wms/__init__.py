"""The simulated warehouse following a WMS, like a real one (``rfidwms sim --wms``).

Everything goes through the WMS's REST API with bearer tokens, never its database:

- :class:`WmsClient` -- the API: timeouts, retries with backoff, 4xx logged
- :class:`WorldBridge` -- the world's director: wall-time answers become world events
- :class:`Erp` -- the item master, advance ship notices, customer orders
- :class:`Workers` -- the WMS's tasks carried out in the world, with mistakes
- :class:`WmsDriver`, :class:`WmsSettings` -- both together

``docs/simulator.md`` ("Driven by the WMS") tells what is posted when.
"""

from firmware_sim.wms.bridge import WorldBridge
from firmware_sim.wms.client import Answer, WmsClient, WmsError, WmsUnavailable
from firmware_sim.wms.driver import WmsDriver, WmsSettings
from firmware_sim.wms.erp import Erp
from firmware_sim.wms.mistakes import MistakeDice
from firmware_sim.wms.workers import Workers

__all__ = [
    "Answer",
    "Erp",
    "MistakeDice",
    "WmsClient",
    "WmsDriver",
    "WmsError",
    "WmsSettings",
    "WmsUnavailable",
    "Workers",
    "WorldBridge",
]
