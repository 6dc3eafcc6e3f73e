"""The validation pipeline: stages reported together, levels, platform rules, JSON, threads."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

from lxml import etree

from core.errors import ErrorCode
from invoicing.document import InvoiceDocument, load_document
from invoicing.syntax import UBL_CAC_NS, UBL_CBC_NS, Syntax
from invoicing.validation import schematron
from invoicing.validation.pipeline import Level, validate
from invoicing.validation.report import Finding, Severity, Stage, ValidationReport

FRENCH_UBL = "ubl/valid/ubl-21-en16931.xml"  # passes every stage
GERMAN_UBL = "ubl/valid/EN16931_Einfach.ubl.xml"  # EN 16931, but no French invoice


def stages_failing(report: ValidationReport) -> set[Stage]:
    return {f.stage for f in report.findings if f.severity is Severity.FATAL}


def broken_ubl(
    path: Path, *, unknown_element: bool, total_delta: str = "0", payable: str = ""
) -> bytes:
    """The invoice with an element the XSD does not know, and/or wrong totals."""
    tree = etree.parse(str(path))
    root = tree.getroot()
    if unknown_element:
        root.find(f"{{{UBL_CBC_NS}}}ID").addnext(etree.Element(f"{{{UBL_CBC_NS}}}Colour"))
    totals = root.find(f"{{{UBL_CAC_NS}}}LegalMonetaryTotal")
    inclusive = totals.find(f"{{{UBL_CBC_NS}}}TaxInclusiveAmount")
    inclusive.text = str(Decimal(inclusive.text) + Decimal(total_delta))
    if payable:
        totals.find(f"{{{UBL_CBC_NS}}}PayableAmount").text = payable
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")


# --- stages ------------------------------------------------------------------------------------


def test_xsd_and_business_rule_errors_are_reported_together(invoices_dir: Path) -> None:
    data = broken_ubl(invoices_dir / FRENCH_UBL, unknown_element=True, total_delta="1")

    report, document = validate(data)

    assert document is not None
    assert stages_failing(report) == {Stage.XSD, Stage.EN16931}
    assert [f.location for f in report.findings if f.stage is Stage.XSD] == ["/*/cbc:Colour"]
    assert {"BR-CO-15"} <= report.fatal_rules()


def test_rules_that_cannot_be_evaluated_are_a_fatal_finding_next_to_the_xsd_ones(
    invoices_dir: Path,
) -> None:
    data = broken_ubl(invoices_dir / FRENCH_UBL, unknown_element=False, payable="abc")

    report, _ = validate(data, level=Level.EN16931)

    assert stages_failing(report) == {Stage.XSD, Stage.EN16931}
    (not_evaluated,) = (f for f in report.findings if f.stage is Stage.EN16931)
    assert not_evaluated.rule == ErrorCode.INVOICE_RULES_NOT_EVALUATED
    assert '"abc"' in not_evaluated.message


def test_a_refused_file_is_the_only_finding_and_stops_the_pipeline() -> None:
    called = []

    report, document = validate(
        b"<!DOCTYPE x><Invoice/>", platform_rules=lambda d: called.append(d) or ()
    )

    assert document is None
    assert report.fatal_rules() == {"XML_DOCTYPE_FORBIDDEN"}
    assert len(report.findings) == 1
    assert called == []


def test_level_en16931_skips_the_french_rules(invoices_dir: Path) -> None:
    data = (invoices_dir / GERMAN_UBL).read_bytes()

    en16931, _ = validate(data, level=Level.EN16931)
    full, _ = validate(data, level=Level.FULL)

    assert en16931.valid
    assert Stage.BR_FR not in {f.stage for f in en16931.findings}
    assert not full.valid
    assert stages_failing(full) == {Stage.BR_FR}


# --- platform rules ------------------------------------------------------------------------


def test_platform_findings_are_appended_as_stage_platform(invoices_dir: Path) -> None:
    seen: list[InvoiceDocument] = []

    def platform_rules(document: InvoiceDocument) -> list[Finding]:
        seen.append(document)
        return [Finding("STRUCTURE_UNKNOWN", Severity.FATAL, None, "no such SIRET", Stage.XSD)]

    data = (invoices_dir / FRENCH_UBL).read_bytes()

    report, document = validate(data, platform_rules=platform_rules)

    assert seen == [document]
    assert report.findings == (
        Finding("STRUCTURE_UNKNOWN", Severity.FATAL, None, "no such SIRET", Stage.PLATFORM),
    )
    assert not report.valid


def test_platform_rules_do_not_run_at_level_en16931(invoices_dir: Path) -> None:
    called = []

    validate(
        (invoices_dir / FRENCH_UBL).read_bytes(),
        level=Level.EN16931,
        platform_rules=lambda d: called.append(d) or (),
    )

    assert called == []


def test_platform_warnings_keep_the_invoice_valid(invoices_dir: Path) -> None:
    warning = Finding("IBAN_UNUSUAL", Severity.WARNING, None, "foreign IBAN", Stage.PLATFORM)

    data = (invoices_dir / FRENCH_UBL).read_bytes()

    report, _ = validate(data, platform_rules=lambda d: [warning])

    assert report.valid
    assert report.findings == (warning,)


# --- JSON ----------------------------------------------------------------------------------


def test_report_json_of_a_valid_invoice(invoices_dir: Path) -> None:
    report, _ = validate((invoices_dir / FRENCH_UBL).read_bytes())

    assert report.to_json() == {
        "valid": True,
        "syntax": "UBL",
        "profile": "EN16931",
        "findings": [],
    }


def test_report_json_of_an_invalid_invoice_has_exactly_the_documented_keys(
    invoices_dir: Path,
) -> None:
    data = broken_ubl(invoices_dir / FRENCH_UBL, unknown_element=True, total_delta="1")
    report, _ = validate(data)

    body = report.to_json()

    assert set(body) == {"valid", "syntax", "profile", "findings"}
    assert (body["valid"], body["syntax"], body["profile"]) == (False, "UBL", "EN16931")
    assert body["findings"][0] == {
        "rule": "XSD",
        "severity": "fatal",
        "location": "/*/cbc:Colour",
        "message": body["findings"][0]["message"],
        "stage": "XSD",
    }
    assert {"rule": "BR-CO-15", "severity": "fatal", "stage": "EN16931"}.items() <= next(
        f for f in body["findings"] if f["rule"] == "BR-CO-15"
    ).items()


def test_report_json_of_a_refused_file() -> None:
    report, _ = validate(b'<Invoice xmlns="urn:example"/>')

    assert report.to_json() == {
        "valid": False,
        "syntax": None,
        "profile": None,
        "findings": [
            {
                "rule": "INVOICE_SYNTAX_UNKNOWN",
                "severity": "fatal",
                "location": None,
                "message": "root element {urn:example}Invoice is neither a UBL 2.1 Invoice or "
                "CreditNote nor a CII CrossIndustryInvoice",
                "stage": "WELL_FORMED",
            }
        ],
    }


def test_factur_x_report_names_its_syntax(invoices_dir: Path) -> None:
    report, _ = validate((invoices_dir / "facturx/valid/EN16931_Einfach.pdf").read_bytes())

    assert report.syntax is Syntax.FACTURX
    assert report.to_json()["syntax"] == "FACTURX"


# --- concurrency ---------------------------------------------------------------------------

THREADED = [
    GERMAN_UBL,
    "ubl/invalid/not_validating_full_invoice_based_onTest_EeISI_300_CENfullmodel.ubl.xml",
    "cii/valid/EN16931_Einfach.cii.xml",
    "facturx/invalid/Facture_UE_BASIC.pdf",
]


def test_four_threads_validating_at_once_get_the_sequential_results(invoices_dir: Path) -> None:
    files = [(invoices_dir / name).read_bytes() for name in THREADED]
    sequential = [validate(data)[0] for data in files]
    start = threading.Barrier(len(files))

    def validate_together(data: bytes) -> ValidationReport:
        start.wait()
        return validate(data)[0]

    with ThreadPoolExecutor(max_workers=len(files)) as pool:
        rounds = [list(pool.map(validate_together, files)) for _ in range(3)]

    assert all(reports == sequential for reports in rounds)
    assert all(report.findings for report in sequential)  # every file exercises the SVRL path


def refuses_after_fork(call: Callable[[], object]) -> bool:
    try:
        call()
    except schematron.SaxonAfterFork:
        return True
    return False


def test_a_process_forked_after_saxon_started_refuses_rather_than_crash(
    invoices_dir: Path,
) -> None:
    document = load_document((invoices_dir / FRENCH_UBL).read_bytes())
    parsed = schematron.source(document)
    schematron.run_business_rules(document, parsed)  # Saxon runs, this thread has a clone

    child = os.fork()
    if child == 0:  # the child: never return into pytest
        new_source = refuses_after_fork(lambda: schematron.source(document))
        stale_clone = refuses_after_fork(lambda: schematron.run_business_rules(document, parsed))
        os._exit(0 if new_source and stale_clone else 1)
    _, status = os.waitpid(child, 0)

    assert os.waitstatus_to_exitcode(status) == 0
