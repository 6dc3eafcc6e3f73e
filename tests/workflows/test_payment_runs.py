"""Payment runs and bank returns through the API, on the real dev server and workers."""

from __future__ import annotations

import asyncio
from datetime import date, time, timedelta
from decimal import Decimal

import httpx
import pytest
from lxml import etree
from sqlalchemy import func, select
from temporalio.testing import WorkflowEnvironment

from core.principals import Role
from directory.records import IdentifierScheme, SupplierRecord
from invoicing.payments.pain001 import validate_pain001
from store.database import transaction
from store.directory import DirectoryRepository
from store.models import Payment, PaymentFile
from tests.api.test_conventions import assert_problem
from tests.conftest import ApiServer
from tests.invoicing.builders import BUYER_SIRET, SELLER_SIRET
from tests.workflows.test_invoice_lifecycle import Parties
from workflows.payment_run import PaymentRunWorkflow
from workflows.payment_schedule import SCHEDULE_ID, ensure_payment_schedule

pytestmark = [pytest.mark.usefixtures("workers"), pytest.mark.record_histories]
NEW_IBAN = "FR7630004000031234567890143"
PAIN09 = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"


async def accounted(
    api: ApiServer, env: WorkflowEnvironment, number: str, commitment: str | None = None
) -> Parties:
    """An invoice taken through service done, mandate and accounting: ready to pay."""
    parties = await Parties(api, env).start(number, commitment=commitment)
    await parties.ok(parties.buyer, "TAKE")
    await parties.ok(parties.buyer, "CERTIFY_SERVICE_DONE")
    await parties.wait_for_status("MANDATEE")
    await parties.ok(parties.accountant, "MAKE_AVAILABLE_TO_ACCOUNTANT")
    await parties.ok(parties.accountant, "ACCOUNT")
    return parties


async def run_payments(accountant: httpx.AsyncClient) -> dict:
    started = await accountant.post("/v1/payment-runs", json={})
    assert started.status_code == 202, started.text
    for _ in range(300):
        run = await accountant.get(started.headers["location"])
        if run.status_code == 200 and run.json()["status"] != "PLANNED":
            return run.json()
        await asyncio.sleep(0.1)
    raise AssertionError(f"the run never built its files: {run.text}")


async def wait_for(parties: Parties, status: str) -> dict:
    for _ in range(300):
        invoice = await parties.invoice()
        if invoice["status"] == status:
            return invoice
        await asyncio.sleep(0.1)
    raise AssertionError(f"{parties.number} is {invoice['status']}, never {status}")


def camt054(entries: list[tuple[str, Decimal, date]]) -> bytes:
    """A bank's debit notification (camt.054.001.08) booking these transfers."""
    ntfctn = "".join(
        f"""<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
        <BookgDt><Dt>{booked}</Dt></BookgDt><ValDt><Dt>{booked}</Dt></ValDt>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls><TxDtls><Refs><EndToEndId>{e2e}</EndToEndId></Refs>
        <Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>DBIT</CdtDbtInd></TxDtls></NtryDtls></Ntry>"""
        for e2e, amount, booked in entries
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"><BkToCstmrDbtCdtNtfctn>
<GrpHdr><MsgId>CAMT-{len(entries)}-{entries[0][0][:10]}</MsgId><CreDtTm>2026-11-23T08:00:00</CreDtTm></GrpHdr>
<Ntfctn><Id>N1</Id><CreDtTm>2026-11-23T08:00:00</CreDtTm>
<Acct><Id><IBAN>FR7630001007941234567890185</IBAN></Id></Acct>{ntfctn}</Ntfctn>
</BkToCstmrDbtCdtNtfctn></Document>""".encode()


def pain002_rejected(message_id: str, e2e: str, reason: str) -> bytes:
    """The bank's status report (pain.002.001.10) rejecting one transfer."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10"><CstmrPmtStsRpt>
<GrpHdr><MsgId>STS-{e2e[:20]}</MsgId><CreDtTm>2026-11-23T09:00:00</CreDtTm></GrpHdr>
<OrgnlGrpInfAndSts><OrgnlMsgId>{message_id}</OrgnlMsgId>
<OrgnlMsgNmId>pain.001.001.09</OrgnlMsgNmId></OrgnlGrpInfAndSts>
<OrgnlPmtInfAndSts><OrgnlPmtInfId>P1</OrgnlPmtInfId><TxInfAndSts>
<OrgnlEndToEndId>{e2e}</OrgnlEndToEndId><TxSts>RJCT</TxSts>
<StsRsnInf><Rsn><Cd>{reason}</Cd></Rsn><AddtlInf>Compte clos</AddtlInf></StsRsnInf>
</TxInfAndSts></OrgnlPmtInfAndSts></CstmrPmtStsRpt></Document>""".encode()


async def test_a_run_pays_accounted_invoices_once_and_the_bank_closes_the_loop(
    api: ApiServer, temporal_env: WorkflowEnvironment
) -> None:
    first = await accounted(api, temporal_env, "F-2026-PAY-1")
    second = await accounted(api, temporal_env, "F-2026-PAY-2")
    accountant = first.accountant

    run = await run_payments(accountant)
    (file,) = run["files"]
    assert file["transactions"] == 2
    assert {(t["kind"], t["count"]) for t in run["totals"]} == {("INVOICE", 2)}
    xml = (await accountant.get(file["href"])).content
    validate_pain001(xml, "001.001.09")
    ids = etree.fromstring(xml).findall(f".//{{{PAIN09}}}EndToEndId")
    assert len(ids) == 2
    for parties in (first, second):
        await wait_for(parties, "MISE_EN_PAIEMENT")

    again = await run_payments(accountant)  # nothing left to pay: no file, no payment
    assert (again["files"], again["totals"]) == ([], [])

    async with api.sessions() as session:
        payments = {p.invoice_id: p for p in await session.scalars(select(Payment))}
    e2e = {
        n: payments[(await p.invoice())["id"]].end_to_end_id for n, p in enumerate((first, second))
    }
    today = date.today()

    booked = await accountant.post(
        "/v1/bank-statements",
        content=camt054([(e2e[0], Decimal("1440.00"), today), ("NOTPROVIDED", Decimal(5), today)]),
        headers={"Content-Type": "application/xml"},
    )
    assert booked.status_code == 201, booked.text
    assert booked.json()["unmatched"] == 1
    paid = await wait_for(first, "PAYEE")
    assert paid["history"][-1]["actor"] == "bank"

    rejected = await accountant.post(
        "/v1/bank-statements",
        content=pain002_rejected("M1", e2e[1], "AC04"),
        headers={"Content-Type": "application/xml"},
    )
    assert rejected.status_code == 201, rejected.text
    back = await wait_for(second, "COMPTABILISEE")
    assert back["history"][-1]["reason"] == "AC04"

    duplicate = await accountant.post(
        "/v1/bank-statements",
        content=pain002_rejected("M1", e2e[1], "AC04"),
        headers={"Content-Type": "application/xml"},
    )
    assert (duplicate.status_code, duplicate.json()["duplicate"]) == (200, True)

    # The supplier fixes its bank details; the next run pays the invoice again, once.
    async with transaction(api.sessions) as session:
        await DirectoryRepository(session).upsert_supplier(
            SupplierRecord(IdentifierScheme.SIRET, SELLER_SIRET, "Fournisseur", NEW_IBAN)
        )
    retry = await run_payments(accountant)
    assert retry["files"][0]["transactions"] == 1
    await wait_for(second, "MISE_EN_PAIEMENT")
    async with api.sessions() as session:
        live = await session.scalars(
            select(Payment).where(Payment.invoice_id == back["id"]).order_by(Payment.end_to_end_id)
        )
        statuses = [(p.status, p.creditor_iban) for p in live]
    assert [status for status, _ in statuses] == ["REJECTED", "PLANNED"]
    assert statuses[0][1] != NEW_IBAN and statuses[1][1] == NEW_IBAN  # paid again elsewhere


async def test_a_late_payment_adds_its_interest_to_the_next_run(
    api: ApiServer, temporal_env: WorkflowEnvironment
) -> None:
    parties = await accounted(api, temporal_env, "F-2026-LATE")
    run = await run_payments(parties.accountant)
    async with api.sessions() as session:
        payment = await session.scalar(select(Payment))
    due = date.fromisoformat((await parties.deadline())["due_at"][:10])
    paid_on = due + timedelta(days=10)
    await parties.accountant.post(
        "/v1/bank-statements",
        content=camt054([(payment.end_to_end_id, payment.amount, paid_on)]),
        headers={"Content-Type": "application/xml"},
    )
    invoice = await wait_for(parties, "PAYEE")
    deadline = await parties.deadline()
    assert deadline["overdue"] is True
    interest = Decimal(deadline["late_interest"])
    compensation = Decimal(deadline["late_compensation"])
    assert compensation == Decimal("40.00") and interest > 0

    interest_run = await run_payments(parties.accountant)
    assert {(t["kind"], t["count"]) for t in interest_run["totals"]} == {("INTEREST", 1)}
    async with api.sessions() as session:
        transfer = await session.scalar(
            select(Payment).where(Payment.invoice_id == invoice["id"], Payment.kind == "INTEREST")
        )
        files = await session.scalar(select(func.count()).select_from(PaymentFile))
    assert transfer.amount == interest + compensation
    assert "F-2026-LATE" in transfer.remittance
    inbox = (await parties.supplier.get("/v1/notifications")).json()["items"]
    [announced] = [n for n in inbox if n["kind"] == "invoice.late_interest"]
    assert announced["payload"]["amount"] == str(interest + compensation)
    assert files == 2
    assert run["id"] != interest_run["id"]


async def test_only_accountants_run_payments_and_bad_bank_files_are_refused(
    api: ApiServer,
) -> None:
    supplier = await api.as_role(Role.SUPPLIER, SELLER_SIRET)
    assert_problem(await supplier.post("/v1/payment-runs", json={}), 403, "FORBIDDEN_ROLE")
    accountant = await api.as_role(Role.ACCOUNTANT, BUYER_SIRET)
    refused = await accountant.post(
        "/v1/bank-statements",
        content=b"<Document xmlns='urn:example'/>",
        headers={"Content-Type": "application/xml"},
    )
    assert refused.status_code == 422, refused.text
    assert_problem(await accountant.get("/v1/payment-runs/run-nope"), 404, "NOT_FOUND")


async def test_the_daily_run_is_a_schedule_that_keeps_an_operators_pause(
    api: ApiServer, temporal_env: WorkflowEnvironment
) -> None:
    settings = api.settings.model_copy(update={"payment_run_at": time(6, 30)})
    await ensure_payment_schedule(temporal_env.client, settings)
    handle = temporal_env.client.get_schedule_handle(SCHEDULE_ID)
    try:
        described = await handle.describe()
        (calendar,) = described.schedule.spec.calendars
        assert (calendar.hour[0].start, calendar.minute[0].start) == (6, 30)
        assert described.schedule.spec.time_zone_name == "Europe/Paris"
        await handle.pause(note="bank holiday")
        await ensure_payment_schedule(temporal_env.client, api.settings)  # a worker restart
        described = await handle.describe()
        assert described.schedule.state.paused
        assert described.schedule.spec.calendars[0].hour[0].start == 7
        await handle.unpause()
        await handle.trigger()  # what the clock would do at 07:00
        for _ in range(100):
            if (await handle.describe()).info.recent_actions:
                break
            await asyncio.sleep(0.1)
        (action,) = (await handle.describe()).info.recent_actions
        run = temporal_env.client.get_workflow_handle_for(
            PaymentRunWorkflow.run, action.action.workflow_id
        )
        assert (await run.result()).transfers == 0
    finally:
        await handle.delete()
