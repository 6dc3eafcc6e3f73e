"""The CEN's own unit tests of the EN 16931 rules, run through stage (c) alone.

Each corpus file is a VEFA `testSet`: every `<test>` holds a partial invoice and asserts
that one rule fires (`<error>` fatal, `<warning>` as a warning) or does not fire
(`<success>`). Other rules fire on these fragments too; only the named rule is checked.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from core.config import Settings
from invoicing.document import load_document
from invoicing.validation.report import Finding, Severity
from invoicing.validation.schematron import run_business_rules

INVOICES = Settings().shared_dir / "corpus" / "invoices"
VEFA = "http://difi.no/xsd/vefa/validator/1.0"
TEST_SETS = [
    *sorted((INVOICES / "ubl/invalid/Invoice-unit-UBL").glob("*.xml")),
    *sorted((INVOICES / "cii/invalid/unit-CII").glob("*.xml")),
]


def expectation_met(kind: str, rule: str, findings: tuple[Finding, ...]) -> bool:
    """Whether the findings on a fragment meet one `<success>`, `<error>` or `<warning>`."""
    severities = {finding.severity for finding in findings if finding.rule == rule}
    if kind == "success":
        return not severities
    if kind == "error":
        return Severity.FATAL in severities
    return Severity.WARNING in severities


def test_the_corpus_holds_the_82_test_sets() -> None:
    assert len(TEST_SETS) == 82


@pytest.mark.parametrize("path", TEST_SETS, ids=lambda path: path.name)
def test_each_fragment_raises_exactly_what_its_test_asserts(path: Path) -> None:
    checked, missed = 0, []
    tests = etree.parse(str(path)).getroot().iter(f"{{{VEFA}}}test")
    for number, test in enumerate(tests, start=1):
        elements = [child for child in test if isinstance(child.tag, str)]
        (fragment,) = (child for child in elements if etree.QName(child).namespace != VEFA)
        findings = run_business_rules(load_document(etree.tostring(fragment)))
        for expected in test.iterfind(f"{{{VEFA}}}assert/*"):
            kind = etree.QName(expected).localname
            if kind in {"success", "error", "warning"}:
                checked += 1
                rule = (expected.text or "").strip()
                if not expectation_met(kind, rule, findings):
                    missed.append(f"test {number}: <{kind}>{rule}")

    assert checked > 0
    assert missed == []
