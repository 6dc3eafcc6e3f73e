"""The DUME: our ESPD request and simplified response pass the ESPD-EDM 4.1.0 XSDs, every
official example (2.1.1 to 4.1.0) reads with its values, and a response that leaves an
exclusion ground unanswered or declares one is refused with the reason."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from lxml import etree

from core.config import Settings
from invoicing.parsing import parse_xml
from procurement.espd import (
    EXCLUSION_GROUNDS,
    CriterionType,
    EspdRefused,
    SupplierIdentity,
    check_response,
    espd_request,
    read_request,
    read_response,
    request_criteria,
    simplified_response,
    validate_espd,
)
from procurement.model import Procedure
from tests.procurement.test_eforms import a_consultation

SHARED = Settings().shared_dir
SCHEMAS = SHARED / "schemas"
ESPD = SHARED / "corpus" / "espd"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
NS = {"cac": CAC, "cbc": CBC}
ISSUED = datetime(2025, 6, 1, 9, tzinfo=UTC)
RESPONSE_ID = uuid.UUID("0b5c9f6e-3f7e-4d7a-8f2b-6a1d2c3e4f50")
CRIME_ORG = "005eb9ed-1347-4ca3-bb29-9bc0db64e1ab"
TAX_PAY = "b61bbeb7-690e-4a40-bc68-d6d4ecfaa3d4"
BANKRUPTCY = "d3732c09-7d62-4edc-a172-241da6636e7c"
TRADE_REGISTER = "87b3fa26-3549-4f92-b8e0-3fd8f04bf5c7"


def a_supplier() -> SupplierIdentity:
    return SupplierIdentity(
        siret="55210055400013",
        name="Informatique Services SAS",
        street="12 rue de la République",
        city="Lyon",
        postal_code="69002",
    )


def a_request(**overrides: object) -> bytes:
    return espd_request(a_consultation(**overrides), uuid.UUID(int=1), ISSUED)


def a_simplified_response(request: bytes | None = None) -> bytes:
    return simplified_response(request or a_request(), a_supplier(), RESPONSE_ID, ISSUED)


def answer_to(xml: bytes, property_id: str) -> etree._Element:
    """The TenderingCriterionResponse of a property, to edit a response like a supplier would."""
    root = parse_xml(xml).getroot()
    for response in root.iterfind("cac:TenderingCriterionResponse", NS):
        if response.findtext("cbc:ValidatedCriterionPropertyID", namespaces=NS) == property_id:
            return response
    raise AssertionError(f"no answer to {property_id}")


def edited(response: etree._Element) -> bytes:
    return etree.tostring(response.getroottree())


def test_request_lists_every_exclusion_ground_with_its_official_uuid_and_is_xsd_valid() -> None:
    xml = a_request()

    assert validate_espd(xml, SCHEMAS) == []
    request = read_request(xml)
    assert request.edm_version == "4.1.0"
    assert request.contract_folder_id == "2025-INFO-01"
    assert request.contracting_body == "Direction des achats de l'Etat"
    exclusions = [c for c in request.criteria if c.kind is CriterionType.EXCLUSION]
    assert [c.uuid for c in exclusions] == [c.uuid for c in EXCLUSION_GROUNDS]
    assert len(exclusions) == 24
    assert exclusions[0].code == "crime-org" and exclusions[0].uuid == CRIME_ORG
    assert parse_xml(xml).getroot().findtext("cbc:ProcedureCode", namespaces=NS) == "open"


@pytest.mark.parametrize(
    ("overrides", "selection"),
    [
        ({}, ["trade-regist", "gen-year-to", "service-perform"]),
        ({"procedure": Procedure.ADAPTED}, ["trade-regist"]),
        ({"cpv_codes": ("45210000-2",)}, ["trade-regist", "gen-year-to", "work-perform"]),
        ({"cpv_codes": ("30213100-6",)}, ["trade-regist", "gen-year-to", "supply-perform"]),
    ],
)
def test_selection_criteria_fit_the_procedure_and_the_contract_nature(
    overrides: dict[str, object], selection: list[str]
) -> None:
    criteria = request_criteria(a_consultation(**overrides))

    assert [c.code for c in criteria if c.kind is CriterionType.SELECTION] == selection
    assert validate_espd(a_request(**overrides), SCHEMAS) == []


def test_simplified_dume_is_xsd_valid_and_acceptable_as_is() -> None:
    request = a_request()
    xml = a_simplified_response(request)

    assert validate_espd(xml, SCHEMAS) == []
    response = read_response(xml)
    assert response.economic_operator is not None
    assert response.economic_operator.name == "Informatique Services SAS"
    assert response.economic_operator.siret == "55210055400013"
    assert response.contract_folder_id == "2025-INFO-01"
    assert response.contracting_body == "Direction des achats de l'Etat"
    exclusions = [a for a in response.answers if a.criterion.kind is CriterionType.EXCLUSION]
    assert len(exclusions) == 24
    assert all(a.answered and a.indicator is False for a in exclusions)
    selections = [a for a in response.answers if a.criterion.kind is CriterionType.SELECTION]
    assert [(a.criterion.code, a.indicator) for a in selections] == [
        ("trade-regist", True),
        ("gen-year-to", True),
        ("service-perform", True),
    ]
    assert check_response(read_request(request).criteria, response) == []
    assert xml == a_simplified_response(request)  # rebuilt identically: ids derive from inputs


def test_an_unanswered_exclusion_ground_is_a_reason_to_refuse() -> None:
    answer = answer_to(a_simplified_response(), "C1_EG_crime-org/QG1/Q1")
    answer.getparent().remove(answer)

    reasons = check_response(request_criteria(a_consultation()), read_response(edited(answer)))

    assert reasons == [
        "exclusion criterion crime-org (Participation in a criminal organisation) is not answered"
    ]


def test_an_operator_declaring_an_exclusion_ground_without_self_cleaning_is_refused() -> None:
    answer = answer_to(a_simplified_response(), "C12_EG_bankruptcy/QG1/Q1")
    answer.find("cac:ResponseValue/cbc:ResponseIndicator", NS).text = "true"

    response = read_response(edited(answer))

    assert response.answer(BANKRUPTCY).indicator is True
    assert check_response(request_criteria(a_consultation()), response) == [
        "exclusion criterion bankruptcy (Bankruptcy): the operator declares it applies, "
        "without self-cleaning"
    ]


def test_self_cleaning_measures_leave_the_declared_ground_to_the_buyer() -> None:
    answer = answer_to(a_simplified_response(), "C12_EG_bankruptcy/QG1/Q1")
    answer.find("cac:ResponseValue/cbc:ResponseIndicator", NS).text = "true"
    cleaning = etree.fromstring(etree.tostring(answer))
    cleaning.find(
        "cbc:ValidatedCriterionPropertyID", NS
    ).text = "C12_EG_bankruptcy/QG1/QSG1/QSG1/Q1"
    answer.addnext(cleaning)

    response = read_response(edited(answer))

    assert response.answer(BANKRUPTCY).self_cleaning is True
    assert check_response(request_criteria(a_consultation()), response) == []


def test_a_selection_criterion_answered_no_is_not_met() -> None:
    answer = answer_to(a_simplified_response(), "C26_SC_trade-regist/QG1/Q1")
    answer.find("cac:ResponseValue/cbc:ResponseIndicator", NS).text = "false"

    reasons = check_response(request_criteria(a_consultation()), read_response(edited(answer)))

    assert reasons == [
        "selection criterion trade-regist (Enrolment in a trade register) is not met"
    ]


# The official ESPD-EDM examples: (file, EDM version, criteria, exclusion, selection).
REQUESTS = [
    ("v4.1.0_ESPD-Request.xml", "4.1.0", "DV", 62, 24, 31),
    ("v3.3.0_ESPD-Request.xml", "3.3.0", None, 62, 24, 31),
    ("BASIC-ESPDRequest-2.1.1.xml", "2.1.1", "__ProcurerName", 65, 24, 32),
    ("EXTENDED-ESPDRequest-2.1.1.xml", "2.1.1", "__ProcurerName", 67, 24, 32),
]


@pytest.mark.parametrize(
    ("name", "version", "body", "criteria", "exclusions", "selections"), REQUESTS
)
def test_official_request_reads_with_its_criteria(
    name: str, version: str, body: str | None, criteria: int, exclusions: int, selections: int
) -> None:
    request = read_request((ESPD / name).read_bytes())

    assert request.edm_version == version
    assert request.contract_folder_id == "PP.20170419.1024-9"
    assert request.contracting_body == body
    assert len(request.criteria) == criteria
    assert sum(c.kind is CriterionType.EXCLUSION for c in request.criteria) == exclusions
    assert sum(c.kind is CriterionType.SELECTION for c in request.criteria) == selections
    assert request.criteria[0].uuid == CRIME_ORG  # the taxonomy UUID, stable since 2.x


# (file, EDM version, folder, operator, operator id, answers, answered, crime-org answer).
RESPONSES = [
    ("v4.1.0_ESPD-Response.xml", "4.1.0", "PP.20170419.1024-9",
     "__Procurer Official Name__", "AD123456789", 62, 60, (True, True)),
    ("v3.3.0_ESPD-Response.xml", "3.3.0", "PP.20170419.1024-9", "__ProcurerName",
     "AD123456789", 62, 62, (True, True)),
    ("BASIC-ESPDResponse-2.1.1.xml", "2.1.1", "PP.20170419.1024-9", "__EoName",
     "DE153301871", 65, 65, (True, True)),
    ("CONSTANT-Property_UUIDs_Basic-Convictions-Example.xml", "2.1.0",
     "__ProcurementProcedureFileRefNumber", "__EoName", "DE153301871", 1, 1, (True, False)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "version", "folder", "operator", "identifier", "answers", "answered", "crime"),
    RESPONSES,
)
def test_official_response_reads_with_its_operator_and_answers(
    name: str,
    version: str,
    folder: str,
    operator: str,
    identifier: str,
    answers: int,
    answered: int,
    crime: tuple[bool, bool],
) -> None:
    response = read_response((ESPD / name).read_bytes())

    assert response.edm_version == version
    assert response.contract_folder_id == folder
    assert response.economic_operator is not None
    assert response.economic_operator.name == operator
    assert response.economic_operator.identifiers == (identifier,)
    assert response.economic_operator.siret is None  # foreign operators, no SIRET
    assert len(response.answers) == answers
    assert sum(a.answered for a in response.answers) == answered
    crime_org = response.answer(CRIME_ORG)
    assert (crime_org.indicator, crime_org.self_cleaning) == crime


def test_corpus_tables_cover_every_espd_example() -> None:
    listed = {row[0] for row in REQUESTS} | {row[0] for row in RESPONSES}
    assert listed == {path.name for path in ESPD.iterdir()}


def test_the_official_4_1_0_response_fails_on_unanswered_tax_and_declared_grounds() -> None:
    request = read_request((ESPD / "v4.1.0_ESPD-Request.xml").read_bytes())
    response = read_response((ESPD / "v4.1.0_ESPD-Response.xml").read_bytes())

    reasons = check_response(request.criteria, response)

    # The example answers "yes" everywhere, with self-cleaning for the convictions only,
    # and leaves the "Your answer" of the tax and social security grounds empty.
    assert response.answer(TAX_PAY).answered is False
    assert "exclusion criterion tax-pay (Payment of taxes) is not answered" in reasons
    assert sorted(reason.split()[2] for reason in reasons) == [
        "bankr-nat", "bankruptcy", "cred-arran", "distorsion", "insolvency", "liq-admin",
        "misrepresent", "nati-ground", "partic-confl", "prep-confl", "prof-misconduct",
        "socsec-pay", "susp-act", "tax-pay",
    ]  # fmt: skip


def test_simplified_dume_answers_another_platforms_request() -> None:
    request = (ESPD / "v4.1.0_ESPD-Request.xml").read_bytes()

    xml = a_simplified_response(request)

    assert validate_espd(xml, SCHEMAS) == []
    response = read_response(xml)
    reasons = check_response(read_request(request).criteria, response)
    # Every exclusion ground is answered "no"; selection criteria asking for figures
    # (turnover, staff...) rather than a yes/no are left for the supplier to fill in.
    assert not [r for r in reasons if r.startswith("exclusion")]
    assert response.answer(TRADE_REGISTER).indicator is True
    assert "selection criterion gen-year-to (General yearly turnover) is not answered" in reasons


def test_espd_1_documents_are_refused_with_a_coded_reason() -> None:
    espd_1 = (
        b'<?xml version="1.0"?><espd-resp:ESPDResponse xmlns:espd-resp='
        b'"urn:grow:names:specification:ubl:schema:xsd:ESPDResponse-1"/>'
    )

    with pytest.raises(EspdRefused) as refused:
        read_response(espd_1)

    assert refused.value.code == "ESPD_VERSION_UNSUPPORTED"
    assert "ESPD-EDM 1.x" in str(refused.value)


def test_a_request_is_not_read_as_a_response() -> None:
    with pytest.raises(EspdRefused) as refused:
        read_response(a_request())

    assert refused.value.code == "ESPD_DOCUMENT_UNEXPECTED"


def test_a_notice_is_not_an_espd() -> None:
    notice = (SHARED / "corpus" / "eforms" / "notices" / "cn_24_minimal.xml").read_bytes()

    with pytest.raises(EspdRefused) as refused:
        read_request(notice)

    assert refused.value.code == "ESPD_DOCUMENT_UNEXPECTED"


def test_a_ubl_2_1_qualification_document_is_an_unsupported_version() -> None:
    root = parse_xml(a_simplified_response()).getroot()
    root.find("cbc:UBLVersionID", NS).text = "2.1"

    with pytest.raises(EspdRefused) as refused:
        read_response(etree.tostring(root))

    assert refused.value.code == "ESPD_VERSION_UNSUPPORTED"


def test_a_broken_response_is_refused_by_the_xsd_with_a_readable_message() -> None:
    root = parse_xml(a_simplified_response()).getroot()
    root.find("cbc:IssueDate", NS).text = "1 June 2025"

    problems = validate_espd(etree.tostring(root), SCHEMAS)

    assert len(problems) == 1
    assert "IssueDate" in problems[0] and "'1 June 2025' is not a valid value" in problems[0]
