"""Which action moves an invoice from which status to which, and who may take it.

One table, `TRANSITIONS`: each action has one row giving the statuses it starts from, the
status it leads to and the actors allowed to take it. An invoice starts at DEPOSEE, or at
REJETEE when intake refuses the file; everything after is a row of this table. Statuses
with no way out are exactly `FINAL_STATUSES`.

Decisions the table encodes:
- Accounting steps follow one another (SERVICE_FAIT, MANDATEE, MISE_A_DISPOSITION_COMPTABLE,
  COMPTABILISEE, MISE_EN_PAIEMENT, PAYEE); no row skips one, so PAYEE before COMPTABILISEE
  cannot happen.
- SUSPEND only from PRISE_EN_COMPTE, never after the mandate (R2192-27: an accountant's
  buyer may interrupt the deadline only before ordering the expense) and not from COMPLETEE
  (R2192-27: once). Loops back to PRISE_EN_COMPTE (recycling, accountant rejection) can
  reach SUSPEND again: `invoicing.deadlines.suspend` refuses a second interruption.
- ACCOUNTANT_REJECT sends the invoice back to PRISE_EN_COMPTE: the mandate is void and the
  buyer re-examines the invoice (certify again, reject it, or have it completed).
- MOE_REFUSE is final (REFUSEE_PREMIER_VALIDEUR): a works statement cannot be edited, the
  supplier deposits a corrected one, as after a rejection.
- The workflow itself is an actor, `SYSTEM`: routing, presumed service done, tacit MOE
  acceptance, mandates, and statuses fed back by the accounting system or the bank.
- Operators (Role.OPS) see everything but take no business decision: no row names them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.errors import ChaineError, ErrorCode
from core.principals import Role
from invoicing.statuses import InvoiceStatus


class SystemActor(StrEnum):
    """The workflow, acting on a timer or on a message from another system."""

    SYSTEM = "system"


SYSTEM = SystemActor.SYSTEM

Actor = Role | SystemActor
"""Who takes an action: a principal's role, or the system; recorded as the author."""


class Action(StrEnum):
    """What can happen to an invoice; each leads to exactly one status."""

    ROUTE = "ROUTE"  # platform: the recipient is being reached
    DELIVER = "DELIVER"  # platform: available to the buyer
    DELIVER_TO_FIRST_VALIDATOR = "DELIVER_TO_FIRST_VALIDATOR"  # platform: works, to the MOE
    REJECT_AT_INTAKE = "REJECT_AT_INTAKE"  # platform: routing failed after deposit
    CANCEL = "CANCEL"  # supplier, before anyone processes it
    MOE_ACCEPT = "MOE_ACCEPT"
    MOE_AMEND = "MOE_AMEND"  # accepted for the amount the MOE validated
    MOE_REFUSE = "MOE_REFUSE"
    MOE_TACIT_ACCEPT = "MOE_TACIT_ACCEPT"  # MOE silent past the validation period
    TAKE = "TAKE"  # the buyer takes the invoice in charge
    SUSPEND = "SUSPEND"  # documents or mentions missing: interrupts the deadline
    COMPLETE = "COMPLETE"  # the supplier sends what was missing
    REJECT = "REJECT"
    RECYCLE = "RECYCLE"  # wrong structure or service
    REROUTE = "REROUTE"  # to another active structure
    CERTIFY_SERVICE_DONE = "CERTIFY_SERVICE_DONE"  # for the full or a partial amount
    PRESUME_SERVICE_DONE = "PRESUME_SERVICE_DONE"  # service fait présumé (SFP) commitment
    CONTROL_APPROVE = "CONTROL_APPROVE"  # SFP invoice drawn for control: found regular
    CONTROL_REJECT = "CONTROL_REJECT"  # SFP invoice drawn for control: back to the buyer
    ISSUE_MANDATE = "ISSUE_MANDATE"  # one invoice, one mandate
    MAKE_AVAILABLE_TO_ACCOUNTANT = "MAKE_AVAILABLE_TO_ACCOUNTANT"  # mandate integrated
    ACCOUNTANT_REJECT = "ACCOUNTANT_REJECT"
    ACCOUNT = "ACCOUNT"
    PAYMENT_ISSUED = "PAYMENT_ISSUED"  # transfer sent
    MARK_PAID = "MARK_PAID"  # payment confirmed, with its date
    PAYMENT_REJECTED = "PAYMENT_REJECTED"  # the bank returned the transfer, with its reason


@dataclass(frozen=True)
class Transition:
    """One row of the table: `action` leads from any of `sources` to `target`."""

    action: Action
    sources: frozenset[InvoiceStatus]
    target: InvoiceStatus
    actors: frozenset[Actor]


def _row(
    action: Action, sources: set[InvoiceStatus], target: InvoiceStatus, actors: set[Actor]
) -> Transition:
    return Transition(action, frozenset(sources), target, frozenset(actors))


_S = InvoiceStatus
_BEFORE_DELIVERY = {_S.DEPOSEE, _S.EN_COURS_ACHEMINEMENT}
_IN_PROCESSING = {_S.PRISE_EN_COMPTE, _S.COMPLETEE}

TRANSITIONS: tuple[Transition, ...] = (
    _row(Action.ROUTE, {_S.DEPOSEE}, _S.EN_COURS_ACHEMINEMENT, {SYSTEM}),
    # Routing may be immediate (recipient on this platform): DEPOSEE straight to delivery.
    _row(
        Action.DELIVER,
        {*_BEFORE_DELIVERY, _S.VALIDEE_PREMIER_VALIDEUR},
        _S.MISE_A_DISPOSITION,
        {SYSTEM},
    ),
    _row(
        Action.DELIVER_TO_FIRST_VALIDATOR,
        _BEFORE_DELIVERY,
        _S.MISE_A_DISPOSITION_PREMIER_VALIDEUR,
        {SYSTEM},
    ),
    _row(Action.REJECT_AT_INTAKE, _BEFORE_DELIVERY, _S.REJETEE, {SYSTEM}),
    _row(
        Action.CANCEL,
        {
            *_BEFORE_DELIVERY,
            _S.MISE_A_DISPOSITION,
            _S.MISE_A_DISPOSITION_PREMIER_VALIDEUR,
            _S.A_RECYCLER,
        },
        _S.ANNULEE,
        {Role.SUPPLIER},
    ),
    # Works contracts (CCAG Travaux): the MOE validates the statement before the buyer.
    _row(
        Action.MOE_ACCEPT,
        {_S.MISE_A_DISPOSITION_PREMIER_VALIDEUR},
        _S.VALIDEE_PREMIER_VALIDEUR,
        {Role.MOE},
    ),
    _row(
        Action.MOE_AMEND,
        {_S.MISE_A_DISPOSITION_PREMIER_VALIDEUR},
        _S.VALIDEE_PREMIER_VALIDEUR,
        {Role.MOE},
    ),
    _row(
        Action.MOE_REFUSE,
        {_S.MISE_A_DISPOSITION_PREMIER_VALIDEUR},
        _S.REFUSEE_PREMIER_VALIDEUR,
        {Role.MOE},
    ),
    _row(
        Action.MOE_TACIT_ACCEPT,
        {_S.MISE_A_DISPOSITION_PREMIER_VALIDEUR},
        _S.VALIDEE_PREMIER_VALIDEUR,
        {SYSTEM},
    ),
    # Processing by the recipient.
    _row(Action.TAKE, {_S.MISE_A_DISPOSITION}, _S.PRISE_EN_COMPTE, {Role.BUYER}),
    _row(Action.SUSPEND, {_S.PRISE_EN_COMPTE}, _S.SUSPENDUE, {Role.BUYER}),
    _row(Action.COMPLETE, {_S.SUSPENDUE}, _S.COMPLETEE, {Role.SUPPLIER}),
    _row(
        Action.REJECT,
        {_S.MISE_A_DISPOSITION, _S.SUSPENDUE, *_IN_PROCESSING},
        _S.REJETEE,
        {Role.BUYER},
    ),
    _row(Action.RECYCLE, {_S.MISE_A_DISPOSITION, *_IN_PROCESSING}, _S.A_RECYCLER, {Role.BUYER}),
    _row(Action.REROUTE, {_S.A_RECYCLER}, _S.MISE_A_DISPOSITION, {Role.SUPPLIER, Role.BUYER}),
    _row(Action.CERTIFY_SERVICE_DONE, _IN_PROCESSING, _S.SERVICE_FAIT, {Role.BUYER}),
    # SFP: paid without prior certification, checked afterwards by the control plan.
    _row(
        Action.PRESUME_SERVICE_DONE,
        {_S.MISE_A_DISPOSITION, *_IN_PROCESSING},
        _S.SERVICE_FAIT,
        {SYSTEM},
    ),
    # A presumed service drawn for control waits for the accountant's decision: approved,
    # it goes on to the mandate; refused, the buyer must certify it (or reject it).
    _row(Action.CONTROL_APPROVE, {_S.SERVICE_FAIT}, _S.SERVICE_FAIT, {Role.ACCOUNTANT}),
    _row(Action.CONTROL_REJECT, {_S.SERVICE_FAIT}, _S.PRISE_EN_COMPTE, {Role.ACCOUNTANT}),
    # Accounting, in this order only.
    _row(Action.ISSUE_MANDATE, {_S.SERVICE_FAIT}, _S.MANDATEE, {SYSTEM}),
    _row(
        Action.MAKE_AVAILABLE_TO_ACCOUNTANT,
        {_S.MANDATEE},
        _S.MISE_A_DISPOSITION_COMPTABLE,
        {Role.ACCOUNTANT, SYSTEM},
    ),
    _row(
        Action.ACCOUNTANT_REJECT,
        {_S.MISE_A_DISPOSITION_COMPTABLE},
        _S.PRISE_EN_COMPTE,
        {Role.ACCOUNTANT},
    ),
    _row(Action.ACCOUNT, {_S.MISE_A_DISPOSITION_COMPTABLE}, _S.COMPTABILISEE, {Role.ACCOUNTANT}),
    _row(Action.PAYMENT_ISSUED, {_S.COMPTABILISEE}, _S.MISE_EN_PAIEMENT, {Role.ACCOUNTANT, SYSTEM}),
    _row(Action.MARK_PAID, {_S.MISE_EN_PAIEMENT}, _S.PAYEE, {Role.ACCOUNTANT, SYSTEM}),
    # A transfer the bank rejects or returns (closed account...): back to the accountant,
    # whose next payment run pays it again once the supplier's bank details are fixed.
    _row(Action.PAYMENT_REJECTED, {_S.MISE_EN_PAIEMENT}, _S.COMPTABILISEE, {SYSTEM}),
)

_ROW_OF = {row.action: row for row in TRANSITIONS}


class TransitionRefused(ChaineError):
    """The action cannot be taken from the invoice's current status."""

    code = ErrorCode.INVOICE_TRANSITION_REFUSED
    status = 409


class ActionForbidden(ChaineError):
    """The actor's role may not take this action, whatever the status."""

    code = ErrorCode.FORBIDDEN_ROLE
    status = 403


def allowed_actions(current: InvoiceStatus, actor: Actor) -> list[Action]:
    """The actions `actor` may take from `current`, in table order (for UIs and refusals)."""
    return [row.action for row in TRANSITIONS if current in row.sources and actor in row.actors]


def next_status(current: InvoiceStatus, action: Action, actor: Actor) -> InvoiceStatus:
    """The status `action` by `actor` leads to from `current`, or a 403/409 refusal."""
    row = _ROW_OF[action]
    if actor not in row.actors:
        raise ActionForbidden(
            f"{action} is taken by {', '.join(sorted(row.actors))}, not by {actor}",
            action=action.value,
            actor=str(actor),
        )
    if current not in row.sources:
        allowed = allowed_actions(current, actor)
        raise TransitionRefused(
            f"the invoice is {current}: {action} is not possible from this status; "
            f"{actor} may: {', '.join(allowed) or 'nothing'}",
            invoice_status=current.value,
            action=action.value,
            allowed_actions=[a.value for a in allowed],
        )
    return row.target
