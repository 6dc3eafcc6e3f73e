"""`ContractWorkflow`: a notified contract, from notification to closure.

Named `contract:{commitment_number}`. The consultation that awarded it records the
commitment invoices reference in BT-13 (supplier, ceiling, presumed service done, works,
paying service) before starting it; it holds that commitment open until the buyer closes
the contract (completed or terminated): then invoice intake refuses the commitment.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.procurement import ProcurementActivities
    from directory.records import CommitmentRecord
    from workflows.consultation_messages import ContractClosure

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
    def __init__(self, commitment: CommitmentRecord) -> None:
        self._commitment = commitment
        self._closure: ContractClosure | None = None

    @workflow.run
    async def run(self, commitment: CommitmentRecord) -> str:
        """Wait for the contract's closure."""
        await workflow.wait_condition(lambda: self._closure is not None)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return "closed"

    @workflow.query
    def commitment(self) -> CommitmentRecord:
        """The commitment's terms."""
        return self._commitment

    @workflow.update
    async def close(self, closure: ContractClosure) -> str:
        """End the contract: its commitment takes no more invoices."""
        if self._closure is None:
            await workflow.execute_activity_method(
                ProcurementActivities.close_commitment,
                self._commitment.number,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RETRY,
            )
            self._closure = closure
        return "closed"
