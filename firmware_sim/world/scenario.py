"""The scenario file: what happens in the simulated warehouse, and how fast.

A scenario is YAML (``docs/simulator.md`` describes every field): the stock on
the shelves at the start, trucks arriving at random intervals or at scripted
times, customer orders leaving, the timing of each step, the radio conditions
and timed device faults. Every field has a default, so ``{}`` is a scenario.
:func:`load_scenario` refuses a wrong file with a :class:`ScenarioError` whose
message names the field and the value; :func:`check_scenario` then checks the
names it uses (doors, zones, readers, scales) against the layout.
"""

from __future__ import annotations

from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from firmware_sim.world.faults import (
    Fault,
    FaultError,
    check_fault,
    fault_from_mapping,
    parse_duration,
)
from firmware_sim.world.rf import RadioParams
from protocols.layout import Layout
from protocols.validation import describe_validation_error

__all__ = [
    "BUNDLED_SCENARIOS",
    "MISTAKE_KINDS",
    "MistakeKind",
    "Scenario",
    "ScenarioError",
    "bundled_scenario_names",
    "check_scenario",
    "load_scenario",
    "parse_scenario",
]

BUNDLED_SCENARIOS = "firmware_sim.scenarios"


class ScenarioError(ValueError):
    """The scenario file is wrong; the message names the field and the value."""


def _seconds(v: Any) -> Any:
    if isinstance(v, str):
        try:
            return parse_duration(v)
        except FaultError as e:
            raise ValueError(str(e).removeprefix("duration: ")) from None
    return v


def _range(v: Any) -> Any:
    if isinstance(v, list | tuple):
        if len(v) != 2:
            raise ValueError(f"a range is [min, max], got {len(v)} values")
        lo, hi = (_seconds(x) for x in v)
        if isinstance(lo, int | float) and isinstance(hi, int | float) and lo > hi:
            raise ValueError(f"range min {lo} is above max {hi}")
        return (lo, hi)
    v = _seconds(v)
    return (v, v)


Seconds = Annotated[float, BeforeValidator(_seconds), Field(ge=0)]
SecondsRange = Annotated[tuple[float, float], BeforeValidator(_range)]
CountRange = Annotated[tuple[int, int], BeforeValidator(_range)]
FaultSpec = Annotated[Fault, BeforeValidator(fault_from_mapping)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class RadioSettings(_Strict):
    sensitivity_dbm: float = Field(default=-70.0, le=0)
    miss_rate: float = Field(default=0.05, ge=0, le=1)
    rssi_noise_db: float = Field(default=1.0, ge=0)
    stray_read_rate: float = Field(default=0.3, ge=0, le=1)
    stray_loss_db: float = Field(default=22.0, ge=0)
    stray_range_m: float = Field(default=25.0, ge=0)
    zone_bleed_db: float = Field(default=6.0, ge=0)
    zone_bleed_m: float = Field(default=7.0, ge=0)
    reader_reads_per_s: float = Field(default=400.0, gt=0)

    def params(self) -> RadioParams:
        return RadioParams(**self.model_dump())


class SkuSpec(_Strict):
    item_reference: str = Field(pattern=r"^[0-9]{1,7}$")
    name: str = Field(min_length=1)
    case_kg: float = Field(gt=0, le=200)
    shelf_life_days: int = Field(default=365, ge=1)


class CatalogSettings(_Strict):
    company_prefix: str = Field(default="0614141", pattern=r"^[0-9]{6,12}$")
    skus: int | list[SkuSpec] = 12
    """How many SKUs to make up, or the SKUs themselves."""
    cases_per_pallet: CountRange = (8, 16)
    pallet_tare_kg: float = Field(default=25.0, ge=0)
    shelf_life_days: CountRange = (120, 720)

    @model_validator(mode="after")
    def _some_skus(self) -> CatalogSettings:
        if isinstance(self.skus, int) and not 1 <= self.skus <= 1000:
            raise ValueError(f"skus: {self.skus} SKUs is not 1-1000")
        if isinstance(self.skus, list) and not self.skus:
            raise ValueError("skus: the list is empty")
        if self.cases_per_pallet[0] < 1:
            raise ValueError("cases_per_pallet: a pallet carries at least 1 case")
        return self


class StockSettings(_Strict):
    pallets_per_zone: int = Field(default=8, ge=0, le=10_000)
    zones: list[str] | None = None
    """Zones stocked at the start; default: every storage zone."""


class InboundSettings(_Strict):
    enabled: bool = True
    first_truck_s: SecondsRange = (5.0, 30.0)
    truck_every_s: SecondsRange = (90.0, 180.0)
    pallets_per_truck: CountRange = (2, 4)
    doors: list[str] | None = None


class OutboundSettings(_Strict):
    enabled: bool = True
    first_order_s: SecondsRange = (20.0, 60.0)
    order_every_s: SecondsRange = (60.0, 120.0)
    pallets_per_order: CountRange = (1, 3)
    doors: list[str] | None = None


class TimingSettings(_Strict):
    dock_s: Seconds = 10.0
    """From a truck docking to its first pallet entering the door."""
    passage_s: Annotated[float, BeforeValidator(_seconds), Field(gt=0)] = 8.0
    """How long a pallet takes from ``approach_m`` outside to ``approach_m`` inside."""
    approach_m: float = Field(default=8.0, gt=0)
    pallet_gap_s: Seconds = 12.0
    door_clear_s: Seconds = 2.0
    """Minimum time between one passage ending and the next starting at the same door."""
    travel_s: SecondsRange = (20.0, 45.0)
    pick_delay_s: SecondsRange = (5.0, 30.0)
    pack_s: SecondsRange = (15.0, 30.0)
    weigh_s: Annotated[float, BeforeValidator(_seconds), Field(gt=0)] = 12.0
    load_delay_s: Seconds = 10.0
    stage_share: float = Field(default=0.0, ge=0, le=1)
    """Share of inbound pallets set down inside the door before put-away."""
    stage_s: SecondsRange = (20.0, 120.0)
    """How long a staged pallet waits inside the door."""


class TurnbackSettings(_Strict):
    per_hour: float = Field(default=0.0, ge=0, le=3600)
    """About this many approaches an hour that turn back before the door's middle."""
    pause_s: SecondsRange = (1.0, 4.0)
    """How long the forklift stands at the turning point."""


class ShrinkageSettings(_Strict):
    """Stock that goes astray on the shelves, on no task (for the automatic cycle count)."""

    vanish_per_hour: float = Field(default=0.0, ge=0, le=3600)
    """About this many shelved pallets an hour vanish: their tags are heard nowhere again
    (``vanish`` truth lines)."""
    misplace_per_hour: float = Field(default=0.0, ge=0, le=3600)
    """About this many shelved pallets an hour are moved to another storage zone without
    a task (``misplace`` truth lines)."""
    settled_s: Seconds = 120.0
    """Only pallets shelved at least this long go astray."""


MistakeKind = Literal["wrong_pallet", "wrong_door", "missing_case"]
MISTAKE_KINDS: tuple[MistakeKind, ...] = ("wrong_pallet", "wrong_door", "missing_case")


class WorkerSettings(_Strict):
    """How the workers carry out the WMS's tasks (only with a WMS: ``rfidwms sim --wms``)."""

    mistake_rate: float = Field(default=0.0, ge=0, le=1)
    """Share of the tasks that can go wrong (pick and ship tasks) carried out wrong."""
    mistakes: list[MistakeKind] = Field(default_factory=lambda: list(MISTAKE_KINDS), min_length=1)
    """Which mistakes they make: wrong_pallet and missing_case on picks, wrong_door on ships."""
    task_wait_s: Seconds = 180.0
    """How long a received pallet waits for its put-away task before the forklift driver
    takes it to the least full storage zone unasked (logged)."""
    hold_resolve_s: Seconds = Field(default=300.0, gt=0)
    """How long an order stays on hold (a weight mismatch, a mis-shipment) before the
    shift lead cancels it; its pallets go back to storage on the WMS's put-away tasks."""
    write_off_share: float = Field(default=0.2, ge=0, le=1)
    """Share of the returned pallets the inspection writes off (taken out of the
    warehouse: a ``write_off`` truth line); the others are restocked where they are."""


class ErpSettings(_Strict):
    """What the simulated ERP posts to the WMS (only with ``rfidwms sim --wms``)."""

    customers: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$")]] = Field(
        default_factory=lambda: ["acme", "globex"], min_length=1
    )
    """The customers orders are placed for, in turn (the demo's customer users)."""
    notice_wait_s: Seconds = 60.0
    """How long a truck waits in the yard for its advance ship notice to be posted
    before it docks anyway (logged)."""
    open_wait_s: Seconds = 300.0
    """How long the warehouse waits for the ERP to post the item master and the opening
    stock before it opens without (logged)."""
    return_share: float = Field(default=0.05, ge=0, le=1)
    """Share of the shipped orders whose customer sends everything back (a return by the
    case EPCs that truly left on the order's pallets)."""
    return_after_s: Seconds = 600.0
    """How long after the order's last pallet left the customer asks for the return."""
    return_transit_s: Seconds = 300.0
    """How long after the return is posted its truck docks at an inbound door."""
    transfer_per_hour: float = Field(default=0.0, ge=0, le=3600)
    """How often (on average, exponential gaps) the ERP moves stock from this site to
    another of the WMS (``POST /api/transfers``); 0: never. Needs ``--site``."""
    transfer_pallets: CountRange = (1, 2)
    """Whole pallets per transfer (FEFO fills its lines, as an order's)."""
    transfer_drive_s: SecondsRange = (10 * 60.0, 15 * 60.0)
    """How long the truck of a transfer is on the road; the ERP tells the WMS the
    longest (``transit_min``)."""
    transfer_to: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,63}$")
    """The site transfers go to; None: one of the WMS's other sites, in turn."""


class ScriptedTruck(_Strict):
    at: Seconds
    door: str
    pallets: int = Field(default=1, ge=1, le=1000)
    sku: str | None = None
    """Item reference or GTIN of the SKU on every pallet; default: random."""
    cases: int | None = Field(default=None, ge=1, le=1000)


class ScriptedOrder(_Strict):
    at: Seconds
    door: str
    pallets: int = Field(default=1, ge=1, le=1000)
    sku: str | None = None


class Scenario(_Strict):
    name: str = "unnamed"
    description: str = ""
    seed: int = 1
    speed: float = Field(default=1.0, gt=0)
    start: datetime | None = None
    """Simulated UTC time at the start; default: the wall clock when the simulator starts."""
    duration_s: Annotated[float, BeforeValidator(_seconds), Field(gt=0)] | None = None
    """Simulated seconds to run; default: until stopped."""
    radio: RadioSettings = RadioSettings()
    catalog: CatalogSettings = CatalogSettings()
    stock: StockSettings = StockSettings()
    inbound: InboundSettings = InboundSettings()
    outbound: OutboundSettings = OutboundSettings()
    timing: TimingSettings = TimingSettings()
    turnbacks: TurnbackSettings = TurnbackSettings()
    shrinkage: ShrinkageSettings = ShrinkageSettings()
    workers: WorkerSettings = WorkerSettings()
    erp: ErpSettings = ErpSettings()
    trucks: list[ScriptedTruck] = Field(default_factory=list)
    orders: list[ScriptedOrder] = Field(default_factory=list)
    faults: list[FaultSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _aware_start(self) -> Scenario:
        if self.start is not None and self.start.tzinfo is None:
            raise ValueError(f"start: {self.start.isoformat()!r} needs a time zone, e.g. 'Z'")
        return self


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ScenarioError(f"{source}: not valid YAML: {e}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: a scenario is a YAML mapping, got {type(data).__name__}")
    try:
        return Scenario.model_validate(data)
    except ValidationError as e:
        raise ScenarioError(describe_validation_error(e, source, "scenario")) from None


def bundled_scenario_names() -> list[str]:
    files = resources.files(BUNDLED_SCENARIOS).iterdir()
    return sorted(f.name.removesuffix(".yaml") for f in files if f.name.endswith(".yaml"))


def load_scenario(path_or_name: str | Path | None) -> Scenario:
    """A scenario file, or a bundled scenario by name (``demo`` when None)."""
    name = "demo" if path_or_name is None else str(path_or_name)
    if name in bundled_scenario_names():
        text = resources.files(BUNDLED_SCENARIOS).joinpath(f"{name}.yaml").read_text("utf-8")
        return parse_scenario(text, f"(bundled) {name}.yaml")
    p = Path(name)
    try:
        text = p.read_text("utf-8")
    except OSError as e:
        bundled = ", ".join(bundled_scenario_names())
        raise ScenarioError(
            f"{p}: cannot read scenario file: {e.strerror} (bundled scenarios: {bundled})"
        ) from None
    return parse_scenario(text, str(p))


def check_scenario(scenario: Scenario, layout: Layout, source: str = "scenario") -> None:
    """Check every door, zone, reader and scale the scenario names against the layout."""
    doors = [d.id for d in layout.doors]
    zones = [z.id for z in layout.zones]

    def must(kind: str, known: list[str], value: str, where: str) -> None:
        if value not in known:
            raise ScenarioError(
                f"{source}: {where}: {value!r} is not a {kind} of the layout (known: {known})"
            )

    for i, z in enumerate(scenario.stock.zones or []):
        must("zone", zones, z, f"stock.zones[{i}]")
    for section, settings in (("inbound", scenario.inbound), ("outbound", scenario.outbound)):
        for i, d in enumerate(settings.doors or []):
            must("door", doors, d, f"{section}.doors[{i}]")
    for i, truck in enumerate(scenario.trucks):
        must("door", doors, truck.door, f"trucks[{i}].door")
    for i, order in enumerate(scenario.orders):
        must("door", doors, order.door, f"orders[{i}].door")
    for i, fault in enumerate(scenario.faults):
        try:
            check_fault(fault, layout, f"faults[{i}] {str(fault)!r}")
        except FaultError as e:
            raise ScenarioError(f"{source}: {e}") from None
