"""`/api/v1/keys`: API key management, for holders of the `admin` scope (their tenant's keys)
and of the `server` scope (keys of any tenant, `"tenant": NAME`)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field, field_validator

from bifrost.analysis import keys as api_keys
from bifrost.analysis.tenants import tenant_named
from bifrost.api.auth import Caller, may_grant, require
from bifrost.api.errors import ERROR_RESPONSES
from bifrost.api.intake import NO_NUL
from bifrost.store.records import ApiKey

router = APIRouter(prefix="/api/v1/keys", tags=["keys"])

ScopeName = Literal["analyze", "read", "admin", "metrics", "server"]


RATE = r"^ *[0-9]*[1-9][0-9]* */ *(second|minute|hour|day)s? *$"
"""A rate as keys take it, N ≥ 1: what `Rate.parse` reads, as the OpenAPI document says it."""


class KeyIn(BaseModel):
    model_config = ConfigDict(strict=True)

    name: str = Field(min_length=1, max_length=200, pattern=NO_NUL, examples=["ci-bot"])
    scopes: list[ScopeName] = Field(default=["analyze", "read"], min_length=1)
    rate: str | None = Field(
        default=None,
        max_length=40,
        description="N/second|minute|hour|day.",
        examples=["600/hour"],
        json_schema_extra={"pattern": RATE},
    )
    tenant: str | None = Field(
        default=None,
        max_length=64,
        pattern=NO_NUL,
        description="The tenant the key belongs to (`server` scope); default: the caller's.",
    )

    @field_validator("rate")
    @classmethod
    def _readable(cls, rate: str | None) -> str | None:
        """The pattern's own error would quote the pattern; this one says what to write."""
        if rate is not None and not re.fullmatch(RATE, rate):
            raise ValueError("use N/second, N/minute, N/hour or N/day with N ≥ 1, like 600/hour")
        return rate


class KeyOut(BaseModel):
    id: int
    name: str
    tenant: str
    prefix: str = Field(description="The key's first characters, to recognise it.")
    scopes: list[str]
    rate: str | None = Field(description="null: the server's default rate.")
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey, tenant: str) -> KeyOut:
        return cls(
            id=key.id,
            name=key.name,
            tenant=tenant,
            prefix=key.prefix,
            scopes=list(key.scopes),
            rate=key.rate,
            created_at=key.created_at,
            last_used_at=key.last_used_at,
            revoked_at=key.revoked_at,
        )


class NewKeyOut(KeyOut):
    key: str = Field(description="The secret: shown this once, stored only as a hash.")


NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: ERROR_RESPONSES[422] | {"description": "No such key."}
}


@router.post(
    "",
    summary="Create an API key",
    status_code=201,
    response_model=NewKeyOut,
    responses={
        404: ERROR_RESPONSES[422] | {"description": "No such tenant."},
        **ERROR_RESPONSES,
    },
)
async def create_key(
    body: KeyIn, caller: Annotated[Caller, Depends(require("admin"))]
) -> NewKeyOut:
    tenant = body.tenant or caller.tenant
    may_grant(caller, body.scopes, other_tenant=tenant != caller.tenant)
    store = caller.store
    if tenant != caller.tenant:  # NotFound: 404
        store = store.for_tenant((await tenant_named(store, tenant)).id)
    key, secret = await api_keys.create_key(store, body.name, body.scopes, body.rate)
    return NewKeyOut(**KeyOut.of(key, tenant).model_dump(), key=secret)


@router.get(
    "",
    summary="List the API keys of the caller's tenant",
    response_model=list[KeyOut],
    responses=ERROR_RESPONSES,
)
async def list_keys(caller: Annotated[Caller, Depends(require("admin"))]) -> list[KeyOut]:
    return [KeyOut.of(key, caller.tenant) for key in await api_keys.list_keys(caller.store)]


@router.delete(
    "/{key_id:int}",
    summary="Revoke an API key",
    response_model=KeyOut,
    responses={**NOT_FOUND, **ERROR_RESPONSES},
)
async def revoke_key(
    key_id: Annotated[int, Path(ge=1, le=2**62)],
    caller: Annotated[Caller, Depends(require("admin"))],
) -> KeyOut:
    """One of the caller's tenant's keys; takes effect at once: its next request is refused."""
    return KeyOut.of(await api_keys.revoke_key(caller.store, key_id), caller.tenant)
