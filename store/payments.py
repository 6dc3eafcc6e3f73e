"""Repository of payment runs, transfers, their files and the bank's answers.

Exactly once is the database's job here: a partial unique index allows one non-rejected
payment per invoice and kind, payments are planned in one transaction per run, and a
file is unique per run and paying account. A retried or restarted activity finds what
the previous attempt committed and goes on from there.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import Exists

from core.principals import Role
from invoicing.payments.periodic import due_dates
from store.clients import ClientRepository
from store.models import (
    BankStatement,
    Commitment,
    Invoice,
    Payment,
    PaymentFile,
    PaymentRun,
    Supplier,
)
from store.notifications import NotificationRepository

INVOICE = "INVOICE"
INTEREST = "INTEREST"
PERIODIC = "PERIODIC"
PLANNED, CONFIRMED, REJECTED = "PLANNED", "CONFIRMED", "REJECTED"


def end_to_end_id(invoice_id: str, kind: str, attempt: int) -> str:
    """`I` or `J` + the invoice id's 32 hex digits + the attempt (35 characters at most).

    Derived, not drawn: the bank's answer names the invoice without a lookup table, and
    a payment made again after a rejection gets the next attempt number.
    """
    prefix = "I" if kind == INVOICE else "J"
    return f"{prefix}{invoice_id.replace('-', '')}{attempt:02d}"


class PaymentRepository:
    """Every query on payment runs, payments, payment files and bank statements."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def run(self, run_id: str) -> PaymentRun | None:
        return await self.session.get(PaymentRun, run_id)

    async def open_run(
        self, run_id: str, requested_by: str, version: str, execution_date: date
    ) -> PaymentRun:
        """The run, created on first call (a retried activity finds it)."""
        run = await self.session.get(PaymentRun, run_id)
        if run is None:
            run = PaymentRun(
                id=run_id,
                requested_by=requested_by,
                status="PLANNED",
                pain_version=version,
                execution_date=execution_date,
            )
            self.session.add(run)
            await self.session.flush()
        return run

    async def plan(
        self, run: PaymentRun, debtor_iban: str, accounts: dict[str, str] | None = None
    ) -> list[dict[str, Any]]:
        """Plan the transfers of everything payable now; return what was left aside and why.

        Payable: accounted invoices (COMPTABILISEE) without a live payment, paid invoices
        whose late interest has no live payment yet, and the due dates of periodic payment
        orders reached by the run's execution date and not yet paid. Each is paid from
        the account of its commitment's paying service (`accounts`), else `debtor_iban`.
        """
        services = dict(
            (await self.session.execute(select(Commitment.number, Commitment.paying_service))).all()
        )

        def account(commitment_number: str | None) -> str:
            service = services.get(commitment_number) if commitment_number else None
            return (accounts or {}).get(service or "", debtor_iban)

        skipped: list[dict[str, Any]] = []
        due = await self.session.scalars(
            select(Invoice)
            .where(Invoice.status == "COMPTABILISEE", ~self._has_live(INVOICE))
            .order_by(Invoice.id)
        )
        for invoice in list(due):
            amount = invoice.certified_amount or invoice.amount_due
            await self._add(
                run, invoice, INVOICE, amount, account(invoice.commitment_number), skipped
            )
        late = await self.session.scalars(
            select(Invoice)
            .where(
                Invoice.status == "PAYEE",
                Invoice.late_interest.is_not(None),
                ~self._has_live(INTEREST),
            )
            .order_by(Invoice.id)
        )
        for invoice in list(late):
            amount = (invoice.late_interest or Decimal(0)) + (
                invoice.late_compensation or Decimal(0)
            )
            payer = account(invoice.commitment_number)
            if await self._add(run, invoice, INTEREST, amount, payer, skipped):
                await self._announce_interest(invoice, amount)
        await self._plan_periodic(run, account, skipped)
        return skipped

    async def _plan_periodic(
        self, run: PaymentRun, account: Callable[[str | None], str], skipped: list[dict[str, Any]]
    ) -> None:
        orders = await self.session.scalars(
            select(Commitment).where(
                Commitment.periodic_amount.is_not(None),
                Commitment.active.is_(True),
                Commitment.periodic_paused.is_(False),
            )
        )
        for order in list(orders):
            assert order.periodic_start and order.periodic_months and order.periodic_amount
            paid = set(
                await self.session.scalars(
                    select(Payment.period).where(
                        Payment.commitment_number == order.number, Payment.status != REJECTED
                    )
                )
            )
            due = due_dates(
                order.periodic_start,
                order.periodic_months,
                order.periodic_end,
                run.execution_date,
                paid,
            )
            if not due:
                continue
            supplier = await self.session.scalar(
                select(Supplier)
                .where(Supplier.identifier == order.supplier_siret, Supplier.iban.is_not(None))
                .limit(1)
            )
            if supplier is None or supplier.iban is None:
                skipped.append(
                    {"commitment": order.number, "kind": PERIODIC, "reason": "no bank account"}
                )
                continue
            for period in due:
                attempts = await self.session.scalar(
                    select(func.count())
                    .select_from(Payment)
                    .where(Payment.commitment_number == order.number, Payment.period == period)
                )
                key = hashlib.sha256(f"{order.number}/{period}".encode()).hexdigest()[:32]
                self.session.add(
                    Payment(
                        end_to_end_id=f"P{key}{attempts or 0:02d}",
                        run_id=run.id,
                        invoice_id=None,
                        commitment_number=order.number,
                        period=period,
                        kind=PERIODIC,
                        amount=order.periodic_amount,
                        currency="EUR",
                        creditor_name=supplier.name[:70],
                        creditor_iban=supplier.iban,
                        creditor_bic=supplier.bic,
                        debtor_iban=account(order.number),
                        remittance=f"Paiement periodique {order.number} echeance {period}"[:140],
                        status=PLANNED,
                    )
                )

    def _has_live(self, kind: str) -> Exists:
        """SQL: the invoice has a payment of this kind that the bank has not rejected."""
        return (
            select(Payment.end_to_end_id)
            .where(
                Payment.invoice_id == Invoice.id,
                Payment.kind == kind,
                Payment.status != REJECTED,
            )
            .exists()
        )

    async def _add(
        self,
        run: PaymentRun,
        invoice: Invoice,
        kind: str,
        amount: Decimal | None,
        debtor_iban: str,
        skipped: list[dict[str, Any]],
    ) -> bool:
        iban, bic = await self._payee_account(invoice)
        if iban is None or not amount or amount <= 0:
            reason = "no bank account (BT-84 or directory)" if iban is None else "nothing to pay"
            skipped.append({"invoice_id": invoice.id, "kind": kind, "reason": reason})
            return False
        attempts = await self.session.scalar(
            select(func.count())
            .select_from(Payment)
            .where(Payment.invoice_id == invoice.id, Payment.kind == kind)
        )
        number = invoice.number[:60]
        remittance = (
            f"Facture {number} du {invoice.issue_date}"
            if kind == INVOICE
            else f"Interets moratoires et indemnite forfaitaire, facture {number}"
        )
        self.session.add(
            Payment(
                end_to_end_id=end_to_end_id(invoice.id, kind, attempts or 0),
                run_id=run.id,
                invoice_id=invoice.id,
                kind=kind,
                amount=amount,
                currency=invoice.currency or "EUR",
                creditor_name=(invoice.seller_name or invoice.seller_key)[:70],
                creditor_iban=iban,
                creditor_bic=bic,
                debtor_iban=debtor_iban,
                remittance=remittance[:140],
                status=PLANNED,
            )
        )
        return True

    async def _announce_interest(self, invoice: Invoice, amount: Decimal) -> None:
        """Tell the supplier's clients that the interest it is owed is being paid (the
        invoice's workflow has ended, so this is not an invoice event)."""
        clients = await ClientRepository(self.session).acting_for(
            invoice.seller_key, [Role.SUPPLIER]
        )
        for client in clients:
            NotificationRepository(self.session).add(
                client.client_id,
                "invoice.late_interest",
                f"Facture {invoice.number} : intérêts moratoires et indemnité de 40 € "
                f"mis en paiement ({amount} €)",
                {
                    "invoice_id": invoice.id,
                    "number": invoice.number,
                    "late_interest": str(invoice.late_interest),
                    "late_compensation": str(invoice.late_compensation),
                    "amount": str(amount),
                },
            )

    async def _payee_account(self, invoice: Invoice) -> tuple[str | None, str | None]:
        """The supplier's account in the directory (what the supplier maintains, and fixes
        after a returned transfer), else the one on the invoice (BT-84)."""
        supplier = await self.session.scalar(
            select(Supplier)
            .where(Supplier.identifier == invoice.seller_siret, Supplier.iban.is_not(None))
            .limit(1)
        )
        if supplier is not None:
            return supplier.iban, supplier.bic
        return invoice.payee_iban, None

    async def accounts_without_file(self, run_id: str) -> list[str]:
        """The paying accounts of the run whose file is not built yet."""
        filed = select(PaymentFile.debtor_iban).where(PaymentFile.run_id == run_id)
        rows = await self.session.scalars(
            select(Payment.debtor_iban)
            .where(Payment.run_id == run_id, Payment.debtor_iban.not_in(filed))
            .distinct()
        )
        return list(rows)

    async def totals(self, run_id: str, debtor_iban: str) -> tuple[int, Decimal]:
        """Number and sum of a run's transfers from one account (a pain.001 header)."""
        count, total = (
            await self.session.execute(
                select(func.count(), func.coalesce(func.sum(Payment.amount), 0)).where(
                    Payment.run_id == run_id, Payment.debtor_iban == debtor_iban
                )
            )
        ).one()
        return int(count), Decimal(total)

    async def page(self, run_id: str, debtor_iban: str, after: str, limit: int) -> list[Payment]:
        """A run's transfers from one account, by end-to-end id, after `after`."""
        rows = await self.session.scalars(
            select(Payment)
            .where(
                Payment.run_id == run_id,
                Payment.debtor_iban == debtor_iban,
                Payment.end_to_end_id > after,
            )
            .order_by(Payment.end_to_end_id)
            .limit(limit)
        )
        return list(rows)

    async def add_file(self, payment_file: PaymentFile) -> None:
        """Record a built file and point its payments at it."""
        self.session.add(payment_file)
        await self.session.execute(
            update(Payment)
            .where(
                Payment.run_id == payment_file.run_id,
                Payment.debtor_iban == payment_file.debtor_iban,
            )
            .values(file_id=payment_file.id)
        )

    async def files(self, run_id: str) -> list[PaymentFile]:
        rows = await self.session.scalars(
            select(PaymentFile).where(PaymentFile.run_id == run_id).order_by(PaymentFile.id)
        )
        return list(rows)

    async def invoice_payments(self, run_id: str, after: str, limit: int) -> list[Payment]:
        """A page of the run's invoice transfers (not interest), by end-to-end id."""
        rows = await self.session.scalars(
            select(Payment)
            .where(Payment.run_id == run_id, Payment.kind == INVOICE, Payment.end_to_end_id > after)
            .order_by(Payment.end_to_end_id)
            .limit(limit)
        )
        return list(rows)

    async def summary(self, run_id: str) -> list[dict[str, Any]]:
        """Count and amount per paying account, kind and status."""
        rows = await self.session.execute(
            select(
                Payment.debtor_iban,
                Payment.kind,
                Payment.status,
                func.count(),
                func.sum(Payment.amount),
            )
            .where(Payment.run_id == run_id)
            .group_by(Payment.debtor_iban, Payment.kind, Payment.status)
            .order_by(Payment.debtor_iban, Payment.kind, Payment.status)
        )
        return [
            {"debtor_iban": d, "kind": k, "status": s, "count": n, "amount": str(a)}
            for d, k, s, n, a in rows
        ]

    async def of_commitment(self, number: str) -> list[Payment]:
        """The periodic payments of a commitment, by due date."""
        rows = await self.session.scalars(
            select(Payment)
            .where(Payment.commitment_number == number)
            .order_by(Payment.period, Payment.end_to_end_id)
        )
        return list(rows)

    async def payment(self, end_to_end_id: str) -> Payment | None:
        return await self.session.get(Payment, end_to_end_id)

    async def settle(
        self, payment: Payment, status: str, paid_on: date | None, reason: str | None
    ) -> bool:
        """Record the bank's answer on a planned payment; False if it already had one."""
        result = await self.session.execute(
            update(Payment)
            .where(and_(Payment.end_to_end_id == payment.end_to_end_id, Payment.status == PLANNED))
            .values(status=status, paid_on=paid_on, reason=reason)
        )
        return result.rowcount == 1

    async def statement(self, statement_id: str) -> BankStatement | None:
        return await self.session.get(BankStatement, statement_id)
