"""The CSV layouts of `chaine directory import`, on small in-memory files."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import ErrorCode, InvalidInput
from directory.csv_layouts import (
    MAX_LINE_BYTES,
    Entry,
    Layout,
    LineError,
    read_directory_csv,
)
from directory.identifiers import IdentifierScheme
from directory.records import ServiceRecord, StructureCategory, StructureRecord, SupplierRecord

MINISTRY = "11000201100044"
CITY = "21750001600019"
HOSPITAL = "26750045200011"
SUPPLIER = "78467169500087"
IBAN = "FR7630006000011234567890189"

STRUCTURES = (
    "siret,name,category,active,service_code_required,commitment_required,"
    "payment_status_not_reported,service_code,service_name,service_active"
)
STRUCTURES_WITHOUT_SERVICES = (
    "siret,name,category,active,service_code_required,commitment_required,"
    "payment_status_not_reported"
)
SUPPLIERS = "scheme,identifier,name,iban,bic,email"


def a_file(header: str, *lines: str) -> list[bytes]:
    """The lines of a CSV file as `chaine directory import` reads them."""
    return [f"{line}\n".encode() for line in (header, *lines)]


def read(lines: list[bytes]) -> list[Entry]:
    return list(read_directory_csv(lines).entries)


def refusals(entries: list[Entry]) -> list[tuple[int, ErrorCode]]:
    return [(e.line, e.code) for e in entries if isinstance(e, LineError)]


def records(entries: list[Entry]) -> list[Entry]:
    return [e for e in entries if not isinstance(e, LineError)]


def a_structure_line(siret: str = MINISTRY, **columns: str) -> str:
    values = {
        "name": "Ministère de démonstration",
        "category": "STATE",
        "active": "true",
        "service_code_required": "false",
        "commitment_required": "false",
        "payment_status_not_reported": "false",
        "service_code": "",
        "service_name": "",
        "service_active": "",
    } | columns
    return ",".join([siret, *values.values()])


def a_supplier_line(identifier: str = SUPPLIER, **columns: str) -> str:
    values = {
        "scheme": "SIRET",
        "identifier": identifier,
        "name": "Papeterie de démonstration",
        "iban": IBAN,
        "bic": "AGRIFRPP",
        "email": "factures@papeterie.example",
    } | columns
    return ",".join(values.values())


# --- structures ---------------------------------------------------------------------------


def test_consecutive_lines_of_a_siret_make_one_structure_with_its_services() -> None:
    entries = read(
        a_file(
            STRUCTURES,
            a_structure_line(service_code="ACHATS", service_name="Achats"),
            a_structure_line(service_code="IMMO", service_name="Immobilier", service_active="no"),
            a_structure_line(CITY, name="Commune", category="LOCAL_AUTHORITY"),
        )
    )

    assert entries == [
        StructureRecord(
            siret=MINISTRY,
            name="Ministère de démonstration",
            category=StructureCategory.STATE,
            services=(
                ServiceRecord("ACHATS", "Achats", active=True),
                ServiceRecord("IMMO", "Immobilier", active=False),
            ),
        ),
        StructureRecord(siret=CITY, name="Commune", category=StructureCategory.LOCAL_AUTHORITY),
    ]


def test_a_file_without_service_columns_is_a_structures_file() -> None:
    parsed = read_directory_csv(
        a_file(
            STRUCTURES_WITHOUT_SERVICES, f"{MINISTRY},Ministère test,STATE,true,false,false,false"
        )
    )

    assert parsed.layout is Layout.STRUCTURES
    assert list(parsed.entries) == [
        StructureRecord(siret=MINISTRY, name="Ministère test", category=StructureCategory.STATE)
    ]


def test_the_optional_strict_ceiling_column_is_read_when_present() -> None:
    strict = read(
        a_file(
            f"{STRUCTURES_WITHOUT_SERVICES},commitment_ceiling_strict",
            f"{MINISTRY},Ministère test,STATE,true,false,true,false,oui",
        )
    )

    assert strict == [
        StructureRecord(
            siret=MINISTRY,
            name="Ministère test",
            category=StructureCategory.STATE,
            commitment_required=True,
            commitment_ceiling_strict=True,
        )
    ]


def test_french_spreadsheet_export_with_bom_semicolons_and_french_words_is_read() -> None:
    lines = a_file(
        STRUCTURES.replace(",", ";"),
        f"{HOSPITAL};Centre hospitalier;hôpital;OUI;vrai;Non;0;URG;Urgences;",
        f"{CITY};Commune;Collectivité;non;;;;;;",
    )
    lines[0] = b"\xef\xbb\xbf" + lines[0]

    assert read(lines) == [
        StructureRecord(
            siret=HOSPITAL,
            name="Centre hospitalier",
            category=StructureCategory.HOSPITAL,
            service_code_required=True,
            services=(ServiceRecord("URG", "Urgences"),),
        ),
        StructureRecord(
            siret=CITY, name="Commune", category=StructureCategory.LOCAL_AUTHORITY, active=False
        ),
    ]


def test_empty_flags_take_their_defaults() -> None:
    [structure] = read(a_file(STRUCTURES, f"{MINISTRY},Ministère,ETAT,,,,,,,"))

    assert structure == StructureRecord(
        siret=MINISTRY, name="Ministère", category=StructureCategory.STATE, active=True
    )


def test_siret_is_compacted() -> None:
    [structure] = read(a_file(STRUCTURES, a_structure_line("110 002 011 00044")))

    assert isinstance(structure, StructureRecord)
    assert structure.siret == MINISTRY


@pytest.mark.parametrize(
    ("line", "code"),
    [
        (a_structure_line("11000201100045"), ErrorCode.SIRET_INVALID),
        (a_structure_line("123"), ErrorCode.SIRET_INVALID),
        (a_structure_line(""), ErrorCode.CSV_VALUE_MISSING),
        (a_structure_line(name=""), ErrorCode.CSV_VALUE_MISSING),
        (a_structure_line(name="x" * 201), ErrorCode.CSV_VALUE_INVALID),
        (a_structure_line(category="MAIRIE"), ErrorCode.CATEGORY_UNKNOWN),
        (a_structure_line(active="peut-être"), ErrorCode.CSV_VALUE_INVALID),
        (a_structure_line(commitment_required="2"), ErrorCode.CSV_VALUE_INVALID),
        (a_structure_line(service_name="Achats"), ErrorCode.CSV_VALUE_MISSING),
        (a_structure_line(service_code="ACHATS"), ErrorCode.CSV_VALUE_MISSING),
        (a_structure_line(service_code="A" * 101, service_name="A"), ErrorCode.CSV_VALUE_INVALID),
        (a_structure_line(name="Bad\x00name"), ErrorCode.CSV_VALUE_INVALID),
        (a_structure_line() + ",extra", ErrorCode.CSV_MALFORMED),
        (f"{MINISTRY},Ministère,STATE", ErrorCode.CSV_MALFORMED),
    ],
)
def test_a_bad_structure_line_is_refused_with_its_code(line: str, code: ErrorCode) -> None:
    entries = read(a_file(STRUCTURES, a_structure_line(CITY), line))

    assert refusals(entries) == [(3, code)]
    assert [r.siret for r in records(entries)] == [CITY]  # type: ignore[union-attr]


def test_the_reason_names_the_column() -> None:
    [error] = read(a_file(STRUCTURES, a_structure_line(category="MAIRIE")))

    assert isinstance(error, LineError)
    assert error.reason.startswith("category: 'MAIRIE' is not one of STATE")


def test_good_lines_are_kept_around_bad_ones_and_line_numbers_count_every_line() -> None:
    entries = read(
        a_file(
            STRUCTURES,
            a_structure_line("123"),
            "",
            a_structure_line(CITY),
            a_structure_line(category="?"),
            a_structure_line(HOSPITAL),
            ",,,,,,,,,",  # spreadsheets leave such rows at the end
        )
    )

    assert refusals(entries) == [(2, ErrorCode.SIRET_INVALID), (5, ErrorCode.CATEGORY_UNKNOWN)]
    assert [r.siret for r in records(entries)] == [CITY, HOSPITAL]  # type: ignore[union-attr]


def test_a_siret_met_again_later_adds_services_if_its_columns_agree() -> None:
    entries = read(
        a_file(
            STRUCTURES,
            a_structure_line(service_code="A", service_name="Service A"),
            a_structure_line(CITY),
            a_structure_line(service_code="B", service_name="Service B"),
            a_structure_line(name="Another name", service_code="C", service_name="Service C"),
        )
    )

    assert refusals(entries) == [(5, ErrorCode.CSV_LINE_CONFLICT)]
    services = [(r.siret, [s.code for s in r.services]) for r in records(entries)]  # type: ignore[union-attr]
    assert services == [(MINISTRY, ["A"]), (CITY, []), (MINISTRY, ["B"])]


def test_a_conflict_says_which_line_and_columns_disagree() -> None:
    entries = read(
        a_file(STRUCTURES, a_structure_line(), a_structure_line(active="false", category="AUTRE"))
    )

    [error] = [e for e in entries if isinstance(e, LineError)]
    assert error.line == 3
    assert error.reason == f"SIRET {MINISTRY} is described differently on line 2 (category, active)"


def test_a_service_repeated_identically_is_read_once_and_differently_is_refused() -> None:
    entries = read(
        a_file(
            STRUCTURES,
            a_structure_line(service_code="A", service_name="Service A"),
            a_structure_line(service_code="A", service_name="Service A"),
            a_structure_line(service_code="A", service_name="Service A bis"),
        )
    )

    assert refusals(entries) == [(4, ErrorCode.CSV_LINE_CONFLICT)]
    [structure] = records(entries)
    assert structure.services == (ServiceRecord("A", "Service A"),)  # type: ignore[union-attr]


def test_an_unclosed_quote_is_refused_on_the_line_it_opens() -> None:
    entries = read(
        a_file(
            STRUCTURES,
            a_structure_line(name='"Ministère'),
            a_structure_line(CITY),
            a_structure_line(HOSPITAL),
        )
    )

    [error] = [e for e in entries if isinstance(e, LineError)]
    assert (error.line, error.code) == (2, ErrorCode.CSV_MALFORMED)
    assert "quote" in error.reason


def test_quoted_values_may_hold_commas() -> None:
    [structure] = read(a_file(STRUCTURES, a_structure_line(name='"Établissement, siège"')))

    assert structure.name == "Établissement, siège"  # type: ignore[union-attr]


def test_a_line_that_is_not_utf8_is_refused_and_the_next_ones_are_read() -> None:
    lines = a_file(STRUCTURES, "", a_structure_line(CITY))
    lines[1] = a_structure_line(name="Minist\xe8re").encode("latin-1") + b"\n"

    entries = read(lines)

    assert refusals(entries) == [(2, ErrorCode.CSV_MALFORMED)]
    assert "UTF-8" in entries[0].reason  # type: ignore[union-attr]
    assert len(records(entries)) == 1


def test_an_overlong_line_is_refused_without_being_parsed() -> None:
    entries = read(
        a_file(STRUCTURES, a_structure_line(name="x" * MAX_LINE_BYTES), a_structure_line(CITY))
    )

    assert refusals(entries) == [(2, ErrorCode.CSV_MALFORMED)]
    assert len(records(entries)) == 1


# --- suppliers ----------------------------------------------------------------------------


def test_suppliers_are_read_with_normalised_identifiers_and_bank_details() -> None:
    parsed = read_directory_csv(
        a_file(
            SUPPLIERS,
            a_supplier_line("784 671 695 00087", iban="FR76 3000 6000 0112 3456 7890 189"),
            "eu_vat,DE136695976,Demonstration GmbH,,,",
        )
    )

    assert parsed.layout is Layout.SUPPLIERS
    assert list(parsed.entries) == [
        SupplierRecord(
            scheme=IdentifierScheme.SIRET,
            identifier=SUPPLIER,
            name="Papeterie de démonstration",
            iban=IBAN,
            bic="AGRIFRPP",
            email="factures@papeterie.example",
        ),
        SupplierRecord(
            scheme=IdentifierScheme.EU_VAT, identifier="DE136695976", name="Demonstration GmbH"
        ),
    ]


@pytest.mark.parametrize(
    ("line", "code"),
    [
        (a_supplier_line(scheme="DUNS"), ErrorCode.IDENTIFIER_SCHEME_UNKNOWN),
        (a_supplier_line("78467169500088"), ErrorCode.SIRET_INVALID),
        (a_supplier_line("DE123", scheme="EU_VAT"), ErrorCode.IDENTIFIER_INVALID),
        (a_supplier_line("#bad#", scheme="NON_EU"), ErrorCode.IDENTIFIER_INVALID),
        (a_supplier_line(iban="FR7630006000011234567890188"), ErrorCode.IBAN_INVALID),
        (a_supplier_line(iban="not an iban"), ErrorCode.IBAN_INVALID),
        (a_supplier_line(bic="AGRI"), ErrorCode.BIC_INVALID),
        (a_supplier_line(email="factures"), ErrorCode.EMAIL_INVALID),
        (a_supplier_line(email="a@" + "b" * 250 + ".fr"), ErrorCode.EMAIL_INVALID),
        (a_supplier_line(name=""), ErrorCode.CSV_VALUE_MISSING),
        (a_supplier_line(identifier=""), ErrorCode.CSV_VALUE_MISSING),
        ("SIRET,78467169500087", ErrorCode.CSV_MALFORMED),
    ],
)
def test_a_bad_supplier_line_is_refused_with_its_code(line: str, code: ErrorCode) -> None:
    entries = read(a_file(SUPPLIERS, a_supplier_line("55208131766522"), line))

    assert refusals(entries) == [(3, code)]
    assert len(records(entries)) == 1


def test_a_supplier_repeated_identically_is_read_once_and_differently_is_refused() -> None:
    entries = read(
        a_file(SUPPLIERS, a_supplier_line(), a_supplier_line(), a_supplier_line(iban=""))
    )

    assert refusals(entries) == [(4, ErrorCode.CSV_LINE_CONFLICT)]
    assert len(records(entries)) == 1


# --- headers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "code", "says"),
    [
        ([], ErrorCode.CSV_COLUMNS_MISSING, "header"),
        ([b"\n"], ErrorCode.CSV_COLUMNS_MISSING, "header"),
        ([b"name,category\n"], ErrorCode.CSV_COLUMNS_MISSING, "names no"),
        ([b"siret,name\n"], ErrorCode.CSV_COLUMNS_MISSING, "category, active"),
        (
            [f"{STRUCTURES_WITHOUT_SERVICES},service_code\n".encode()],
            ErrorCode.CSV_COLUMNS_MISSING,
            "service_name, service_active",
        ),
        ([b"scheme,identifier,name\n"], ErrorCode.CSV_COLUMNS_MISSING, "iban, bic, email"),
        ([f"{SUPPLIERS},name\n".encode()], ErrorCode.CSV_MALFORMED, "twice: name"),
        (["siret,nom,catégorie\n".encode("latin-1")], ErrorCode.CSV_MALFORMED, "UTF-8"),
    ],
)
def test_an_unusable_header_refuses_the_whole_file(
    lines: list[bytes], code: ErrorCode, says: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        read_directory_csv(lines)

    assert refused.value.code is code
    assert says in refused.value.detail


def test_column_names_are_read_in_any_case_and_order_and_other_columns_are_ignored() -> None:
    header = "Name,SIRET,Category,Active,Service_Code_Required,Commitment_Required,"
    header += "Payment_Status_Not_Reported,Comment"
    [structure] = read(a_file(header, f"Ministère,{MINISTRY},STATE,true,false,false,false,hi"))

    assert structure == StructureRecord(
        siret=MINISTRY, name="Ministère", category=StructureCategory.STATE
    )


@given(st.lists(st.binary(max_size=80), max_size=20))
def test_no_content_makes_the_reader_fail_after_a_good_header(body: list[bytes]) -> None:
    lines = [f"{STRUCTURES}\n".encode(), *body]

    for entry in read_directory_csv(lines).entries:
        if isinstance(entry, LineError):
            assert 2 <= entry.line <= len(lines)
