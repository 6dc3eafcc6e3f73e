"""The whole chain as its people live it, through the public API: a town hall buys the
upkeep of its parks, two suppliers bid with signed offers, the winner invoices in the three
formats, the accountant pays, the bank confirms, a late payment earns its interest.

Only the set-up touches the database directly (the directory, as `chaine directory import`
would, and the API clients and portal people, as `chaine clients create` and `chaine users
create` would); every step of the story is an HTTP call a real client would make. Each run
uses numbers of its own, so running it again adds a new story beside the first.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from facturx import generate_from_binary
from lxml import etree
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError

from api.credentials import register_client
from core import pdf_text
from core.principals import Role
from demo.outside import RECEIVER_PATH, Booking, Receiver, debit_notification
from directory.identifiers import IdentifierScheme
from directory.records import (
    CommitmentRecord,
    StructureCategory,
    StructureRecord,
    SupplierRecord,
)
from invoicing.formats import write_invoice
from invoicing.syntax import Syntax
from portal.accounts import create_user
from portal.invoice_form import InvoiceForm, LineRow, check_form, to_invoice
from store.commitments import CommitmentRepository
from store.database import transaction
from store.directory import DirectoryRepository
from store.portal_users import PortalUserRepository
from store.webhooks import WebhookRepository

TOWN_HALL = StructureRecord(
    "21750001600019", "Commune de Démonstration", StructureCategory.LOCAL_AUTHORITY
)
WINNER = SupplierRecord(
    IdentifierScheme.SIRET,
    "73282932000074",
    "Jardins Durables SARL",
    "FR7630004000031234567890143",
    "BNPAFRPP",
)
RUNNER_UP = SupplierRecord(
    IdentifierScheme.SIRET,
    "44306184100005",
    "Espaces Verts Martin",
    "FR7630004000010001234567830",
    "BNPAFRPP",
)
PORTAL_PASSWORD = "chaine-demo-2026"  # noqa: S105  # the demo's people, printed for all to see
PORTAL_PEOPLE = (
    ("acheteur.demo", Role.BUYER, TOWN_HALL.siret, "Service des achats (démo)"),
    ("comptable.demo", Role.ACCOUNTANT, TOWN_HALL.siret, "Comptable public (démo)"),
    ("fournisseur.demo", Role.SUPPLIER, WINNER.identifier, "Jardins Durables (démo)"),
    ("operateur.demo", Role.OPS, None, "Opérateur (démo)"),
)
WAIT_SECONDS = 90.0
Say = Callable[[str], None]
Signer = Callable[[bytes, str], Awaitable[bytes]]  # (document, who signs) → signed PDF


class DemoFailed(Exception):
    """A step did not end as the story says: what was expected, and the API's answer."""


@dataclass
class Story:
    """What happened, for the closing table."""

    tag: str
    consultation: str = ""
    commitment: str = ""
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)  # label → invoice
    runs: list[dict[str, Any]] = field(default_factory=list)
    interest: Decimal | None = None
    callbacks: int = 0


@dataclass
class Parties:
    """An API client per role of the story."""

    buyer: httpx.AsyncClient
    accountant: httpx.AsyncClient
    winner: httpx.AsyncClient
    runner_up: httpx.AsyncClient


async def load_directory(sessions: async_sessionmaker[AsyncSession], presumed: str) -> None:
    """The town hall, the two suppliers with their accounts, the SFP commitment, and the
    demo's portal people (made once)."""
    async with transaction(sessions) as session:
        directory = DirectoryRepository(session)
        await directory.upsert_structure(TOWN_HALL)
        await directory.upsert_suppliers([WINNER, RUNNER_UP])
        await CommitmentRepository(session).upsert(
            [
                CommitmentRecord(
                    presumed,
                    TOWN_HALL.siret,
                    WINNER.identifier,
                    Decimal("20000.00"),
                    service_done_presumed=True,
                )
            ]
        )
        # Receivers of earlier runs are gone with their demo: stop calling them.
        hooks = WebhookRepository(session)
        for hook in await hooks.active():
            if hook.url.startswith("http://127.0.0.1:") and hook.url.endswith(RECEIVER_PATH):
                await hooks.disable(hook.id, "an earlier demo's receiver")
        people = PortalUserRepository(session)
        for username, role, siret, name in PORTAL_PEOPLE:
            if await people.by_username(username) is None:
                sirets = [siret] if siret else []
                await create_user(session, username, PORTAL_PASSWORD, role, sirets, name)


async def api_clients(
    sessions: async_sessionmaker[AsyncSession], api_url: str
) -> tuple[Parties, list[httpx.AsyncClient]]:
    """A client of each role, with its token from `POST /oauth/token`."""
    made = []
    async with transaction(sessions) as session:
        for role, siret in (
            (Role.BUYER, TOWN_HALL.siret),
            (Role.ACCOUNTANT, TOWN_HALL.siret),
            (Role.SUPPLIER, WINNER.identifier),
            (Role.SUPPLIER, RUNNER_UP.identifier),
        ):
            made.append(await register_client(session, role, [siret], f"démo {role}"))
    clients = []
    for client_id, secret in made:
        client = httpx.AsyncClient(base_url=api_url, timeout=60)
        token = await client.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
            },
        )
        ok(token, 200, "a token")
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        clients.append(client)
    return Parties(*clients), clients


def ok(response: httpx.Response, status: int, what: str) -> Any:
    """The JSON of an answer that must have `status`; otherwise the demo stops, saying why."""
    if response.status_code != status:
        raise DemoFailed(f"{what}: {response.status_code} {response.text[:500]}")
    return response.json() if response.content else None


def pdf(title: str, *paragraphs: str) -> bytes:
    """A small PDF document of the story."""
    return pdf_text.render(
        [pdf_text.paragraph(text, space_after=6) for text in paragraphs],
        title=title,
        footer="Chaîne - démonstration",
    )


async def until(what: str, check: Callable[[], Awaitable[bool]]) -> None:
    """Poll `check` until it holds (workflows answer within seconds)."""
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise DemoFailed(f"{what}: not within {WAIT_SECONDS:.0f} s")
        await asyncio.sleep(0.3)


async def consult(parties: Parties, story: Story, sign: Signer, say: Say) -> str:
    """A MAPA from publication to the notified contract; the commitment number."""
    reference = f"MAPA-{story.tag}"
    base = f"/v1/consultations/{TOWN_HALL.siret}/{reference}"
    now = datetime.now(UTC)
    deadline = now + timedelta(seconds=20)
    address = {"street": "1 place de la Mairie", "city": "Démoville", "postal_code": "75004"}
    terms = {
        "buyer_siret": TOWN_HALL.siret,
        "reference": reference,
        "title": "Entretien des parcs et jardins",
        "description": "Tonte, taille et désherbage des parcs de la commune pour un an.",
        "procedure": "adapted",
        "cpv_codes": ["77310000-6"],
        "lots": [{"number": 1, "title": "Parcs", "estimated_value": "40000.00"}],
        "criteria": [
            {"name": "Prix", "weight": 60, "kind": "price"},
            {"name": "Valeur technique", "weight": 40, "kind": "quality"},
        ],
        "questions_deadline": (now + timedelta(seconds=10)).isoformat(),
        "submission_deadline": deadline.isoformat(),
        "contact": {"name": "Service des achats", "email": "achats@demoville.example"},
        "buyer_name": TOWN_HALL.name,
        "espd_required": False,
        "buyer_address": {**address, "nuts": "FR101"},
        "review_body": {
            "name": "Tribunal administratif de Paris",
            "siret": "17750111100005",
            "address": {**address, "street": "7 rue de Jouy", "nuts": "FR101"},
        },
    }
    ok(await parties.buyer.post("/v1/consultations", json=terms), 201, "the consultation")
    rules = pdf("Règlement de consultation", f"Consultation {reference}.", terms["description"])
    published = await parties.buyer.post(
        f"{base}/publish", files=[("documents", ("reglement.pdf", rules, "application/pdf"))]
    )
    ok(published, 200, "its publication")
    say(f"consultation {reference} published (MAPA, bids until {deadline:%H:%M:%S} UTC)")

    for supplier, record, price in (
        (parties.winner, WINNER, "38000"),
        (parties.runner_up, RUNNER_UP, "41000"),
    ):
        offer = await sign(pdf(f"Offre de {record.name}", f"Prix global : {price} € HT."), "signer")
        answer = await supplier.post(
            f"{base}/bids", files=[("files", ("offre.pdf", offer, "application/pdf"))]
        )
        receipt = ok(answer, 201, f"the bid of {record.name}")["receipt"]
        say(f"bid of {record.name} received and sealed at {receipt['received_at']}")

    async def closed() -> bool:
        state = ok(await parties.buyer.get(f"{base}/state"), 200, "the consultation's state")
        return state["status"] == "closed"

    await until("the submission deadline", closed)
    opened = ok(await parties.buyer.post(f"{base}/opening"), 200, "the opening")
    if not all(verdict["admissible"] for verdict in opened["verdicts"]):
        raise DemoFailed(f"a signed bid was found inadmissible: {opened['verdicts']}")
    bids = {
        b["supplier_siret"]: b["bid_id"]
        for b in ok(await parties.buyer.get(f"{base}/bids"), 200, "the bids")
    }
    win, lose = bids[WINNER.identifier], bids[RUNNER_UP.identifier]
    scores = {
        win: {"Prix": "92", "Valeur technique": "85"},
        lose: {"Prix": "80", "Valeur technique": "80"},
    }
    ok(await parties.buyer.post(f"{base}/scores", json={"scores": scores}), 200, "the scores")
    award = {"bid_id": win, "amount": "38000.00", "reasons": "Meilleur rapport qualité-prix."}
    ok(await parties.buyer.post(f"{base}/award", json=award), 200, "the award")
    say(f"bids opened (both signatures valid), awarded to {WINNER.name}")

    # Signed by the winner, then sealed by the town hall: two valid signatures.
    engagement = pdf("Acte d'engagement", f"Marché {reference}.")
    contract = await sign(await sign(engagement, "signer"), "seal")
    signed = await parties.buyer.post(
        f"{base}/contract",
        files=[("contract", ("acte-engagement.pdf", contract, "application/pdf"))],
    )
    ok(signed, 200, "the signed contract")
    number = f"EJ-{story.tag}"
    notified = await parties.buyer.post(
        f"{base}/notification", json={"number": number, "ceiling": "38000.00"}
    )
    ok(notified, 200, "the notification")
    say(f"contract signed and notified: commitment {number} opened")
    story.consultation = reference
    return number


def an_invoice(number: str, commitment: str, amount: str, syntax: Syntax) -> bytes:
    """An invoice of the winner to the town hall on `commitment`, as its software writes it."""
    form = InvoiceForm(
        seller_siret=WINNER.identifier,
        buyer_siret=TOWN_HALL.siret,
        commitment_number=commitment,
        number=number,
        issue_date=date.today().isoformat(),
        iban=WINNER.iban or "",
        lines=(LineRow("Entretien des parcs - mensualité", "1", amount, "20"),),
    )
    invoice = to_invoice(check_form(form, [WINNER.identifier]), WINNER.name, TOWN_HALL.name)
    return write_invoice(invoice, syntax)


def factur_x(number: str, commitment: str, amount: str) -> bytes:
    """A Factur-X PDF: the readable invoice with its CII XML inside."""
    readable = pdf(f"Facture {number}", f"Entretien des parcs : {amount} € HT, TVA 20 %.")
    return generate_from_binary(
        readable,
        an_invoice(number, commitment, amount, Syntax.CII),
        flavor="factur-x",
        level="en16931",
    )


async def deposit(supplier: httpx.AsyncClient, body: bytes, media_type: str, what: str) -> dict:
    answer = await supplier.post("/v1/invoices", content=body, headers={"Content-Type": media_type})
    return ok(answer, 201, f"the deposit of {what}")


async def act(who: httpx.AsyncClient, invoice: dict, action: str, **fields: Any) -> dict:
    answer = await who.post(
        f"/v1/invoices/{invoice['id']}/actions", json={"action": action, **fields}
    )
    return ok(answer, 200, f"{action} on {invoice['number']}")


async def reaches(who: httpx.AsyncClient, invoice: dict, status: str) -> dict:
    """The invoice once it reached `status`."""
    latest: dict = {}

    async def there() -> bool:
        nonlocal latest
        latest = ok(await who.get(f"/v1/invoices/{invoice['id']}"), 200, invoice["number"])
        return latest["status"] == status

    await until(f"{invoice['number']} to reach {status}", there)
    return latest


async def invoice(parties: Parties, story: Story, commitment: str, presumed: str, say: Say) -> None:
    """The winner invoices in three formats and on the SFP commitment; each invoice is
    processed up to booking by the accountant."""
    tag, winner, buyer, accountant = story.tag, parties.winner, parties.buyer, parties.accountant
    ubl = await deposit(
        winner,
        an_invoice(f"F-{tag}-1", commitment, "3000.00", Syntax.UBL),
        "application/xml",
        "UBL",
    )
    cii = await deposit(
        winner,
        an_invoice(f"F-{tag}-2", commitment, "3000.00", Syntax.CII),
        "application/xml",
        "CII",
    )
    fx = await deposit(
        winner, factur_x(f"F-{tag}-3", commitment, "3000.00"), "application/pdf", "Factur-X"
    )
    sfp = await deposit(
        winner, an_invoice(f"F-{tag}-4", presumed, "800.00", Syntax.UBL), "application/xml", "SFP"
    )
    story.invoices = {"UBL": ubl, "CII": cii, "Factur-X": fx, "SFP (presumed)": sfp}
    say("4 invoices deposited and accepted: UBL, CII, Factur-X, and one on the SFP commitment")

    for item in (ubl, cii, fx):
        await reaches(buyer, item, "MISE_A_DISPOSITION")
        await act(buyer, item, "TAKE")
    await act(buyer, cii, "SUSPEND", reason="MISSING_DOCUMENT", comment="bon de livraison")
    completed = await winner.post(
        f"/v1/invoices/{cii['id']}/complete",
        data={"comment": "Bon de livraison joint."},
        files=[("attachments", ("bon-livraison.pdf", pdf("Bon de livraison"), "application/pdf"))],
    )
    ok(completed, 200, "the completion")
    say(f"{cii['number']} suspended (missing document), then completed by the supplier")
    for item in (ubl, cii, fx):
        await act(buyer, item, "CERTIFY_SERVICE_DONE", comment="prestation conforme")

    drawn = await reaches(accountant, sfp, "SERVICE_FAIT")
    if not (drawn.get("control") or {}).get("selected"):
        raise DemoFailed(f"{sfp['number']} was not drawn for control: {drawn.get('control')}")
    await act(accountant, sfp, "CONTROL_APPROVE", comment="contrôle a posteriori conforme")
    say(f"{sfp['number']} presumed service done, drawn for control, found regular")

    for item in (ubl, cii, fx, sfp):
        await reaches(accountant, item, "MANDATEE")
        await act(accountant, item, "MAKE_AVAILABLE_TO_ACCOUNTANT")
        await act(accountant, item, "ACCOUNT")
    say("4 mandates issued (one each) and booked by the accountant")


async def payment_run(accountant: httpx.AsyncClient) -> dict:
    started = await accountant.post("/v1/payment-runs", json={})
    ok(started, 202, "the payment run")
    run: dict = {}

    async def built() -> bool:
        nonlocal run
        answer = await accountant.get(started.headers["location"])
        if answer.status_code == 404:  # the run's workflow has not recorded it yet
            return False
        run = ok(answer, 200, "the run")
        return run["status"] != "PLANNED"

    await until("the payment files", built)
    return run


async def transfers_of(accountant: httpx.AsyncClient, run: dict) -> list[tuple[str, Decimal, str]]:
    """Each transfer of the run's pain.001 files, as the bank reads them: end-to-end id,
    amount, remittance text."""
    found = []
    for file in run["files"]:
        answer = await accountant.get(file["href"])
        if answer.status_code != 200:
            raise DemoFailed(f"the payment file {file['href']}: {answer.status_code}")
        document = etree.fromstring(answer.content)
        for transfer in document.iter("{*}CdtTrfTxInf"):
            found.append(
                (
                    transfer.findtext("{*}PmtId/{*}EndToEndId") or "",
                    Decimal(transfer.findtext("{*}Amt/{*}InstdAmt") or "0"),
                    transfer.findtext("{*}RmtInf/{*}Ustrd") or "",
                )
            )
    return found


async def pay(parties: Parties, story: Story, debtor_iban: str, say: Say) -> None:
    """A payment run, the bank's notification (one transfer booked late), and the run that
    pays the late interest."""
    accountant = parties.accountant
    run = await payment_run(accountant)
    story.runs.append(run)
    transfers = await transfers_of(accountant, run)
    say(f"payment run: {len(transfers)} transfers in {len(run['files'])} pain.001 file(s)")
    late = story.invoices["Factur-X"]
    bookings = []
    for item in story.invoices.values():
        mine = [t for t in transfers if item["number"] in t[2]]
        if len(mine) != 1:
            raise DemoFailed(f"{item['number']} is in {len(mine)} transfers of the run")
        end_to_end_id, amount, _ = mine[0]
        booked = date.today()
        if item is late:
            deadline = ok(
                await accountant.get(f"/v1/invoices/{item['id']}/deadline"), 200, "its deadline"
            )
            booked = datetime.fromisoformat(deadline["due_at"]).date() + timedelta(days=12)
        bookings.append(Booking(end_to_end_id, amount, booked))
    statement = debit_notification(f"CAMT-{story.tag}", debtor_iban, bookings)
    sent = await accountant.post(
        "/v1/bank-statements", content=statement, headers={"Content-Type": "application/xml"}
    )
    if sent.status_code not in (200, 201, 202):
        raise DemoFailed(f"the bank statement: {sent.status_code} {sent.text[:500]}")
    for label, item in list(story.invoices.items()):
        story.invoices[label] = await reaches(accountant, item, "PAYEE")
    say(f"bank statement received: every invoice PAYEE, {late['number']} booked 12 days late")

    owed = ok(await accountant.get(f"/v1/invoices/{late['id']}/deadline"), 200, "its deadline")
    story.interest = Decimal(owed["late_interest"]) + Decimal(owed["late_compensation"])
    interest_run = await payment_run(accountant)
    story.runs.append(interest_run)
    kinds = {(t["kind"], t["count"]) for t in interest_run["totals"]}
    if ("INTEREST", 1) not in kinds:
        raise DemoFailed(f"the late interest was not paid: {interest_run}")
    say(f"late interest and the €40 compensation paid automatically: {story.interest} €")


async def subscribe(winner: httpx.AsyncClient, receiver: Receiver) -> str:
    """The winner's webhook on the demo's receiver; its signing secret."""
    created = await winner.post("/v1/webhooks", json={"url": receiver.url})
    return ok(created, 201, "the webhook")["secret"]


async def callbacks_arrived(story: Story, receiver: Receiver, secret: str, say: Say) -> None:
    """Every invoice's PAYEE reached the receiver (the relay sends them within seconds),
    each message signed with the webhook's secret (Standard Webhooks)."""
    wanted = {item["id"] for item in story.invoices.values()}

    async def all_paid() -> bool:
        paid = {
            event["data"].get("invoice_id")
            for _, body in receiver.received
            for event in [json.loads(body)]
            if event.get("data", {}).get("status") == "PAYEE"
        }
        return wanted <= paid

    await until("the PAYEE callbacks", all_paid)
    verifier = StandardWebhook(secret)
    for headers, body in receiver.received:
        try:
            verifier.verify(body, headers)
        except WebhookVerificationError as refused:
            raise DemoFailed(f"a callback's signature does not verify: {refused}") from None
    story.callbacks = len(receiver.received)
    say(f"{story.callbacks} signed callbacks received by the supplier's endpoint")
