"""The letter that tells each candidate the award decision, as an A4 PDF in French.

R2181-3 Code de la commande publique: as soon as the award is decided, every rejected
bidder learns that its bid is rejected and why; one whose bid was admissible also learns
the name of the awarded bidder, what made the retained bid better (its rank and score
against its own, and the buyer's reasons), and the end of the standstill before which the
contract will not be signed (R2182-1). The awarded bidder learns it won, and when the
contract may be signed. Pure: values in, PDF bytes out; the activity stores and seals it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from core.pdf_text import BOLD, Block, paragraph, render, row
from invoicing.deadlines import PARIS
from procurement.model import Admissibility, Bid, Consultation, Procedure, Ranked

TITLE = "Décision d'attribution"

PROCEDURES = {
    Procedure.OPEN: "appel d'offres ouvert",
    Procedure.RESTRICTED: "appel d'offres restreint",
    Procedure.ADAPTED: "procédure adaptée (MAPA)",
    Procedure.NEGOTIATED: "procédure avec négociation",
}
MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def award_letter(
    consultation: Consultation,
    bid: Bid,
    *,
    winner: Bid,
    ranking: tuple[Ranked, ...],
    verdict: Admissibility,
    reasons: str,
    decided_at: datetime,
    standstill_end: datetime | None,
    supplier_names: Mapping[str, str],
) -> bytes:
    """The award decision letter to the supplier of `bid`, as PDF bytes.

    `verdict` is `bid`'s admissibility; an admissible bid and the winner must be in
    `ranking`, since the letter states their rank and score. `standstill_end` is None when
    no standstill applies (MAPA).
    """
    if verdict.bid_id != bid.bid_id:
        raise ValueError(f"the verdict is on bid {verdict.bid_id}, not {bid.bid_id}")
    places = {ranked.bid_id: ranked for ranked in ranking}
    if winner.bid_id not in places:
        raise ValueError(f"the awarded bid {winner.bid_id} is not ranked")
    if verdict.admissible and bid.bid_id not in places:
        raise ValueError(f"the admissible bid {bid.bid_id} is not ranked")
    awarded = bid.bid_id == winner.bid_id
    if awarded and not verdict.admissible:
        raise ValueError(f"the awarded bid {bid.bid_id} is not admissible")
    c = consultation
    blocks: list[Block] = [
        paragraph(TITLE, BOLD, 16, space_after=10),
        row("Acheteur", _party(c.buyer_siret, c.buyer_name)),
        row("Consultation", f"{c.reference} : {c.title}"),
        row("Procédure", PROCEDURES[c.procedure]),
        row("Date de la décision", _moment(decided_at)),
        row("Destinataire", _party(bid.supplier_siret, supplier_names.get(bid.supplier_siret))),
        row("Offre concernée", f"n° {bid.bid_id}, reçue le {_moment(bid.received_at)}"),
        row("Critères d'attribution", *(f"{k.name} : {k.weight} %" for k in c.criteria)),
    ]
    winner_name = _party(winner.supplier_siret, supplier_names.get(winner.supplier_siret))
    count = len(ranking)
    if awarded:
        blocks += [
            _heading("Décision")
            + paragraph("Votre offre est retenue : le marché vous est attribué.", BOLD),
            paragraph(
                "Cette lettre ne vaut pas notification du marché : il vous sera notifié "
                "après sa signature par vous-même et par l'acheteur.",
                space_before=4,
            ),
            row("Classement", _place(places[bid.bid_id], count)),
        ]
    elif verdict.admissible:
        blocks += [
            _heading("Décision") + paragraph("Votre offre n'a pas été retenue.", BOLD),
            row("Attributaire", winner_name),
            row("Offre retenue", _place(places[winner.bid_id], count)),
            row("Votre offre", _place(places[bid.bid_id], count)),
        ]
    else:
        blocks += [
            _heading("Décision")
            + paragraph(
                "Votre offre n'a pas été retenue : elle a été écartée avant le classement "
                "des offres.",
                BOLD,
            ),
            row(
                "Motifs du rejet de votre offre",
                *(f"– {reason}" for reason in verdict.reasons or ("motifs non précisés",)),
            ),
            row("Attributaire", winner_name),
        ]
    paragraphs = [line.strip() for line in reasons.splitlines() if line.strip()]
    if paragraphs:
        blocks.append(row("Motifs de la décision", *paragraphs))
    blocks.append(_heading("Délai de suspension") + _standstill(standstill_end, awarded))
    contact = c.contact
    blocks.append(
        _heading("Contact")
        + row("Pour l'acheteur", *filter(None, (contact.name, contact.email, contact.phone)))
    )
    return render(
        blocks,
        title=f"{TITLE} : {c.reference}",
        footer=f"Chaîne · {TITLE} · {c.reference}",
    )


def letter_name(consultation: Consultation, bid: Bid) -> str:
    """`attribution-<reference>-<siret>.pdf`, safe as a file name and an attachment name."""
    reference = _UNSAFE.sub("-", consultation.reference)
    siret = _UNSAFE.sub("-", bid.supplier_siret)
    return f"attribution-{reference}-{siret}.pdf"


def _standstill(end: datetime | None, awarded: bool) -> Block:
    if end is None:
        # R2182-1: the standstill binds formalised procedures only.
        return paragraph(
            "Aucun délai de suspension ne s'applique à cette procédure : le marché peut être "
            "signé sans attendre."
        )
    text = f"Le marché ne sera pas signé avant le {_moment(end)} (heure de Paris)."
    if not awarded:
        # L551-1 code de justice administrative: the référé précontractuel, until signature.
        text += (
            " Pendant ce délai, vous pouvez saisir le juge du référé précontractuel "
            "(article L551-1 du code de justice administrative)."
        )
    return paragraph(text)


def _heading(text: str) -> Block:
    """A section title; joined to the block under it so it never ends a page."""
    return paragraph(text, BOLD, 12, space_before=14, space_after=4)


def _party(siret: str, name: str | None) -> str:
    return f"{name} (SIRET {siret})" if name else f"SIRET {siret}"


def _place(ranked: Ranked, count: int) -> str:
    """`classée 2e sur 3 offres classées, note pondérée 72,40 / 100` (offre: 1re, feminine)."""
    rank = "1re" if ranked.rank == 1 else f"{ranked.rank}e"
    tied = " ex aequo" if ranked.tied else ""
    score = _decimal(ranked.total)
    return f"classée {rank}{tied} sur {count} offres classées, note pondérée {score} / 100"


def _decimal(value: Decimal) -> str:
    return f"{value:.2f}".replace(".", ",")


def _moment(moment: datetime) -> str:
    """`18 décembre 2026 à 14 h 30`, on the Paris wall clock; the 1st is `1er`."""
    local = moment.astimezone(PARIS)
    day = "1er" if local.day == 1 else str(local.day)
    return f"{day} {MONTHS[local.month - 1]} {local.year} à {local.hour} h {local.minute:02d}"
