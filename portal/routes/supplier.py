"""Supplier pages: the dashboard, invoices (list, deposit by upload or by form, detail,
completion), and the webhooks that push invoice events to the supplier's software.

Every read and change is an API call made as the signed-in supplier: the deposit goes
through `POST /v1/invoices` like any client's file, and its refusal is the API's report.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from starlette.datastructures import FormData, UploadFile

from core.principals import Role
from invoicing.deadlines import PARIS
from invoicing.events import InvoiceEventType
from invoicing.reasons import REASONS
from invoicing.statuses import FINAL_STATUSES, InvoiceStatus
from invoicing.transitions import Action, allowed_actions
from portal.accounts import Visitor
from portal.backend import ApiProblem, Backend
from portal.deps import ApiAs, Changing, CurrentVisitor, flash, redirect, require_role
from portal.i18n import N_, translator
from portal.invoice_form import (
    NATURES,
    VAT_CHOICES,
    InvoiceForm,
    InvoiceFormInvalid,
    check_form,
    invoice_ubl,
)
from portal.pages import STATUS_LABELS, render
from store.webhooks import REDELIVERABLE, DeliveryStatus

router = APIRouter(include_in_schema=False, dependencies=[Depends(require_role(Role.SUPPLIER))])

InvoiceId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]
WebhookId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]
DeliveryId = Annotated[str, Path(pattern=r"^msg_[0-9]{1,19}_[0-9a-f-]{36}$")]
PAGE_SIZE = 50
API_PAGE = 200  # the API's largest page
OVERDUE_SHOWN = 20
RECENT_DELIVERIES = 50
DELIVERY_SCAN = 4000
MAX_UPLOAD_FILES = 20
PDF_MAGIC = b"%PDF-"
SORTS = {
    "-deposited_at": N_("Dépôt, plus récent d'abord"),
    "deposited_at": N_("Dépôt, plus ancien d'abord"),
    "-issue_date": N_("Émission, plus récente d'abord"),
    "-amount_due": N_("Montant, plus élevé d'abord"),
    "due_at": N_("Échéance, plus proche d'abord"),
}
EVENT_LABELS = {
    InvoiceEventType.STATUS_CHANGED: N_("Changement de statut"),
    InvoiceEventType.OVERDUE: N_("Échéance dépassée"),
}
ACTION_LABELS = {
    Action.CANCEL: N_("Annuler la facture"),
    Action.COMPLETE: N_("Compléter la facture"),
    Action.REROUTE: N_("Réacheminer la facture"),
}
DELIVERY_LABELS = {
    DeliveryStatus.PENDING: N_("En cours"),
    DeliveryStatus.DELIVERED: N_("Livré"),
    DeliveryStatus.DEAD: N_("Abandonné"),
    DeliveryStatus.SKIPPED: N_("Non envoyé"),
}
# An XPath step of a report location: `/*:IssueDate[namespace-uri()='…'][1]` → IssueDate.
_XPATH_STEP = re.compile(r"/(?:\*:|[\w.-]+:)?([A-Za-z_][\w.-]*)(?:\[[^\]]*\])*")


def _text(request: Request) -> Callable[[str], str]:
    """`_` in the visitor's language, for flash messages written from Python."""
    return translator(getattr(request.state, "language", "fr"))


def _hx(request: Request) -> bool:
    """Whether htmx asks for a part of the page (a history restore wants the whole page)."""
    return bool(request.headers.get("HX-Request")) and not request.headers.get(
        "HX-History-Restore-Request"
    )


# --- Dashboard --------------------------------------------------------------------------


@dataclass(frozen=True)
class OverdueInvoice:
    """An invoice past its due date, and the late interest it is owed: recorded with the
    payment, else as the API reckons it to date."""

    invoice: dict[str, Any]
    due_on: date
    days_late: int
    interest: Decimal | None
    compensation: Decimal | None
    estimated: bool


async def _overdue(api: Backend) -> list[OverdueInvoice]:
    """The oldest overdue invoices with their deadline and interest as the API gives them."""
    page = await api.get("/v1/invoices", overdue="true", sort="due_at", limit=OVERDUE_SHOWN)
    today = datetime.now(PARIS).date()
    found = []
    for item in page["items"]:
        deadline = await api.get(f"/v1/invoices/{item['id']}/deadline")
        if deadline["due_at"] is None:  # suspended meanwhile: the clock is stopped
            continue
        due_on = datetime.fromisoformat(deadline["due_at"]).astimezone(PARIS).date()
        estimated = deadline["late_interest"] is None
        interest = deadline["interest_to_date" if estimated else "late_interest"]
        compensation = deadline["compensation_to_date" if estimated else "late_compensation"]
        found.append(
            OverdueInvoice(
                item,
                due_on,
                (today - due_on).days,
                _decimal_or_none(interest),
                _decimal_or_none(compensation),
                estimated,
            )
        )
    return found


def _decimal_or_none(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


@router.get("/supplier")
async def dashboard(request: Request, visitor: CurrentVisitor, api: ApiAs) -> Response:
    """Counts per status, amounts awaiting payment, overdue invoices and their interest."""
    figures = await api.get("/v1/statistics/invoices")
    totals = {total["status"]: total for total in figures["statuses"]}
    counts = [(status, totals[status]["count"]) for status in InvoiceStatus if status in totals]
    awaiting = sum(
        (Decimal(t["amount"]) for code, t in totals.items() if code not in FINAL_STATUSES),
        Decimal(0),
    )
    return render(
        request,
        "supplier/dashboard.html",
        visitor,
        counts=counts,
        total=sum(total["count"] for total in totals.values()),
        awaiting=awaiting,
        overdue=await _overdue(api),
    )


# --- Invoice list -----------------------------------------------------------------------


@dataclass(frozen=True)
class ListFilters:
    """What the list shows: the API's filters."""

    status: str = ""
    number: str = ""
    buyer: str = ""
    issued_from: str = ""
    issued_to: str = ""
    establishment: str = ""  # a SIRET, or a SIREN for all its establishments
    sort: str = "-deposited_at"

    def api_params(self) -> dict[str, Any]:
        """The query of `GET /v1/invoices` (the API checks every value)."""
        scope = self.establishment.replace(" ", "")
        return {
            "status": self.status or None,
            "issued_from": self.issued_from or None,
            "issued_to": self.issued_to or None,
            "seller": scope if len(scope) == 14 else None,
            "siren": scope if len(scope) == 9 else None,
            "number": self.number.strip() or None,
            "buyer": self.buyer.replace(" ", "") or None,
            "sort": self.sort if self.sort in SORTS else None,
        }

    def query(self, **changes: str) -> str:
        """This list's query string, with `changes` (for paging links)."""
        values = {**self.__dict__, **changes}
        return urlencode({k: v for k, v in values.items() if v})


async def _list_page(
    api: Backend, filters: ListFilters, cursor: str
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the list."""
    page = await api.get(
        "/v1/invoices", limit=PAGE_SIZE, cursor=cursor or None, **filters.api_params()
    )
    return page["items"], page["next"]


def _establishments(visitor: Visitor) -> list[tuple[str, str]]:
    """The choices of establishment: each SIREN with several SIRETs, then each SIRET."""
    sirets = sorted(visitor.principal.sirets)
    by_siren = Counter(siret[:9] for siret in sirets)
    groups = [(siren, f"SIREN {siren}") for siren, n in sorted(by_siren.items()) if n > 1]
    return groups + [(siret, f"SIRET {siret}") for siret in sirets]


@router.get("/supplier/invoices")
async def invoice_list(
    request: Request,
    visitor: CurrentVisitor,
    api: ApiAs,
    status: Annotated[str, Query(max_length=40)] = "",
    number: Annotated[str, Query(max_length=100)] = "",
    buyer: Annotated[str, Query(max_length=32)] = "",
    issued_from: Annotated[str, Query(max_length=10)] = "",
    issued_to: Annotated[str, Query(max_length=10)] = "",
    establishment: Annotated[str, Query(max_length=20)] = "",
    sort: Annotated[str, Query(max_length=20)] = "-deposited_at",
    cursor: Annotated[str, Query(max_length=500)] = "",
) -> Response:
    """Your invoices, filtered; htmx gets the results alone, a browser the whole page."""
    filters = ListFilters(status, number, buyer, issued_from, issued_to, establishment, sort)
    items: list[dict[str, Any]] = []
    next_cursor = None
    problem = None
    try:
        items, next_cursor = await _list_page(api, filters, cursor)
    except ApiProblem as refused:
        if refused.status not in (404, 422):
            raise
        problem = refused
    partial = _hx(request)
    return render(
        request,
        "supplier/_invoice_results.html" if partial else "supplier/invoices.html",
        visitor,
        # htmx swaps only 2xx answers: a refused filter is shown in the results it replaces.
        status_code=problem.status if problem and not partial else 200,
        items=items,
        next_cursor=next_cursor,
        first_page=not cursor,
        filters=filters,
        problem=problem,
        statuses=[(code.value, STATUS_LABELS[code]) for code in InvoiceStatus],
        sorts=SORTS,
        establishments=_establishments(visitor),
    )


# --- Deposit by upload ------------------------------------------------------------------


@dataclass(frozen=True)
class ReportLine:
    """One finding of a validation report, as the page shows it."""

    rule: str
    severity: str
    field: str
    message: str
    stage: str


def report_lines(report: dict[str, Any] | None) -> list[ReportLine]:
    """The report's findings, blocking ones first, each with the field it is about."""
    findings = (report or {}).get("findings") or []
    lines = [
        ReportLine(
            rule=str(finding.get("rule", "")),
            severity=str(finding.get("severity", "")),
            field=_field_of(finding.get("location")),
            message=str(finding.get("message", "")),
            stage=str(finding.get("stage", "")),
        )
        for finding in findings
    ]
    return sorted(lines, key=lambda line: line.severity != "fatal")


def _field_of(location: str | None) -> str:
    """Where a finding points, as element names (`AccountingSupplierParty › Party`)."""
    if not location:
        return ""
    steps = _XPATH_STEP.findall(location)
    if not steps:
        return location
    return " › ".join(steps[-2:]) if len(steps) > 1 else steps[0]


def _media_type(filename: str, data: bytes) -> str:
    """What the API reads the file as: a Factur-X PDF, or XML (UBL or CII)."""
    if data.startswith(PDF_MAGIC) or filename.lower().endswith(".pdf"):
        return "application/pdf"
    return "application/xml"


async def _deposit(api: Backend, filename: str, data: bytes) -> dict[str, Any]:
    """Deposit the file as it is, with its name; the API's answer (refusals raise)."""
    files = {"invoice": (filename, data, _media_type(filename, data))}
    response = await api.call("POST", "/v1/invoices", files=files)
    answer: dict[str, Any] = response.json()
    return answer


async def _deposited(request: Request, visitor: Visitor, answer: dict[str, Any]) -> Response:
    """To the invoice's page, with what became of the deposit."""
    _ = _text(request)
    if answer.get("status") == "EN_COURS_DE_VALIDATION":
        await flash(request, visitor, "info", _("Facture reçue : sa validation se poursuit."))
    else:
        await flash(request, visitor, "success", _("Facture déposée et acceptée."))
    return redirect(request, f"/supplier/invoices/{answer['id']}")


def _refusal(problem: ApiProblem) -> dict[str, Any]:
    """What a refused deposit shows: the problem, the report rule by rule, the record."""
    return {
        "problem": problem,
        "findings": report_lines(problem.body.get("report")),
        "refused_id": problem.body.get("invoice_id"),
    }


@router.get("/supplier/invoices/new")
async def deposit_form(request: Request, visitor: CurrentVisitor) -> Response:
    """The upload form."""
    return render(request, "supplier/new.html", visitor)


@router.post("/supplier/invoices/new")
async def deposit(request: Request, visitor: Changing, api: ApiAs) -> Response:
    """Deposit the chosen file; a refusal is shown here with the rules it breaks."""
    form = await request.form()
    upload = form.get("invoice")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return render(request, "supplier/new.html", visitor, status_code=422, missing_file=True)
    data = await upload.read()
    try:
        answer = await _deposit(api, upload.filename, data)
    except ApiProblem as refused:
        return render(
            request,
            "supplier/new.html",
            visitor,
            status_code=refused.status,
            filename=upload.filename,
            **_refusal(refused),
        )
    return await _deposited(request, visitor, answer)


# --- Deposit by form --------------------------------------------------------------------


async def _supplier_record(api: Backend, siret: str) -> dict[str, Any] | None:
    """The directory's record of one of your SIRETs (name, IBAN), if it has one."""
    try:
        record: dict[str, Any] = await api.get(f"/v1/suppliers/SIRET/{siret}")
    except ApiProblem as refused:
        if refused.status != 404:
            raise
        return None
    return record


def _form_page(
    request: Request,
    visitor: Visitor,
    form: InvoiceForm,
    status_code: int = 200,
    extra_rows: int = 0,
    **context: Any,
) -> Response:
    return render(
        request,
        "supplier/form.html",
        visitor,
        status_code=status_code,
        form=form,
        rows=form.rows(extra_rows),
        errors=context.pop("errors", {}),
        sellers=sorted(visitor.principal.sirets),
        natures=NATURES,
        vat_choices=VAT_CHOICES,
        **context,
    )


@router.get("/supplier/invoices/form")
async def invoice_form(request: Request, visitor: CurrentVisitor, api: ApiAs) -> Response:
    """A blank invoice: your first SIRET, its IBAN from the directory, today's date."""
    seller = sorted(visitor.principal.sirets)[0]
    record = await _supplier_record(api, seller)
    form = InvoiceForm(
        seller_siret=seller,
        issue_date=datetime.now(PARIS).date().isoformat(),
        iban=(record or {}).get("iban") or "",
    )
    return _form_page(request, visitor, form)


async def _buyer_name(api: Backend, siret: str, errors: dict[str, str]) -> str:
    """The public structure's name, or an error on the buyer field."""
    try:
        structure = await api.get(f"/v1/structures/{siret}")
    except ApiProblem as refused:
        if refused.status not in (404, 422):
            raise
        errors["buyer_siret"] = N_("Aucune structure publique n'a ce SIRET.")
        return ""
    return str(structure["name"])


@router.post("/supplier/invoices/form")
async def submit_invoice_form(request: Request, visitor: Changing, api: ApiAs) -> Response:
    """Check the form, write the invoice as UBL and deposit it like an upload."""
    posted = await request.form()
    form = InvoiceForm.of(_fields(posted))
    if "add_line" in posted:
        return _form_page(request, visitor, form, extra_rows=1)
    errors: dict[str, str] = {}
    checked = None
    try:
        checked = check_form(form, visitor.principal.sirets)
    except InvoiceFormInvalid as invalid:
        errors = dict(invalid.errors)
    buyer_name = ""
    if "buyer_siret" not in errors:
        buyer_name = await _buyer_name(api, form.buyer_siret, errors)
    if errors or checked is None:
        return _form_page(request, visitor, form, status_code=422, errors=errors)
    record = await _supplier_record(api, checked.seller_siret)
    seller_name = (record or {}).get("name") or visitor.name
    data = invoice_ubl(checked, seller_name, buyer_name)
    try:
        answer = await _deposit(api, f"{checked.number}.xml", data)
    except ApiProblem as refused:
        return _form_page(request, visitor, form, status_code=refused.status, **_refusal(refused))
    return await _deposited(request, visitor, answer)


def _fields(form: FormData) -> dict[str, str]:
    """The text fields of a posted form."""
    return {key: value for key, value in form.items() if isinstance(value, str)}


# --- One invoice ------------------------------------------------------------------------


def _reason_labels() -> dict[str, tuple[str, str]]:
    """Coded reasons → (French, English) labels, for the timeline."""
    labels: dict[str, tuple[str, str]] = {}
    for reasons in REASONS.values():
        for reason in reasons:
            labels.setdefault(reason.value, (reason.label_fr, reason.label_en))
    return labels


REASON_LABELS = _reason_labels()


async def _invoice_page(
    request: Request,
    visitor: Visitor,
    api: Backend,
    invoice_id: str,
    status_code: int = 200,
    problem: ApiProblem | None = None,
) -> Response:
    """The invoice, its deadline and report, and what you may do with it now."""
    invoice = await api.get(f"/v1/invoices/{invoice_id}")
    deadline = await api.get(f"/v1/invoices/{invoice_id}/deadline")
    report = await api.get(f"/v1/invoices/{invoice_id}/report")
    actions = allowed_actions(InvoiceStatus(invoice["status"]), Role.SUPPLIER)
    return render(
        request,
        "supplier/invoice.html",
        visitor,
        status_code=status_code,
        invoice=invoice,
        canonical=invoice.get("invoice") or {},
        deadline=deadline,
        findings=report_lines(report),
        actions=actions,
        action_labels=ACTION_LABELS,
        reason_labels=REASON_LABELS,
        problem=problem,
    )


@router.get("/supplier/invoices/{invoice_id}")
async def invoice_detail(
    request: Request, invoice_id: InvoiceId, visitor: CurrentVisitor, api: ApiAs
) -> Response:
    """An invoice: amounts, parties, status timeline, deadline, report, actions."""
    return await _invoice_page(request, visitor, api, invoice_id)


@router.get("/supplier/invoices/{invoice_id}/original")
async def invoice_original(invoice_id: InvoiceId, api: ApiAs) -> Response:
    """The file as deposited."""
    return await api.download(f"/v1/invoices/{invoice_id}/original")


@router.get("/supplier/invoices/{invoice_id}/report")
async def invoice_report(invoice_id: InvoiceId, api: ApiAs) -> Response:
    """The validation report, as the JSON the API gives."""
    answer = await api.download(f"/v1/invoices/{invoice_id}/report")
    answer.headers["Content-Disposition"] = f'attachment; filename="report-{invoice_id}.json"'
    return answer


async def _uploads(form: FormData) -> list[tuple[str, tuple[str | None, bytes, str]]]:
    """The files of the `attachments` field, as httpx sends multipart files."""
    files = []
    for part in form.getlist("attachments")[:MAX_UPLOAD_FILES]:
        if isinstance(part, UploadFile) and part.filename:
            data = await part.read()
            media_type = part.content_type or "application/octet-stream"
            files.append(("attachments", (part.filename, data, media_type)))
    return files


async def _acted(request: Request, visitor: Visitor, invoice_id: str, done: str) -> Response:
    await flash(request, visitor, "success", done)
    return redirect(request, f"/supplier/invoices/{invoice_id}")


@router.post("/supplier/invoices/{invoice_id}/complete")
async def complete_invoice(
    request: Request, invoice_id: InvoiceId, visitor: Changing, api: ApiAs
) -> Response:
    """Send what the buyer asked for: a comment and documents; the deadline restarts."""
    form = await request.form()
    comment = _fields(form).get("comment", "").strip()
    # Always multipart (the API reads no other body), even with neither comment nor file.
    parts = [("comment", (None, comment.encode()))] + await _uploads(form)
    try:
        await api.call("POST", f"/v1/invoices/{invoice_id}/complete", files=parts)
    except ApiProblem as refused:
        return await _invoice_page(request, visitor, api, invoice_id, refused.status, refused)
    _ = _text(request)
    return await _acted(request, visitor, invoice_id, _("Facture complétée."))


@router.post("/supplier/invoices/{invoice_id}/cancel")
async def cancel_invoice(
    request: Request, invoice_id: InvoiceId, visitor: Changing, api: ApiAs
) -> Response:
    """Cancel an invoice nobody has processed yet."""
    try:
        await api.post(f"/v1/invoices/{invoice_id}/actions", json={"action": Action.CANCEL})
    except ApiProblem as refused:
        return await _invoice_page(request, visitor, api, invoice_id, refused.status, refused)
    _ = _text(request)
    return await _acted(request, visitor, invoice_id, _("Facture annulée."))


@router.post("/supplier/invoices/{invoice_id}/reroute")
async def reroute_invoice(
    request: Request, invoice_id: InvoiceId, visitor: Changing, api: ApiAs
) -> Response:
    """Send an invoice the buyer returned to the right structure or service."""
    form = _fields(await request.form())
    body = {
        "action": Action.REROUTE,
        "buyer_siret": form.get("buyer_siret", "").replace(" ", "") or None,
        "service_code": form.get("service_code", "").strip() or None,
    }
    try:
        await api.post(f"/v1/invoices/{invoice_id}/actions", json=body)
    except ApiProblem as refused:
        return await _invoice_page(request, visitor, api, invoice_id, refused.status, refused)
    _ = _text(request)
    return await _acted(request, visitor, invoice_id, _("Facture réacheminée."))


# --- Webhooks ---------------------------------------------------------------------------


async def _webhooks_page(
    request: Request,
    visitor: Visitor,
    api: Backend,
    status_code: int = 200,
    **context: Any,
) -> Response:
    hooks = await api.get("/v1/webhooks")
    return render(
        request,
        "supplier/webhooks.html",
        visitor,
        status_code=status_code,
        webhooks=hooks["items"],
        event_labels=EVENT_LABELS,
        sirets=sorted(visitor.principal.sirets),
        **context,
    )


@router.get("/supplier/webhooks")
async def webhooks(request: Request, visitor: CurrentVisitor, api: ApiAs) -> Response:
    """Your endpoints, and a form to add one."""
    return await _webhooks_page(request, visitor, api)


@router.post("/supplier/webhooks")
async def add_webhook(request: Request, visitor: Changing, api: ApiAs) -> Response:
    """Register an endpoint; its secret is shown on this answer only."""
    form = await request.form()
    url = form.get("url")
    body = {
        "url": url.strip() if isinstance(url, str) else "",
        "event_types": [v for v in form.getlist("event_types") if isinstance(v, str)],
        "sirets": [v for v in form.getlist("sirets") if isinstance(v, str)] or None,
    }
    try:
        created = await api.post("/v1/webhooks", json=body)
    except ApiProblem as refused:
        return await _webhooks_page(
            request, visitor, api, refused.status, problem=refused, url=body["url"]
        )
    return await _webhooks_page(
        request, visitor, api, 201, secret=created["secret"], secret_of=created
    )


@router.post("/supplier/webhooks/{webhook_id}/rotate")
async def rotate_webhook_secret(
    request: Request, webhook_id: WebhookId, visitor: Changing, api: ApiAs
) -> Response:
    """A new secret, shown once; the old one keeps signing for a while."""
    rotated = await api.post(f"/v1/webhooks/{webhook_id}/rotate-secret")
    hook = await api.get(f"/v1/webhooks/{webhook_id}")
    return await _webhooks_page(
        request,
        visitor,
        api,
        secret=rotated["secret"],
        secret_of=hook,
        previous_until=rotated["previous_secret_until"],
    )


@router.post("/supplier/webhooks/{webhook_id}/delete")
async def delete_webhook(
    request: Request, webhook_id: WebhookId, visitor: Changing, api: ApiAs
) -> Response:
    """Stop pushing events to this endpoint."""
    await api.delete(f"/v1/webhooks/{webhook_id}")
    _ = _text(request)
    await flash(request, visitor, "success", _("Webhook supprimé."))
    return redirect(request, "/supplier/webhooks")


@router.post("/supplier/webhooks/{webhook_id}/enable")
async def enable_webhook(
    request: Request, webhook_id: WebhookId, visitor: Changing, api: ApiAs
) -> Response:
    """Deliver again to an endpoint disabled for failing."""
    await api.post(f"/v1/webhooks/{webhook_id}/enable")
    _ = _text(request)
    await flash(request, visitor, "success", _("Webhook réactivé."))
    return redirect(request, f"/supplier/webhooks/{webhook_id}")


async def _recent_deliveries(api: Backend, webhook_id: str) -> list[dict[str, Any]]:
    """The latest deliveries, newest first (the API lists them oldest first)."""
    recent: list[dict[str, Any]] = []
    after = 0
    for _ in range(DELIVERY_SCAN // API_PAGE):
        page = await api.get(f"/v1/webhooks/{webhook_id}/deliveries", after=after, limit=API_PAGE)
        recent = (recent + page["items"])[-RECENT_DELIVERIES:]
        if len(page["items"]) < API_PAGE:
            break
        after = page["next"]
    return recent[::-1]


async def _webhook_page(
    request: Request,
    visitor: Visitor,
    api: Backend,
    webhook_id: str,
    status_code: int = 200,
    problem: ApiProblem | None = None,
) -> Response:
    hook = await api.get(f"/v1/webhooks/{webhook_id}")
    return render(
        request,
        "supplier/webhook.html",
        visitor,
        status_code=status_code,
        webhook=hook,
        deliveries=await _recent_deliveries(api, webhook_id),
        event_labels=EVENT_LABELS,
        delivery_labels=DELIVERY_LABELS,
        redeliverable=REDELIVERABLE,
        problem=problem,
    )


@router.get("/supplier/webhooks/{webhook_id}")
async def webhook_detail(
    request: Request, webhook_id: WebhookId, visitor: CurrentVisitor, api: ApiAs
) -> Response:
    """An endpoint's state and its recent deliveries, each with its attempts."""
    return await _webhook_page(request, visitor, api, webhook_id)


@router.post("/supplier/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver")
async def redeliver(
    request: Request,
    webhook_id: WebhookId,
    delivery_id: DeliveryId,
    visitor: Changing,
    api: ApiAs,
) -> Response:
    """Send one event again, with the same `webhook-id`."""
    try:
        await api.post(f"/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver")
    except ApiProblem as refused:
        if refused.status != 409:
            raise
        return await _webhook_page(request, visitor, api, webhook_id, 409, refused)
    _ = _text(request)
    await flash(request, visitor, "success", _("Événement renvoyé."))
    return redirect(request, f"/supplier/webhooks/{webhook_id}")
