"""Bids: suppliers submit, replace and withdraw; the buyer reads them once opened.

A bid is an Update of the consultation's workflow answered with its receipt (bid id,
version, SHA-256 of each file, the time it reached the workflow) and Chaîne's seal over
the receipt's exact JSON, a detached CAdES signature anyone can verify. Until the buyer
opens the bids, no route serves a bid's files, the buyer's included (`BID_SEALED`).
"""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select

from api.consultation_access import (
    MAX_FILES,
    RECEIPT,
    BidNotFound,
    BuyerConsultation,
    ConsultationNotFound,
    SupplierConsultation,
    Target,
    acting_siret,
    require_unsealed,
    send_step,
    step_answer,
    store_files,
    workflow_errors,
)
from api.deps import SessionDep, SettingsDep, UnsupportedMediaType, app_sealer, require_roles
from api.uploads import blob_download, media_type_of
from core.errors import ErrorCode, InvalidInput
from core.principals import Principal, Role
from directory.records import IdentifierScheme
from procurement import espd
from procurement.model import Bid, BidFile
from store.directory import DirectoryRepository
from store.models import BidRecord, ConsultationDocument
from workflows.consultation import ConsultationWorkflow
from workflows.consultation_messages import BidRequest, WithdrawRequest

router = APIRouter(prefix="/v1", tags=["bids"])
Supplier = Annotated[Principal, Depends(require_roles(Role.SUPPLIER))]
Sha256 = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]


# --- suppliers -------------------------------------------------------------------------------


@router.post(
    "/consultations/{buyer_siret}/{reference}/bids",
    status_code=201,
    summary="Submit or replace a bid",
)
async def submit_bid(
    target: SupplierConsultation, request: Request, settings: SettingsDep
) -> JSONResponse:
    """Multipart `files` (one or more) and an optional `espd` response (ESPD-EDM XML); a
    second bid of the same SIRET replaces the first. Answered with the sealed receipt."""
    if media_type_of(request.headers.get("content-type")) != "multipart/form-data":
        raise UnsupportedMediaType("send the bid as multipart/form-data (parts `files`, `espd`)")
    form = await request.form(max_files=MAX_FILES + 1, max_fields=MAX_FILES + 2)
    siret = acting_siret(target.principal, form.get("supplier_siret") or target.given_siret)
    limit = settings.upload_max_bytes
    files = tuple(
        BidFile(upload.filename or "file", stored.blob.sha256, stored.blob.size)
        for upload, stored in await store_files(form, "files", request, limit)
    )
    if not files:
        raise InvalidInput(ErrorCode.VALIDATION_FAILED, "files: at least one file")
    espd_files = await store_files(form, "espd", request, limit)
    if len(espd_files) > 1:
        raise InvalidInput(ErrorCode.VALIDATION_FAILED, "espd: one response at most")
    espd_response = next(
        (BidFile(u.filename or "espd.xml", s.blob.sha256, s.blob.size) for u, s in espd_files),
        None,
    )
    arrived = datetime.now(UTC)  # fully received: every file is stored
    bid = BidRequest(siret, target.principal.client_id, files, espd_response, arrived)
    receipt = await send_step(target, ConsultationWorkflow.submit_bid, bid)
    if isinstance(receipt, JSONResponse):
        return receipt
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
async def withdraw_bid(target: SupplierConsultation) -> JSONResponse:
    """Withdraw before the deadline; the receipt says `withdrawn`."""
    request = WithdrawRequest(target.supplier_siret, target.principal.client_id)
    return await step_answer(target, ConsultationWorkflow.withdraw_bid, request)


@router.get("/consultations/{buyer_siret}/{reference}/bids/mine", summary="My current bid")
async def my_bid(target: SupplierConsultation) -> JSONResponse:
    """The supplier's current bid on this consultation, files included (its own)."""
    async with workflow_errors(target.handle):
        bid = await target.handle.query(ConsultationWorkflow.bid_of, target.supplier_siret)
    if bid is None:
        raise BidNotFound("no current bid of yours on this consultation")
    return JSONResponse(_bid_json(bid))


@router.get(
    "/consultations/{buyer_siret}/{reference}/espd-response",
    summary="A simplified DUME, prefilled from the directory",
)
async def simplified_dume(
    target: SupplierConsultation, request: Request, session: SessionDep
) -> Response:
    """The consultation's ESPD request answered for the supplier's SIRET (no exclusion
    ground, selection criteria met), ready to check and attach to the bid as `espd`."""
    document = await session.scalar(
        select(ConsultationDocument).where(
            ConsultationDocument.consultation_id == target.id,
            ConsultationDocument.kind == "espd-request",
        )
    )
    if document is None:
        raise ConsultationNotFound("this consultation has no published ESPD request")
    supplier = await DirectoryRepository(session).supplier(
        IdentifierScheme.SIRET, target.supplier_siret
    )
    if supplier is None:
        raise InvalidInput(
            ErrorCode.SUPPLIER_NOT_FOUND,
            f"SIRET {target.supplier_siret} is not in the directory: fill in a full ESPD",
        )
    identity = espd.SupplierIdentity(siret=target.supplier_siret, name=supplier.name)
    xml = espd.simplified_response(
        request.app.state.blobs.read(document.sha256), identity, uuid.uuid4(), datetime.now(UTC)
    )
    return Response(
        xml,
        media_type="application/xml",
        headers={"Content-Disposition": f'attachment; filename="dume-{target.reference}.xml"'},
    )


@router.get(
    "/consultations/{buyer_siret}/{reference}/letters/mine",
    summary="My award decision letter (sealed PDF)",
)
async def my_letter(target: SupplierConsultation, request: Request) -> Response:
    """The letter telling the supplier the decision on its bid, once awarded."""
    suffix = f"-{target.supplier_siret}.pdf"  # see procurement.letters.letter_name
    letters = [d for d in (await target.state()).letters if d.name.endswith(suffix)]
    if not letters:
        raise BidNotFound("no letter for you on this consultation (not awarded yet?)")
    return blob_download(
        request.app.state.blobs, letters[0].sha256, letters[0].name, letters[0].media_type
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


# --- buyer -----------------------------------------------------------------------------------


async def _opened_bids(target: Target) -> tuple[list[Bid], dict[str, Any]]:
    state = await target.state()
    require_unsealed(state)
    async with workflow_errors(target.handle):
        bids = await target.handle.query(ConsultationWorkflow.bids)
    return bids, {v.bid_id: v for v in state.verdicts}


@router.get("/consultations/{buyer_siret}/{reference}/bids", summary="Bids, once opened")
async def list_bids(target: BuyerConsultation) -> JSONResponse:
    """Every bid with its files and verdict; `BID_SEALED` before opening."""
    bids, verdicts = await _opened_bids(target)
    return JSONResponse(
        [
            {
                **_bid_json(bid),
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
    target: BuyerConsultation, bid_id: str, sha256: Sha256, request: Request
) -> Response:
    """A file of an opened bid; `BID_SEALED` before opening."""
    bids, _ = await _opened_bids(target)
    files = [
        f
        for bid in bids
        if bid.bid_id == bid_id
        for f in (*bid.files, *((bid.espd_response,) if bid.espd_response else ()))
        if f.sha256 == sha256
    ]
    if not files:
        raise BidNotFound("no such file in this bid")
    return blob_download(request.app.state.blobs, sha256, files[0].name, "application/octet-stream")


def _bid_json(bid: Bid) -> dict[str, Any]:
    def file(f: BidFile) -> dict[str, Any]:
        return {"name": f.name, "sha256": f.sha256, "size": f.size}

    return {
        "bid_id": bid.bid_id,
        "supplier_siret": bid.supplier_siret,
        "received_at": bid.received_at.isoformat(),
        "version": bid.version,
        "files": [file(f) for f in bid.files],
        "espd_response": file(bid.espd_response) if bid.espd_response else None,
    }
