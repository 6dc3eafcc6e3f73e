"""`PaymentRunWorkflow`: accounted invoices into SEPA transfer files, then into payment.

Three steps, each an idempotent activity: plan the transfers (one transaction, at most
one live payment per invoice by a unique index), build and validate one pain.001 file
per paying account (a file already built is kept), then move each invoice to
MISE_EN_PAIEMENT page by page. A worker dying anywhere resumes at the step it was in,
and nothing is paid or filed twice. Started by hand (API, CLI) or by the daily schedule.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.payments import PaymentActivities
    from invoicing.deadlines import PARIS
    from workflows.invoice import STORE_RETRY, STORE_TIMEOUT
    from workflows.payments import (
        FilesRequest,
        IssuePage,
        PaymentRunInput,
        PaymentRunResult,
        PlanRequest,
    )

FILES_TIMEOUT = timedelta(minutes=30)  # 100,000 transfers stream in well under that
FILES_HEARTBEAT = timedelta(seconds=30)
ISSUE_TIMEOUT = timedelta(minutes=5)
ISSUE_HEARTBEAT = timedelta(seconds=30)  # a worker dead mid-page is noticed this fast


@workflow.defn
class PaymentRunWorkflow:
    @workflow.run
    async def run(self, input: PaymentRunInput) -> PaymentRunResult:
        run_id = input.run_id or workflow.info().workflow_id
        execution_date = input.execution_date or workflow.now().astimezone(PARIS).date()
        planned = await workflow.execute_activity_method(
            PaymentActivities.plan_payment_run,
            PlanRequest(
                run_id,
                input.requested_by,
                input.pain_version,
                execution_date,
                input.debtor,
                input.accounts,
            ),
            start_to_close_timeout=STORE_TIMEOUT * 4,
            retry_policy=STORE_RETRY,
        )
        files = await workflow.execute_activity_method(
            PaymentActivities.build_payment_files,
            FilesRequest(run_id, input.debtor, input.accounts),
            start_to_close_timeout=FILES_TIMEOUT,
            heartbeat_timeout=FILES_HEARTBEAT,
            retry_policy=STORE_RETRY,
        )
        issued, after = 0, ""
        while True:
            page = await workflow.execute_activity_method(
                PaymentActivities.issue_payments,
                IssuePage(run_id, after),
                start_to_close_timeout=ISSUE_TIMEOUT,
                heartbeat_timeout=ISSUE_HEARTBEAT,
                retry_policy=STORE_RETRY,
            )
            issued += page.issued
            if page.next_after is None:
                break
            after = page.next_after
        return PaymentRunResult(run_id, planned.transfers, files, issued, len(planned.skipped))
