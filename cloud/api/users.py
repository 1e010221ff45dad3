"""``/api/users`` and ``/api/tokens``: users of the API and their bearer tokens (admin).

A token's text is in the answer that makes it and nowhere else, ever: the database
keeps its SHA-256 only (:mod:`cloud.db.users`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Response, status
from pydantic import BaseModel, ConfigDict, Field, model_validator

from cloud.api.paging import DEFAULT_LIMIT, Cursor, Limit, Page, cursor_or_422, encode_cursor
from cloud.api.state import State
from cloud.db import users as db
from cloud.warehouse.roles import (
    CUSTOMER_PATTERN,
    USER_NAME_PATTERN,
    CustomerRuleError,
    Role,
    check_customer,
)

router = APIRouter(prefix="/api")

MAX_ID = 2**63 - 1  # a bigserial

UserName = Annotated[
    str, Field(pattern=USER_NAME_PATTERN, description="1-63 of A-Z a-z 0-9 _ . @ -")
]
CustomerId = Annotated[
    str,
    Field(pattern=CUSTOMER_PATTERN, description="the customer's id, as its orders name it"),
]


class NewUser(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: UserName
    role: Role
    customer: CustomerId | None = Field(
        default=None, description="for role `customer` only, and required there"
    )

    @model_validator(mode="after")
    def _customer_fits_role(self) -> NewUser:
        check_customer(self.role, self.customer)  # a ValueError: a 422 naming both
        return self


class TokenOut(BaseModel):
    id: int
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class UserOut(BaseModel):
    id: int
    name: str
    role: Role
    customer: str | None
    created_at: datetime
    tokens: list[TokenOut] = Field(description="its tokens, revoked ones too, without secrets")


class IssuedTokenOut(BaseModel):
    id: int
    user_id: int
    user: str
    role: Role
    customer: str | None
    token: str = Field(description="the bearer token; shown this once, stored only hashed")
    created_at: datetime


def _user_out(user: db.User, tokens: list[db.TokenInfo]) -> UserOut:
    return UserOut(
        id=user.id,
        name=user.name,
        role=user.role,
        customer=user.customer,
        created_at=user.created_at,
        tokens=[
            TokenOut(
                id=t.id,
                created_at=t.created_at,
                last_used_at=t.last_used_at,
                revoked_at=t.revoked_at,
            )
            for t in tokens
        ],
    )


_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such user"}}


@router.post(
    "/users",
    status_code=status.HTTP_201_CREATED,
    response_model=UserOut,
    responses={
        409: {"description": "a user of that name exists"},
        422: {"description": "a bad name, role or customer"},
    },
)
async def create_user(st: State, body: NewUser) -> UserOut:
    """A new user of the API (no token yet: ``POST /api/users/{id}/tokens``)."""
    async with st.pool.connection() as conn:
        try:
            user = await db.create_user(
                conn, body.name, body.role, body.customer, at=st.settings.now_clock()()
            )
        except db.UserExistsError as e:
            raise HTTPException(409, detail=str(e)) from None
        except CustomerRuleError as e:  # checked by the model already
            raise HTTPException(422, detail=str(e)) from None
    return _user_out(user, [])


@router.get(
    "/users",
    response_model=Page[UserOut],
    responses={422: {"description": "bad limit or cursor"}},
)
async def list_users(
    st: State, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[UserOut]:
    """A page of users by id, each with its tokens (never their secrets)."""
    after = 0 if cursor is None else int(cursor_or_422(cursor, int)[0])
    async with st.pool.connection() as conn:
        found = await db.users_after(conn, after, limit + 1)
        page = found[:limit]
        tokens = await db.tokens_of(conn, [u.id for u in page])
    more = len(found) > limit
    return Page(
        items=[_user_out(u, tokens[u.id]) for u in page],
        next=encode_cursor(page[-1].id) if more else None,
    )


@router.post(
    "/users/{user_id}/tokens",
    status_code=status.HTTP_201_CREATED,
    response_model=IssuedTokenOut,
    responses=_NOT_FOUND,
)
async def issue_token(
    st: State, user_id: Annotated[int, Path(ge=1, le=MAX_ID, description="the user's id")]
) -> IssuedTokenOut:
    """A new bearer token for a user. Its text is in this answer only: keep it."""
    async with st.pool.connection() as conn:
        user = await db.user_by_id(conn, user_id)
        if user is None:
            raise HTTPException(404, detail=f"no user has id {user_id}")
        issued = await db.issue_token(conn, user, at=st.settings.now_clock()())
    return IssuedTokenOut(
        id=issued.id,
        user_id=user.id,
        user=user.name,
        role=user.role,
        customer=user.customer,
        token=issued.token,
        created_at=issued.created_at,
    )


@router.delete(
    "/tokens/{token_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses={404: {"description": "no such token"}},
)
async def revoke_token(
    st: State, token_id: Annotated[int, Path(ge=1, le=MAX_ID, description="the token's id")]
) -> Response:
    """Revoke a token: from now on it is refused (401). Revoking it again changes
    nothing."""
    async with st.pool.connection() as conn:
        found = await db.revoke_token(conn, token_id, at=st.settings.now_clock()())
    if found is None:
        raise HTTPException(404, detail=f"no token has id {token_id}")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
