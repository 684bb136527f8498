"""`/api/v1/experiments`: the A/B experiments of explanations and how their variants compare
(the figures of `bifrost experiments report`), for holders of the `read` scope."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field

from bifrost.analysis.experiments import ExperimentReport, experiment_list, experiment_report
from bifrost.api.auth import Caller, require, services_of
from bifrost.api.errors import ERROR_RESPONSES

router = APIRouter(prefix="/api/v1/experiments", tags=["experiments"])


class ExperimentOut(BaseModel):
    name: str
    analyses: int = Field(description="Stored analyses explained under it.")
    running: bool = Field(description="Whether the server's settings run it now.")


NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: ERROR_RESPONSES[422] | {"description": "No analysis is stored under that experiment."}
}


@router.get(
    "", summary="List experiments", response_model=list[ExperimentOut], responses=ERROR_RESPONSES
)
async def list_experiments(
    request: Request, caller: Annotated[Caller, Depends(require("read"))]
) -> list[ExperimentOut]:
    services = services_of(request)
    found = await experiment_list(services.settings, caller.store)
    return [ExperimentOut(name=n, analyses=c, running=r) for n, c, r in found]


@router.get(
    "/{name}",
    summary="Compare an experiment's variants",
    response_model=ExperimentReport,
    responses={**NOT_FOUND, **ERROR_RESPONSES},
)
async def get_experiment(
    request: Request,
    name: Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_.-]{0,79}$")],
    caller: Annotated[Caller, Depends(require("read"))],
) -> ExperimentReport:
    """Each figure with its count and 95% interval; `conclusions` names a better variant only
    with 30 analyses or more on each side and intervals that do not overlap."""
    services = services_of(request)
    return await experiment_report(services.settings, caller.store, name)
