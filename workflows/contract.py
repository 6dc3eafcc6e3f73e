"""`ContractWorkflow`: a notified contract's commitment, from notification to closure.

Named `contract:{commitment_number}`. Started by the consultation that awarded it (or by
an import), it records the commitment invoices reference in BT-13 (supplier, ceiling,
payment terms, presumed service done, works, paying service) and keeps it active until
the buyer closes the contract; invoice intake reads the commitment's row, and the
invoices' consumption of its ceiling is tracked there.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.procurement import ProcurementActivities
    from workflows.consultation_messages import CommitmentTerms, ContractClosure

RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=30)
)


def contract_workflow_id(commitment_number: str) -> str:
    """`contract:{commitment_number}`: one process per commitment."""
    return f"contract:{commitment_number}"


@workflow.defn
class ContractWorkflow:
    """Holds a commitment open for invoices until the contract is closed."""

    @workflow.init
    def __init__(self, terms: CommitmentTerms) -> None:
        self._terms = terms
        self._closure: ContractClosure | None = None

    @workflow.run
    async def run(self, terms: CommitmentTerms) -> str:
        """Record the commitment, then wait for the contract's closure."""
        await workflow.execute_activity_method(
            ProcurementActivities.open_commitment,
            terms,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RETRY,
        )
        await workflow.wait_condition(lambda: self._closure is not None)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return "closed"

    @workflow.query
    def terms(self) -> CommitmentTerms:
        """The commitment's terms."""
        return self._terms

    @workflow.update
    async def close(self, closure: ContractClosure) -> str:
        """End the contract: its commitment takes no more invoices."""
        if self._closure is None:
            await workflow.execute_activity_method(
                ProcurementActivities.close_commitment,
                self._terms.number,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RETRY,
            )
            self._closure = closure
        return "closed"
