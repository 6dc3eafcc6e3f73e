"""Messages of payment runs and bank statements (workflows ↔ activities ↔ API).

Payloads stay small: a run's transfers live in the database and travel by run id; an
activity answers with counts and the next page's cursor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any


@dataclass(frozen=True)
class DebtorAccount:
    """The public accountant's account the transfers are paid from."""

    name: str
    iban: str
    bic: str | None = None


@dataclass(frozen=True)
class PaymentRunInput:
    """A run: by hand (API, CLI) with its id, or by the daily schedule (id from the run)."""

    debtor: DebtorAccount
    pain_version: str = "001.001.09"
    requested_by: str = "schedule"
    run_id: str | None = None
    execution_date: date | None = None
    # The paying account of each paying service (a commitment's); others use `debtor`.
    accounts: dict[str, DebtorAccount] = field(default_factory=dict)


@dataclass(frozen=True)
class PlanRequest:
    run_id: str
    requested_by: str
    pain_version: str
    execution_date: date
    debtor: DebtorAccount
    accounts: dict[str, DebtorAccount] = field(default_factory=dict)


@dataclass(frozen=True)
class Planned:
    transfers: int
    skipped: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class FilesRequest:
    run_id: str
    debtor: DebtorAccount
    accounts: dict[str, DebtorAccount] = field(default_factory=dict)

    def account(self, iban: str) -> DebtorAccount:
        """The paying account with this IBAN (the default one's name and BIC otherwise)."""
        found = [a for a in self.accounts.values() if a.iban == iban]
        return found[0] if found else DebtorAccount(self.debtor.name, iban, self.debtor.bic)


@dataclass(frozen=True)
class IssuePage:
    """Move one page of the run's invoices to MISE_EN_PAIEMENT, after `after`."""

    run_id: str
    after: str = ""
    limit: int = 100


@dataclass(frozen=True)
class Issued:
    issued: int
    next_after: str | None  # None: no page left


@dataclass(frozen=True)
class PaymentRunResult:
    run_id: str
    transfers: int
    files: list[str]
    issued: int
    skipped: int


@dataclass(frozen=True)
class StatementInput:
    """A stored bank statement whose matched entries are to be applied."""

    statement_id: str


@dataclass(frozen=True)
class Applied:
    confirmed: int
    rejected: int
    unchanged: int
