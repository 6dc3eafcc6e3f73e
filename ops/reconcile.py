"""The database projection of invoices checked against their workflows, which own the truth.

The workflow sets its status search attribute (`ChaineStatus`) only once the status is
recorded in the database, so the two agree except while a transition is being recorded.
A difference is confirmed by asking the workflow itself (its `status` query) before it is
reported as drift, and only confirmed drift is repaired.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client, WorkflowExecution, WorkflowExecutionStatus

from ops.describe import queried_status
from ops.errors import query_refusals
from ops.visibility import INVOICE_WORKFLOW, all_of
from store.invoices import InvoiceRepository
from workflows import search_attributes as sa

CHUNK = 200  # executions compared per database round trip


class DriftKind(StrEnum):
    """How the projection differs from the workflow."""

    STATUS_DIFFERS = "STATUS_DIFFERS"  # the row's status is not the workflow's
    NOT_RECORDED = "NOT_RECORDED"  # the workflow has a status, the database no row for its run


@dataclass(frozen=True)
class Drift:
    """One invoice whose projection is not what its workflow says."""

    workflow_id: str
    run_id: str
    invoice_id: str | None
    kind: DriftKind
    projected_status: str | None
    workflow_status: str
    confirmed: bool  # the workflow's own answer (or its final state) agrees with ChaineStatus
    fixed: bool


@dataclass(frozen=True)
class ReconcileReport:
    """What was compared and what differs."""

    scanned: int
    drifts: tuple[Drift, ...]
    in_flight: int  # a transition was being recorded: not drift
    truncated: bool  # `limit` executions were compared: there may be more

    @property
    def fixed(self) -> int:
        """How many rows were repaired."""
        return sum(drift.fixed for drift in self.drifts)

    def outcome(self) -> dict[str, Any]:
        """As the audit trail keeps it."""
        return {
            "ok": True,
            "scanned": self.scanned,
            "in_flight": self.in_flight,
            "fixed": self.fixed,
            "truncated": self.truncated,
            "drifts": [asdict(drift) for drift in self.drifts[:500]],
        }


async def reconcile(
    client: Client,
    session: AsyncSession,
    *,
    fix: bool,
    now: datetime,
    query: str | None = None,
    limit: int = 10_000,
) -> ReconcileReport:
    """Compare each invoice workflow's status (running or closed, narrowed by `query`) with
    its row; with `fix`, set confirmed drifts back to the workflow's status."""
    visibility = all_of(f"WorkflowType = '{INVOICE_WORKFLOW}'", query)
    repository = InvoiceRepository(session)
    drifts: list[Drift] = []
    scanned = in_flight = 0
    chunk: list[tuple[WorkflowExecution, str]] = []

    async def compare(executions: list[tuple[WorkflowExecution, str]]) -> int:
        rows = await repository.of_runs({(e.id, e.run_id) for e, _ in executions})
        moving = 0
        for execution, status in executions:
            row = rows.get((execution.id, execution.run_id))
            if row is None:
                drifts.append(
                    Drift(
                        execution.id,
                        execution.run_id,
                        None,
                        DriftKind.NOT_RECORDED,
                        None,
                        status,
                        True,
                        False,
                    )
                )
                continue
            if row.status == status:
                continue
            closed = execution.status is not WorkflowExecutionStatus.RUNNING
            # A closed run moves no more: asking it would only make a worker replay it.
            queried = None
            if not closed:
                queried, _ = await queried_status(client, execution.id, execution.run_id)
            if queried == row.status or (queried is not None and queried != status):
                moving += 1  # recorded, not yet announced; or moving on right now
                continue
            confirmed = queried == status or closed
            repaired = fix and confirmed
            if repaired:
                await repository.repair_status(row.id, status, now)
            drifts.append(
                Drift(
                    execution.id,
                    execution.run_id,
                    row.id,
                    DriftKind.STATUS_DIFFERS,
                    row.status,
                    status,
                    confirmed,
                    repaired,
                )
            )
        return moving

    async with query_refusals(visibility):
        async for execution in client.list_workflows(visibility, limit=limit):
            scanned += 1
            status = execution.typed_search_attributes.get(sa.STATUS)
            if status is None:  # not deposited yet: nothing recorded, nothing to compare
                continue
            chunk.append((execution, status))
            if len(chunk) == CHUNK:
                in_flight += await compare(chunk)
                chunk = []
    if chunk:
        in_flight += await compare(chunk)
    return ReconcileReport(
        scanned=scanned, drifts=tuple(drifts), in_flight=in_flight, truncated=scanned >= limit
    )
