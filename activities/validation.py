"""The validation activity (queue `chaine-cpu`): stages (a) to (d) and the canonical invoice.

A sync activity, run by the CPU worker's thread pool: the saxonche processor and the
compiled stylesheets are shared by the threads of the one worker process.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from temporalio import activity

from core.errors import ChaineError
from invoicing.canonical_json import to_json
from invoicing.formats import read_invoice
from invoicing.model import Invoice
from invoicing.validation.pipeline import Level, validate
from store.blobs import BlobStore
from workflows.deposits import RoutingKeys, ValidateInput, ValidationResult

T = TypeVar("T")


HEARTBEAT_SECONDS = 2.0


def _heartbeating(function: Callable[..., T], *args: Any) -> T:
    """Run `function` in a helper thread, heartbeating from the activity's thread meanwhile."""
    with ThreadPoolExecutor(1, thread_name_prefix="validation") as helper:
        future = helper.submit(function, *args)
        while True:
            try:
                return future.result(timeout=HEARTBEAT_SECONDS)
            except TimeoutError:
                activity.heartbeat()


def _text(value: object) -> str | None:
    return str(value) if value is not None else None


def routing_keys(invoice: Invoice) -> RoutingKeys:
    """What routing and the platform rules need, read off the canonical invoice."""
    totals = invoice.totals
    return RoutingKeys(
        number=invoice.number,
        issue_date=invoice.issue_date,
        type_code=invoice.type_code,
        currency=invoice.currency,
        seller_siret=invoice.seller_siret,
        seller_name=invoice.seller.name,
        buyer_siret=invoice.buyer_siret,
        buyer_name=invoice.buyer.name,
        service_code=invoice.service_code,
        commitment_number=invoice.commitment_number,
        iban=invoice.iban,
        total_without_vat=_text(totals.tax_exclusive_amount),
        total_vat=_text(totals.tax_amount),
        total_with_vat=_text(totals.tax_inclusive_amount),
        amount_due=_text(totals.payable_amount),
        preceding_number=(
            invoice.preceding_invoices[0].number if invoice.preceding_invoices else None
        ),
    )


class ValidationActivities:
    """Validation of deposited files, against the blob store."""

    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs

    def _store_bytes(self, data: bytes) -> dict[str, Any]:
        ref = self.blobs.put(data)
        return {"sha256": ref.sha256, "size": ref.size}

    @activity.defn(name="validate_deposit")
    def validate_deposit(self, request: ValidateInput) -> ValidationResult:
        """Run stages (a) to (d); when the invoice reads, store its canonical JSON.

        Heartbeats while the rules run, so a worker that dies mid-way is noticed within
        the heartbeat timeout and the validation retried elsewhere at once.
        """
        data = self.blobs.read(request.original_sha256)
        report, document = _heartbeating(validate, data, request.media_type, Level(request.level))
        if document is None:
            return ValidationResult(report=report.to_json())
        try:
            invoice = read_invoice(document.tree, document.syntax)
        except ChaineError:
            return ValidationResult(report=report.to_json())  # the report already says why
        canonical = json.dumps(to_json(invoice, self._store_bytes), ensure_ascii=False)
        ref = self.blobs.put(canonical.encode())
        return ValidationResult(
            report=report.to_json(), keys=routing_keys(invoice), canonical_sha256=ref.sha256
        )
