"""Builders for payment values: valid by default, one override away from the case a test needs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from invoicing.payments.transfers import Debtor, Transfer

DEBTOR_IBAN = "FR7630001006400000001234552"  # a Banque de France-like account, valid check digits
CREDITOR_IBAN = "FR7630006000011234567890189"
CREATED_AT = datetime(2024, 5, 2, 9, 30, tzinfo=UTC)
EXECUTION_DATE = date(2024, 5, 3)


def a_transfer(**overrides: Any) -> Transfer:
    """A valid transfer of 1,200.00 euros to a French supplier."""
    values: dict[str, Any] = {
        "end_to_end_id": "RUN-20240502-000001",
        "amount": Decimal("1200.00"),
        "creditor_name": "Menuiserie Dupont & Fils",
        "creditor_iban": CREDITOR_IBAN,
        "creditor_bic": "BNPAFRPP",
        "remittance": "Facture F-2024-0042 du 2024-04-02",
        "invoice_reference": "invoice:12345678200010:F-2024-0042",
    }
    return Transfer(**(values | overrides))


def a_debtor(**overrides: Any) -> Debtor:
    """The paying public accountant's account."""
    values: dict[str, Any] = {
        "name": "DRFIP Île-de-France",
        "iban": DEBTOR_IBAN,
        "bic": "BDFEFRPPCCT",
    }
    return Debtor(**(values | overrides))


class ManyTransfers:
    """`count` transfers made again at every pass, never held together in memory."""

    def __init__(self, count: int, run: str = "RUN") -> None:
        self.count = count
        self.run = run

    def __iter__(self) -> Iterator[Transfer]:
        for n in range(self.count):
            yield a_transfer(
                end_to_end_id=f"{self.run}-{n:07d}",
                amount=Decimal(n % 100_000 + 1).scaleb(-2),
                creditor_bic=None if n % 3 == 0 else "BNPAFRPP",
                remittance=f"Facture F-{n:07d}",
                invoice_reference=f"invoice:12345678200010:F-{n:07d}",
            )

    def total(self) -> Decimal:
        """The sum of the amounts, computed independently of the writer."""
        full, rest = divmod(self.count, 100_000)
        per_cycle = Decimal(100_000 * 100_001 // 2).scaleb(-2)
        return full * per_cycle + Decimal(rest * (rest + 1) // 2).scaleb(-2)
