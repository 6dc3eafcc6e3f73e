"""The e-invoicing reform's lifecycle codes (AFNOR XP Z12-012) for our statuses.

The reform makes four codes mandatory: 200 deposited, 210 refused (by the buyer), 212
cashed, 213 rejected (by a platform, at intake). The others are optional; the list below
follows the reform's external specifications as we know them. Codes 220 and 221 appear in
later versions of those specifications and are the least certain here; 214 "Visée" is taken
as the first validator's visa on a works statement, an assumption to check against the norm.
"""

from __future__ import annotations

from enum import StrEnum

from invoicing.statuses import InvoiceStatus


class LifecycleCode(StrEnum):
    """The lifecycle codes of XP Z12-012 that Chaîne sends (CDAR messages).

    202 (received by the platform) and 207 (disputed) have no status of ours.
    """

    DEPOSITED = "200"  # Déposée
    ISSUED_BY_PLATFORM = "201"  # Émise par la plateforme
    MADE_AVAILABLE = "203"  # Mise à disposition
    TAKEN_IN_CHARGE = "204"  # Prise en charge
    APPROVED = "205"  # Approuvée
    PARTIALLY_APPROVED = "206"  # Approuvée partiellement
    SUSPENDED = "208"  # Suspendue
    COMPLETED = "209"  # Complétée
    REFUSED = "210"  # Refusée: by the buyer
    PAYMENT_TRANSMITTED = "211"  # Paiement transmis
    CASHED = "212"  # Encaissée
    REJECTED = "213"  # Rejetée: by a platform
    VISAED = "214"  # Visée
    CANCELLED = "220"  # Annulée
    ROUTING_ERROR = "221"  # Erreur de routage


MANDATORY_CODES = frozenset(
    {
        LifecycleCode.DEPOSITED,
        LifecycleCode.REFUSED,
        LifecycleCode.CASHED,
        LifecycleCode.REJECTED,
    }
)
"""The codes every platform must send."""

_S = InvoiceStatus
CODE_OF_STATUS: dict[InvoiceStatus, LifecycleCode | None] = {
    _S.DEPOSEE: LifecycleCode.DEPOSITED,
    _S.EN_COURS_ACHEMINEMENT: LifecycleCode.ISSUED_BY_PLATFORM,  # on its way to the recipient
    _S.MISE_A_DISPOSITION: LifecycleCode.MADE_AVAILABLE,
    # Works: 203 is sent once, when the buyer gets the statement after the MOE.
    _S.MISE_A_DISPOSITION_PREMIER_VALIDEUR: None,
    _S.VALIDEE_PREMIER_VALIDEUR: LifecycleCode.VISAED,
    _S.REFUSEE_PREMIER_VALIDEUR: LifecycleCode.REFUSED,  # the MOE refuses for the buyer
    _S.PRISE_EN_COMPTE: LifecycleCode.TAKEN_IN_CHARGE,
    _S.SUSPENDUE: LifecycleCode.SUSPENDED,
    _S.COMPLETEE: LifecycleCode.COMPLETED,
    _S.A_RECYCLER: LifecycleCode.ROUTING_ERROR,
    _S.REJETEE: LifecycleCode.REFUSED,  # or REJECTED at intake: see `lifecycle_code`
    _S.ANNULEE: LifecycleCode.CANCELLED,
    _S.SERVICE_FAIT: LifecycleCode.APPROVED,  # or PARTIALLY_APPROVED: see `lifecycle_code`
    # Internal accounting steps: the reform has no code for them.
    _S.MANDATEE: None,
    _S.MISE_A_DISPOSITION_COMPTABLE: None,
    _S.COMPTABILISEE: None,
    _S.MISE_EN_PAIEMENT: LifecycleCode.PAYMENT_TRANSMITTED,
    # 212 is the payee's statement in B2B; the public payer sends it on confirmed payment.
    _S.PAYEE: LifecycleCode.CASHED,
}
"""Every status, with its code or None where the reform has none (a test keeps it whole)."""


def lifecycle_code(
    status: InvoiceStatus, *, rejected_at_intake: bool = False, partial: bool = False
) -> LifecycleCode | None:
    """The code to send for `status`; REJETEE and SERVICE_FAIT depend on how they came.

    `rejected_at_intake`: REJETEE by the platform (213) rather than by the buyer (210).
    `partial`: SERVICE_FAIT certified for part of the amount (206) rather than all (205).
    """
    if status is InvoiceStatus.REJETEE and rejected_at_intake:
        return LifecycleCode.REJECTED
    if status is InvoiceStatus.SERVICE_FAIT and partial:
        return LifecycleCode.PARTIALLY_APPROVED
    return CODE_OF_STATUS[status]
