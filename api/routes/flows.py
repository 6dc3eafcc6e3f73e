"""Bulk deposits (EDI mode): a zip of invoices or a multi-invoice XML file in, a per-file
report out."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse

from api.deps import SessionDep, SettingsDep, TemporalDep, require_roles
from api.routes.invoices import Blobs
from api.schemas import ResponseModel
from api.temporal_errors import temporal_unavailable
from api.uploads import media_type_of, store_body
from core.errors import ChaineError, ErrorCode
from core.principals import Principal, Role
from store.flows import FlowRepository
from workflows.flow import FlowWorkflow
from workflows.flows import FlowInput, FlowStatus
from workflows.invoice_client import invoice_process

router = APIRouter(prefix="/v1", tags=["flows"])
Supplier = Annotated[Principal, Depends(require_roles(Role.SUPPLIER))]
FlowId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]
# A zip of invoice files, or one XML file of several invoices (see invoicing.archives).
FLOW_TYPES = {"application/zip", "application/x-zip-compressed", "application/xml", "text/xml"}


class FlowNotFound(ChaineError):
    """No flow with this id is visible to the caller."""

    code = ErrorCode.FLOW_NOT_FOUND
    status = 404


class NotAFlow(ChaineError):
    """Flows are zip archives or multi-invoice XML files."""

    code = ErrorCode.UNSUPPORTED_MEDIA_TYPE
    status = 415


class FlowPublic(ResponseModel):
    """A flow: its status and what became of each file."""

    id: str
    status: str
    filename: str | None
    entries: list[dict[str, Any]]


@router.post(
    "/flows",
    status_code=202,
    response_model=FlowPublic,
    summary="Deposit a zip of invoices, or a multi-invoice XML file (EDI mode)",
)
async def post_flow(
    request: Request,
    principal: Supplier,
    settings: SettingsDep,
    temporal: TemporalDep,
    blobs: Blobs,
) -> JSONResponse:
    """Store the flow and start it; the answer lists the invoices found (or refused)."""
    if media_type_of(request.headers.get("content-type")) not in FLOW_TYPES:
        raise NotAFlow("send the flow as application/zip, or one XML file of several invoices")
    received_at = datetime.now(UTC)
    blob = await store_body(request, blobs, settings.upload_max_bytes)
    flow_id = str(uuid.uuid4())
    filename = request.headers.get("x-filename", "")[:255] or None
    flow = FlowInput(
        flow_id=flow_id,
        depositor=principal.client_id,
        sirets=sorted(principal.sirets),
        original_sha256=blob.sha256,
        received_at=received_at,
        filename=filename,
        process=invoice_process(settings),
        max_entry_bytes=settings.upload_max_bytes,
    )
    async with temporal_unavailable():
        handle = await temporal.start_workflow(
            FlowWorkflow.run, flow, id=f"flow:{flow_id}", task_queue=settings.task_queue
        )
        entries = await handle.execute_update(FlowWorkflow.received)
    body = FlowPublic(
        id=flow_id,
        status=FlowStatus.IN_PROGRESS.value,
        filename=filename,
        entries=[asdict(e) for e in entries],
    )
    return JSONResponse(
        body.model_dump(), status_code=202, headers={"Location": f"/v1/flows/{flow_id}"}
    )


@router.get("/flows/{flow_id}", response_model=FlowPublic, summary="A flow and its files")
async def get_flow(flow_id: FlowId, principal: Supplier, session: SessionDep) -> FlowPublic:
    """Status (received, in progress, integrated, partially integrated, rejected) and files."""
    flow = await FlowRepository(session).get(flow_id)
    if flow is None or not principal.sirets.intersection(flow.sirets):
        raise FlowNotFound(f"no flow {flow_id}")
    return FlowPublic(
        id=flow.id, status=flow.status, filename=flow.original_filename, entries=flow.entries
    )
