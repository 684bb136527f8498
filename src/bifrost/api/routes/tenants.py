"""`/api/v1/usage`: what the caller's tenant used of its limits (`read` scope); and
`/api/v1/tenants`: the teams sharing the server, for admins of the whole server (`server`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field

from bifrost.analysis.tenants import (
    NAME,
    Limits,
    TenantRecord,
    Usage,
    create_tenant,
    list_tenants,
    set_limits,
    tenant_named,
    usage,
)
from bifrost.api.auth import Caller, require, services_of
from bifrost.api.errors import ERROR_RESPONSES
from bifrost.api.routes.keys import RATE

router = APIRouter(prefix="/api/v1", tags=["tenants"])

TenantName = Annotated[str, Path(max_length=64, pattern=f"^{NAME.pattern}$")]
MOST = 10**15
"""The largest limit taken (a petabyte, a quadrillion tokens): exact as a JSON number."""
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: ERROR_RESPONSES[422] | {"description": "No such tenant."}
}


class LimitsModel(BaseModel):
    """A tenant's limits; null is no limit of its own."""

    rate: str | None = Field(
        default=None,
        max_length=40,
        description="Requests per period over all its keys: N/second|minute|hour|day.",
        examples=["600/minute"],
        json_schema_extra={"pattern": RATE},
    )
    analyses_per_day: int | None = Field(default=None, ge=0, le=MOST, description="Per UTC day.")
    stored_bytes: int | None = Field(
        default=None, ge=0, le=MOST, description="Reports and inputs kept in the history."
    )
    llm_tokens_per_month: int | None = Field(
        default=None, ge=0, le=MOST, description="Per UTC month."
    )

    def limits(self) -> Limits:
        return Limits(**self.model_dump())


class TenantIn(LimitsModel):
    name: str = Field(
        max_length=64, pattern=f"^{NAME.pattern}$", examples=["team-ml"], description="Unique."
    )


class UsedOut(BaseModel):
    analyses_today: int
    llm_tokens_this_month: int
    stored_bytes: int
    day_resets_at: datetime = Field(description="When the analyses of today count from 0.")
    month_resets_at: datetime = Field(description="When the tokens of this month count from 0.")

    @classmethod
    def of(cls, used: Usage) -> UsedOut:
        return cls(
            analyses_today=used.analyses_today,
            llm_tokens_this_month=used.llm_tokens_this_month,
            stored_bytes=used.stored_bytes,
            day_resets_at=used.day_resets_at,
            month_resets_at=used.month_resets_at,
        )


class TenantOut(BaseModel):
    name: str
    created_at: datetime | None = None
    limits: LimitsModel
    used: UsedOut | None = Field(default=None, description="Given for one tenant.")

    @classmethod
    def of(cls, tenant: TenantRecord, used: Usage | None = None) -> TenantOut:
        return cls(
            name=tenant.name,
            created_at=tenant.created_at,
            limits=LimitsModel(**vars(tenant.limits)),
            used=UsedOut.of(used) if used is not None else None,
        )


@router.get(
    "/usage",
    summary="What the caller's tenant used of its limits",
    response_model=TenantOut,
    responses=ERROR_RESPONSES,
)
async def read_usage(caller: Annotated[Caller, Depends(require("read"))]) -> TenantOut:
    """Its limits, and what it used in the periods they count (UTC day and month)."""
    return TenantOut(
        name=caller.tenant,
        limits=LimitsModel(**vars(caller.limits)),
        used=UsedOut.of(await usage(caller.store)),
    )


@router.post(
    "/tenants",
    summary="Create a tenant",
    status_code=201,
    response_model=TenantOut,
    responses={
        409: ERROR_RESPONSES[422] | {"description": "The name is taken."},
        **ERROR_RESPONSES,
    },
)
async def create(
    request: Request, body: TenantIn, _caller: Annotated[Caller, Depends(require("server"))]
) -> TenantOut:
    """Its keys are made with `POST /api/v1/keys` and `"tenant": NAME`."""
    limits = LimitsModel(**body.model_dump(exclude={"name"})).limits()
    return TenantOut.of(await create_tenant(services_of(request).store, body.name, limits))


@router.get(
    "/tenants",
    summary="List tenants",
    response_model=list[TenantOut],
    responses=ERROR_RESPONSES,
)
async def list_all(
    request: Request, _caller: Annotated[Caller, Depends(require("server"))]
) -> list[TenantOut]:
    return [TenantOut.of(tenant) for tenant in await list_tenants(services_of(request).store)]


@router.get(
    "/tenants/{name}",
    summary="A tenant, its limits and what it used",
    response_model=TenantOut,
    responses={**NOT_FOUND, **ERROR_RESPONSES},
)
async def read_one(
    request: Request,
    name: TenantName,
    _caller: Annotated[Caller, Depends(require("server"))],
) -> TenantOut:
    store = services_of(request).store
    tenant = await tenant_named(store, name)
    return TenantOut.of(tenant, await usage(store.for_tenant(tenant.id)))


@router.patch(
    "/tenants/{name}",
    summary="Change a tenant's limits",
    response_model=TenantOut,
    responses={**NOT_FOUND, **ERROR_RESPONSES},
)
async def change(
    request: Request,
    name: TenantName,
    body: LimitsModel,
    _caller: Annotated[Caller, Depends(require("server"))],
) -> TenantOut:
    """The limits named in the body change (null removes one); the others stay."""
    store = services_of(request).store
    tenant = await tenant_named(store, name)
    wanted = vars(tenant.limits) | body.model_dump(include=body.model_fields_set)
    return TenantOut.of(await set_limits(store, name, Limits(**wanted)))
