"""What Chaîne says about a signature: one `SignatureReport` per signature found.

The vocabulary is ETSI EN 319 102-1's (indication and sub-indication) so that a report
means the same thing to a buyer, a court and another validation service. Reports are
frozen values with a JSON form (`as_json`) that the API returns as is.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class SignatureFormat(StrEnum):
    PADES = "PAdES"
    CADES = "CAdES"
    XADES = "XAdES"


class Indication(StrEnum):
    """The main verdict of ETSI EN 319 102-1 § 5.1.3."""

    TOTAL_PASSED = "TOTAL_PASSED"
    INDETERMINATE = "INDETERMINATE"
    TOTAL_FAILED = "TOTAL_FAILED"


class SubIndication(StrEnum):
    """Why a signature is not TOTAL_PASSED (ETSI EN 319 102-1 tables 6 and 7)."""

    # TOTAL_FAILED
    FORMAT_FAILURE = "FORMAT_FAILURE"
    HASH_FAILURE = "HASH_FAILURE"
    SIG_CRYPTO_FAILURE = "SIG_CRYPTO_FAILURE"
    REVOKED = "REVOKED"
    NOT_YET_VALID = "NOT_YET_VALID"
    # INDETERMINATE
    SIG_CONSTRAINTS_FAILURE = "SIG_CONSTRAINTS_FAILURE"
    CHAIN_CONSTRAINTS_FAILURE = "CHAIN_CONSTRAINTS_FAILURE"
    CERTIFICATE_CHAIN_GENERAL_FAILURE = "CERTIFICATE_CHAIN_GENERAL_FAILURE"
    CRYPTO_CONSTRAINTS_FAILURE = "CRYPTO_CONSTRAINTS_FAILURE"
    EXPIRED = "EXPIRED"
    POLICY_PROCESSING_ERROR = "POLICY_PROCESSING_ERROR"
    SIGNATURE_POLICY_NOT_AVAILABLE = "SIGNATURE_POLICY_NOT_AVAILABLE"
    TIMESTAMP_ORDER_FAILURE = "TIMESTAMP_ORDER_FAILURE"
    NO_SIGNING_CERTIFICATE_FOUND = "NO_SIGNING_CERTIFICATE_FOUND"
    NO_CERTIFICATE_CHAIN_FOUND = "NO_CERTIFICATE_CHAIN_FOUND"
    REVOKED_NO_POE = "REVOKED_NO_POE"
    REVOKED_CA_NO_POE = "REVOKED_CA_NO_POE"
    OUT_OF_BOUNDS_NO_POE = "OUT_OF_BOUNDS_NO_POE"
    REVOCATION_OUT_OF_BOUNDS_NO_POE = "REVOCATION_OUT_OF_BOUNDS_NO_POE"
    OUT_OF_BOUNDS_NOT_REVOKED = "OUT_OF_BOUNDS_NOT_REVOKED"
    CRYPTO_CONSTRAINTS_FAILURE_NO_POE = "CRYPTO_CONSTRAINTS_FAILURE_NO_POE"
    NO_POE = "NO_POE"
    TRY_LATER = "TRY_LATER"
    SIGNED_DATA_NOT_FOUND = "SIGNED_DATA_NOT_FOUND"
    GENERIC = "GENERIC"


FAILED_SUB_INDICATIONS = frozenset(
    {
        SubIndication.FORMAT_FAILURE,
        SubIndication.HASH_FAILURE,
        SubIndication.SIG_CRYPTO_FAILURE,
        SubIndication.REVOKED,
        SubIndication.NOT_YET_VALID,
    }
)


class Level(StrEnum):
    """The baseline level the signature reaches (ETSI EN 319 142-1 / 122-1 / 132-1)."""

    B_B = "B-B"  # signature only
    B_T = "B-T"  # plus a trusted timestamp over the signature
    B_LT = "B-LT"  # plus the certificates and revocation data needed to validate it
    B_LTA = "B-LTA"  # plus an archive (document) timestamp over all of it


class Coverage(StrEnum):
    """How much of the file the signature covers."""

    ENTIRE_FILE = "ENTIRE_FILE"
    ENTIRE_REVISION = "ENTIRE_REVISION"  # later revisions were added after signing
    PARTIAL = "PARTIAL"  # part of the signed revision itself is not covered
    TRAILING_DATA = "TRAILING_DATA"  # bytes were appended after the last revision


class Modifications(StrEnum):
    """What was changed after signing (PDF incremental updates), from least to most."""

    NONE = "NONE"
    LTA_UPDATES = "LTA_UPDATES"  # validation data and document timestamps: allowed
    FORM_FILLING = "FORM_FILLING"  # form fields and further signatures: allowed
    ANNOTATIONS = "ANNOTATIONS"  # comments: allowed only when the certification says so
    OTHER = "OTHER"  # the content changed after signing


class RevocationStatus(StrEnum):
    GOOD = "GOOD"
    REVOKED = "REVOKED"
    UNKNOWN = "UNKNOWN"  # no usable revocation data


class RevocationSource(StrEnum):
    EMBEDDED = "EMBEDDED"  # in the signature or the file (DSS, revocation archival)
    FETCHED = "FETCHED"  # fetched online under the policy
    NONE = "NONE"


@dataclass(frozen=True)
class Signer:
    """The signing certificate, as people and courts identify it."""

    subject: str
    issuer: str
    serial: str  # hexadecimal
    not_before: datetime
    not_after: datetime
    key_usage: tuple[str, ...]


@dataclass(frozen=True)
class SignatureReport:
    """The verdict on one signature and the facts it rests on."""

    format: SignatureFormat
    name: str  # PDF field name, XML signature id, or "signature" for a lone CMS
    indication: Indication
    sub_indication: SubIndication | None
    signer: Signer | None
    claimed_signing_time: datetime | None
    timestamp_time: datetime | None
    level: Level | None
    intact: bool  # the signed bytes hash to the signed digest
    crypto_valid: bool  # and the signature over that digest verifies
    coverage: Coverage | None
    modifications: Modifications | None
    trusted_chain: tuple[str, ...]  # subjects from the signer up to the trust anchor
    revocation_status: RevocationStatus
    revocation_source: RevocationSource
    messages: tuple[str, ...] = field(default=())

    @property
    def passed(self) -> bool:
        return self.indication is Indication.TOTAL_PASSED


@dataclass(frozen=True)
class VerificationReport:
    """Every signature of one file, and the file's own verdict (its weakest signature)."""

    sha256: str
    signatures: tuple[SignatureReport, ...]
    policy: str  # which policy produced it (see `signatures.policy`)
    validation_time: datetime

    @property
    def indication(self) -> Indication:
        order = [Indication.TOTAL_FAILED, Indication.INDETERMINATE, Indication.TOTAL_PASSED]
        for indication in order:
            if any(s.indication is indication for s in self.signatures):
                return indication
        return Indication.INDETERMINATE

    def as_json(self) -> dict[str, Any]:
        """The report as JSON-ready values (enums as strings, times in ISO 8601)."""
        return _jsonable({"indication": self.indication, **asdict(self)})


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value
