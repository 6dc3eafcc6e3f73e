"""The invoice lifecycle: the transition table, refusals, coded reasons, lifecycle codes.

The matrices are generated from the enums, so a new status or action is tested (or fails
a test) without anyone remembering to add it here.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from core.errors import ErrorCode, InvalidInput
from core.principals import Role
from invoicing.lifecycle_codes import (
    CODE_OF_STATUS,
    MANDATORY_CODES,
    LifecycleCode,
    lifecycle_code,
)
from invoicing.reasons import (
    REASONS,
    AccountantRejectionReason,
    BankReturnReason,
    RejectionReason,
    check_reason,
)
from invoicing.statuses import FINAL_STATUSES, InvoiceStatus
from invoicing.transitions import (
    SYSTEM,
    TRANSITIONS,
    Action,
    ActionForbidden,
    Actor,
    TransitionRefused,
    allowed_actions,
    next_status,
)

S = InvoiceStatus
ROW = {row.action: row for row in TRANSITIONS}
ACTORS: list[Actor] = [*Role, SYSTEM]
ACCOUNTING_ORDER = [
    S.SERVICE_FAIT,
    S.MANDATEE,
    S.MISE_A_DISPOSITION_COMPTABLE,
    S.COMPTABILISEE,
    S.MISE_EN_PAIEMENT,
    S.PAYEE,
]


def an_allowed_actor(action: Action) -> Actor:
    return sorted(ROW[action].actors)[0]


def reachable(
    starts: Iterable[InvoiceStatus],
    without: InvoiceStatus | None = None,
) -> set[InvoiceStatus]:
    seen = set(starts)
    frontier = list(seen)
    while frontier:
        current = frontier.pop()
        for row in TRANSITIONS:
            if current in row.sources and row.target not in seen and row.target != without:
                seen.add(row.target)
                frontier.append(row.target)
    return seen


def walk(status: InvoiceStatus, *steps: tuple[Action, Actor]) -> InvoiceStatus:
    for action, actor in steps:
        status = next_status(status, action, actor)
    return status


# The table


def test_every_action_has_exactly_one_row() -> None:
    assert sorted(row.action for row in TRANSITIONS) == sorted(Action)


@pytest.mark.parametrize(
    ("current", "action", "actor"),
    [
        (source, row.action, actor)
        for row in TRANSITIONS
        for source in sorted(row.sources)
        for actor in sorted(row.actors)
    ],
)
def test_every_allowed_transition_leads_to_its_target(
    current: InvoiceStatus, action: Action, actor: Actor
) -> None:
    assert next_status(current, action, actor) is ROW[action].target
    assert action in allowed_actions(current, actor)


@pytest.mark.parametrize(
    ("current", "action"),
    [(status, action) for status in S for action in Action if status not in ROW[action].sources],
)
def test_every_other_status_and_action_is_refused_with_409_naming_the_status(
    current: InvoiceStatus, action: Action
) -> None:
    actor = an_allowed_actor(action)
    with pytest.raises(TransitionRefused) as refused:
        next_status(current, action, actor)
    assert refused.value.status == 409
    assert refused.value.code is ErrorCode.INVOICE_TRANSITION_REFUSED
    assert f"the invoice is {current}" in refused.value.detail
    assert refused.value.extra["invoice_status"] == current.value
    assert refused.value.extra["allowed_actions"] == allowed_actions(current, actor)
    assert action not in allowed_actions(current, actor)


@pytest.mark.parametrize(
    ("action", "actor"),
    [(action, actor) for action in Action for actor in ACTORS if actor not in ROW[action].actors],
)
def test_an_actor_not_in_the_row_is_refused_with_403(action: Action, actor: Actor) -> None:
    some_source = sorted(ROW[action].sources)[0]
    with pytest.raises(ActionForbidden) as forbidden:
        next_status(some_source, action, actor)
    assert forbidden.value.status == 403
    assert forbidden.value.code is ErrorCode.FORBIDDEN_ROLE
    assert action not in allowed_actions(some_source, actor)


def test_the_refusal_tells_the_buyer_what_it_may_do_instead() -> None:
    with pytest.raises(TransitionRefused) as refused:
        next_status(S.MISE_A_DISPOSITION, Action.CERTIFY_SERVICE_DONE, Role.BUYER)
    assert refused.value.detail == (
        "the invoice is MISE_A_DISPOSITION: CERTIFY_SERVICE_DONE is not possible from this "
        "status; buyer may: TAKE, REJECT, RECYCLE"
    )


def test_final_statuses_are_exactly_those_with_no_way_out() -> None:
    with_exit = {source for row in TRANSITIONS for source in row.sources}
    assert set(S) - with_exit == FINAL_STATUSES


def test_every_status_is_reachable_from_a_deposit() -> None:
    # Intake either accepts the file (DEPOSEE) or rejects it at once (REJETEE).
    assert reachable([S.DEPOSEE, S.REJETEE]) == set(S)


def test_operators_take_no_business_action() -> None:
    assert all(allowed_actions(status, Role.OPS) == [] for status in S)


# The sequence guard of accounting


def test_payee_before_comptabilisee_is_refused() -> None:
    with pytest.raises(TransitionRefused):
        next_status(S.MISE_A_DISPOSITION_COMPTABLE, Action.MARK_PAID, Role.ACCOUNTANT)
    with pytest.raises(TransitionRefused):
        next_status(S.SERVICE_FAIT, Action.PAYMENT_ISSUED, Role.ACCOUNTANT)


@pytest.mark.parametrize("step", ACCOUNTING_ORDER[:-1])
def test_no_path_to_payee_skips_an_accounting_status(step: InvoiceStatus) -> None:
    assert S.PAYEE not in reachable([S.DEPOSEE], without=step)


def test_accounting_statuses_only_move_forward_one_step_or_back_to_the_buyer() -> None:
    for index, status in enumerate(ACCOUNTING_ORDER[:-1]):
        targets = {row.target for row in TRANSITIONS if status in row.sources}
        # A presumed service drawn for control stays SERVICE_FAIT when the control approves;
        # a transfer the bank returns goes back one step, to be paid again.
        staying = {S.SERVICE_FAIT} if status is S.SERVICE_FAIT else set()
        returned = {S.COMPTABILISEE} if status is S.MISE_EN_PAIEMENT else set()
        assert targets - {S.PRISE_EN_COMPTE} - staying - returned == {ACCOUNTING_ORDER[index + 1]}


def test_a_returned_transfer_goes_back_to_the_accountant_with_the_bank_reason() -> None:
    assert next_status(S.MISE_EN_PAIEMENT, Action.PAYMENT_REJECTED, SYSTEM) is S.COMPTABILISEE
    with pytest.raises(ActionForbidden):
        next_status(S.MISE_EN_PAIEMENT, Action.PAYMENT_REJECTED, Role.ACCOUNTANT)
    assert check_reason(Action.PAYMENT_REJECTED, "AC04") is BankReturnReason.AC04
    with pytest.raises(InvalidInput):
        check_reason(Action.PAYMENT_REJECTED, None)


def test_a_control_keeps_or_sends_back_a_presumed_service() -> None:
    assert next_status(S.SERVICE_FAIT, Action.CONTROL_APPROVE, Role.ACCOUNTANT) is S.SERVICE_FAIT
    assert next_status(S.SERVICE_FAIT, Action.CONTROL_REJECT, Role.ACCOUNTANT) is S.PRISE_EN_COMPTE


# Paths people take


def test_an_invoice_goes_from_deposit_to_payment() -> None:
    assert (
        walk(
            S.DEPOSEE,
            (Action.ROUTE, SYSTEM),
            (Action.DELIVER, SYSTEM),
            (Action.TAKE, Role.BUYER),
            (Action.SUSPEND, Role.BUYER),
            (Action.COMPLETE, Role.SUPPLIER),
            (Action.CERTIFY_SERVICE_DONE, Role.BUYER),
            (Action.ISSUE_MANDATE, SYSTEM),
            (Action.MAKE_AVAILABLE_TO_ACCOUNTANT, SYSTEM),
            (Action.ACCOUNT, Role.ACCOUNTANT),
            (Action.PAYMENT_ISSUED, SYSTEM),
            (Action.MARK_PAID, Role.ACCOUNTANT),
        )
        is S.PAYEE
    )


def test_a_works_statement_goes_to_the_moe_first_then_to_the_buyer() -> None:
    assert (
        walk(
            S.DEPOSEE,
            (Action.DELIVER_TO_FIRST_VALIDATOR, SYSTEM),
            (Action.MOE_AMEND, Role.MOE),
            (Action.DELIVER, SYSTEM),
        )
        is S.MISE_A_DISPOSITION
    )


def test_a_silent_moe_accepts_tacitly() -> None:
    assert (
        walk(S.MISE_A_DISPOSITION_PREMIER_VALIDEUR, (Action.MOE_TACIT_ACCEPT, SYSTEM))
        is S.VALIDEE_PREMIER_VALIDEUR
    )


def test_a_statement_refused_by_the_moe_is_final() -> None:
    status = next_status(S.MISE_A_DISPOSITION_PREMIER_VALIDEUR, Action.MOE_REFUSE, Role.MOE)
    assert status in FINAL_STATUSES
    assert allowed_actions(status, Role.SUPPLIER) == []


def test_a_buyer_cannot_take_a_works_statement_before_the_moe() -> None:
    with pytest.raises(TransitionRefused):
        next_status(S.MISE_A_DISPOSITION_PREMIER_VALIDEUR, Action.TAKE, Role.BUYER)


def test_an_accountant_rejection_sends_the_invoice_back_to_the_buyer() -> None:
    status = next_status(S.MISE_A_DISPOSITION_COMPTABLE, Action.ACCOUNTANT_REJECT, Role.ACCOUNTANT)
    assert status is S.PRISE_EN_COMPTE
    assert Action.CERTIFY_SERVICE_DONE in allowed_actions(status, Role.BUYER)


def test_a_misrouted_invoice_is_rerouted_by_the_supplier_or_the_buyer() -> None:
    recycled = next_status(S.PRISE_EN_COMPTE, Action.RECYCLE, Role.BUYER)
    assert recycled is S.A_RECYCLER
    assert next_status(recycled, Action.REROUTE, Role.SUPPLIER) is S.MISE_A_DISPOSITION
    assert next_status(recycled, Action.REROUTE, Role.BUYER) is S.MISE_A_DISPOSITION


def test_a_supplier_cannot_cancel_an_invoice_taken_in_charge() -> None:
    assert next_status(S.MISE_A_DISPOSITION, Action.CANCEL, Role.SUPPLIER) is S.ANNULEE
    with pytest.raises(TransitionRefused):
        next_status(S.PRISE_EN_COMPTE, Action.CANCEL, Role.SUPPLIER)


def test_a_completed_invoice_cannot_be_suspended_again() -> None:
    assert Action.SUSPEND not in allowed_actions(S.COMPLETEE, Role.BUYER)


def test_a_presumed_service_done_needs_no_buyer() -> None:
    assert next_status(S.MISE_A_DISPOSITION, Action.PRESUME_SERVICE_DONE, SYSTEM) is S.SERVICE_FAIT
    with pytest.raises(ActionForbidden):
        next_status(S.MISE_A_DISPOSITION, Action.PRESUME_SERVICE_DONE, Role.BUYER)


# Coded reasons


@pytest.mark.parametrize(
    "action",
    [Action.REJECT, Action.SUSPEND, Action.RECYCLE, Action.ACCOUNTANT_REJECT, Action.MOE_REFUSE],
)
def test_refusing_actions_need_a_reason(action: Action) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_reason(action, None)
    assert refused.value.status == 422
    assert refused.value.code is ErrorCode.INVOICE_REASON_REQUIRED


def test_a_reason_from_the_action_list_is_accepted_with_its_labels() -> None:
    reason = check_reason(Action.REJECT, "DUPLICATE")
    assert reason is RejectionReason.DUPLICATE
    assert (reason.label_fr, reason.label_en) == ("Facture en doublon", "Duplicate invoice")


def test_a_reason_of_another_list_is_unknown() -> None:
    with pytest.raises(InvalidInput) as refused:
        check_reason(Action.REJECT, AccountantRejectionReason.INSUFFICIENT_CREDITS.value)
    assert refused.value.code is ErrorCode.INVOICE_REASON_UNKNOWN
    assert "DUPLICATE" in refused.value.extra["reasons"]


def test_an_unknown_reason_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        check_reason(Action.RECYCLE, "BAD_MOOD")
    assert refused.value.code is ErrorCode.INVOICE_REASON_UNKNOWN


@pytest.mark.parametrize("action", [a for a in Action if a not in REASONS])
def test_other_actions_take_no_reason(action: Action) -> None:
    assert check_reason(action, None) is None
    with pytest.raises(InvalidInput) as refused:
        check_reason(action, "OTHER")
    assert refused.value.code is ErrorCode.INVOICE_REASON_UNKNOWN


def test_every_reason_has_a_french_and_an_english_label() -> None:
    for reasons in set(REASONS.values()):
        for reason in reasons:
            assert reason.label_fr and reason.label_en and reason.label_fr != reason.value


# Lifecycle codes (XP Z12-012)


def test_every_status_is_mapped_to_a_code_or_to_none() -> None:
    assert set(CODE_OF_STATUS) == set(S)


def test_the_mandatory_codes_are_all_sent() -> None:
    sent = {
        lifecycle_code(status, rejected_at_intake=intake)
        for status in S
        for intake in (False, True)
    }
    assert sent >= MANDATORY_CODES


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (S.DEPOSEE, "200"),
        (S.MISE_A_DISPOSITION, "203"),
        (S.PRISE_EN_COMPTE, "204"),
        (S.SUSPENDUE, "208"),
        (S.COMPLETEE, "209"),
        (S.REJETEE, "210"),
        (S.MISE_EN_PAIEMENT, "211"),
        (S.PAYEE, "212"),
    ],
)
def test_statuses_carry_their_reform_code(status: InvoiceStatus, code: str) -> None:
    assert lifecycle_code(status) == code


def test_a_rejection_is_refused_by_the_buyer_or_rejected_by_the_platform() -> None:
    assert lifecycle_code(S.REJETEE) is LifecycleCode.REFUSED
    assert lifecycle_code(S.REJETEE, rejected_at_intake=True) is LifecycleCode.REJECTED


def test_service_done_for_part_of_the_amount_is_partially_approved() -> None:
    assert lifecycle_code(S.SERVICE_FAIT) is LifecycleCode.APPROVED
    assert lifecycle_code(S.SERVICE_FAIT, partial=True) is LifecycleCode.PARTIALLY_APPROVED


def test_internal_accounting_steps_have_no_code() -> None:
    assert lifecycle_code(S.MANDATEE) is None
    assert lifecycle_code(S.COMPTABILISEE) is None
