"""Stage (e) of validation: the platform's own rules, on facts from the directory.

Rule codes follow one scheme, `PF-<SUBJECT>-<PROBLEM>`, and are listed in the README.
Pure: the caller gathers the facts (structure, services, an earlier live invoice).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from core.errors import InvalidInput
from directory.identifiers import check_iban, check_siret
from directory.records import StructureRecord
from invoicing.model import CREDIT_NOTE_TYPE_CODES


class PlatformRule(StrEnum):
    """The platform rules, each a code a supplier can look up."""

    BUYER_SIRET_MISSING = "PF-BUYER-SIRET-MISSING"
    BUYER_UNKNOWN = "PF-BUYER-UNKNOWN"
    BUYER_INACTIVE = "PF-BUYER-INACTIVE"
    SERVICE_MISSING = "PF-SERVICE-MISSING"
    SERVICE_UNKNOWN = "PF-SERVICE-UNKNOWN"
    SERVICE_INACTIVE = "PF-SERVICE-INACTIVE"
    COMMITMENT_MISSING = "PF-COMMITMENT-MISSING"
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
CORRECTING_TYPE_CODES = CREDIT_NOTE_TYPE_CODES | {"384"}


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


@dataclass(frozen=True)
class DirectoryFacts:
    """What the rules need from the platform: the buyer's structure, earlier invoices."""

    structure: StructureRecord | None
    duplicate_of: str | None
    credited_invoice: str | None = None  # the live invoice BT-25 names, if any


@dataclass(frozen=True)
class PlatformFinding:
    """One broken platform rule (always fatal), with the BT it is about."""

    rule: PlatformRule
    location: str
    message: str


def _finding(rule: PlatformRule, location: str, detail: str = "") -> PlatformFinding:
    return PlatformFinding(rule, location, f"{RULE_TEXTS[rule]} {detail}".strip())


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


def _passes(check: Callable[[str], str], value: str) -> bool:
    try:
        check(value)
    except InvalidInput:
        return False
    return True
