"""Invoice deposit, validation and the supplier's reads of its invoices.

A deposit is answered in the same call: the API stores the file, names its process after
the seller and number, and hands it to the `InvoiceWorkflow` with update-with-start; the
workflow validates (queue `chaine-cpu`) and records, and the update returns the report.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import Field

from api.deps import CurrentPrincipal, SessionDep, SettingsDep, TemporalDep, require_roles
from api.problems import problem
from api.schemas import ResponseModel
from api.temporal_errors import temporal_unavailable
from api.uploads import (
    INVOICE_MEDIA_TYPES,
    StoredUpload,
    blob_download,
    media_type_of,
    store_attachments,
    store_body,
    store_upload,
)
from core.config import Settings
from core.errors import ChaineError, ErrorCode
from core.principals import Principal, Role
from invoicing.identity import identify_file, process_name
from invoicing.validation.pipeline import Level
from store.blobs import BlobStore
from store.idempotency import IdempotencyRepository
from store.invoices import InvoiceRepository
from store.models import Invoice
from workflows.deposits import (
    DepositOutcome,
    DepositRequest,
    FileValidation,
    ValidateInput,
)
from workflows.invoice_actions import Attachment
from workflows.invoice_client import PendingDeposit, deposit_invoice, invoice_process
from workflows.validation import ValidationWorkflow

router = APIRouter(prefix="/v1", tags=["invoices"])

InvoiceId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$", description="Invoice id")]
Supplier = Annotated[Principal, Depends(require_roles(Role.SUPPLIER))]
MAX_ATTACHMENTS = 20


class InvoiceNotFound(ChaineError):
    """No invoice with this id is visible to the caller."""

    code = ErrorCode.INVOICE_NOT_FOUND
    status = 404


class KeyReused(ChaineError):
    """An `Idempotency-Key` was sent again with another body."""

    code = ErrorCode.IDEMPOTENCY_KEY_REUSED
    status = 422


class UnsupportedInvoiceMedia(ChaineError):
    """Invoices are XML (UBL, CII) or PDF (Factur-X), or multipart carrying one."""

    code = ErrorCode.UNSUPPORTED_MEDIA_TYPE
    status = 415


class InvoiceDeposited(ResponseModel):
    """A deposit's answer: the invoice, its status, and the validation report."""

    id: str
    status: str
    seller: str
    number: str
    report: dict[str, Any]


class InvoicePending(ResponseModel):
    """A deposit still being validated: poll `Location`."""

    id: str
    status: str = "EN_COURS_DE_VALIDATION"


class StatusChange(ResponseModel):
    """One status an invoice reached."""

    status: str
    at: datetime
    actor: str
    reason: str | None
    comment: str | None


class InvoicePublic(ResponseModel):
    """An invoice as its supplier sees it: record, status history, canonical content."""

    id: str
    number: str
    seller: str
    status: str
    status_at: datetime
    deposited_at: datetime
    syntax: str | None
    profile: str | None
    buyer_siret: str | None
    service_code: str | None
    commitment_number: str | None
    type_code: str | None
    credited_invoice_id: str | None  # for a credit note: the invoice it credits (BT-25)
    credit_notes: list[str]  # the live credit notes and corrections naming this invoice
    currency: str | None
    amount_due: str | None
    original: dict[str, Any]
    attachments: list[dict[str, Any]]
    history: list[StatusChange]
    invoice: dict[str, Any] | None
    control: dict[str, Any] | None = Field(
        None,
        description="Presumed service done: the control plan's decision (selected, by draw, "
        "risk score and reasons); never shown to the supplier",
    )


def _blobs(request: Request) -> BlobStore:
    return request.app.state.blobs


Blobs = Annotated[BlobStore, Depends(_blobs)]


async def _receive(
    request: Request, blobs: BlobStore, settings: Settings
) -> tuple[StoredUpload, list[Attachment]]:
    """Store the invoice file of a raw or multipart body, and the multipart attachments."""
    media_type = media_type_of(request.headers.get("content-type"))
    if media_type in INVOICE_MEDIA_TYPES:
        blob = await store_body(request, blobs, settings.upload_max_bytes)
        return StoredUpload(blob, media_type, None), []
    if media_type == "multipart/form-data":
        form = await request.form(max_files=MAX_ATTACHMENTS + 1, max_fields=MAX_ATTACHMENTS + 1)
        upload = form.get("invoice")
        if upload is None or isinstance(upload, str):
            raise UnsupportedInvoiceMedia("a multipart deposit carries the file in part 'invoice'")
        attachments = await store_attachments(form, blobs, settings.upload_max_bytes)
        return await store_upload(upload, blobs, settings.upload_max_bytes), attachments
    raise UnsupportedInvoiceMedia(
        "send the invoice as application/xml, application/pdf or multipart/form-data, "
        f"not {media_type or 'an undeclared type'}"
    )


def _deposit_response(
    outcome: DepositOutcome | PendingDeposit, seller: str, number: str
) -> Response:
    location = f"/v1/invoices/{outcome.invoice_id}"
    if isinstance(outcome, PendingDeposit):
        return JSONResponse(
            InvoicePending(id=outcome.invoice_id).model_dump(),
            status_code=202,
            headers={"Location": location, "Retry-After": "2"},
        )
    if outcome.conflict:
        return problem(
            409,
            ErrorCode.INVOICE_CONFLICT,
            f"invoice {number} of seller {seller} was already deposited with other content",
            invoice_id=outcome.invoice_id,
            headers={"Location": location},
        )
    if outcome.status == "REJETEE":
        fatal = sum(f["severity"] == "fatal" for f in outcome.report["findings"])
        return problem(
            422,
            ErrorCode.INVOICE_INVALID,
            f"the invoice breaks {fatal} rule(s); it is recorded as rejected with its report",
            invoice_id=outcome.invoice_id,
            report=outcome.report,
            headers={"Location": location},
        )
    body = InvoiceDeposited(
        id=outcome.invoice_id,
        status=outcome.status,
        seller=seller,
        number=number,
        report=outcome.report,
    )
    return JSONResponse(
        body.model_dump(),
        status_code=201 if outcome.created else 200,
        headers={"Location": location},
    )


@router.post(
    "/invoices",
    status_code=201,
    response_model=InvoiceDeposited,
    summary="Deposit an invoice (UBL, CII or Factur-X)",
    responses={
        200: {"description": "the same file was already deposited: the first answer"},
        202: {"model": InvoicePending, "description": "still validating: poll Location"},
        409: {"description": "this number was deposited with other content"},
        422: {"description": "refused: the problem carries the whole validation report"},
    },
)
async def post_invoice(
    request: Request,
    principal: Supplier,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    blobs: Blobs,
    idempotency_key: Annotated[str | None, Header(max_length=255, min_length=1)] = None,
) -> Response:
    """Deposit an invoice for one of your SIRETs; the answer carries its validation report."""
    received_at = datetime.now(UTC)
    upload, attachments = await _receive(request, blobs, settings)
    request_sha256 = hashlib.sha256(
        " ".join([upload.blob.sha256, *(a.sha256 for a in attachments)]).encode()
    ).hexdigest()
    since = received_at - settings.idempotency_retention
    if idempotency_key:
        kept = await IdempotencyRepository(session).find(
            principal.client_id, idempotency_key, since
        )
        if kept is not None:
            if kept.request_sha256 != request_sha256:
                raise KeyReused("this Idempotency-Key was used with another body")
            headers = {"Location": kept.location} if kept.location else None
            media = "application/problem+json" if kept.status_code >= 400 else "application/json"
            return JSONResponse(
                kept.body, status_code=kept.status_code, headers=headers, media_type=media
            )
    data = blobs.read(upload.blob.sha256)
    identity = await run_in_threadpool(identify_file, data, upload.media_type)
    seller, number = process_name(identity, principal.sirets, upload.blob.sha256)
    request_ = DepositRequest(
        original_sha256=upload.blob.sha256,
        original_size=upload.blob.size,
        media_type=upload.media_type,
        depositor=principal.client_id,
        received_at=received_at,
        filename=upload.filename,
        attachments=attachments,
    )
    async with temporal_unavailable():
        outcome = await deposit_invoice(
            temporal, invoice_process(settings), seller, number, request_, settings.deposit_wait
        )
    response = _deposit_response(outcome, seller, number)
    if idempotency_key and response.status_code != 202:
        await IdempotencyRepository(session).keep(
            principal.client_id,
            idempotency_key,
            request_sha256,
            response.status_code,
            json.loads(bytes(response.body)),
            response.headers.get("location"),
            since,
        )
        await session.commit()
    return response


@router.post(
    "/invoices:validate",
    summary="Validate a file without depositing it",
    responses={200: {"description": "the validation report"}},
)
async def validate_invoice(
    request: Request,
    _principal: CurrentPrincipal,
    temporal: TemporalDep,
    settings: SettingsDep,
    blobs: Blobs,
    level: Annotated[Level, Query(description="`en16931`: stages a-c only")] = Level.FULL,
) -> JSONResponse:
    """The report the file would get at deposit (`full`), or for EN 16931 alone."""
    upload, _ = await _receive(request, blobs, settings)
    check = ValidateInput(upload.blob.sha256, upload.media_type, level.value)
    async with temporal_unavailable():
        report = await temporal.execute_workflow(
            ValidationWorkflow.run,
            FileValidation(check, settings.cpu_task_queue),
            id=f"validation:{uuid.uuid4()}",
            task_queue=settings.task_queue,
            execution_timeout=timedelta(minutes=5),
        )
    return JSONResponse(report)


async def visible_invoice(session: SessionDep, principal: Principal, invoice_id: str) -> Invoice:
    """The invoice if the principal acts for its seller, or (not as a supplier) its buyer.

    Anything else is 404: an invoice of another SIRET is never revealed to exist.
    """
    invoice = await InvoiceRepository(session).get(invoice_id)
    if invoice is None or not (
        principal.acts_for(invoice.seller_key)
        or (
            invoice.buyer_siret is not None
            and principal.role is not Role.SUPPLIER
            and principal.acts_for(invoice.buyer_siret)
        )
    ):
        raise InvoiceNotFound(f"no invoice {invoice_id}")
    return invoice


@router.get(
    "/invoices/{invoice_id}",
    response_model=InvoicePublic,
    summary="An invoice: record, history and canonical content",
)
async def get_invoice(
    invoice_id: InvoiceId, principal: CurrentPrincipal, session: SessionDep, blobs: Blobs
) -> InvoicePublic:
    """The invoice of one of your SIRETs, in the canonical model whatever its syntax."""
    invoice = await visible_invoice(session, principal, invoice_id)
    invoices = InvoiceRepository(session)
    history = await invoices.history(invoice_id)
    canonical = (
        json.loads(blobs.read(invoice.canonical_sha256)) if invoice.canonical_sha256 else None
    )
    return InvoicePublic(
        id=invoice.id,
        number=invoice.number,
        seller=invoice.seller_key,
        status=invoice.status,
        status_at=invoice.status_at,
        deposited_at=invoice.deposited_at,
        syntax=invoice.syntax,
        profile=invoice.profile,
        buyer_siret=invoice.buyer_siret,
        service_code=invoice.service_code,
        commitment_number=invoice.commitment_number,
        type_code=invoice.type_code,
        credited_invoice_id=invoice.credited_invoice_id,
        credit_notes=await invoices.credit_notes_of(invoice.id),
        currency=invoice.currency,
        amount_due=str(invoice.amount_due) if invoice.amount_due is not None else None,
        original={
            "sha256": invoice.original_sha256,
            "size": invoice.original_size,
            "media_type": invoice.original_media_type,
            "filename": invoice.original_filename,
        },
        attachments=invoice.attachments,
        history=[StatusChange.model_validate(change) for change in history],
        invoice=canonical,
        control=invoice.control if principal.role is not Role.SUPPLIER else None,
    )


@router.get(
    "/invoices/{invoice_id}/original",
    summary="The file as deposited",
    response_class=StreamingResponse,
)
async def get_original(
    invoice_id: InvoiceId, principal: CurrentPrincipal, session: SessionDep, blobs: Blobs
) -> StreamingResponse:
    """The deposited bytes, unchanged, integrity checked."""
    invoice = await visible_invoice(session, principal, invoice_id)
    return blob_download(
        blobs,
        invoice.original_sha256,
        invoice.original_filename,
        invoice.original_media_type,
        fallback=f"{invoice.id}.{invoice.original_media_type.split('/')[-1]}",
    )


@router.get("/invoices/{invoice_id}/report", summary="The validation report of a deposit")
async def get_report(
    invoice_id: InvoiceId, principal: CurrentPrincipal, session: SessionDep
) -> JSONResponse:
    """The report given at deposit: every rule that fired, in the rule's words."""
    invoice = await visible_invoice(session, principal, invoice_id)
    return JSONResponse(invoice.report)
