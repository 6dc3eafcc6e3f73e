"""Depositing invoices through the API: answered in the same call, recorded, never doubled."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import io
import zipfile
from datetime import date
from decimal import Decimal

import httpx
import pytest
from facturx import generate_from_binary
from pypdf import PdfWriter
from sqlalchemy import func, select

from core.principals import Role
from directory.records import ServiceRecord, StructureCategory, StructureRecord
from invoicing.formats import write_invoice
from invoicing.model import PrecedingInvoice
from invoicing.syntax import Syntax
from store.database import transaction
from store.directory import DirectoryRepository
from store.models import Commitment, Invoice
from tests.api.test_conventions import assert_problem
from tests.conftest import ApiServer
from tests.invoicing.builders import BUYER_SIRET, SELLER_SIRET, an_invoice
from tests.store.test_invoice_idempotency import consumed

OTHER_SELLER = "21750001600019"
HOSPITAL = "26750045200011"

pytestmark = pytest.mark.usefixtures("workers")


@pytest.fixture
async def directory(api: ApiServer) -> None:
    """A ministry open to all invoices, and a hospital that requires a service code."""
    async with transaction(api.sessions) as session:
        repo = DirectoryRepository(session)
        await repo.upsert_structure(
            StructureRecord(BUYER_SIRET, "Ministère des tests", StructureCategory.STATE)
        )
        await repo.upsert_structure(
            StructureRecord(
                HOSPITAL,
                "CHU de test",
                StructureCategory.HOSPITAL,
                service_code_required=True,
                services=(
                    ServiceRecord("PHARMA", "Pharmacie"),
                    ServiceRecord("OLD", "Fermé", False),
                ),
            )
        )


@pytest.fixture
async def supplier(api: ApiServer, directory: None) -> httpx.AsyncClient:
    return await api.as_role(Role.SUPPLIER, SELLER_SIRET)


def ubl(**fields: object) -> bytes:
    return write_invoice(an_invoice(**fields), Syntax.UBL)


def xml(body: bytes) -> dict[str, object]:
    return {"content": body, "headers": {"Content-Type": "application/xml"}}


async def count_invoices(api: ApiServer) -> int:
    async with api.sessions() as session:
        return await session.scalar(select(func.count()).select_from(Invoice)) or 0


async def test_a_valid_invoice_is_accepted_and_made_available(
    api: ApiServer, supplier: httpx.AsyncClient
) -> None:
    body = ubl(number="F-2026-100")
    response = await supplier.post("/v1/invoices", **xml(body))
    assert response.status_code == 201, response.text
    deposited = response.json()
    assert deposited["status"] == "MISE_A_DISPOSITION"
    assert deposited["report"]["valid"] is True
    assert deposited["report"]["syntax"] == "UBL"
    assert response.headers["location"] == f"/v1/invoices/{deposited['id']}"

    invoice = (await supplier.get(response.headers["location"])).json()
    assert invoice["number"] == "F-2026-100"
    assert invoice["buyer_siret"] == BUYER_SIRET
    assert invoice["amount_due"] == "1440.00"
    assert [h["status"] for h in invoice["history"]] == ["DEPOSEE", "MISE_A_DISPOSITION"]
    assert invoice["invoice"]["totals"]["payable_amount"] == "1440.00"
    original = await supplier.get(f"{response.headers['location']}/original")
    assert original.content == body
    assert original.headers["content-type"].startswith("application/xml")


async def test_a_cii_invoice_is_read_into_the_same_canonical_model(
    supplier: httpx.AsyncClient,
) -> None:
    body = write_invoice(an_invoice(number="F-2026-101"), Syntax.CII)
    response = await supplier.post("/v1/invoices", **xml(body))
    assert response.status_code == 201, response.text
    invoice = (await supplier.get(response.headers["location"])).json()
    assert invoice["syntax"] == "CII"
    assert invoice["invoice"]["seller"]["name"] == an_invoice().seller.name


async def test_an_unknown_buyer_is_refused_and_recorded_with_its_report(
    api: ApiServer, supplier: httpx.AsyncClient
) -> None:
    response = await supplier.post("/v1/invoices", **xml(ubl(buyer_siret=OTHER_SELLER)))
    problem = assert_problem(response, 422, "INVOICE_INVALID")
    rules = [f["rule"] for f in problem["report"]["findings"]]
    assert rules == ["PF-BUYER-UNKNOWN"]
    recorded = (await supplier.get(response.headers["location"])).json()
    assert recorded["status"] == "REJETEE"
    report = (await supplier.get(f"{response.headers['location']}/report")).json()
    assert report["findings"][0]["rule"] == "PF-BUYER-UNKNOWN"


async def test_every_broken_rule_is_reported_at_once(supplier: httpx.AsyncClient) -> None:
    invoice = an_invoice(buyer_siret=HOSPITAL)  # no service code for a hospital requiring one
    body = write_invoice(invoice, Syntax.UBL).replace(
        b'<cbc:PayableAmount currencyID="EUR">1440.00<',
        b'<cbc:PayableAmount currencyID="EUR">1.00<',
    )
    response = await supplier.post("/v1/invoices", **xml(body))
    problem = assert_problem(response, 422, "INVOICE_INVALID")
    stages = {f["stage"] for f in problem["report"]["findings"]}
    rules = {f["rule"] for f in problem["report"]["findings"]}
    assert "BR-CO-16" in rules  # EN 16931: amount due = total with VAT - paid + rounding
    assert "PF-SERVICE-MISSING" in rules
    assert {"EN16931", "PLATFORM"} <= stages


async def test_an_inactive_service_is_refused(supplier: httpx.AsyncClient) -> None:
    response = await supplier.post(
        "/v1/invoices", **xml(ubl(buyer_siret=HOSPITAL, service_code="OLD"))
    )
    problem = assert_problem(response, 422, "INVOICE_INVALID")
    assert [f["rule"] for f in problem["report"]["findings"]] == ["PF-SERVICE-INACTIVE"]


async def test_depositing_the_same_file_again_answers_the_first_outcome(
    api: ApiServer, supplier: httpx.AsyncClient
) -> None:
    body = ubl(number="F-2026-102")
    first = await supplier.post("/v1/invoices", **xml(body))
    again = await supplier.post("/v1/invoices", **xml(body))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert await count_invoices(api) == 1


async def test_concurrent_deposits_of_one_invoice_make_one_record(
    api: ApiServer, supplier: httpx.AsyncClient
) -> None:
    body = ubl(number="F-2026-103")
    responses = await asyncio.gather(
        *(supplier.post("/v1/invoices", **xml(body)) for _ in range(4))
    )
    assert sorted(r.status_code for r in responses) == [200, 200, 200, 201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert await count_invoices(api) == 1


async def test_the_same_number_with_other_content_is_a_conflict(
    api: ApiServer, supplier: httpx.AsyncClient
) -> None:
    await supplier.post("/v1/invoices", **xml(ubl(number="F-2026-104", amount="100.00")))
    response = await supplier.post("/v1/invoices", **xml(ubl(number="F-2026-104", amount="200.00")))
    assert_problem(response, 409, "INVOICE_CONFLICT")
    assert await count_invoices(api) == 1


async def test_a_rejected_number_can_be_deposited_again_corrected(
    api: ApiServer, supplier: httpx.AsyncClient
) -> None:
    refused = await supplier.post(
        "/v1/invoices", **xml(ubl(number="F-2026-105", buyer_siret=OTHER_SELLER))
    )
    accepted = await supplier.post("/v1/invoices", **xml(ubl(number="F-2026-105")))
    assert (refused.status_code, accepted.status_code) == (422, 201)
    assert await count_invoices(api) == 2


async def test_an_invoice_of_another_seller_is_forbidden(
    api: ApiServer, supplier: httpx.AsyncClient
) -> None:
    response = await supplier.post("/v1/invoices", **xml(ubl(seller_siret=OTHER_SELLER)))
    assert_problem(response, 403, "INVOICE_SELLER_NOT_YOURS")
    assert await count_invoices(api) == 0


async def test_another_supplier_cannot_see_an_invoice(
    api: ApiServer, supplier: httpx.AsyncClient
) -> None:
    response = await supplier.post("/v1/invoices", **xml(ubl(number="F-2026-106")))
    stranger = await api.as_role(Role.SUPPLIER, OTHER_SELLER)
    assert_problem(await stranger.get(response.headers["location"]), 404, "INVOICE_NOT_FOUND")
    buyer = await api.as_role(Role.BUYER, BUYER_SIRET)
    assert (await buyer.get(response.headers["location"])).status_code == 200


async def test_only_suppliers_deposit(api: ApiServer, directory: None) -> None:
    buyer = await api.as_role(Role.BUYER, BUYER_SIRET)
    assert_problem(await buyer.post("/v1/invoices", **xml(ubl())), 403, "FORBIDDEN_ROLE")


async def test_an_idempotency_key_replays_the_answer_and_refuses_another_body(
    api: ApiServer, supplier: httpx.AsyncClient
) -> None:
    body = ubl(number="F-2026-107")
    headers = {"Content-Type": "application/xml", "Idempotency-Key": "order-7"}
    first = await supplier.post("/v1/invoices", content=body, headers=headers)
    replay = await supplier.post("/v1/invoices", content=body, headers=headers)
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    other = await supplier.post("/v1/invoices", content=ubl(number="F-2026-108"), headers=headers)
    assert_problem(other, 422, "IDEMPOTENCY_KEY_REUSED")
    assert await count_invoices(api) == 1


async def test_a_declared_gzip_body_is_inflated(supplier: httpx.AsyncClient) -> None:
    response = await supplier.post(
        "/v1/invoices",
        content=gzip.compress(ubl(number="F-2026-109")),
        headers={"Content-Type": "application/xml", "Content-Encoding": "gzip"},
    )
    assert response.status_code == 201, response.text


async def test_a_gzip_bomb_is_refused_while_inflating(
    api: ApiServer, supplier: httpx.AsyncClient
) -> None:
    bomb = gzip.compress(b"<" + b" " * (api.settings.upload_max_bytes + 10))
    assert len(bomb) < 100_000
    response = await supplier.post(
        "/v1/invoices",
        content=bomb,
        headers={"Content-Type": "application/xml", "Content-Encoding": "gzip"},
    )
    assert_problem(response, 413, "BODY_INFLATED_TOO_LARGE")
    assert await count_invoices(api) == 0


async def test_other_encodings_and_media_types_are_refused(supplier: httpx.AsyncClient) -> None:
    brotli = await supplier.post(
        "/v1/invoices",
        content=b"x",
        headers={"Content-Type": "application/xml", "Content-Encoding": "br"},
    )
    assert_problem(brotli, 415, "BODY_ENCODING_UNSUPPORTED")
    text = await supplier.post(
        "/v1/invoices", content=ubl(), headers={"Content-Type": "text/plain"}
    )
    assert_problem(text, 415, "UNSUPPORTED_MEDIA_TYPE")


async def test_a_file_that_is_not_xml_is_rejected_and_recorded(
    api: ApiServer, supplier: httpx.AsyncClient
) -> None:
    response = await supplier.post("/v1/invoices", **xml(b"this is not an invoice"))
    problem = assert_problem(response, 422, "INVOICE_INVALID")
    assert problem["report"]["findings"][0]["rule"] == "XML_NOT_WELL_FORMED"
    assert await count_invoices(api) == 1


async def test_multipart_deposit_with_attachments(supplier: httpx.AsyncClient) -> None:
    timesheet = "%PDF-1.4 relevé d'heures".encode()
    response = await supplier.post(
        "/v1/invoices",
        files=[
            ("invoice", ("facture.xml", ubl(number="F-2026-110"), "application/xml")),
            ("attachments", ("releve.pdf", timesheet, "application/pdf")),
        ],
    )
    assert response.status_code == 201, response.text
    invoice = (await supplier.get(response.headers["location"])).json()
    assert invoice["original"]["filename"] == "facture.xml"
    assert invoice["attachments"] == [
        {
            "sha256": hashlib.sha256(timesheet).hexdigest(),
            "size": len(timesheet),
            "media_type": "application/pdf",
            "filename": "releve.pdf",
        }
    ]


def factur_x(xml_invoice: bytes) -> bytes:
    """A Factur-X PDF: a blank page with the CII invoice embedded, by the factur-x library."""
    page = io.BytesIO()
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.write(page)
    return generate_from_binary(page.getvalue(), xml_invoice, check_xsd=True)


async def test_a_factur_x_pdf_is_accepted_with_its_profile(supplier: httpx.AsyncClient) -> None:
    pdf = factur_x(write_invoice(an_invoice(number="F-2026-111"), Syntax.CII))
    response = await supplier.post(
        "/v1/invoices", content=pdf, headers={"Content-Type": "application/pdf"}
    )
    assert response.status_code == 201, response.text
    invoice = (await supplier.get(response.headers["location"])).json()
    assert (invoice["syntax"], invoice["profile"]) == ("FACTURX", "EN16931")
    assert (await supplier.get(f"{response.headers['location']}/original")).content == pdf


async def test_a_pdf_without_invoice_is_rejected_with_its_code(supplier: httpx.AsyncClient) -> None:
    page = io.BytesIO()
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.write(page)
    response = await supplier.post(
        "/v1/invoices", content=page.getvalue(), headers={"Content-Type": "application/pdf"}
    )
    problem = assert_problem(response, 422, "INVOICE_INVALID")
    assert [f["rule"] for f in problem["report"]["findings"]] == ["PDF_NO_INVOICE_XML"]


async def test_validation_without_deposit_records_nothing(
    api: ApiServer, supplier: httpx.AsyncClient
) -> None:
    full = await supplier.post("/v1/invoices:validate", **xml(ubl(buyer_siret=OTHER_SELLER)))
    assert full.status_code == 200, full.text
    assert [f["rule"] for f in full.json()["findings"]] == ["PF-BUYER-UNKNOWN"]
    en16931 = await supplier.post(
        "/v1/invoices:validate?level=en16931", **xml(ubl(buyer_siret=OTHER_SELLER))
    )
    assert en16931.json() == {**full.json(), "valid": True, "findings": []}
    assert await count_invoices(api) == 0


async def test_a_flow_reports_each_file(api: ApiServer, supplier: httpx.AsyncClient) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("ok-1.xml", ubl(number="F-2026-201"))
        archive.writestr("ok-2.xml", write_invoice(an_invoice(number="F-2026-202"), Syntax.CII))
        archive.writestr("bad-buyer.xml", ubl(number="F-2026-203", buyer_siret=OTHER_SELLER))
        archive.writestr("../escape.xml", ubl(number="F-2026-204"))
        archive.writestr("inner.zip", b"PK\x03\x04 nested")
        archive.writestr("notes.txt", b"hello")
        archive.writestr("bomb.xml", b"<" + b" " * 5_000_000)  # deflates about 1000:1
    response = await supplier.post(
        "/v1/flows", content=buffer.getvalue(), headers={"Content-Type": "application/zip"}
    )
    assert response.status_code == 202, response.text
    location = response.headers["location"]
    for _ in range(200):
        flow = (await supplier.get(location)).json()
        if flow["status"] not in ("RECEIVED", "IN_PROGRESS"):
            break
        await asyncio.sleep(0.1)
    outcome = {e["name"]: (e["status"], e["code"]) for e in flow["entries"]}
    assert flow["status"] == "PARTIALLY_INTEGRATED"
    assert outcome == {
        "ok-1.xml": ("MISE_A_DISPOSITION", None),
        "ok-2.xml": ("MISE_A_DISPOSITION", None),
        "bad-buyer.xml": ("REJETEE", "INVOICE_INVALID"),
        "../escape.xml": (None, "FLOW_ENTRY_UNSAFE_NAME"),
        "inner.zip": (None, "FLOW_ENTRY_NESTED_ARCHIVE"),
        "notes.txt": (None, "FLOW_ENTRY_NOT_AN_INVOICE"),
        "bomb.xml": (None, "FLOW_ENTRY_TOO_LARGE"),
    }
    assert await count_invoices(api) == 3


def multi_invoice_file(*documents: bytes) -> bytes:
    """An envelope holding several invoice documents (their XML declarations dropped)."""
    inner = b"".join(document.split(b"?>", 1)[1] for document in documents)
    return b'<?xml version="1.0" encoding="UTF-8"?><Invoices xmlns="urn:example:batch">' + (
        inner + b"<Note>not an invoice</Note></Invoices>"
    )


async def test_a_multi_invoice_file_is_a_flow_of_its_invoices(
    api: ApiServer, supplier: httpx.AsyncClient
) -> None:
    body = multi_invoice_file(
        ubl(number="F-2026-211"),
        write_invoice(an_invoice(number="F-2026-212"), Syntax.CII),
    )
    response = await supplier.post(
        "/v1/flows", content=body, headers={"Content-Type": "application/xml"}
    )
    assert response.status_code == 202, response.text
    for _ in range(200):
        flow = (await supplier.get(response.headers["location"])).json()
        if flow["status"] not in ("RECEIVED", "IN_PROGRESS"):
            break
        await asyncio.sleep(0.1)
    outcome = {e["name"]: (e["status"], e["code"]) for e in flow["entries"]}
    assert outcome == {
        "0001-Invoice.xml": ("MISE_A_DISPOSITION", None),
        "0002-CrossIndustryInvoice.xml": ("MISE_A_DISPOSITION", None),
        "0003-Note.xml": (None, "FLOW_ENTRY_NOT_AN_INVOICE"),
    }
    assert flow["status"] == "PARTIALLY_INTEGRATED"
    assert await count_invoices(api) == 2
    doctype = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "x">]><Invoices/>'
    refused = await supplier.post(
        "/v1/flows", content=doctype, headers={"Content-Type": "application/xml"}
    )
    assert refused.status_code == 202, refused.text
    assert [e["code"] for e in refused.json()["entries"]] == ["FLOW_ARCHIVE_INVALID"]


def credit_note(number: str, credits: str | None) -> bytes:
    preceding = (PrecedingInvoice(credits, date(2026, 1, 15)),) if credits else ()
    return ubl(number=number, type_code="381", preceding_invoices=preceding)


async def test_a_credit_note_is_linked_to_the_invoice_it_credits(
    supplier: httpx.AsyncClient,
) -> None:
    invoice = await supplier.post("/v1/invoices", **xml(ubl(number="F-2026-300")))
    assert invoice.status_code == 201, invoice.text
    credit = await supplier.post("/v1/invoices", **xml(credit_note("AV-2026-001", "F-2026-300")))
    assert credit.status_code == 201, credit.text

    note = (await supplier.get(credit.headers["location"])).json()
    assert (note["type_code"], note["credited_invoice_id"]) == ("381", invoice.json()["id"])
    credited = (await supplier.get(invoice.headers["location"])).json()
    assert credited["credit_notes"] == [credit.json()["id"]]


async def test_a_credit_note_must_name_an_invoice_of_its_seller(
    supplier: httpx.AsyncClient,
) -> None:
    unnamed = await supplier.post("/v1/invoices", **xml(credit_note("AV-2026-002", None)))
    problem = assert_problem(unnamed, 422, "INVOICE_INVALID")
    assert "PF-CREDITED-INVOICE-MISSING" in {f["rule"] for f in problem["report"]["findings"]}

    unknown = await supplier.post("/v1/invoices", **xml(credit_note("AV-2026-003", "NOPE-1")))
    problem = assert_problem(unknown, 422, "INVOICE_INVALID")
    finding = next(
        f for f in problem["report"]["findings"] if f["rule"] == "PF-CREDITED-INVOICE-UNKNOWN"
    )
    assert (finding["location"], "NOPE-1" in finding["message"]) == ("BT-25", True)
    rejected = (await supplier.get(unknown.headers["location"])).json()
    assert rejected["credited_invoice_id"] is None


# --- the commitment of BT-13 ------------------------------------------------------------


@pytest.fixture
async def commitments(api: ApiServer, directory: None) -> None:
    """Three commitments of the ministry with 1,000.00 left each: one open to this supplier,
    one closed, one of another supplier."""
    async with transaction(api.sessions) as session:
        for number, supplier_siret, active in [
            ("EJ-OPEN", SELLER_SIRET, True),
            ("EJ-CLOSED", SELLER_SIRET, False),
            ("EJ-OTHER", OTHER_SELLER, True),
        ]:
            session.add(
                Commitment(
                    number=number,
                    buyer_siret=BUYER_SIRET,
                    supplier_siret=supplier_siret,
                    ceiling=Decimal("5000.00"),
                    consumed=Decimal("4000.00"),
                    active=active,
                )
            )


@pytest.mark.parametrize(
    ("commitment", "rule"),
    [
        ("EJ-UNKNOWN", "PF-COMMITMENT-UNKNOWN"),
        ("EJ-CLOSED", "PF-COMMITMENT-INACTIVE"),
        ("EJ-OTHER", "PF-COMMITMENT-OTHER-SUPPLIER"),
    ],
)
@pytest.mark.usefixtures("commitments")
async def test_an_invoice_must_reference_an_open_commitment_of_its_supplier(
    api: ApiServer, supplier: httpx.AsyncClient, commitment: str, rule: str
) -> None:
    response = await supplier.post(
        "/v1/invoices", **xml(ubl(amount="100.00", commitment_number=commitment))
    )
    problem = assert_problem(response, 422, "INVOICE_INVALID")
    assert [(f["rule"], f["severity"], f["location"]) for f in problem["report"]["findings"]] == [
        (rule, "fatal", "BT-13")
    ]
    for number in ("EJ-OPEN", "EJ-CLOSED", "EJ-OTHER"):
        assert await consumed(api.sessions, number) == Decimal("4000.00")


@pytest.mark.usefixtures("commitments")
async def test_an_invoice_within_its_commitment_is_counted_against_it(
    api: ApiServer, supplier: httpx.AsyncClient
) -> None:
    response = await supplier.post(
        "/v1/invoices", **xml(ubl(amount="800.00", commitment_number="EJ-OPEN"))
    )
    assert response.status_code == 201, response.text
    assert response.json()["report"]["findings"] == []
    assert await consumed(api.sessions, "EJ-OPEN") == Decimal("4800.00")  # without VAT


@pytest.mark.usefixtures("commitments")
async def test_an_invoice_over_the_ceiling_is_accepted_with_a_warning(
    api: ApiServer, supplier: httpx.AsyncClient
) -> None:
    response = await supplier.post(
        "/v1/invoices", **xml(ubl(amount="1200.00", commitment_number="EJ-OPEN"))
    )
    assert response.status_code == 201, response.text
    report = response.json()["report"]
    assert report["valid"] is True
    [warning] = report["findings"]
    assert (warning["rule"], warning["severity"], warning["stage"]) == (
        "PF-COMMITMENT-CEILING-EXCEEDED",
        "warning",
        "PLATFORM",
    )
    assert "1000.00 remaining" in warning["message"]
    assert await consumed(api.sessions, "EJ-OPEN") == Decimal("5200.00")


@pytest.mark.usefixtures("commitments")
async def test_a_structure_strict_about_ceilings_refuses_an_invoice_over_one(
    api: ApiServer, supplier: httpx.AsyncClient
) -> None:
    ops = await api.as_role(Role.OPS)
    strict = await ops.put(
        f"/v1/structures/{BUYER_SIRET}",
        json={
            "name": "Ministère des tests",
            "category": "STATE",
            "commitment_ceiling_strict": True,
        },
    )
    assert strict.status_code == 200, strict.text
    assert strict.json()["commitment_ceiling_strict"] is True

    response = await supplier.post(
        "/v1/invoices", **xml(ubl(amount="1200.00", commitment_number="EJ-OPEN"))
    )
    problem = assert_problem(response, 422, "INVOICE_INVALID")
    assert [(f["rule"], f["severity"]) for f in problem["report"]["findings"]] == [
        ("PF-COMMITMENT-CEILING-EXCEEDED", "fatal")
    ]
    assert await consumed(api.sessions, "EJ-OPEN") == Decimal("4000.00")


@pytest.mark.usefixtures("commitments")
async def test_a_credit_note_gives_back_to_the_commitment(
    api: ApiServer, supplier: httpx.AsyncClient
) -> None:
    invoice = await supplier.post(
        "/v1/invoices",
        **xml(ubl(number="F-2026-400", amount="800.00", commitment_number="EJ-OPEN")),
    )
    assert invoice.status_code == 201, invoice.text
    note = ubl(
        number="AV-2026-400",
        amount="200.00",
        commitment_number="EJ-OPEN",
        type_code="381",
        preceding_invoices=(PrecedingInvoice("F-2026-400", date(2026, 1, 15)),),
    )
    credit = await supplier.post("/v1/invoices", **xml(note))
    assert credit.status_code == 201, credit.text
    assert await consumed(api.sessions, "EJ-OPEN") == Decimal("4600.00")
