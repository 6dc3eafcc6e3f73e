"""Coded reasons for rejecting, suspending, recycling and refusing an invoice.

Users asked for categorised reasons so that suppliers can automate their handling: each
reason is a stable code with a French and an English label. An intake rejection
(REJECT_AT_INTAKE) carries the validation report's rule codes (PF-*, BR-*) instead.
"""

from __future__ import annotations

from enum import StrEnum

from core.errors import ErrorCode, InvalidInput
from invoicing.transitions import Action


class CodedReason(StrEnum):
    """A reason code with its labels; members are declared as (code, French, English)."""

    label_fr: str
    label_en: str

    def __new__(cls, code: str, label_fr: str, label_en: str) -> CodedReason:
        member = str.__new__(cls, code)
        member._value_ = code
        member.label_fr = label_fr
        member.label_en = label_en
        return member


class RejectionReason(CodedReason):
    """Why the recipient rejects an invoice (REJETEE) or the MOE refuses a statement."""

    DUPLICATE = "DUPLICATE", "Facture en doublon", "Duplicate invoice"
    WRONG_AMOUNT = "WRONG_AMOUNT", "Montant erroné", "Wrong amount"
    NO_COMMITMENT = (
        "NO_COMMITMENT",
        "Engagement juridique absent ou inconnu",
        "No or unknown commitment",
    )
    SERVICE_NOT_DONE = "SERVICE_NOT_DONE", "Service non fait", "Service not done"
    WRONG_BANK_DETAILS = (
        "WRONG_BANK_DETAILS",
        "Coordonnées bancaires erronées",
        "Wrong bank details",
    )
    MISSING_MANDATORY_MENTION = (
        "MISSING_MANDATORY_MENTION",
        "Mention obligatoire absente",
        "Mandatory mention missing",
    )
    OTHER = "OTHER", "Autre motif", "Other reason"


class SuspensionReason(CodedReason):
    """Why the recipient suspends an invoice: pieces or mentions missing, wrong or
    inconsistent (R2192-27), which the supplier must supply (SUSPENDUE)."""

    MISSING_DOCUMENT = "MISSING_DOCUMENT", "Pièce justificative manquante", "Missing document"
    MISSING_PURCHASE_ORDER = (
        "MISSING_PURCHASE_ORDER",
        "Bon de commande manquant",
        "Missing purchase order",
    )
    AMOUNT_TO_CLARIFY = "AMOUNT_TO_CLARIFY", "Montant à justifier", "Amount to clarify"
    OTHER = "OTHER", "Autre motif", "Other reason"


class RecyclingReason(CodedReason):
    """Why the recipient sends an invoice back for rerouting (A_RECYCLER)."""

    WRONG_STRUCTURE = "WRONG_STRUCTURE", "Structure destinataire erronée", "Wrong structure"
    WRONG_SERVICE = "WRONG_SERVICE", "Service destinataire erroné", "Wrong service"


class AccountantRejectionReason(CodedReason):
    """Why the accountant rejects a mandate: the checks of décret 2012-1246 (GBCP) art. 20."""

    ORDERER_NOT_ACCREDITED = (
        "ORDERER_NOT_ACCREDITED",
        "Qualité de l'ordonnateur",
        "Orderer not accredited",
    )
    WRONG_IMPUTATION = "WRONG_IMPUTATION", "Imputation erronée", "Wrong budget imputation"
    INSUFFICIENT_CREDITS = "INSUFFICIENT_CREDITS", "Crédits insuffisants", "Insufficient credits"
    SERVICE_DONE_NOT_JUSTIFIED = (
        "SERVICE_DONE_NOT_JUSTIFIED",
        "Service fait non justifié",
        "Service done not justified",
    )
    LIQUIDATION_ERROR = "LIQUIDATION_ERROR", "Erreur de liquidation", "Liquidation error"
    MISSING_SUPPORTING_DOCUMENT = (
        "MISSING_SUPPORTING_DOCUMENT",
        "Pièce justificative manquante",
        "Missing supporting document",
    )
    DEBT_PRESCRIBED = "DEBT_PRESCRIBED", "Créance prescrite", "Debt time-barred"
    WRONG_PAYEE = (
        "WRONG_PAYEE",
        "Paiement non libératoire (créancier ou compte)",
        "Wrong payee or account",
    )
    OTHER = "OTHER", "Autre motif", "Other reason"


REASONS: dict[Action, type[CodedReason]] = {
    Action.REJECT: RejectionReason,
    Action.MOE_REFUSE: RejectionReason,
    Action.SUSPEND: SuspensionReason,
    Action.RECYCLE: RecyclingReason,
    Action.ACCOUNTANT_REJECT: AccountantRejectionReason,
    Action.CONTROL_REJECT: AccountantRejectionReason,
}
"""The actions that need a coded reason, and the list each takes it from."""


def check_reason(action: Action, reason: str | None) -> CodedReason | None:
    """The coded reason of `action`: required where `REASONS` lists one, refused elsewhere."""
    reasons = REASONS.get(action)
    if reasons is None:
        if reason is not None:
            raise InvalidInput(
                ErrorCode.INVOICE_REASON_UNKNOWN,
                f"{action} takes no reason, got {reason!r}",
                action=action.value,
                reason=reason,
            )
        return None
    known = [r.value for r in reasons]
    if reason is None:
        raise InvalidInput(
            ErrorCode.INVOICE_REASON_REQUIRED,
            f"{action} needs a reason, one of {known}",
            action=action.value,
            reasons=known,
        )
    if reason not in known:
        raise InvalidInput(
            ErrorCode.INVOICE_REASON_UNKNOWN,
            f"{reason!r} is not a reason for {action}; one of {known}",
            action=action.value,
            reason=reason,
            reasons=known,
        )
    return reasons(reason)
