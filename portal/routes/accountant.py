"""Pages of the public accountant: the control and booking queues, payment runs and the
bank's answers.

The queues are the accountant's invoices by status, as the lifecycle leaves them waiting:
presumed service done drawn by the control plan (SERVICE_FAIT, held until the accountant
decides), mandates to integrate (MANDATEE) and to book (MISE_A_DISPOSITION_COMPTABLE).
Each row offers the actions the transition table gives the accountant there; the API
decides.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from api.routes.invoices import InvoiceId
from core.principals import Role
from invoicing.statuses import InvoiceStatus
from portal.accounts import Visitor
from portal.backend import ApiProblem, Backend
from portal.deps import ApiAs, Changing, CurrentVisitor, flash, require_role
from portal.i18n import N_, translator
from portal.pages import render
from portal.routes.buyer import (
    action_forms,
    form_text,
    invoice_page,
    language,
    new_status_text,
    reason_text,
    safe_back,
    take_action,
)

router = APIRouter(include_in_schema=False, dependencies=[Depends(require_role(Role.ACCOUNTANT))])

DESK = "/accountant"
RunId = Annotated[str, Path(max_length=60, pattern=r"^[A-Za-z0-9._:-]+$")]
Sha256 = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]
QUEUE_SIZE = 50

# The queues of the first page: (anchor, title, what it is, status).
QUEUES = (
    (
        "control",
        N_("Plan de contrôle"),
        N_("Factures en service fait présumé tirées au contrôle : elles attendent votre décision."),
        InvoiceStatus.SERVICE_FAIT,
    ),
    (
        "mandates",
        N_("Mandats à intégrer"),
        N_("Mandats émis par l'ordonnateur, à intégrer dans votre comptabilité."),
        InvoiceStatus.MANDATEE,
    ),
    (
        "booking",
        N_("Mandats à comptabiliser"),
        N_("Mandats intégrés : à prendre en charge (comptabiliser) ou à rejeter après contrôle."),
        InvoiceStatus.MISE_A_DISPOSITION_COMPTABLE,
    ),
)
PAYMENT_STATUSES = (InvoiceStatus.COMPTABILISEE, InvoiceStatus.MISE_EN_PAIEMENT)


# --- the queues -------------------------------------------------------------------------


async def queue_rows(backend: Backend, status: str, visitor: Visitor, lang: str) -> dict:
    """A page of the invoices waiting in `status`, each with the accountant's actions."""
    page = await backend.get(
        "/v1/received-invoices", status=status, limit=QUEUE_SIZE, sort="due_at"
    )
    forms = action_forms(status, visitor.principal.role, lang)
    return {"items": page["items"], "more": page["next"] is not None, "actions": forms}


async def queues_page(
    request: Request, visitor: Visitor, backend: Backend, problem: ApiProblem | None = None
) -> Response:
    """Every queue, one after the other; a refused action is shown on top."""
    lang = language(request)
    queues = [
        {
            "anchor": anchor,
            "title": title,
            "about": about,
            **await queue_rows(backend, status, visitor, lang),
        }
        for anchor, title, about, status in QUEUES
    ]
    return render(
        request,
        "accountant/queue.html",
        visitor,
        status_code=problem.status if problem else 200,
        queues=queues,
        problem=problem,
    )


@router.get("/accountant")
async def queues(request: Request, visitor: CurrentVisitor, backend: ApiAs) -> Response:
    """The control plan's queue and the mandates awaiting the accountant."""
    return await queues_page(request, visitor, backend)


@router.get("/accountant/invoices/{invoice_id}")
async def invoice(
    request: Request, invoice_id: InvoiceId, visitor: CurrentVisitor, backend: ApiAs
) -> Response:
    """One invoice of the structures the accountant serves, with the accountant's actions."""
    return await invoice_page(request, visitor, backend, invoice_id, DESK)


@router.post("/accountant/invoices/{invoice_id}/actions")
async def act(
    request: Request, invoice_id: InvoiceId, visitor: Changing, backend: ApiAs
) -> Response:
    """Approve or refuse a control, integrate, book or reject a mandate..., from a queue
    or from the invoice; a refusal is shown where the action was taken."""
    form = await request.form()
    page = f"{DESK}/invoices/{invoice_id}"
    back = safe_back(form_text(form, "back"), (DESK, page), DESK)
    try:
        done = await take_action(backend, invoice_id, form)
    except ApiProblem as refused:
        if back == page:
            return await invoice_page(request, visitor, backend, invoice_id, DESK, refused)
        return await queues_page(request, visitor, backend, refused)
    number = form_text(form, "number") or invoice_id
    await flash(request, visitor, "success", new_status_text(request, number, done["status"]))
    return RedirectResponse(back, status_code=303)


@router.get("/accountant/invoices/{invoice_id}/original")
async def original(
    request: Request, invoice_id: InvoiceId, visitor: CurrentVisitor, backend: ApiAs
) -> Response:
    """The file as deposited (not counted as the buyer's download)."""
    return await backend.download(f"/v1/invoices/{invoice_id}/original")


# --- payment runs -----------------------------------------------------------------------


async def runs_page(
    request: Request, visitor: Visitor, backend: Backend, problem: ApiProblem | None = None
) -> Response:
    """What the next run will pay, what is being paid, and the forms to start or open one."""
    waiting = {
        status.value: await backend.get("/v1/received-invoices", status=status, limit=QUEUE_SIZE)
        for status in PAYMENT_STATUSES
    }
    return render(
        request,
        "accountant/payment_runs.html",
        visitor,
        status_code=problem.status if problem else 200,
        waiting=waiting,
        problem=problem,
    )


@router.get("/accountant/payment-runs")
async def payment_runs(request: Request, visitor: CurrentVisitor, backend: ApiAs) -> Response:
    """Start a payment run, or open one by its number (`?run=`)."""
    run = form_text(request.query_params, "run")
    if run:
        return RedirectResponse(f"{DESK}/payment-runs/{quote(run, safe='')}", status_code=303)
    return await runs_page(request, visitor, backend)


@router.post("/accountant/payment-runs")
async def start_run(request: Request, visitor: Changing, backend: ApiAs) -> Response:
    """Start a run now (the daily schedule starts the others) and follow it."""
    form = await request.form()
    execution_date = form_text(form, "execution_date")
    body = {"execution_date": execution_date} if execution_date else {}
    try:
        started = await backend.post("/v1/payment-runs", json=body)
    except ApiProblem as refused:
        return await runs_page(request, visitor, backend, refused)
    _ = translator(language(request))
    text = f"{_('Campagne de paiement lancée')} : {started['id']}"
    await flash(request, visitor, "success", text)
    return RedirectResponse(f"{DESK}/payment-runs/{started['id']}", status_code=303)


@router.get("/accountant/payment-runs/{run_id}")
async def payment_run(
    request: Request, run_id: RunId, visitor: CurrentVisitor, backend: ApiAs
) -> Response:
    """A run: totals, pain.001 files, what it left aside; refreshed while it is building.

    Just started, the run may not be recorded yet (404): the page says so and keeps
    looking."""
    run: dict[str, Any] | None = None
    try:
        run = await backend.get(f"/v1/payment-runs/{run_id}")
    except ApiProblem as missing:
        if missing.status != 404:
            raise
    return render(
        request,
        "accountant/payment_run.html",
        visitor,
        status_code=200 if run else 404,
        run_id=run_id,
        run=run,
        building=run is None or run["status"] == "PLANNED",
    )


@router.get("/accountant/payment-runs/{run_id}/files/{sha256}")
async def payment_file(
    request: Request, run_id: RunId, sha256: Sha256, visitor: CurrentVisitor, backend: ApiAs
) -> Response:
    """A pain.001 file of the run, to send to the bank."""
    return await backend.download(f"/v1/payment-runs/{run_id}/files/{sha256}")


# --- bank statements --------------------------------------------------------------------


def uploaded(form: FormData, name: str) -> UploadFile | None:
    """The file of a multipart field, if one was chosen."""
    value = form.get(name)
    return value if isinstance(value, UploadFile) and value.filename else None


@router.get("/accountant/bank-statements")
async def bank_statements(request: Request, visitor: CurrentVisitor) -> Response:
    """The form to send what the bank returned."""
    return render(request, "accountant/bank_statements.html", visitor)


@router.post("/accountant/bank-statements")
async def send_statement(request: Request, visitor: Changing, backend: ApiAs) -> Response:
    """Send a camt.053/054 or pain.002 file to the API; its refusal is shown on the form."""
    upload = uploaded(await request.form(), "statement")
    data = await upload.read() if upload else b""
    try:
        statement = await backend.post(
            "/v1/bank-statements", content=data, headers={"Content-Type": "application/xml"}
        )
    except ApiProblem as refused:
        return render(
            request,
            "accountant/bank_statements.html",
            visitor,
            status_code=refused.status,
            problem=refused,
        )
    _ = translator(language(request))
    text = (
        _("Ce relevé avait déjà été reçu : rien n'a changé.")
        if statement["duplicate"]
        else (_("Relevé reçu : les paiements rapprochés sont mis à jour."))
    )
    await flash(request, visitor, "info" if statement["duplicate"] else "success", text)
    return RedirectResponse(f"{DESK}/bank-statements/{statement['id']}", status_code=303)


@router.get("/accountant/bank-statements/{statement_id}")
async def bank_statement(
    request: Request, statement_id: Sha256, visitor: CurrentVisitor, backend: ApiAs
) -> Response:
    """A bank file and what each of its entries matched."""
    statement = await backend.get(f"/v1/bank-statements/{statement_id}")
    lang = language(request)
    entries = [
        {**entry, "reason_label": reason_text(entry.get("reason"), lang)}
        for entry in statement["entries"]
    ]
    return render(
        request,
        "accountant/bank_statement.html",
        visitor,
        statement=statement,
        entries=entries,
    )
