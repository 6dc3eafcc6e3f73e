"""Consultations: public notices and documents, and the buyer's steps.

Reading is public: `GET /v1/consultations`, a consultation's details and its documents need
no token (the law wants tenders open to all). Every buyer step is an Update of the
consultation's workflow, answered at once with the consultation's state or a problem.
Bids are in `api.routes.bids`, questions and interest in `api.routes.consultation_questions`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import func, or_, select, update
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.consultation_access import (
    MAX_FILES,
    PUBLIC_STATUSES,
    STATE,
    BuyerConsultation,
    ConsultationExists,
    ConsultationNotFound,
    Reference,
    Siret,
    step_answer,
    stored_documents,
)
from api.consultation_schemas import (
    AwardBody,
    CancelBody,
    CommitmentBody,
    ConsultationBody,
    ConsultationSummary,
    ScoresBody,
    procurement_process,
    utc,
)
from api.deps import (
    SessionDep,
    SettingsDep,
    TemporalDep,
    UnsupportedMediaType,
    require_json,
    require_roles,
)
from api.temporal_errors import temporal_unavailable
from api.uploads import blob_download, media_type_of
from core.errors import ErrorCode, InvalidInput, NotFound
from core.principals import Principal, Role
from procurement.model import ConsultationStatus, Procedure, consultation_workflow_id
from store.commitments import CommitmentRepository
from store.models import Consultation as ConsultationRow
from store.models import ConsultationDocument, ConsultationQuestion
from workflows.consultation import ConsultationWorkflow
from workflows.consultation_messages import (
    AmendRequest,
    AwardRequest,
    CancelRequest,
    ConsultationInput,
    ContractClosure,
    ContractSignatureRequest,
    NotifyRequest,
    ScoreRequest,
)
from workflows.contract import ContractWorkflow, contract_workflow_id

router = APIRouter(prefix="/v1", tags=["consultations"])
Buyer = Annotated[Principal, Depends(require_roles(Role.BUYER))]
# Letters name every candidate and the contract is between the parties: not public.
PRIVATE_KINDS = ("letter", "contract")


# --- public ----------------------------------------------------------------------------------


@router.get(
    "/consultations",
    response_model=list[ConsultationSummary],
    summary="Published consultations (public, no token)",
)
async def list_consultations(
    session: SessionDep,
    cpv: Annotated[str | None, Query(pattern=r"^\d{2,8}(-\d)?$")] = None,
    buyer: Annotated[str | None, Query(pattern=r"^[0-9]{14}$")] = None,
    deadline_after: datetime | None = None,
    procedure: Procedure | None = None,
    q: Annotated[str | None, Query(min_length=2, max_length=100)] = None,
    status: ConsultationStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[ConsultationSummary]:
    """Filter by CPV prefix, buyer, deadline, procedure, status and text; soonest deadline
    first."""
    query = select(ConsultationRow).where(ConsultationRow.status.in_(PUBLIC_STATUSES))
    if cpv:
        query = query.where(ConsultationRow.cpv_main.startswith(cpv.split("-")[0]))
    if buyer:
        query = query.where(ConsultationRow.buyer_siret == buyer)
    if deadline_after:
        query = query.where(ConsultationRow.submission_deadline > utc(deadline_after))
    if procedure:
        query = query.where(ConsultationRow.procedure == procedure.value)
    if status:
        query = query.where(ConsultationRow.status == status.value)
    if q:
        pattern = f"%{q.lower()}%"
        query = query.where(
            or_(
                func.lower(ConsultationRow.title).like(pattern),
                func.lower(ConsultationRow.reference).like(pattern),
            )
        )
    query = query.order_by(ConsultationRow.submission_deadline, ConsultationRow.id).limit(limit)
    return [ConsultationSummary.model_validate(row) for row in await session.scalars(query)]


async def public_row(session: SessionDep, buyer_siret: str, reference: str) -> ConsultationRow:
    """A published consultation's row; a draft or an unknown one is 404."""
    row = await session.get(ConsultationRow, consultation_workflow_id(buyer_siret, reference))
    if row is None or row.status not in PUBLIC_STATUSES:
        raise ConsultationNotFound(f"no published consultation {reference} of {buyer_siret}")
    return row


@router.get("/consultations/{buyer_siret}/{reference}", summary="A consultation (public)")
async def consultation_details(
    buyer_siret: Siret, reference: Reference, session: SessionDep
) -> JSONResponse:
    """Terms, status, outcome, public documents and answered questions (without who asked)."""
    row = await public_row(session, buyer_siret, reference)
    documents = await session.scalars(
        select(ConsultationDocument)
        .where(
            ConsultationDocument.consultation_id == row.id,
            ConsultationDocument.kind.not_in(PRIVATE_KINDS),
        )
        .order_by(ConsultationDocument.id)
    )
    questions = await session.scalars(
        select(ConsultationQuestion)
        .where(
            ConsultationQuestion.consultation_id == row.id,
            ConsultationQuestion.answer.is_not(None),
        )
        .order_by(ConsultationQuestion.id)
    )
    body = {
        **ConsultationSummary.model_validate(row).model_dump(mode="json"),
        "terms": row.terms,
        "outcome": row.outcome,
        "downloads": row.downloads,
        "documents": [
            {
                "id": d.id,
                "name": d.name,
                "kind": d.kind,
                "sha256": d.sha256,
                "size": d.size,
                "media_type": d.media_type,
                "added_at": d.added_at.isoformat(),
            }
            for d in documents
        ],
        "questions": [
            {
                "id": q.id,
                "question": q.question,
                "answer": q.answer,
                "answered_at": q.answered_at.isoformat() if q.answered_at else None,
            }
            for q in questions
        ],
    }
    return JSONResponse(body)


@router.get(
    "/consultations/{buyer_siret}/{reference}/documents/{document_id}",
    summary="Download a consultation document (public, counted)",
)
async def download_document(
    buyer_siret: Siret,
    reference: Reference,
    document_id: int,
    request: Request,
    session: SessionDep,
) -> Response:
    """The file; each download is counted on the document and the consultation."""
    row = await public_row(session, buyer_siret, reference)
    document = await session.get(ConsultationDocument, document_id)
    if document is None or document.consultation_id != row.id or document.kind in PRIVATE_KINDS:
        raise NotFound("no such document in this consultation")
    await session.execute(
        update(ConsultationDocument)
        .where(ConsultationDocument.id == document_id)
        .values(downloads=ConsultationDocument.downloads + 1)
    )
    await session.execute(
        update(ConsultationRow)
        .where(ConsultationRow.id == row.id)
        .values(downloads=ConsultationRow.downloads + 1)
    )
    await session.commit()
    return blob_download(
        request.app.state.blobs, document.sha256, document.name, document.media_type
    )


# --- buyer -----------------------------------------------------------------------------------


@router.post(
    "/consultations",
    status_code=201,
    dependencies=[Depends(require_json)],
    summary="Create a consultation (draft)",
)
async def create_consultation(
    body: ConsultationBody, principal: Buyer, temporal: TemporalDep, settings: SettingsDep
) -> JSONResponse:
    """Start the consultation's workflow with its terms; they are checked at publication.

    A reference names one consultation of a buyer forever, even once finished."""
    if not principal.acts_for(body.buyer_siret):
        raise ConsultationNotFound(f"no structure {body.buyer_siret} is yours")
    terms = body.terms()
    try:
        async with temporal_unavailable():
            await temporal.start_workflow(
                ConsultationWorkflow.run,
                ConsultationInput(terms, procurement_process(settings)),
                id=terms.workflow_id,
                task_queue=settings.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
    except WorkflowAlreadyStartedError:
        raise ConsultationExists(
            f"consultation {terms.reference} of {terms.buyer_siret} already exists"
        ) from None
    location = f"/v1/consultations/{terms.buyer_siret}/{terms.reference}"
    return JSONResponse(
        {"id": terms.workflow_id, "status": "draft", "location": location},
        status_code=201,
        headers={"Location": location},
    )


@router.get("/consultations/{buyer_siret}/{reference}/state", summary="The workflow's view")
async def consultation_state(target: BuyerConsultation) -> JSONResponse:
    """Status, deadline, bid receipts, verdicts, ranking, standstill, letters (buyer)."""
    return JSONResponse(STATE.dump_python(await target.state(), mode="json"))


@router.post("/consultations/{buyer_siret}/{reference}/publish", summary="Publish")
async def publish(
    target: BuyerConsultation, request: Request, settings: SettingsDep
) -> JSONResponse:
    """Publish with the consultation documents (multipart `documents`, may be none)."""
    documents: tuple = ()
    if media_type_of(request.headers.get("content-type")) == "multipart/form-data":
        form = await request.form(max_files=MAX_FILES, max_fields=MAX_FILES)
        documents = await stored_documents(form, request, settings.upload_max_bytes, "dce")
    return await step_answer(target, ConsultationWorkflow.publish, list(documents))


@router.post("/consultations/{buyer_siret}/{reference}/amendments", summary="Amend documents")
async def amend(target: BuyerConsultation, request: Request, settings: SettingsDep) -> JSONResponse:
    """Add documents (multipart `documents`); a late amendment pushes the deadline."""
    if media_type_of(request.headers.get("content-type")) != "multipart/form-data":
        raise UnsupportedMediaType("send the amendment as multipart/form-data (`documents`)")
    form = await request.form(max_files=MAX_FILES, max_fields=MAX_FILES + 1)
    documents = await stored_documents(form, request, settings.upload_max_bytes, "amendment")
    if not documents:
        raise InvalidInput(ErrorCode.VALIDATION_FAILED, "documents: at least one file")
    comment = form.get("comment")
    change = AmendRequest(
        target.principal.client_id, documents, comment if isinstance(comment, str) else ""
    )
    return await step_answer(target, ConsultationWorkflow.amend, change)


@router.post("/consultations/{buyer_siret}/{reference}/opening", summary="Open the bids")
async def open_bids(target: BuyerConsultation) -> JSONResponse:
    """Verify every bid's signatures and ESPD response; decide admissibility."""
    return await step_answer(target, ConsultationWorkflow.open_bids, target.principal.client_id)


@router.post(
    "/consultations/{buyer_siret}/{reference}/scores",
    dependencies=[Depends(require_json)],
    summary="Score the admissible bids",
)
async def score(target: BuyerConsultation, body: ScoresBody) -> JSONResponse:
    """Scores out of 100 per criterion; Chaîne weights and ranks, and flags ties."""
    request = ScoreRequest(target.principal.client_id, body.scores)
    return await step_answer(target, ConsultationWorkflow.score, request)


@router.post(
    "/consultations/{buyer_siret}/{reference}/award",
    dependencies=[Depends(require_json)],
    summary="Award the consultation",
)
async def award(target: BuyerConsultation, body: AwardBody) -> JSONResponse:
    """Decide; sealed letters go to every candidate and the standstill starts."""
    request = AwardRequest(
        target.principal.client_id, body.bid_id, body.amount, body.electronic, body.reasons
    )
    return await step_answer(target, ConsultationWorkflow.award, request)


@router.post("/consultations/{buyer_siret}/{reference}/contract", summary="Sign the contract")
async def sign_contract(
    target: BuyerConsultation, request: Request, settings: SettingsDep
) -> JSONResponse:
    """The contract PDF signed by both parties (multipart `contract`), after the standstill."""
    if media_type_of(request.headers.get("content-type")) != "multipart/form-data":
        raise UnsupportedMediaType("send the contract as multipart/form-data (`contract`)")
    form = await request.form(max_files=1, max_fields=1)
    documents = await stored_documents(
        form, request, settings.upload_max_bytes, "contract", part="contract"
    )
    if len(documents) != 1:
        raise InvalidInput(ErrorCode.VALIDATION_FAILED, "contract: one file part is required")
    change = ContractSignatureRequest(target.principal.client_id, documents[0])
    return await step_answer(target, ConsultationWorkflow.sign_contract, change)


@router.post(
    "/consultations/{buyer_siret}/{reference}/notification",
    dependencies=[Depends(require_json)],
    summary="Notify the contract and open its commitment",
)
async def notify(target: BuyerConsultation, body: CommitmentBody) -> JSONResponse:
    """The commitment invoices will reference (BT-13) is opened for the awarded supplier;
    its contract is then closed with `POST /v1/contracts/{number}/closure`."""
    change = NotifyRequest(
        target.principal.client_id,
        body.number,
        body.ceiling,
        body.service_done_presumed,
        body.works,
        body.paying_service,
    )
    return await step_answer(target, ConsultationWorkflow.notify, change)


@router.post(
    "/contracts/{number}/closure",
    dependencies=[Depends(require_json)],
    summary="Close a notified contract: its commitment takes no more invoices",
)
async def close_contract(
    number: Annotated[str, Path(pattern=r"^[A-Za-z0-9._/-]{1,40}$")],
    body: CancelBody,
    principal: Buyer,
    session: SessionDep,
    temporal: TemporalDep,
) -> JSONResponse:
    """The contract is completed or terminated (`reason`); invoices naming its commitment
    are refused from now on (`PF-COMMITMENT-INACTIVE`)."""
    commitment = await CommitmentRepository(session).get(number)
    if commitment is None or not principal.acts_for(commitment.buyer_siret):
        raise ContractNotFound(f"no notified contract {number} of yours")
    if not commitment.active:  # closed already: the same answer again
        return JSONResponse({"number": number, "active": False})
    handle = temporal.get_workflow_handle_for(ContractWorkflow.run, contract_workflow_id(number))
    try:
        async with temporal_unavailable():
            await handle.execute_update(
                ContractWorkflow.close, ContractClosure(principal.client_id, body.reason)
            )
    except RPCError as error:
        if error.status is not RPCStatusCode.NOT_FOUND:
            raise
        raise ContractNotFound(f"{number} is not a contract notified here") from None
    return JSONResponse({"number": number, "active": False, "reason": body.reason})


class ContractNotFound(NotFound):
    code = ErrorCode.CONTRACT_NOT_FOUND


@router.post(
    "/consultations/{buyer_siret}/{reference}/cancellation",
    dependencies=[Depends(require_json)],
    summary="Declare the consultation sans suite",
)
async def cancel(target: BuyerConsultation, body: CancelBody) -> JSONResponse:
    """Stop the consultation at any step before notification, with a reason."""
    change = CancelRequest(target.principal.client_id, body.reason)
    return await step_answer(target, ConsultationWorkflow.cancel, change)
