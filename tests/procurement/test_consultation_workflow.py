"""A consultation through the API, on a real dev server with time skipping."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from asn1crypto import cms
from sqlalchemy import func, select
from temporalio.testing import WorkflowEnvironment

from core.principals import Role
from devpki import TestPki, default_pdf, sign_pdf
from directory.identifiers import IdentifierScheme
from directory.records import StructureCategory, StructureRecord, SupplierRecord
from invoicing.formats import write_invoice
from invoicing.syntax import Syntax
from procurement.espd import read_response
from store.database import transaction
from store.directory import DirectoryRepository
from store.models import BidRecord, Commitment, ConsultationInterest
from tests.api.test_conventions import assert_problem
from tests.conftest import ApiServer
from tests.invoicing.builders import BUYER_SIRET, SELLER_SIRET, an_invoice

pytestmark = [pytest.mark.usefixtures("workers"), pytest.mark.record_histories]
OTHER_SIRET = "44306184100005"
THIRD_SIRET = "55203253400646"
REFERENCE = "AO-2026-042"
ADDRESS = {
    "street": "1 place de l'Hôtel de Ville",
    "city": "Paris",
    "postal_code": "75004",
    "nuts": "FR101",
}


@pytest.fixture
def api_overrides(test_pki: TestPki) -> dict[str, object]:
    return {"signature_trust_dir": test_pki.trust_dir}


def terms(procedure: str = "open", reference: str = REFERENCE, days: int = 35) -> dict:
    now = datetime.now(UTC)
    return {
        "buyer_siret": BUYER_SIRET,
        "reference": reference,
        "title": "Entretien des espaces verts",
        "description": "Tonte, taille et désherbage des parcs de la ville.",
        "procedure": procedure,
        "cpv_codes": ["77310000-6"],
        "lots": [{"number": 1, "title": "Parcs", "estimated_value": "120000.00"}],
        "criteria": [
            {"name": "Prix", "weight": 60, "kind": "price"},
            {"name": "Valeur technique", "weight": 40, "kind": "quality"},
        ],
        "questions_deadline": (now + timedelta(days=days - 10)).isoformat(),
        "submission_deadline": (now + timedelta(days=days)).isoformat(),
        "contact": {"name": "Service achats", "email": "achats@ville.example"},
        "buyer_name": "Ville de Test",
        "espd_required": False,
        "buyer_address": ADDRESS,
        "review_body": {
            "name": "Tribunal administratif de Paris",
            "siret": "17750111100005",
            "address": {**ADDRESS, "street": "7 rue de Jouy"},
        },
    }


class Tender:
    """The buyer and three suppliers of one consultation."""

    def __init__(self, api: ApiServer, env: WorkflowEnvironment) -> None:
        self.api, self.env = api, env

    async def start(self, reference: str = REFERENCE, **overrides: object) -> Tender:
        async with transaction(self.api.sessions) as session:
            await DirectoryRepository(session).upsert_structure(
                StructureRecord(BUYER_SIRET, "Ville de Test", StructureCategory.LOCAL_AUTHORITY)
            )
        # Unique per run: the sqlite and postgresql runs share one Temporal server, and a
        # consultation's id is never reused.
        reference = f"{reference}-{uuid.uuid4().hex[:6]}"
        self.base = f"/v1/consultations/{BUYER_SIRET}/{reference}"
        self.reference = reference
        self.buyer = await self.api.as_role(Role.BUYER, BUYER_SIRET)
        self.a = await self.api.as_role(Role.SUPPLIER, SELLER_SIRET)
        self.b = await self.api.as_role(Role.SUPPLIER, OTHER_SIRET)
        self.c = await self.api.as_role(Role.SUPPLIER, THIRD_SIRET)
        created = await self.buyer.post(
            "/v1/consultations", json={**terms(reference=reference), **overrides}
        )
        assert created.status_code == 201, created.text
        published = await self.buyer.post(
            f"{self.base}/publish",
            files=[("documents", ("reglement.pdf", default_pdf(), "application/pdf"))],
        )
        assert published.status_code == 200, published.text
        assert published.json()["status"] == "published"
        return self

    async def bid(self, who: httpx.AsyncClient, *files: tuple[str, bytes]) -> httpx.Response:
        return await who.post(
            f"{self.base}/bids",
            files=[("files", (name, data, "application/pdf")) for name, data in files],
        )

    async def skip(self, duration: timedelta) -> None:
        handle = self.env.client.get_workflow_handle(f"consultation:{BUYER_SIRET}:{self.reference}")
        await self.env.fast_forward(handle, duration)

    async def state(self) -> dict:
        response = await self.buyer.get(f"{self.base}/state")
        assert response.status_code == 200, response.text
        return response.json()

    async def ok(self, path: str, **kwargs: object) -> dict:
        response = await self.buyer.post(f"{self.base}/{path}", **kwargs)
        assert response.status_code == 200, response.text
        return response.json()


async def test_an_open_procedure_from_draft_to_an_invoice_on_its_commitment(
    api: ApiServer, temporal_env: WorkflowEnvironment, test_pki: TestPki
) -> None:
    async with transaction(api.sessions) as session:
        await DirectoryRepository(session).upsert_suppliers(
            [SupplierRecord(IdentifierScheme.SIRET, SELLER_SIRET, "Jardins Durables SARL")]
        )
    tender = await Tender(api, temporal_env).start()

    public = await api.anonymous().get("/v1/consultations", params={"cpv": "7731"})
    assert [c["reference"] for c in public.json()] == [tender.reference]
    details = (await api.anonymous().get(tender.base)).json()
    assert sorted(d["kind"] for d in details["documents"]) == ["dce", "notice"]
    dce = next(d for d in details["documents"] if d["kind"] == "dce")
    download = await api.anonymous().get(f"{tender.base}/documents/{dce['id']}")
    assert download.content == default_pdf()
    assert (await api.anonymous().get(tender.base)).json()["downloads"] == 1

    first = await tender.bid(tender.a, ("offre.pdf", b"%PDF-1.4 first offer"))
    assert first.status_code == 201, first.text
    receipt = first.json()
    assert (
        receipt["receipt"]["files"][0]["sha256"]
        == hashlib.sha256(b"%PDF-1.4 first offer").hexdigest()
    )
    sealed = cms.ContentInfo.load(base64.b64decode(receipt["seal"]))
    assert sealed["content_type"].native == "signed_data"

    signed_offer = await sign_pdf(test_pki, "signer", "B-LT")
    replaced = await tender.bid(tender.a, ("offre-v2.pdf", signed_offer))
    assert replaced.json()["receipt"]["version"] == 2
    assert (await tender.bid(tender.b, ("offre.pdf", default_pdf()))).status_code == 201
    assert (await tender.bid(tender.c, ("offre.pdf", default_pdf()))).status_code == 201
    withdrawn = await tender.c.delete(f"{tender.base}/bids/mine")
    assert withdrawn.json()["status"] == "withdrawn"

    assert_problem(await tender.buyer.get(f"{tender.base}/bids"), 403, "BID_SEALED")
    bid_id = replaced.json()["receipt"]["bid_id"]
    sha = replaced.json()["receipt"]["files"][0]["sha256"]
    assert_problem(
        await tender.buyer.get(f"{tender.base}/bids/{bid_id}/files/{sha}"), 403, "BID_SEALED"
    )

    await tender.skip(timedelta(days=36))
    assert (await tender.state())["status"] == "closed"
    assert_problem(await tender.bid(tender.c, ("tard.pdf", b"late")), 409, "BID_LATE")

    opened = await tender.ok("opening")
    assert opened["status"] == "opened"
    assert all(v["admissible"] for v in opened["verdicts"])
    bids = {b["supplier_siret"]: b for b in (await tender.buyer.get(f"{tender.base}/bids")).json()}
    assert sorted(bids) == sorted([SELLER_SIRET, OTHER_SIRET])  # the withdrawn bid is gone
    assert bids[SELLER_SIRET]["files"][0]["name"] == "offre-v2.pdf"  # only the latest
    file = await tender.buyer.get(f"{tender.base}/bids/{bid_id}/files/{sha}")
    assert file.content == signed_offer

    winner, loser = bids[SELLER_SIRET]["bid_id"], bids[OTHER_SIRET]["bid_id"]
    ranked = await tender.ok(
        "scores",
        json={
            "scores": {
                winner: {"Prix": "90", "Valeur technique": "80"},
                loser: {"Prix": "70", "Valeur technique": "85"},
            }
        },
    )
    assert [(r["bid_id"], r["total"], r["rank"]) for r in ranked["ranking"]] == [
        (winner, "86.00", 1),
        (loser, "76.00", 2),
    ]
    awarded = await tender.ok(
        "award", json={"bid_id": winner, "amount": "98000.00", "reasons": "Meilleur rapport."}
    )
    assert awarded["status"] == "awarded"
    assert len(awarded["letters"]) == 2
    told = (await tender.b.get("/v1/notifications")).json()["items"]
    assert [n["kind"] for n in told].count("consultation.awarded") == 1
    letter = await tender.a.get(f"{tender.base}/letters/mine")
    assert letter.content.startswith(b"%PDF") and b"/ByteRange" in letter.content  # sealed
    public_kinds = {d["kind"] for d in (await api.anonymous().get(tender.base)).json()["documents"]}
    assert "letter" not in public_kinds
    end = datetime.fromisoformat(awarded["standstill_end"])
    assert end - datetime.fromisoformat(awarded["outcome"]["decided_at"]) == timedelta(days=11)

    contract = await sign_pdf(test_pki, "seal", "B-LT", await sign_pdf(test_pki, "signer", "B-LT"))
    form = {"files": [("contract", ("marche.pdf", contract, "application/pdf"))]}
    await tender.skip(timedelta(days=10))
    too_early = await tender.buyer.post(f"{tender.base}/contract", **form)
    assert_problem(too_early, 409, "STANDSTILL_RUNNING")
    await tender.skip(timedelta(days=2))
    unsigned = await tender.buyer.post(
        f"{tender.base}/contract",
        files=[("contract", ("marche.pdf", default_pdf(), "application/pdf"))],
    )
    assert_problem(unsigned, 422, "CONTRACT_SIGNATURE_INVALID")
    assert (await tender.ok("contract", **form))["status"] == "signed"
    async with transaction(api.sessions) as session:  # a number another contract holds
        session.add(
            Commitment(
                number="EJ-TAKEN",
                buyer_siret=BUYER_SIRET,
                supplier_siret=OTHER_SIRET,
                ceiling=Decimal(1000),
            )
        )
    taken = await tender.buyer.post(
        f"{tender.base}/notification", json={"number": "EJ-TAKEN", "ceiling": "98000.00"}
    )
    assert_problem(taken, 409, "COMMITMENT_NUMBER_TAKEN")
    notified = await tender.ok("notification", json={"number": "EJ-AO-042", "ceiling": "98000.00"})
    assert notified["status"] == "notified"
    told = (await tender.a.get("/v1/notifications")).json()["items"]
    notice = next(n for n in told if n["kind"] == "consultation.notified")
    assert notice["payload"]["outcome"]["commitment"] == "EJ-AO-042"

    async with api.sessions() as session:
        commitment = await session.get(Commitment, "EJ-AO-042")  # opened before the answer
        assert (commitment.supplier_siret, commitment.ceiling) == (
            SELLER_SIRET,
            Decimal("98000.00"),
        )
        fates = dict(
            (
                await session.execute(
                    select(BidRecord.supplier_siret, BidRecord.status).where(
                        BidRecord.status.in_(["awarded", "rejected", "late"])
                    )
                )
            ).all()
        )
    assert fates == {SELLER_SIRET: "awarded", OTHER_SIRET: "rejected", THIRD_SIRET: "late"}
    outcome = [b for b in (await tender.b.get("/v1/bids")).json() if b["status"] == "rejected"]
    assert datetime.fromisoformat(outcome[0]["outcome"]["standstill_end"]) == end

    deposited = await tender.a.post(
        "/v1/invoices",
        content=write_invoice(an_invoice("F-AO-1", commitment_number="EJ-AO-042"), Syntax.UBL),
        headers={"Content-Type": "application/xml"},
    )
    assert deposited.status_code == 201, deposited.text
    [award_notice] = [
        d
        for d in (await api.anonymous().get(tender.base)).json()["documents"]
        if d["kind"] == "award-notice"
    ]
    notice_xml = (
        await api.anonymous().get(f"{tender.base}/documents/{award_notice['id']}")
    ).content
    assert b"Jardins Durables SARL" in notice_xml  # the winner's name, not its SIRET

    stranger = await api.as_role(Role.BUYER, THIRD_SIRET)
    closure = {"reason": "marché soldé"}
    refused = await stranger.post("/v1/contracts/EJ-AO-042/closure", json=closure)
    assert_problem(refused, 404, "CONTRACT_NOT_FOUND")
    closed = await tender.buyer.post("/v1/contracts/EJ-AO-042/closure", json=closure)
    assert closed.json() == {"number": "EJ-AO-042", "active": False, "reason": "marché soldé"}
    again = await tender.buyer.post("/v1/contracts/EJ-AO-042/closure", json=closure)
    assert again.json() == {"number": "EJ-AO-042", "active": False}
    late = await tender.a.post(
        "/v1/invoices",
        content=write_invoice(an_invoice("F-AO-2", commitment_number="EJ-AO-042"), Syntax.UBL),
        headers={"Content-Type": "application/xml"},
    )
    problem = assert_problem(late, 422, "INVOICE_INVALID")
    assert "PF-COMMITMENT-INACTIVE" in {f["rule"] for f in problem["report"]["findings"]}


async def test_a_mapa_has_no_standstill(api: ApiServer, temporal_env: WorkflowEnvironment) -> None:
    tender = await Tender(api, temporal_env).start("MAPA-2026-7", procedure="adapted")
    assert (await tender.bid(tender.a, ("offre.pdf", default_pdf()))).status_code == 201
    await tender.skip(timedelta(days=36))
    opened = await tender.ok("opening")
    bid_id = opened["verdicts"][0]["bid_id"]
    await tender.ok("scores", json={"scores": {bid_id: {"Prix": "50", "Valeur technique": "50"}}})
    awarded = await tender.ok("award", json={"bid_id": bid_id, "amount": "1000.00"})
    assert awarded["standstill_end"] is None


async def test_cancellation_and_an_unsuccessful_procedure(
    api: ApiServer, temporal_env: WorkflowEnvironment
) -> None:
    cancelled = await Tender(api, temporal_env).start("AO-CANCEL")
    assert_problem(
        await cancelled.buyer.post(f"{cancelled.base}/cancellation", json={"reason": " "}),
        422,
        "VALIDATION_FAILED",
    )
    done = await cancelled.ok("cancellation", json={"reason": "besoin disparu"})
    assert (done["status"], done["outcome"]["reason"]) == ("cancelled", "besoin disparu")
    refused = await cancelled.bid(cancelled.a, ("o.pdf", b"x"))
    assert_problem(refused, 409, "CONSULTATION_STEP_REFUSED")

    empty = await Tender(api, temporal_env).start("AO-EMPTY")
    too_soon = await empty.buyer.post(f"{empty.base}/opening")  # before the deadline
    assert assert_problem(too_soon, 409, "CONSULTATION_STEP_REFUSED")["current_status"] == (
        "published"
    )
    await empty.skip(timedelta(days=36))
    assert (await empty.ok("opening"))["status"] == "unsuccessful"


async def test_publication_refuses_terms_that_break_the_rules(
    api: ApiServer, temporal_env: WorkflowEnvironment
) -> None:
    buyer = await api.as_role(Role.BUYER, BUYER_SIRET)
    reference = f"AO-SHORT-{uuid.uuid4().hex[:6]}"
    short = {**terms(reference=reference, days=10)}
    short["criteria"] = [{"name": "Valeur technique", "weight": 90, "kind": "quality"}]
    assert (await buyer.post("/v1/consultations", json=short)).status_code == 201
    refused = await buyer.post(f"/v1/consultations/{BUYER_SIRET}/{reference}/publish")
    body = assert_problem(refused, 422, "CONSULTATION_INVALID")
    fields = {p["field"] for p in body["problems"]}
    assert fields == {"criteria", "submission_deadline", "questions_deadline"}
    again = await buyer.post("/v1/consultations", json=short)
    assert_problem(again, 409, "CONSULTATION_EXISTS")
    other = await api.as_role(Role.BUYER, THIRD_SIRET)
    assert_problem(
        await other.get(f"/v1/consultations/{BUYER_SIRET}/{reference}/state"),
        404,
        "CONSULTATION_NOT_FOUND",
    )


async def test_espd_responses_decide_admissibility_at_opening(
    api: ApiServer, temporal_env: WorkflowEnvironment
) -> None:
    async with transaction(api.sessions) as session:
        await DirectoryRepository(session).upsert_suppliers(
            [SupplierRecord(IdentifierScheme.SIRET, SELLER_SIRET, "Jardins Durables SARL")]
        )
    tender = await Tender(api, temporal_env).start("AO-DUME", espd_required=True)
    kinds = {d["kind"] for d in (await api.anonymous().get(tender.base)).json()["documents"]}
    assert kinds == {"dce", "notice", "espd-request"}

    dume = await tender.a.get(f"{tender.base}/espd-response")
    assert dume.status_code == 200, dume.text
    assert read_response(dume.content).economic_operator.siret == SELLER_SIRET
    unknown = await tender.c.get(f"{tender.base}/espd-response")
    assert_problem(unknown, 422, "SUPPLIER_NOT_FOUND")
    request_xml = next(
        d
        for d in (await api.anonymous().get(tender.base)).json()["documents"]
        if d["kind"] == "espd-request"
    )
    request_bytes = (
        await api.anonymous().get(f"{tender.base}/documents/{request_xml['id']}")
    ).content

    def with_espd(xml: bytes) -> dict:
        return {
            "files": [
                ("files", ("offre.pdf", default_pdf(), "application/pdf")),
                ("espd", ("dume.xml", xml, "application/xml")),
            ]
        }

    assert (
        await tender.a.post(f"{tender.base}/bids", **with_espd(dume.content))
    ).status_code == 201
    assert (await tender.bid(tender.b, ("offre.pdf", default_pdf()))).status_code == 201
    wrong = await tender.c.post(f"{tender.base}/bids", **with_espd(request_bytes))
    assert wrong.status_code == 201, wrong.text
    await tender.skip(timedelta(days=36))

    opened = await tender.ok("opening")
    by_supplier = {
        b["supplier_siret"]: b for b in (await tender.buyer.get(f"{tender.base}/bids")).json()
    }
    assert by_supplier[SELLER_SIRET]["admissible"] is True
    assert by_supplier[OTHER_SIRET]["reasons"] == ["no ESPD (DUME) response"]
    assert by_supplier[THIRD_SIRET]["admissible"] is False
    assert "ESPD response unreadable" in by_supplier[THIRD_SIRET]["reasons"][0]
    assert opened["status"] == "opened"


async def test_questions_are_answered_to_all_and_interest_is_kept_once(
    api: ApiServer, temporal_env: WorkflowEnvironment
) -> None:
    tender = await Tender(api, temporal_env).start("AO-QA")
    asked = await tender.a.post(f"{tender.base}/questions", json={"question": "Surface totale ?"})
    assert asked.status_code == 201, asked.text
    listed = (await tender.buyer.get(f"{tender.base}/questions")).json()
    assert [(q["supplier_siret"], q["answer"]) for q in listed] == [(SELLER_SIRET, None)]
    assert (await api.anonymous().get(tender.base)).json()["questions"] == []
    assert (await tender.b.post(f"{tender.base}/interest")).status_code == 201
    answered = await tender.buyer.post(
        f"{tender.base}/questions/{listed[0]['id']}/answer", json={"answer": "12 hectares."}
    )
    assert answered.status_code == 200, answered.text
    public = (await api.anonymous().get(tender.base)).json()["questions"]
    assert [(q["question"], q["answer"]) for q in public] == [("Surface totale ?", "12 hectares.")]
    assert "supplier_siret" not in public[0]
    for follower in (tender.a, tender.b):  # the asker and a follower are told
        inbox = (await follower.get("/v1/notifications")).json()["items"]
        assert "consultation.answered" in [n["kind"] for n in inbox]
    silent = (await tender.c.get("/v1/notifications")).json()["items"]
    assert "consultation.answered" not in [n["kind"] for n in silent]
    for _ in range(2):
        followed = await tender.b.post(f"{tender.base}/interest")
        assert followed.status_code == 201, followed.text
    async with api.sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(ConsultationInterest)
            .where(
                ConsultationInterest.consultation_id
                == f"consultation:{BUYER_SIRET}:{tender.reference}"
            )
        )
    assert count == 1
    other_buyer = await api.as_role(Role.BUYER, THIRD_SIRET)
    assert_problem(await other_buyer.get(f"{tender.base}/questions"), 404, "CONSULTATION_NOT_FOUND")


async def test_a_late_amendment_pushes_the_deadline_and_tells_followers(
    api: ApiServer, temporal_env: WorkflowEnvironment
) -> None:
    tender = await Tender(api, temporal_env).start("AO-AMEND")
    assert (await tender.b.post(f"{tender.base}/interest")).status_code == 201
    first_deadline = datetime.fromisoformat((await tender.state())["submission_deadline"])
    await tender.skip(timedelta(days=32))  # 3 days before the deadline: under the 6 days
    amended = await tender.buyer.post(
        f"{tender.base}/amendments",
        files=[("documents", ("cctp-v2.pdf", default_pdf(), "application/pdf"))],
    )
    assert amended.status_code == 200, amended.text
    moved = datetime.fromisoformat(amended.json()["submission_deadline"])
    assert moved - first_deadline > timedelta(days=2)
    told = (await tender.b.get("/v1/notifications")).json()["items"]
    assert [n["kind"] for n in told] == ["consultation.amended"]
    await tender.skip(timedelta(days=4))  # past the first deadline, before the new one
    assert (await tender.state())["status"] == "published"
    assert (await tender.bid(tender.a, ("offre.pdf", default_pdf()))).status_code == 201
    await tender.skip(timedelta(days=3))
    assert (await tender.state())["status"] == "closed"


async def test_a_supplier_of_several_sirets_says_which_one_bids(
    api: ApiServer, temporal_env: WorkflowEnvironment
) -> None:
    tender = await Tender(api, temporal_env).start("AO-GROUP")
    group = await api.as_role(Role.SUPPLIER, SELLER_SIRET, OTHER_SIRET)
    unnamed = await tender.bid(group, ("offre.pdf", default_pdf()))
    assert_problem(unnamed, 422, "VALIDATION_FAILED")
    named = await group.post(
        f"{tender.base}/bids",
        data={"supplier_siret": OTHER_SIRET},
        files=[("files", ("offre.pdf", default_pdf(), "application/pdf"))],
    )
    assert named.status_code == 201, named.text
    assert named.json()["receipt"]["supplier_siret"] == OTHER_SIRET
    mine = await group.get(f"{tender.base}/bids/mine", params={"supplier_siret": OTHER_SIRET})
    assert mine.json()["bid_id"] == named.json()["receipt"]["bid_id"]
    stranger = await group.get(f"{tender.base}/bids/mine", params={"supplier_siret": THIRD_SIRET})
    assert_problem(stranger, 422, "VALIDATION_FAILED")


async def test_a_bid_one_second_late_is_refused_and_one_just_in_time_counts(
    api: ApiServer, temporal_env: WorkflowEnvironment
) -> None:
    tender = await Tender(api, temporal_env).start("AO-SECOND")
    deadline = datetime.fromisoformat((await tender.state())["submission_deadline"])
    await tender.skip(deadline - datetime.now(UTC) - timedelta(seconds=3))
    in_time = await tender.bid(tender.a, ("offre.pdf", default_pdf()))
    assert in_time.status_code == 201, in_time.text
    assert datetime.fromisoformat(in_time.json()["receipt"]["received_at"]) < deadline
    await tender.skip(timedelta(seconds=4))
    late = await tender.bid(tender.b, ("offre.pdf", default_pdf()))
    body = assert_problem(late, 409, "BID_LATE")
    overdue = datetime.fromisoformat(body["received_at"]) - deadline
    assert timedelta(0) <= overdue < timedelta(seconds=3)
    for _ in range(100):  # the `bids` table is written just after the answer
        async with api.sessions() as session:
            refused = await session.scalar(
                select(BidRecord.status).where(BidRecord.supplier_siret == OTHER_SIRET)
            )
        if refused is not None:
            break
        await asyncio.sleep(0.05)
    assert refused == "late"
