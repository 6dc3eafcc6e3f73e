"""CAdES detached signatures (.p7s) over a file, with the real test PKI."""

from __future__ import annotations

import pytest

from core.errors import ErrorCode, InvalidInput
from devpki import TestPki, sign_detached
from signatures.cades import verify_cms
from signatures.policy import VerificationPolicy
from signatures.report import Indication, Level, RevocationStatus, SubIndication

TENDER = b"Offre de la societe Exemple pour le lot 1 : 12 500,00 EUR HT\n" * 20


async def test_a_detached_signature_over_its_file_passes(
    test_pki: TestPki, online: VerificationPolicy
) -> None:
    (report,) = await verify_cms(await sign_detached(test_pki, "signer", TENDER), TENDER, online)
    assert (report.indication, report.level) == (Indication.TOTAL_PASSED, Level.B_B)
    assert report.intact and report.crypto_valid
    assert report.revocation_status is RevocationStatus.GOOD
    assert report.signer is not None and "Alice" in report.signer.subject


async def test_a_timestamped_signature_reports_its_time(
    test_pki: TestPki, online: VerificationPolicy
) -> None:
    p7s = await sign_detached(test_pki, "signer", TENDER, timestamp=True)
    (report,) = await verify_cms(p7s, TENDER, online)
    assert (report.indication, report.level) == (Indication.TOTAL_PASSED, Level.B_T)
    assert report.timestamp_time is not None


async def test_a_signature_over_another_file_is_a_hash_failure(
    test_pki: TestPki, online: VerificationPolicy
) -> None:
    p7s = await sign_detached(test_pki, "signer", TENDER)
    (report,) = await verify_cms(p7s, TENDER.replace(b"12 500", b"92 500"), online)
    assert (report.indication, report.sub_indication) == (
        Indication.TOTAL_FAILED,
        SubIndication.HASH_FAILURE,
    )
    assert not report.intact


async def test_a_revoked_signer_is_not_passed(
    test_pki: TestPki, online: VerificationPolicy
) -> None:
    (report,) = await verify_cms(await sign_detached(test_pki, "revoked", TENDER), TENDER, online)
    assert report.indication is not Indication.TOTAL_PASSED
    assert report.revocation_status is RevocationStatus.REVOKED


async def test_a_detached_signature_needs_its_file(
    test_pki: TestPki, online: VerificationPolicy
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await verify_cms(await sign_detached(test_pki, "signer", TENDER), None, online)
    assert refused.value.code is ErrorCode.SIGNATURE_SIGNED_FILE_MISSING


@pytest.mark.parametrize(
    "data",
    [b"\x30\x03\x02\x01\x01", b"\x30\x82\xff\xff" + b"\x00" * 10, b"-----BEGIN PKCS7-----\n!!\n"],
)
async def test_what_is_not_a_cms_signature_is_refused(
    data: bytes, online: VerificationPolicy
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await verify_cms(data, TENDER, online)
    assert refused.value.code is ErrorCode.SIGNATURE_INPUT_INVALID


async def test_an_unknown_digest_algorithm_fails_as_a_format_failure(
    test_pki: TestPki, online: VerificationPolicy
) -> None:
    sha256 = bytes.fromhex("608648016503040201")  # 2.16.840.1.101.3.4.2.1
    unknown = sha256[:-1] + b"\x7f"  # 2.16.840.1.101.3.4.2.127: no such digest
    p7s = (await sign_detached(test_pki, "signer", TENDER)).replace(sha256, unknown)
    (report,) = await verify_cms(p7s, TENDER, online)
    assert (report.indication, report.sub_indication) == (
        Indication.TOTAL_FAILED,
        SubIndication.FORMAT_FAILURE,
    )
