"""The a-posteriori control plan for invoices paid on presumed service done (SFP).

Invoices under an SFP commitment are paid without prior certification, then some are
checked afterwards. A plan selects an invoice for control by a random draw over a share of
invoices, or by a risk score over or at a threshold. The draw is derived from a hash of the
invoice id and the plan's seed, so a workflow can make it (and replay it) deterministically.
The score is a sum of weighted rules, each giving its explanation, so that every selection
can be recorded with its reasons and explained to the people who control.
"""

from __future__ import annotations

import hashlib
import statistics
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum


class RiskRule(StrEnum):
    """The rules of the risk score."""

    NEW_SUPPLIER = "NEW_SUPPLIER"
    AMOUNT_ABOVE_HISTORY = "AMOUNT_ABOVE_HISTORY"
    BANK_ACCOUNT_CHANGED = "BANK_ACCOUNT_CHANGED"
    NEAR_DUPLICATE = "NEAR_DUPLICATE"
    JUST_UNDER_THRESHOLD = "JUST_UNDER_THRESHOLD"


@dataclass(frozen=True)
class RiskRules:
    """Each rule's weight (points added when it fires) and its parameters."""

    new_supplier: int
    amount_above_history: int
    history_factor: Decimal  # fires above this many times the median of earlier invoices
    bank_account_changed: int
    bank_change_window: timedelta  # fires if the account changed this recently
    near_duplicate: int
    duplicate_window: timedelta  # same amount, another number, issued this close
    just_under_threshold: int
    threshold_margin: Decimal  # fires within this share below a threshold, e.g. 0.05
    thresholds: tuple[Decimal, ...]  # amounts excl. VAT, e.g. 40,000 and 90,000


DEFAULT_RULES = RiskRules(
    new_supplier=30,
    amount_above_history=25,
    history_factor=Decimal(3),
    bank_account_changed=40,
    bank_change_window=timedelta(days=30),
    near_duplicate=50,
    duplicate_window=timedelta(days=15),
    just_under_threshold=20,
    threshold_margin=Decimal("0.05"),
    # Procurement thresholds (excl. VAT): 40 k€ (no advertising below), 90 k€ (formal MAPA).
    thresholds=(Decimal(40000), Decimal(90000)),
)
"""The weights used unless a buyer's plan says otherwise: one rule alone stays under a
threshold of 50, a duplicate or two rules together reach it."""


@dataclass(frozen=True)
class ControlPlan:
    """A buyer's plan: the share drawn at random, the seed, and the score that selects."""

    share: Decimal  # 0 to 1
    seed: str
    threshold: int
    rules: RiskRules

    def __post_init__(self) -> None:
        if not Decimal(0) <= self.share <= Decimal(1):
            raise ValueError(f"a control share is between 0 and 1, not {self.share}")


@dataclass(frozen=True)
class PastInvoice:
    """One earlier invoice of the same supplier, as the caller found it."""

    number: str
    amount_excl_vat: Decimal
    issued_on: date
    paid: bool


@dataclass(frozen=True)
class RiskFacts:
    """What the score needs about the invoice and its supplier, gathered by the caller."""

    number: str
    amount_excl_vat: Decimal
    issued_on: date
    received_on: date
    supplier_history: tuple[PastInvoice, ...]  # the supplier's other invoices
    bank_account_changed_on: date | None  # last change of the supplier's IBAN, if known


@dataclass(frozen=True)
class RiskReason:
    """A rule that fired, the points it added and why."""

    rule: RiskRule
    weight: int
    explanation: str


@dataclass(frozen=True)
class RiskScore:
    """The total of the rules that fired, with each one's reason."""

    total: int
    reasons: tuple[RiskReason, ...]


@dataclass(frozen=True)
class ControlDecision:
    """Whether the invoice is controlled, whether the draw chose it, and its score."""

    selected: bool
    by_draw: bool
    score: RiskScore


def drawn(invoice_id: str, share: Decimal, seed: str) -> bool:
    """Whether the random draw of a plan with `seed` picks `invoice_id`, with odds `share`."""
    digest = hashlib.sha256(f"{seed}\x1f{invoice_id}".encode()).digest()
    # The first 64 bits as a uniform number in [0, 1), scaled to an integer.
    return int.from_bytes(digest[:8], "big") < share * (1 << 64)


def score(facts: RiskFacts, rules: RiskRules) -> RiskScore:
    """The risk score of an invoice: every rule that fires, with its weight and reason."""
    others = [p for p in facts.supplier_history if p.number != facts.number]
    reasons: list[RiskReason] = []

    if not any(p.paid for p in others):
        reasons.append(
            RiskReason(
                RiskRule.NEW_SUPPLIER,
                rules.new_supplier,
                "no earlier invoice of this supplier was paid",
            )
        )

    if others:
        median = statistics.median(p.amount_excl_vat for p in others)
        if facts.amount_excl_vat > rules.history_factor * median:
            reasons.append(
                RiskReason(
                    RiskRule.AMOUNT_ABOVE_HISTORY,
                    rules.amount_above_history,
                    f"amount {facts.amount_excl_vat} is over {rules.history_factor} times the "
                    f"median {median} of the supplier's {len(others)} earlier invoices",
                )
            )

    changed = facts.bank_account_changed_on
    age = None if changed is None else facts.received_on - changed
    if age is not None and timedelta(0) <= age <= rules.bank_change_window:
        reasons.append(
            RiskReason(
                RiskRule.BANK_ACCOUNT_CHANGED,
                rules.bank_account_changed,
                f"the supplier's bank account changed on {changed}, {age.days} days before receipt",
            )
        )

    twins = [
        p.number
        for p in others
        if p.amount_excl_vat == facts.amount_excl_vat
        and abs(p.issued_on - facts.issued_on) <= rules.duplicate_window
    ]
    if twins:
        reasons.append(
            RiskReason(
                RiskRule.NEAR_DUPLICATE,
                rules.near_duplicate,
                f"same amount {facts.amount_excl_vat} as invoice(s) {', '.join(sorted(twins))}, "
                f"issued within {rules.duplicate_window.days} days",
            )
        )

    for threshold in sorted(rules.thresholds):
        if threshold * (1 - rules.threshold_margin) <= facts.amount_excl_vat < threshold:
            reasons.append(
                RiskReason(
                    RiskRule.JUST_UNDER_THRESHOLD,
                    rules.just_under_threshold,
                    f"amount {facts.amount_excl_vat} is within {rules.threshold_margin:%} "
                    f"below the threshold {threshold}",
                )
            )
            break

    return RiskScore(sum(r.weight for r in reasons), tuple(reasons))


def select_for_control(invoice_id: str, facts: RiskFacts, plan: ControlPlan) -> ControlDecision:
    """The plan's decision for one invoice: drawn at random, or scored at the threshold."""
    by_draw = drawn(invoice_id, plan.share, plan.seed)
    risk = score(facts, plan.rules)
    return ControlDecision(by_draw or risk.total >= plan.threshold, by_draw, risk)
