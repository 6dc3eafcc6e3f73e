"""The whole chain through the public API: a consultation awarded, signed and notified, the
winner's invoices in three syntaxes on its commitment, their processing, payment, bank
return and late interest, and the supplier's webhook hearing every status change.

Only the directory (the bidders and their bank accounts) is set up through the store, and
the clock of a consultation or an invoice is moved with the dev server's time skipping.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from lxml import etree
from standardwebhooks import Webhook as SigningKey
from temporalio.testing import WorkflowEnvironment

from core.principals import Role
from devpki import TestPki, default_pdf, sign_pdf
from directory.records import IdentifierScheme, SupplierRecord
from invoicing.deadlines import PARIS
from invoicing.formats import write_invoice
from invoicing.interest import late_interest
from invoicing.payments.pain001 import validate_pain001
from invoicing.syntax import Syntax
from store.database import transaction
from store.directory import DirectoryRepository
from tests.api.test_conventions import assert_problem
from tests.api.test_invoice_deposit import factur_x
from tests.callbacks.conftest import Receiver, relay, serving  # noqa: F401 (relay: a fixture)
from tests.conftest import ApiServer
from tests.invoicing.builders import BUYER_SIRET, SELLER_SIRET, an_invoice
from tests.procurement.test_consultation_workflow import OTHER_SIRET, Tender
from tests.workflows.test_invoice_lifecycle import Parties
from tests.workflows.test_payment_runs import PAIN09, camt054, run_payments, wait_for

pytestmark = [pytest.mark.usefixtures("workers", "relay"), pytest.mark.slow]
WINNER_IBAN, WINNER_BIC = "FR7630004000031234567890143", "BNPAFRPPXXX"  # not the invoices' BT-84
RUNNER_UP_IBAN = "FR7610107001011234567890129"
PAID = ["MANDATEE", "MISE_A_DISPOSITION_COMPTABLE", "COMPTABILISEE", "MISE_EN_PAIEMENT", "PAYEE"]
ISSUED = "2026-01-15"  # the builder's issue date, named in every remittance


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """The winner's ERP on loopback; it fails each message's first attempt, so every event
    is delivered twice and must keep its `webhook-id`."""
    with serving() as found:
        found.failures = 1
        yield found


@pytest.fixture
def api_overrides(test_pki: TestPki, receiver: Receiver) -> dict[str, object]:
    return {
        "signature_trust_dir": test_pki.trust_dir,
        "outbound_allowed_hosts": receiver.host,
        # Every presumed-service invoice is drawn (its risk score, 30 for a new supplier + 40
        # for a BT-84 other than the directory's IBAN, would select it anyway).
        "control_share": Decimal(1),
    }


async def contract(tender: Tender, test_pki: TestPki, scores: dict[str, dict], **notice) -> None:
    """Open the bids (all admissible), score them, award the first of `scores`, sign the
    contract once any standstill is over and notify it, opening the commitment `notice`."""
    opened = await tender.ok("opening")
    assert [v["admissible"] for v in opened["verdicts"]] == [True] * len(scores)
    listed = (await tender.buyer.get(f"{tender.base}/bids")).json()
    bids = {b["supplier_siret"]: b["bid_id"] for b in listed}
    ranked = await tender.ok("scores", json={"scores": {bids[s]: c for s, c in scores.items()}})
    winner = bids[next(iter(scores))]
    assert ranked["ranking"][0]["bid_id"] == winner
    awarded = await tender.ok("award", json={"bid_id": winner, "amount": notice["ceiling"]})
    if awarded["standstill_end"] is not None:
        await tender.skip(timedelta(days=12))  # 11 days after an electronic decision
    signed = await sign_pdf(test_pki, "seal", "B-LT", await sign_pdf(test_pki, "signer", "B-LT"))
    form = {"files": [("contract", ("marche.pdf", signed, "application/pdf"))]}
    assert (await tender.ok("contract", **form))["status"] == "signed"
    assert (await tender.ok("notification", json=notice))["status"] == "notified"


async def deposit(tender: Tender, body: bytes, media_type: str) -> Parties:
    """The winner deposits an invoice, accepted; the parties who act on it."""
    response = await tender.a.post(
        "/v1/invoices", content=body, headers={"Content-Type": media_type}
    )
    assert response.status_code == 201, response.text
    assert response.json()["report"]["valid"] is True
    parties = Parties(tender.api, tender.env)
    parties.location = response.headers["location"]
    parties.supplier, parties.buyer = tender.a, tender.buyer
    parties.number = (await parties.invoice())["number"]
    return parties


def id_of(parties: Parties) -> str:
    return parties.location.rsplit("/", 1)[1]


def end_to_end_id(prefix: str, parties: Parties) -> str:
    """I (invoice) or J (interest) + the invoice id's hex digits + the attempt, 00 first."""
    return f"{prefix}{id_of(parties).replace('-', '')}00"


def transfers(xml: bytes) -> dict[str, tuple[Decimal, str, str]]:
    """A pain.001.001.09 file's transfers: end-to-end id → amount, creditor IBAN, remittance."""
    ns = {"p": PAIN09}
    return {
        tx.findtext("p:PmtId/p:EndToEndId", namespaces=ns): (
            Decimal(tx.findtext("p:Amt/p:InstdAmt", namespaces=ns)),
            tx.findtext("p:CdtrAcct/p:Id/p:IBAN", namespaces=ns),
            tx.findtext("p:RmtInf/p:Ustrd", namespaces=ns),
        )
        for tx in etree.fromstring(xml).iterfind(".//p:CdtTrfTxInf", namespaces=ns)
    }


async def payment_file(accountant: httpx.AsyncClient, run: dict, count: int, total: str) -> bytes:
    """The run's one pain.001 file, valid against its XSD, with `count` transfers of `total`."""
    (file,) = run["files"]
    assert (file["transactions"], Decimal(file["control_sum"])) == (count, Decimal(total))
    xml = (await accountant.get(file["href"])).content
    validate_pain001(xml, "001.001.09")
    return xml


async def totals(accountant: httpx.AsyncClient, run: dict, status: str) -> list[tuple]:
    """The run's totals (kind, status, count, amount) once all its payments are `status`."""
    for _ in range(100):
        found = (await accountant.get(f"/v1/payment-runs/{run['id']}")).json()["totals"]
        if all(t["status"] == status for t in found):
            break
        await asyncio.sleep(0.1)
    return [(t["kind"], t["status"], t["count"], Decimal(t["amount"])) for t in found]


async def book(accountant: httpx.AsyncClient, entries: list) -> list[dict]:
    """The bank's camt.054 booking these transfers; every entry matches its payment."""
    booked = await accountant.post(
        "/v1/bank-statements",
        content=camt054(entries),
        headers={"Content-Type": "application/xml"},
    )
    assert booked.status_code == 201, booked.text
    assert booked.json()["unmatched"] == 0
    return booked.json()["entries"]


async def test_a_tender_ends_in_paid_invoices_late_interest_and_signed_callbacks(
    api: ApiServer, temporal_env: WorkflowEnvironment, test_pki: TestPki, receiver: Receiver
) -> None:
    async with transaction(api.sessions) as session:  # the directory: bidders, bank accounts
        await DirectoryRepository(session).upsert_suppliers(
            [
                SupplierRecord(
                    IdentifierScheme.SIRET, SELLER_SIRET, "Jardins", WINNER_IBAN, WINNER_BIC
                ),
                SupplierRecord(IdentifierScheme.SIRET, OTHER_SIRET, "Paysages", RUNNER_UP_IBAN),
            ]
        )

    # 1. The city publishes an open procedure; the future winner's ERP subscribes to its
    # invoices' statuses; two suppliers bid with offers signed under the test PKI.
    tender = await Tender(api, temporal_env).start("AO-E2E")
    supplier = tender.a
    subscribed = await supplier.post("/v1/webhooks", json={"url": receiver.url})
    assert subscribed.status_code == 201, subscribed.text
    webhook = subscribed.json()
    for bidder, signer in ((tender.a, "signer"), (tender.b, "seal")):
        offer = await sign_pdf(test_pki, signer, "B-LT")
        assert (await tender.bid(bidder, ("offre.pdf", offer))).status_code == 201

    # The deadline passes; opening, scores, award, standstill, signed contract, notification.
    await tender.skip(timedelta(days=36))
    commitment = f"EJ-{tender.reference}"
    scores = {
        SELLER_SIRET: {"Prix": "90", "Valeur technique": "80"},  # 86.00
        OTHER_SIRET: {"Prix": "70", "Valeur technique": "85"},  # 76.00
    }
    await contract(tender, test_pki, scores, number=commitment, ceiling="98000.00")
    inbox = (await supplier.get("/v1/notifications")).json()["items"]
    [notified] = [n for n in inbox if n["kind"] == "consultation.notified"]
    assert notified["payload"]["outcome"]["commitment"] == commitment

    # The city also buys supplies by MAPA (no standstill), paid on presumed service done.
    supplies = await Tender(api, temporal_env).start("MAPA-E2E", procedure="adapted")
    assert (await supplies.bid(supplies.a, ("offre.pdf", default_pdf()))).status_code == 201
    await supplies.skip(timedelta(days=36))
    presumed_commitment = f"EJ-{supplies.reference}"
    await contract(
        supplies,
        test_pki,
        {SELLER_SIRET: {"Prix": "80", "Valeur technique": "70"}},
        number=presumed_commitment,
        ceiling="5000.00",
        service_done_presumed=True,
    )

    # 2. The winner invoices on the commitment in UBL, CII and Factur-X; all are accepted.
    def on(number: str, amount: str, syntax: Syntax, to: str = commitment) -> bytes:
        return write_invoice(an_invoice(number, amount, commitment_number=to), syntax)

    xml, pdf = "application/xml", "application/pdf"
    ubl = await deposit(tender, on("F-E2E-1", "1200.00", Syntax.UBL), xml)
    cii = await deposit(tender, on("F-E2E-2", "2500.00", Syntax.CII), xml)
    fx = await deposit(tender, factur_x(on("F-E2E-3", "800.00", Syntax.CII)), pdf)
    presumed = await deposit(tender, on("F-E2E-4", "450.00", Syntax.UBL, presumed_commitment), xml)
    invoices = [ubl, cii, fx, presumed]
    due = {ubl: "1440.00", cii: "3000.00", fx: "960.00", presumed: "540.00"}  # VAT 20 %
    for parties, syntax in zip(invoices, ["UBL", "CII", "FACTURX", "UBL"], strict=True):
        invoice = await parties.invoice()
        assert (invoice["syntax"], invoice["amount_due"], invoice["buyer_siret"]) == (
            syntax,
            due[parties],
            BUYER_SIRET,
        )
    assert (await fx.invoice())["profile"] == "EN16931"
    assert (await presumed.invoice())["commitment_number"] == presumed_commitment

    # 3. The buyer takes the CII invoice, suspends it for a missing document (the payment
    # clock stops) and the supplier completes it (the clock restarts).
    buyer = tender.buyer
    await cii.ok(buyer, "TAKE")
    suspended = await cii.ok(buyer, "SUSPEND", reason="MISSING_DOCUMENT", comment="bon de commande")
    assert (suspended["status"], suspended["due_at"]) == ("SUSPENDUE", None)
    completed = await supplier.post(
        f"{cii.location}/complete",
        data={"comment": "bon de commande joint"},
        files={"attachments": ("commande.pdf", default_pdf(), "application/pdf")},
    )
    assert completed.status_code == 200, completed.text
    assert completed.json()["status"] == "COMPLETEE" and completed.json()["due_at"] is not None
    for parties in (ubl, cii, fx):
        if parties is not cii:
            await parties.ok(buyer, "TAKE")
        assert (await parties.ok(buyer, "CERTIFY_SERVICE_DONE"))["status"] == "SERVICE_FAIT"

    # 4. Service done is presumed for the MAPA invoice, and the control plan draws it: it
    # waits in SERVICE_FAIT for the accountant, who alone may approve it.
    accountant = await api.as_role(Role.ACCOUNTANT, BUYER_SIRET)
    drawn = await wait_for(presumed, "SERVICE_FAIT")
    assert (drawn["history"][-1]["actor"], drawn["history"][-1]["comment"]) == (
        "system",
        "controlled: the accountant decides",
    )
    assert_problem(await presumed.act(buyer, "CONTROL_APPROVE"), 403, "FORBIDDEN_ROLE")
    await presumed.ok(accountant, "CONTROL_APPROVE", comment="pièces conformes")

    # 5. Each invoice gets its mandate; the UBL one waits past its due date (the clock is
    # moved) before the accountant takes them all to accounting.
    for parties in invoices:
        await wait_for(parties, "MANDATEE")
    await ubl.skip(timedelta(days=31))
    for parties in invoices:
        await parties.ok(accountant, "MAKE_AVAILABLE_TO_ACCOUNTANT")
        assert (await parties.ok(accountant, "ACCOUNT"))["status"] == "COMPTABILISEE"

    # A payment run pays the four invoices in one valid pain.001 file, to the winner's
    # account in the directory (not the invoices' BT-84), one transfer per invoice.
    run = await run_payments(accountant)
    assert await totals(accountant, run, "PLANNED") == [("INVOICE", "PLANNED", 4, Decimal(5940))]
    e2e = {parties: end_to_end_id("I", parties) for parties in invoices}
    assert transfers(await payment_file(accountant, run, 4, "5940.00")) == {
        e2e[parties]: (Decimal(due[parties]), WINNER_IBAN, f"Facture {parties.number} du {ISSUED}")
        for parties in invoices
    }
    for parties in invoices:
        await wait_for(parties, "MISE_EN_PAIEMENT")

    # The bank books them: three today, the UBL one ten days after its due date.
    today = datetime.now(PARIS).date()
    due_on = datetime.fromisoformat((await ubl.deadline())["due_at"]).astimezone(PARIS).date()
    booked_on = {parties: today for parties in invoices} | {ubl: due_on + timedelta(days=10)}
    entries = await book(accountant, [(e2e[p], Decimal(due[p]), booked_on[p]) for p in invoices])
    assert {e["invoice_id"] for e in entries} == {id_of(p) for p in invoices}
    for parties in invoices:
        paid = await wait_for(parties, "PAYEE")
        assert paid["history"][-1]["actor"] == "bank"
    owed = late_interest(Decimal("1440.00"), due_on, booked_on[ubl])
    late = await ubl.deadline()
    assert (late["overdue"], late["paid_on"]) == (True, booked_on[ubl].isoformat())
    assert (Decimal(late["late_interest"]), Decimal(late["late_compensation"])) == (
        owed.interest,
        Decimal("40.00"),
    )
    for parties in (cii, fx, presumed):
        assert (await parties.deadline())["late_interest"] is None
    assert await totals(accountant, run, "CONFIRMED") == [
        ("INVOICE", "CONFIRMED", 4, Decimal(5940))
    ]

    # The next run pays the interest and the 40 € compensation, announced to the supplier;
    # the bank books it, and a third run finds nothing left to pay.
    interest_run = await run_payments(accountant)
    interest_id = end_to_end_id("J", ubl)
    remittance = f"Interets moratoires et indemnite forfaitaire, facture {ubl.number}"
    assert transfers(await payment_file(accountant, interest_run, 1, str(owed.total))) == {
        interest_id: (owed.total, WINNER_IBAN, remittance)
    }
    inbox = (await supplier.get("/v1/notifications")).json()["items"]
    [announced] = [n for n in inbox if n["kind"] == "invoice.late_interest"]
    assert Decimal(announced["payload"]["amount"]) == owed.total
    [entry] = await book(accountant, [(interest_id, owed.total, today)])
    assert (entry["kind"], entry["invoice_id"]) == ("INTEREST", id_of(ubl))
    confirmed = await totals(accountant, interest_run, "CONFIRMED")
    assert confirmed == [("INTEREST", "CONFIRMED", 1, owed.total)]
    nothing = await run_payments(accountant)
    assert (nothing["files"], nothing["totals"]) == ([], [])

    # Every invoice's history, status by status.
    histories = {
        ubl: ["DEPOSEE", "MISE_A_DISPOSITION", "PRISE_EN_COMPTE", "SERVICE_FAIT", *PAID],
        cii: [
            "DEPOSEE",
            "MISE_A_DISPOSITION",
            "PRISE_EN_COMPTE",
            "SUSPENDUE",
            "COMPLETEE",
            "SERVICE_FAIT",
            *PAID,
        ],
        fx: ["DEPOSEE", "MISE_A_DISPOSITION", "PRISE_EN_COMPTE", "SERVICE_FAIT", *PAID],
        presumed: ["DEPOSEE", "MISE_A_DISPOSITION", "SERVICE_FAIT", "SERVICE_FAIT", *PAID],
    }
    for parties, statuses in histories.items():
        assert [h["status"] for h in (await parties.invoice())["history"]] == statuses

    # 6. The ERP got every event of the supplier's invoices, each signed, each under the
    # same webhook-id at its failed first attempt and its retry, in order per invoice.
    events = (await supplier.get("/v1/events", params={"limit": 500})).json()["items"]
    expected_ids = {f"msg_{e['id']}_{webhook['id']}" for e in events}
    await receiver.wait_for(lambda r: {m.message_id for m in r.accepted()} >= expected_ids, 60)
    assert Counter(r.message_id for r in receiver.requests) == Counter(
        {message_id: 2 for message_id in expected_ids}
    )
    signing_key = SigningKey(webhook["secret"])
    told: dict[str, list[tuple[int, str, str]]] = {}
    for received in receiver.accepted():
        body = signing_key.verify(received.body, received.headers)
        assert received.message_id == f"msg_{body['id']}_{webhook['id']}"
        data = body["data"]
        told.setdefault(data["invoice_id"], []).append(
            (data["sequence"], body["type"], data["status"])
        )
    for parties, statuses in histories.items():
        changes = [("invoice.status_changed", status) for status in statuses]
        if parties is ubl:  # its clock ran out while it was mandated
            changes.insert(5, ("invoice.overdue", "MANDATEE"))
        assert sorted(told[id_of(parties)]) == [(n, *c) for n, c in enumerate(changes, start=1)]
    assert set(told) == {id_of(parties) for parties in invoices}
