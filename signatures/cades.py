"""CAdES: a CMS signature, usually detached (`.p7s`) beside the file it signs.

The digest of the signed file is computed here with the signer's digest algorithm and
handed to pyHanko's ETSI validation with time (EN 319 102-1 § 5.5), which checks it
against the signed `message-digest` attribute, the signature, the chain, revocation and
the signature timestamp when there is one.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from asn1crypto import cms, pem
from pyhanko.sign.ades.report import AdESFailure
from pyhanko.sign.validation.ades import ades_basic_validation, ades_with_time_validation

from core.errors import ErrorCode, InvalidInput
from signatures.policy import VerificationPolicy
from signatures.report import Indication, Level, SignatureFormat, SignatureReport
from signatures.verdicts import (
    chain_of,
    has_signature_timestamp,
    indication_of,
    revocation_of,
    signer_of,
    timestamp_time,
    timing_at,
)


def read_signed_data(data: bytes) -> cms.SignedData:
    """The SignedData of a DER or PEM `.p7s`, or a coded refusal."""
    if pem.detect(data):
        try:
            _, _, data = pem.unarmor(data)
        except ValueError as exc:
            raise InvalidInput(
                ErrorCode.SIGNATURE_INPUT_INVALID, f"The PEM signature is malformed: {exc}"
            ) from exc
    try:
        info = cms.ContentInfo.load(data, strict=True)
        if info["content_type"].native != "signed_data":
            raise ValueError(f"content type is {info['content_type'].native}, not signed data")
        signed_data = info["content"]
        signed_data.native  # noqa: B018  # parse everything now, not halfway through validation
    except (ValueError, TypeError, KeyError) as exc:
        raise InvalidInput(
            ErrorCode.SIGNATURE_INPUT_INVALID, f"The file is not a CMS signature: {exc}"
        ) from exc
    if len(signed_data["signer_infos"]) != 1:
        raise InvalidInput(
            ErrorCode.SIGNATURE_INPUT_INVALID,
            "Chaîne verifies CMS signatures with exactly one signer.",
        )
    return signed_data


async def verify_cms(
    data: bytes, signed_file: bytes | None, policy: VerificationPolicy, at: datetime | None = None
) -> tuple[SignatureReport, ...]:
    """Validate a CMS signature: detached over `signed_file`, or enveloping its content."""
    signed_data = read_signed_data(data)
    content = signed_data["encap_content_info"]["content"].native
    if content is not None and signed_file is not None:
        raise InvalidInput(
            ErrorCode.SIGNATURE_INPUT_INVALID,
            "This signature envelops its content; send it without a signed file.",
        )
    payload = content if content is not None else signed_file
    if payload is None:
        raise InvalidInput(
            ErrorCode.SIGNATURE_SIGNED_FILE_MISSING,
            "A detached signature is verified against the file it signs: send that file too.",
        )
    signer_info = signed_data["signer_infos"][0]
    algorithm = signer_info["digest_algorithm"]["algorithm"].native
    try:
        digest = hashlib.new(algorithm, payload).digest()
    except (ValueError, TypeError):
        digest = None
    backend = policy.fetcher()
    messages: list[str] = []
    status = None
    try:
        if digest is None:
            sub = AdESFailure.FORMAT_FAILURE
            messages.append(f"Unknown digest algorithm {algorithm!r}.")
        else:
            # With time (§ 5.5) when a timestamp proves the signing time, basic (§ 5.3) if not.
            procedure = (
                ades_with_time_validation
                if has_signature_timestamp(signer_info)
                else ades_basic_validation
            )
            result = await procedure(
                signed_data,
                policy.signature_spec(backend),
                timing_info=timing_at(at),
                raw_digest=digest,
            )
            sub, status = result.ades_subindic, result.api_status
            if result.failure_msg:
                messages.append(result.failure_msg)
    finally:
        if backend is not None:
            await backend.close()
    indication, sub_indication = indication_of(sub)
    revocation, source = revocation_of(status, indication, sub_indication, backend)
    certificates = [c.chosen for c in signed_data["certificates"] or () if c.name == "certificate"]
    signer_cert = getattr(status, "signing_cert", None) or _find_signer(certificates, signer_info)
    return (
        SignatureReport(
            format=SignatureFormat.CADES,
            name="signature",
            indication=indication,
            sub_indication=sub_indication,
            signer=signer_of(signer_cert),
            claimed_signing_time=_signing_time(signer_info),
            timestamp_time=timestamp_time(status, signer_info),
            level=Level.B_T if has_signature_timestamp(signer_info) else Level.B_B,
            intact=bool(status is not None and status.intact),
            crypto_valid=bool(status is not None and status.valid),
            coverage=None,
            modifications=None,
            trusted_chain=chain_of(status),
            revocation_status=revocation,
            revocation_source=source,
            messages=tuple(messages if indication is not Indication.TOTAL_PASSED else ()),
        ),
    )


def _find_signer(certificates, signer_info: cms.SignerInfo):
    sid = signer_info["sid"]
    for cert in certificates:
        if sid.name == "issuer_and_serial_number":
            if cert.issuer_serial == (
                f"{sid.chosen['issuer'].sha256.hex()}:{sid.chosen['serial_number'].native}"
            ):
                return cert
        elif cert.key_identifier == sid.chosen.native:
            return cert
    return None


def _signing_time(signer_info: cms.SignerInfo) -> datetime | None:
    signed = signer_info["signed_attrs"]
    if not isinstance(signed, cms.CMSAttributes):
        return None
    for attr in signed:
        if attr["type"].native == "signing_time":
            return attr["values"][0].native
    return None
