"""Stage (e) of validation: the platform's own rules, on facts from the directory.

Rule codes follow one scheme, `PF-<SUBJECT>-<PROBLEM>`, and are listed in the README.
Pure: the caller gathers the facts (structure, services, an earlier live invoice, the
commitment of BT-13).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from core.errors import InvalidInput
from directory.identifiers import check_iban, check_siret
from directory.records import StructureRecord
from invoicing.commitments import commitment_charge
from invoicing.model import CREDIT_NOTE_TYPE_CODES, InvoiceTypeCode
from invoicing.validation.report import Severity


class PlatformRule(StrEnum):
    """The platform rules, each a code a supplier can look up."""

    BUYER_SIRET_MISSING = "PF-BUYER-SIRET-MISSING"
    BUYER_UNKNOWN = "PF-BUYER-UNKNOWN"
    BUYER_INACTIVE = "PF-BUYER-INACTIVE"
    SERVICE_MISSING = "PF-SERVICE-MISSING"
    SERVICE_UNKNOWN = "PF-SERVICE-UNKNOWN"
    SERVICE_INACTIVE = "PF-SERVICE-INACTIVE"
    COMMITMENT_MISSING = "PF-COMMITMENT-MISSING"
    COMMITMENT_UNKNOWN = "PF-COMMITMENT-UNKNOWN"
    COMMITMENT_INACTIVE = "PF-COMMITMENT-INACTIVE"
    COMMITMENT_OTHER_SUPPLIER = "PF-COMMITMENT-OTHER-SUPPLIER"
    COMMITMENT_OTHER_BUYER = "PF-COMMITMENT-OTHER-BUYER"
    COMMITMENT_CEILING_EXCEEDED = "PF-COMMITMENT-CEILING-EXCEEDED"
    SELLER_SIRET_MISSING = "PF-SELLER-SIRET-MISSING"
    SELLER_SIRET_INVALID = "PF-SELLER-SIRET-INVALID"
    BANK_ACCOUNT_INVALID = "PF-BANK-ACCOUNT-INVALID"
    DUPLICATE = "PF-DUPLICATE"
    CREDITED_INVOICE_MISSING = "PF-CREDITED-INVOICE-MISSING"
    CREDITED_INVOICE_UNKNOWN = "PF-CREDITED-INVOICE-UNKNOWN"


RULE_TEXTS = {
    PlatformRule.BUYER_SIRET_MISSING: "The buyer's SIRET (BT-47/BT-46, scheme 0009) is required.",
    PlatformRule.BUYER_UNKNOWN: "The buyer's SIRET is not a public structure of the directory.",
    PlatformRule.BUYER_INACTIVE: "The buyer's structure does not receive invoices (inactive).",
    PlatformRule.SERVICE_MISSING: "This structure requires a service code in BT-10.",
    PlatformRule.SERVICE_UNKNOWN: "The service code in BT-10 is not a service of the buyer.",
    PlatformRule.SERVICE_INACTIVE: "The service of BT-10 does not receive invoices (inactive).",
    PlatformRule.COMMITMENT_MISSING: "This structure requires a commitment number in BT-13.",
    PlatformRule.COMMITMENT_UNKNOWN: "The commitment of BT-13 is not known to the platform.",
    PlatformRule.COMMITMENT_INACTIVE: "The commitment of BT-13 is closed (its contract ended).",
    PlatformRule.COMMITMENT_OTHER_SUPPLIER: "The commitment of BT-13 is another supplier's.",
    PlatformRule.COMMITMENT_OTHER_BUYER: "The commitment of BT-13 is another buyer's.",
    PlatformRule.COMMITMENT_CEILING_EXCEEDED: (
        "The invoice's total without VAT exceeds what remains of the commitment's ceiling."
    ),
    PlatformRule.SELLER_SIRET_MISSING: "The seller's SIRET (BT-30, scheme 0009) is required.",
    PlatformRule.SELLER_SIRET_INVALID: "The seller's SIRET fails its check digit.",
    PlatformRule.BANK_ACCOUNT_INVALID: "The payee's IBAN (BT-84) is not valid.",
    PlatformRule.DUPLICATE: "This seller already deposited this number this year.",
    PlatformRule.CREDITED_INVOICE_MISSING: (
        "A credit note or corrective invoice names the invoice it corrects (BT-25)."
    ),
    PlatformRule.CREDITED_INVOICE_UNKNOWN: (
        "The invoice of BT-25 is not one this seller deposited (or it was rejected)."
    ),
}

# Documents that correct an earlier invoice and must say which (BG-3): credit notes and
# the corrective invoice (UNTDID 1001 code 384).
CORRECTING_TYPE_CODES = CREDIT_NOTE_TYPE_CODES | {InvoiceTypeCode.CORRECTED_INVOICE.value}


@dataclass(frozen=True)
class InvoiceFacts:
    """What the rules need from the invoice."""

    seller_siret: str | None
    buyer_siret: str | None
    service_code: str | None
    commitment_number: str | None
    iban: str | None
    type_code: str | None = None
    preceding_number: str | None = None
    total_without_vat: Decimal | None = None  # BT-109


@dataclass(frozen=True)
class CommitmentFacts:
    """The commitment BT-13 names, as stored: whose it is, whether open, what is left."""

    buyer_siret: str
    supplier_siret: str
    ceiling: Decimal
    consumed: Decimal
    active: bool


@dataclass(frozen=True)
class DirectoryFacts:
    """What the rules need from the platform: the buyer's structure, earlier invoices, and
    the commitment of BT-13 (None when BT-13 names none the platform knows)."""

    structure: StructureRecord | None
    duplicate_of: str | None
    credited_invoice: str | None = None  # the live invoice BT-25 names, if any
    commitment: CommitmentFacts | None = None


@dataclass(frozen=True)
class PlatformFinding:
    """One broken platform rule, with the BT it is about; fatal unless said otherwise."""

    rule: PlatformRule
    location: str
    message: str
    severity: Severity = Severity.FATAL


def _finding(
    rule: PlatformRule, location: str, detail: str = "", severity: Severity = Severity.FATAL
) -> PlatformFinding:
    return PlatformFinding(rule, location, f"{RULE_TEXTS[rule]} {detail}".strip(), severity)


def check_platform_rules(invoice: InvoiceFacts, facts: DirectoryFacts) -> list[PlatformFinding]:
    """Every platform rule the invoice breaks, in a stable order."""
    found: list[PlatformFinding] = []
    if not invoice.seller_siret:
        found.append(_finding(PlatformRule.SELLER_SIRET_MISSING, "BT-30"))
    elif not _passes(check_siret, invoice.seller_siret):
        found.append(
            _finding(PlatformRule.SELLER_SIRET_INVALID, "BT-30", f"({invoice.seller_siret})")
        )
    if invoice.iban and not _passes(check_iban, invoice.iban):
        found.append(_finding(PlatformRule.BANK_ACCOUNT_INVALID, "BT-84"))
    if not invoice.buyer_siret:
        found.append(_finding(PlatformRule.BUYER_SIRET_MISSING, "BT-47"))
    elif facts.structure is None:
        found.append(_finding(PlatformRule.BUYER_UNKNOWN, "BT-47", f"({invoice.buyer_siret})"))
    else:
        found.extend(_routing(invoice, facts.structure))
    if invoice.commitment_number:
        found.extend(_commitment(invoice, facts))
    if facts.duplicate_of:
        found.append(_finding(PlatformRule.DUPLICATE, "BT-1", f"(invoice {facts.duplicate_of})"))
    if invoice.type_code in CORRECTING_TYPE_CODES:
        if not invoice.preceding_number:
            found.append(_finding(PlatformRule.CREDITED_INVOICE_MISSING, "BT-25"))
        elif facts.credited_invoice is None:
            found.append(
                _finding(
                    PlatformRule.CREDITED_INVOICE_UNKNOWN, "BT-25", f"({invoice.preceding_number})"
                )
            )
    return found


def _routing(invoice: InvoiceFacts, structure: StructureRecord) -> list[PlatformFinding]:
    """The buyer's own parameters: active, service code and commitment requirements."""
    found = []
    if not structure.active:
        found.append(_finding(PlatformRule.BUYER_INACTIVE, "BT-47"))
    services = {s.code: s for s in structure.services}
    if invoice.service_code:
        service = services.get(invoice.service_code)
        if service is None:
            found.append(
                _finding(PlatformRule.SERVICE_UNKNOWN, "BT-10", f"({invoice.service_code})")
            )
        elif not service.active:
            found.append(_finding(PlatformRule.SERVICE_INACTIVE, "BT-10"))
    elif structure.service_code_required:
        found.append(_finding(PlatformRule.SERVICE_MISSING, "BT-10"))
    if structure.commitment_required and not invoice.commitment_number:
        found.append(_finding(PlatformRule.COMMITMENT_MISSING, "BT-13"))
    return found


def _commitment(invoice: InvoiceFacts, facts: DirectoryFacts) -> list[PlatformFinding]:
    """The commitment of BT-13 exists, is open, binds this seller to this buyer, and has room
    for the invoice; a ceiling overrun is only a warning unless the buyer's structure is
    strict about it (`commitment_ceiling_strict`)."""
    commitment = facts.commitment
    if commitment is None:
        return [
            _finding(PlatformRule.COMMITMENT_UNKNOWN, "BT-13", f"({invoice.commitment_number})")
        ]
    found = []
    if not commitment.active:
        found.append(_finding(PlatformRule.COMMITMENT_INACTIVE, "BT-13"))
    if invoice.seller_siret and invoice.seller_siret != commitment.supplier_siret:
        found.append(_finding(PlatformRule.COMMITMENT_OTHER_SUPPLIER, "BT-13"))
    if invoice.buyer_siret and invoice.buyer_siret != commitment.buyer_siret:
        found.append(_finding(PlatformRule.COMMITMENT_OTHER_BUYER, "BT-13"))
    if found:
        return found  # the ceiling of a commitment the invoice cannot use is beside the point
    charge = commitment_charge(invoice.type_code, invoice.total_without_vat)
    remaining = commitment.ceiling - commitment.consumed
    if charge > 0 and charge > remaining:
        strict = facts.structure is not None and facts.structure.commitment_ceiling_strict
        found.append(
            _finding(
                PlatformRule.COMMITMENT_CEILING_EXCEEDED,
                "BT-109",
                f"({charge} for {remaining} remaining of {commitment.ceiling})",
                Severity.FATAL if strict else Severity.WARNING,
            )
        )
    return found


def _passes(check: Callable[[str], str], value: str) -> bool:
    try:
        check(value)
    except InvalidInput:
        return False
    return True
