"""PAdES: every signature embedded in a PDF, validated with pyHanko's AdES procedures.

pyHanko runs ETSI EN 319 102-1's long-term validation (`ades_lta_validation`): the
signature, its timestamp, the document's DSS and document timestamps. This module only
bounds what a file may cost, picks the signatures, and reads pyHanko's answer into a
`SignatureReport`: coverage (is the whole file signed?) and what changed after signing.
"""

from __future__ import annotations

import dataclasses
import io
import re
from datetime import datetime

from asn1crypto import crl, ocsp
from pyhanko.pdf_utils.decode_limits import DecodePurpose
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation.ades import (
    AdESBasicValidationResult,
    ades_basic_validation,
    ades_lta_validation,
    ades_with_time_validation,
)
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.errors import NoDSSFoundError
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.policy_decl import LocalKnowledge, PdfSignatureValidationSpec
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
from pyhanko_certvalidator.revinfo.archival import CRLContainer, OCSPContainer

from core.errors import ErrorCode, InvalidInput
from signatures.policy import VerificationPolicy
from signatures.report import (
    Coverage,
    Indication,
    Level,
    Modifications,
    SignatureFormat,
    SignatureReport,
    SubIndication,
)
from signatures.verdicts import (
    chain_of,
    has_signature_timestamp,
    indication_of,
    revocation_of,
    signer_of,
    timestamp_time,
    timing_at,
    verdict,
)

OBJECT_HEADER = re.compile(rb"\d{1,10}\s+\d{1,5}\s+obj\b")


def open_pdf(data: bytes, policy: VerificationPolicy) -> PdfFileReader:
    """Parse a PDF within the policy's limits, or refuse it with a coded error."""
    limits = policy.limits
    if len(data) > limits.max_bytes:
        raise InvalidInput(
            ErrorCode.SIGNATURE_INPUT_INVALID,
            f"The file is larger than {limits.max_bytes} bytes.",
        )
    if not data.lstrip()[:5] == b"%PDF-":
        raise InvalidInput(ErrorCode.SIGNATURE_INPUT_INVALID, "The file is not a PDF.")
    if sum(1 for _ in OBJECT_HEADER.finditer(data)) > limits.max_pdf_objects:
        raise _too_many_objects(limits.max_pdf_objects)
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        declared = int(reader.trailer.raw_get("/Size"))
    except (PdfError, ValueError, KeyError, TypeError, RecursionError) as exc:
        raise InvalidInput(
            ErrorCode.SIGNATURE_INPUT_INVALID, f"The PDF cannot be read: {_reason(exc)}"
        ) from exc
    if declared > limits.max_pdf_objects:
        raise _too_many_objects(limits.max_pdf_objects)
    return reader


async def verify_pdf(
    data: bytes, policy: VerificationPolicy, at: datetime | None = None
) -> tuple[SignatureReport, ...]:
    """Validate every (non-timestamp) signature of the PDF `data`."""
    reader = open_pdf(data, policy)
    try:
        signatures = reader.embedded_regular_signatures
    except (PdfError, ValueError, KeyError, TypeError, RecursionError) as exc:
        raise InvalidInput(
            ErrorCode.SIGNATURE_INPUT_INVALID,
            f"The PDF's signatures cannot be read: {_reason(exc)}",
        ) from exc
    if not signatures:
        raise InvalidInput(ErrorCode.SIGNATURE_NOT_FOUND, "The PDF holds no signature.")
    if len(signatures) > policy.limits.max_signatures:
        raise InvalidInput(
            ErrorCode.SIGNATURE_INPUT_INVALID,
            f"The PDF holds more than {policy.limits.max_signatures} signatures.",
        )
    timing = timing_at(at)
    return tuple([await _verify_one(reader, sig, policy, timing) for sig in signatures])


async def _verify_one(
    reader: PdfFileReader,
    sig: EmbeddedPdfSignature,
    policy: VerificationPolicy,
    timing: ValidationTimingInfo,
) -> SignatureReport:
    backend = policy.fetcher()
    messages: list[str] = []
    try:
        sig.compute_integrity_info()  # coverage and changes after signing, for every procedure
        result = await _validate(reader, sig, policy.pdf_spec(backend), timing)
        indication, sub = indication_of(result.ades_subindic)
        status = result.api_status
        if result.failure_msg and indication is not Indication.TOTAL_PASSED:
            messages.append(result.failure_msg)
    except (PdfError, ValueError, KeyError, TypeError, RecursionError) as exc:
        indication, sub, status = Indication.TOTAL_FAILED, SubIndication.FORMAT_FAILURE, None
        messages.append(f"The signature cannot be read: {_reason(exc)}")
    finally:
        if backend is not None:
            await backend.close()
    coverage = _coverage(reader, sig)
    modifications = _modifications(sig)
    if indication is not Indication.TOTAL_FAILED and (
        coverage in {Coverage.PARTIAL, Coverage.TRAILING_DATA}
        or modifications is Modifications.OTHER
    ):
        # The signed bytes are intact, but the file presented is not what was signed.
        indication, sub = verdict(SubIndication.HASH_FAILURE)
        messages.append(
            "Bytes were appended after the signed file."
            if coverage is Coverage.TRAILING_DATA
            else "The file was changed after it was signed."
        )
    revocation, source = revocation_of(status, indication, sub, backend)
    return SignatureReport(
        format=SignatureFormat.PADES,
        name=sig.field_name,
        indication=indication,
        sub_indication=sub,
        signer=signer_of(_signer_cert(sig)),
        claimed_signing_time=_claimed_time(sig),
        timestamp_time=timestamp_time(status, sig.signer_info),
        level=_level(reader, sig),
        intact=bool(status is not None and status.intact),
        crypto_valid=bool(status is not None and status.valid),
        coverage=coverage,
        modifications=modifications,
        trusted_chain=chain_of(status),
        revocation_status=revocation,
        revocation_source=source,
        messages=tuple(messages),
    )


async def _validate(
    reader: PdfFileReader,
    sig: EmbeddedPdfSignature,
    spec: PdfSignatureValidationSpec,
    timing: ValidationTimingInfo,
) -> AdESBasicValidationResult:
    """EN 319 102-1's procedure for what the signature is.

    Long-term validation (§ 5.6.3) needs an archive timestamp to prove when the embedded
    validation data existed, so it is used for B-LTA only. A B-T or B-LT signature is
    validated with time (§ 5.5), its timestamp proving the signing time and the DSS
    supplying revocation data; a bare B-B signature has no time to validate "with" and
    is judged by basic validation (§ 5.3) at the validation time.
    """
    archived = any(
        ts.signed_revision > sig.signed_revision for ts in reader.embedded_timestamp_signatures
    )
    if archived:
        return await ades_lta_validation(sig, spec, timing_info=timing)
    signature_spec = dataclasses.replace(
        spec.signature_validation_spec, local_knowledge=_dss_knowledge(reader)
    )
    procedure = (
        ades_with_time_validation
        if has_signature_timestamp(sig.signer_info)
        else ades_basic_validation
    )
    return await procedure(
        sig.signed_data, signature_spec, timing_info=timing, raw_digest=sig.compute_digest()
    )


def _dss_knowledge(reader: PdfFileReader) -> LocalKnowledge:
    """The certificates, OCSP responses and CRLs of the document security store."""
    try:
        dss = DocumentSecurityStore.read_dss(reader)
    except NoDSSFoundError:
        return LocalKnowledge()
    ocsps = [
        container
        for ref in dss.ocsps
        for container in OCSPContainer.load_multi(
            ocsp.OCSPResponse.load(ref.get_object().read_data(DecodePurpose.OCSP_RESPONSE))
        )
    ]
    crls = [
        CRLContainer(
            crl_data=crl.CertificateList.load(ref.get_object().read_data(DecodePurpose.CRL))
        )
        for ref in dss.crls
    ]
    return LocalKnowledge(known_ocsps=ocsps, known_crls=crls, known_certs=list(dss.load_certs()))


def _coverage(reader: PdfFileReader, sig: EmbeddedPdfSignature) -> Coverage | None:
    if sig.coverage is None:
        return None
    if sig.coverage is SignatureCoverageLevel.ENTIRE_FILE:
        return Coverage.ENTIRE_FILE
    if sig.coverage is not SignatureCoverageLevel.ENTIRE_REVISION:
        return Coverage.PARTIAL
    # pyHanko calls bytes after the last %%EOF harmless; a polyglot file hides there.
    last_revision = sig.signed_revision == reader.xrefs.total_revisions - 1
    start, length = (int(n) for n in list(sig.byte_range)[2:4])
    stream = reader.stream
    stream.seek(start + length)
    if last_revision and stream.read().strip(b" \t\r\n\x00"):
        return Coverage.TRAILING_DATA
    return Coverage.ENTIRE_REVISION


def _modifications(sig: EmbeddedPdfSignature) -> Modifications | None:
    if sig.coverage is None:
        return None
    if sig.coverage is SignatureCoverageLevel.ENTIRE_FILE:
        return Modifications.NONE
    level = getattr(sig.diff_result, "modification_level", None)
    if level is None:
        return Modifications.OTHER  # the difference analysis found changes it cannot allow
    return Modifications[level.name]


def _level(reader: PdfFileReader, sig: EmbeddedPdfSignature) -> Level:
    if not has_signature_timestamp(sig.signer_info):
        return Level.B_B
    try:
        dss = reader.root["/DSS"]
    except KeyError:
        return Level.B_T
    has_revinfo = any(key in dss for key in ("/OCSPs", "/CRLs", "/VRI"))
    if not has_revinfo:
        return Level.B_T
    signed_revision = sig.signed_revision
    archived = any(
        ts.signed_revision > signed_revision for ts in reader.embedded_timestamp_signatures
    )
    return Level.B_LTA if archived else Level.B_LT


def _signer_cert(sig: EmbeddedPdfSignature):
    try:
        return sig.signer_cert
    except (ValueError, KeyError, TypeError):
        return None


def _claimed_time(sig: EmbeddedPdfSignature) -> datetime | None:
    try:
        return sig.self_reported_timestamp
    except (ValueError, KeyError, TypeError):
        return None


def _too_many_objects(limit: int) -> InvalidInput:
    return InvalidInput(
        ErrorCode.SIGNATURE_INPUT_INVALID, f"The PDF holds more than {limit} objects."
    )


def _reason(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "objects are nested too deeply."
    return str(exc) or type(exc).__name__
