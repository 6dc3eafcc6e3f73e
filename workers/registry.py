"""What each task queue runs.

Workflows and I/O-bound (async) activities share the `chaine` queue; CPU-heavy (sync)
activities such as XML validation and signature checks run on `chaine-cpu` so they scale
on their own machines. A new workflow or activity is registered here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from activities.callbacks import CallbackActivities, CallbackRules, callback_rules
from activities.flows import FlowActivities
from activities.invoices import InvoiceStoreActivities
from activities.payments import PaymentActivities
from activities.procurement import ProcurementActivities
from activities.signatures import SignatureActivities
from activities.validation import ValidationActivities
from core.config import Settings
from signatures.policy import VerificationPolicy, policy_from_settings
from signatures.seal import Sealer
from store.blobs import BlobStore
from workflows.bank_statement import BankStatementWorkflow
from workflows.callbacks import CallbackRelayWorkflow, CallbackWorkflow
from workflows.consultation import ConsultationWorkflow
from workflows.contract import ContractWorkflow
from workflows.flow import FlowWorkflow
from workflows.invoice import InvoiceWorkflow
from workflows.payment_run import PaymentRunWorkflow
from workflows.validation import ValidationWorkflow


@dataclass(frozen=True)
class Registrations:
    """The workflows and activities of each queue, bound to their dependencies."""

    workflows: tuple[type, ...]
    io_activities: tuple[Callable[..., Any], ...]
    cpu_activities: tuple[Callable[..., Any], ...]


def registrations(
    client: Client,
    blobs: BlobStore,
    sessions: async_sessionmaker[AsyncSession],
    signature_policy: VerificationPolicy,
    callback_rules: CallbackRules,
    sealer: Sealer,
    schemas_dir: Path,
    public_url: str,
) -> Registrations:
    """Every workflow and activity, with the stores, client, policy, rules and seal they use."""
    invoices = InvoiceStoreActivities(sessions)
    validation = ValidationActivities(blobs)
    signatures = SignatureActivities(blobs, signature_policy)
    flows = FlowActivities(client, blobs, sessions)
    callbacks = CallbackActivities(client, sessions, callback_rules)
    payments = PaymentActivities(client, blobs, sessions)
    procurement = ProcurementActivities(
        blobs, sessions, signature_policy, sealer, schemas_dir, public_url
    )
    return Registrations(
        workflows=(
            InvoiceWorkflow,
            ValidationWorkflow,
            FlowWorkflow,
            CallbackWorkflow,
            CallbackRelayWorkflow,
            PaymentRunWorkflow,
            BankStatementWorkflow,
            ConsultationWorkflow,
            ContractWorkflow,
        ),
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
            callbacks.relay_events,
            callbacks.deliver_callback,
            callbacks.record_dead_letter,
            payments.plan_payment_run,
            payments.build_payment_files,
            payments.issue_payments,
            payments.apply_bank_statement,
            procurement.record_consultation,
            procurement.record_bids,
            procurement.make_award_letters,
            procurement.open_commitment,
            procurement.close_commitment,
        ),
        cpu_activities=(
            validation.validate_deposit,
            signatures.verify_signature,
            procurement.check_bid,
            procurement.prepare_publication,
            procurement.prepare_award_notice,
        ),
    )


def registrations_from_settings(
    client: Client, settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> Registrations:
    """`registrations` with every dependency as the settings configure it (workers, tests)."""
    policy = policy_from_settings(settings)
    return registrations(
        client,
        BlobStore(settings.effective_blob_dir),
        sessions,
        policy,
        callback_rules(settings),
        Sealer.from_settings(settings, policy),
        settings.shared_dir / "schemas",
        settings.effective_public_url,
    )
