"""Platform rules on credit notes: they name the invoice they correct (BT-25)."""

from __future__ import annotations

import pytest

from directory.records import StructureCategory, StructureRecord
from invoicing.platform_rules import DirectoryFacts, InvoiceFacts, check_platform_rules

BUYER = StructureRecord("11000201100044", "Ministère", StructureCategory.STATE)


def rules(type_code: str, preceding: str | None, credited: str | None) -> set[str]:
    invoice = InvoiceFacts("73282932000074", BUYER.siret, None, None, None, type_code, preceding)
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
