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


class BankReturnReason(CodedReason):
    """Why a bank rejected or returned a transfer: ISO 20022 external status/return reasons
    as SEPA banks use them (EPC guidance on R-transactions)."""

    AC01 = "AC01", "Numéro de compte erroné", "Incorrect account number"
    AC04 = "AC04", "Compte clôturé", "Closed account"
    AC06 = "AC06", "Compte bloqué", "Blocked account"
    AC13 = "AC13", "Type de compte invalide", "Invalid debtor account type"
    AG01 = "AG01", "Opération interdite sur ce compte", "Transaction forbidden"
    AG02 = "AG02", "Code opération invalide", "Invalid bank operation code"
    AM04 = "AM04", "Provision insuffisante", "Insufficient funds"
    AM05 = "AM05", "Opération en double", "Duplication"
    BE04 = "BE04", "Adresse du créancier manquante", "Missing creditor address"
    BE05 = "BE05", "Partie non reconnue", "Unrecognised initiating party"
    CNOR = "CNOR", "Banque du créancier injoignable", "Creditor bank not registered"
    DNOR = "DNOR", "Banque du débiteur injoignable", "Debtor bank not registered"
    DUPL = "DUPL", "Paiement en double", "Duplicate payment"
    FF01 = "FF01", "Format de fichier invalide", "Invalid file format"
    MD07 = "MD07", "Bénéficiaire décédé", "End customer deceased"
    MS02 = "MS02", "Refus du créancier", "Refused by the creditor"
    MS03 = "MS03", "Motif non communiqué", "Reason not specified"
    RC01 = "RC01", "BIC erroné", "Incorrect BIC"
    RR01 = "RR01", "Identification du débiteur manquante", "Missing debtor account or id"
    RR02 = "RR02", "Nom ou adresse du débiteur manquant", "Missing debtor name or address"
    RR03 = "RR03", "Nom ou adresse du créancier manquant", "Missing creditor name or address"
    RR04 = "RR04", "Motif réglementaire", "Regulatory reason"
    TM01 = "TM01", "Hors délai", "Cut-off time exceeded"
    NARR = "NARR", "Autre motif (voir commentaire)", "Other reason (see comment)"


REASONS: dict[Action, type[CodedReason]] = {
    Action.REJECT: RejectionReason,
    Action.MOE_REFUSE: RejectionReason,
    Action.SUSPEND: SuspensionReason,
    Action.RECYCLE: RecyclingReason,
    Action.ACCOUNTANT_REJECT: AccountantRejectionReason,
    Action.CONTROL_REJECT: AccountantRejectionReason,
    Action.PAYMENT_REJECTED: BankReturnReason,
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
