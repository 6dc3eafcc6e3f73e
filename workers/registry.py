"""What each task queue runs.

Workflows and I/O-bound (async) activities share the `chaine` queue; CPU-heavy (sync)
activities such as XML validation and signature checks run on `chaine-cpu` so they scale
on their own machines. A new workflow or activity is registered here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from activities.flows import FlowActivities
from activities.invoices import InvoiceStoreActivities
from activities.validation import ValidationActivities
from store.blobs import BlobStore
from workflows.flow import FlowWorkflow
from workflows.invoice import InvoiceWorkflow
from workflows.validation import ValidationWorkflow


@dataclass(frozen=True)
class Registrations:
    """The workflows and activities of each queue, bound to their dependencies."""

    workflows: tuple[type, ...]
    io_activities: tuple[Callable[..., Any], ...]
    cpu_activities: tuple[Callable[..., Any], ...]


def registrations(
    client: Client, blobs: BlobStore, sessions: async_sessionmaker[AsyncSession]
) -> Registrations:
    """Every workflow and activity, with the stores and client they use."""
    invoices = InvoiceStoreActivities(sessions)
    validation = ValidationActivities(blobs)
    flows = FlowActivities(client, blobs, sessions)
    return Registrations(
        workflows=(InvoiceWorkflow, ValidationWorkflow, FlowWorkflow),
        io_activities=(
            invoices.check_platform_rules,
            invoices.record_deposit,
            invoices.record_transition,
            invoices.issue_mandate,
            invoices.gather_risk_facts,
            invoices.check_reroute,
            flows.unpack_flow,
            flows.deposit_flow_entry,
            flows.record_flow,
        ),
        cpu_activities=(validation.validate_deposit,),
    )
