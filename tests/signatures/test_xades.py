"""XAdES verification: the shared corpus's interoperability files, hostile XML, and
signatures made with the test PKI (devpki/) and checked online against it.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime

import pytest
from lxml import etree
from pyhanko.sign.timestamps import HTTPTimeStamper

from core.config import Settings
from core.errors import ErrorCode, InvalidInput
from devpki import TestPki, sign_xml
from signatures.policy import Limits, VerificationPolicy
from signatures.report import (
    Indication,
    Level,
    RevocationSource,
    RevocationStatus,
    SignatureFormat,
    SignatureReport,
    SubIndication,
)
from signatures.xades import verify_xml

CORPUS = Settings().shared_dir / "corpus"
XADES = CORPUS / "signatures" / "xades"
HARDENING = CORPUS / "xml-hardening"
DS = "{http://www.w3.org/2000/09/xmldsig#}"
XADES_NS = "{http://uri.etsi.org/01903/v1.3.2#}"
INVOICE = b"<Invoice xmlns='urn:chaine:test'><ID>F-2026-001</ID><Amount>1200.00</Amount></Invoice>"

UNTRUSTED = VerificationPolicy(name="no trust anchor", trust_roots=())

# What each corpus file comes to under a policy that trusts no CA. The MANIFEST's
# expectations are signxml's own interop test; where this table differs, it says why.
BROKEN = {
    # The signed content or SignedInfo was changed: the signature value no longer verifies.
    "dss-signed-altered-signedPropsRemoved.xml": SubIndication.SIG_CRYPTO_FAILURE,
    "nonconformant-dss-signed-altered-refRemoved.xml": SubIndication.SIG_CRYPTO_FAILURE,
    "valid-xades-policyId-newlines.xml": SubIndication.SIG_CRYPTO_FAILURE,
    # Not a signature Chaîne can read: unknown algorithm, or against the XAdES schema.
    "xades-unsupported-signature-algorithm.xml": SubIndication.FORMAT_FAILURE,
    "nonconformant-xades-extended-epes-sigPolStore-noDigest.xml": SubIndication.FORMAT_FAILURE,
    "nonconformant-xades-sign-cert-v1-wrong-serialnumber.xml": SubIndication.FORMAT_FAILURE,
}
UNIDENTIFIED_SIGNER = {
    # The signed SigningCertificate digest is not KeyInfo's certificate: the data is intact
    # but the signer cannot be identified (EN 319 102-1 § 5.2.3, as pyHanko says for CMS).
    "xades-sign-cert-v2-wrong-digest.xml",
    "xades-wrong-sign-cert-digest.xml",
}
WEAK_ALGORITHMS = {
    # RSA-SHA1 or a 1024-bit RSA key: refused by the policy's algorithm rules.
    "document.signed.bes.ptcc.xml",
    "document.signed.c.xml",
    "document.verified.c.xl.xml",
    "factura_ejemplo2_32v1.xml",
    "nonconformant-Signature-X-ES-100.xml",
    "nonconformant-Signature-X-ES-103.xml",
    "nonconformant-sellosFNMT-XAdES_A.xml",
}
# A self-signed, untrusted signer: pyHanko's reading (InvalidCertificateError), kept so
# that CAdES, PAdES and XAdES agree on the same certificate.
SELF_SIGNED = {"nonconformant-dss-2293.xml"}
# The MANIFEST expects a digest failure for nonconformant-X_BE_CONN_10.xml (a later
# signxml's interop test); with the signxml installed here its reference and certificate
# digests check out (recomputed by hand), so it verifies and is merely untrusted.


def corpus_names() -> list[str]:
    return sorted(path.name for path in XADES.glob("*.xml"))


def xades_file(name: str) -> bytes:
    return (XADES / name).read_bytes()


def hardening_file(name: str) -> bytes:
    return (HARDENING / name).read_bytes()


def expected_sub_indication(name: str) -> SubIndication:
    if name in BROKEN:
        return BROKEN[name]
    if name in UNIDENTIFIED_SIGNER:
        return SubIndication.NO_SIGNING_CERTIFICATE_FOUND
    if name in WEAK_ALGORITHMS:
        return SubIndication.CRYPTO_CONSTRAINTS_FAILURE
    if name in SELF_SIGNED:
        return SubIndication.CHAIN_CONSTRAINTS_FAILURE
    return SubIndication.NO_CERTIFICATE_CHAIN_FOUND


async def only_report(data: bytes, policy: VerificationPolicy = UNTRUSTED) -> SignatureReport:
    reports = await verify_xml(data, policy)
    assert len(reports) == 1
    return reports[0]


# --- the interoperability corpus -------------------------------------------------------


def test_the_corpus_is_there() -> None:
    assert len(corpus_names()) == 54


@pytest.mark.parametrize("name", corpus_names())
async def test_corpus_file_gets_its_documented_verdict(name: str) -> None:
    report = await only_report(xades_file(name))

    expected = expected_sub_indication(name)
    assert report.format is SignatureFormat.XADES
    assert report.sub_indication is expected, report.messages
    assert report.messages
    assert report.trusted_chain == ()
    if name in BROKEN:
        assert report.indication is Indication.TOTAL_FAILED
        assert not report.crypto_valid
    else:  # the signature itself verifies; only trust (or the policy) is lacking
        assert report.indication is Indication.INDETERMINATE
        assert report.intact and report.crypto_valid
        assert report.signer is not None
        assert report.revocation_status is RevocationStatus.UNKNOWN
        assert report.revocation_source is RevocationSource.NONE
    assert report.coverage is None and report.modifications is None


@pytest.mark.parametrize(
    ("name", "level"),
    [
        ("dss-signed.xml", Level.B_B),
        ("xades-extended-t.xml", Level.B_T),
        ("xades-extended-xl.xml", Level.B_LT),
        ("xades-lta-valid.xml", Level.B_LTA),
    ],
)
async def test_level_is_what_the_unsigned_properties_claim(name: str, level: Level) -> None:
    assert (await only_report(xades_file(name))).level is level


async def test_claimed_signing_time_is_the_signed_xades_signing_time() -> None:
    report = await only_report(xades_file("dss-signed.xml"))

    assert report.claimed_signing_time == datetime(2019, 2, 19, 12, 29, 1, tzinfo=UTC)
    assert report.timestamp_time is None


async def test_an_untrusted_timestamp_gives_no_timestamp_time() -> None:
    report = await only_report(xades_file("xades-extended-t.xml"))

    assert report.level is Level.B_T
    assert report.timestamp_time is None
    assert any("timestamp does not validate" in message for message in report.messages)


async def test_a_counter_signature_is_not_reported_as_a_signature_of_the_document() -> None:
    data = xades_file("xades-counter-signature-injected.xml")

    report = await only_report(data)

    assert report.name == "id-0cd24ecfe59b7acba7b328809810ad57"


async def test_a_signature_over_a_manifest_says_it_covers_only_part_of_the_document() -> None:
    report = await only_report(xades_file("xades-with-enveloped-manifest.xml"))

    assert any("covers only part of the document" in m for m in report.messages)


async def test_a_signature_over_the_whole_document_says_nothing_of_coverage() -> None:
    report = await only_report(xades_file("dss-signed.xml"))

    assert not any("covers only part" in m for m in report.messages)


# --- hostile and broken input ----------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    sorted(p.name for p in HARDENING.glob("*.xml") if not p.name.startswith("simple")),
)
async def test_xml_attacks_are_refused_before_anything_runs(name: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        await verify_xml(hardening_file(name), UNTRUSTED)

    assert refused.value.code is ErrorCode.SIGNATURE_INPUT_INVALID


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n",
        b"",
        b"<Invoice><ID>unclosed</Invoice>",
        b"<a>" * 200 + b"</a>" * 200,
    ],
    ids=["pdf", "empty", "not-well-formed", "too-deep"],
)
async def test_what_is_not_readable_xml_is_refused(data: bytes) -> None:
    with pytest.raises(InvalidInput) as refused:
        await verify_xml(data, UNTRUSTED)

    assert refused.value.code is ErrorCode.SIGNATURE_INPUT_INVALID


async def test_a_file_larger_than_the_policy_allows_is_refused() -> None:
    data = xades_file("dss-signed.xml")
    policy = VerificationPolicy(name="small", trust_roots=(), limits=Limits(max_bytes=1000))

    with pytest.raises(InvalidInput) as refused:
        await verify_xml(data, policy)

    assert refused.value.code is ErrorCode.SIGNATURE_INPUT_INVALID


async def test_more_signatures_than_the_policy_allows_are_refused() -> None:
    signature = b'<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"/>'
    data = b"<Invoice>" + signature * 3 + b"</Invoice>"
    policy = VerificationPolicy(name="two", trust_roots=(), limits=Limits(max_signatures=2))

    with pytest.raises(InvalidInput) as refused:
        await verify_xml(data, policy)

    assert refused.value.code is ErrorCode.SIGNATURE_INPUT_INVALID


async def test_xml_without_a_signature_is_signature_not_found() -> None:
    for data in (INVOICE, hardening_file("simple.xml")):
        with pytest.raises(InvalidInput) as refused:
            await verify_xml(data, UNTRUSTED)

        assert refused.value.code is ErrorCode.SIGNATURE_NOT_FOUND


@pytest.mark.parametrize(
    "signature",
    [
        b"<ds:Signature/>",
        b"<ds:Signature><ds:SignedInfo/><ds:SignatureValue>AA==</ds:SignatureValue>"
        b"<ds:KeyInfo><ds:X509Data><ds:X509Certificate>bm90IGEgY2VydA==</ds:X509Certificate>"
        b"</ds:X509Data></ds:KeyInfo></ds:Signature>",
    ],
    ids=["empty", "garbage-certificate"],
)
async def test_a_malformed_signature_is_a_format_failure_not_a_crash(signature: bytes) -> None:
    data = (
        b'<Invoice xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ID>1</ID>'
        + signature
        + b"</Invoice>"
    )

    report = await only_report(data)

    assert (report.indication, report.sub_indication) == (
        Indication.TOTAL_FAILED,
        SubIndication.FORMAT_FAILURE,
    )
    assert not report.intact and not report.crypto_valid


# --- signatures made with the test PKI -------------------------------------------------


async def test_a_valid_signer_checked_online_is_total_passed(
    test_pki: TestPki, online: VerificationPolicy
) -> None:
    report = await only_report(sign_xml(test_pki, "signer", INVOICE), online)

    assert report.indication is Indication.TOTAL_PASSED, report.messages
    assert report.sub_indication is None
    assert (report.revocation_status, report.revocation_source) == (
        RevocationStatus.GOOD,
        RevocationSource.FETCHED,
    )
    assert report.signer is not None and "Alice Valid" in report.signer.subject
    assert "non_repudiation" in report.signer.key_usage
    assert len(report.trusted_chain) == 3
    assert "Chaine Test Root CA" in report.trusted_chain[-1]
    assert report.level is Level.B_B
    assert report.claimed_signing_time is not None


async def test_a_revoked_signer_is_not_passed_and_its_revocation_is_reported(
    test_pki: TestPki, online: VerificationPolicy
) -> None:
    report = await only_report(sign_xml(test_pki, "revoked", INVOICE), online)

    # Revoked since 2025-06-01 and no timestamp proves the signature came before that.
    assert (report.indication, report.sub_indication) == (
        Indication.INDETERMINATE,
        SubIndication.REVOKED_NO_POE,
    )
    assert report.revocation_status is RevocationStatus.REVOKED
    assert report.revocation_source is RevocationSource.FETCHED
    assert report.trusted_chain == ()


async def test_an_expired_signer_is_out_of_bounds(
    test_pki: TestPki, online: VerificationPolicy
) -> None:
    report = await only_report(sign_xml(test_pki, "expired", INVOICE), online)

    assert (report.indication, report.sub_indication) == (
        Indication.INDETERMINATE,
        SubIndication.OUT_OF_BOUNDS_NO_POE,
    )


async def test_a_signer_without_non_repudiation_breaks_the_chain_constraints(
    test_pki: TestPki, online: VerificationPolicy
) -> None:
    data = sign_xml(test_pki, "no-nonrepudiation", INVOICE)

    report = await only_report(data, online)

    assert (report.indication, report.sub_indication) == (
        Indication.INDETERMINATE,
        SubIndication.CHAIN_CONSTRAINTS_FAILURE,
    )


async def test_a_policy_not_requiring_non_repudiation_accepts_digital_signature(
    test_pki: TestPki, online: VerificationPolicy
) -> None:
    lenient = VerificationPolicy(
        name="lenient",
        trust_roots=online.trust_roots,
        fetching=online.fetching,
        require_non_repudiation=False,
    )

    report = await only_report(sign_xml(test_pki, "no-nonrepudiation", INVOICE), lenient)

    assert report.indication is Indication.TOTAL_PASSED, report.messages


@pytest.mark.parametrize("signer", ["signer", "revoked", "expired", "no-nonrepudiation"])
async def test_without_fetching_there_is_no_revocation_data_and_no_pass(
    test_pki: TestPki, offline: VerificationPolicy, signer: str
) -> None:
    report = await only_report(sign_xml(test_pki, signer, INVOICE), offline)

    assert (report.indication, report.sub_indication) == (
        Indication.INDETERMINATE,
        SubIndication.TRY_LATER,
    )
    assert (report.revocation_status, report.revocation_source) == (
        RevocationStatus.UNKNOWN,
        RevocationSource.NONE,
    )
    assert report.intact and report.crypto_valid


async def test_a_signed_invoice_altered_after_signing_is_total_failed(
    test_pki: TestPki, online: VerificationPolicy
) -> None:
    signed = sign_xml(test_pki, "signer", INVOICE)
    altered = signed.replace(b"1200.00", b"9200.00")

    report = await only_report(altered, online)

    assert (report.indication, report.sub_indication) == (
        Indication.TOTAL_FAILED,
        SubIndication.HASH_FAILURE,
    )
    assert not report.intact
    assert report.revocation_status is RevocationStatus.UNKNOWN


async def test_a_swapped_signature_value_is_a_crypto_failure(
    test_pki: TestPki, online: VerificationPolicy
) -> None:
    first = etree.fromstring(sign_xml(test_pki, "signer", INVOICE))
    other = etree.fromstring(sign_xml(test_pki, "signer", INVOICE.replace(b"F-2026", b"F-2027")))
    first.find(f"{DS}Signature/{DS}SignatureValue").text = other.find(
        f"{DS}Signature/{DS}SignatureValue"
    ).text

    report = await only_report(etree.tostring(first), online)

    assert (report.indication, report.sub_indication) == (
        Indication.TOTAL_FAILED,
        SubIndication.SIG_CRYPTO_FAILURE,
    )


async def test_each_signature_of_a_file_is_judged_on_its_own(
    test_pki: TestPki, online: VerificationPolicy
) -> None:
    # The second enveloped signature is added inside what the first one signed.
    twice = sign_xml(test_pki, "signer", sign_xml(test_pki, "signer", INVOICE))

    first, second = await verify_xml(twice, online)

    assert first.name != second.name
    assert (first.indication, first.sub_indication) == (
        Indication.TOTAL_FAILED,
        SubIndication.HASH_FAILURE,
    )
    assert second.indication is Indication.TOTAL_PASSED, second.messages


async def with_signature_timestamp(
    pki: TestPki, signed: bytes, *, over: bytes | None = None, at: str | None = None
) -> bytes:
    """`signed` with a xades:SignatureTimeStamp from the served TSA (XAdES B-T): over the
    canonical ds:SignatureValue, or over `over` to make a timestamp of something else;
    dated `at` (ISO 8601) rather than now, through certomancer's fake-time header."""
    root = etree.fromstring(signed)
    signature = root.find(f"{DS}Signature")
    value = etree.tostring(signature.find(f"{DS}SignatureValue"), method="c14n")
    headers = {} if at is None else {"X-Certomancer-Fake-Time": at}
    token = await HTTPTimeStamper(pki.tsa_url, headers=headers).async_timestamp(
        hashlib.sha256(value if over is None else over).digest(), "sha256"
    )
    qualifying = signature.find(f"{DS}Object/{XADES_NS}QualifyingProperties")
    unsigned = etree.SubElement(qualifying, f"{XADES_NS}UnsignedProperties")
    properties = etree.SubElement(unsigned, f"{XADES_NS}UnsignedSignatureProperties")
    stamp = etree.SubElement(properties, f"{XADES_NS}SignatureTimeStamp")
    etree.SubElement(
        stamp,
        f"{DS}CanonicalizationMethod",
        Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
    )
    encapsulated = etree.SubElement(stamp, f"{XADES_NS}EncapsulatedTimeStamp")
    encapsulated.text = base64.b64encode(token.dump()).decode()
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


async def test_a_signature_timestamp_gives_level_b_t_and_its_time(
    test_pki: TestPki, online: VerificationPolicy
) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    data = await with_signature_timestamp(test_pki, sign_xml(test_pki, "signer", INVOICE))

    report = await only_report(data, online)

    assert report.indication is Indication.TOTAL_PASSED, report.messages
    assert report.level is Level.B_T
    assert report.timestamp_time is not None and report.timestamp_time >= before


async def test_a_timestamp_of_something_else_proves_nothing(
    test_pki: TestPki, online: VerificationPolicy
) -> None:
    signed = sign_xml(test_pki, "signer", INVOICE)
    data = await with_signature_timestamp(test_pki, signed, over=b"another signature")

    report = await only_report(data, online)

    assert report.indication is Indication.TOTAL_PASSED, report.messages
    assert report.timestamp_time is None
    assert any("timestamp does not validate" in message for message in report.messages)


async def test_a_signer_revoked_after_the_signature_timestamp_passes(
    test_pki: TestPki, online: VerificationPolicy
) -> None:
    signed = sign_xml(test_pki, "revoked", INVOICE)
    data = await with_signature_timestamp(test_pki, signed, at="2025-05-01T00:00:00+00:00")

    report = await only_report(data, online)

    # The timestamp proves the signature existed a month before the 2025-06-01 revocation.
    assert report.indication is Indication.TOTAL_PASSED, report.messages
    assert report.timestamp_time == datetime(2025, 5, 1, tzinfo=UTC)
    assert report.revocation_status is RevocationStatus.REVOKED
    assert len(report.trusted_chain) == 3


async def test_a_signer_revoked_before_the_signature_timestamp_stays_revoked(
    test_pki: TestPki, online: VerificationPolicy
) -> None:
    signed = sign_xml(test_pki, "revoked", INVOICE)
    data = await with_signature_timestamp(test_pki, signed, at="2025-07-01T00:00:00+00:00")

    report = await only_report(data, online)

    assert (report.indication, report.sub_indication) == (
        Indication.INDETERMINATE,
        SubIndication.REVOKED_NO_POE,
    )


async def test_a_signature_timestamped_before_the_certificate_was_issued_fails(
    test_pki: TestPki, online: VerificationPolicy
) -> None:
    signed = sign_xml(test_pki, "expired", INVOICE)  # valid 2020-01-01 to 2021-12-31
    data = await with_signature_timestamp(test_pki, signed, at="2019-07-01T00:00:00+00:00")

    report = await only_report(data, online)

    assert (report.indication, report.sub_indication) == (
        Indication.TOTAL_FAILED,
        SubIndication.NOT_YET_VALID,
    )


async def test_an_expired_signer_stays_out_of_bounds_even_timestamped_within_validity(
    test_pki: TestPki, online: VerificationPolicy
) -> None:
    signed = sign_xml(test_pki, "expired", INVOICE)
    data = await with_signature_timestamp(test_pki, signed, at="2021-06-01T00:00:00+00:00")

    report = await only_report(data, online)

    # Clearing it would need proof it was not revoked before it expired (not established).
    assert (report.indication, report.sub_indication) == (
        Indication.INDETERMINATE,
        SubIndication.OUT_OF_BOUNDS_NO_POE,
    )
    assert report.timestamp_time == datetime(2021, 6, 1, tzinfo=UTC)
