"""`POST /v1/signatures/verify` over real HTTP, with the test PKI and a real seal."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pypdf import PdfReader

from core.principals import Role
from devpki import TestPki, default_pdf, sign_detached, sign_pdf
from signatures.fetching import FetchRules
from signatures.pades import verify_pdf
from signatures.policy import VerificationPolicy, load_trust_roots
from signatures.report import Indication, Level
from tests.api.test_conventions import assert_problem
from tests.conftest import ApiServer

BUYER = "11000201100044"
PASSPHRASE = "seal-passphrase"


@pytest.fixture
def api_overrides(test_pki: TestPki, tmp_path: Path) -> dict[str, object]:
    seal = tmp_path / "seal.p12"
    seal.write_bytes(test_pki.pkcs12("seal", PASSPHRASE.encode()))
    return {
        "signature_trust_dir": test_pki.trust_dir,
        "signature_fetching": True,
        "outbound_allowed_hosts": test_pki.host,
        "seal_pkcs12": seal,
        "seal_passphrase": PASSPHRASE,
        "seal_tsa_url": test_pki.tsa_url,
    }


async def test_a_signed_pdf_gets_its_report_for_any_role(api: ApiServer, test_pki: TestPki) -> None:
    signed = await sign_pdf(test_pki, "signer", "B-T")
    for role in (Role.SUPPLIER, Role.BUYER):
        client = await api.as_role(role, BUYER)
        response = await client.post(
            "/v1/signatures/verify", files={"file": ("offre.pdf", signed, "application/pdf")}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["indication"] == "TOTAL_PASSED"
        (signature,) = body["signatures"]
        assert (signature["format"], signature["level"]) == ("PAdES", "B-T")
        assert signature["revocation_status"] == "GOOD"
        assert "Alice" in signature["signer"]["subject"]
        assert "fetching on" in body["policy"]


async def test_a_detached_signature_is_verified_against_its_file(
    api: ApiServer, test_pki: TestPki
) -> None:
    client = await api.as_role(Role.BUYER, BUYER)
    memo = b"Memoire technique, lot 2\n" * 100
    p7s = await sign_detached(test_pki, "signer", memo)
    response = await client.post(
        "/v1/signatures/verify",
        files={"file": ("memoire.p7s", p7s), "signed_file": ("memoire.txt", memo)},
    )
    assert response.status_code == 200, response.text
    assert response.json()["signatures"][0]["format"] == "CAdES"
    assert response.json()["indication"] == "TOTAL_PASSED"
    tampered = await client.post(
        "/v1/signatures/verify",
        files={"file": ("memoire.p7s", p7s), "signed_file": ("memoire.txt", memo + b"!")},
    )
    assert tampered.json()["signatures"][0]["sub_indication"] == "HASH_FAILURE"
    alone = await client.post("/v1/signatures/verify", files={"file": ("memoire.p7s", p7s)})
    assert_problem(alone, 422, "SIGNATURE_SIGNED_FILE_MISSING")


async def test_files_without_a_signature_are_refused_with_a_code(
    api: ApiServer,
) -> None:
    client = await api.as_role(Role.SUPPLIER, BUYER)
    unsigned = await client.post("/v1/signatures/verify", files={"file": ("a.pdf", default_pdf())})
    assert_problem(unsigned, 422, "SIGNATURE_NOT_FOUND")
    garbage = await client.post("/v1/signatures/verify", files={"file": ("a.bin", b"\x00\x01zz")})
    assert_problem(garbage, 422, "SIGNATURE_INPUT_INVALID")
    missing = await client.post("/v1/signatures/verify", files={"other": ("a.pdf", b"x")})
    assert_problem(missing, 422, "VALIDATION_FAILED")
    as_json = await client.post("/v1/signatures/verify", json={"file": "x"})
    assert_problem(as_json, 415, "UNSUPPORTED_MEDIA_TYPE")
    anonymous = await api.anonymous().post(
        "/v1/signatures/verify", files={"file": ("a.pdf", default_pdf())}
    )
    assert_problem(anonymous, 401, "AUTH_REQUIRED")


async def test_the_pdf_report_is_sealed_by_chaine(api: ApiServer, test_pki: TestPki) -> None:
    client = await api.as_role(Role.BUYER, BUYER)
    signed = await sign_pdf(test_pki, "revoked", "B-B")
    response = await client.post(
        "/v1/signatures/verify?format=pdf", files={"file": ("offre.pdf", signed)}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "Rapport de vérification" in text and "robert@example.test" in text
    assert "RÉVOQUÉ" in text
    (seal,) = await verify_pdf(
        response.content,
        VerificationPolicy(
            name="check",
            trust_roots=load_trust_roots(test_pki.trust_dir),
            fetching=FetchRules(allowed_hosts=frozenset({test_pki.host})),
        ),
    )
    assert seal.indication is Indication.TOTAL_PASSED, seal.messages
    assert seal.level in {Level.B_T, Level.B_LT}
    assert seal.signer is not None and "Seal" in seal.signer.subject
