"""Temporal outages as 503 problems with `Retry-After`, never 500s."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi.responses import JSONResponse
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.problems import problem
from core.errors import Unavailable

_TRANSIENT = {
    RPCStatusCode.UNAVAILABLE,
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.RESOURCE_EXHAUSTED,
}


@asynccontextmanager
async def temporal_unavailable() -> AsyncIterator[None]:
    """Turn Temporal being down or overloaded into `SERVICE_UNAVAILABLE` (503)."""
    try:
        yield
    except RPCError as exc:
        if exc.status in _TRANSIENT:
            raise Unavailable(f"the workflow service does not answer: {exc.message}") from None
        raise


def update_refusal(error: WorkflowUpdateFailedError) -> JSONResponse:
    """A workflow's refusal (an ApplicationError typed with our error code) as a problem."""
    cause = error.cause
    if not isinstance(cause, ApplicationError) or not cause.type:
        raise error
    details: dict[str, Any] = dict(cause.details[0]) if cause.details else {}
    status = int(details.pop("http_status", 409))
    # `status` is the HTTP status in a problem (RFC 9457): the workflow's own status, which
    # its refusals name, is given as `current_status`.
    if "status" in details:
        details["current_status"] = details.pop("status")
    return problem(status, cause.type, cause.message, **details)
