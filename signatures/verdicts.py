"""From pyHanko's validation results to Chaîne's report vocabulary, for every format."""

from __future__ import annotations

from datetime import datetime

from asn1crypto import cms, x509
from pyhanko.sign.ades.report import AdESFailure, AdESIndeterminate, AdESPassed, AdESSubIndic
from pyhanko.sign.validation.status import SignatureStatus
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo

from signatures.fetching import GuardedFetcherBackend
from signatures.report import (
    FAILED_SUB_INDICATIONS,
    Indication,
    RevocationSource,
    RevocationStatus,
    Signer,
    SubIndication,
)

KEY_USAGE_NAMES = (
    "digital_signature",
    "non_repudiation",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
)


def indication_of(sub: AdESSubIndic) -> tuple[Indication, SubIndication | None]:
    """Map pyHanko's AdES sub-indication (the ETSI one, by name) to ours."""
    if isinstance(sub, AdESPassed):
        return Indication.TOTAL_PASSED, None
    ours = SubIndication[sub.name] if sub.name in SubIndication.__members__ else None
    if isinstance(sub, AdESFailure):
        return Indication.TOTAL_FAILED, ours or SubIndication.FORMAT_FAILURE
    if isinstance(sub, AdESIndeterminate):
        return Indication.INDETERMINATE, ours or SubIndication.GENERIC
    return Indication.INDETERMINATE, SubIndication.GENERIC


def verdict(sub: SubIndication | None) -> tuple[Indication, SubIndication | None]:
    """The indication a sub-indication belongs to (None means passed)."""
    if sub is None:
        return Indication.TOTAL_PASSED, None
    if sub in FAILED_SUB_INDICATIONS:
        return Indication.TOTAL_FAILED, sub
    return Indication.INDETERMINATE, sub


def signer_of(cert: x509.Certificate | None) -> Signer | None:
    if cert is None:
        return None
    key_usage = cert.key_usage_value.native if cert.key_usage_value is not None else set()
    validity = cert["tbs_certificate"]["validity"]
    return Signer(
        subject=cert.subject.human_friendly,
        issuer=cert.issuer.human_friendly,
        serial=format(cert.serial_number, "x"),
        not_before=validity["not_before"].native,
        not_after=validity["not_after"].native,
        key_usage=tuple(name for name in KEY_USAGE_NAMES if name in key_usage),
    )


def timing_at(at: datetime | None) -> ValidationTimingInfo:
    """Validate now, or as of `at` (a point-in-time validation, for tests and replays)."""
    if at is None:
        return ValidationTimingInfo.now()
    return ValidationTimingInfo(
        validation_time=at, best_signature_time=at, point_in_time_validation=True
    )


def has_signature_timestamp(signer_info: cms.SignerInfo) -> bool:
    """True when a timestamp token over the signature is attached (level B-T at least)."""
    unsigned = signer_info["unsigned_attrs"]
    if not isinstance(unsigned, cms.CMSAttributes):
        return False
    return any(attr["type"].native == "signature_time_stamp_token" for attr in unsigned)


def timestamp_time(status: SignatureStatus | None, signer_info: cms.SignerInfo) -> datetime | None:
    """The signature timestamp's time: as validated when it was, else as the token says."""
    validity = getattr(status, "timestamp_validity", None)
    if validity is not None:
        return validity.timestamp
    unsigned = signer_info["unsigned_attrs"]
    if not isinstance(unsigned, cms.CMSAttributes):
        return None
    for attr in unsigned:
        if attr["type"].native == "signature_time_stamp_token":
            token = attr["values"][0]["content"]["encap_content_info"]["content"]
            return token.parsed["gen_time"].native
    return None


def chain_of(status: SignatureStatus | None) -> tuple[str, ...]:
    """Subjects from the signer up to the trust anchor, when a trusted path was found."""
    path = getattr(status, "validation_path", None)
    if status is None or path is None or not status.trusted:
        return ()
    return tuple(cert.subject.human_friendly for cert in reversed(list(path.iter_certs(True))))


def revocation_of(
    status: SignatureStatus | None,
    indication: Indication,
    sub: SubIndication | None,
    backend: GuardedFetcherBackend | None,
) -> tuple[RevocationStatus, RevocationSource]:
    """What is known of the signer's revocation status, and where it came from."""
    revoked = bool(status is not None and status.revoked) or sub in {
        SubIndication.REVOKED,
        SubIndication.REVOKED_NO_POE,
        SubIndication.REVOKED_CA_NO_POE,
    }
    checked = revoked or indication is Indication.TOTAL_PASSED
    if not checked:
        return RevocationStatus.UNKNOWN, RevocationSource.NONE
    state = RevocationStatus.REVOKED if revoked else RevocationStatus.GOOD
    return state, RevocationSource.FETCHED if fetched_any(backend) else RevocationSource.EMBEDDED


def fetched_any(backend: GuardedFetcherBackend | None) -> bool:
    if backend is None or backend.fetched is None:
        return False
    fetchers = backend.fetched
    return bool(
        list(fetchers.ocsp_fetcher.fetched_responses()) or list(fetchers.crl_fetcher.fetched_crls())
    )
