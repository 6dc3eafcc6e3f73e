"""Platform rules on credit notes (they name the invoice they correct, BT-25) and on the
commitment an invoice references (BT-13)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from directory.records import StructureCategory, StructureRecord
from invoicing.commitments import RELEASING_STATUSES, commitment_charge
from invoicing.platform_rules import (
    CommitmentFacts,
    DirectoryFacts,
    InvoiceFacts,
    PlatformFinding,
    check_platform_rules,
)
from invoicing.statuses import InvoiceStatus
from invoicing.validation.report import Severity

BUYER = StructureRecord("11000201100044", "Ministère", StructureCategory.STATE)
SELLER = "73282932000074"
OTHER_SIRET = "21750001600019"


def rules(type_code: str, preceding: str | None, credited: str | None) -> set[str]:
    invoice = InvoiceFacts(SELLER, BUYER.siret, None, None, None, type_code, preceding)
    found = check_platform_rules(invoice, DirectoryFacts(BUYER, None, credited))
    return {finding.rule.value for finding in found}


@pytest.mark.parametrize("type_code", ["381", "384", "261"])
def test_correcting_documents_must_name_a_known_invoice(type_code: str) -> None:
    assert rules(type_code, None, None) == {"PF-CREDITED-INVOICE-MISSING"}
    assert rules(type_code, "F-1", None) == {"PF-CREDITED-INVOICE-UNKNOWN"}
    assert rules(type_code, "F-1", "invoice-id") == set()


@pytest.mark.parametrize("type_code", ["380", "386", None])
def test_other_invoices_need_no_preceding_invoice(type_code: str | None) -> None:
    assert rules(type_code, None, None) == set()


# --- the commitment of BT-13 ------------------------------------------------------------


def a_commitment(
    ceiling: str = "10000.00", consumed: str = "0", **fields: object
) -> CommitmentFacts:
    commitment = CommitmentFacts(BUYER.siret, SELLER, Decimal(ceiling), Decimal(consumed), True)
    return replace(commitment, **fields)


def commitment_findings(
    commitment: CommitmentFacts | None,
    amount: str = "1200.00",
    type_code: str = "380",
    structure: StructureRecord = BUYER,
) -> list[PlatformFinding]:
    invoice = InvoiceFacts(
        SELLER,
        BUYER.siret,
        None,
        "EJ-2026-0001",
        None,
        type_code,
        "F-1" if type_code == "381" else None,
        Decimal(amount),
    )
    facts = DirectoryFacts(structure, None, "credited-id", commitment)
    return check_platform_rules(invoice, facts)


def verdicts(findings: list[PlatformFinding]) -> set[tuple[str, str]]:
    return {(f.rule.value, f.severity.value) for f in findings}


def test_an_invoice_within_an_open_commitment_of_its_parties_passes() -> None:
    assert commitment_findings(a_commitment(consumed="8800.00")) == []


def test_an_unknown_commitment_is_refused() -> None:
    assert verdicts(commitment_findings(None)) == {("PF-COMMITMENT-UNKNOWN", "fatal")}


def test_a_closed_commitment_is_refused() -> None:
    found = commitment_findings(a_commitment(active=False))
    assert verdicts(found) == {("PF-COMMITMENT-INACTIVE", "fatal")}


def test_another_suppliers_or_buyers_commitment_is_refused_without_a_ceiling_warning() -> None:
    found = commitment_findings(
        a_commitment(ceiling="100", supplier_siret=OTHER_SIRET, buyer_siret=OTHER_SIRET)
    )
    assert verdicts(found) == {
        ("PF-COMMITMENT-OTHER-SUPPLIER", "fatal"),
        ("PF-COMMITMENT-OTHER-BUYER", "fatal"),
    }


def test_going_over_the_ceiling_is_a_warning_naming_what_remains() -> None:
    [finding] = commitment_findings(a_commitment(consumed="9000.00"))
    assert (finding.rule.value, finding.severity, finding.location) == (
        "PF-COMMITMENT-CEILING-EXCEEDED",
        Severity.WARNING,
        "BT-109",
    )
    assert "(1200.00 for 1000.00 remaining of 10000.00)" in finding.message


def test_a_strict_structure_refuses_an_invoice_over_the_ceiling() -> None:
    strict = replace(BUYER, commitment_ceiling_strict=True)
    found = commitment_findings(a_commitment(consumed="9000.00"), structure=strict)
    assert verdicts(found) == {("PF-COMMITMENT-CEILING-EXCEEDED", "fatal")}
    assert commitment_findings(a_commitment(consumed="8800.00"), structure=strict) == []


def test_a_credit_note_never_exceeds_the_ceiling_even_of_an_overrun_commitment() -> None:
    assert commitment_findings(a_commitment(consumed="12000.00"), type_code="381") == []


def test_without_bt13_no_commitment_rule_applies() -> None:
    invoice = InvoiceFacts(SELLER, BUYER.siret, None, None, None, "380")
    assert check_platform_rules(invoice, DirectoryFacts(BUYER, None)) == []


@pytest.mark.parametrize(
    ("type_code", "counted"),
    [("380", "1200.00"), ("384", "1200.00"), ("381", "-1200.00"), ("261", "-1200.00")],
)
def test_an_invoice_counts_its_total_without_vat_and_a_credit_note_gives_it_back(
    type_code: str, counted: str
) -> None:
    assert commitment_charge(type_code, Decimal("1200.00")) == Decimal(counted)


def test_only_invoices_ending_unpaid_give_their_amount_back() -> None:
    assert RELEASING_STATUSES == {
        InvoiceStatus.REJETEE,
        InvoiceStatus.ANNULEE,
        InvoiceStatus.REFUSEE_PREMIER_VALIDEUR,
    }
