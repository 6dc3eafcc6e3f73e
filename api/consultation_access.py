"""What every consultation route shares: who may reach which consultation, its workflow,
the refusals, and files in and out.

A route names the consultation in its path (`/v1/consultations/{buyer_siret}/{reference}`);
`BuyerConsultation` resolves it for the buyer's own structures (another buyer gets 404, as
if it did not exist), `SupplierConsultation` for a supplier and the SIRET it acts for.
Steps go to the workflow as Updates through `send_step`, which turns the workflow's
refusals into problems and a missing or finished workflow into 404 or 409.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field, TypeAdapter
from starlette.datastructures import FormData, UploadFile
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from api.deps import TemporalDep, require_roles
from api.temporal_errors import temporal_unavailable, update_refusal
from api.uploads import store_upload
from core.errors import ChaineError, ErrorCode, InvalidInput, NotFound, Unavailable
from core.principals import Principal, Role
from procurement.model import ConsultationStatus, consultation_workflow_id
from workflows.consultation import ConsultationWorkflow
from workflows.consultation_messages import BidReceipt, ConsultationState, Document

Siret = Annotated[str, Field(pattern=r"^[0-9]{14}$")]
Reference = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")]
MAX_FILES = 50
PUBLIC_STATUSES = tuple(s.value for s in ConsultationStatus if s is not ConsultationStatus.DRAFT)
SEALED_STATUSES = frozenset(
    s.value
    for s in (ConsultationStatus.DRAFT, ConsultationStatus.PUBLISHED, ConsultationStatus.CLOSED)
)
STEP_RETRY_PAUSES = (0.1, 0.25, 0.5, 1.0, 2.0)  # seconds, about 4 s in all
RECEIPT = TypeAdapter(BidReceipt)
STATE = TypeAdapter(ConsultationState)


class ConsultationNotFound(NotFound):
    code = ErrorCode.CONSULTATION_NOT_FOUND


class ConsultationExists(ChaineError):
    code = ErrorCode.CONSULTATION_EXISTS
    status = 409


class ConsultationFinished(ChaineError):
    code = ErrorCode.CONSULTATION_STEP_REFUSED
    status = 409


class BidSealed(ChaineError):
    code = ErrorCode.BID_SEALED
    status = 403


class BidNotFound(NotFound):
    code = ErrorCode.BID_NOT_FOUND


@dataclass(frozen=True)
class Target:
    """One consultation as a route reaches it: its ids, its workflow, who acts on it."""

    buyer_siret: str
    reference: str
    principal: Principal
    handle: WorkflowHandle[Any, Any]
    given_siret: str = ""  # for suppliers: the SIRET they act for, if known from the query

    @property
    def supplier_siret(self) -> str:
        """The SIRET the supplier acts for here (422 when it holds several and said none)."""
        return acting_siret(self.principal, self.given_siret)

    @property
    def id(self) -> str:
        return consultation_workflow_id(self.buyer_siret, self.reference)

    async def state(self) -> ConsultationState:
        """The workflow's view of the consultation."""
        async with workflow_errors(self.handle):
            return await self.handle.query(ConsultationWorkflow.state)


def _handle(temporal: Client, buyer_siret: str, reference: str) -> WorkflowHandle[Any, Any]:
    return temporal.get_workflow_handle_for(
        ConsultationWorkflow.run, consultation_workflow_id(buyer_siret, reference)
    )


def _buyer_target(
    buyer_siret: Siret,
    reference: Reference,
    principal: Annotated[Principal, Depends(require_roles(Role.BUYER))],
    temporal: TemporalDep,
) -> Target:
    if not principal.acts_for(buyer_siret):
        raise ConsultationNotFound(f"no consultation of {buyer_siret} is yours")
    return Target(buyer_siret, reference, principal, _handle(temporal, buyer_siret, reference))


def _supplier_target(
    buyer_siret: Siret,
    reference: Reference,
    principal: Annotated[Principal, Depends(require_roles(Role.SUPPLIER))],
    temporal: TemporalDep,
    supplier_siret: Annotated[
        str | None, Query(pattern=r"^[0-9]{14}$", description="which of your SIRETs")
    ] = None,
) -> Target:
    if supplier_siret is not None:
        acting_siret(principal, supplier_siret)  # refuse another's SIRET at once
    handle = _handle(temporal, buyer_siret, reference)
    return Target(buyer_siret, reference, principal, handle, supplier_siret or "")


BuyerConsultation = Annotated[Target, Depends(_buyer_target)]
SupplierConsultation = Annotated[Target, Depends(_supplier_target)]


def acting_siret(principal: Principal, given: object) -> str:
    """The SIRET a supplier acts for: the given one (if theirs), or their only one."""
    if isinstance(given, str) and given:
        if given not in principal.sirets:
            raise InvalidInput(ErrorCode.VALIDATION_FAILED, f"supplier_siret {given} is not yours")
        return given
    if len(principal.sirets) != 1:
        raise InvalidInput(ErrorCode.VALIDATION_FAILED, "supplier_siret: say which of your SIRETs")
    return next(iter(principal.sirets))


class workflow_errors:
    """Temporal errors of one consultation's workflow: absent is 404, finished is 409,
    Temporal down is 503."""

    def __init__(self, handle: WorkflowHandle[Any, Any]) -> None:
        self.handle = handle
        self.outage = temporal_unavailable()

    async def __aenter__(self) -> None:
        await self.outage.__aenter__()

    async def __aexit__(self, kind: Any, error: BaseException | None, tb: Any) -> bool:
        if isinstance(error, RPCError) and error.status is RPCStatusCode.NOT_FOUND:
            try:
                await self.handle.describe()
            except RPCError:
                raise ConsultationNotFound(f"no consultation {self.handle.id}") from None
            raise ConsultationFinished(
                f"{self.handle.id} is finished: it takes no more steps"
            ) from None
        return bool(await self.outage.__aexit__(kind, error, tb))


async def send_step(target: Target, update: Any, argument: Any) -> Any:
    """Send one step to the consultation's workflow: its answer, or a problem response.

    Temporal bounds the Updates in flight on one workflow; in a rush of bids just before
    a deadline, a refusal for that reason is retried for a moment rather than costing a
    supplier its bid. Every attempt carries the same update id, so a retry of an Update
    that did reach the workflow gets the first answer instead of a second bid.
    """
    update_id = str(uuid.uuid4())
    for pause in (*STEP_RETRY_PAUSES, None):
        try:
            async with workflow_errors(target.handle):
                return await target.handle.execute_update(update, argument, id=update_id)
        except WorkflowUpdateFailedError as error:
            return update_refusal(error)
        except Unavailable:
            if pause is None:
                raise
            await asyncio.sleep(pause)


async def step_answer(target: Target, update: Any, argument: Any) -> JSONResponse:
    """`send_step`, its answer (the consultation's state or a receipt) as JSON."""
    result = await send_step(target, update, argument)
    if isinstance(result, JSONResponse):
        return result
    adapter = RECEIPT if isinstance(result, BidReceipt) else STATE
    return JSONResponse(adapter.dump_python(result, mode="json"))


def require_unsealed(state: ConsultationState) -> None:
    """Bids are read only once opened (never, if cancelled before opening)."""
    if state.status in SEALED_STATUSES or (
        state.status == ConsultationStatus.CANCELLED and not state.verdicts
    ):
        raise BidSealed("bids stay sealed until they are opened")


async def store_files(
    form: FormData, part: str, request: Request, max_bytes: int
) -> list[tuple[UploadFile, Any]]:
    """Store every file of the multipart `part` as a blob; text parts are refused."""
    stored = []
    for upload in form.getlist(part):
        if isinstance(upload, str):
            raise InvalidInput(ErrorCode.VALIDATION_FAILED, f"{part}: file parts only")
        stored.append((upload, await store_upload(upload, request.app.state.blobs, max_bytes)))
    return stored


async def stored_documents(
    form: FormData, request: Request, max_bytes: int, kind: str, part: str = "documents"
) -> tuple[Document, ...]:
    """The files of the multipart `part` as consultation documents of `kind`."""
    return tuple(
        Document(
            stored.filename or "document",
            kind,
            stored.blob.sha256,
            stored.blob.size,
            stored.media_type,
        )
        for _, stored in await store_files(form, part, request, max_bytes)
    )
