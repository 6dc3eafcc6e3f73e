"""Consultations for buyers: list them, create and publish one, then take it through its
steps (answers, amendments, opening, scores, award, contract, notification) or declare it
sans suite.

The consultation's state from the API (`GET …/state`) decides which steps the page offers;
the API still checks each step, and its refusal is shown beside the step's form.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import Response

from api.consultation_access import Reference, Siret
from core.principals import Role
from portal.accounts import Visitor
from portal.backend import ApiProblem, Backend
from portal.deps import ApiAs, Changing, CurrentVisitor, flash, redirect, require_role
from portal.i18n import N_, translator
from portal.pages import decimal_text, render
from portal.routes.consultations_supplier import (
    api_path,
    chosen_files,
    optional,
    paris_moment,
    text_part,
)

router = APIRouter(include_in_schema=False, dependencies=[Depends(require_role(Role.BUYER))])
BASE = "/buyer/consultations"
LOT_ROWS = 3
CRITERION_ROWS = 4
# The steps the page offers in each status; the workflow refuses any other.
STEPS: dict[str, frozenset[str]] = {
    "draft": frozenset({"publish", "cancel"}),
    "published": frozenset({"answer", "amend", "cancel"}),
    "closed": frozenset({"answer", "open", "cancel"}),
    "opened": frozenset({"score", "award", "cancel"}),
    "awarded": frozenset({"contract", "cancel"}),
    "signed": frozenset({"notify", "cancel"}),
}
# Parts of the creation form a refusal may name without naming one input.
SECTIONS = frozenset({"lots", "criteria", "contact", "buyer_address", "review_body"})
SCORE_FIELD = re.compile(r"^score\[([^\]]+)\]\[(.*)\]$")
CPV_SEPARATORS = re.compile(r"[\s,;]+")


# --- list ----------------------------------------------------------------------------------


@router.get(BASE)
async def consultations(request: Request, visitor: CurrentVisitor, api: ApiAs) -> Response:
    """The buyer's published consultations (drafts are opened by their reference)."""
    rows: list[dict[str, Any]] = []
    for siret in sorted(visitor.principal.sirets):
        rows += await api.get("/v1/consultations", buyer=siret, limit=200)
    return render(
        request,
        "consultations/buyer_list.html",
        visitor,
        consultations=rows,
        counts=Counter(row["status"] for row in rows),
        sirets=sorted(visitor.principal.sirets),
    )


@router.get(BASE + "/open")
async def open_reference(
    request: Request,
    buyer_siret: Annotated[Siret, Query()],
    reference: Annotated[Reference, Query()],
) -> Response:
    """A consultation's page from its reference: how a buyer reaches a draft."""
    return redirect(request, f"{BASE}/{buyer_siret}/{reference}")


# --- creation ------------------------------------------------------------------------------


async def creation_form(
    request: Request,
    visitor: Visitor,
    values: dict[str, str],
    problem: ApiProblem | None = None,
    errors: dict[str, list[str]] | None = None,
) -> Response:
    """The form of a new consultation, with the API's refusals beside the fields."""
    return render(
        request,
        "consultations/new.html",
        visitor,
        status_code=problem.status if problem else 200,
        values=values,
        problem=problem,
        errors=errors or {},
        sirets=sorted(visitor.principal.sirets),
        lot_rows=range(LOT_ROWS),
        criterion_rows=range(CRITERION_ROWS),
    )


async def structure_name(api: Backend, siret: str) -> str:
    """The buyer's name as the directory knows it, to prefill the form."""
    structure = await optional(api, f"/v1/structures/{siret}", "STRUCTURE_NOT_FOUND")
    return structure["name"] if structure else ""


@router.get(BASE + "/new")
async def new(request: Request, visitor: CurrentVisitor, api: ApiAs) -> Response:
    """An empty form, with a price and a quality criterion to start from."""
    siret = sorted(visitor.principal.sirets)[0]
    values = {
        "buyer_siret": siret,
        "buyer_name": await structure_name(api, siret),
        "procedure": "open",
        "place_of_performance": "FR",
        "buyer_legal_type": "la",
        "espd_required": "on",
        "criteria-0-name": "Prix",
        "criteria-0-weight": "60",
        "criteria-0-kind": "price",
        "criteria-1-name": "Valeur technique",
        "criteria-1-weight": "40",
        "criteria-1-kind": "quality",
    }
    return await creation_form(request, visitor, values)


def filled_rows(
    values: dict[str, str], prefix: str, count: int, keys: tuple[str, ...]
) -> list[int]:
    """The rows of a repeated group that hold anything (blank rows are left out)."""
    return [
        row
        for row in range(count)
        if any(values.get(f"{prefix}-{row}-{key}", "").strip() for key in keys)
    ]


def codes(text: str) -> list[str]:
    """CPV codes typed with spaces, commas or semicolons between them."""
    return [code for code in CPV_SEPARATORS.split(text) if code]


def address(values: dict[str, str], prefix: str) -> dict[str, str] | None:
    """An address group, or None when left blank."""
    fields = {
        key: values.get(f"{prefix}-{key}", "") for key in ("street", "city", "postal_code", "nuts")
    }
    return fields if any(v.strip() for v in fields.values()) else None


def consultation_body(values: dict[str, str]) -> tuple[dict[str, Any], dict[str, list[int]]]:
    """The API's body from the form's fields, and which form row each lot and criterion
    came from (to put the API's refusals beside the right row)."""
    lots = filled_rows(values, "lots", LOT_ROWS, ("title", "estimated_value", "cpv_codes"))
    criteria = filled_rows(values, "criteria", CRITERION_ROWS, ("name", "weight"))
    review_address = address(values, "review_body-address")
    review = {
        "name": values.get("review_body-name", ""),
        "siret": values.get("review_body-siret", "").replace(" ", ""),
        "address": review_address,
    }
    body: dict[str, Any] = {
        "buyer_siret": values.get("buyer_siret", ""),
        "reference": values.get("reference", ""),
        "title": values.get("title", ""),
        "description": values.get("description", ""),
        "procedure": values.get("procedure", ""),
        "cpv_codes": codes(values.get("cpv_codes", "")),
        "lots": [
            {
                "number": number,
                "title": values.get(f"lots-{row}-title", ""),
                "estimated_value": decimal_text(values.get(f"lots-{row}-estimated_value", "")),
                "cpv_codes": codes(values.get(f"lots-{row}-cpv_codes", "")),
            }
            for number, row in enumerate(lots, start=1)
        ],
        "criteria": [
            {
                "name": values.get(f"criteria-{row}-name", ""),
                "weight": values.get(f"criteria-{row}-weight", ""),
                "kind": values.get(f"criteria-{row}-kind", "quality"),
            }
            for row in criteria
        ],
        "questions_deadline": paris_moment(values.get("questions_deadline", "")),
        "submission_deadline": paris_moment(values.get("submission_deadline", "")),
        "contact": {
            "name": values.get("contact-name", ""),
            "email": values.get("contact-email", ""),
            "phone": values.get("contact-phone", ""),
        },
        "buyer_name": values.get("buyer_name", ""),
        "place_of_performance": values.get("place_of_performance", "") or "FR",
        "espd_required": "espd_required" in values,
        "buyer_address": address(values, "buyer_address"),
        "buyer_legal_type": values.get("buyer_legal_type", "") or "la",
        "review_body": review if review_address or review["name"] or review["siret"] else None,
    }
    return body, {"lots": lots, "criteria": criteria}


def field_of(pointer: str, rows: dict[str, list[int]], known: set[str]) -> str:
    """The form field a JSON pointer of the body names (`/lots/0/title` → `lots-2-title`
    when the first lot came from the third row); the nearest known group otherwise."""
    parts = pointer.strip("/").split("/")
    if len(parts) > 1 and parts[0] in rows and parts[1].isdigit():
        index = int(parts[1])
        if index < len(rows[parts[0]]):
            parts[1] = str(rows[parts[0]][index])
    for end in range(len(parts), 0, -1):
        name = "-".join(parts[:end])
        if name in known:
            return name
    return ""


def errors_by_field(
    problem: ApiProblem, rows: dict[str, list[int]], values: dict[str, str]
) -> dict[str, list[str]]:
    """The API's refused fields, by the form field to show each beside."""
    known = set(values) | SECTIONS
    found: dict[str, list[str]] = {}
    for error in problem.errors:
        name = field_of(str(error.get("pointer", "")), rows, known)
        found.setdefault(name, []).append(str(error.get("detail", "")))
    return found


def form_values(form: Any) -> dict[str, str]:
    """The text fields of a submitted form."""
    return {key: value for key, value in form.multi_items() if isinstance(value, str)}


@router.post(BASE)
async def create(request: Request, visitor: Changing, api: ApiAs) -> Response:
    """Create the consultation as a draft; the page that follows publishes it."""
    values = form_values(await request.form())
    body, rows = consultation_body(values)
    try:
        created = await api.post("/v1/consultations", json=body)
    except ApiProblem as exc:
        errors = errors_by_field(exc, rows, values)
        return await creation_form(request, visitor, values, exc, errors)
    done = said(request, N_("Brouillon créé. Joignez le DCE et publiez."))
    await flash(request, visitor, "success", done)
    return redirect(request, created["location"].replace("/v1/consultations", BASE, 1))


# --- one consultation ----------------------------------------------------------------------


async def buyer_page(
    request: Request,
    visitor: Visitor,
    api: Backend,
    buyer_siret: str,
    reference: str,
    problem: ApiProblem | None = None,
    failed: str = "",
    values: dict[str, str] | None = None,
) -> Response:
    """The consultation as its buyer follows it; `failed` names the step a refusal
    belongs to, `values` what was typed in that step's form."""
    state = await api.get(api_path(buyer_siret, reference, "state"))
    details = None
    if state["status"] != "draft":
        details = await api.get(api_path(buyer_siret, reference))
    bids = await optional(api, api_path(buyer_siret, reference, "bids"), "BID_SEALED")
    questions = await api.get(api_path(buyer_siret, reference, "questions"))
    admissible = [bid for bid in bids or [] if bid["admissible"]]
    by_id = {bid["bid_id"]: bid for bid in bids or []}
    steps = offered_steps(state, details is not None, bool(admissible), bool(questions))
    return render(
        request,
        "consultations/buyer.html",
        visitor,
        status_code=problem.status if problem else 200,
        state=state,
        c=details,
        terms=details["terms"] if details else None,
        reference=reference,
        questions=questions,
        bids=bids,
        admissible=admissible,
        ranking=[{**r, "bid": by_id.get(r["bid_id"], {})} for r in state["ranking"]],
        steps=steps,
        stray=problem is not None and failed.split("-")[0] not in steps,
        sealed_bids=sum(1 for receipt in state["bids"] if receipt["status"] == "received"),
        base=f"{BASE}/{buyer_siret}/{reference}",
        problem=problem,
        failed=failed,
        values=values or {},
    )


def offered_steps(
    state: dict[str, Any], public: bool, admissible: bool, questions: bool
) -> frozenset[str]:
    """The steps the page shows: those of the status that have something to act on
    (scores need admissible bids and the published criteria, an award a ranking)."""
    steps = set(STEPS.get(state["status"], frozenset()))
    if not (admissible and public):
        steps.discard("score")
    if not state["ranking"]:
        steps.discard("award")
    if not questions:
        steps.discard("answer")
    return frozenset(steps)


@router.get(BASE + "/{buyer_siret}/{reference}")
async def consultation(
    request: Request, visitor: CurrentVisitor, api: ApiAs, buyer_siret: Siret, reference: Reference
) -> Response:
    """Where the consultation stands and the steps it takes now."""
    return await buyer_page(request, visitor, api, buyer_siret, reference)


async def take_step(
    request: Request,
    visitor: Visitor,
    api: Backend,
    where: tuple[str, str],
    step: str,
    send: Callable[[], Awaitable[Any]],
    done: str,
    values: dict[str, str] | None = None,
) -> Response:
    """Send one step to the API: on success say `done` on the page that follows, on a
    refusal show the page again with the refusal beside the step's form."""
    buyer_siret, reference = where
    try:
        await send()
    except ApiProblem as exc:
        return await buyer_page(request, visitor, api, buyer_siret, reference, exc, step, values)
    await flash(request, visitor, "success", done)
    return redirect(request, f"{BASE}/{buyer_siret}/{reference}")


def said(request: Request, text: str) -> str:
    """`text` in the visitor's language."""
    return translator(request.state.language)(text)


@router.post(BASE + "/{buyer_siret}/{reference}/publish")
async def publish(
    request: Request, visitor: Changing, api: ApiAs, buyer_siret: Siret, reference: Reference
) -> Response:
    """Publish with the DCE files: the API makes the notice (and the DUME request)."""
    parts = chosen_files(await request.form(), "documents")
    path = api_path(buyer_siret, reference, "publish")
    return await take_step(
        request,
        visitor,
        api,
        (buyer_siret, reference),
        "publish",
        lambda: api.post(path, files=parts) if parts else api.post(path),
        said(request, N_("Consultation publiée : l'avis et les documents sont en ligne.")),
    )


@router.post(BASE + "/{buyer_siret}/{reference}/questions/{question_id}/answer")
async def answer(
    request: Request,
    visitor: Changing,
    api: ApiAs,
    buyer_siret: Siret,
    reference: Reference,
    question_id: int,
    text: Annotated[str, Form(alias="answer", max_length=12_000)] = "",
) -> Response:
    """Answer a question; the answer is published to every candidate."""
    path = api_path(buyer_siret, reference, "questions", str(question_id), "answer")
    return await take_step(
        request,
        visitor,
        api,
        (buyer_siret, reference),
        f"answer-{question_id}",
        lambda: api.post(path, json={"answer": text}),
        said(request, N_("Réponse publiée pour tous les candidats.")),
        {f"answer-{question_id}": text},
    )


@router.post(BASE + "/{buyer_siret}/{reference}/amendments")
async def amend(
    request: Request, visitor: Changing, api: ApiAs, buyer_siret: Siret, reference: Reference
) -> Response:
    """Add documents; a late amendment pushes the deadline back (the API decides)."""
    form = await request.form()
    comment = form.get("comment")
    comment = comment if isinstance(comment, str) else ""
    parts = [text_part("comment", comment), *chosen_files(form, "documents")]
    path = api_path(buyer_siret, reference, "amendments")
    return await take_step(
        request,
        visitor,
        api,
        (buyer_siret, reference),
        "amend",
        lambda: api.post(path, files=parts),
        said(
            request,
            N_("Modification publiée ; les candidats qui suivent sont prévenus."),
        ),
        {"comment": comment},
    )


@router.post(BASE + "/{buyer_siret}/{reference}/opening")
async def open_bids(
    request: Request, visitor: Changing, api: ApiAs, buyer_siret: Siret, reference: Reference
) -> Response:
    """Open the bids: the API checks signatures and DUME and decides admissibility."""
    path = api_path(buyer_siret, reference, "opening")
    return await take_step(
        request,
        visitor,
        api,
        (buyer_siret, reference),
        "open",
        lambda: api.post(path),
        said(request, N_("Offres ouvertes : signatures et DUME vérifiés.")),
    )


def scores_of(values: dict[str, str]) -> dict[str, dict[str, str]]:
    """`score[bid][criterion]` fields as the API's scores (blank ones left out)."""
    scores: dict[str, dict[str, str]] = {}
    for name, value in values.items():
        match = SCORE_FIELD.match(name)
        if match:
            by_criterion = scores.setdefault(match[1], {})
            if value.strip():
                by_criterion[match[2]] = decimal_text(value)
    return scores


@router.post(BASE + "/{buyer_siret}/{reference}/scores")
async def score(
    request: Request, visitor: Changing, api: ApiAs, buyer_siret: Siret, reference: Reference
) -> Response:
    """Score each admissible bid out of 100 per criterion; the API weights and ranks."""
    values = form_values(await request.form())
    path = api_path(buyer_siret, reference, "scores")
    return await take_step(
        request,
        visitor,
        api,
        (buyer_siret, reference),
        "score",
        lambda: api.post(path, json={"scores": scores_of(values)}),
        said(request, N_("Notes enregistrées : le classement est calculé.")),
        values,
    )


@router.post(BASE + "/{buyer_siret}/{reference}/award")
async def award(
    request: Request,
    visitor: Changing,
    api: ApiAs,
    buyer_siret: Siret,
    reference: Reference,
    bid_id: Annotated[str, Form(max_length=64)] = "",
    amount: Annotated[str, Form(max_length=30)] = "",
    electronic: Annotated[str | None, Form(max_length=5)] = None,
    reasons: Annotated[str, Form(max_length=12_000)] = "",
) -> Response:
    """Award to a ranked bid: sealed letters to every candidate, then the standstill."""
    body = {
        "bid_id": bid_id,
        "amount": decimal_text(amount),
        "electronic": electronic is not None,
        "reasons": reasons,
    }
    path = api_path(buyer_siret, reference, "award")
    return await take_step(
        request,
        visitor,
        api,
        (buyer_siret, reference),
        "award",
        lambda: api.post(path, json=body),
        said(
            request,
            N_("Attribuée : lettres envoyées, le délai de suspension court."),
        ),
        {"bid_id": bid_id, "amount": amount, "reasons": reasons},
    )


@router.post(BASE + "/{buyer_siret}/{reference}/contract")
async def contract(
    request: Request, visitor: Changing, api: ApiAs, buyer_siret: Siret, reference: Reference
) -> Response:
    """Record the contract signed by both parties (refused before the standstill ends)."""
    parts = chosen_files(await request.form(), "contract") or [text_part("contract", "")]
    path = api_path(buyer_siret, reference, "contract")
    return await take_step(
        request,
        visitor,
        api,
        (buyer_siret, reference),
        "contract",
        lambda: api.post(path, files=parts),
        said(request, N_("Marché signé enregistré.")),
    )


@router.post(BASE + "/{buyer_siret}/{reference}/notification")
async def notify(
    request: Request,
    visitor: Changing,
    api: ApiAs,
    buyer_siret: Siret,
    reference: Reference,
    number: Annotated[str, Form(max_length=60)] = "",
    ceiling: Annotated[str, Form(max_length=30)] = "",
    service_done_presumed: Annotated[str | None, Form(max_length=5)] = None,
    works: Annotated[str | None, Form(max_length=5)] = None,
    paying_service: Annotated[str, Form(max_length=120)] = "",
) -> Response:
    """Notify the contract: the API opens the commitment invoices will reference."""
    body = {
        "number": number.strip(),
        "ceiling": decimal_text(ceiling),
        "service_done_presumed": service_done_presumed is not None,
        "works": works is not None,
        "paying_service": paying_service.strip() or None,
    }
    path = api_path(buyer_siret, reference, "notification")
    return await take_step(
        request,
        visitor,
        api,
        (buyer_siret, reference),
        "notify",
        lambda: api.post(path, json=body),
        said(request, N_("Marché notifié : l'engagement est ouvert.")),
        {"number": number, "ceiling": ceiling, "paying_service": paying_service},
    )


@router.post(BASE + "/{buyer_siret}/{reference}/cancellation")
async def cancel(
    request: Request,
    visitor: Changing,
    api: ApiAs,
    buyer_siret: Siret,
    reference: Reference,
    reason: Annotated[str, Form(max_length=3000)] = "",
) -> Response:
    """Declare the consultation sans suite, with a reason."""
    path = api_path(buyer_siret, reference, "cancellation")
    return await take_step(
        request,
        visitor,
        api,
        (buyer_siret, reference),
        "cancel",
        lambda: api.post(path, json={"reason": reason}),
        said(request, N_("Consultation déclarée sans suite.")),
        {"reason": reason},
    )


# --- files ---------------------------------------------------------------------------------


@router.get(BASE + "/{buyer_siret}/{reference}/documents/{document_id}")
async def document(
    api: ApiAs, buyer_siret: Siret, reference: Reference, document_id: int
) -> Response:
    """A published document of the consultation."""
    return await api.download(api_path(buyer_siret, reference, "documents", str(document_id)))


@router.get(BASE + "/{buyer_siret}/{reference}/bids/{bid_id}/files/{sha256}")
async def bid_file(
    api: ApiAs,
    buyer_siret: Siret,
    reference: Reference,
    bid_id: Annotated[str, Path(pattern=r"^[0-9A-Za-z-]{1,64}$")],
    sha256: Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")],
) -> Response:
    """A file of an opened bid (sealed before opening: the API refuses)."""
    return await api.download(api_path(buyer_siret, reference, "bids", bid_id, "files", sha256))
