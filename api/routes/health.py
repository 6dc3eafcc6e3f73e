"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from api.deps import SessionDep, TemporalDep
from api.problems import problem
from api.schemas import ResponseModel
from core.errors import ErrorCode

router = APIRouter(tags=["operations"])
log = logging.getLogger(__name__)

READINESS_TIMEOUT_S = 3.0


class Health(ResponseModel):
    """The process answers."""

    status: str


class Readiness(ResponseModel):
    """Each dependency the API needs, and whether it answered."""

    status: str
    checks: dict[str, str]


@router.get("/healthz", response_model=Health, summary="Liveness: the process answers")
async def healthz() -> Health:
    """Always 200 while the process serves requests."""
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Readiness: the database and Temporal answer",
    responses={503: {"description": "a dependency is unreachable"}},
)
async def readyz(session: SessionDep, temporal: TemporalDep) -> Response | Readiness:
    """200 when the database and Temporal both answer within a few seconds, else 503."""
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(session.execute(text("SELECT 1")), READINESS_TIMEOUT_S)
        checks["database"] = "ok"
    except Exception as exc:  # any failure means "not ready"; the reason is reported
        log.warning("readiness: database unreachable: %s", exc)
        checks["database"] = f"unreachable: {type(exc).__name__}"
    try:
        await asyncio.wait_for(temporal.service_client.check_health(), READINESS_TIMEOUT_S)
        checks["temporal"] = "ok"
    except Exception as exc:  # idem
        log.warning("readiness: temporal unreachable: %s", exc)
        checks["temporal"] = f"unreachable: {type(exc).__name__}"
    if all(v == "ok" for v in checks.values()):
        return Readiness(status="ready", checks=checks)
    return problem(
        503,
        ErrorCode.SERVICE_UNAVAILABLE,
        "a dependency is unreachable",
        instance="/readyz",
        headers={"Retry-After": "5"},
        checks=checks,
    )


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Counters and histograms of this API process in the Prometheus text format."""
    return Response(
        generate_latest(request.app.state.metrics_registry), media_type=CONTENT_TYPE_LATEST
    )
