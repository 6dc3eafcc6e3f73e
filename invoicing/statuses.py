"""Invoice statuses, close to the public-sector list (Chorus Pro), in process order.

Which status may follow which, and who may move an invoice there, is the table of
`invoicing.transitions`; the reform's lifecycle code of each is in `invoicing.lifecycle_codes`.
"""

from __future__ import annotations

from enum import StrEnum


class InvoiceStatus(StrEnum):
    """Where an invoice stands; the date each was reached is kept with it."""

    DEPOSEE = "DEPOSEE"  # deposited and accepted by intake
    EN_COURS_ACHEMINEMENT = "EN_COURS_ACHEMINEMENT"  # being routed to the recipient
    MISE_A_DISPOSITION = "MISE_A_DISPOSITION"  # available to the recipient structure
    MISE_A_DISPOSITION_PREMIER_VALIDEUR = "MISE_A_DISPOSITION_PREMIER_VALIDEUR"  # works: MOE
    VALIDEE_PREMIER_VALIDEUR = "VALIDEE_PREMIER_VALIDEUR"  # works: accepted or amended by MOE
    REFUSEE_PREMIER_VALIDEUR = "REFUSEE_PREMIER_VALIDEUR"  # works: refused by MOE, final
    PRISE_EN_COMPTE = "PRISE_EN_COMPTE"  # taken in charge by the recipient
    SUSPENDUE = "SUSPENDUE"  # waiting for the supplier to complete it
    COMPLETEE = "COMPLETEE"  # completed by the supplier, back to the recipient
    A_RECYCLER = "A_RECYCLER"  # wrong recipient: to be rerouted
    REJETEE = "REJETEE"  # refused at intake or by the recipient, with a coded reason
    ANNULEE = "ANNULEE"  # cancelled by the supplier before processing
    SERVICE_FAIT = "SERVICE_FAIT"  # service done, certified or presumed
    MANDATEE = "MANDATEE"  # one mandate issued for this invoice
    MISE_A_DISPOSITION_COMPTABLE = "MISE_A_DISPOSITION_COMPTABLE"  # mandate with the accountant
    COMPTABILISEE = "COMPTABILISEE"  # booked by the accountant
    MISE_EN_PAIEMENT = "MISE_EN_PAIEMENT"  # transfer sent: the date interest stops running
    PAYEE = "PAYEE"  # payment confirmed


FINAL_STATUSES = frozenset(
    {
        InvoiceStatus.PAYEE,
        InvoiceStatus.ANNULEE,
        InvoiceStatus.REJETEE,
        # The supplier deposits a corrected statement, as after a rejection.
        InvoiceStatus.REFUSEE_PREMIER_VALIDEUR,
    }
)
"""Statuses after which an invoice's process ends: no action leads out of them."""
