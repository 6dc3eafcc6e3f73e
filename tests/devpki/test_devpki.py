"""The test PKI is served for real on loopback and its helpers produce verifiable files.

Each test speaks HTTP to the served PKI (OCSP, CRLs, certificates, TSA) or checks a file
signed through it, so a broken URL or an unserved endpoint fails here first rather than in
the verifier's tests.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from io import BytesIO

import httpx
import pytest
from asn1crypto import cms, tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509 import ocsp
from lxml import etree
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import (
    DocumentSecurityStore,
    async_validate_detached_cms,
    async_validate_pdf_signature,
)
from signxml.xades import XAdESVerifier

from devpki import LEVELS, TestPki, sign_detached, sign_pdf, sign_xml

DS = "{http://www.w3.org/2000/09/xmldsig#}"


def crypto_cert(pki: TestPki, label: str) -> x509.Certificate:
    return x509.load_der_x509_certificate(pki.cert(label).dump())


def ocsp_url(cert: x509.Certificate) -> str:
    aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    return next(
        d.access_location.value
        for d in aia
        if d.access_method == x509.oid.AuthorityInformationAccessOID.OCSP
    )


def ask_ocsp(pki: TestPki, label: str) -> ocsp.OCSPResponse:
    """POST an OCSP request to the URL written in the certificate, as a verifier would."""
    cert, issuer = crypto_cert(pki, label), crypto_cert(pki, "interm")
    request = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA256()).build()
    response = httpx.post(
        ocsp_url(cert),
        content=request.public_bytes(serialization.Encoding.DER),
        headers={"Content-Type": "application/ocsp-request"},
    )
    response.raise_for_status()
    answer = ocsp.load_der_ocsp_response(response.content)
    assert answer.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    assert answer.serial_number == cert.serial_number
    return answer


def test_urls_in_the_certificates_point_at_the_served_pki(test_pki: TestPki) -> None:
    cert = crypto_cert(test_pki, "signer")
    aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    crl_dp = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    urls = [d.access_location.value for d in aia]
    urls += [name.value for point in crl_dp for name in point.full_name]
    assert len(urls) == 3
    assert all(url.startswith(f"http://{test_pki.host}/") for url in urls)
    ca_issuers = next(
        d.access_location.value
        for d in aia
        if d.access_method == x509.oid.AuthorityInformationAccessOID.CA_ISSUERS
    )
    assert httpx.get(ca_issuers).content == test_pki.cert("interm").dump()
    assert test_pki.tsa_url.startswith(test_pki.base_url)
    assert [p.name for p in test_pki.trust_dir.iterdir()] == ["root.pem"]
    assert (test_pki.trust_dir / "root.pem").read_bytes() == test_pki.root_pem


def test_ocsp_answers_good_for_the_signer_and_revoked_for_the_revoked(test_pki: TestPki) -> None:
    assert ask_ocsp(test_pki, "signer").certificate_status == ocsp.OCSPCertStatus.GOOD
    revoked = ask_ocsp(test_pki, "revoked")
    assert revoked.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert revoked.revocation_time_utc == datetime(2025, 6, 1, tzinfo=UTC)
    assert revoked.revocation_reason == x509.ReasonFlags.key_compromise
    assert revoked.certificates == [crypto_cert(test_pki, "interm-ocsp")]


def test_the_crls_list_the_revoked_signer_only(test_pki: TestPki) -> None:
    signer = crypto_cert(test_pki, "signer")
    crl_dp = signer.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    interm_crl = x509.load_der_x509_crl(httpx.get(crl_dp[0].full_name[0].value).content)
    assert interm_crl.is_signature_valid(crypto_cert(test_pki, "interm").public_key())
    assert interm_crl.next_update_utc > datetime.now(UTC)
    revoked = crypto_cert(test_pki, "revoked")
    assert [entry.serial_number for entry in interm_crl] == [revoked.serial_number]

    root_crl = x509.load_der_x509_crl(
        httpx.get(f"{test_pki.base_url}/chaine/crls/root/latest.crl").content
    )
    assert root_crl.is_signature_valid(crypto_cert(test_pki, "root").public_key())
    assert len(root_crl) == 0


async def test_the_tsa_answers(test_pki: TestPki) -> None:
    digest = hashlib.sha256(b"Chaine").digest()
    token = await test_pki.timestamper().async_timestamp(digest, "sha256")
    signed_data = token["content"]
    tst_info = tsp.TSTInfo.load(signed_data["encap_content_info"]["content"].parsed.dump())
    assert tst_info["message_imprint"]["hashed_message"].native == digest
    certs = [c.chosen for c in signed_data["certificates"]]
    assert test_pki.cert("tsa").dump() in [c.dump() for c in certs]


@pytest.mark.parametrize("level", LEVELS)
async def test_a_pdf_signed_at_each_level_validates(test_pki: TestPki, level: str) -> None:
    reader = PdfFileReader(BytesIO(await sign_pdf(test_pki, "signer", level)))
    signatures = reader.embedded_signatures
    assert len(signatures) == (2 if level == "B-LTA" else 1)
    signature = signatures[0]
    assert signature.signer_cert.dump() == test_pki.cert("signer").dump()
    long_term = level in ("B-LT", "B-LTA")
    assert ("/DSS" in reader.root) == long_term
    if long_term:
        # Offline, from the DSS alone: the embedded validation info must be enough.
        dss = DocumentSecurityStore.read_dss(reader)
        assert len(dss.ocsps) >= 1 and len(dss.crls) >= 1
        context = dss.as_validation_context(
            {"trust_roots": [test_pki.cert("root")], "revocation_mode": "require"}
        )
    else:
        context = test_pki.validation_context()
    try:
        status = await async_validate_pdf_signature(signature, context)
    finally:
        await context.aclose()
    assert status.bottom_line, status.pretty_print_details()
    if level == "B-B":
        assert status.timestamp_validity is None
    else:
        assert status.timestamp_validity is not None and status.timestamp_validity.trusted
    if level == "B-LTA":
        assert signatures[1].sig_object_type == "/DocTimeStamp"


async def test_a_revoked_signer_gets_a_dss_saying_so(test_pki: TestPki) -> None:
    reader = PdfFileReader(BytesIO(await sign_pdf(test_pki, "revoked", "B-LTA")))
    assert len(reader.embedded_signatures) == 2
    context = DocumentSecurityStore.read_dss(reader).as_validation_context(
        {"trust_roots": [test_pki.cert("root")], "revocation_mode": "require"}
    )
    status = await async_validate_pdf_signature(reader.embedded_signatures[0], context)
    assert status.intact and status.valid
    assert status.revoked and not status.bottom_line


async def test_the_other_signers_sign_at_b_lt(test_pki: TestPki) -> None:
    for name in ("expired", "no-nonrepudiation", "seal"):
        reader = PdfFileReader(BytesIO(await sign_pdf(test_pki, name, "B-LT")))
        assert reader.embedded_signatures[0].signer_cert.dump() == test_pki.cert(name).dump()
        assert "/DSS" in reader.root
    usage = crypto_cert(test_pki, "no-nonrepudiation").extensions.get_extension_for_class(
        x509.KeyUsage
    )
    assert usage.value.digital_signature and not usage.value.content_commitment


@pytest.mark.parametrize("timestamp", [False, True])
async def test_a_detached_cades_signature_validates(test_pki: TestPki, timestamp: bool) -> None:
    data = b"<Invoice/>"
    p7s = cms.ContentInfo.load(await sign_detached(test_pki, "signer", data, timestamp))
    signed_data = p7s["content"]
    assert signed_data["encap_content_info"]["content"].native is None  # detached
    context = test_pki.validation_context()
    try:
        status = await async_validate_detached_cms(data, signed_data, context)
    finally:
        await context.aclose()
    assert status.bottom_line, status.pretty_print_details()
    unsigned = signed_data["signer_infos"][0]["unsigned_attrs"]
    has_timestamp = unsigned.native is not None and any(
        attr["type"].native == "signature_time_stamp_token" for attr in unsigned
    )
    assert has_timestamp == timestamp


def test_an_xades_signature_verifies_against_the_trust_dir(test_pki: TestPki) -> None:
    signed = sign_xml(test_pki, "signer", b"<Invoice><Total>42.00</Total></Invoice>")
    certs = etree.fromstring(signed).findall(f"{DS}Signature/{DS}KeyInfo/{DS}X509Data/*")
    assert len(certs) == 2
    # References: the document (enveloped), the XAdES SignedProperties, and the KeyInfo.
    results = XAdESVerifier().verify(
        signed, ca_pem_file=str(test_pki.trust_dir / "root.pem"), expect_references=3
    )
    assert etree.QName(results[0].signed_xml).localname == "Invoice"
    assert etree.QName(results[1].signed_xml).localname == "SignedProperties"


def test_the_pkcs12_holds_key_cert_and_chain(test_pki: TestPki) -> None:
    key, cert, chain = pkcs12.load_key_and_certificates(
        test_pki.pkcs12("seal", b"secret"), b"secret"
    )
    assert cert == crypto_cert(test_pki, "seal")
    assert key is not None and key.public_key() == cert.public_key()
    assert chain == [crypto_cert(test_pki, "interm"), crypto_cert(test_pki, "root")]
