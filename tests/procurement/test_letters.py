"""Award decision letters (R2181-3): each candidate reads, in French, what was decided and why."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import BytesIO

import pypdf
import pytest

from procurement.letters import award_letter, letter_name
from procurement.model import (
    Admissibility,
    Bid,
    BuyerContact,
    Consultation,
    Criterion,
    CriterionKind,
    Lot,
    Procedure,
    StandstillPeriods,
    rank,
    standstill_end,
)

DECIDED_AT = datetime(2026, 12, 7, 13, 30, tzinfo=UTC)  # 14 h 30 in Paris (CET)
WINNER, SECOND, REFUSED = "bid-eclair", "bid-durand", "bid-martin"
SIRETS = {WINNER: "73282932000074", SECOND: "55208131766522", REFUSED: "40483304800022"}
NAMES = {SIRETS[WINNER]: "Société Éclair", SIRETS[SECOND]: "Bâtiments Durand & Fils"}
CRITERIA = (
    Criterion("Prix", 60, CriterionKind.PRICE),
    Criterion("Valeur technique", 40),
)
RANKING = tuple(
    rank(
        CRITERIA,
        {
            WINNER: {"Prix": Decimal(90), "Valeur technique": Decimal("83.75")},  # 87,50
            SECOND: {"Prix": Decimal(80), "Valeur technique": Decimal(61)},  # 72,40
        },
    )
)
VERDICTS = {
    WINNER: Admissibility(WINNER, True),
    SECOND: Admissibility(SECOND, True),
    REFUSED: Admissibility(
        REFUSED,
        False,
        ("attestation d'assurance décennale manquante", "prix anormalement bas non justifié"),
    ),
}
REASONS = "Mémoire technique plus précis sur le phasage des travaux en site occupé."


def a_consultation(procedure: Procedure = Procedure.OPEN) -> Consultation:
    return Consultation(
        buyer_siret="21340301700013",
        reference="AO-2026.014",
        title="Rénovation énergétique de l'école élémentaire Jean-Moulin",
        description="Isolation, menuiseries et ventilation.",
        procedure=procedure,
        cpv_codes=("45321000-3",),
        lots=(Lot(1, "Lot unique", Decimal("480000")),),
        criteria=CRITERIA,
        questions_deadline=datetime(2026, 10, 20, 10, 0, tzinfo=UTC),
        submission_deadline=datetime(2026, 10, 30, 11, 0, tzinfo=UTC),
        contact=BuyerContact("Hélène Garçon", "marches@sete.fr", "04 67 00 00 00"),
        buyer_name="Communauté d'agglomération de Sète",
    )


def a_bid(bid_id: str) -> Bid:
    return Bid(bid_id, SIRETS[bid_id], (), datetime(2026, 10, 29, 16, 45, tzinfo=UTC))


def letter_to(bid_id: str, procedure: Procedure = Procedure.OPEN, **changes: object) -> str:
    """The text of the letter to `bid_id`'s supplier, wrapped lines joined again."""
    arguments: dict[str, object] = {
        "winner": a_bid(WINNER),
        "ranking": RANKING,
        "verdict": VERDICTS[bid_id],
        "reasons": REASONS,
        "decided_at": DECIDED_AT,
        "standstill_end": standstill_end(procedure, DECIDED_AT, True, StandstillPeriods()),
        "supplier_names": NAMES,
    } | changes
    data = award_letter(a_consultation(procedure), a_bid(bid_id), **arguments)  # type: ignore[arg-type]
    return text_of(data)


def text_of(data: bytes) -> str:
    pages = pypdf.PdfReader(BytesIO(data)).pages
    return " ".join(" ".join(page.extract_text() for page in pages).split())


def test_the_winner_learns_its_bid_is_awarded_subject_to_standstill_and_signature() -> None:
    text = letter_to(WINNER)

    assert "Votre offre est retenue : le marché vous est attribué." in text
    assert "Destinataire Société Éclair (SIRET 73282932000074)" in text
    assert "classée 1re sur 2 offres classées, note pondérée 87,50 / 100" in text
    assert "ne vaut pas notification du marché" in text
    assert "Le marché ne sera pas signé avant le 18 décembre 2026 à 14 h 30" in text
    assert "référé précontractuel" not in text


def test_a_rejected_bidder_learns_its_rank_the_winner_the_reasons_and_the_standstill_end() -> None:
    text = letter_to(SECOND)

    assert "Votre offre n'a pas été retenue." in text
    assert "attribué" not in text
    assert "Votre offre classée 2e sur 2 offres classées, note pondérée 72,40 / 100" in text
    assert "Attributaire Société Éclair (SIRET 73282932000074)" in text
    assert "Offre retenue classée 1re sur 2 offres classées, note pondérée 87,50 / 100" in text
    assert f"Motifs de la décision {REASONS}" in text
    assert "Prix : 60 %" in text and "Valeur technique : 40 %" in text
    assert "Date de la décision 7 décembre 2026 à 14 h 30" in text
    assert (
        "Le marché ne sera pas signé avant le 18 décembre 2026 à 14 h 30 (heure de Paris)" in text
    )
    assert "référé précontractuel (article L551-1 du code de justice administrative)" in text


def test_an_inadmissible_bidder_learns_why_its_bid_was_set_aside() -> None:
    text = letter_to(REFUSED)

    assert "elle a été écartée avant le classement des offres" in text
    assert "– attestation d'assurance décennale manquante" in text
    assert "– prix anormalement bas non justifié" in text
    assert "note pondérée" not in text  # an unranked bid has no score to compare


def test_an_unnamed_supplier_is_addressed_by_its_siret() -> None:
    text = letter_to(REFUSED)

    assert "Destinataire SIRET 40483304800022" in text


def test_a_mapa_letter_says_no_standstill_applies() -> None:
    text = letter_to(SECOND, Procedure.ADAPTED)

    assert "Procédure procédure adaptée (MAPA)" in text
    assert "Aucun délai de suspension ne s'applique à cette procédure" in text
    assert "ne sera pas signé avant" not in text


def test_accents_survive_text_extraction() -> None:
    text = letter_to(SECOND)

    assert "Communauté d'agglomération de Sète (SIRET 21340301700013)" in text
    assert "AO-2026.014 : Rénovation énergétique de l'école élémentaire Jean-Moulin" in text
    assert "Bâtiments Durand & Fils" in text
    assert "Hélène Garçon" in text
    assert "Décision d'attribution" in text


def test_a_long_reasons_text_paginates_onto_a_second_page() -> None:
    reasons = "\n".join(
        f"Point {n} : l'offre retenue présente un planning détaillé et cohérent." for n in range(80)
    )
    data = award_letter(
        a_consultation(),
        a_bid(SECOND),
        winner=a_bid(WINNER),
        ranking=RANKING,
        verdict=VERDICTS[SECOND],
        reasons=reasons,
        decided_at=DECIDED_AT,
        standstill_end=DECIDED_AT + timedelta(days=11),
        supplier_names=NAMES,
    )
    pages = pypdf.PdfReader(BytesIO(data)).pages
    text = text_of(data)

    assert len(pages) >= 2
    assert f"page 2 sur {len(pages)}" in text
    assert all(f"Point {n} :" in text for n in range(80))
    assert text.index("Point 79 :") < text.index("pas signé avant le 18 décembre 2026")


def test_a_verdict_on_another_bid_is_refused() -> None:
    with pytest.raises(ValueError, match="verdict"):
        letter_to(SECOND, verdict=VERDICTS[WINNER])


def test_an_admissible_bid_missing_from_the_ranking_is_refused() -> None:
    with pytest.raises(ValueError, match="not ranked"):
        letter_to(SECOND, ranking=RANKING[:1])


def test_the_file_name_is_safe() -> None:
    tricky = dataclasses.replace(a_consultation(), reference="AO 2026/../014")

    assert letter_name(a_consultation(), a_bid(SECOND)) == (
        "attribution-AO-2026.014-55208131766522.pdf"
    )
    assert letter_name(tricky, a_bid(SECOND)) == "attribution-AO-2026-..-014-55208131766522.pdf"
