"""Consultations: public notices, the buyer's steps, suppliers' bids, questions and answers.

Reading is public: `GET /v1/consultations` and a consultation's details and documents
need no token (the law wants tenders open to all). Every step is an Update of the
consultation's workflow, answered at once: a bid gets its receipt (with Chaîne's seal
over it) in the same call, a late one `BID_LATE`. Bid files stay sealed until opening:
no route serves them before, the buyer included.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import Field, TypeAdapter
from sqlalchemy import func, or_, select, update
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.deps import (
    SessionDep,
    SettingsDep,
    TemporalDep,
    UnsupportedMediaType,
    app_sealer,
    require_json,
    require_roles,
)
from api.schemas import RequestModel, ResponseModel
from api.temporal_errors import temporal_unavailable, update_refusal
from api.uploads import media_type_of, store_upload
from core.config import Settings
from core.errors import ChaineError, ErrorCode, InvalidInput, NotFound
from core.principals import Principal, Role
from procurement.model import (
    Address,
    BidFile,
    BuyerContact,
    Consultation,
    ConsultationStatus,
    Criterion,
    CriterionKind,
    Lot,
    MinimumPeriods,
    Procedure,
    ReviewBody,
    StandstillPeriods,
    consultation_workflow_id,
)
from store.models import (
    BidRecord,
    ConsultationDocument,
    ConsultationInterest,
    ConsultationQuestion,
)
from store.models import Consultation as ConsultationRow
from workflows.consultation import ConsultationWorkflow
from workflows.consultation_messages import (
    AmendRequest,
    AwardRequest,
    BidReceipt,
    BidRequest,
    CancelRequest,
    CommitmentTerms,
    ConsultationInput,
    ConsultationState,
    ContractSignatureRequest,
    Document,
    NotifyRequest,
    ProcurementProcess,
    ScoreRequest,
    WithdrawRequest,
)

router = APIRouter(prefix="/v1", tags=["consultations"])
Buyer = Annotated[Principal, Depends(require_roles(Role.BUYER))]
Supplier = Annotated[Principal, Depends(require_roles(Role.SUPPLIER))]
Siret = Annotated[str, Field(pattern=r"^[0-9]{14}$")]
Reference = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")]
MAX_FILES = 50
PUBLIC_STATUSES = tuple(s.value for s in ConsultationStatus if s is not ConsultationStatus.DRAFT)
RECEIPT = TypeAdapter(BidReceipt)
STATE = TypeAdapter(ConsultationState)


def procurement_process(settings: Settings) -> ProcurementProcess:
    """Queues and legal periods of procurement workflows, from the settings."""
    return ProcurementProcess(
        task_queue=settings.task_queue,
        cpu_task_queue=settings.cpu_task_queue,
        minimum_periods=MinimumPeriods(
            open=settings.tender_period_open,
            restricted=settings.tender_period_restricted,
            adapted=settings.tender_period_adapted,
            negotiated=settings.tender_period_negotiated,
        ),
        standstill=StandstillPeriods(settings.standstill_electronic, settings.standstill_other),
        amendment_notice=settings.amendment_notice,
    )


# --- bodies ----------------------------------------------------------------------------------


class LotBody(RequestModel):
    number: int = Field(ge=1, le=999)
    title: str = Field(min_length=1, max_length=300)
    estimated_value: Decimal = Field(ge=0, max_digits=17, decimal_places=2)
    cpv_codes: list[str] = Field(default_factory=list, max_length=20)
    description: str = Field("", max_length=5000)


class CriterionBody(RequestModel):
    name: str = Field(min_length=1, max_length=200)
    weight: int = Field(ge=1, le=100)
    kind: CriterionKind = CriterionKind.QUALITY


class ContactBody(RequestModel):
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: str = Field("", max_length=30)


class AddressBody(RequestModel):
    street: str = Field(min_length=1, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    postal_code: str = Field(pattern=r"^[0-9A-Z -]{3,10}$")
    nuts: str = Field(pattern=r"^[A-Z]{2}[0-9A-Z]{1,3}$", description="NUTS 3 code, e.g. FR101")

    def address(self) -> Address:
        return Address(self.street, self.city, self.postal_code, self.nuts)


class ReviewBodyBody(RequestModel):
    name: str = Field(min_length=1, max_length=200)
    siret: Siret
    address: AddressBody


class ConsultationBody(RequestModel):
    """A consultation's terms: checked against the Code's rules when it is published."""

    buyer_siret: Siret
    reference: Reference
    title: str = Field(min_length=1, max_length=300)
    description: str = Field("", max_length=10_000)
    procedure: Procedure
    cpv_codes: list[str] = Field(min_length=1, max_length=20)
    lots: list[LotBody] = Field(min_length=1, max_length=200)
    criteria: list[CriterionBody] = Field(min_length=1, max_length=20)
    questions_deadline: datetime
    submission_deadline: datetime
    contact: ContactBody
    buyer_name: str = Field("", max_length=200)
    place_of_performance: str = Field("FR", pattern=r"^[A-Z]{2}[0-9A-Z]{0,3}$")
    espd_required: bool = True
    buyer_address: AddressBody | None = None
    buyer_legal_type: str = Field("la", pattern=r"^[a-z-]{2,20}$")
    review_body: ReviewBodyBody | None = None

    def terms(self) -> Consultation:
        return Consultation(
            buyer_siret=self.buyer_siret,
            reference=self.reference,
            title=self.title,
            description=self.description,
            procedure=self.procedure,
            cpv_codes=tuple(self.cpv_codes),
            lots=tuple(
                Lot(
                    lot.number,
                    lot.title,
                    lot.estimated_value,
                    tuple(lot.cpv_codes),
                    lot.description,
                )
                for lot in self.lots
            ),
            criteria=tuple(Criterion(c.name, c.weight, c.kind) for c in self.criteria),
            questions_deadline=_utc(self.questions_deadline),
            submission_deadline=_utc(self.submission_deadline),
            contact=BuyerContact(self.contact.name, self.contact.email, self.contact.phone),
            buyer_name=self.buyer_name,
            place_of_performance=self.place_of_performance,
            espd_required=self.espd_required,
            buyer_address=self.buyer_address.address() if self.buyer_address else None,
            buyer_legal_type=self.buyer_legal_type,
            review_body=ReviewBody(
                self.review_body.name, self.review_body.siret, self.review_body.address.address()
            )
            if self.review_body
            else None,
        )


class ScoresBody(RequestModel):
    """Scores out of 100 per criterion name, for each admissible bid id."""

    scores: dict[str, dict[str, Decimal]]


class AwardBody(RequestModel):
    bid_id: str = Field(min_length=1, max_length=64)
    amount: Decimal = Field(gt=0, max_digits=17, decimal_places=2)
    electronic: bool = Field(True, description="decision sent electronically (11-day standstill)")
    reasons: str = Field("", max_length=10_000)


class CommitmentBody(RequestModel):
    number: str = Field(pattern=r"^[A-Za-z0-9._/-]{1,40}$")
    ceiling: Decimal = Field(gt=0, max_digits=17, decimal_places=2)
    payment_days: int = Field(30, ge=1, le=60)
    service_done_presumed: bool = False
    works: bool = False
    paying_service: str | None = Field(None, max_length=100)


class CancelBody(RequestModel):
    reason: str = Field(min_length=1, max_length=2000)


class QuestionBody(RequestModel):
    question: str = Field(min_length=1, max_length=5000)
    supplier_siret: Siret | None = None


class AnswerBody(RequestModel):
    answer: str = Field(min_length=1, max_length=10_000)


class InterestBody(RequestModel):
    supplier_siret: Siret | None = None


class ConsultationSummary(ResponseModel):
    id: str
    buyer_siret: str
    reference: str
    title: str
    procedure: str
    cpv_main: str
    estimated_value: Decimal
    submission_deadline: datetime
    status: str
    published_at: datetime | None


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
    """Filter by CPV prefix, buyer, deadline, procedure and text; soonest deadline first."""
    query = select(ConsultationRow).where(ConsultationRow.status.in_(PUBLIC_STATUSES))
    if cpv:
        query = query.where(ConsultationRow.cpv_main.startswith(cpv.split("-")[0]))
    if buyer:
        query = query.where(ConsultationRow.buyer_siret == buyer)
    if deadline_after:
        query = query.where(ConsultationRow.submission_deadline > _utc(deadline_after))
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
    rows = await session.scalars(query)
    return [ConsultationSummary.model_validate(row) for row in rows]


@router.get("/consultations/{buyer_siret}/{reference}", summary="A consultation (public)")
async def consultation_details(
    buyer_siret: Siret, reference: Reference, session: SessionDep
) -> JSONResponse:
    """Terms, status, documents and the answered questions (without who asked)."""
    row = await _public_row(session, buyer_siret, reference)
    documents = await session.scalars(
        select(ConsultationDocument)
        .where(ConsultationDocument.consultation_id == row.id)
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
    row = await _public_row(session, buyer_siret, reference)
    document = await session.get(ConsultationDocument, document_id)
    if document is None or document.consultation_id != row.id or document.kind == "letter":
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
    return _file(request, document.sha256, document.name, document.media_type)


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
    """Start the consultation's workflow with its terms; they are checked at publication."""
    _acts_for(principal, body.buyer_siret)
    terms = body.terms()
    try:
        async with temporal_unavailable():
            await temporal.start_workflow(
                ConsultationWorkflow.run,
                ConsultationInput(terms, procurement_process(settings), principal.client_id),
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
async def consultation_state(
    buyer_siret: Siret, reference: Reference, principal: Buyer, temporal: TemporalDep
) -> JSONResponse:
    """Status, deadline, bid receipts, verdicts, ranking, standstill, letters (buyer)."""
    _acts_for(principal, buyer_siret)
    handle = _handle(temporal, buyer_siret, reference)
    async with _workflow_of(handle):
        state = await handle.query(ConsultationWorkflow.state)
    return JSONResponse(STATE.dump_python(state, mode="json"))


@router.post("/consultations/{buyer_siret}/{reference}/publish", summary="Publish")
async def publish(
    buyer_siret: Siret,
    reference: Reference,
    request: Request,
    principal: Buyer,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> JSONResponse:
    """Publish with the consultation documents (multipart `documents`, may be none)."""
    _acts_for(principal, buyer_siret)
    documents = await _documents(request, settings, "dce")
    return await _update(
        temporal, buyer_siret, reference, ConsultationWorkflow.publish, list(documents)
    )


@router.post("/consultations/{buyer_siret}/{reference}/amendments", summary="Amend documents")
async def amend(
    buyer_siret: Siret,
    reference: Reference,
    request: Request,
    principal: Buyer,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> JSONResponse:
    """Add documents (multipart `documents`); a late amendment pushes the deadline."""
    _acts_for(principal, buyer_siret)
    documents = await _documents(request, settings, "amendment")
    if not documents:
        raise InvalidInput(ErrorCode.VALIDATION_FAILED, "documents: at least one file")
    change = AmendRequest(principal.client_id, documents)
    return await _update(temporal, buyer_siret, reference, ConsultationWorkflow.amend, change)


@router.post("/consultations/{buyer_siret}/{reference}/opening", summary="Open the bids")
async def open_bids(
    buyer_siret: Siret, reference: Reference, principal: Buyer, temporal: TemporalDep
) -> JSONResponse:
    """Verify every bid's signatures and ESPD response; decide admissibility."""
    _acts_for(principal, buyer_siret)
    return await _update(
        temporal, buyer_siret, reference, ConsultationWorkflow.open_bids, principal.client_id
    )


@router.post(
    "/consultations/{buyer_siret}/{reference}/scores",
    dependencies=[Depends(require_json)],
    summary="Score the admissible bids",
)
async def score(
    buyer_siret: Siret,
    reference: Reference,
    body: ScoresBody,
    principal: Buyer,
    temporal: TemporalDep,
) -> JSONResponse:
    """Scores out of 100 per criterion; Chaîne weights and ranks, and flags ties."""
    _acts_for(principal, buyer_siret)
    request = ScoreRequest(principal.client_id, body.scores)
    return await _update(temporal, buyer_siret, reference, ConsultationWorkflow.score, request)


@router.post(
    "/consultations/{buyer_siret}/{reference}/award",
    dependencies=[Depends(require_json)],
    summary="Award the consultation",
)
async def award(
    buyer_siret: Siret,
    reference: Reference,
    body: AwardBody,
    principal: Buyer,
    temporal: TemporalDep,
) -> JSONResponse:
    """Decide; sealed letters go to every candidate and the standstill starts."""
    _acts_for(principal, buyer_siret)
    request = AwardRequest(
        principal.client_id, body.bid_id, body.amount, body.electronic, body.reasons
    )
    return await _update(temporal, buyer_siret, reference, ConsultationWorkflow.award, request)


@router.post("/consultations/{buyer_siret}/{reference}/contract", summary="Sign the contract")
async def sign_contract(
    buyer_siret: Siret,
    reference: Reference,
    request: Request,
    principal: Buyer,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> JSONResponse:
    """The contract PDF signed by both parties (multipart `contract`), after the standstill."""
    _acts_for(principal, buyer_siret)
    form = await request.form(max_files=1, max_fields=1)
    part = form.get("contract")
    if part is None or isinstance(part, str):
        raise InvalidInput(ErrorCode.VALIDATION_FAILED, "contract: a file part is required")
    stored = await store_upload(part, request.app.state.blobs, settings.upload_max_bytes)
    contract = Document(
        stored.filename or "contract.pdf",
        "contract",
        stored.blob.sha256,
        stored.blob.size,
        stored.media_type,
    )
    change = ContractSignatureRequest(principal.client_id, contract)
    return await _update(
        temporal, buyer_siret, reference, ConsultationWorkflow.sign_contract, change
    )


@router.post(
    "/consultations/{buyer_siret}/{reference}/notification",
    dependencies=[Depends(require_json)],
    summary="Notify the contract and open its commitment",
)
async def notify(
    buyer_siret: Siret,
    reference: Reference,
    body: CommitmentBody,
    principal: Buyer,
    temporal: TemporalDep,
) -> JSONResponse:
    """The commitment invoices will reference (BT-13) is created for the awarded supplier."""
    _acts_for(principal, buyer_siret)
    handle = _handle(temporal, buyer_siret, reference)
    async with _workflow_of(handle):
        state = await handle.query(ConsultationWorkflow.state)
    winner = state.outcome.get("winner_siret")
    terms = CommitmentTerms(
        number=body.number,
        buyer_siret=buyer_siret,
        supplier_siret=str(winner or ""),
        ceiling=body.ceiling,
        payment_days=body.payment_days,
        service_done_presumed=body.service_done_presumed,
        works=body.works,
        paying_service=body.paying_service,
    )
    change = NotifyRequest(principal.client_id, terms)
    return await _update(temporal, buyer_siret, reference, ConsultationWorkflow.notify, change)


@router.post(
    "/consultations/{buyer_siret}/{reference}/cancellation",
    dependencies=[Depends(require_json)],
    summary="Declare the consultation sans suite",
)
async def cancel(
    buyer_siret: Siret,
    reference: Reference,
    body: CancelBody,
    principal: Buyer,
    temporal: TemporalDep,
) -> JSONResponse:
    """Stop the consultation at any step before notification, with a reason."""
    _acts_for(principal, buyer_siret)
    change = CancelRequest(principal.client_id, body.reason)
    return await _update(temporal, buyer_siret, reference, ConsultationWorkflow.cancel, change)


@router.get("/consultations/{buyer_siret}/{reference}/bids", summary="Bids, once opened")
async def list_bids(
    buyer_siret: Siret, reference: Reference, principal: Buyer, temporal: TemporalDep
) -> JSONResponse:
    """Every bid with its files and verdict; refused with `BID_SEALED` before opening."""
    _acts_for(principal, buyer_siret)
    handle = _handle(temporal, buyer_siret, reference)
    async with _workflow_of(handle):
        state = await handle.query(ConsultationWorkflow.state)
        _unsealed(state)
        bids = await handle.query(ConsultationWorkflow.bids)
    verdicts = {v.bid_id: v for v in state.verdicts}
    return JSONResponse(
        [
            {
                "bid_id": bid.bid_id,
                "supplier_siret": bid.supplier_siret,
                "received_at": bid.received_at.isoformat(),
                "version": bid.version,
                "files": [f.__dict__ for f in bid.files],
                "espd_response": bid.espd_response.__dict__ if bid.espd_response else None,
                "admissible": verdicts[bid.bid_id].admissible if bid.bid_id in verdicts else None,
                "reasons": list(verdicts[bid.bid_id].reasons) if bid.bid_id in verdicts else [],
            }
            for bid in bids
        ]
    )


@router.get(
    "/consultations/{buyer_siret}/{reference}/bids/{bid_id}/files/{sha256}",
    summary="A bid's file, once opened",
)
async def bid_file(
    buyer_siret: Siret,
    reference: Reference,
    bid_id: str,
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")],
    request: Request,
    principal: Buyer,
    temporal: TemporalDep,
) -> Response:
    """A file of an opened bid; `BID_SEALED` before opening."""
    _acts_for(principal, buyer_siret)
    handle = _handle(temporal, buyer_siret, reference)
    async with _workflow_of(handle):
        _unsealed(await handle.query(ConsultationWorkflow.state))
        bids = await handle.query(ConsultationWorkflow.bids)
    files = [
        f
        for bid in bids
        if bid.bid_id == bid_id
        for f in (*bid.files, *((bid.espd_response,) if bid.espd_response else ()))
        if f.sha256 == sha256
    ]
    if not files:
        raise BidNotFound("no such file in this bid")
    return _file(request, sha256, files[0].name, "application/octet-stream")


@router.post(
    "/consultations/{buyer_siret}/{reference}/questions/{question_id}/answer",
    dependencies=[Depends(require_json)],
    summary="Answer a question (published to all)",
)
async def answer_question(
    buyer_siret: Siret,
    reference: Reference,
    question_id: int,
    body: AnswerBody,
    principal: Buyer,
    session: SessionDep,
) -> JSONResponse:
    """The answer is published with the question, without who asked."""
    _acts_for(principal, buyer_siret)
    workflow_id = consultation_workflow_id(buyer_siret, reference)
    question = await session.get(ConsultationQuestion, question_id)
    if question is None or question.consultation_id != workflow_id:
        raise NotFound("no such question")
    question.answer = body.answer
    question.answered_at = datetime.now(UTC)
    await session.commit()
    return JSONResponse({"id": question_id, "answer": body.answer})


@router.get("/consultations/{buyer_siret}/{reference}/questions", summary="Questions (buyer)")
async def buyer_questions(
    buyer_siret: Siret, reference: Reference, principal: Buyer, session: SessionDep
) -> JSONResponse:
    """Every question, answered or not, with who asked."""
    _acts_for(principal, buyer_siret)
    rows = await session.scalars(
        select(ConsultationQuestion)
        .where(
            ConsultationQuestion.consultation_id == consultation_workflow_id(buyer_siret, reference)
        )
        .order_by(ConsultationQuestion.id)
    )
    return JSONResponse(
        [
            {
                "id": q.id,
                "supplier_siret": q.supplier_siret,
                "question": q.question,
                "asked_at": q.asked_at.isoformat(),
                "answer": q.answer,
            }
            for q in rows
        ]
    )


# --- suppliers -------------------------------------------------------------------------------


@router.post(
    "/consultations/{buyer_siret}/{reference}/bids",
    status_code=201,
    summary="Submit or replace a bid",
)
async def submit_bid(
    buyer_siret: Siret,
    reference: Reference,
    request: Request,
    principal: Supplier,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> JSONResponse:
    """Multipart `files` (one or more) and an optional `espd` response; a second bid of
    the same supplier replaces the first. Answered with the receipt and Chaîne's seal."""
    if media_type_of(request.headers.get("content-type")) != "multipart/form-data":
        raise UnsupportedMediaType("send the bid as multipart/form-data (parts `files`, `espd`)")
    form = await request.form(max_files=MAX_FILES + 1, max_fields=MAX_FILES + 2)
    siret = _supplier_siret(principal, form.get("supplier_siret"))
    blobs = request.app.state.blobs
    files = []
    for part in form.getlist("files"):
        if isinstance(part, str):
            raise InvalidInput(ErrorCode.VALIDATION_FAILED, "files: file parts only")
        stored = await store_upload(part, blobs, settings.upload_max_bytes)
        files.append(BidFile(stored.filename or "file", stored.blob.sha256, stored.blob.size))
    if not files:
        raise InvalidInput(ErrorCode.VALIDATION_FAILED, "files: at least one file")
    espd = None
    if (part := form.get("espd")) is not None:
        if isinstance(part, str):
            raise InvalidInput(ErrorCode.VALIDATION_FAILED, "espd: a file part")
        stored = await store_upload(part, blobs, settings.upload_max_bytes)
        espd = BidFile(stored.filename or "espd.xml", stored.blob.sha256, stored.blob.size)
    bid = BidRequest(siret, principal.client_id, tuple(files), espd)
    handle = _handle(temporal, buyer_siret, reference)
    try:
        async with _workflow_of(handle):
            receipt = await handle.execute_update(ConsultationWorkflow.submit_bid, bid)
    except WorkflowUpdateFailedError as error:
        return update_refusal(error)
    body = RECEIPT.dump_json(receipt)
    seal = await app_sealer(request, settings).seal_data(body)
    return JSONResponse(
        {
            "receipt": RECEIPT.dump_python(receipt, mode="json"),
            "receipt_json": body.decode(),
            "seal": base64.b64encode(seal).decode(),
        },
        status_code=201,
    )


@router.delete("/consultations/{buyer_siret}/{reference}/bids/mine", summary="Withdraw a bid")
async def withdraw_bid(
    buyer_siret: Siret,
    reference: Reference,
    principal: Supplier,
    temporal: TemporalDep,
    supplier_siret: Annotated[str | None, Query(pattern=r"^[0-9]{14}$")] = None,
) -> JSONResponse:
    """Withdraw before the deadline; the receipt says `withdrawn`."""
    siret = _supplier_siret(principal, supplier_siret)
    request = WithdrawRequest(siret, principal.client_id)
    return await _update(
        temporal, buyer_siret, reference, ConsultationWorkflow.withdraw_bid, request
    )


@router.get("/bids", summary="My bids and their outcome (supplier)")
async def my_bids(principal: Supplier, session: SessionDep) -> JSONResponse:
    """Every bid of the principal's SIRETs, latest first, with its status and outcome."""
    rows = await session.scalars(
        select(BidRecord)
        .where(BidRecord.supplier_siret.in_(sorted(principal.sirets)))
        .order_by(BidRecord.received_at.desc())
        .limit(500)
    )
    return JSONResponse(
        [
            {
                "bid_id": r.id,
                "consultation_id": r.consultation_id,
                "supplier_siret": r.supplier_siret,
                "version": r.version,
                "received_at": r.received_at.isoformat(),
                "status": r.status,
                "receipt": r.receipt,
                "outcome": r.outcome,
            }
            for r in rows
        ]
    )


@router.post(
    "/consultations/{buyer_siret}/{reference}/questions",
    status_code=201,
    dependencies=[Depends(require_json)],
    summary="Ask the buyer a question",
)
async def ask_question(
    buyer_siret: Siret,
    reference: Reference,
    body: QuestionBody,
    principal: Supplier,
    session: SessionDep,
) -> JSONResponse:
    """Until the questions deadline; the answer is published to every candidate."""
    siret = _supplier_siret(principal, body.supplier_siret)
    row = await _public_row(session, buyer_siret, reference)
    deadline = datetime.fromisoformat(row.terms["questions_deadline"])
    if row.status != ConsultationStatus.PUBLISHED or datetime.now(UTC) >= deadline:
        raise QuestionsClosed(f"questions were taken until {deadline.isoformat()}")
    question = ConsultationQuestion(
        consultation_id=row.id, supplier_siret=siret, question=body.question
    )
    session.add(question)
    await session.commit()
    return JSONResponse({"id": question.id, "question": body.question}, status_code=201)


@router.post(
    "/consultations/{buyer_siret}/{reference}/interest",
    status_code=201,
    dependencies=[Depends(require_json)],
    summary="Follow a consultation",
)
async def register_interest(
    buyer_siret: Siret,
    reference: Reference,
    body: InterestBody,
    principal: Supplier,
    session: SessionDep,
) -> JSONResponse:
    """Register interest (idempotent): counted for the buyer, told of the outcome."""
    siret = _supplier_siret(principal, body.supplier_siret)
    row = await _public_row(session, buyer_siret, reference)
    if await session.get(ConsultationInterest, (row.id, siret)) is None:
        session.add(ConsultationInterest(consultation_id=row.id, supplier_siret=siret))
        await session.commit()
    return JSONResponse({"consultation_id": row.id, "supplier_siret": siret}, status_code=201)


# --- helpers ---------------------------------------------------------------------------------


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


class QuestionsClosed(ChaineError):
    code = ErrorCode.QUESTIONS_CLOSED
    status = 409


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise InvalidInput(ErrorCode.VALIDATION_FAILED, "times carry their offset (ISO 8601)")
    return moment.astimezone(UTC)


def _acts_for(principal: Principal, buyer_siret: str) -> None:
    """A buyer acts on its own structures' consultations; others do not see them."""
    if not principal.acts_for(buyer_siret):
        raise ConsultationNotFound(f"no consultation of {buyer_siret} is yours")


def _supplier_siret(principal: Principal, given: object) -> str:
    """The SIRET the supplier acts for: the given one (if theirs), or their only one."""
    if isinstance(given, str) and given:
        if given not in principal.sirets:
            raise InvalidInput(ErrorCode.VALIDATION_FAILED, f"supplier_siret {given} is not yours")
        return given
    if len(principal.sirets) != 1:
        raise InvalidInput(ErrorCode.VALIDATION_FAILED, "supplier_siret: say which of your SIRETs")
    return next(iter(principal.sirets))


def _unsealed(state: ConsultationState) -> None:
    sealed = (ConsultationStatus.DRAFT, ConsultationStatus.PUBLISHED, ConsultationStatus.CLOSED)
    if state.status in {s.value for s in sealed} or (
        state.status == ConsultationStatus.CANCELLED and not state.verdicts
    ):
        raise BidSealed("bids stay sealed until they are opened")


async def _public_row(session: SessionDep, buyer_siret: str, reference: str) -> ConsultationRow:
    row = await session.get(ConsultationRow, consultation_workflow_id(buyer_siret, reference))
    if row is None or row.status not in PUBLIC_STATUSES:
        raise ConsultationNotFound(f"no published consultation {reference} of {buyer_siret}")
    return row


def _handle(temporal: Client, buyer_siret: str, reference: str) -> Any:
    return temporal.get_workflow_handle_for(
        ConsultationWorkflow.run, consultation_workflow_id(buyer_siret, reference)
    )


class _workflow_of:
    """Temporal errors of one consultation's workflow: absent is 404, finished is 409,
    Temporal down is 503."""

    def __init__(self, handle: Any) -> None:
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


async def _update(
    temporal: Client, buyer_siret: str, reference: str, update: Any, argument: Any
) -> JSONResponse:
    """Send one step to the consultation's workflow: its state, or its refusal."""
    handle = _handle(temporal, buyer_siret, reference)
    try:
        async with _workflow_of(handle):
            result = await handle.execute_update(update, argument)
    except WorkflowUpdateFailedError as error:
        return update_refusal(error)
    adapter = RECEIPT if isinstance(result, BidReceipt) else STATE
    return JSONResponse(adapter.dump_python(result, mode="json"))


async def _documents(request: Request, settings: Settings, kind: str) -> tuple[Document, ...]:
    """The multipart `documents` parts, stored as blobs (none is allowed)."""
    if media_type_of(request.headers.get("content-type")) != "multipart/form-data":
        return ()
    form = await request.form(max_files=MAX_FILES, max_fields=MAX_FILES)
    documents = []
    for part in form.getlist("documents"):
        if isinstance(part, str):
            raise InvalidInput(ErrorCode.VALIDATION_FAILED, "documents: file parts only")
        stored = await store_upload(part, request.app.state.blobs, settings.upload_max_bytes)
        documents.append(
            Document(
                stored.filename or "document",
                kind,
                stored.blob.sha256,
                stored.blob.size,
                stored.media_type,
            )
        )
    return tuple(documents)


def _file(request: Request, sha256: str, name: str, media_type: str) -> Response:
    data = request.app.state.blobs.read(sha256)
    safe = "".join(c for c in name if c.isalnum() or c in "._-") or "file"
    return Response(
        data,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{safe}"'},
    )
