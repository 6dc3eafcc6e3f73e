"""Payment runs and bank statements, for accountants.

`POST /v1/payment-runs` starts a run by hand (the daily schedule starts the others);
`POST /v1/bank-statements` takes what the bank sends back (camt.053/054, pain.002): its
entries are matched by end-to-end id and reported at once, then applied to payments and
invoices by a workflow, once per file however often it is sent.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import Field
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.deps import SessionDep, SettingsDep, TemporalDep, require_json, require_roles
from api.schemas import ResponseModel
from api.temporal_errors import temporal_unavailable
from api.uploads import media_type_of
from core.errors import ErrorCode, InvalidInput, NotFound
from core.principals import Principal, Role
from invoicing.payments.bank_returns import read_bank_file
from store.commitments import CommitmentRepository
from store.database import transaction
from store.models import BankStatement, Commitment
from store.payments import PaymentRepository
from workflows.bank_statement import BankStatementWorkflow
from workflows.payment_run import PaymentRunWorkflow
from workflows.payments import DebtorAccount, PaymentRunInput, StatementInput

router = APIRouter(prefix="/v1", tags=["payments"])
Accountant = Annotated[Principal, Depends(require_roles(Role.ACCOUNTANT, Role.OPS))]


class RunRequest(ResponseModel):
    execution_date: date | None = None


class RunStarted(ResponseModel):
    id: str
    workflow_id: str


class RunPublic(ResponseModel):
    """A run: its status, what it gathered per account and status, its files, what it left."""

    id: str
    status: str
    requested_by: str
    pain_version: str
    execution_date: date
    totals: list[dict[str, Any]]
    files: list[dict[str, Any]]
    skipped: list[dict[str, Any]]


class StatementPublic(ResponseModel):
    """A bank file and what each of its entries matched (unmatched ones are kept)."""

    id: str
    kind: str
    message_id: str | None
    duplicate: bool
    entries: list[dict[str, Any]]
    unmatched: int


def debtor_of(settings: SettingsDep) -> DebtorAccount:
    return DebtorAccount(
        settings.payment_debtor_name, settings.payment_debtor_iban, settings.payment_debtor_bic
    )


@router.post(
    "/payment-runs",
    status_code=202,
    response_model=RunStarted,
    summary="Start a payment run now (accountant)",
    dependencies=[Depends(require_json)],
)
async def start_run(
    body: RunRequest, principal: Accountant, settings: SettingsDep, temporal: TemporalDep
) -> JSONResponse:
    """Gathers the accounted invoices, builds the pain.001 files, issues the payments."""
    run_id = f"run-{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
    workflow_id = f"payment-run:{run_id}"
    async with temporal_unavailable():
        await temporal.start_workflow(
            PaymentRunWorkflow.run,
            PaymentRunInput(
                debtor=debtor_of(settings),
                accounts={
                    service: DebtorAccount(*account)
                    for service, account in settings.paying_accounts().items()
                },
                pain_version=settings.payment_pain_version.value,
                requested_by=principal.client_id,
                run_id=run_id,
                execution_date=body.execution_date,
            ),
            id=workflow_id,
            task_queue=settings.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    return JSONResponse(
        RunStarted(id=run_id, workflow_id=workflow_id).model_dump(),
        status_code=202,
        headers={"Location": f"/v1/payment-runs/{run_id}"},
    )


@router.get("/payment-runs/{run_id}", response_model=RunPublic, summary="A payment run")
async def get_run(run_id: str, principal: Accountant, session: SessionDep) -> RunPublic:
    payments = PaymentRepository(session)
    run = await payments.run(run_id)
    if run is None:
        raise NotFound(f"no payment run {run_id} (it may still be starting)")
    files = await payments.files(run_id)
    return RunPublic(
        id=run.id,
        status=run.status,
        requested_by=run.requested_by,
        pain_version=run.pain_version,
        execution_date=run.execution_date,
        totals=await payments.summary(run_id),
        files=[
            {
                "id": f.id,
                "debtor_iban": f.debtor_iban,
                "transactions": f.transactions,
                "control_sum": str(f.control_sum),
                "sha256": f.sha256,
                "href": f"/v1/payment-runs/{run_id}/files/{f.sha256}",
            }
            for f in files
        ],
        skipped=list(run.skipped or []),
    )


@router.get(
    "/payment-runs/{run_id}/files/{sha256}",
    summary="A pain.001 file of the run",
    response_class=Response,
)
async def get_file(
    run_id: str, sha256: str, principal: Accountant, session: SessionDep, request: Request
) -> Response:
    files = await PaymentRepository(session).files(run_id)
    found = next((f for f in files if f.sha256 == sha256), None)
    if found is None:
        raise NotFound(f"no file {sha256} in payment run {run_id}")
    return StreamingResponse(  # up to tens of megabytes: never held whole in memory
        request.app.state.blobs.iter_chunks(found.sha256),
        media_type="application/xml",
        headers={"Content-Disposition": f'attachment; filename="{found.message_id}.xml"'},
    )


@router.post(
    "/bank-statements",
    response_model=StatementPublic,
    status_code=201,
    summary="Send a bank statement or status report (accountant)",
    openapi_extra={"requestBody": {"content": {"application/xml": {}}}},
)
async def receive_statement(
    request: Request,
    principal: Accountant,
    settings: SettingsDep,
    temporal: TemporalDep,
) -> JSONResponse:
    """camt.053, camt.054 or pain.002 as `application/xml`; each entry is matched by its
    end-to-end id. Sending the same file again changes nothing (200, `duplicate`)."""
    if media_type_of(request.headers.get("content-type")) not in {"application/xml", "text/xml"}:
        raise InvalidInput(
            ErrorCode.UNSUPPORTED_MEDIA_TYPE, "send the bank file as application/xml"
        )
    data = await request.body()
    statement_id = hashlib.sha256(data).hexdigest()
    async with transaction(request.app.state.sessions) as session:
        payments = PaymentRepository(session)
        statement = await payments.statement(statement_id)
        duplicate = statement is not None
        if statement is None:
            bank_file = read_bank_file(data)
            entries = [await _match(payments, entry) for entry in bank_file.entries]
            statement = BankStatement(
                id=statement_id,
                kind=bank_file.kind,
                message_id=bank_file.message_id,
                uploaded_by=principal.client_id,
                entries=entries,
            )
            session.add(statement)
    if not duplicate:
        request.app.state.blobs.put(data)
    # Started on every receipt, duplicates included: if an earlier receipt was recorded but
    # Temporal could not be reached, this one starts what applies it (once, by its id).
    async with temporal_unavailable():
        try:
            await temporal.start_workflow(
                BankStatementWorkflow.run,
                StatementInput(statement_id),
                id=f"bank-statement:{statement_id}",
                task_queue=settings.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
        except WorkflowAlreadyStartedError:
            pass
    if duplicate:
        return _statement_response(statement, duplicate=True, status=200)
    return _statement_response(statement, duplicate=False, status=201)


async def _match(payments: PaymentRepository, entry: Any) -> dict[str, Any]:
    """The entry as stored: what the bank said, and the payment it is about, if any."""
    row: dict[str, Any] = {
        "end_to_end_id": entry.end_to_end_id,
        "status": entry.status,
        "amount": str(entry.amount) if entry.amount is not None else None,
        "currency": entry.currency,
        "date": entry.booking_date.isoformat() if entry.booking_date else None,
        "reason": entry.reason_code,
        "reason_text": entry.additional_info,
        "matched": False,
        "invoice_id": None,
        "problem": None,
    }
    payment = await payments.payment(entry.end_to_end_id) if entry.end_to_end_id else None
    if payment is None:
        row["problem"] = "no payment with this end-to-end id"
    elif entry.amount is not None and Decimal(entry.amount) != payment.amount:
        row["problem"] = f"amount {entry.amount} differs from the transfer's {payment.amount}"
    else:
        row.update(matched=True, invoice_id=payment.invoice_id, kind=payment.kind)
    return row


def _statement_response(statement: BankStatement, *, duplicate: bool, status: int) -> JSONResponse:
    body = StatementPublic(
        id=statement.id,
        kind=statement.kind,
        message_id=statement.message_id,
        duplicate=duplicate,
        entries=statement.entries,
        unmatched=sum(1 for e in statement.entries if not e["matched"]),
    )
    return JSONResponse(
        body.model_dump(mode="json"),
        status_code=status,
        headers={"Location": f"/v1/bank-statements/{statement.id}"},
    )


@router.get(
    "/bank-statements/{statement_id}", response_model=StatementPublic, summary="A bank file"
)
async def get_statement(
    statement_id: str, principal: Accountant, session: SessionDep
) -> JSONResponse:
    statement = await PaymentRepository(session).statement(statement_id)
    if statement is None:
        raise NotFound(f"no bank statement {statement_id}")
    return _statement_response(statement, duplicate=False, status=200)


class PeriodicOrder(ResponseModel):
    """A periodic payment order: `amount` every `every_months` months from `start`."""

    amount: Decimal = Field(gt=0, le=Decimal("999999999.99"), decimal_places=2)
    every_months: Literal[1, 2, 3, 6, 12]
    start: date
    end: date | None = None


class PeriodicOrderPublic(PeriodicOrder):
    commitment: str
    paused: bool
    payments: list[dict[str, Any]]


async def _order(session: SessionDep, principal: Principal, number: str) -> Commitment:
    commitment = await CommitmentRepository(session).get(number)
    if commitment is None or not principal.acts_for(commitment.buyer_siret):
        raise NotFound(f"no commitment {number}")
    return commitment


async def _order_public(session: SessionDep, commitment: Commitment) -> PeriodicOrderPublic:
    if commitment.periodic_amount is None:
        raise NotFound(f"commitment {commitment.number} has no periodic payment order")
    payments = await PaymentRepository(session).of_commitment(commitment.number)
    return PeriodicOrderPublic(
        commitment=commitment.number,
        amount=commitment.periodic_amount,
        every_months=commitment.periodic_months,
        start=commitment.periodic_start,
        end=commitment.periodic_end,
        paused=commitment.periodic_paused,
        payments=[
            {
                "period": p.period,
                "end_to_end_id": p.end_to_end_id,
                "run_id": p.run_id,
                "status": p.status,
                "paid_on": p.paid_on,
            }
            for p in payments
        ],
    )


@router.put(
    "/commitments/{number}/periodic-payment",
    response_model=PeriodicOrderPublic,
    summary="Pay a commitment periodically, without invoices (accountant)",
    dependencies=[Depends(require_json)],
)
async def set_periodic_order(
    number: str, body: PeriodicOrder, principal: Accountant, session: SessionDep
) -> PeriodicOrderPublic:
    """Payment runs pay `amount` on each due date reached and not yet paid."""
    if body.end is not None and body.end < body.start:
        raise InvalidInput(ErrorCode.VALIDATION_FAILED, "end: before start", field="end")
    commitment = await _order(session, principal, number)
    commitment.periodic_amount = body.amount
    commitment.periodic_months = body.every_months
    commitment.periodic_start = body.start
    commitment.periodic_end = body.end
    await session.commit()
    return await _order_public(session, commitment)


@router.get(
    "/commitments/{number}/periodic-payment",
    response_model=PeriodicOrderPublic,
    summary="A periodic payment order and what it paid",
)
async def get_periodic_order(
    number: str, principal: Accountant, session: SessionDep
) -> PeriodicOrderPublic:
    return await _order_public(session, await _order(session, principal, number))


@router.post(
    "/commitments/{number}/periodic-payment/{action}",
    response_model=PeriodicOrderPublic,
    summary="Pause or resume a periodic payment order (accountant)",
)
async def pause_periodic_order(
    number: str,
    action: Literal["pause", "resume"],
    principal: Accountant,
    session: SessionDep,
) -> PeriodicOrderPublic:
    """Paused, runs skip it; resumed, the next run pays every due date missed meanwhile."""
    commitment = await _order(session, principal, number)
    await _order_public(session, commitment)  # 404 without an order
    commitment.periodic_paused = action == "pause"
    await session.commit()
    return await _order_public(session, commitment)
