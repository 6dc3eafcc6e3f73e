"""Refusals of the operator tools, and Temporal's answers translated into them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from temporalio.service import RPCError, RPCStatusCode

from core.errors import ChaineError, ErrorCode

MAX_REASON = 1000  # the audit column's size


class WorkflowNotFound(ChaineError):
    """No execution with this workflow id (or run id) in the namespace."""

    code = ErrorCode.WORKFLOW_NOT_FOUND
    status = 404


class ReasonRequired(ChaineError):
    """Every operator action says why, for the audit trail."""

    code = ErrorCode.OPS_REASON_REQUIRED
    status = 422


class ActionRefused(ChaineError):
    """The action cannot be taken on this execution as it stands."""

    code = ErrorCode.OPS_ACTION_REFUSED
    status = 409


class QueryInvalid(ChaineError):
    """Temporal refused the visibility query."""

    code = ErrorCode.OPS_QUERY_INVALID
    status = 422


def required_reason(reason: str | None) -> str:
    """The reason, stripped; refused when missing, blank or longer than the audit keeps."""
    text = (reason or "").strip()
    if not text:
        raise ReasonRequired("say why in `reason`: every operator action is audited")
    if len(text) > MAX_REASON:
        raise ReasonRequired(f"`reason` is limited to {MAX_REASON} characters")
    return text


@asynccontextmanager
async def refusals(workflow_id: str) -> AsyncIterator[None]:
    """Temporal's "not found" and "not possible" answers as this module's refusals.

    Outages (UNAVAILABLE...) pass through: the API turns them into 503.
    """
    try:
        yield
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            raise WorkflowNotFound(f"{workflow_id}: {exc.message}") from None
        if exc.status in (
            RPCStatusCode.FAILED_PRECONDITION,
            RPCStatusCode.INVALID_ARGUMENT,
            RPCStatusCode.ALREADY_EXISTS,
        ):
            raise ActionRefused(f"{workflow_id}: {exc.message}") from None
        raise


@asynccontextmanager
async def query_refusals(query: str) -> AsyncIterator[None]:
    """A visibility query Temporal cannot parse as `QueryInvalid`."""
    try:
        yield
    except RPCError as exc:
        if exc.status is RPCStatusCode.INVALID_ARGUMENT:
            raise QueryInvalid(f"the query is refused: {exc.message}", query=query) from None
        raise
