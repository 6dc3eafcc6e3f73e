"""EU eForms notices of a consultation: the contract notice (subtype 16) and the contract
award notice (subtype 29), generated from the `Consultation`, checked against the SDK XSDs,
and read back (ours and the SDK's examples) into a `NoticeSummary`.

Pure values in, bytes out; the only I/O is reading the official XSDs from the shared
`schemas/` folder, compiled once per path. The notices follow the SDK 1.15 examples
`cn_24_minimal.xml` and `can_24_minimal.xml` (which pass the SDK Schematron), so the fields
the Schematron requires are filled as far as a `Consultation` carries them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from lxml import etree

from core.errors import ErrorCode, InvalidInput
from invoicing.parsing import parse_xml
from invoicing.validation.schemas import xsd_errors
from procurement.model import Consultation, Criterion, Lot, Procedure

EFORMS_XSD_DIR = Path("eforms-sdk-1.15.1/schemas/maindoc")  # inside the shared `schemas/`
SDK_VERSION = "eforms-sdk-1.15"
DIRECTIVE_2014_24 = "32014L0024"  # BT-01: the legal basis of subtypes 16 and 29

CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
EXT = "urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2"
EFAC = "http://data.europa.eu/p27/eforms-ubl-extension-aggregate-components/1"
EFBC = "http://data.europa.eu/p27/eforms-ubl-extension-basic-components/1"
EFEXT = "http://data.europa.eu/p27/eforms-ubl-extensions/1"
_UBL = "urn:oasis:names:specification:ubl:schema:xsd:"
NOTICE_ROOTS = {
    "ContractNotice": "UBL-ContractNotice-2.3.xsd",
    "ContractAwardNotice": "UBL-ContractAwardNotice-2.3.xsd",
    "PriorInformationNotice": "UBL-PriorInformationNotice-2.3.xsd",
}
_NS = {"cbc": CBC, "cac": CAC, "ext": EXT, "efac": EFAC, "efbc": EFBC, "efext": EFEXT}

BUYER_ORG = "ORG-0001"
REVIEW_ORG = "ORG-0002"
WINNER_ORG = "ORG-0003"
WINNER_PARTY = "TPA-0001"
CONTRACT = "CON-0001"

# Procedure -> eForms `procurement-procedure-type` (BT-105), all in the subtype-16 list
# `procedure-type-16`.
PROCEDURE_CODES = {
    Procedure.OPEN: "open",
    Procedure.RESTRICTED: "restricted",
    Procedure.NEGOTIATED: "neg-w-call",
    # A MAPA (R2123-1) has no EU counterpart: the buyer shapes it, in one stage (bids on
    # the published terms, negotiation optional). "oth-single" (other single stage
    # procedure) is the code TED uses for national procedures published voluntarily.
    Procedure.ADAPTED: "oth-single",
}


class NoticeRefused(InvalidInput):
    """The XML is not an eForms notice Chaîne reads; `code` is stable (NOTICE_TYPE_UNKNOWN)."""


@dataclass(frozen=True)
class PostalAddress:
    """An address as eForms wants it: NUTS 3 region and ISO 3166-1 alpha-3 country."""

    city: str
    postal_code: str
    nuts: str  # NUTS 3, e.g. "FR101" (Paris)
    street: str = ""
    country: str = "FRA"


@dataclass(frozen=True)
class NoticeContext:
    """What a notice needs beyond the consultation's terms, from the buyer's profile."""

    notice_id: uuid.UUID  # BT-701, a new one per notice
    issued_at: datetime  # BT-05, aware
    buyer_address: PostalAddress
    buyer_legal_type: str  # `buyer-legal-type` code: "cga" State, "la" local authority...
    review_body_name: str  # the tribunal administratif hearing appeals (BT-500 ReviewOrg)
    review_body_siret: str
    review_body_address: PostalAddress
    documents_url: str  # where the DCE is downloaded (BT-15)
    submission_url: str  # where bids are submitted (BT-18)
    buyer_activity: str = "gen-pub"  # `authority-activity` (BT-10): general public services


@dataclass(frozen=True)
class AwardResult:
    """The outcome the award notice publishes: one winning bid for the whole consultation."""

    supplier_siret: str
    supplier_name: str
    amount: Decimal  # euros excluding VAT, all lots together
    bids_received: int
    concluded_on: date  # BT-145: the contract was signed
    supplier_address: PostalAddress | None = None


@dataclass(frozen=True)
class LotSummary:
    """A lot as a notice describes it."""

    lot_id: str
    title: str
    cpv: str | None


@dataclass(frozen=True)
class NoticeSummary:
    """The facts of a notice a buyer or a supplier looks at first."""

    document: str  # root element: ContractNotice, ContractAwardNotice, PriorInformationNotice
    notice_type: str | None  # BT-02, e.g. cn-standard
    subtype: str | None  # BT-03/OPP-070, e.g. "16"
    notice_id: str | None
    procedure_id: str | None
    procedure: str | None  # BT-105 code
    buyer: str | None
    title: str | None
    cpv: str | None  # main CPV, 8 digits
    lots: tuple[LotSummary, ...]
    deadline: datetime | None  # the first lot's submission deadline


def contract_nature(cpv_code: str) -> str:
    """BT-23 from the main CPV: division 45 is works, 01-44 and 48 supplies, the rest services."""
    division = int(cpv_code[:2])
    if division == 45:
        return "works"
    if division <= 44 or division == 48:
        return "supplies"
    return "services"


def procedure_id(consultation: Consultation) -> uuid.UUID:
    """BT-04: one UUID per consultation, the same in every notice and ESPD of it."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"urn:chaine:{consultation.workflow_id}")


def lot_id(lot: Lot) -> str:
    """BT-137 lot identifier, `LOT-0001` for lot 1."""
    return f"LOT-{lot.number:04d}"


def contract_notice(consultation: Consultation, context: NoticeContext) -> bytes:
    """The contract notice (subtype 16, cn-standard) that opens the consultation."""
    root = _root("ContractNotice")
    extension = _eforms_extension(root)
    _sub(
        _sub(extension, EFAC, "NoticeSubType"), CBC, "SubTypeCode", "16", listName="notice-subtype"
    )
    _organizations(extension, consultation, context, winner=None)
    _header(root, consultation, context, ("competition", "cn-standard"))
    terms = _sub(root, CAC, "TenderingTerms")
    _requirement(terms, "exclusion-grounds-source", "epo-procurement-document")
    process = _sub(root, CAC, "TenderingProcess")
    _sub(
        process,
        CBC,
        "ProcedureCode",
        PROCEDURE_CODES[consultation.procedure],
        listName="procurement-procedure-type",
    )
    justification = _sub(process, CAC, "ProcessJustification")
    _sub(justification, CBC, "ProcessReasonCode", "false", listName="accelerated-procedure")
    _project(root, consultation, consultation.title, consultation.cpv_codes)
    for lot in consultation.lots:
        _competition_lot(root, consultation, context, lot)
    return _serialise(root)


def award_notice(consultation: Consultation, context: NoticeContext, award: AwardResult) -> bytes:
    """The contract award notice (subtype 29, can-standard) once the contract is concluded."""
    root = _root("ContractAwardNotice")
    extension = _eforms_extension(root)
    _notice_result(extension, consultation, award)
    _sub(
        _sub(extension, EFAC, "NoticeSubType"), CBC, "SubTypeCode", "29", listName="notice-subtype"
    )
    _organizations(extension, consultation, context, winner=award)
    _header(root, consultation, context, ("result", "can-standard"))
    process = _sub(root, CAC, "TenderingProcess")
    _sub(
        process,
        CBC,
        "ProcedureCode",
        PROCEDURE_CODES[consultation.procedure],
        listName="procurement-procedure-type",
    )
    _project(root, consultation, consultation.title, consultation.cpv_codes)
    for lot in consultation.lots:
        _award_lot(root, consultation, context, lot)
    result = _sub(root, CAC, "TenderResult")
    _sub(result, CBC, "AwardDate", _date(award.concluded_on))
    return _serialise(root)


def validate_notice(xml: bytes, schemas_dir: Path) -> list[str]:
    """The XSD errors of a notice (CN, CAN or PIN), `line N: message`; empty when valid.

    `schemas_dir` is the shared `schemas/` folder. Untrusted bytes go through the hardened
    parser, whose refusals (`XmlRefused`) propagate.
    """
    tree = parse_xml(xml)
    name = etree.QName(tree.getroot()).localname
    if name not in NOTICE_ROOTS:
        return [f"line 1: root element {name} is not an eForms notice"]
    errors = xsd_errors(schemas_dir / EFORMS_XSD_DIR / NOTICE_ROOTS[name], tree)
    return [f"line {error.line}: {error.message}" for error in errors]


def read_notice(xml: bytes) -> NoticeSummary:
    """The main facts of an eForms notice; refuses other documents with `NoticeRefused`."""
    root = parse_xml(xml).getroot()
    name = etree.QName(root).localname
    if name not in NOTICE_ROOTS or etree.QName(root).namespace != f"{_UBL}{name}-2":
        raise NoticeRefused(ErrorCode.NOTICE_TYPE_UNKNOWN, f"{root.tag} is not an eForms notice")
    lots = tuple(
        LotSummary(
            lot_id=_text(lot, "cbc:ID") or "",
            title=_text(lot, "cac:ProcurementProject/cbc:Name") or "",
            cpv=_text(
                lot,
                "cac:ProcurementProject/cac:MainCommodityClassification/cbc:ItemClassificationCode",
            ),
        )
        for lot in root.findall("cac:ProcurementProjectLot", _NS)
    )
    deadline = root.find(
        "cac:ProcurementProjectLot/cac:TenderingProcess/cac:TenderSubmissionDeadlinePeriod", _NS
    )
    return NoticeSummary(
        document=name,
        notice_type=_text(root, "cbc:NoticeTypeCode"),
        subtype=_text(root, ".//efac:NoticeSubType/cbc:SubTypeCode"),
        notice_id=_text(root, "cbc:ID"),
        procedure_id=_text(root, "cbc:ContractFolderID"),
        procedure=_text(root, "cac:TenderingProcess/cbc:ProcedureCode"),
        buyer=_buyer_name(root),
        title=_text(root, "cac:ProcurementProject/cbc:Name"),
        cpv=_text(
            root,
            "cac:ProcurementProject/cac:MainCommodityClassification/cbc:ItemClassificationCode",
        ),
        lots=lots,
        deadline=_deadline(deadline) if deadline is not None else None,
    )


# --- reading -----------------------------------------------------------------------------


def _text(element: etree._Element, path: str) -> str | None:
    found = element.find(path, _NS)
    return found.text.strip() if found is not None and found.text else None


def _buyer_name(root: etree._Element) -> str | None:
    """The name of the organisation the (first) buyer role points to."""
    org_id = _text(root, "cac:ContractingParty/cac:Party/cac:PartyIdentification/cbc:ID")
    for company in root.iterfind(".//efac:Organizations/efac:Organization/efac:Company", _NS):
        if _text(company, "cac:PartyIdentification/cbc:ID") == org_id:
            return _text(company, "cac:PartyName/cbc:Name")
    return None


def _deadline(period: etree._Element) -> datetime | None:
    """EndDate (`2020-02-04+01:00`) and EndTime (`10:00:00+01:00`) as one aware instant."""
    end_date, end_time = _text(period, "cbc:EndDate"), _text(period, "cbc:EndTime")
    if not end_date or not end_time:
        return None
    return datetime.fromisoformat(f"{end_date[:10]}T{end_time}")


# --- writing -----------------------------------------------------------------------------


def _root(name: str) -> etree._Element:
    nsmap = {None: f"{_UBL}{name}-2", **_NS}
    return etree.Element(f"{{{_UBL}{name}-2}}{name}", nsmap=nsmap)


def _sub(
    parent: etree._Element, ns: str, tag: str, text: str | None = None, **attributes: str
) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ns}}}{tag}", attributes)
    if text is not None:
        element.text = text
    return element


def _serialise(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _date(day: date) -> str:
    """xs:date with a zone, as eForms requires: our dates are UTC (`Z`)."""
    return f"{day.isoformat()}Z"


def _date_time(instant: datetime) -> tuple[str, str]:
    """An aware datetime as the eForms (date, time) pair, both with their offset."""
    offset = instant.strftime("%z")
    zone = "Z" if offset in ("+0000", "") else f"{offset[:3]}:{offset[3:]}"
    return f"{instant.date().isoformat()}{zone}", f"{instant.strftime('%H:%M:%S')}{zone}"


def _cpv(code: str) -> str:
    """eForms CPV codes carry no check digit: `72230000-6` -> `72230000`."""
    return code.split("-")[0]


def _amount(parent: etree._Element, ns: str, tag: str, value: Decimal) -> None:
    _sub(parent, ns, tag, f"{value:.2f}", currencyID="EUR")


def _eforms_extension(root: etree._Element) -> etree._Element:
    extension = _sub(_sub(root, EXT, "UBLExtensions"), EXT, "UBLExtension")
    return _sub(_sub(extension, EXT, "ExtensionContent"), EFEXT, "EformsExtension")


def _header(
    root: etree._Element,
    consultation: Consultation,
    context: NoticeContext,
    notice_type: tuple[str, str],
) -> None:
    """BT-701, BT-04, BT-05, BT-757, BT-01, BT-02, BT-702 and the buyer's roles."""
    issue_date, issue_time = _date_time(context.issued_at)
    _sub(root, CBC, "UBLVersionID", "2.3")
    _sub(root, CBC, "CustomizationID", SDK_VERSION)
    _sub(root, CBC, "ID", str(context.notice_id), schemeName="notice-id")
    _sub(root, CBC, "ContractFolderID", str(procedure_id(consultation)))
    _sub(root, CBC, "IssueDate", issue_date)
    _sub(root, CBC, "IssueTime", issue_time)
    _sub(root, CBC, "VersionID", "01")
    _sub(root, CBC, "RegulatoryDomain", DIRECTIVE_2014_24)
    _sub(root, CBC, "NoticeTypeCode", notice_type[1], listName=notice_type[0])
    _sub(root, CBC, "NoticeLanguageCode", "FRA")
    party = _sub(root, CAC, "ContractingParty")
    _sub(
        _sub(party, CAC, "ContractingPartyType"),
        CBC,
        "PartyTypeCode",
        context.buyer_legal_type,
        listName="buyer-legal-type",
    )
    _sub(
        _sub(party, CAC, "ContractingActivity"),
        CBC,
        "ActivityTypeCode",
        context.buyer_activity,
        listName="authority-activity",
    )
    _org_ref(_sub(party, CAC, "Party"), BUYER_ORG)


def _org_ref(parent: etree._Element, org_id: str) -> None:
    identification = _sub(parent, CAC, "PartyIdentification")
    _sub(identification, CBC, "ID", org_id, schemeName="organization")


def _organizations(
    extension: etree._Element,
    consultation: Consultation,
    context: NoticeContext,
    winner: AwardResult | None,
) -> None:
    """efac:Organizations: the buyer, the review body and, in a CAN, the winner."""
    organizations = _sub(extension, EFAC, "Organizations")
    contact = consultation.contact
    _company(
        organizations,
        BUYER_ORG,
        consultation.buyer_name or consultation.reference,
        consultation.buyer_siret,
        context.buyer_address,
        (contact.name, contact.phone, contact.email),
    )
    _company(
        organizations,
        REVIEW_ORG,
        context.review_body_name,
        context.review_body_siret,
        context.review_body_address,
        None,
    )
    if winner is not None:
        _company(
            organizations,
            WINNER_ORG,
            winner.supplier_name,
            winner.supplier_siret,
            winner.supplier_address,
            None,
        )


def _company(
    organizations: etree._Element,
    org_id: str,
    name: str,
    siret: str,
    address: PostalAddress | None,
    contact: tuple[str, str, str] | None,
) -> None:
    company = _sub(_sub(organizations, EFAC, "Organization"), EFAC, "Company")
    _org_ref(company, org_id)
    _sub(_sub(company, CAC, "PartyName"), CBC, "Name", name, languageID="FRA")
    postal = _sub(company, CAC, "PostalAddress")
    if address is not None:
        if address.street:
            _sub(postal, CBC, "StreetName", address.street)
        _sub(postal, CBC, "CityName", address.city)
        _sub(postal, CBC, "PostalZone", address.postal_code)
        _sub(postal, CBC, "CountrySubentityCode", address.nuts, listName="nuts")
    country = address.country if address is not None else "FRA"
    _sub(_sub(postal, CAC, "Country"), CBC, "IdentificationCode", country, listName="country")
    # BT-501: the SIRET is the French organisation identifier.
    _sub(_sub(company, CAC, "PartyLegalEntity"), CBC, "CompanyID", siret)
    if contact is not None:
        name_, phone, email = contact
        element = _sub(company, CAC, "Contact")
        _sub(element, CBC, "Name", name_)
        if phone:
            _sub(element, CBC, "Telephone", phone)
        _sub(element, CBC, "ElectronicMail", email)


def _requirement(terms: etree._Element, list_name: str, code: str) -> None:
    request = _sub(terms, CAC, "TendererQualificationRequest")
    _sub(
        _sub(request, CAC, "SpecificTendererRequirement"),
        CBC,
        "TendererRequirementTypeCode",
        code,
        listName=list_name,
    )


def _project(
    parent: etree._Element,
    consultation: Consultation,
    title: str,
    cpv_codes: tuple[str, ...],
    *,
    lot: Lot | None = None,
) -> None:
    """cac:ProcurementProject of the procedure or of a lot: title, nature, CPV, place."""
    project = _sub(parent, CAC, "ProcurementProject")
    if lot is not None:
        _sub(project, CBC, "ID", str(lot.number), schemeName="InternalID")
    _sub(project, CBC, "Name", title, languageID="FRA")
    description = (lot.description if lot is not None else "") or consultation.description
    _sub(project, CBC, "Description", description or title, languageID="FRA")
    _sub(
        project,
        CBC,
        "ProcurementTypeCode",
        contract_nature(cpv_codes[0]),
        listName="contract-nature",
    )
    value = lot.estimated_value if lot is not None else consultation.estimated_value
    _amount(
        _sub(project, CAC, "RequestedTenderTotal"), CBC, "EstimatedOverallContractAmount", value
    )
    classification = _sub(project, CAC, "MainCommodityClassification")
    _sub(classification, CBC, "ItemClassificationCode", _cpv(cpv_codes[0]), listName="cpv")
    for code in cpv_codes[1:]:
        additional = _sub(project, CAC, "AdditionalCommodityClassification")
        _sub(additional, CBC, "ItemClassificationCode", _cpv(code), listName="cpv")
    address = _sub(_sub(project, CAC, "RealizedLocation"), CAC, "Address")
    place = consultation.place_of_performance
    if len(place) == 5:  # a NUTS 3 region; "FR" alone means anywhere in France
        _sub(address, CBC, "CountrySubentityCode", place, listName="nuts")
    _sub(_sub(address, CAC, "Country"), CBC, "IdentificationCode", "FRA", listName="country")


def _awarding_terms(terms: etree._Element, criteria: tuple[Criterion, ...]) -> None:
    """BT-539/540/541: each criterion with its type, name and weight in percent."""
    criterion_element = _sub(_sub(terms, CAC, "AwardingTerms"), CAC, "AwardingCriterion")
    for criterion in criteria:
        sub = _sub(criterion_element, CAC, "SubordinateAwardingCriterion")
        parameter = _sub(_eforms_extension(sub), EFAC, "AwardCriterionParameter")
        _sub(parameter, EFBC, "ParameterCode", "per-exa", listName="number-weight")
        _sub(parameter, EFBC, "ParameterNumeric", str(criterion.weight))
        _sub(
            sub,
            CBC,
            "AwardingCriterionTypeCode",
            criterion.kind.value,
            listName="award-criterion-type",
        )
        _sub(sub, CBC, "Name", criterion.name, languageID="FRA")


def _appeal_terms(terms: etree._Element) -> None:
    appeal = _sub(terms, CAC, "AppealTerms")
    receiver = _sub(appeal, CAC, "AppealReceiverParty")
    _org_ref(receiver, REVIEW_ORG)


def _competition_lot(
    root: etree._Element, consultation: Consultation, context: NoticeContext, lot: Lot
) -> None:
    """A lot of the contract notice: documents, ESPD, award criteria, deadlines."""
    element = _sub(root, CAC, "ProcurementProjectLot")
    _sub(element, CBC, "ID", lot_id(lot), schemeName="Lot")
    terms = _sub(element, CAC, "TenderingTerms")
    _sub(terms, CBC, "VariantConstraintCode", "not-allowed", listName="permission")
    _sub(terms, CBC, "FundingProgramCode", "no-eu-funds", listName="eu-funded")
    documents = _sub(terms, CAC, "CallForTendersDocumentReference")
    _sub(documents, CBC, "ID", consultation.reference)
    _sub(documents, CBC, "DocumentType", "non-restricted-document")
    attachment = _sub(_sub(documents, CAC, "Attachment"), CAC, "ExternalReference")
    _sub(attachment, CBC, "URI", context.documents_url)
    _requirement(terms, "reserved-procurement", "none")
    _requirement(terms, "selection-criteria-source", "epo-procurement-document")
    for list_name, code in (
        ("reserved-execution", "no"),
        ("einvoicing", "required"),  # Chorus Pro: e-invoicing is compulsory (L2192-1)
        ("ecatalog-submission", "not-allowed"),
    ):
        requirement = _sub(terms, CAC, "ContractExecutionRequirement")
        _sub(requirement, CBC, "ExecutionRequirementCode", code, listName=list_name)
    _awarding_terms(terms, consultation.criteria)
    recipient = _sub(terms, CAC, "TenderRecipientParty")
    _sub(recipient, CBC, "EndpointID", context.submission_url)
    _org_ref(recipient, BUYER_ORG)
    _appeal_terms(terms)
    _sub(_sub(terms, CAC, "Language"), CBC, "ID", "FRA")
    process = _sub(element, CAC, "TenderingProcess")
    _sub(process, CBC, "SubmissionMethodCode", "required", listName="esubmission")
    _sub(process, CBC, "GovernmentAgreementConstraintIndicator", "true")
    deadline_date, deadline_time = _date_time(consultation.submission_deadline)
    deadline = _sub(process, CAC, "TenderSubmissionDeadlinePeriod")
    _sub(deadline, CBC, "EndDate", deadline_date)
    _sub(deadline, CBC, "EndTime", deadline_time)
    questions_date, questions_time = _date_time(consultation.questions_deadline)
    questions = _sub(process, CAC, "AdditionalInformationRequestPeriod")
    _sub(questions, CBC, "EndDate", questions_date)
    _sub(questions, CBC, "EndTime", questions_time)
    _sub(_sub(process, CAC, "AuctionTerms"), CBC, "AuctionConstraintIndicator", "false")
    _contracting_systems(process)
    _project(element, consultation, lot.title, lot.cpv_codes or consultation.cpv_codes, lot=lot)


def _contracting_systems(process: etree._Element) -> None:
    for list_name in ("framework-agreement", "dps-usage"):
        system = _sub(process, CAC, "ContractingSystem")
        _sub(system, CBC, "ContractingSystemTypeCode", "none", listName=list_name)


def _award_lot(
    root: etree._Element, consultation: Consultation, context: NoticeContext, lot: Lot
) -> None:
    """A lot of the award notice: its award criteria, appeal body and scope."""
    element = _sub(root, CAC, "ProcurementProjectLot")
    _sub(element, CBC, "ID", lot_id(lot), schemeName="Lot")
    terms = _sub(element, CAC, "TenderingTerms")
    _sub(terms, CBC, "FundingProgramCode", "no-eu-funds", listName="eu-funded")
    _awarding_terms(terms, consultation.criteria)
    _appeal_terms(terms)
    process = _sub(element, CAC, "TenderingProcess")
    _sub(process, CBC, "GovernmentAgreementConstraintIndicator", "true")
    _sub(_sub(process, CAC, "AuctionTerms"), CBC, "AuctionConstraintIndicator", "false")
    _contracting_systems(process)
    _project(element, consultation, lot.title, lot.cpv_codes or consultation.cpv_codes, lot=lot)


def _notice_result(
    extension: etree._Element, consultation: Consultation, award: AwardResult
) -> None:
    """efac:NoticeResult: per lot a result pointing to the winner's tender, one contract.

    Chaîne awards one bid for the whole consultation, so every lot has a tender of the
    same tendering party and one settled contract covers them all. The awarded amount is
    the notice total (BT-161); a lot's tender value (BT-720) is only stated when there is
    a single lot, since the bid is not priced per lot.
    """
    result = _sub(extension, EFAC, "NoticeResult")
    _amount(result, CBC, "TotalAmount", award.amount)
    tenders = {lot.number: f"TEN-{lot.number:04d}" for lot in consultation.lots}
    for lot in consultation.lots:
        lot_result = _sub(result, EFAC, "LotResult")
        _sub(lot_result, CBC, "ID", f"RES-{lot.number:04d}", schemeName="result")
        _sub(lot_result, CBC, "TenderResultCode", "selec-w", listName="winner-selection-status")
        _sub(
            _sub(lot_result, EFAC, "LotTender"), CBC, "ID", tenders[lot.number], schemeName="tender"
        )
        statistics = _sub(lot_result, EFAC, "ReceivedSubmissionsStatistics")
        _sub(statistics, EFBC, "StatisticsCode", "tenders", listName="received-submission-type")
        _sub(statistics, EFBC, "StatisticsNumeric", str(award.bids_received))
        _sub(_sub(lot_result, EFAC, "SettledContract"), CBC, "ID", CONTRACT, schemeName="contract")
        _sub(_sub(lot_result, EFAC, "TenderLot"), CBC, "ID", lot_id(lot), schemeName="Lot")
    for lot in consultation.lots:
        tender = _sub(result, EFAC, "LotTender")
        _sub(tender, CBC, "ID", tenders[lot.number], schemeName="tender")
        _sub(tender, CBC, "RankCode", "1")
        _sub(tender, EFBC, "TenderRankedIndicator", "true")
        if len(consultation.lots) == 1:
            _amount(_sub(tender, CAC, "LegalMonetaryTotal"), CBC, "PayableAmount", award.amount)
        _sub(
            _sub(tender, EFAC, "TenderingParty"),
            CBC,
            "ID",
            WINNER_PARTY,
            schemeName="tendering-party",
        )
        _sub(_sub(tender, EFAC, "TenderLot"), CBC, "ID", lot_id(lot), schemeName="Lot")
    contract = _sub(result, EFAC, "SettledContract")
    _sub(contract, CBC, "ID", CONTRACT, schemeName="contract")
    _sub(contract, CBC, "IssueDate", _date(award.concluded_on))
    _sub(_sub(contract, EFAC, "ContractReference"), CBC, "ID", consultation.reference)
    for lot in consultation.lots:
        _sub(_sub(contract, EFAC, "LotTender"), CBC, "ID", tenders[lot.number], schemeName="tender")
    party = _sub(result, EFAC, "TenderingParty")
    _sub(party, CBC, "ID", WINNER_PARTY, schemeName="tendering-party")
    _sub(_sub(party, EFAC, "Tenderer"), CBC, "ID", WINNER_ORG, schemeName="organization")
