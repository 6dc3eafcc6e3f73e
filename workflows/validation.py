"""`ValidationWorkflow`: validate a file without depositing it (`POST /v1/invoices:validate`).

A workflow rather than validation in the API process, so the API stays light and the
CPU-heavy rules run on the `chaine-cpu` workers, like deposits.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.invoices import InvoiceStoreActivities
    from activities.validation import ValidationActivities
    from workflows.deposits import FileValidation, PlatformCheck, with_platform_findings
    from workflows.invoice import (
        STORE_RETRY,
        VALIDATION_HEARTBEAT,
        VALIDATION_RETRY,
        VALIDATION_TIMEOUT,
    )


@workflow.defn
class ValidationWorkflow:
    """Stages (a) to (c), or (a) to (e) for the `full` level, and the report."""

    @workflow.run
    async def run(self, validation: FileValidation) -> dict[str, Any]:
        request = validation.check
        result = await workflow.execute_activity_method(
            ValidationActivities.validate_deposit,
            request,
            task_queue=validation.cpu_task_queue,
            start_to_close_timeout=VALIDATION_TIMEOUT,
            heartbeat_timeout=VALIDATION_HEARTBEAT,
            retry_policy=VALIDATION_RETRY,
        )
        if request.level != "full" or result.keys is None:
            return result.report
        platform = await workflow.execute_activity_method(
            InvoiceStoreActivities.check_platform_rules,
            PlatformCheck(
                invoice_id="", seller_key=result.keys.seller_siret or "", keys=result.keys
            ),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=STORE_RETRY,
        )
        return with_platform_findings(result.report, platform.findings)
