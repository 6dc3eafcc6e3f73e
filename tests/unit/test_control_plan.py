"""The a-posteriori control plan of presumed service done: a seeded draw and a risk score."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from invoicing.control_plan import (
    DEFAULT_RULES,
    ControlPlan,
    PastInvoice,
    RiskFacts,
    RiskRule,
    drawn,
    score,
    select_for_control,
)

RULES = DEFAULT_RULES  # the weights and parameters the tests below compute with
IDS = [f"invoice-{n}" for n in range(10_000)]


def a_history(amount: str = "1000.00", paid: bool = True) -> tuple[PastInvoice, ...]:
    """Five earlier invoices of the supplier, one a month in 2024."""
    return tuple(
        PastInvoice(f"F-{month}", Decimal(amount), date(2024, month, 10), paid)
        for month in range(1, 6)
    )


def an_invoice(amount: str = "1200.00", **changes: object) -> RiskFacts:
    """A known supplier's invoice like its earlier ones: no rule fires."""
    facts = RiskFacts(
        number="F-6",
        amount_excl_vat=Decimal(amount),
        issued_on=date(2025, 3, 1),
        received_on=date(2025, 3, 3),
        supplier_history=a_history(),
        bank_account_changed_on=None,
    )
    return replace(facts, **changes)  # type: ignore[arg-type]


def a_plan(share: str = "0", threshold: int = 50) -> ControlPlan:
    return ControlPlan(Decimal(share), "plan-2025", threshold, RULES)


def fired(facts: RiskFacts) -> list[tuple[RiskRule, int]]:
    return [(reason.rule, reason.weight) for reason in score(facts, RULES).reasons]


# The draw


def test_a_share_of_zero_never_draws() -> None:
    assert not any(drawn(invoice_id, Decimal(0), "plan-2025") for invoice_id in IDS)


def test_a_share_of_one_always_draws() -> None:
    assert all(drawn(invoice_id, Decimal(1), "plan-2025") for invoice_id in IDS)


def test_a_share_of_ten_percent_draws_about_one_invoice_in_ten() -> None:
    # Binomial(10,000, 0.1): standard deviation 30, so ±100 is over three of them.
    count = sum(drawn(invoice_id, Decimal("0.1"), "plan-2025") for invoice_id in IDS)
    assert 900 <= count <= 1100


def test_the_draw_is_the_same_every_time_and_changes_with_the_seed() -> None:
    first = [drawn(invoice_id, Decimal("0.1"), "plan-2025") for invoice_id in IDS]
    again = [drawn(invoice_id, Decimal("0.1"), "plan-2025") for invoice_id in IDS]
    other = [drawn(invoice_id, Decimal("0.1"), "plan-2026") for invoice_id in IDS]
    assert first == again
    assert first != other


def test_a_share_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        a_plan(share="1.5")


# The risk rules, each alone


def test_a_familiar_invoice_scores_nothing() -> None:
    assert score(an_invoice(), RULES).total == 0


def test_a_supplier_never_paid_before_is_new() -> None:
    facts = an_invoice(supplier_history=())
    assert fired(facts) == [(RiskRule.NEW_SUPPLIER, 30)]
    assert score(facts, RULES).reasons[0].explanation == (
        "no earlier invoice of this supplier was paid"
    )


def test_a_supplier_with_only_unpaid_invoices_is_still_new() -> None:
    assert fired(an_invoice(supplier_history=a_history(paid=False))) == [
        (RiskRule.NEW_SUPPLIER, 30)
    ]


def test_an_amount_over_three_times_the_median_of_the_history_stands_out() -> None:
    assert fired(an_invoice("3000.01")) == [(RiskRule.AMOUNT_ABOVE_HISTORY, 25)]
    assert score(an_invoice("3000.01"), RULES).reasons[0].explanation == (
        "amount 3000.01 is over 3 times the median 1000.00 of the supplier's 5 earlier invoices"
    )
    assert fired(an_invoice("3000.00")) == []


@pytest.mark.parametrize(
    ("changed_on", "fires"),
    [
        (date(2025, 2, 21), True),  # 10 days before receipt
        (date(2025, 2, 1), True),  # 30 days: the edge of the window
        (date(2025, 1, 31), False),  # 31 days
        (date(2025, 3, 10), False),  # after receipt: not what this invoice was paid to
    ],
)
def test_a_bank_account_changed_recently_is_a_risk(changed_on: date, fires: bool) -> None:
    facts = an_invoice(bank_account_changed_on=changed_on)
    assert fired(facts) == ([(RiskRule.BANK_ACCOUNT_CHANGED, 40)] if fires else [])


def test_the_same_amount_under_another_number_shortly_before_is_a_near_duplicate() -> None:
    twin = PastInvoice("F-6bis", Decimal("1200.00"), date(2025, 2, 20), paid=True)
    facts = an_invoice(supplier_history=(*a_history(), twin))
    assert fired(facts) == [(RiskRule.NEAR_DUPLICATE, 50)]
    assert "F-6bis" in score(facts, RULES).reasons[0].explanation


def test_the_invoice_itself_and_older_twins_are_not_near_duplicates() -> None:
    itself = PastInvoice("F-6", Decimal("1200.00"), date(2025, 3, 1), paid=False)
    old_twin = PastInvoice("F-0", Decimal("1200.00"), date(2025, 2, 13), paid=True)
    assert fired(an_invoice(supplier_history=(*a_history(), itself, old_twin))) == []


@pytest.mark.parametrize(
    ("amount", "history", "fires"),
    [
        ("39500.00", "15000.00", True),
        ("38000.00", "15000.00", True),  # exactly 5 % below
        ("37999.99", "15000.00", False),
        ("40000.00", "15000.00", False),  # at the threshold: not just under it
        ("86000.00", "30000.00", True),
    ],
)
def test_an_amount_just_under_a_threshold_is_a_risk(amount: str, history: str, fires: bool) -> None:
    facts = an_invoice(amount, supplier_history=a_history(history))
    assert fired(facts) == ([(RiskRule.JUST_UNDER_THRESHOLD, 20)] if fires else [])


def test_the_threshold_explanation_names_the_threshold() -> None:
    facts = an_invoice("39500.00", supplier_history=a_history("15000.00"))
    assert score(facts, RULES).reasons[0].explanation == (
        "amount 39500.00 is within 5% below the threshold 40000"
    )


def test_the_score_adds_the_weights_of_every_rule_that_fires() -> None:
    facts = an_invoice(supplier_history=(), bank_account_changed_on=date(2025, 2, 25))
    result = score(facts, RULES)
    assert result.total == 70
    assert [reason.rule for reason in result.reasons] == [
        RiskRule.NEW_SUPPLIER,
        RiskRule.BANK_ACCOUNT_CHANGED,
    ]


# The decision


def test_a_score_at_the_threshold_selects_the_invoice() -> None:
    twin = PastInvoice("F-6bis", Decimal("1200.00"), date(2025, 2, 20), paid=True)
    decision = select_for_control(
        "invoice-1", an_invoice(supplier_history=(*a_history(), twin)), a_plan(threshold=50)
    )
    assert (decision.selected, decision.by_draw, decision.score.total) == (True, False, 50)


def test_a_score_below_the_threshold_does_not_select_the_invoice() -> None:
    decision = select_for_control(
        "invoice-1", an_invoice(supplier_history=()), a_plan(threshold=50)
    )
    assert (decision.selected, decision.by_draw, decision.score.total) == (False, False, 30)


def test_the_draw_selects_an_invoice_whatever_its_score() -> None:
    decision = select_for_control("invoice-1", an_invoice(), a_plan(share="1"))
    assert (decision.selected, decision.by_draw, decision.score.total) == (True, True, 0)
