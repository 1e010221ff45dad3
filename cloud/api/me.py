"""``/api/me``: who a token is and the pages of its role, for the pages' navigation.

Every role may ask (about itself only). The pages are those of
:func:`cloud.warehouse.roles.pages_for`: a customer gets the portal only; staff the
pages whose routes their role may call.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from cloud.api.auth import CallerDep
from cloud.warehouse.roles import Role, pages_for

router = APIRouter(prefix="/api", tags=["users"])


class PageOut(BaseModel):
    path: str = Field(description="where the page is, as /orders")
    label: str = Field(description="its name in the navigation")


class MeOut(BaseModel):
    user: str
    role: Role
    customer: str | None = Field(description="the only customer a customer's token sees")
    pages: list[PageOut] = Field(description="the pages this role can use, in navigation order")


@router.get("/me", response_model=MeOut)
async def me(caller: CallerDep) -> MeOut:
    """The token's user, role and customer, and the pages its role can use."""
    return MeOut(
        user=caller.user,
        role=caller.role,
        customer=caller.customer_scope,
        pages=[PageOut(path=p.path, label=p.label) for p in pages_for(caller.role)],
    )
