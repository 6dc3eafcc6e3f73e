"""An invoice's life through the API, on a real dev server with time skipping."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import func, select
from temporalio.testing import WorkflowEnvironment

from core.principals import Role
from directory.records import StructureCategory, StructureRecord
from invoicing.deadlines import PARIS
from invoicing.formats import write_invoice
from invoicing.interest import late_interest
from invoicing.syntax import Syntax
from store.database import transaction
from store.directory import DirectoryRepository
from store.models import Commitment, Invoice, InvoiceEvent, Mandate
from tests.api.test_conventions import assert_problem
from tests.conftest import ApiServer
from tests.invoicing.builders import BUYER_SIRET, SELLER_SIRET, an_invoice
from tests.store.test_invoice_idempotency import consumed

pytestmark = [pytest.mark.usefixtures("workers"), pytest.mark.record_histories]
COMMITMENT = "EJ-2026-0001"


class Parties:
    """The supplier, the buyer and the accountant of one invoice, and its URL."""

    def __init__(self, api: ApiServer, env: WorkflowEnvironment) -> None:
        self.api = api
        self.env = env
        self.location = ""

    async def start(
        self,
        number: str = "F-2026-500",
        works: bool = False,
        presumed: bool = False,
        commitment: str | None = None,
    ) -> Parties:
        async with transaction(self.api.sessions) as session:
            await DirectoryRepository(session).upsert_structure(
                StructureRecord(BUYER_SIRET, "Ministère des tests", StructureCategory.STATE)
            )
            if works or presumed:
                session.add(
                    Commitment(
                        number=COMMITMENT,
                        buyer_siret=BUYER_SIRET,
                        supplier_siret=SELLER_SIRET,
                        ceiling=Decimal(100000),
                        works=works,
                        service_done_presumed=presumed,
                    )
                )
        self.supplier = await self.api.as_role(Role.SUPPLIER, SELLER_SIRET)
        self.buyer = await self.api.as_role(Role.BUYER, BUYER_SIRET)
        self.moe = await self.api.as_role(Role.MOE, BUYER_SIRET)
        self.accountant = await self.api.as_role(Role.ACCOUNTANT, BUYER_SIRET)
        deposited = await self.supplier.post(
            "/v1/invoices",
            content=write_invoice(
                an_invoice(
                    number,
                    commitment_number=COMMITMENT if works or presumed else commitment,
                ),
                Syntax.UBL,
            ),
            headers={"Content-Type": "application/xml"},
        )
        assert deposited.status_code == 201, deposited.text
        self.location = deposited.headers["location"]
        self.number = number
        return self

    async def act(self, who: httpx.AsyncClient, action: str, **fields: object) -> httpx.Response:
        return await who.post(f"{self.location}/actions", json={"action": action, **fields})

    async def ok(self, who: httpx.AsyncClient, action: str, **fields: object) -> dict:
        response = await self.act(who, action, **fields)
        assert response.status_code == 200, response.text
        return response.json()

    async def skip(self, duration: timedelta) -> None:
        handle = self.env.client.get_workflow_handle(f"invoice:{SELLER_SIRET}:{self.number}")
        await self.env.fast_forward(handle, duration)

    async def invoice(self) -> dict:
        return (await self.supplier.get(self.location)).json()

    async def deadline(self) -> dict:
        return (await self.supplier.get(f"{self.location}/deadline")).json()

    async def wait_for_status(self, status: str) -> dict:
        for _ in range(200):
            invoice = await self.invoice()
            if invoice["status"] == status:
                return invoice
            await asyncio.sleep(0.05)
        raise AssertionError(f"status {invoice['status']}, never {status}")


@pytest.fixture
async def parties(api: ApiServer, temporal_env: WorkflowEnvironment) -> Parties:
    return await Parties(api, temporal_env).start()


async def test_from_deposit_to_payment_with_one_mandate(api: ApiServer, parties: Parties) -> None:
    assert (await parties.ok(parties.buyer, "TAKE"))["status"] == "PRISE_EN_COMPTE"
    certified = await parties.ok(parties.buyer, "CERTIFY_SERVICE_DONE", comment="livré")
    assert certified["status"] == "SERVICE_FAIT"
    await parties.wait_for_status("MANDATEE")
    for action, status in [
        ("MAKE_AVAILABLE_TO_ACCOUNTANT", "MISE_A_DISPOSITION_COMPTABLE"),
        ("ACCOUNT", "COMPTABILISEE"),
        ("PAYMENT_ISSUED", "MISE_EN_PAIEMENT"),
    ]:
        assert (await parties.ok(parties.accountant, action))["status"] == status
    today = datetime.now(PARIS).date().isoformat()
    paid = await parties.ok(parties.accountant, "MARK_PAID", paid_on=today)
    assert paid["status"] == "PAYEE"

    invoice = await parties.invoice()
    assert [h["status"] for h in invoice["history"]] == [
        "DEPOSEE",
        "MISE_A_DISPOSITION",
        "PRISE_EN_COMPTE",
        "SERVICE_FAIT",
        "MANDATEE",
        "MISE_A_DISPOSITION_COMPTABLE",
        "COMPTABILISEE",
        "MISE_EN_PAIEMENT",
        "PAYEE",
    ]
    deadline = await parties.deadline()
    assert (deadline["overdue"], deadline["late_interest"]) == (False, None)
    async with api.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Mandate)) == 1
        codes = list(
            await session.scalars(
                select(InvoiceEvent.lifecycle_code).order_by(InvoiceEvent.sequence)
            )
        )
    assert codes[0] == "200" and codes[-1] == "212"


async def test_an_invoice_paid_ten_days_late_accrues_interest_and_the_40_euro_fee(
    parties: Parties,
) -> None:
    due = (await parties.deadline())["due_at"]
    await parties.ok(parties.buyer, "TAKE")
    await parties.ok(parties.buyer, "CERTIFY_SERVICE_DONE")
    await parties.wait_for_status("MANDATEE")
    await parties.skip(timedelta(days=31))
    events = (await parties.supplier.get("/v1/events?types=invoice.overdue")).json()["items"]
    assert [e["type"] for e in events] == ["invoice.overdue"]
    for action in ("MAKE_AVAILABLE_TO_ACCOUNTANT", "ACCOUNT", "PAYMENT_ISSUED"):
        await parties.ok(parties.accountant, action)
    due_on = datetime.fromisoformat(due).astimezone(PARIS).date()
    paid_on = due_on + timedelta(days=10)
    await parties.ok(parties.accountant, "MARK_PAID", paid_on=paid_on.isoformat())
    deadline = await parties.deadline()
    expected = late_interest(Decimal("1440.00"), due_on, paid_on)
    assert deadline["overdue"] is True
    assert Decimal(deadline["late_interest"]) == expected.interest
    assert Decimal(deadline["late_compensation"]) == Decimal("40.00")


async def test_an_overdue_unpaid_invoice_shows_the_interest_owed_to_date(
    api: ApiServer, parties: Parties
) -> None:
    assert (await parties.deadline())["interest_to_date"] is None  # not yet due
    due = datetime.now(PARIS) - timedelta(days=12)
    async with transaction(api.sessions) as session:  # as if deposited 42 days ago
        invoice = await session.scalar(select(Invoice).where(Invoice.number == parties.number))
        invoice.due_at = due
    deadline = await parties.deadline()
    owed = late_interest(Decimal("1440.00"), due.date(), datetime.now(PARIS).date())
    assert deadline["overdue"] is True and deadline["late_interest"] is None
    assert Decimal(deadline["interest_to_date"]) == owed.interest > 0
    assert Decimal(deadline["compensation_to_date"]) == Decimal("40.00")


async def test_ten_days_of_suspension_move_the_due_date_by_ten_days(parties: Parties) -> None:
    first_due = datetime.fromisoformat((await parties.deadline())["due_at"])
    await parties.ok(parties.buyer, "TAKE")
    suspended = await parties.ok(
        parties.buyer, "SUSPEND", reason="MISSING_DOCUMENT", comment="bon de commande manquant"
    )
    assert suspended["due_at"] is None
    assert (await parties.deadline())["suspended_since"] is not None
    await parties.skip(timedelta(days=10))
    order = b"%PDF-1.4 bon de commande"
    response = await parties.supplier.post(
        f"{parties.location}/complete",
        data={"comment": "bon de commande joint"},
        files={"attachments": ("commande.pdf", order, "application/pdf")},
    )
    assert response.status_code == 200, response.text
    completed = response.json()
    assert completed["status"] == "COMPLETEE"
    invoice = await parties.invoice()
    assert [a["filename"] for a in invoice["attachments"]] == ["commande.pdf"]
    assert invoice["history"][-1]["comment"] == "bon de commande joint"
    moved = datetime.fromisoformat(completed["due_at"]) - first_due
    assert timedelta(days=10) <= moved < timedelta(days=10, minutes=5)
    second = await parties.act(parties.buyer, "SUSPEND", reason="MISSING_DOCUMENT")
    assert_problem(second, 409, "INVOICE_TRANSITION_REFUSED")


async def test_a_disallowed_action_is_409_naming_the_current_status(parties: Parties) -> None:
    refused = await parties.act(parties.accountant, "ACCOUNT")
    body = assert_problem(refused, 409, "INVOICE_TRANSITION_REFUSED")
    assert "MISE_A_DISPOSITION" in body["detail"]
    assert body["status"] == 409
    assert body["invoice_status"] == "MISE_A_DISPOSITION"


async def test_the_wrong_role_is_403_and_a_missing_reason_422(parties: Parties) -> None:
    assert_problem(await parties.act(parties.supplier, "TAKE"), 403, "FORBIDDEN_ROLE")
    assert_problem(await parties.act(parties.buyer, "REJECT"), 422, "INVOICE_REASON_REQUIRED")
    assert_problem(
        await parties.act(parties.buyer, "REJECT", reason="BECAUSE"), 422, "INVOICE_REASON_UNKNOWN"
    )


async def test_another_structure_cannot_act(api: ApiServer, parties: Parties) -> None:
    stranger = await api.as_role(Role.BUYER, "21750001600019")
    assert_problem(await parties.act(stranger, "TAKE"), 404, "INVOICE_NOT_FOUND")


async def test_concurrent_actions_serialise(parties: Parties) -> None:
    responses = await asyncio.gather(*(parties.act(parties.buyer, "TAKE") for _ in range(3)))
    assert sorted(r.status_code for r in responses) == [200, 409, 409]
    invoice = await parties.invoice()
    assert [h["status"] for h in invoice["history"]].count("PRISE_EN_COMPTE") == 1


async def test_a_rejection_is_final_and_announced(parties: Parties) -> None:
    rejected = await parties.ok(parties.buyer, "REJECT", reason="WRONG_AMOUNT")
    assert rejected["status"] == "REJETEE"
    events = (await parties.supplier.get("/v1/events")).json()["items"]
    assert [(e["status"], e["sequence"]) for e in events] == [
        ("DEPOSEE", 1),
        ("MISE_A_DISPOSITION", 2),
        ("REJETEE", 3),
    ]
    assert events[-1]["lifecycle_code"] == "210"
    assert events[-1]["payload"]["reason"] == "WRONG_AMOUNT"
    # The supplier's inbox says who refused it and why, to be marked handled.
    inbox = (await parties.supplier.get("/v1/notifications")).json()["items"]
    [notice] = [n for n in inbox if n["kind"] == "invoice.refused"]
    assert notice["payload"]["reason"] == "WRONG_AMOUNT"
    assert notice["payload"]["refused_by"] == "test buyer"
    assert notice["read_at"] is None


async def test_a_works_statement_goes_to_the_project_manager_first(
    api: ApiServer, temporal_env: WorkflowEnvironment
) -> None:
    parties = await Parties(api, temporal_env).start("SIT-2026-01", works=True)
    assert (await parties.invoice())["status"] == "MISE_A_DISPOSITION_PREMIER_VALIDEUR"
    assert_problem(await parties.act(parties.buyer, "TAKE"), 409, "INVOICE_TRANSITION_REFUSED")
    amended = await parties.ok(parties.moe, "MOE_AMEND", amount="1000.00", comment="métré")
    assert amended["status"] == "VALIDEE_PREMIER_VALIDEUR"
    invoice = await parties.wait_for_status("MISE_A_DISPOSITION")
    assert [h["status"] for h in invoice["history"]][-2:] == [
        "VALIDEE_PREMIER_VALIDEUR",
        "MISE_A_DISPOSITION",
    ]
    await parties.ok(parties.buyer, "TAKE")


async def test_a_silent_project_manager_accepts_tacitly_after_fifteen_days(
    api: ApiServer, temporal_env: WorkflowEnvironment
) -> None:
    parties = await Parties(api, temporal_env).start("SIT-2026-02", works=True)
    await parties.skip(timedelta(days=16))
    invoice = await parties.wait_for_status("MISE_A_DISPOSITION")
    tacit = [h for h in invoice["history"] if h["status"] == "VALIDEE_PREMIER_VALIDEUR"]
    assert tacit[0]["actor"] == "system"
    assert tacit[0]["comment"].startswith("tacit acceptance")


class TestPresumedServiceDone:
    @pytest.fixture
    def api_overrides(self, request: pytest.FixtureRequest) -> dict[str, object]:
        drawn = "not_drawn" not in request.node.name
        return {"control_share": Decimal(1) if drawn else Decimal(0)}

    async def test_an_invoice_not_drawn_goes_straight_to_its_mandate(
        self, api: ApiServer, temporal_env: WorkflowEnvironment
    ) -> None:
        parties = await Parties(api, temporal_env).start("SFP-2026-01", presumed=True)
        invoice = await parties.wait_for_status("MANDATEE")
        presumed = [h for h in invoice["history"] if h["status"] == "SERVICE_FAIT"]
        assert presumed[0]["actor"] == "system"
        async with api.sessions() as session:
            control = (await session.get(Invoice, invoice["id"])).control
        assert control["selected"] is False
        assert [r["rule"] for r in control["reasons"]] == ["NEW_SUPPLIER"]  # 30 < 50

    async def test_an_invoice_drawn_for_control_waits_for_the_accountant(
        self, api: ApiServer, temporal_env: WorkflowEnvironment
    ) -> None:
        parties = await Parties(api, temporal_env).start("SFP-2026-02", presumed=True)
        invoice = await parties.wait_for_status("SERVICE_FAIT")
        await asyncio.sleep(0.5)
        assert (await parties.invoice())["status"] == "SERVICE_FAIT", "no mandate before control"
        async with api.sessions() as session:
            control = (await session.get(Invoice, invoice["id"])).control
        assert (control["selected"], control["by_draw"]) == (True, True)
        # The accountant reads the decision; the supplier is never told it is controlled.
        seen = (await parties.accountant.get(parties.location)).json()["control"]
        assert seen == control
        assert (await parties.invoice())["control"] is None
        assert_problem(await parties.act(parties.buyer, "CONTROL_APPROVE"), 403, "FORBIDDEN_ROLE")
        await parties.ok(parties.accountant, "CONTROL_APPROVE", comment="pièces conformes")
        await parties.wait_for_status("MANDATEE")
        again = await parties.act(parties.accountant, "CONTROL_APPROVE")
        assert_problem(again, 409, "INVOICE_TRANSITION_REFUSED")

    async def test_a_drawn_invoice_refused_by_control_goes_back_to_the_buyer(
        self, api: ApiServer, temporal_env: WorkflowEnvironment
    ) -> None:
        parties = await Parties(api, temporal_env).start("SFP-2026-03", presumed=True)
        await parties.wait_for_status("SERVICE_FAIT")
        refused = await parties.ok(
            parties.accountant, "CONTROL_REJECT", reason="SERVICE_DONE_NOT_JUSTIFIED"
        )
        assert refused["status"] == "PRISE_EN_COMPTE"
        await parties.ok(parties.buyer, "CERTIFY_SERVICE_DONE")
        await parties.wait_for_status("MANDATEE")


async def test_a_recycled_invoice_is_rerouted_to_an_active_structure(
    api: ApiServer, parties: Parties
) -> None:
    city, closed = "21750001600019", "21690123100011"
    async with transaction(api.sessions) as session:
        directory = DirectoryRepository(session)
        await directory.upsert_structure(
            StructureRecord(city, "Ville de test", StructureCategory.LOCAL_AUTHORITY)
        )
        await directory.upsert_structure(
            StructureRecord(closed, "Syndicat dissous", StructureCategory.OTHER, active=False)
        )
    recycled = await parties.ok(parties.buyer, "RECYCLE", reason="WRONG_STRUCTURE")
    assert recycled["status"] == "A_RECYCLER"
    refused = await parties.act(parties.supplier, "REROUTE", buyer_siret=closed)
    body = assert_problem(refused, 422, "INVOICE_REROUTE_REFUSED")
    assert [f["rule"] for f in body["findings"]] == ["PF-BUYER-INACTIVE"]
    rerouted = await parties.ok(parties.supplier, "REROUTE", buyer_siret=city)
    assert rerouted["status"] == "MISE_A_DISPOSITION"
    assert (await parties.invoice())["buyer_siret"] == city
    assert_problem(await parties.act(parties.buyer, "TAKE"), 404, "INVOICE_NOT_FOUND")
    city_buyer = await api.as_role(Role.BUYER, city)
    assert (await parties.ok(city_buyer, "TAKE"))["status"] == "PRISE_EN_COMPTE"


@pytest.mark.parametrize(
    ("who", "action", "reason", "status"),
    [("buyer", "REJECT", "WRONG_AMOUNT", "REJETEE"), ("supplier", "CANCEL", None, "ANNULEE")],
)
async def test_an_invoice_counts_against_its_commitment_until_it_ends_unpaid(
    api: ApiServer,
    temporal_env: WorkflowEnvironment,
    who: str,
    action: str,
    reason: str | None,
    status: str,
) -> None:
    async with transaction(api.sessions) as session:
        session.add(
            Commitment(
                number="EJ-2026-0042",
                buyer_siret=BUYER_SIRET,
                supplier_siret=SELLER_SIRET,
                ceiling=Decimal("50000.00"),
                consumed=Decimal("300.00"),
            )
        )
    parties = await Parties(api, temporal_env).start("F-2026-EJ-1", commitment="EJ-2026-0042")
    # 300.00 already consumed, and the invoice's 1,200.00 without VAT
    assert await consumed(api.sessions, "EJ-2026-0042") == Decimal("1500.00")

    ended = await parties.ok(getattr(parties, who), action, reason=reason)
    assert ended["status"] == status
    assert await consumed(api.sessions, "EJ-2026-0042") == Decimal("300.00")
    async with api.sessions() as session:
        invoice = await session.get(Invoice, parties.location.rsplit("/", 1)[1])
        assert invoice is not None and invoice.commitment_counted is None
