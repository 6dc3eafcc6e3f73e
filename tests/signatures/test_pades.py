"""PAdES verdicts with the real test PKI served on loopback (OCSP, CRLs, TSA)."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from core.config import Settings
from core.errors import ErrorCode, InvalidInput
from devpki import TestPki, sign_pdf
from signatures.fetching import FetchRules
from signatures.pades import verify_pdf
from signatures.policy import Limits, VerificationPolicy, load_trust_roots
from signatures.report import (
    Coverage,
    Indication,
    Level,
    Modifications,
    RevocationSource,
    RevocationStatus,
    SubIndication,
)

CORPUS = Settings().shared_dir / "corpus" / "signatures" / "pades"


async def only(data: bytes, policy: VerificationPolicy):
    (report,) = await verify_pdf(data, policy)
    return report


async def test_a_valid_signature_passes_with_fetched_revocation_data(
    test_pki: TestPki, online: VerificationPolicy
) -> None:
    report = await only(await sign_pdf(test_pki, "signer", "B-B"), online)
    assert (report.indication, report.sub_indication) == (Indication.TOTAL_PASSED, None)
    assert report.level is Level.B_B
    assert (report.intact, report.crypto_valid) == (True, True)
    assert (report.coverage, report.modifications) == (Coverage.ENTIRE_FILE, Modifications.NONE)
    assert (report.revocation_status, report.revocation_source) == (
        RevocationStatus.GOOD,
        RevocationSource.FETCHED,
    )
    assert report.signer is not None and "non_repudiation" in report.signer.key_usage
    assert len(report.trusted_chain) == 3  # signer, intermediate, root
    assert report.claimed_signing_time is not None


async def test_without_revocation_data_a_signature_is_never_passed(
    test_pki: TestPki, offline: VerificationPolicy
) -> None:
    report = await only(await sign_pdf(test_pki, "signer", "B-T"), offline)
    assert report.indication is Indication.INDETERMINATE
    assert report.revocation_status is RevocationStatus.UNKNOWN
    assert report.level is Level.B_T and report.timestamp_time is not None


@pytest.mark.parametrize(("level", "expected"), [("B-LT", Level.B_LT), ("B-LTA", Level.B_LTA)])
async def test_long_term_signatures_pass_offline_from_their_embedded_data(
    test_pki: TestPki, offline: VerificationPolicy, level: str, expected: Level
) -> None:
    signed = await sign_pdf(test_pki, "signer", level)
    before = len(test_pki.requests)
    report = await only(signed, offline)
    assert test_pki.requests[before:] == []  # the verifier, offline, fetched nothing
    assert report.indication is Indication.TOTAL_PASSED, report.messages
    assert report.level is expected
    assert report.revocation_source is RevocationSource.EMBEDDED
    assert report.coverage is Coverage.ENTIRE_REVISION  # the DSS (and timestamp) came later
    assert report.modifications is Modifications.LTA_UPDATES


async def test_a_revoked_signer_is_revoked(test_pki: TestPki, online: VerificationPolicy) -> None:
    untimed = await only(await sign_pdf(test_pki, "revoked", "B-B"), online)
    assert untimed.indication is not Indication.TOTAL_PASSED
    assert untimed.revocation_status is RevocationStatus.REVOKED
    assert untimed.sub_indication in {SubIndication.REVOKED, SubIndication.REVOKED_NO_POE}
    # A signature timestamp only proves the signature existed before it: no verdict yet.
    timestamped = await only(await sign_pdf(test_pki, "revoked", "B-T"), online)
    assert timestamped.sub_indication is SubIndication.REVOKED_NO_POE
    # A content timestamp proves it was made after the revocation (2025-06-01): failed.
    proven = await only(await sign_pdf(test_pki, "revoked", "B-T", content_timestamp=True), online)
    assert (proven.indication, proven.sub_indication) == (
        Indication.TOTAL_FAILED,
        SubIndication.REVOKED,
    )
    assert proven.revocation_status is RevocationStatus.REVOKED


async def test_an_expired_certificate_is_indeterminate(
    test_pki: TestPki, online: VerificationPolicy
) -> None:
    report = await only(await sign_pdf(test_pki, "expired", "B-B"), online)
    assert report.indication is Indication.INDETERMINATE
    assert report.sub_indication in {SubIndication.OUT_OF_BOUNDS_NO_POE, SubIndication.EXPIRED}


async def test_a_certificate_without_non_repudiation_is_not_accepted_for_signing(
    test_pki: TestPki, online: VerificationPolicy
) -> None:
    report = await only(await sign_pdf(test_pki, "no-nonrepudiation", "B-B"), online)
    assert report.indication is Indication.INDETERMINATE
    assert report.sub_indication in {
        SubIndication.CHAIN_CONSTRAINTS_FAILURE,
        SubIndication.SIG_CONSTRAINTS_FAILURE,
    }


async def test_an_unknown_root_gives_no_certificate_chain(test_pki: TestPki) -> None:
    policy = VerificationPolicy(
        name="empty", trust_roots=(), fetching=FetchRules(allowed_hosts=frozenset({test_pki.host}))
    )
    report = await only(await sign_pdf(test_pki, "signer", "B-B"), policy)
    assert (report.indication, report.sub_indication) == (
        Indication.INDETERMINATE,
        SubIndication.NO_CERTIFICATE_CHAIN_FOUND,
    )
    assert report.trusted_chain == ()


async def test_certificate_urls_on_loopback_are_never_fetched_unless_allow_listed(
    test_pki: TestPki,
) -> None:
    signed = await sign_pdf(test_pki, "signer", "B-B")
    guarded = VerificationPolicy(
        name="guarded",
        trust_roots=load_trust_roots(test_pki.trust_dir),
        fetching=FetchRules(),  # fetching on, but 127.0.0.1 is not a public address
    )
    before = len(test_pki.requests)
    report = await only(signed, guarded)
    assert test_pki.requests[before:] == []
    assert report.indication is Indication.INDETERMINATE
    assert report.revocation_status is RevocationStatus.UNKNOWN


async def test_bytes_appended_after_eof_are_not_covered(
    test_pki: TestPki, online: VerificationPolicy
) -> None:
    signed = await sign_pdf(test_pki, "signer", "B-B")
    report = await only(signed + b"\n% appended after signing\n", online)
    assert (report.indication, report.sub_indication) == (
        Indication.TOTAL_FAILED,
        SubIndication.HASH_FAILURE,
    )
    assert report.coverage is Coverage.TRAILING_DATA
    # A line feed some transfer added is not content: the signature still holds.
    padded = await only(signed + b"\r\n", online)
    assert padded.indication is Indication.TOTAL_PASSED


def _change_page_content(signed: bytes) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    stream = generic.StreamObject(stream_data=b"BT /F1 24 Tf 72 700 Td (PAY 1,000,000 EUR) Tj ET")
    page["/Contents"] = writer.add_object(stream)
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


async def test_content_changed_in_a_later_revision_fails(
    test_pki: TestPki, online: VerificationPolicy
) -> None:
    changed = _change_page_content(await sign_pdf(test_pki, "signer", "B-B"))
    report = await only(changed, online)
    assert (report.indication, report.sub_indication) == (
        Indication.TOTAL_FAILED,
        SubIndication.HASH_FAILURE,
    )
    assert report.intact  # the signed revision itself is untouched...
    assert report.modifications is Modifications.OTHER  # ...but the file is not what was signed


async def test_a_second_signature_over_a_modified_revision_does_not_launder_it(
    test_pki: TestPki, online: VerificationPolicy
) -> None:
    changed = _change_page_content(await sign_pdf(test_pki, "signer", "B-B"))
    first, second = await verify_pdf(await sign_pdf(test_pki, "signer", "B-B", changed), online)
    assert first.indication is Indication.TOTAL_FAILED
    assert first.modifications is Modifications.OTHER
    assert second.indication is Indication.TOTAL_PASSED


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"not a pdf at all", id="not-pdf"),
        pytest.param(b"%PDF-1.7\n1 0 obj << /Type /Catalog", id="truncated-header"),
        pytest.param(b"%PDF-1.7\n" + b"\x00\xff" * 500, id="garbage"),
    ],
)
async def test_unreadable_files_are_refused_with_a_code(
    data: bytes, offline: VerificationPolicy
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await verify_pdf(data, offline)
    assert refused.value.code is ErrorCode.SIGNATURE_INPUT_INVALID


async def test_a_truncated_signed_pdf_is_refused_or_failed(
    test_pki: TestPki, offline: VerificationPolicy
) -> None:
    signed = await sign_pdf(test_pki, "signer", "B-B")
    try:
        reports = await verify_pdf(signed[: len(signed) // 2], offline)
    except InvalidInput as refused:
        assert refused.code in {ErrorCode.SIGNATURE_INPUT_INVALID, ErrorCode.SIGNATURE_NOT_FOUND}
    else:
        assert all(r.indication is not Indication.TOTAL_PASSED for r in reports)


async def test_deeply_nested_objects_do_not_escape_as_recursion_errors(
    offline: VerificationPolicy,
) -> None:
    depth = 50_000
    nested = b"[" * depth + b"]" * depth
    data = (
        b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R /Deep " + nested + b" >> endobj\n"
        b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
        b"trailer << /Root 1 0 R /Size 3 >>\n%%EOF\n"
    )
    with pytest.raises(InvalidInput) as refused:
        await verify_pdf(data, offline)
    assert refused.value.code in {ErrorCode.SIGNATURE_INPUT_INVALID, ErrorCode.SIGNATURE_NOT_FOUND}


async def test_a_million_objects_are_refused_by_the_limits_quickly(
    offline: VerificationPolicy,
) -> None:
    body = b"".join(b"%d 0 obj null endobj\n" % n for n in range(1, 1_000_001))
    data = b"%PDF-1.7\n" + body + b"trailer << /Size 1000001 >>\n%%EOF\n"
    started = time.perf_counter()
    with pytest.raises(InvalidInput, match="more than 200000 objects"):
        await verify_pdf(data, offline)
    assert time.perf_counter() - started < 10  # a bound on the refusal, not a benchmark


async def test_the_size_limit_is_checked_before_parsing(test_pki: TestPki) -> None:
    policy = VerificationPolicy(name="tiny", trust_roots=(), limits=Limits(max_bytes=100))
    with pytest.raises(InvalidInput, match="larger than 100 bytes"):
        await verify_pdf(await sign_pdf(test_pki, "signer", "B-B"), policy)


CORPUS_VERDICTS = {
    # file: (indication, sub-indication) with an empty trust store, per pyHanko's own tests
    "pdf-sig-with-econtent.pdf": (Indication.TOTAL_FAILED, SubIndication.FORMAT_FAILURE),
    "ed448-disallowed-hash.pdf": (
        Indication.INDETERMINATE,
        SubIndication.CRYPTO_CONSTRAINTS_FAILURE,
    ),
    "coverage-anomalies/tail-uncovered.pdf": (Indication.TOTAL_FAILED, SubIndication.HASH_FAILURE),
    "coverage-anomalies/one-byterange.pdf": (Indication.TOTAL_FAILED, SubIndication.HASH_FAILURE),
    "coverage-anomalies/weird-byterange.pdf": (Indication.TOTAL_FAILED, SubIndication.HASH_FAILURE),
    "coverage-anomalies/signature-gap-too-big.pdf": (
        Indication.TOTAL_FAILED,
        SubIndication.HASH_FAILURE,
    ),
    "sig-with-ski-sid.pdf": (Indication.INDETERMINATE, SubIndication.NO_CERTIFICATE_CHAIN_FOUND),
    "sig-no-signed-attrs.pdf": (Indication.INDETERMINATE, SubIndication.NO_CERTIFICATE_CHAIN_FOUND),
}


@pytest.mark.parametrize("name", sorted(CORPUS_VERDICTS))
async def test_corpus_files_get_their_documented_verdicts(name: str) -> None:
    policy = VerificationPolicy(name="empty", trust_roots=())
    reports = await verify_pdf((CORPUS / name).read_bytes(), policy)
    assert [(r.indication, r.sub_indication) for r in reports] == [CORPUS_VERDICTS[name]]


@pytest.mark.parametrize(
    "name",
    [
        "minimal-signed-twice-both-created.pdf",
        "minimal-signed-twice-second-created.pdf",
        "minimal-two-fields-signed-twice.pdf",
    ],
)
async def test_double_signatures_from_adobe_are_intact_form_filling(name: str) -> None:
    first, second = await verify_pdf(
        (CORPUS / name).read_bytes(), VerificationPolicy(name="empty", trust_roots=())
    )
    assert first.intact and second.intact
    assert first.modifications is Modifications.FORM_FILLING
    assert (second.coverage, second.modifications) == (Coverage.ENTIRE_FILE, Modifications.NONE)
    assert Indication.TOTAL_FAILED not in {first.indication, second.indication}


@pytest.mark.parametrize("name", ["minimal.pdf", "minimal-with-field.pdf"])
async def test_an_unsigned_pdf_has_no_signature_to_verify(name: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        await verify_pdf((CORPUS / name).read_bytes(), VerificationPolicy(name="e", trust_roots=()))
    assert refused.value.code is ErrorCode.SIGNATURE_NOT_FOUND


def test_corpus_folder_is_there() -> None:
    assert Path(CORPUS / "minimal.pdf").is_file()
