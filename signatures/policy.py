"""The validation policy, written down as one object rather than scattered defaults.

Chaîne's verdicts must hold in court, so the policy is strict where libraries are
lenient: revocation data is required for the signer and every intermediate
certificate (no data → INDETERMINATE, never PASSED), signing certificates must carry
the non-repudiation key usage, nothing is fetched from the network unless the policy
says so, and then only through `signatures.fetching`. Limits bound what a hostile file
may cost before any cryptography runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asn1crypto import x509
from pyhanko.keys import load_certs_from_pemder_data
from pyhanko.sign.validation.policy_decl import (
    CertificateFetchingRule,
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko.sign.validation.qualified.eutl_parse import read_qualified_service_definitions
from pyhanko.sign.validation.qualified.tsp import CAServiceInformation
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.policy_decl import REQUIRE_REVINFO, CertRevTrustPolicy
from pyhanko_certvalidator.registry import SimpleTrustManager

from core.config import Settings, SettingsError
from signatures.fetching import FetchRules, GuardedFetcherBackend

CERTIFICATE_SUFFIXES = (".pem", ".crt", ".cer", ".der")


@dataclass(frozen=True)
class Limits:
    """What a file may cost before Chaîne refuses to look further."""

    max_bytes: int = 50 * 1024 * 1024
    max_pdf_objects: int = 200_000
    max_signatures: int = 50


@dataclass(frozen=True)
class VerificationPolicy:
    """Everything a verdict depends on besides the file itself."""

    name: str
    trust_roots: tuple[x509.Certificate, ...]
    fetching: FetchRules | None = None  # None: validate with embedded data only
    limits: Limits = field(default_factory=Limits)
    time_tolerance: timedelta = timedelta(seconds=30)
    require_non_repudiation: bool = True

    def signature_spec(self, backend: GuardedFetcherBackend | None) -> SignatureValidationSpec:
        """pyHanko's validation settings for this policy (a fresh fetcher per validation)."""
        rule = (
            RevinfoOnlineFetchingRule.LOCAL_ONLY
            if backend is None
            else RevinfoOnlineFetchingRule.NO_HISTORICAL_FETCH
        )
        certificate_rule = (
            CertificateFetchingRule.NEVER_FETCH
            if backend is None
            else CertificateFetchingRule.FOLLOW_ONLINE_RULE
        )
        key_usage = (
            KeyUsageConstraints(key_usage={"non_repudiation"})
            if self.require_non_repudiation
            else KeyUsageConstraints(key_usage={"digital_signature", "non_repudiation"})
        )
        return SignatureValidationSpec(
            cert_validation_policy=CertValidationPolicySpec(
                trust_manager=SimpleTrustManager.build(trust_roots=self.trust_roots),
                revinfo_policy=CertRevTrustPolicy(REQUIRE_REVINFO),
                time_tolerance=self.time_tolerance,
            ),
            revinfo_gathering_policy=RevocationInfoGatheringSpec(
                online_fetching_rule=rule,
                fetcher_backend=backend,
                certificate_fetching_rule=certificate_rule,
            ),
            key_usage_settings=key_usage,
        )

    def pdf_spec(self, backend: GuardedFetcherBackend | None) -> PdfSignatureValidationSpec:
        return PdfSignatureValidationSpec(self.signature_spec(backend))

    def fetcher(self) -> GuardedFetcherBackend | None:
        return None if self.fetching is None else GuardedFetcherBackend(self.fetching)


class TrustStoreError(SettingsError):
    """The configured trust store cannot be read; the message names the file."""


def load_trust_roots(
    directory: Path | None, trusted_list: Path | None = None, *, at: datetime | None = None
) -> tuple[x509.Certificate, ...]:
    """Read the trust anchors: every certificate file of `directory`, plus the CA
    certificates of the qualified CA services of an EU trusted list snapshot.

    The snapshot's own XML signature is not checked here: install a snapshot you have
    verified (the README says how). Only services valid at `at` (default now) count.
    """
    roots: list[x509.Certificate] = []
    if directory is not None:
        if not directory.is_dir():
            raise TrustStoreError(f"CHAINE_SIGNATURE_TRUST_DIR: {directory} is not a directory.")
        for path in sorted(directory.iterdir()):
            if path.suffix.lower() not in CERTIFICATE_SUFFIXES:
                continue
            try:
                certs = [_parsed(cert) for cert in load_certs_from_pemder_data(path.read_bytes())]
                if not certs:  # e.g. a PEM file of keys only: pyHanko skips non-certificates
                    raise ValueError("no CERTIFICATE block")
            except (OSError, ValueError) as exc:
                raise TrustStoreError(
                    f"CHAINE_SIGNATURE_TRUST_DIR: {path} holds no readable certificate: {exc}"
                ) from exc
            roots.extend(certs)
    if trusted_list is not None:
        roots.extend(_trusted_list_roots(trusted_list, at or datetime.now(UTC)))
    unique = {cert.sha256: cert for cert in roots}
    return tuple(unique.values())


def _trusted_list_roots(path: Path, at: datetime) -> list[x509.Certificate]:
    roots = []
    try:
        services = list(read_qualified_service_definitions(path.read_text(encoding="utf-8")))
        for service in services:
            if not isinstance(service, CAServiceInformation):
                continue
            info = service.base_info
            if info.valid_from <= at and (info.valid_until is None or at < info.valid_until):
                roots.extend(_parsed(cert) for cert in info.provider_certs)
    except (OSError, ValueError, TypeError) as exc:  # TypeError: an X509Certificate not in base64
        raise TrustStoreError(
            f"CHAINE_SIGNATURE_TRUSTED_LIST: {path} cannot be read: {exc}"
        ) from exc
    return roots


def _parsed(cert: x509.Certificate) -> x509.Certificate:
    """`cert`, parsed in full, or ValueError.

    Why: asn1crypto parses lazily, so well-formed DER that is no certificate loads without
    error here, and would then fail every validation as if each signed file were malformed.
    """
    _ = cert.native
    return cert


def policy_from_settings(settings: Settings) -> VerificationPolicy:
    """The policy the settings select (README, "Signatures"): read once per process."""
    roots = load_trust_roots(settings.signature_trust_dir, settings.signature_trusted_list)
    fetching = (
        FetchRules(
            allowed_hosts=settings.allowed_hosts,
            timeout_seconds=settings.signature_fetch_timeout.total_seconds(),
            max_bytes=settings.signature_fetch_max_bytes,
        )
        if settings.signature_fetching
        else None
    )
    name = f"chaine-strict; {len(roots)} trust anchors; fetching {'on' if fetching else 'off'}"
    return VerificationPolicy(
        name=name,
        trust_roots=roots,
        fetching=fetching,
        limits=Limits(
            max_bytes=settings.upload_max_bytes,
            max_pdf_objects=settings.signature_max_pdf_objects,
        ),
    )
