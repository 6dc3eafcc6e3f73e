"""`BankStatementWorkflow`: apply a bank file's matched entries to payments and invoices.

One workflow per statement (id `bank-statement:{sha256}`), so the same file sent twice
is applied once. Each entry is applied idempotently: a payment settles once, and an
invoice already moved is left as it is.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.payments import PaymentActivities
    from workflows.invoice import STORE_RETRY, STORE_TIMEOUT
    from workflows.payments import Applied, StatementInput


@workflow.defn
class BankStatementWorkflow:
    @workflow.run
    async def run(self, input: StatementInput) -> Applied:
        return await workflow.execute_activity_method(
            PaymentActivities.apply_bank_statement,
            input,
            start_to_close_timeout=STORE_TIMEOUT * 10,
            retry_policy=STORE_RETRY,
        )
