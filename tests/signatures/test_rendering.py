"""The human form of a verification report: French, readable by any PDF reader, searchable."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from io import BytesIO

import pypdf
from pyhanko.pdf_utils.reader import PdfFileReader

from signatures.rendering import COVERAGES, LEVELS, MODIFICATIONS, SUB_INDICATIONS, report_pdf
from signatures.report import (
    Coverage,
    Indication,
    Level,
    Modifications,
    RevocationSource,
    RevocationStatus,
    SignatureFormat,
    SignatureReport,
    Signer,
    SubIndication,
    VerificationReport,
)

LABELS = (
    "Rapport de vérification de signature",
    "Résultat",
    "Signataire",
    "Heure de signature déclarée",
    "Horodatage",
    "Niveau",
    "Intégrité",
    "Couverture",
    "Modifications après signature",
    "Chaîne de confiance",
    "Révocation",
)


def a_signer(subject: str = "Common Name: Hélène Dupré, Organization: Société Éclair") -> Signer:
    return Signer(
        subject=subject,
        issuer="Common Name: Chaîne Test Intermediate CA",
        serial="1001",
        not_before=datetime(2024, 1, 1, tzinfo=UTC),
        not_after=datetime(2030, 1, 1, tzinfo=UTC),
        key_usage=("digital_signature", "non_repudiation"),
    )


def a_signature(name: str = "Signature1", **changes: object) -> SignatureReport:
    signature = SignatureReport(
        format=SignatureFormat.PADES,
        name=name,
        indication=Indication.TOTAL_PASSED,
        sub_indication=None,
        signer=a_signer(),
        claimed_signing_time=datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
        timestamp_time=datetime(2026, 3, 2, 9, 30, 5, tzinfo=UTC),
        level=Level.B_LT,
        intact=True,
        crypto_valid=True,
        coverage=Coverage.ENTIRE_FILE,
        modifications=Modifications.NONE,
        trusted_chain=("Hélène Dupré", "Chaîne Test Intermediate CA", "Chaîne Test Root CA"),
        revocation_status=RevocationStatus.GOOD,
        revocation_source=RevocationSource.EMBEDDED,
    )
    return dataclasses.replace(signature, **changes)


def a_report(*signatures: SignatureReport) -> VerificationReport:
    return VerificationReport(
        sha256="9f" * 32,
        signatures=signatures or (a_signature(),),
        policy="chaine-2026",
        validation_time=datetime(2026, 3, 3, 10, 0, tzinfo=UTC),
    )


def text_of(data: bytes) -> str:
    """The text of every page, wrapped lines joined again."""
    pages = pypdf.PdfReader(BytesIO(data)).pages
    return " ".join(" ".join(page.extract_text() for page in pages).split())


def test_the_report_names_the_verdict_the_signer_and_every_fact_in_french() -> None:
    text = text_of(report_pdf(a_report(), "offre-société.pdf"))

    for label in LABELS:
        assert label in text
    assert "VALIDE (TOTAL_PASSED)" in text
    assert "Hélène Dupré, Organization: Société Éclair" in text
    assert "offre-société.pdf" in text
    assert "02/03/2026 09:30:05 UTC" in text  # the timestamp
    assert "B-LT" in text
    assert "non révoqué (données incluses dans le fichier)" in text


def test_an_indeterminate_signature_says_why_in_words() -> None:
    signature = a_signature(
        indication=Indication.INDETERMINATE,
        sub_indication=SubIndication.NO_CERTIFICATE_CHAIN_FOUND,
        trusted_chain=(),
        revocation_status=RevocationStatus.UNKNOWN,
        revocation_source=RevocationSource.NONE,
        messages=("No path to a trust anchor.",),
    )
    text = text_of(report_pdf(a_report(signature)))

    assert "INDÉTERMINÉ (INDETERMINATE, NO_CERTIFICATE_CHAIN_FOUND)" in text
    assert "aucune chaîne vers une autorité de confiance" in text
    assert "No path to a trust anchor." in text


def test_the_file_verdict_is_its_weakest_signature() -> None:
    failed = a_signature(
        "Signature2",
        indication=Indication.TOTAL_FAILED,
        sub_indication=SubIndication.HASH_FAILURE,
        modifications=Modifications.OTHER,
    )
    text = text_of(report_pdf(a_report(a_signature(), failed)))

    assert "NON VALIDE (TOTAL_FAILED)" in text
    assert "le document a été modifié depuis sa signature" in text


def test_a_signature_nobody_could_read_still_renders() -> None:
    unreadable = a_signature(
        indication=Indication.TOTAL_FAILED,
        sub_indication=SubIndication.FORMAT_FAILURE,
        signer=None,
        claimed_signing_time=None,
        timestamp_time=None,
        level=None,
        intact=False,
        crypto_valid=False,
        coverage=None,
        modifications=None,
        trusted_chain=(),
    )
    text = text_of(report_pdf(a_report(unreadable)))

    assert "Signataire inconnu" in text
    assert "les données signées ont été modifiées ou sont illisibles" in text


def test_long_values_wrap_and_lose_nothing() -> None:
    message = "Le certificat " + "très " * 80 + "long."
    text = text_of(report_pdf(a_report(a_signature(messages=(message,)))))

    assert text.count("très") == 80
    assert "9f" * 32 in text.replace(" ", "")


def test_sixty_signatures_paginate() -> None:
    signatures = tuple(a_signature(f"Signature{n}") for n in range(1, 61))
    data = report_pdf(a_report(*signatures))
    pages = pypdf.PdfReader(BytesIO(data)).pages
    text = text_of(data)

    assert len(pages) > 10
    assert f"page 1 sur {len(pages)}" in text
    assert "Signature 60 sur 60 : Signature60" in text
    assert text.count("VALIDE (TOTAL_PASSED)") == 61  # the file's verdict and each signature's


def test_pyhanko_reads_what_it_wrote() -> None:
    data = report_pdf(a_report(*(a_signature(f"S{n}") for n in range(5))))

    reader = PdfFileReader(BytesIO(data))
    assert reader.root["/Pages"]["/Count"] == len(pypdf.PdfReader(BytesIO(data)).pages)


def test_characters_outside_winansi_lose_their_accent_not_the_line() -> None:
    signer = a_signer("Common Name: Łukasz Żółć → Ŝ")
    text = text_of(report_pdf(a_report(a_signature(signer=signer))))

    assert "Lukasz Zólc ? S" in text


def test_every_word_the_verifier_can_give_has_its_french_wording() -> None:
    assert set(COVERAGES) == set(Coverage)
    assert set(MODIFICATIONS) == set(Modifications)
    assert set(SUB_INDICATIONS) == set(SubIndication)
    assert set(LEVELS) == set(Level)
    for coverage in Coverage:
        assert "Couverture" in text_of(report_pdf(a_report(a_signature(coverage=coverage))))


def test_a_huge_word_from_the_file_is_cut_into_lines_and_kept_whole() -> None:
    word = "Z" * 20_000  # an attacker's signature id (re-measuring prefixes took minutes)
    text = text_of(report_pdf(a_report(a_signature(messages=(word,)))))
    assert text.count("Z") == 20_000
