"""Consultations for suppliers: find tenders, read one, ask, follow and bid, and fetch what
the API hands a candidate (documents, the simplified DUME, the award letter).

Every rule stays in the API: a late bid, a closed question period or a missing file is the
API's refusal, shown as it came with its code.
"""

from __future__ import annotations

import base64
from datetime import date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from starlette.datastructures import FormData, UploadFile

from api.consultation_access import Reference, Siret
from core.principals import Role
from portal.accounts import Visitor
from portal.backend import ApiProblem, Backend
from portal.deps import ApiAs, Changing, CurrentVisitor, flash, redirect, require_role
from portal.i18n import translator
from portal.pages import PARIS, render

router = APIRouter(include_in_schema=False, dependencies=[Depends(require_role(Role.SUPPLIER))])
BASE = "/supplier/consultations"
# A candidate's letter exists once the consultation is decided and its bid's fate told.
DECIDED = ("awarded", "signed", "notified")
DECIDED_BIDS = ("awarded", "rejected")
FilePart = tuple[str, tuple[str | None, Any, str | None] | tuple[None, str]]


# --- what both sides of the consultation pages share ---------------------------------------


def api_path(buyer_siret: str, reference: str, *rest: str) -> str:
    """The API path of a consultation (or of one of its sub-resources)."""
    return "/".join((f"/v1/consultations/{buyer_siret}/{reference}", *rest)).rstrip("/")


def chosen_files(form: FormData, name: str) -> list[FilePart]:
    """The files picked in the multipart field `name`, as httpx parts (a file input left
    empty sends a part without a file name: it is no file)."""
    return [
        (name, (upload.filename, upload.file, upload.content_type))
        for upload in form.getlist(name)
        if isinstance(upload, UploadFile) and upload.filename
    ]


def text_part(name: str, value: str) -> FilePart:
    """A plain field sent among file parts, so the body is multipart even without a file
    and the API answers a missing file with its own refusal."""
    return (name, (None, value))


def paris_moment(value: str) -> str:
    """A `datetime-local` or date field (Paris time; a date is its midnight) as an ISO
    instant with its offset; a value that is neither goes to the API as typed, to be
    refused there."""
    text = value.strip()
    try:
        if "T" in text:
            moment = datetime.fromisoformat(text)
        else:
            moment = datetime.combine(date.fromisoformat(text), time(0, 0))
    except ValueError:
        return text
    return moment.replace(tzinfo=PARIS).isoformat() if moment.tzinfo is None else text


async def optional(api: Backend, path: str, missing: str, **params: Any) -> Any:
    """A resource that may not exist yet (a bid, a letter): None when the API says `missing`."""
    try:
        return await api.get(path, **params)
    except ApiProblem as exc:
        if exc.code != missing:
            raise
        return None


def field_errors(problem: ApiProblem | None) -> dict[str, str]:
    """The API's field refusals (query parameters) by field name, to show beside each."""
    if problem is None:
        return {}
    return {e["parameter"]: e.get("detail", "") for e in problem.errors if e.get("parameter")}


# --- search ------------------------------------------------------------------------------


def acting_siret(visitor: Visitor, chosen: str | None) -> str:
    """The SIRET the supplier acts for on these pages: the one chosen if theirs, else the
    first (the API refuses a bid that names none when a person acts for several)."""
    sirets = sorted(visitor.principal.sirets)
    return chosen if chosen in sirets else sirets[0]


def latest_bids(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The latest record of each consultation among the supplier's bids (listed latest
    first by the API)."""
    seen: dict[str, dict[str, Any]] = {}
    for record in records:
        seen.setdefault(record["consultation_id"], record)
    return list(seen.values())


def consultation_link(consultation_id: str) -> str:
    """The page of a consultation from its id (`consultation:{buyer_siret}:{reference}`)."""
    _, buyer_siret, reference = consultation_id.split(":", 2)
    return f"{BASE}/{buyer_siret}/{reference}"


@router.get(BASE)
async def search(
    request: Request,
    visitor: CurrentVisitor,
    api: ApiAs,
    cpv: Annotated[str, Query(max_length=20)] = "",
    buyer: Annotated[str, Query(max_length=20)] = "",
    deadline_after: Annotated[str, Query(max_length=30)] = "",
    procedure: Annotated[str, Query(max_length=20)] = "",
    q: Annotated[str, Query(max_length=100)] = "",
    status: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    """Published consultations by CPV prefix, buyer, deadline, procedure and text (open to
    bids unless another status is asked), and the supplier's own bids."""
    filters = {
        "cpv": cpv.strip(),
        "buyer": buyer.strip(),
        "deadline_after": paris_moment(deadline_after) if deadline_after.strip() else "",
        "procedure": procedure,
        "q": q.strip(),
        "status": "published" if status is None else status,
    }
    problem = None
    try:
        results = await api.get("/v1/consultations", limit=100, **filters)
    except ApiProblem as exc:
        if exc.status != 422:
            raise
        results, problem = [], exc
    bids = latest_bids(await api.get("/v1/bids"))
    return render(
        request,
        "consultations/search.html",
        visitor,
        status_code=problem.status if problem else 200,
        results=results,
        filters={**filters, "deadline_after": deadline_after},
        problem=problem,
        errors=field_errors(problem),
        bids=bids,
        link=consultation_link,
    )


# --- one consultation --------------------------------------------------------------------


async def consultation_page(
    request: Request,
    visitor: Visitor,
    api: Backend,
    buyer_siret: str,
    reference: str,
    siret: str | None = None,
    problem: ApiProblem | None = None,
    failed: str = "",
    question: str = "",
) -> Response:
    """The consultation as a candidate sees it, with its own bid and what it may do now;
    `failed` names the form a refusal belongs to."""
    details = await api.get(api_path(buyer_siret, reference))
    acting = acting_siret(visitor, siret)
    mine = await optional(
        api, api_path(buyer_siret, reference, "bids/mine"), "BID_NOT_FOUND", supplier_siret=acting
    )
    history = [
        record
        for record in await api.get("/v1/bids")
        if record["consultation_id"] == details["id"] and record["supplier_siret"] == acting
    ]
    return render(
        request,
        "consultations/supplier.html",
        visitor,
        status_code=problem.status if problem else 200,
        c=details,
        terms=details["terms"],
        mine=mine,
        history=history,
        acting=acting,
        sirets=sorted(visitor.principal.sirets),
        has_espd=any(d["kind"] == "espd-request" for d in details["documents"]),
        decided=details["status"] in DECIDED and any(r["status"] in DECIDED_BIDS for r in history),
        base=f"{BASE}/{buyer_siret}/{reference}",
        problem=problem,
        failed=failed,
        question=question,
    )


@router.get(BASE + "/{buyer_siret}/{reference}")
async def consultation(
    request: Request,
    visitor: CurrentVisitor,
    api: ApiAs,
    buyer_siret: Siret,
    reference: Reference,
    siret: Annotated[str | None, Query(max_length=14)] = None,
) -> Response:
    """Details, lots, criteria, documents, answered questions and the supplier's bid."""
    return await consultation_page(request, visitor, api, buyer_siret, reference, siret)


@router.post(BASE + "/{buyer_siret}/{reference}/questions")
async def ask(
    request: Request,
    visitor: Changing,
    api: ApiAs,
    buyer_siret: Siret,
    reference: Reference,
    question: Annotated[str, Form(max_length=6000)] = "",
    supplier_siret: Annotated[str | None, Form(max_length=14)] = None,
) -> Response:
    """Ask the buyer; the answer is published to every candidate, without the asker."""
    acting = acting_siret(visitor, supplier_siret)
    try:
        await api.post(
            api_path(buyer_siret, reference, "questions"),
            json={"question": question},
            params={"supplier_siret": acting},
        )
    except ApiProblem as exc:
        return await consultation_page(
            request, visitor, api, buyer_siret, reference, acting, exc, "question", question
        )
    _ = translator(request.state.language)
    await flash(request, visitor, "success", _("Question envoyée. La réponse sera publiée ici."))
    return redirect(request, f"{BASE}/{buyer_siret}/{reference}?siret={acting}")


@router.post(BASE + "/{buyer_siret}/{reference}/interest")
async def follow(
    request: Request,
    visitor: Changing,
    api: ApiAs,
    buyer_siret: Siret,
    reference: Reference,
    supplier_siret: Annotated[str | None, Form(max_length=14)] = None,
) -> Response:
    """Register interest: the supplier is told of answers, amendments and the outcome."""
    acting = acting_siret(visitor, supplier_siret)
    try:
        await api.post(
            api_path(buyer_siret, reference, "interest"), params={"supplier_siret": acting}
        )
    except ApiProblem as exc:
        return await consultation_page(
            request, visitor, api, buyer_siret, reference, acting, exc, "interest"
        )
    _ = translator(request.state.language)
    await flash(request, visitor, "success", _("Vous suivez cette consultation."))
    return redirect(request, f"{BASE}/{buyer_siret}/{reference}?siret={acting}")


@router.post(BASE + "/{buyer_siret}/{reference}/bids")
async def submit_bid(
    request: Request, visitor: Changing, api: ApiAs, buyer_siret: Siret, reference: Reference
) -> Response:
    """Submit (or replace) the bid; the answer is its receipt, sealed by Chaîne, shown at
    once since the seal is given only with this answer."""
    form = await request.form()
    chosen = form.get("supplier_siret")
    acting = acting_siret(visitor, chosen if isinstance(chosen, str) else None)
    parts = [
        text_part("supplier_siret", acting),
        *chosen_files(form, "files"),
        *chosen_files(form, "espd"),
    ]
    try:
        answer = await api.post(api_path(buyer_siret, reference, "bids"), files=parts)
    except ApiProblem as exc:
        return await consultation_page(
            request, visitor, api, buyer_siret, reference, acting, exc, "bid"
        )
    receipt_json = answer["receipt_json"].encode()
    return render(
        request,
        "consultations/receipt.html",
        visitor,
        status_code=201,
        receipt=answer["receipt"],
        receipt_data=base64.b64encode(receipt_json).decode(),
        seal=answer["seal"],
        base=f"{BASE}/{buyer_siret}/{reference}",
        reference=reference,
        acting=acting,
    )


@router.post(BASE + "/{buyer_siret}/{reference}/withdrawal")
async def withdraw(
    request: Request,
    visitor: Changing,
    api: ApiAs,
    buyer_siret: Siret,
    reference: Reference,
    supplier_siret: Annotated[str | None, Form(max_length=14)] = None,
) -> Response:
    """Withdraw the bid before the deadline."""
    acting = acting_siret(visitor, supplier_siret)
    try:
        await api.call(
            "DELETE",
            api_path(buyer_siret, reference, "bids/mine"),
            params={"supplier_siret": acting},
        )
    except ApiProblem as exc:
        return await consultation_page(
            request, visitor, api, buyer_siret, reference, acting, exc, "withdrawal"
        )
    _ = translator(request.state.language)
    await flash(request, visitor, "success", _("Votre offre est retirée."))
    return redirect(request, f"{BASE}/{buyer_siret}/{reference}?siret={acting}")


# --- files -------------------------------------------------------------------------------


@router.get(BASE + "/{buyer_siret}/{reference}/documents/{document_id}")
async def document(
    api: ApiAs, buyer_siret: Siret, reference: Reference, document_id: int
) -> Response:
    """A consultation document (DCE, notice, amendment), counted by the API."""
    return await api.download(api_path(buyer_siret, reference, "documents", str(document_id)))


@router.get(BASE + "/{buyer_siret}/{reference}/dume")
async def dume(
    request: Request,
    visitor: CurrentVisitor,
    api: ApiAs,
    buyer_siret: Siret,
    reference: Reference,
    siret: Annotated[str | None, Query(max_length=14)] = None,
) -> Response:
    """The simplified DUME prefilled from the directory; when the API cannot make it (SIRET
    unknown to the directory), the consultation page says why."""
    acting = acting_siret(visitor, siret)
    try:
        return await api.download(
            api_path(buyer_siret, reference, "espd-response"), {"supplier_siret": acting}
        )
    except ApiProblem as exc:
        if exc.status >= 500:
            raise
        return await consultation_page(
            request, visitor, api, buyer_siret, reference, acting, exc, "dume"
        )


@router.get(BASE + "/{buyer_siret}/{reference}/letter")
async def letter(
    visitor: CurrentVisitor,
    api: ApiAs,
    buyer_siret: Siret,
    reference: Reference,
    siret: Annotated[str | None, Query(max_length=14)] = None,
) -> Response:
    """The sealed letter telling the supplier the decision on its bid."""
    acting = acting_siret(visitor, siret)
    return await api.download(
        api_path(buyer_siret, reference, "letters/mine"), {"supplier_siret": acting}
    )
