"""`POST /v1/signatures/verify`: anyone signed in may ask whether a signature holds.

The verdict comes from `signatures/` under the policy the settings select, in a thread
of its own (validation is CPU-bound and must not stall the API's event loop). With
`?format=pdf` the answer is a human-readable report sealed by Chaîne, to file or print.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile

from api.deps import CurrentPrincipal, SettingsDep, UnsupportedMediaType, app_sealer
from api.schemas import ResponseModel
from api.uploads import media_type_of
from core.errors import ErrorCode, InvalidInput
from signatures.rendering import report_pdf
from signatures.report import Indication, SignatureReport, VerificationReport
from signatures.verify import verify

router = APIRouter(prefix="/v1", tags=["signatures"])


class ReportFormat(StrEnum):
    JSON = "json"
    PDF = "pdf"


class VerificationOut(ResponseModel):
    """The file's verdict (its weakest signature), then one report per signature."""

    indication: Indication
    sha256: str
    policy: str
    validation_time: datetime
    signatures: list[SignatureReport]


_FORM = {
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": {"type": "string", "format": "binary", "description": "The signed file."},
        "signed_file": {
            "type": "string",
            "format": "binary",
            "description": "For a detached CMS signature (.p7s): the file it signs.",
        },
    },
}


@router.post(
    "/signatures/verify",
    response_model=VerificationOut,
    summary="Verify the signatures of a PDF, XML or CMS file (any role)",
    openapi_extra={"requestBody": {"content": {"multipart/form-data": {"schema": _FORM}}}},
    responses={200: {"content": {"application/pdf": {}}, "description": "report"}},
)
async def verify_signatures(
    request: Request,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    format: Annotated[ReportFormat, Query()] = ReportFormat.JSON,
) -> Response:
    """Verdict per ETSI EN 319 102-1 for each signature; 422 when there is nothing to verify."""
    if media_type_of(request.headers.get("content-type")) != "multipart/form-data":
        raise UnsupportedMediaType("send the signed file as multipart/form-data (part `file`)")
    form = await request.form(max_files=2, max_fields=2)
    data = await _part(form.get("file"), "file", required=True)
    signed_file = await _part(form.get("signed_file"), "signed_file", required=False)
    policy = request.app.state.signature_policy
    report: VerificationReport = await asyncio.to_thread(
        asyncio.run, verify(data, policy, signed_file=signed_file)
    )
    if format is ReportFormat.JSON:
        out = VerificationOut(
            indication=report.indication,
            sha256=report.sha256,
            policy=report.policy,
            validation_time=report.validation_time,
            signatures=list(report.signatures),
        )
        return JSONResponse(out.model_dump(mode="json"))
    upload = form.get("file")
    name = upload.filename if isinstance(upload, UploadFile) else None
    pdf = await asyncio.to_thread(report_pdf, report, name)
    sealer = app_sealer(request, settings)
    name = f"verification-{report.sha256[:12]}.pdf"
    return Response(
        await sealer.seal(pdf),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def _part(value: object, name: str, *, required: bool) -> bytes | None:
    if value is None:
        if required:
            raise InvalidInput(ErrorCode.VALIDATION_FAILED, f"{name}: the part is missing")
        return None
    if not isinstance(value, UploadFile):
        raise InvalidInput(ErrorCode.VALIDATION_FAILED, f"{name}: must be a file part")
    return await value.read()
