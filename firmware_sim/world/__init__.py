"""The simulated warehouse: pallets moving through doors and zones, and the radio
and weight readers and scales sense of it.

Pure code, no I/O and no sleeping: every function takes ``now``. The fleet
(:mod:`firmware_sim.fleet`) puts LLRP readers and MT-SICS scales on top.

- :class:`WarehouseWorld` -- layout + scenario + seed; a ``TagField`` and a ``WeightSource``
- :func:`load_scenario`, :class:`Scenario` -- the scenario file (``docs/simulator.md``)
- :class:`TruthWriter` -- the ground-truth JSON-lines file
- :func:`parse_fault`, :class:`Fault` -- timed device faults
- :class:`SimClock`, :class:`ManualClock` -- simulated time
- :class:`Director` -- a WMS running the business (``firmware_sim.wms``)
"""

from firmware_sim.world.clock import ManualClock, SimClock, iso_utc, parse_iso_utc
from firmware_sim.world.director import Director
from firmware_sim.world.faults import (
    Fault,
    FaultAction,
    FaultError,
    FaultKind,
    check_fault,
    parse_duration,
    parse_fault,
)
from firmware_sim.world.scenario import (
    MISTAKE_KINDS,
    MistakeKind,
    Scenario,
    ScenarioError,
    bundled_scenario_names,
    check_scenario,
    load_scenario,
    parse_scenario,
)
from firmware_sim.world.truth import TruthEvent, TruthWriter, read_truth
from firmware_sim.world.world import WarehouseWorld

__all__ = [
    "MISTAKE_KINDS",
    "Director",
    "Fault",
    "FaultAction",
    "FaultError",
    "FaultKind",
    "ManualClock",
    "MistakeKind",
    "Scenario",
    "ScenarioError",
    "SimClock",
    "TruthEvent",
    "TruthWriter",
    "WarehouseWorld",
    "bundled_scenario_names",
    "check_fault",
    "check_scenario",
    "iso_utc",
    "load_scenario",
    "parse_duration",
    "parse_fault",
    "parse_iso_utc",
    "parse_scenario",
    "read_truth",
]
