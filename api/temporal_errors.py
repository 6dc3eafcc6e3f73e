"""Temporal outages as 503 problems with `Retry-After`, never 500s."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from temporalio.service import RPCError, RPCStatusCode

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
