"""Pages of buyers and project managers (MOE): the invoices their structures received, one
invoice with the actions its status allows, and the follow-up of rejections.

Which actions a page offers comes from the one transition table (`allowed_actions`); the
API still decides each one, and its refusal (INVOICE_TRANSITION_REFUSED, a missing
reason...) is shown as it comes. The accountant's pages reuse the invoice page, its action
forms and the file relay defined here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData, QueryParams

from api.routes.invoices import InvoiceId
from core.principals import Role
from invoicing.reasons import REASONS, CodedReason
from invoicing.statuses import InvoiceStatus
from invoicing.transitions import Action, allowed_actions
from portal.accounts import Visitor
from portal.backend import ApiProblem, Backend
from portal.deps import ApiAs, Changing, CurrentVisitor, flash, require_role
from portal.i18n import N_, translator
from portal.pages import STATUS_LABELS, decimal_text, render

router = APIRouter(
    include_in_schema=False, dependencies=[Depends(require_role(Role.BUYER, Role.MOE))]
)

NotificationId = Annotated[int, Path(ge=1, le=2**62)]
MAX_BULK = 200  # one page of the listing at most
REJECTIONS_PAGE = 25  # each row costs one more API call (its history)
REJECTED = (InvoiceStatus.REJETEE, InvoiceStatus.REFUSEE_PREMIER_VALIDEUR)

# What each action is called on a button; supplier-only actions (CANCEL, COMPLETE) and the
# system's never appear on these pages.
ACTION_LABELS: dict[Action, str] = {
    Action.TAKE: N_("Prendre en compte"),
    Action.CERTIFY_SERVICE_DONE: N_("Certifier le service fait"),
    Action.SUSPEND: N_("Suspendre"),
    Action.REJECT: N_("Rejeter"),
    Action.RECYCLE: N_("Renvoyer (erreur de destinataire)"),
    Action.REROUTE: N_("Réacheminer"),
    Action.MOE_ACCEPT: N_("Valider"),
    Action.MOE_AMEND: N_("Valider pour un autre montant"),
    Action.MOE_REFUSE: N_("Refuser"),
    Action.CONTROL_APPROVE: N_("Contrôle conforme"),
    Action.CONTROL_REJECT: N_("Contrôle non conforme"),
    Action.MAKE_AVAILABLE_TO_ACCOUNTANT: N_("Intégrer le mandat"),
    Action.ACCOUNT: N_("Comptabiliser"),
    Action.ACCOUNTANT_REJECT: N_("Rejeter le mandat"),
    Action.PAYMENT_ISSUED: N_("Mettre en paiement"),
    Action.MARK_PAID: N_("Marquer payée"),
}
AMOUNT_LABELS: dict[Action, str] = {
    Action.CERTIFY_SERVICE_DONE: N_("Montant certifié (vide : le montant dû)"),
    Action.MOE_AMEND: N_("Montant validé"),
}
DANGEROUS = frozenset(
    {Action.REJECT, Action.MOE_REFUSE, Action.CONTROL_REJECT, Action.ACCOUNTANT_REJECT}
)
# Actions taken on many invoices at once from the inbox: those that need no reason.
BULK_ACTIONS: dict[Role, tuple[Action, ...]] = {
    Role.BUYER: (Action.TAKE, Action.CERTIFY_SERVICE_DONE),
    Role.MOE: (Action.MOE_ACCEPT,),
}
ACTION_FIELDS = ("reason", "comment", "amount", "paid_on", "buyer_siret", "service_code")

# The inbox filters, as `GET /v1/received-invoices` names them (`status` is repeatable).
FILTERS = (
    "structure",
    "supplier",
    "service",
    "issued_from",
    "issued_to",
    "deposited_from",
    "deposited_to",
    "amount_min",
    "amount_max",
    "overdue",
    "not_downloaded",
    "sort",
)
SORTS = (
    ("-deposited_at", N_("Dépôt : le plus récent d'abord")),
    ("deposited_at", N_("Dépôt : le plus ancien d'abord")),
    ("due_at", N_("Échéance : la plus proche d'abord")),
    ("-due_at", N_("Échéance : la plus lointaine d'abord")),
    ("-amount_due", N_("Montant : le plus élevé d'abord")),
    ("amount_due", N_("Montant : le plus faible d'abord")),
    ("-issue_date", N_("Émission : la plus récente d'abord")),
    ("issue_date", N_("Émission : la plus ancienne d'abord")),
)
SHORTCUTS: dict[Role, tuple[tuple[str, str], ...]] = {
    Role.BUYER: (
        (N_("À prendre en compte"), "status=MISE_A_DISPOSITION"),
        (N_("À certifier"), "status=PRISE_EN_COMPTE&status=COMPLETEE"),
        (N_("Suspendues"), "status=SUSPENDUE"),
        (N_("En retard"), "overdue=true"),
        (N_("Jamais téléchargées"), "not_downloaded=true"),
    ),
    Role.MOE: (
        (N_("À valider"), "status=MISE_A_DISPOSITION_PREMIER_VALIDEUR"),
        (N_("En retard"), "overdue=true"),
    ),
}


# --- actions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionForm:
    """An action a page offers, and what its form asks for besides a comment."""

    action: str
    label: str
    reasons: tuple[tuple[str, str], ...] = ()
    amount_label: str | None = None
    amount_required: bool = False
    paid_on: bool = False
    reroute: bool = False
    danger: bool = False

    @property
    def simple(self) -> bool:
        """One click is enough: no reason, amount, date or recipient to give."""
        return not (self.reasons or self.amount_label or self.paid_on or self.reroute)


def reason_label(reason: CodedReason, lang: str) -> str:
    return reason.label_en if lang == "en" else reason.label_fr


# Every coded reason's label, for history rows (codes shared by several lists, such as
# OTHER, have the same label in each).
_REASONS_BY_CODE: dict[str, CodedReason] = {
    reason.value: reason for reasons in REASONS.values() for reason in reasons
}


def reason_text(code: str | None, lang: str) -> str | None:
    """A history row's reason in words; an intake rule code (BR-CO-16...) as it is."""
    if code is None:
        return None
    found = _REASONS_BY_CODE.get(code)
    return reason_label(found, lang) if found else code


def action_forms(status: str, role: Role, lang: str) -> list[ActionForm]:
    """The actions `role` may take on an invoice in `status`, as the transition table says."""
    forms = []
    for action in allowed_actions(InvoiceStatus(status), role):
        if action not in ACTION_LABELS:
            continue
        reasons = REASONS.get(action)
        forms.append(
            ActionForm(
                action=action.value,
                label=ACTION_LABELS[action],
                reasons=tuple((r.value, reason_label(r, lang)) for r in reasons or ()),
                amount_label=AMOUNT_LABELS.get(action),
                amount_required=action is Action.MOE_AMEND,
                paid_on=action is Action.MARK_PAID,
                reroute=action is Action.REROUTE,
                danger=action in DANGEROUS,
            )
        )
    return forms


def form_text(form: FormData | QueryParams, name: str) -> str:
    """A text field, trimmed ("" when missing or a file)."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


async def take_action(backend: Backend, invoice_id: str, form: FormData) -> dict[str, Any]:
    """Send the action a form names, with the fields it filled; the API's answer."""
    body: dict[str, str] = {"action": form_text(form, "action")}
    for name in ACTION_FIELDS:
        value = form_text(form, name)
        if value:
            body[name] = decimal_text(value) if name == "amount" else value
    return await backend.post(f"/v1/invoices/{invoice_id}/actions", json=body)


def language(request: Request) -> str:
    return getattr(request.state, "language", "fr")


def new_status_text(request: Request, number: str, status: str) -> str:
    """The message shown after an action: the invoice and where it now stands."""
    _ = translator(language(request))
    return f"{_('Facture')} {number} : {_(STATUS_LABELS.get(status, status))}"


def safe_back(target: str, allowed: Iterable[str], default: str) -> str:
    """Where to return after an action: one of the pages that offers it, never elsewhere."""
    return target if target in allowed else default


# --- one invoice ------------------------------------------------------------------------


def timeline(history: Sequence[dict[str, Any]], visitor: Visitor, lang: str) -> list[dict]:
    """The status history, with who acted in words where Chaîne knows them, and reasons in
    words (other actors are API clients, shown by their id)."""
    _ = translator(lang)
    known = {
        "system": _("Chaîne"),
        "bank": _("la banque"),
        visitor.principal.client_id: _("vous"),
    }
    return [
        {
            **change,
            "who": known.get(change["actor"], change["actor"]),
            "known": change["actor"] in known,
            "reason_text": reason_text(change["reason"], lang),
        }
        for change in history
    ]


async def invoice_page(
    request: Request,
    visitor: Visitor,
    backend: Backend,
    invoice_id: str,
    desk: str,
    problem: ApiProblem | None = None,
) -> Response:
    """An invoice with its actions first, then its facts, deadline, history and files.

    `desk` is the area showing it (`/buyer`, `/accountant`): actions and downloads go
    through that area's routes."""
    invoice = await backend.get(f"/v1/invoices/{invoice_id}")
    deadline = await backend.get(f"/v1/invoices/{invoice_id}/deadline")
    lang = language(request)
    return render(
        request,
        "buyer/invoice.html",
        visitor,
        status_code=problem.status if problem else 200,
        invoice=invoice,
        canonical=invoice.get("invoice") or {},
        deadline=deadline,
        actions=action_forms(invoice["status"], visitor.principal.role, lang),
        history=timeline(invoice["history"], visitor, lang),
        desk=desk,
        problem=problem,
    )


@router.get("/buyer/invoices/{invoice_id}")
async def invoice(
    request: Request, invoice_id: InvoiceId, visitor: CurrentVisitor, backend: ApiAs
) -> Response:
    """One received invoice, its actions at the top."""
    return await invoice_page(request, visitor, backend, invoice_id, "/buyer")


@router.post("/buyer/invoices/{invoice_id}/actions")
async def act(
    request: Request, invoice_id: InvoiceId, visitor: Changing, backend: ApiAs
) -> Response:
    """Take an action; a refusal is shown on the invoice with the API's code."""
    form = await request.form()
    try:
        done = await take_action(backend, invoice_id, form)
    except ApiProblem as refused:
        return await invoice_page(request, visitor, backend, invoice_id, "/buyer", refused)
    number = form_text(form, "number") or invoice_id
    await flash(request, visitor, "success", new_status_text(request, number, done["status"]))
    return RedirectResponse(f"/buyer/invoices/{invoice_id}", status_code=303)


@router.get("/buyer/invoices/{invoice_id}/original")
async def original(
    request: Request, invoice_id: InvoiceId, visitor: CurrentVisitor, backend: ApiAs
) -> Response:
    """The file as deposited (its first download is recorded for `Jamais téléchargées`)."""
    return await backend.download(f"/v1/received-invoices/{invoice_id}/original")


# --- the inbox --------------------------------------------------------------------------


def listing_query(params: QueryParams) -> list[tuple[str, str]]:
    """The filters a visitor set, as the API reads them (empty fields left out)."""
    pairs = [("status", status) for status in params.getlist("status") if status]
    for name in FILTERS:
        value = form_text(params, name)
        if value:
            pairs.append((name, decimal_text(value) if name.startswith("amount_") else value))
    return pairs


def inbox_context(visitor: Visitor, filters: list[tuple[str, str]]) -> dict[str, Any]:
    """What the filter form needs to show the filters in force."""
    role = visitor.principal.role
    chosen = QueryParams(filters)
    return {
        "chosen": {name: chosen.get(name, "") for name in FILTERS},
        "chosen_statuses": chosen.getlist("status"),
        "statuses": list(STATUS_LABELS.items()),
        "sorts": SORTS,
        "structures": sorted(visitor.principal.sirets),
        "shortcuts": SHORTCUTS.get(role, ()),
        "bulk_actions": [(a.value, ACTION_LABELS[a]) for a in BULK_ACTIONS.get(role, ())],
        "query": str(QueryParams(filters)),
    }


async def inbox_page(
    request: Request,
    visitor: Visitor,
    backend: Backend,
    filters: list[tuple[str, str]],
    cursor: str = "",
    report: list[dict[str, Any]] | None = None,
) -> Response:
    """The inbox, whole or (for htmx) its results only; a refused filter is shown."""
    problem, page = None, {"items": [], "next": None}
    paging = [("cursor", cursor)] if cursor else []
    try:
        page = (
            await backend.call("GET", "/v1/received-invoices", params=[*filters, *paging])
        ).json()
    except ApiProblem as refused:
        problem = refused
    partial = request.headers.get("HX-Target") == "inbox-results" and not request.headers.get(
        "HX-History-Restore-Request"
    )
    return render(
        request,
        "buyer/_inbox_results.html" if partial else "buyer/inbox.html",
        visitor,
        status_code=problem.status if problem else 200,
        page=page,
        cursor=cursor,
        problem=problem,
        report=report,
        **inbox_context(visitor, filters),
    )


@router.get("/buyer")
async def inbox(request: Request, visitor: CurrentVisitor, backend: ApiAs) -> Response:
    """Received invoices, filtered and paged; htmx swaps the results, plain forms reload."""
    params = request.query_params
    return await inbox_page(
        request, visitor, backend, listing_query(params), form_text(params, "cursor")
    )


@router.get("/buyer/invoices.csv")
async def export(request: Request, visitor: CurrentVisitor, backend: ApiAs) -> Response:
    """Every invoice the filters list, as the API's CSV file, streamed."""
    return await backend.download("/v1/received-invoices.csv", listing_query(request.query_params))


@router.post("/buyer/bulk")
async def bulk(request: Request, visitor: Changing, backend: ApiAs) -> Response:
    """One action on every ticked invoice, one API call each; says which were refused."""
    form = await request.form()
    filters = listing_query(QueryParams(form_text(form, "query")))
    action = form_text(form, "action")
    id_pattern = re.compile(r"[0-9a-f-]{36}")  # as an invoice id: never another API path
    chosen = [
        value
        for value in form.getlist("invoice")
        if isinstance(value, str) and id_pattern.fullmatch(value)
    ][:MAX_BULK]
    report = []
    for invoice_id in chosen:
        number = form_text(form, f"number.{invoice_id}") or invoice_id
        try:
            done = await backend.post(f"/v1/invoices/{invoice_id}/actions", json={"action": action})
        except ApiProblem as refused:
            report.append({"id": invoice_id, "number": number, "problem": refused})
        else:
            report.append({"id": invoice_id, "number": number, "status": done["status"]})
    return await inbox_page(request, visitor, backend, filters, report=report)


# --- rejections -------------------------------------------------------------------------


async def notifications_by_invoice(backend: Backend) -> dict[str, list[dict[str, Any]]]:
    """The visitor's latest notifications, by the invoice they are about."""
    inbox = await backend.get("/v1/notifications", limit=200)
    found: dict[str, list[dict[str, Any]]] = {}
    for notification in inbox["items"]:
        invoice_id = notification["payload"].get("invoice_id")
        if isinstance(invoice_id, str):
            found.setdefault(invoice_id, []).append(notification)
    return found


async def rejection_rows(
    backend: Backend, items: Sequence[dict[str, Any]], lang: str
) -> list[dict[str, Any]]:
    """Each rejected invoice with who rejected it, when and why (its last history row)."""
    notes = await notifications_by_invoice(backend)
    rows = []
    for item in items:
        history = (await backend.get(f"/v1/invoices/{item['id']}"))["history"]
        rejection = next((h for h in reversed(history) if h["status"] == item["status"]), {})
        rows.append(
            {
                **item,
                "rejected_by": rejection.get("actor"),
                "reason": rejection.get("reason"),
                "reason_text": reason_text(rejection.get("reason"), lang),
                "comment": rejection.get("comment"),
                "notifications": notes.get(item["id"], []),
            }
        )
    return rows


@router.get("/buyer/rejections")
async def rejections(request: Request, visitor: CurrentVisitor, backend: ApiAs) -> Response:
    """Rejected and refused invoices, with the notifications about each and their tick."""
    cursor = form_text(request.query_params, "cursor")
    params = [("status", s.value) for s in REJECTED] + [("limit", str(REJECTIONS_PAGE))]
    if cursor:
        params.append(("cursor", cursor))
    page = (await backend.call("GET", "/v1/received-invoices", params=params)).json()
    rows = await rejection_rows(backend, page["items"], language(request))
    return render(
        request,
        "buyer/rejections.html",
        visitor,
        rows=rows,
        next=page["next"],
        cursor=cursor,
        unprocessed=sum(1 for r in rows for n in r["notifications"] if n["read_at"] is None),
    )


@router.post("/buyer/rejections/notifications/{notification_id}/processed")
async def mark_processed(
    request: Request, notification_id: NotificationId, visitor: Changing, backend: ApiAs
) -> Response:
    """Tick a notification about a rejection as processed (the API's read state)."""
    await backend.post(f"/v1/notifications/{notification_id}/read")
    _ = translator(language(request))
    await flash(request, visitor, "success", _("Notification marquée comme traitée."))
    return RedirectResponse("/buyer/rejections", status_code=303)
