"""People act on invoices: one endpoint for every action, answered by the invoice workflow.

`POST /v1/invoices/{id}/actions` sends a Temporal Update; the workflow checks the action
against the one transition table (role and current status) before admitting it, so the
answer is immediate: the new status, or 409 naming the current one.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import Field
from temporalio.client import WorkflowUpdateFailedError

from api.deps import (
    CurrentPrincipal,
    SessionDep,
    SettingsDep,
    TemporalDep,
    UnsupportedMediaType,
    require_json,
)
from api.routes.invoices import MAX_ATTACHMENTS, InvoiceId, visible_invoice
from api.schemas import RequestModel, ResponseModel
from api.temporal_errors import temporal_unavailable, update_refusal
from api.uploads import media_type_of, store_attachments
from core.errors import ErrorCode, InvalidInput
from core.principals import Principal
from invoicing.deadlines import PARIS
from invoicing.interest import late_interest
from invoicing.statuses import FINAL_STATUSES, InvoiceStatus
from invoicing.transitions import Action, allowed_actions
from store.models import Invoice
from workflows.invoice import InvoiceWorkflow
from workflows.invoice_actions import ActionRequest

router = APIRouter(prefix="/v1", tags=["invoice lifecycle"])


class ActionBody(RequestModel):
    """An action on an invoice; `reason` is a coded reason where the action needs one."""

    action: Action
    reason: str | None = Field(None, max_length=60)
    comment: str | None = Field(None, max_length=2000)
    amount: Decimal | None = Field(
        None,
        gt=0,
        max_digits=17,
        decimal_places=2,
        description="certified amount (service done, partial)",
    )
    paid_on: date | None = Field(None, description="payment date (MARK_PAID)")
    buyer_siret: str | None = Field(
        None, pattern=r"^[0-9]{14}$", description="REROUTE: the structure it goes to"
    )
    service_code: str | None = Field(
        None, max_length=100, description="REROUTE: the service it goes to"
    )


class ActionDone(ResponseModel):
    """The status the action led to, and the payment deadline as it now stands."""

    id: str
    status: str
    due_at: datetime | None
    allowed_actions: list[str]


class Deadline(ResponseModel):
    """The legal payment deadline of an invoice."""

    id: str
    status: str
    structure_category: str | None
    deposited_at: datetime
    due_at: datetime | None
    suspended_since: datetime | None
    days_remaining: int | None
    overdue: bool
    paid_on: date | None
    late_interest: Decimal | None
    late_compensation: Decimal | None
    interest_to_date: Decimal | None = Field(
        description="Overdue and unpaid: the interest owed if paid today (what the supplier "
        "would be owed); null otherwise"
    )
    compensation_to_date: Decimal | None = Field(
        description="Overdue and unpaid: the €40 compensation owed; null otherwise"
    )


@router.post(
    "/invoices/{invoice_id}/actions",
    response_model=ActionDone,
    summary="Take an action on an invoice (take, suspend, reject, certify, pay...)",
    dependencies=[Depends(require_json)],
    responses={
        409: {"description": "not possible from the current status"},
        403: {"description": "not for this role"},
    },
)
async def act(
    invoice_id: InvoiceId,
    body: ActionBody,
    principal: CurrentPrincipal,
    session: SessionDep,
    temporal: TemporalDep,
) -> JSONResponse:
    """Answered at once by the invoice's workflow with the new status."""
    invoice = await visible_invoice(session, principal, invoice_id)
    request = ActionRequest(
        action=body.action.value,
        role=principal.role.value,
        actor=principal.client_id,
        reason=body.reason,
        comment=body.comment,
        amount=body.amount,
        paid_on=body.paid_on,
        buyer_siret=body.buyer_siret,
        service_code=body.service_code,
    )
    return await _send(temporal, invoice, request, principal)


_COMPLETION_FORM = {
    "type": "object",
    "properties": {
        "comment": {"type": "string", "maxLength": 2000},
        "attachments": {"type": "array", "items": {"type": "string", "format": "binary"}},
    },
}


@router.post(
    "/invoices/{invoice_id}/complete",
    response_model=ActionDone,
    summary="Complete a suspended invoice with what was missing (supplier)",
    openapi_extra={
        "requestBody": {"content": {"multipart/form-data": {"schema": _COMPLETION_FORM}}}
    },
)
async def complete(
    invoice_id: InvoiceId,
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> JSONResponse:
    """COMPLETE with a comment and the missing documents; the payment deadline restarts."""
    if media_type_of(request.headers.get("content-type")) != "multipart/form-data":
        raise UnsupportedMediaType("send the completion as multipart/form-data")
    invoice = await visible_invoice(session, principal, invoice_id)
    form = await request.form(max_files=MAX_ATTACHMENTS, max_fields=MAX_ATTACHMENTS + 1)
    comment = form.get("comment")
    if comment is not None and (not isinstance(comment, str) or len(comment) > 2000):
        raise InvalidInput(ErrorCode.VALIDATION_FAILED, "comment: 2,000 characters at most")
    attachments = await store_attachments(form, request.app.state.blobs, settings.upload_max_bytes)
    action = ActionRequest(
        action=Action.COMPLETE.value,
        role=principal.role.value,
        actor=principal.client_id,
        comment=comment,
        attachments=attachments,
    )
    return await _send(temporal, invoice, action, principal)


async def _send(
    temporal: TemporalDep, invoice: Invoice, request: ActionRequest, principal: Principal
) -> JSONResponse:
    """The action as an Update of the invoice's workflow: its answer, or its refusal."""
    handle = temporal.get_workflow_handle(
        invoice.workflow_id, first_execution_run_id=invoice.run_id
    )
    try:
        async with temporal_unavailable():
            outcome = await handle.execute_update(InvoiceWorkflow.act, request)
    except WorkflowUpdateFailedError as error:
        return update_refusal(error)
    done = ActionDone(
        id=invoice.id,
        status=outcome.status,
        due_at=outcome.due_at,
        allowed_actions=[
            a.value for a in allowed_actions(InvoiceStatus(outcome.status), principal.role)
        ],
    )
    return JSONResponse(done.model_dump(mode="json"))


@router.get(
    "/invoices/{invoice_id}/deadline",
    response_model=Deadline,
    summary="The legal payment deadline of an invoice",
)
async def deadline(
    invoice_id: InvoiceId, principal: CurrentPrincipal, session: SessionDep
) -> Deadline:
    """Due date, days remaining, whether it is suspended or overdue, and late interest."""
    invoice = await visible_invoice(session, principal, invoice_id)
    now = datetime.now(PARIS)
    due = invoice.due_at
    remaining = (due - now).days if due and not invoice.paid_on else None
    late = bool(due) and (
        invoice.paid_on > due.astimezone(PARIS).date() if invoice.paid_on else now > due
    )
    so_far = None
    if late and due and not invoice.paid_on and invoice.amount_due is not None:
        if InvoiceStatus(invoice.status) not in FINAL_STATUSES:
            so_far = late_interest(invoice.amount_due, due.astimezone(PARIS).date(), now.date())
    return Deadline(
        id=invoice.id,
        status=invoice.status,
        structure_category=invoice.structure_category,
        deposited_at=invoice.deposited_at,
        due_at=invoice.due_at,
        suspended_since=invoice.suspended_since,
        days_remaining=remaining,
        overdue=late,
        paid_on=invoice.paid_on,
        late_interest=invoice.late_interest,
        late_compensation=invoice.late_compensation,
        interest_to_date=so_far.interest if so_far else None,
        compensation_to_date=so_far.compensation if so_far else None,
    )
