"""The sites (warehouses) this cloud serves: ``GET /api/sites`` and the floor plan of
one, ``GET /api/sites/{site}/layout``.

A cloud serves the sites of ``RFIDWMS_SITES`` (or the one ``RFIDWMS_SITE``): each id is
the MQTT topic segment that keeps sites apart, its name and floor from its layout. The
answer is a page like every list, the default site (the one a request that names none
means when only one is served) first.

The layout answer is the geometry the map page draws (zones, doors, where each reader
stands and what its antennas cover, the scales): the layout file without the
readers' and scales' network addresses, which are the edge's business.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path
from pydantic import BaseModel, Field

from cloud.api.paging import Page
from cloud.api.state import State
from cloud.warehouse.sites import UnknownSite
from protocols.layout import Layout

router = APIRouter(prefix="/api", tags=["sites"])


class SiteOut(BaseModel):
    id: str = Field(description="the site id (RFIDWMS_SITE): every record of the site names it")
    name: str = Field(description="the warehouse's name, from its layout")
    warehouse: str = Field(description="the warehouse's id in its layout")
    zones: list[str] = Field(description="its zones' ids")
    doors: list[str] = Field(description="its dock doors' ids")


@router.get("/sites", response_model=Page[SiteOut])
async def list_sites(st: State) -> Page[SiteOut]:
    """Every site this cloud serves, in configuration order."""
    items = [
        SiteOut(
            id=site,
            name=layout.warehouse.name,
            warehouse=layout.warehouse.id,
            zones=[z.id for z in layout.zones],
            doors=[d.id for d in layout.doors],
        )
        for site, layout in st.sites.layouts.items()
    ]
    return Page(items=items, next=None)


# -- the floor plan -------------------------------------------------------------------


class RectOut(BaseModel):
    x: float = Field(description="metres from the plan's left edge")
    y: float = Field(description="metres from the plan's top edge")
    w: float = Field(description="width, metres")
    h: float = Field(description="height, metres")


class WarehouseOut(BaseModel):
    id: str
    name: str
    width_m: float
    depth_m: float


class ZoneOut(BaseModel):
    id: str
    name: str
    kind: Literal["storage", "staging", "packing"]
    area: RectOut


class DoorOut(BaseModel):
    id: str
    name: str
    area: RectOut


class AntennaOut(BaseModel):
    id: int
    read_point: str = Field(description="what it covers: door-2/inside, zone-a/shelf, ...")


class ReaderOut(BaseModel):
    id: str
    edge: str = Field(description="the edge agent that reads it")
    door: str | None = Field(description="the door it stands at (or null)")
    zone: str | None = Field(description="the zone it stands in (or null)")
    antennas: list[AntennaOut]


class ScaleOut(BaseModel):
    id: str
    edge: str
    zone: str
    read_point: str | None = Field(description="the zone antenna over its platform")
    capacity_kg: float


class SiteLayoutOut(BaseModel):
    site: str
    warehouse: WarehouseOut
    zones: list[ZoneOut]
    doors: list[DoorOut]
    readers: list[ReaderOut]
    scales: list[ScaleOut]


def layout_out(site: str, layout: Layout) -> SiteLayoutOut:
    """The floor plan of ``layout`` as the API shows it (no network addresses)."""
    return SiteLayoutOut(
        site=site,
        warehouse=WarehouseOut(**layout.warehouse.model_dump()),
        zones=[
            ZoneOut(id=z.id, name=z.name, kind=z.kind, area=RectOut(**z.area.model_dump()))
            for z in layout.zones
        ],
        doors=[
            DoorOut(id=d.id, name=d.name, area=RectOut(**d.area.model_dump())) for d in layout.doors
        ],
        readers=[
            ReaderOut(
                id=r.id,
                edge=r.edge,
                door=r.door,
                zone=r.zone,
                antennas=[AntennaOut(id=a.id, read_point=a.read_point) for a in r.antennas],
            )
            for r in layout.readers
        ],
        scales=[
            ScaleOut(
                id=s.id,
                edge=s.edge,
                zone=s.zone,
                read_point=s.read_point,
                capacity_kg=s.capacity_kg,
            )
            for s in layout.scales
        ],
    )


@router.get(
    "/sites/{site}/layout",
    response_model=SiteLayoutOut,
    responses={404: {"description": "this cloud does not serve that site"}},
)
async def site_layout(
    site: Annotated[str, Path(max_length=63, description="a site id of GET /api/sites")],
    st: State,
) -> SiteLayoutOut:
    """The floor plan of a site: the warehouse's size, its zones and doors (rectangles in
    metres, y down, doors along the plan's edge), its readers with the read point of each
    antenna, and its scales."""
    try:
        st.sites.check(site)
    except UnknownSite as e:
        raise HTTPException(404, detail=str(e)) from None
    return layout_out(site, st.layout(site))
