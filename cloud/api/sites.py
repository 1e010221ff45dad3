"""The sites (warehouses) this cloud serves: ``GET /api/sites``.

A cloud node serves one site today: its id is the deployment's ``RFIDWMS_SITE`` (the
MQTT topic segment that keeps sites apart), its name and floor from the layout
(``RFIDWMS_LAYOUT``). The answer is a page like every list, so more sites fit later.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from cloud.api.paging import Page
from cloud.api.state import State

router = APIRouter(prefix="/api", tags=["sites"])


class SiteOut(BaseModel):
    id: str = Field(description="the site id (RFIDWMS_SITE): every record of the site names it")
    name: str = Field(description="the warehouse's name, from its layout")
    warehouse: str = Field(description="the warehouse's id in its layout")
    zones: list[str] = Field(description="its zones' ids")
    doors: list[str] = Field(description="its dock doors' ids")


@router.get("/sites", response_model=Page[SiteOut])
async def list_sites(st: State) -> Page[SiteOut]:
    layout = st.layout
    site = SiteOut(
        id=st.settings.site,
        name=layout.warehouse.name,
        warehouse=layout.warehouse.id,
        zones=[z.id for z in layout.zones],
        doors=[d.id for d in layout.doors],
    )
    return Page(items=[site], next=None)
