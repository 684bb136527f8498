"""`/api/v1/keys`: API key management, for holders of the `admin` scope."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from bifrost.analysis import keys as api_keys
from bifrost.api.auth import Caller, require, services_of
from bifrost.api.errors import ERROR_RESPONSES
from bifrost.api.intake import NO_NUL
from bifrost.store.records import ApiKey

router = APIRouter(prefix="/api/v1/keys", tags=["keys"])

ScopeName = Literal["analyze", "read", "admin"]


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
    prefix: str = Field(description="The key's first characters, to recognise it.")
    scopes: list[str]
    rate: str | None = Field(description="null: the server's default rate.")
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> KeyOut:
        return cls(
            id=key.id,
            name=key.name,
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
    responses=ERROR_RESPONSES,
)
async def create_key(
    request: Request, body: KeyIn, _caller: Annotated[Caller, Depends(require("admin"))]
) -> NewKeyOut:
    store = services_of(request).store
    key, secret = await api_keys.create_key(store, body.name, body.scopes, body.rate)
    return NewKeyOut(**KeyOut.of(key).model_dump(), key=secret)


@router.get("", summary="List API keys", response_model=list[KeyOut], responses=ERROR_RESPONSES)
async def list_keys(
    request: Request, _caller: Annotated[Caller, Depends(require("admin"))]
) -> list[KeyOut]:
    return [KeyOut.of(key) for key in await api_keys.list_keys(services_of(request).store)]


@router.delete(
    "/{key_id:int}",
    summary="Revoke an API key",
    response_model=KeyOut,
    responses={**NOT_FOUND, **ERROR_RESPONSES},
)
async def revoke_key(
    request: Request,
    key_id: Annotated[int, Path(ge=1, le=2**62)],
    _caller: Annotated[Caller, Depends(require("admin"))],
) -> KeyOut:
    """Takes effect at once: the key's next request is refused."""
    return KeyOut.of(await api_keys.revoke_key(services_of(request).store, key_id))
