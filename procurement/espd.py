"""The DUME (ESPD, European Single Procurement Document) of a consultation.

The buyer publishes an ESPD request (ESPD-EDM 4.1.0, UBL 2.3 `QualificationApplicationRequest`)
listing the exclusion grounds and selection criteria; each supplier answers with an ESPD
response. This module writes requests, reads requests and responses of ESPD-EDM 2.x to 4.x
(their criterion structure is the same UBL one), says why a response is not acceptable, and
writes the simplified DUME: a response prefilled from the directory that the supplier only
confirms. Pure values in and out; the only I/O is reading the official XSDs.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Sequence
from copy import deepcopy
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from lxml import etree
from stdnum.fr import siret as siret_number

from core.errors import ErrorCode, InvalidInput
from invoicing.parsing import parse_xml
from invoicing.validation.schemas import xsd_errors
from procurement.eforms import CAC, CBC, PROCEDURE_CODES, contract_nature, lot_id
from procurement.model import Consultation, Procedure

ESPD_XSD_DIR = Path("espd-edm-4.1.0/ubl-2.3/xsdrt/maindoc")  # inside the shared `schemas/`
EDM_VERSION = "4.1.0"
REQUEST = "QualificationApplicationRequest"
RESPONSE = "QualificationApplicationResponse"
_UBL = "urn:oasis:names:specification:ubl:schema:xsd:"
_ESPD_1 = "urn:grow:names:specification:ubl:schema:xsd:ESPD"  # ESPD-EDM 1.x roots
_NS = {"cac": CAC, "cbc": CBC}
_EDM = {"schemeAgencyID": "OP", "schemeVersionID": EDM_VERSION}
_LIST = {"listAgencyID": "OP", "listVersionID": EDM_VERSION}
_EDM_VERSION = re.compile(r"ESPD-EDMv(\d+\.\d+\.\d+)")
_CRITERION_LIST = {
    "listID": "http://publications.europa.eu/resource/authority/criterion",
    "listAgencyID": "OP",
    "listVersionID": "20240612-0",
}


class CriterionType(StrEnum):
    """What a criterion decides: exclusion grounds exclude, selection criteria qualify."""

    EXCLUSION = "exclusion"
    SELECTION = "selection"
    OTHER = "other"  # data about the operator (SME, group, relied-on entities...)


class EspdRefused(InvalidInput):
    """An XML Chaîne does not read as an ESPD, with a stable `code`.

    Codes: ESPD_VERSION_UNSUPPORTED (ESPD-EDM 1.x, UBL other than 2.2/2.3),
    ESPD_DOCUMENT_UNEXPECTED (not the request or response asked for).
    """


@dataclass(frozen=True)
class EspdCriterion:
    """A criterion of the ESPD-EDM taxonomy: its UUID is stable across EDM versions."""

    uuid: str
    code: str  # EU vocabulary `criterion` code in 3.x/4.x, e.g. "crime-org"
    kind: CriterionType
    name: str
    number: int = 0  # taxonomy number (C1...C56), the prefix of 4.x property ids


def _taxonomy(
    kind: CriterionType, rows: tuple[tuple[int, str, str, str], ...]
) -> tuple[EspdCriterion, ...]:
    return tuple(EspdCriterion(uuid_, code, kind, name, n) for n, code, uuid_, name in rows)


# The ESPD-EDM criterion taxonomy (Directive 2014/24 art. 57 and 58), UUIDs as in the
# official ESPD-EDM v4.1.0 request example (identical in v2.1.1 and v3.3.0).
EXCLUSION_GROUNDS = _taxonomy(
    CriterionType.EXCLUSION,
    (
        (
            1,
            "crime-org",
            "005eb9ed-1347-4ca3-bb29-9bc0db64e1ab",
            "Participation in a criminal organisation",
        ),
        (2, "corruption", "c27b7c4e-c837-4529-b867-ed55ce639db5", "Corruption"),
        (3, "fraud", "297d2323-3ede-424e-94bc-a91561e6f320", "Fraud"),
        (
            4,
            "terr-offence",
            "d486fb70-86b3-4e75-97f2-0d71b5697c7d",
            "Terrorist offences or offences linked to terrorist activities",
        ),
        (
            5,
            "finan-laund",
            "47112079-6fec-47a3-988f-e561668c3aef",
            "Money laundering or terrorist financing",
        ),
        (
            6,
            "human-traffic",
            "d789d01a-fe03-4ccd-9898-73f9cfa080d1",
            "Child labour and other forms of trafficking in human beings",
        ),
        (7, "tax-pay", "b61bbeb7-690e-4a40-bc68-d6d4ecfaa3d4", "Payment of taxes"),
        (
            8,
            "socsec-pay",
            "7d85e333-bbab-49c0-be8d-c36d71a72f5e",
            "Payment of social security contributions",
        ),
        (
            9,
            "envir-law",
            "a80ddb62-d25b-4e4e-ae22-3968460dc0a9",
            "Breaching of obligations in the fields of environmental law",
        ),
        (
            10,
            "socsec-law",
            "a261a395-ed17-4939-9c75-b9ff1109ca6e",
            "Breaching of obligations in the fields of social law",
        ),
        (
            11,
            "labour-law",
            "a34b70d6-c43d-4726-9a88-8e2b438424bf",
            "Breaching of obligations in the fields of labour law",
        ),
        (12, "bankruptcy", "d3732c09-7d62-4edc-a172-241da6636e7c", "Bankruptcy"),
        (13, "insolvency", "396f288a-e267-4c20-851a-ed4f7498f137", "Insolvency"),
        (14, "cred-arran", "68918c7a-f5bc-4a1a-a62f-ad8983600d48", "Arrangement with creditors"),
        (
            15,
            "bankr-nat",
            "daffa2a9-9f8f-4568-8be8-7b8bf306d096",
            "Analogous situation like bankruptcy under national law",
        ),
        (
            16,
            "liq-admin",
            "8fda202a-0c37-41bb-9d7d-de3f49edbfcb",
            "Assets being administered by liquidator",
        ),
        (
            17,
            "susp-act",
            "166536e2-77f7-455c-b018-70582474e4f6",
            "Business activities are suspended",
        ),
        (
            18,
            "prof-misconduct",
            "514d3fde-1e3e-4dcd-b02a-9f984d5bbda3",
            "Guilty of grave professional misconduct",
        ),
        (
            19,
            "distorsion",
            "56d13e3d-76e8-4f23-8af6-13e60a2ee356",
            "Agreements with other economic operators aimed at distorting competition",
        ),
        (
            20,
            "partic-confl",
            "b1b5ac18-f393-4280-9659-1367943c1a2e",
            "Conflict of interest due to its participation in the procurement procedure",
        ),
        (
            21,
            "prep-confl",
            "61874050-5130-4f1c-a174-720939c7b483",
            "Direct or indirect involvement in the preparation of this procurement procedure",
        ),
        (
            22,
            "sanction",
            "3293e92b-7f3e-42f1-bee6-a7641bb04251",
            "Early termination, damages or other comparable sanctions",
        ),
        (
            23,
            "misrepresent",
            "696a75b2-6107-428f-8b74-82affb67e184",
            "Guilty of misrepresentation, withheld information, unable to provide "
            "required documents and obtained confidential information of this procedure",
        ),
        (
            24,
            "nati-ground",
            "63adb07d-db1b-4ef0-a14e-a99785cf8cf6",
            "Purely national exclusion grounds",
        ),
    ),
)
SELECTION_CRITERIA = _taxonomy(
    CriterionType.SELECTION,
    (
        (
            25,
            "prof-regist",
            "6ee55a59-6adb-4c3a-b89f-e62a7ad7be7f",
            "Enrolment in a relevant professional register",
        ),
        (
            26,
            "trade-regist",
            "87b3fa26-3549-4f92-b8e0-3fd8f04bf5c7",
            "Enrolment in a trade register",
        ),
        (
            27,
            "authorisation",
            "9eeb6d5c-0eb8-48e8-a4c5-5087a7c095a4",
            "For service contracts: authorisation of particular organisation needed",
        ),
        (
            28,
            "membership",
            "73f10e36-ed7a-412e-995c-aa76463e3776",
            "For service contracts: membership of particular organisation needed",
        ),
        (29, "gen-year-to", "499efc97-2ac1-4af2-9e84-323c2ca67747", "General yearly turnover"),
        (30, "aver-year-to", "b16cb9fc-6cb7-4585-9302-9533b415cf48", "Average yearly turnover"),
        (31, "spec-aver-to", "d3dfb714-f558-4512-bbc5-e456fa2339de", "Specific average turnover"),
        (32, "spec-year-to", "074f6031-55f9-4e99-b9a4-c4363e8bc315", "Specific yearly turnover"),
        (34, "finan-rat", "e4d37adc-08cd-4f4d-a8d8-32b62b0a1f46", "Financial ratio"),
        (
            35,
            "indem-insu",
            "7604bd40-4462-4086-8763-a50da51a869c",
            "Professional risk indemnity insurance",
        ),
        (
            36,
            "finan-requ",
            "ab0e7f2e-6418-40e2-8870-6713123e41ad",
            "Other economic or financial requirements",
        ),
        (
            37,
            "work-perform",
            "cdd3bb3e-34a5-43d5-b668-2aab86a73822",
            "For works contracts: performance of works of the specified type",
        ),
        (
            38,
            "supply-perform",
            "3a18a175-1863-4b1d-baef-588ce61960ca",
            "For supply contracts: performance of deliveries of the specified type",
        ),
        (
            39,
            "service-perform",
            "5e506c16-26ab-4e32-bb78-b27f87dc0565",
            "For service contracts: performance of services of the specified type",
        ),
        (
            40,
            "qual-cont-tech",
            "3aaca389-4a7b-406b-a4b9-080845d127e7",
            "Technicians or technical bodies for quality control",
        ),
        (
            41,
            "work-tech",
            "c599c130-b29f-461e-a187-4e16c7d40db7",
            "For works contracts: technicians or technical bodies to carry out the work",
        ),
        (
            42,
            "qual-facil",
            "4bf996d9-439c-40c6-9ab9-980a48cb55a1",
            "Technical facilities and measures for ensuring quality",
        ),
        (
            43,
            "research-fac",
            "90a2e100-44cc-45d3-9970-69d6714f1596",
            "Study and research facilities",
        ),
        (44, "chain-manage", "dc12a151-7fdf-4733-a8f0-30f667292e66", "Supply chain management"),
        (
            45,
            "envir-measure",
            "9460457e-b43d-48a9-acd1-615de6ddd33e",
            "Environmental management measures",
        ),
        (
            46,
            "tech-equip",
            "cc18c023-211d-484d-a32e-52f3f970285f",
            "Tools, plant or technical equipment",
        ),
        (
            47,
            "qualification",
            "07301031-2270-41af-8e7e-66fe0c777107",
            "Educational and professional qualifications",
        ),
        (
            48,
            "spec-req-check",
            "c8809aa1-29b6-4f27-ae2f-27e612e394db",
            "Special requierements check",
        ),
        (49, "manage-staff", "6346959b-e097-4ea1-89cd-d1b4c131ea4d", "Number of managerial staff"),
        (50, "year-manpower", "1f49b3f0-d50f-43f6-8b30-4bafab108b9b", "Average annual manpower"),
        (51, "suncont-port", "612a1625-118d-4ea4-a6db-413184e7c0a8", "Subcontracting proportion"),
        (
            52,
            "wo-autent",
            "bdf0601d-2480-4250-b870-658d0ee95be6",
            "For supply contracts: samples, descriptions or photographs without "
            "certification of authenticity",
        ),
        (
            53,
            "w-autent",
            "7662b7a9-bcb8-4763-a0a7-7505d8e8470d",
            "For supply contracts: samples, descriptions or photographs with "
            "certification of authenticity",
        ),
        (
            54,
            "qa-certif-inst",
            "a7669d7d-9297-43e1-9d10-691a1660187c",
            "For supply contracts: certificates by quality control institutes",
        ),
        (
            55,
            "qu-certif-indep",
            "d726bac9-e153-4e75-bfca-c5385587766d",
            "Certificates by independent bodies about quality assurance standards",
        ),
        (
            56,
            "envir-certif-indep",
            "8ed65e48-fd0d-444f-97bd-4f58da632999",
            "Certificates by independent bodies about environmental management "
            "systems or standards",
        ),
    ),
)
TAXONOMY = {criterion.uuid: criterion for criterion in (*EXCLUSION_GROUNDS, *SELECTION_CRITERIA)}
_BY_CODE = {criterion.code: criterion for criterion in TAXONOMY.values()}
_CONVICTIONS = frozenset(c.code for c in EXCLUSION_GROUNDS[:6])  # art. 57(1): dated convictions
_REFERENCES = {"works": "work-perform", "supplies": "supply-perform", "services": "service-perform"}


@dataclass(frozen=True)
class SupplierIdentity:
    """A supplier as the directory knows it from its SIRET alone (simplified DUME)."""

    siret: str
    name: str
    street: str = ""  # the directory may not know the address: the supplier adds it
    city: str = ""
    postal_code: str = ""
    country: str = "FRA"  # ISO 3166-1 alpha-3, as ESPD-EDM 3.x/4.x want


@dataclass(frozen=True)
class EconomicOperator:
    """The operator a response is from: name, every identifier, and the SIRET if one is."""

    name: str
    identifiers: tuple[str, ...]
    siret: str | None


@dataclass(frozen=True)
class CriterionAnswer:
    """How a response answers one criterion.

    `indicator` is the criterion's main yes/no answer ("Your answer"): for an exclusion
    ground, True means the ground applies to the operator; for a selection criterion, True
    means it is met. `answered` is whether that answer (or, for criteria without one, any
    answer) is there.
    """

    criterion: EspdCriterion
    answered: bool
    indicator: bool | None
    self_cleaning: bool | None


@dataclass(frozen=True)
class EspdRequest:
    """A buyer's ESPD request as read back."""

    edm_version: str
    document_id: str
    contract_folder_id: str
    contracting_body: str | None
    criteria: tuple[EspdCriterion, ...]


@dataclass(frozen=True)
class EspdResponse:
    """A supplier's ESPD response as read: who answers, for which procedure, and how."""

    edm_version: str
    document_id: str
    contract_folder_id: str
    contracting_body: str | None
    economic_operator: EconomicOperator | None
    answers: tuple[CriterionAnswer, ...]

    def answer(self, criterion_uuid: str) -> CriterionAnswer | None:
        """The answer to the criterion with this UUID, if the response carries it."""
        return next((a for a in self.answers if a.criterion.uuid == criterion_uuid), None)


# --- what the buyer asks ------------------------------------------------------------------


def request_criteria(consultation: Consultation) -> tuple[EspdCriterion, ...]:
    """Every exclusion ground, and the selection criteria fit for the procedure.

    Exclusion grounds are the same for every procedure (L2141-1 to L2141-11). Selection
    must stay proportionate (L2142-1): a MAPA asks only for the trade register enrolment;
    the formal procedures add the general turnover (R2142-6) and references of the
    contract's nature (R2142-14), read from the main CPV.
    """
    selection = ["trade-regist"]
    if consultation.procedure is not Procedure.ADAPTED:
        nature = contract_nature(consultation.cpv_codes[0])
        selection += ["gen-year-to", _REFERENCES[nature]]
    return (*EXCLUSION_GROUNDS, *(_BY_CODE[code] for code in selection))


# A property group: (type code, questions as (description, data type), subgroups).
_Group = tuple[str, tuple[tuple[str, str], ...], tuple["_Group", ...]]
_SELF_CLEANING: _Group = (
    "ON*",
    (('Have you taken measures to demonstrate your reliability ("Self-Cleaning")?', "INDICATOR"),),
    (("ONTRUE", (("Please describe them", "DESCRIPTION"),), ()),),
)
_CONVICTION: _Group = (
    "ON*",
    (("Your answer", "INDICATOR"),),
    (
        (
            "ONTRUE",
            (
                ("Date of conviction", "DATE"),
                ("Reason", "DESCRIPTION"),
                ("Who has been convicted", "DESCRIPTION"),
                ("Length of the period of exclusion", "PERIOD"),
            ),
            (_SELF_CLEANING,),
        ),
    ),
)
_OTHER_GROUND: _Group = (
    "ON*",
    (("Your answer", "INDICATOR"),),
    (("ONTRUE", (("Please describe them", "DESCRIPTION"),), (_SELF_CLEANING,)),),
)
_SELECTION: _Group = ("ON*", (("Your answer", "INDICATOR"),), ())


def espd_request(consultation: Consultation, request_id: uuid.UUID, issued_at: datetime) -> bytes:
    """The ESPD request (DUME) of a consultation, ESPD-EDM 4.1.0.

    Each criterion carries the answer-bearing part of the official structure (4.1.0
    property ids `C1_EG_crime-org/QG1/Q1`...): the "Your answer" indicator, the details
    asked when it is yes, and self-cleaning for exclusion grounds; the evidence groups of
    the taxonomy are left out.
    """
    root = etree.Element(
        f"{{{_UBL}{REQUEST}-2}}{REQUEST}", nsmap={None: f"{_UBL}{REQUEST}-2", **_NS}
    )
    _document_header(root, str(request_id), consultation.reference, issued_at)
    _sub(
        root,
        CBC,
        "ProcedureCode",
        PROCEDURE_CODES[consultation.procedure],
        listAgencyID="OP",
        listID="http://publications.europa.eu/resource/authority/procurement-procedure-type",
    )
    party = _sub(_sub(root, CAC, "ContractingParty"), CAC, "Party")
    _sub(
        _sub(party, CAC, "PartyIdentification"),
        CBC,
        "ID",
        consultation.buyer_siret,
        schemeName="SIRET",
    )
    _sub(
        _sub(party, CAC, "PartyName"),
        CBC,
        "Name",
        consultation.buyer_name or consultation.reference,
    )
    _country(party)
    contact = _sub(party, CAC, "Contact")
    _sub(contact, CBC, "Name", consultation.contact.name)
    if consultation.contact.phone:
        _sub(contact, CBC, "Telephone", consultation.contact.phone)
    _sub(contact, CBC, "ElectronicMail", consultation.contact.email)
    project = _sub(root, CAC, "ProcurementProject")
    _sub(project, CBC, "Name", consultation.title)
    _sub(project, CBC, "Description", consultation.description or consultation.title)
    for lot in consultation.lots:
        _sub(
            _sub(root, CAC, "ProcurementProjectLot"),
            CBC,
            "ID",
            lot_id(lot),
            schemeID="Criterion",
            **_EDM,
        )
    for criterion in request_criteria(consultation):
        _criterion(root, criterion)
    return _serialise(root)


def _criterion(root: etree._Element, criterion: EspdCriterion) -> None:
    element = _sub(root, CAC, "TenderingCriterion")
    _sub(element, CBC, "ID", criterion.uuid, schemeID="Criterion", **_EDM)
    _sub(element, CBC, "CriterionTypeCode", criterion.code, **_CRITERION_LIST)
    _sub(element, CBC, "Name", criterion.name)
    if criterion.kind is CriterionType.SELECTION:
        shape, prefix = _SELECTION, "SC"
    else:
        shape = _CONVICTION if criterion.code in _CONVICTIONS else _OTHER_GROUND
        prefix = "EG"
    _group(
        element,
        "TenderingCriterionPropertyGroup",
        f"C{criterion.number}_{prefix}_{criterion.code}/QG1",
        shape,
    )


def _group(parent: etree._Element, tag: str, group_id: str, group: _Group) -> None:
    type_code, questions, subgroups = group
    element = _sub(parent, CAC, tag)
    _sub(element, CBC, "ID", group_id, schemeID="Criterion", **_EDM)
    _sub(element, CBC, "PropertyGroupTypeCode", type_code, listID="property-group-type", **_LIST)
    for n, (description, data_type) in enumerate(questions, start=1):
        question = _sub(element, CAC, "TenderingCriterionProperty")
        _sub(question, CBC, "ID", f"{group_id}/Q{n}", schemeID="Criterion", **_EDM)
        _sub(question, CBC, "Description", description)
        _sub(question, CBC, "TypeCode", "QUESTION", listID="criterion-element-type", **_LIST)
        _sub(question, CBC, "ValueDataTypeCode", data_type, listID="response-data-type", **_LIST)
    for n, subgroup in enumerate(subgroups, start=1):
        _group(element, "SubsidiaryTenderingCriterionPropertyGroup", f"{group_id}/QSG{n}", subgroup)


# --- reading -----------------------------------------------------------------------------


def read_request(xml: bytes) -> EspdRequest:
    """An ESPD request (ESPD-EDM 2.x to 4.x) as a value; `EspdRefused` for anything else."""
    root = _espd_root(xml, REQUEST)
    return EspdRequest(
        edm_version=_edm_version(root),
        document_id=_text(root, "cbc:ID") or "",
        contract_folder_id=_text(root, "cbc:ContractFolderID") or "",
        contracting_body=_text(root, "cac:ContractingParty/cac:Party/cac:PartyName/cbc:Name"),
        criteria=tuple(_read_criterion(c) for c in root.findall("cac:TenderingCriterion", _NS)),
    )


def read_response(xml: bytes) -> EspdResponse:
    """An ESPD response (ESPD-EDM 2.x to 4.x) as a value; `EspdRefused` for anything else."""
    root = _espd_root(xml, RESPONSE)
    values = _response_values(root)
    return EspdResponse(
        edm_version=_edm_version(root),
        document_id=_text(root, "cbc:ID") or "",
        contract_folder_id=_text(root, "cbc:ContractFolderID") or "",
        contracting_body=_text(root, "cac:ContractingParty/cac:Party/cac:PartyName/cbc:Name"),
        economic_operator=_economic_operator(root.find("cac:EconomicOperatorParty/cac:Party", _NS)),
        answers=tuple(_answer(c, values) for c in root.findall("cac:TenderingCriterion", _NS)),
    )


def check_response(request_criteria: Sequence[EspdCriterion], response: EspdResponse) -> list[str]:
    """Why a response does not satisfy the request's criteria; empty when acceptable.

    An exclusion ground answered "yes" with self-cleaning measures declared is left to the
    buyer's judgement of those measures (L2141-6-1), so it is not a reason here.
    """
    reasons: list[str] = []
    for criterion in request_criteria:
        if criterion.kind is CriterionType.OTHER:
            continue
        label = f"{criterion.kind.value} criterion {criterion.code} ({criterion.name})"
        answer = response.answer(criterion.uuid)
        if answer is None or not answer.answered:
            reasons.append(f"{label} is not answered")
        elif (
            criterion.kind is CriterionType.EXCLUSION
            and answer.indicator
            and not answer.self_cleaning
        ):
            reasons.append(f"{label}: the operator declares it applies, without self-cleaning")
        elif criterion.kind is CriterionType.SELECTION and answer.indicator is False:
            reasons.append(f"{label} is not met")
    return reasons


def _espd_root(xml: bytes, expected: str) -> etree._Element:
    """The root of an ESPD document of the expected kind and a version Chaîne reads."""
    root = parse_xml(xml).getroot()
    name = etree.QName(root)
    if name.namespace and name.namespace.startswith(_ESPD_1):
        raise EspdRefused(
            ErrorCode.ESPD_VERSION_UNSUPPORTED,
            f"ESPD-EDM 1.x ({name.localname}) is not read; ESPD-EDM 2.0 or later is",
        )
    if name.localname not in (REQUEST, RESPONSE) or name.namespace != f"{_UBL}{name.localname}-2":
        raise EspdRefused(
            ErrorCode.ESPD_DOCUMENT_UNEXPECTED, f"{root.tag} is not an ESPD request or response"
        )
    if name.localname != expected:
        raise EspdRefused(
            ErrorCode.ESPD_DOCUMENT_UNEXPECTED,
            f"an ESPD {expected} is expected, not a {name.localname}",
        )
    ubl = _text(root, "cbc:UBLVersionID")
    if ubl not in ("2.2", "2.3"):
        raise EspdRefused(
            ErrorCode.ESPD_VERSION_UNSUPPORTED, f"UBL {ubl} is not an ESPD-EDM 2.x-4.x syntax"
        )
    return root


def _edm_version(root: etree._Element) -> str:
    """The ESPD-EDM version: the profile (3.x+, some 2.x), the `espd` namespace, the VersionID
    scheme; 2.x files disagree on where they say it."""
    match = _EDM_VERSION.search(_text(root, "cbc:ProfileExecutionID") or "")
    if match:
        return match.group(1)
    namespace = root.nsmap.get("espd", "")
    if namespace.startswith("urn:com:grow:espd:"):
        return namespace.rsplit(":", 1)[-1]
    version = root.find("cbc:VersionID", _NS)
    return version.get("schemeVersionID", "unknown") if version is not None else "unknown"


def _text(element: etree._Element, path: str) -> str | None:
    found = element.find(path, _NS)
    return found.text.strip() if found is not None and found.text else None


def _read_criterion(element: etree._Element) -> EspdCriterion:
    """A criterion of a document, classified by the taxonomy, else by its 2.x type code."""
    criterion_uuid = _text(element, "cbc:ID") or ""
    code = _text(element, "cbc:CriterionTypeCode") or ""
    known = TAXONOMY.get(criterion_uuid)
    if known is not None:
        kind = known.kind
    elif code.startswith("CRITERION.EXCLUSION"):
        kind = CriterionType.EXCLUSION
    elif code.startswith("CRITERION.SELECTION"):
        kind = CriterionType.SELECTION
    else:
        kind = CriterionType.OTHER
    name = _text(element, "cbc:Name") or ""
    return EspdCriterion(criterion_uuid, code, kind, name, known.number if known else 0)


def _questions(criterion: etree._Element) -> Iterator[tuple[str, str, str]]:
    """(id, description, data type) of every question of a criterion, in document order."""
    for prop in criterion.iter(f"{{{CAC}}}TenderingCriterionProperty"):
        if _text(prop, "cbc:TypeCode") == "QUESTION":
            yield (
                _text(prop, "cbc:ID") or "",
                (_text(prop, "cbc:Description") or "").lower(),
                _text(prop, "cbc:ValueDataTypeCode") or "",
            )


def _response_values(root: etree._Element) -> dict[str, bool | None]:
    """Each answered property id -> its indicator (None when the answer is not yes/no)."""
    values: dict[str, bool | None] = {}
    for response in root.findall("cac:TenderingCriterionResponse", _NS):
        property_id = _text(response, "cbc:ValidatedCriterionPropertyID")
        if property_id is None:
            continue
        # 4.x and 3.x wrap the value in cac:ResponseValue; some 2.x files put it directly.
        indicator = _text(response, "cac:ResponseValue/cbc:ResponseIndicator") or _text(
            response, "cbc:ResponseIndicator"
        )
        values[property_id] = None if indicator is None else indicator == "true"
    return values


def _answer(element: etree._Element, values: dict[str, bool | None]) -> CriterionAnswer:
    questions = list(_questions(element))
    main = next(
        (q for q, d, t in questions if t == "INDICATOR" and d.startswith("your answer")), None
    )
    cleaning = next((q for q, d, t in questions if t == "INDICATOR" and "self-cleaning" in d), None)
    if main is not None:
        answered = values.get(main) is not None
    else:
        answered = any(q in values for q, _, _ in questions)
    return CriterionAnswer(
        criterion=_read_criterion(element),
        answered=answered,
        indicator=values.get(main) if main is not None else None,
        self_cleaning=values.get(cleaning) if cleaning is not None else None,
    )


def _economic_operator(party: etree._Element | None) -> EconomicOperator | None:
    if party is None:
        return None
    identifiers: list[str] = []
    siret = None
    for element in party.findall("cac:PartyIdentification/cbc:ID", _NS):
        value = (element.text or "").strip()
        identifiers.append(value)
        schemes = {element.get("schemeName", "").upper(), element.get("schemeID", "").upper()}
        if siret is None and ("SIRET" in schemes or siret_number.is_valid(value)):
            siret = siret_number.compact(value)
    return EconomicOperator(_text(party, "cac:PartyName/cbc:Name") or "", tuple(identifiers), siret)


# --- the simplified DUME -----------------------------------------------------------------


def simplified_response(
    request: bytes, supplier: SupplierIdentity, response_id: uuid.UUID, issued_at: datetime
) -> bytes:
    """A response prefilled for a supplier known by its SIRET: no exclusion ground applies,
    every selection criterion is met. The supplier confirms it by submitting it.

    The request's criteria are copied as they are (a response restates what it answers),
    so the response fits any ESPD-EDM 2.x-4.x request, ours or another platform's. Only
    the criteria with a "Your answer" indicator are answered: those asking for figures
    (turnover amounts in the official 4.1.0 structure) stay for the supplier to fill in.
    """
    source = _espd_root(request, REQUEST)
    root = etree.Element(
        f"{{{_UBL}{RESPONSE}-2}}{RESPONSE}", nsmap={None: f"{_UBL}{RESPONSE}-2", **_NS}
    )
    _document_header(root, str(response_id), _text(source, "cbc:ContractFolderID") or "", issued_at)
    _copy(source, root, "cbc:ProcedureCode")
    _copy(source, root, "cac:ContractingParty")
    _supplier_party(root, supplier)
    for path in ("cac:ProcurementProject", "cac:ProcurementProjectLot", "cac:TenderingCriterion"):
        _copy(source, root, path)
    for element in source.findall("cac:TenderingCriterion", _NS):
        criterion = _read_criterion(element)
        if criterion.kind is CriterionType.OTHER:
            continue
        main = next(
            (
                q
                for q, d, t in _questions(element)
                if t == "INDICATOR" and d.startswith("your answer")
            ),
            None,
        )
        if main is not None:
            _indicator(root, response_id, main, criterion.kind is CriterionType.SELECTION)
    return _serialise(root)


def _copy(source: etree._Element, target: etree._Element, path: str) -> None:
    for element in source.findall(path, _NS):
        copied = deepcopy(element)
        for comment in copied.xpath(".//comment()"):
            comment.getparent().remove(comment)
        target.append(copied)


def _supplier_party(root: etree._Element, supplier: SupplierIdentity) -> None:
    operator = _sub(root, CAC, "EconomicOperatorParty")
    _sub(
        _sub(operator, CAC, "EconomicOperatorRole"),
        CBC,
        "RoleCode",
        "sole-tenderer",
        listID="http://publications.europa.eu/resource/authority/eo-role-type",
        listAgencyID="OP",
    )
    party = _sub(operator, CAC, "Party")
    _sub(
        _sub(party, CAC, "PartyIdentification"),
        CBC,
        "ID",
        supplier.siret,
        schemeID="NATIONAL",
        schemeName="SIRET",
    )
    _sub(_sub(party, CAC, "PartyName"), CBC, "Name", supplier.name)
    address = _sub(party, CAC, "PostalAddress")
    for tag, value in (
        ("StreetName", supplier.street),
        ("CityName", supplier.city),
        ("PostalZone", supplier.postal_code),
    ):
        if value:
            _sub(address, CBC, tag, value)
    _sub(
        _sub(address, CAC, "Country"),
        CBC,
        "IdentificationCode",
        supplier.country,
        listID="http://publications.europa.eu/resource/authority/country",
        listAgencyID="OP",
    )


def _indicator(root: etree._Element, response_id: uuid.UUID, property_id: str, value: bool) -> None:
    """A TenderingCriterionResponse; ids derive from the response id, so a rebuild is equal."""
    response = _sub(root, CAC, "TenderingCriterionResponse")
    _sub(
        response, CBC, "ID", str(uuid.uuid5(response_id, property_id)), schemeID="Criterion", **_EDM
    )
    _sub(response, CBC, "ValidatedCriterionPropertyID", property_id, schemeID="Criterion", **_EDM)
    response_value = _sub(response, CAC, "ResponseValue")
    _sub(
        response_value,
        CBC,
        "ID",
        str(uuid.uuid5(response_id, f"{property_id}/RV")),
        schemeID="Criterion",
        **_EDM,
    )
    _sub(response_value, CBC, "ResponseIndicator", "true" if value else "false")


# --- writing and validating --------------------------------------------------------------


def _sub(
    parent: etree._Element, ns: str, tag: str, text: str | None = None, **attributes: str
) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ns}}}{tag}", attributes)
    if text is not None:
        element.text = text
    return element


def _country(party: etree._Element) -> None:
    address = _sub(party, CAC, "PostalAddress")
    _sub(
        _sub(address, CAC, "Country"),
        CBC,
        "IdentificationCode",
        "FRA",
        listID="http://publications.europa.eu/resource/authority/country",
        listAgencyID="OP",
    )


def _document_header(
    root: etree._Element, document_id: str, folder: str, issued_at: datetime
) -> None:
    _sub(root, CBC, "UBLVersionID", "2.3", schemeAgencyID="OASIS-UBL-TC")
    _sub(root, CBC, "ProfileExecutionID", f"ESPD-EDMv{EDM_VERSION}", **_EDM)
    _sub(root, CBC, "ID", document_id, schemeAgencyID="OP")
    _sub(root, CBC, "CopyIndicator", "false")
    _sub(root, CBC, "UUID", document_id, schemeID="ISO/IEC 9834-8:2008 - 4UUID", **_EDM)
    _sub(root, CBC, "ContractFolderID", folder, schemeAgencyID="OP")
    _sub(root, CBC, "IssueDate", issued_at.date().isoformat())
    _sub(root, CBC, "IssueTime", issued_at.timetz().isoformat(timespec="seconds"))
    _sub(root, CBC, "VersionID", EDM_VERSION, **_EDM)


def _serialise(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def validate_espd(xml: bytes, schemas_dir: Path) -> list[str]:
    """The XSD errors of an ESPD request or response (ESPD-EDM 4.1.0), `line N: message`.

    `schemas_dir` is the shared `schemas/` folder; empty when valid.
    """
    tree = parse_xml(xml)
    name = etree.QName(tree.getroot()).localname
    if name not in (REQUEST, RESPONSE):
        return [f"line 1: root element {name} is not an ESPD request or response"]
    errors = xsd_errors(schemas_dir / ESPD_XSD_DIR / f"UBL-{name}-2.3.xsd", tree)
    return [f"line {error.line}: {error.message}" for error in errors]
