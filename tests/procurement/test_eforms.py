"""eForms notices: our CN 16 and CAN 29 pass the SDK XSDs and read back; the SDK's example
notices read with the values they carry."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from lxml import etree

from core.config import Settings
from core.errors import ErrorCode
from invoicing.parsing import XmlRefused, parse_xml
from procurement.eforms import (
    AwardResult,
    NoticeContext,
    NoticeRefused,
    PostalAddress,
    award_notice,
    contract_nature,
    contract_notice,
    read_notice,
    validate_notice,
)
from procurement.model import (
    BuyerContact,
    Consultation,
    Criterion,
    CriterionKind,
    Lot,
    Procedure,
)

SHARED = Settings().shared_dir
SCHEMAS = SHARED / "schemas"
NOTICES = SHARED / "corpus" / "eforms" / "notices"
NS = {
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "efac": "http://data.europa.eu/p27/eforms-ubl-extension-aggregate-components/1",
    "efbc": "http://data.europa.eu/p27/eforms-ubl-extension-basic-components/1",
}
DEADLINE = datetime(2025, 7, 10, 12, tzinfo=UTC)


def a_consultation(**overrides: object) -> Consultation:
    """Two lots of IT maintenance, price 60 / technical value 40, open procedure."""
    values: dict[str, object] = {
        "buyer_siret": "13002526500013",
        "reference": "2025-INFO-01",
        "title": "Maintenance du parc informatique",
        "description": "Maintenance des postes de travail et des serveurs",
        "procedure": Procedure.OPEN,
        "cpv_codes": ("50312000-5", "72250000-2"),
        "lots": (
            Lot(1, "Postes de travail", Decimal("120000")),
            Lot(2, "Serveurs", Decimal("80000"), ("50312600-1",)),
        ),
        "criteria": (
            Criterion("Prix", 60, CriterionKind.PRICE),
            Criterion("Valeur technique", 40, CriterionKind.QUALITY),
        ),
        "questions_deadline": datetime(2025, 7, 1, 12, tzinfo=UTC),
        "submission_deadline": DEADLINE,
        "contact": BuyerContact("Service achats", "achats@example.gouv.fr", "+33 1 40 00 00 00"),
        "buyer_name": "Direction des achats de l'Etat",
        "place_of_performance": "FR101",
    }
    values.update(overrides)
    return Consultation(**values)  # type: ignore[arg-type]


def a_context() -> NoticeContext:
    return NoticeContext(
        notice_id=uuid.UUID("8a0f4d3e-5c1b-4b6a-9f0e-2d7c3b1a0e11"),
        issued_at=datetime(2025, 6, 1, 9, tzinfo=UTC),
        buyer_address=PostalAddress("Paris", "75007", "FR101", "139 rue de Bercy"),
        buyer_legal_type="cga",
        review_body_name="Tribunal administratif de Paris",
        review_body_siret="17750111100013",
        review_body_address=PostalAddress("Paris", "75004", "FR101", "7 rue de Jouy"),
        documents_url="https://www.marches-publics.gouv.fr/dce/2025-INFO-01",
        submission_url="https://www.marches-publics.gouv.fr/depot/2025-INFO-01",
    )


def an_award(**overrides: object) -> AwardResult:
    values: dict[str, object] = {
        "supplier_siret": "55210055400013",
        "supplier_name": "Informatique Services SAS",
        "amount": Decimal("190000.50"),
        "bids_received": 4,
        "concluded_on": date(2025, 8, 20),
    }
    values.update(overrides)
    return AwardResult(**values)  # type: ignore[arg-type]


def texts(xml: bytes, path: str) -> list[str]:
    return [element.text for element in parse_xml(xml).getroot().iterfind(path, NS)]


def test_contract_notice_is_valid_against_the_sdk_xsd_and_reads_back() -> None:
    xml = contract_notice(a_consultation(), a_context())

    assert validate_notice(xml, SCHEMAS) == []
    summary = read_notice(xml)
    assert (summary.document, summary.notice_type, summary.subtype) == (
        "ContractNotice",
        "cn-standard",
        "16",
    )
    assert summary.procedure == "open"
    assert summary.buyer == "Direction des achats de l'Etat"
    assert summary.title == "Maintenance du parc informatique"
    assert summary.cpv == "50312000"  # eForms CPV codes carry no check digit
    assert [(lot.lot_id, lot.title, lot.cpv) for lot in summary.lots] == [
        ("LOT-0001", "Postes de travail", "50312000"),
        ("LOT-0002", "Serveurs", "50312600"),
    ]
    assert summary.deadline == DEADLINE
    assert summary.notice_id == "8a0f4d3e-5c1b-4b6a-9f0e-2d7c3b1a0e11"


def test_contract_notice_publishes_weighted_award_criteria_per_lot() -> None:
    xml = contract_notice(a_consultation(), a_context())

    criteria = ".//cac:ProcurementProjectLot[1]//cac:SubordinateAwardingCriterion"
    assert texts(xml, f"{criteria}/cbc:AwardingCriterionTypeCode") == ["price", "quality"]
    assert texts(xml, f"{criteria}/cbc:Name") == ["Prix", "Valeur technique"]
    assert texts(xml, f"{criteria}//efbc:ParameterNumeric") == ["60", "40"]
    assert texts(
        xml,
        ".//cac:ProcurementProjectLot/cac:ProcurementProject//cbc:EstimatedOverallContractAmount",
    ) == ["120000.00", "80000.00"]


def test_buyer_and_review_body_are_organisations_with_their_siret() -> None:
    xml = contract_notice(a_consultation(), a_context())

    companies = ".//efac:Organizations/efac:Organization/efac:Company"
    assert texts(xml, f"{companies}/cac:PartyIdentification/cbc:ID") == ["ORG-0001", "ORG-0002"]
    assert texts(xml, f"{companies}/cac:PartyLegalEntity/cbc:CompanyID") == [
        "13002526500013",
        "17750111100013",
    ]
    assert texts(xml, f"{companies}/cac:Contact/cbc:ElectronicMail") == ["achats@example.gouv.fr"]
    assert texts(xml, ".//cac:AppealReceiverParty/cac:PartyIdentification/cbc:ID") == [
        "ORG-0002",
        "ORG-0002",
    ]


@pytest.mark.parametrize(
    ("procedure", "code"),
    [
        (Procedure.OPEN, "open"),
        (Procedure.RESTRICTED, "restricted"),
        (Procedure.NEGOTIATED, "neg-w-call"),
        (Procedure.ADAPTED, "oth-single"),
    ],
)
def test_each_procedure_maps_to_its_eforms_code(procedure: Procedure, code: str) -> None:
    xml = contract_notice(a_consultation(procedure=procedure), a_context())

    assert validate_notice(xml, SCHEMAS) == []
    assert read_notice(xml).procedure == code


@pytest.mark.parametrize(
    ("cpv", "nature"),
    [
        ("45210000-2", "works"),
        ("30213100-6", "supplies"),
        ("48000000-8", "supplies"),
        ("72250000-2", "services"),
    ],
)
def test_contract_nature_follows_the_cpv_division(cpv: str, nature: str) -> None:
    assert contract_nature(cpv) == nature


def test_award_notice_is_valid_and_names_the_winner_amount_and_bids() -> None:
    xml = award_notice(a_consultation(), a_context(), an_award())

    assert validate_notice(xml, SCHEMAS) == []
    summary = read_notice(xml)
    assert (summary.document, summary.notice_type, summary.subtype) == (
        "ContractAwardNotice",
        "can-standard",
        "29",
    )
    assert texts(xml, ".//efac:NoticeResult/cbc:TotalAmount") == ["190000.50"]
    assert texts(
        xml, ".//efac:LotResult/efac:ReceivedSubmissionsStatistics/efbc:StatisticsNumeric"
    ) == ["4", "4"]
    assert texts(xml, ".//efac:NoticeResult/efac:SettledContract/cbc:IssueDate") == ["2025-08-20Z"]
    companies = ".//efac:Organizations/efac:Organization/efac:Company"
    assert texts(xml, f"{companies}/cac:PartyIdentification/cbc:ID")[2] == "ORG-0003"
    assert texts(xml, f"{companies}/cac:PartyName/cbc:Name")[2] == "Informatique Services SAS"
    assert texts(xml, f"{companies}/cac:PartyLegalEntity/cbc:CompanyID")[2] == "55210055400013"
    assert texts(xml, ".//efac:TenderingParty/efac:Tenderer/cbc:ID") == ["ORG-0003"]
    # The CN and the CAN of one consultation share the procedure identifier (BT-04).
    assert (
        summary.procedure_id
        == read_notice(contract_notice(a_consultation(), a_context())).procedure_id
    )


def test_single_lot_award_states_the_tender_value() -> None:
    consultation = a_consultation(lots=(Lot(1, "Lot unique", Decimal("50000")),))
    xml = award_notice(consultation, a_context(), an_award(amount=Decimal("48000")))

    assert validate_notice(xml, SCHEMAS) == []
    assert texts(xml, ".//efac:LotTender/cac:LegalMonetaryTotal/cbc:PayableAmount") == ["48000.00"]


def test_a_broken_notice_is_refused_with_the_line_and_the_element() -> None:
    xml = contract_notice(a_consultation(), a_context())
    root = parse_xml(xml).getroot()
    deadline = root.find(".//cac:TenderSubmissionDeadlinePeriod/cbc:EndTime", NS)
    deadline.text = "noon"
    broken = etree.tostring(root)

    problems = validate_notice(broken, SCHEMAS)

    assert len(problems) == 1
    assert problems[0].startswith("line ")
    assert "EndTime" in problems[0] and "'noon' is not a valid value" in problems[0]


# The SDK 1.15 examples: (file, root, subtype, procedure, buyer, main CPV, lots, deadline).
CORPUS = [
    (
        "cn_24_minimal.xml",
        "ContractNotice",
        "16",
        "open",
        "Publications Office of the European Union",
        "72230000",
        ["LOT-0000"],
        datetime.fromisoformat("2020-02-04T10:00:00+02:00"),
    ),
    (
        "cn_24_open.xml",
        "ContractNotice",
        "16",
        "open",
        "Renfrewshire Council",
        "71630000",
        ["LOT-0000"],
        datetime.fromisoformat("2020-04-03T12:00:00+01:00"),
    ),
    (
        "change-cn_24_open_dates.xml",
        "ContractNotice",
        "16",
        "open",
        "Renfrewshire Council",
        "71630000",
        ["LOT-0000"],
        datetime.fromisoformat("2020-06-12T12:00:00+01:00"),
    ),
    (
        "cn_24_FRA_comments.xml",
        "ContractNotice",
        "16",
        "open",
        "Rouen Habitat",
        "77310000",
        ["LOT-0001", "LOT-0002"],
        datetime.fromisoformat("2019-06-24T16:00:00+00:00"),
    ),
    (
        "INVALID_change-cn_24_FRA_comments.xml",
        "ContractNotice",
        "16",
        "oth-single",
        "Rouen Habitat",
        "77320000",
        ["LOT-0001", "LOT-0002"],
        datetime.fromisoformat("2019-06-24T16:00:00+00:00"),
    ),
    (
        "cn_24_maximal.xml",
        "ContractNotice",
        "16",
        "neg-w-call",
        "Financial Adinistration for ...",
        "79710000",
        ["GLO-0001", "LOT-0001", "LOT-0002"],
        None,
    ),
    (
        "cn_81_FRA.xml",
        "ContractNotice",
        "18",
        "restricted",
        "Commissariat à l'énergie atomique et aux énergies alternatives",
        "71336000",
        ["LOT-0000"],
        None,
    ),
    (
        "can_24_minimal.xml",
        "ContractAwardNotice",
        "29",
        "open",
        "Rouen Habitat",
        "77310000",
        ["LOT-0000"],
        None,
    ),
    (
        "can_24_FRA_comments.xml",
        "ContractAwardNotice",
        "29",
        "open",
        "Rouen Habitat",
        "77310000",
        ["LOT-0001", "LOT-0002"],
        None,
    ),
    (
        "can_24_maximal.xml",
        "ContractAwardNotice",
        "29",
        "neg-w-call",
        "Financial Adinistration for ...",
        "79710000",
        ["GLO-0001", "LOT-0001", "LOT-0002"],
        None,
    ),
    (
        "can_81_FRA.xml",
        "ContractAwardNotice",
        "31",
        "restricted",
        "Commissariat à l'énergie atomique et aux énergies alternatives",
        "71336000",
        ["LOT-0000"],
        None,
    ),
    (
        "can-modif_24_value.xml",
        "ContractAwardNotice",
        "38",
        None,
        "London South Bank University",
        "79410000",
        ["LOT-0000"],
        None,
    ),
    (
        "veat_24.xml",
        "ContractAwardNotice",
        "25",
        "neg-wo-call",
        "Middlesbrough Council",
        "33000000",
        ["LOT-0000"],
        None,
    ),
    (
        "pin-buyer_24.xml",
        "PriorInformationNotice",
        "1",
        None,
        "IRCCS Policlinico ospedale San Martino",
        "33157000",
        [],
        None,
    ),
    (
        "pin-only_81_FRA.xml",
        "PriorInformationNotice",
        "6",
        None,
        "Marine/DCSSF/DSSF Toulon",
        "35520000",
        ["PAR-0000"],
        None,
    ),
    ("INVALID_cn_24_empty.xml", "ContractNotice", "16", None, None, None, [], None),
    ("INVALID_cn_24_stage-1.xml", "ContractNotice", "16", None, None, None, [""], None),
    ("INVALID_can_24_stage-2.xml", "ContractAwardNotice", "29", None, None, None, [""], None),
]


def test_the_corpus_table_covers_every_example_notice() -> None:
    assert sorted(row[0] for row in CORPUS) == sorted(p.name for p in NOTICES.iterdir())


@pytest.mark.parametrize(
    ("name", "document", "subtype", "procedure", "buyer", "cpv", "lots", "deadline"), CORPUS
)
def test_sdk_example_notice_reads_with_its_values(
    name: str,
    document: str,
    subtype: str,
    procedure: str | None,
    buyer: str | None,
    cpv: str | None,
    lots: list[str],
    deadline: datetime | None,
) -> None:
    xml = (NOTICES / name).read_bytes()

    summary = read_notice(xml)

    assert (summary.document, summary.subtype, summary.procedure) == (document, subtype, procedure)
    assert (summary.buyer, summary.cpv) == (buyer, cpv)
    assert [lot.lot_id for lot in summary.lots] == lots
    assert summary.deadline == deadline
    # Even the INVALID_ examples pass the XSD: the SDK marks them invalid by Schematron only.
    assert validate_notice(xml, SCHEMAS) == []


def test_an_espd_is_not_read_as_a_notice() -> None:
    espd = (SHARED / "corpus" / "espd" / "v4.1.0_ESPD-Request.xml").read_bytes()

    with pytest.raises(NoticeRefused) as refused:
        read_notice(espd)

    assert refused.value.code == "NOTICE_TYPE_UNKNOWN"
    assert validate_notice(espd, SCHEMAS) == [
        "line 1: root element QualificationApplicationRequest is not an eForms notice"
    ]


def test_a_notice_with_a_doctype_is_refused_by_the_hardened_parser() -> None:
    xml = contract_notice(a_consultation(), a_context())
    hostile = xml.replace(b"?>", b'?>\n<!DOCTYPE x [<!ENTITY a "aaaa">]>', 1)

    with pytest.raises(XmlRefused) as refused:
        read_notice(hostile)

    assert refused.value.code == ErrorCode.XML_DOCTYPE_FORBIDDEN


def test_a_notice_without_a_buyer_name_uses_the_reference() -> None:
    xml = contract_notice(replace(a_consultation(), buyer_name=""), a_context())

    assert read_notice(xml).buyer == "2025-INFO-01"
    assert validate_notice(xml, SCHEMAS) == []
