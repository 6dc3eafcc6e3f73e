"""Activities of bulk deposits (queue `chaine`): unpack, deposit each file, record."""

from __future__ import annotations

import asyncio
from dataclasses import asdict, replace
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from core.errors import ChaineError
from invoicing.archives import ArchiveRefused, FlowFile, flow_files
from invoicing.identity import identify_file, process_name
from store.blobs import BlobStore
from store.database import transaction
from store.flows import FlowRepository
from workflows.deposits import DepositRequest
from workflows.flows import FlowEntry, FlowEntryDeposit, FlowInput, FlowRecord
from workflows.invoice_client import PendingDeposit, deposit_invoice

DEPOSIT_WAIT = timedelta(minutes=8)  # under the activity's 10-minute timeout


class FlowActivities:
    """What a flow needs: the blob store, the database, and Temporal to deposit invoices."""

    def __init__(
        self, client: Client, blobs: BlobStore, sessions: async_sessionmaker[AsyncSession]
    ) -> None:
        self.client = client
        self.blobs = blobs
        self.sessions = sessions

    @activity.defn(name="unpack_flow")
    async def unpack_flow(self, input: FlowInput) -> list[FlowEntry]:
        """Each file of the archive stored as a blob, or refused with its code."""
        return await asyncio.to_thread(self._unpack, input)

    def _unpack(self, input: FlowInput) -> list[FlowEntry]:
        try:
            data = self.blobs.read(input.original_sha256)
            found = list(flow_files(data, input.max_entry_bytes))
        except ArchiveRefused as refused:
            return [
                FlowEntry(
                    name=input.filename or "flow", code=refused.code.value, reason=refused.detail
                )
            ]
        entries = []
        for item in found:
            if isinstance(item, FlowFile):
                ref = self.blobs.put(item.data)
                entries.append(FlowEntry(item.name, ref.sha256, ref.size, item.media_type))
            else:
                entries.append(FlowEntry(item.name, code=item.code.value, reason=item.reason))
        return entries

    @activity.defn(name="deposit_flow_entry")
    async def deposit_flow_entry(self, deposit: FlowEntryDeposit) -> FlowEntry:
        """Deposit one file in its invoice workflow, as the API would, and note the outcome."""
        flow, entry = deposit.input, deposit.entry
        assert entry.sha256 is not None and entry.media_type is not None
        data = self.blobs.read(entry.sha256)
        identity = await asyncio.to_thread(identify_file, data, entry.media_type)
        try:
            seller, number = process_name(identity, frozenset(flow.sirets), entry.sha256)
        except ChaineError as refused:
            return replace(entry, code=refused.code.value, reason=refused.detail)
        outcome = await deposit_invoice(
            self.client,
            flow.process,
            seller,
            number,
            DepositRequest(
                original_sha256=entry.sha256,
                original_size=entry.size or 0,
                media_type=entry.media_type,
                depositor=flow.depositor,
                received_at=flow.received_at,
                channel="flow",
                filename=entry.name,
                flow_id=flow.flow_id,
            ),
            DEPOSIT_WAIT,
        )
        if isinstance(outcome, PendingDeposit):
            raise ApplicationError("validation still running; deposit again (idempotent)")
        if outcome.conflict:
            return replace(
                entry,
                invoice_id=outcome.invoice_id,
                code="INVOICE_CONFLICT",
                reason="this number was deposited with other content",
            )
        fatal = [f["rule"] for f in outcome.report.get("findings", []) if f["severity"] == "fatal"]
        return replace(
            entry,
            invoice_id=outcome.invoice_id,
            status=outcome.status,
            code="INVOICE_INVALID" if outcome.status == "REJETEE" else None,
            fatal_rules=fatal,
        )

    @activity.defn(name="record_flow")
    async def record_flow(self, record: FlowRecord) -> None:
        """Write the flow's status and per-file report (insert or update)."""
        flow = record.input
        async with transaction(self.sessions) as session:
            await FlowRepository(session).save(
                flow_id=flow.flow_id,
                depositor=flow.depositor,
                sirets=flow.sirets,
                original_sha256=flow.original_sha256,
                filename=flow.filename,
                status=record.status.value,
                entries=[asdict(entry) for entry in record.entries],
            )
