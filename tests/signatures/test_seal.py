"""Chaîne's seal, made with the test PKI's seal certificate and TSA, checked by our verifier."""

from __future__ import annotations

import logging
import stat
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from core.errors import ErrorCode
from devpki import TestPki
from signatures.fetching import FetchRules
from signatures.pades import verify_pdf
from signatures.policy import VerificationPolicy, load_trust_roots
from signatures.rendering import report_pdf
from signatures.report import (
    Indication,
    Level,
    RevocationSource,
    RevocationStatus,
    SignatureFormat,
    SignatureReport,
    VerificationReport,
)
from signatures.seal import (
    DEVELOPMENT_PASSPHRASE,
    FIELD_NAME,
    SealKey,
    SealUnavailable,
    development_seal,
    load_seal,
    seal_pdf,
)

PASSPHRASE = b"correct horse"


def a_report_pdf() -> bytes:
    """What Chaîne seals most: a verification report."""
    signature = SignatureReport(
        format=SignatureFormat.PADES,
        name="Signature1",
        indication=Indication.TOTAL_PASSED,
        sub_indication=None,
        signer=None,
        claimed_signing_time=None,
        timestamp_time=None,
        level=Level.B_T,
        intact=True,
        crypto_valid=True,
        coverage=None,
        modifications=None,
        trusted_chain=(),
        revocation_status=RevocationStatus.GOOD,
        revocation_source=RevocationSource.FETCHED,
    )
    report = VerificationReport(
        sha256="00" * 32,
        signatures=(signature,),
        policy="test",
        validation_time=datetime(2026, 1, 5, tzinfo=UTC),
    )
    return report_pdf(report, "offre.pdf")


def the_seal(pki: TestPki) -> SealKey:
    return load_seal(pki.pkcs12("seal", PASSPHRASE), PASSPHRASE)


def reaching(pki: TestPki, **limits: int) -> FetchRules:
    return FetchRules(allowed_hosts=frozenset({pki.host}), **limits)


def policy(pki: TestPki, fetching: FetchRules | None) -> VerificationPolicy:
    return VerificationPolicy(
        name="test", trust_roots=load_trust_roots(pki.trust_dir), fetching=fetching
    )


async def test_with_fetch_rules_the_seal_is_b_lt_and_verifies_offline(test_pki: TestPki) -> None:
    sealed = await seal_pdf(
        a_report_pdf(),
        the_seal(test_pki),
        tsa_url=test_pki.tsa_url,
        fetch_rules=reaching(test_pki),
        trust_roots=load_trust_roots(test_pki.trust_dir),
    )

    # No fetching at verification: the revocation data travels in the file.
    (report,) = await verify_pdf(sealed, policy(test_pki, fetching=None))
    assert report.name == FIELD_NAME
    assert report.level is Level.B_LT
    assert report.indication is Indication.TOTAL_PASSED, report.messages
    assert report.revocation_source is RevocationSource.EMBEDDED


async def test_without_revocation_data_the_seal_falls_back_to_b_t(
    test_pki: TestPki, caplog: pytest.LogCaptureFixture
) -> None:
    no_fetch_allowed = reaching(test_pki, max_requests=0)

    with caplog.at_level(logging.WARNING, logger="signatures.seal"):
        sealed = await seal_pdf(
            a_report_pdf(),
            the_seal(test_pki),
            tsa_url=test_pki.tsa_url,
            fetch_rules=no_fetch_allowed,
        )

    assert "sealing at B-T" in caplog.text
    (report,) = await verify_pdf(sealed, policy(test_pki, fetching=reaching(test_pki)))
    assert report.level is Level.B_T
    assert report.timestamp_time is not None
    assert report.indication is Indication.TOTAL_PASSED, report.messages


async def test_a_timestamp_authority_the_guard_refuses_is_unavailable(test_pki: TestPki) -> None:
    # Loopback is not public: without an allow-list naming it, the TSA is not contacted.
    with pytest.raises(SealUnavailable) as refused:
        await seal_pdf(
            a_report_pdf(), the_seal(test_pki), tsa_url=test_pki.tsa_url, fetch_rules=None
        )

    assert refused.value.code is ErrorCode.SEAL_UNAVAILABLE
    assert refused.value.status == 503


async def test_the_development_seal_is_b_b_untrusted_and_says_so(
    test_pki: TestPki, tmp_path: Path
) -> None:
    key = load_seal(development_seal(tmp_path / "seal.p12"), DEVELOPMENT_PASSPHRASE)

    sealed = await seal_pdf(a_report_pdf(), key, tsa_url=None, fetch_rules=None)

    assert key.development and not the_seal(test_pki).development
    (report,) = await verify_pdf(sealed, policy(test_pki, fetching=None))
    assert report.level is Level.B_B
    assert report.indication is Indication.INDETERMINATE
    assert report.signer is not None and "development" in report.signer.subject
    (embedded,) = PdfFileReader(BytesIO(sealed)).embedded_signatures
    assert "NON FIABLE" in embedded.sig_object["/Reason"]
    x1, y1, x2, y2 = embedded.sig_field["/Rect"]
    assert x2 > x1 and y2 > y1  # a visible stamp on the first page


def test_the_seal_key_never_shows_in_a_log_line(test_pki: TestPki) -> None:
    key = the_seal(test_pki)

    assert key.private_key.dump().hex() not in repr(key)
    assert "private_key" not in repr(key)


def test_a_wrong_passphrase_is_refused(test_pki: TestPki) -> None:
    with pytest.raises(SealUnavailable) as refused:
        load_seal(test_pki.pkcs12("seal", PASSPHRASE), b"wrong")

    assert refused.value.code is ErrorCode.SEAL_UNAVAILABLE
    assert refused.value.status == 503


def test_a_file_that_is_not_pkcs12_is_refused() -> None:
    with pytest.raises(SealUnavailable):
        load_seal(b"-----BEGIN CERTIFICATE-----", None)


def test_the_development_seal_is_made_once_and_kept_private(tmp_path: Path) -> None:
    path = tmp_path / "var" / "seal.p12"

    first = development_seal(path)
    second = development_seal(path)

    assert first == second
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["seal.p12"]  # no temporary file left
