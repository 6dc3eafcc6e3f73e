"""`InvoiceWorkflow`: one invoice from its deposit to its last status.

Named `invoice:{seller}:{number}`, so a number is one process: depositing the same file
again answers the first outcome, another file under the same number is a conflict. The
deposit is an Update, answered in the same HTTP call once the invoice is validated
(on the `chaine-cpu` queue) and recorded. A rejected invoice ends its run, so a corrected
file may be deposited under the same number.

An accepted invoice then lives here: people act on it through the `act` Update (checked
against the one transition table before it is admitted), the workflow issues its mandate,
and it holds the legal payment clock as a durable timer, stopped while the invoice is
suspended. Every status change is recorded with its history row and its event.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.invoices import InvoiceStoreActivities
    from activities.validation import ValidationActivities
    from core.errors import ChaineError
    from core.principals import Role
    from invoicing import deadlines
    from invoicing.control_plan import DEFAULT_RULES, ControlPlan, select_for_control
    from invoicing.interest import late_interest
    from invoicing.lifecycle_codes import lifecycle_code
    from invoicing.reasons import check_reason
    from invoicing.statuses import FINAL_STATUSES, InvoiceStatus
    from invoicing.transitions import SYSTEM, Action, Actor, next_status
    from workflows import search_attributes as sa
    from workflows.deposits import (
        DepositOutcome,
        DepositRequest,
        InvoiceInput,
        PlatformCheck,
        RecordDeposit,
        RoutingKeys,
        ValidateInput,
        with_platform_findings,
    )
    from workflows.invoice_actions import (
        ActionOutcome,
        ActionRequest,
        MandateRequest,
        RerouteCheck,
        RiskQuery,
        TransitionRecord,
        control_record,
    )

INVOICE_IDS = uuid.UUID("5b0d1c1e-8f61-4c1e-9a53-4c6f1d3c0a11")

# Validation is retried until it answers: a failure of ours must never become a rejection.
VALIDATION_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)
)
VALIDATION_TIMEOUT = timedelta(minutes=10)  # a 20 MB invoice of many thousand lines
VALIDATION_HEARTBEAT = timedelta(seconds=10)  # a dead worker is noticed this fast
STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=30)
)
STORE_TIMEOUT = timedelta(seconds=30)

# Statuses the workflow itself moves on from: mandate, first validator, delivery.
SYSTEM_STEPS = frozenset(
    {
        InvoiceStatus.SERVICE_FAIT,
        InvoiceStatus.MISE_A_DISPOSITION_PREMIER_VALIDEUR,
        InvoiceStatus.VALIDEE_PREMIER_VALIDEUR,
    }
)


def invoice_workflow_id(seller_key: str, number: str) -> str:
    """The id of the process of this seller's invoice number."""
    return f"invoice:{seller_key}:{number}"


def invoice_id_of(workflow_id: str, run_id: str) -> str:
    """The public id of the invoice deposited in this run (stable across retries).

    `run_id` is the chain's first run: a reset (operators, the Temporal UI) starts a new
    run that replays the deposit, and the invoice must keep its id through it.
    """
    return str(uuid.uuid5(INVOICE_IDS, f"{workflow_id}/{run_id}"))


def refusal(error: ChaineError) -> ApplicationError:
    """A domain refusal as the failure an Update answers with (type = the error code)."""
    return ApplicationError(
        error.detail,
        {"http_status": error.status, **error.extra},
        type=str(error.code),
        non_retryable=True,
    )


@workflow.defn
class InvoiceWorkflow:
    """Intake, then the life of one invoice."""

    @workflow.init
    def __init__(self, input: InvoiceInput) -> None:
        self._input = input
        self._lock = asyncio.Lock()
        self._original: str | None = None
        self._outcome: DepositOutcome | None = None
        self._status: InvoiceStatus | None = None
        self._invoice_id = ""
        self._sequence = 0
        self._clock: deadlines.PaymentClock | None = None
        self._amount_due = Decimal(0)
        self._overdue = False
        self._keys: RoutingKeys | None = None
        self._presumed = False  # SFP commitment: service done is presumed at reception
        self._awaiting_control = False  # drawn by the control plan: the accountant decides

    @workflow.run
    async def run(self, input: InvoiceInput) -> str:
        """Wait for the deposit, then hold the payment clock until a final status."""
        await workflow.wait_condition(lambda: self._outcome is not None)
        while self._status not in FINAL_STATUSES:
            if self._presumption_due():
                await self._presume_service_done()
                continue
            if self._status is InvoiceStatus.SERVICE_FAIT and self._awaiting_control:
                await workflow.wait_condition(
                    lambda: (
                        not self._awaiting_control or self._status is not InvoiceStatus.SERVICE_FAIT
                    )
                )
                continue
            if self._status is InvoiceStatus.SERVICE_FAIT:
                await self._issue_mandate()
                continue
            if self._status is InvoiceStatus.MISE_A_DISPOSITION_PREMIER_VALIDEUR:
                await self._await_first_validator()
                continue
            if self._status is InvoiceStatus.VALIDEE_PREMIER_VALIDEUR:
                async with self._lock:
                    await self._transition(Action.DELIVER, SYSTEM, SYSTEM.value, None, None, {})
                continue
            try:
                await workflow.wait_condition(self._needs_attention, timeout=self._until_due())
            except TimeoutError:
                await self._mark_overdue()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return str(self._status)

    @workflow.query
    def status(self) -> str | None:
        """The current status, for operators."""
        return self._status.value if self._status else None

    def _needs_attention(self) -> bool:
        return (
            self._status in FINAL_STATUSES
            or self._status in SYSTEM_STEPS
            or self._presumption_due()
        )

    def _presumption_due(self) -> bool:
        return self._presumed and self._status is InvoiceStatus.MISE_A_DISPOSITION

    def _until_due(self) -> timedelta | None:
        """Time to the due date, or None when there is no running clock to watch."""
        due = deadlines.due_at(self._clock) if self._clock and not self._overdue else None
        return None if due is None else max(due - workflow.now(), timedelta(seconds=1))

    # --- deposit -------------------------------------------------------------------------

    @workflow.update
    async def deposit(self, request: DepositRequest) -> DepositOutcome:
        """Validate and record a deposited file; replays and conflicts answer at once."""
        async with self._lock:
            if self._outcome is not None:
                if request.original_sha256 == self._original:
                    return replace(self._outcome, created=False)
                return replace(self._outcome, report={}, created=False, conflict=True)
            self._original = request.original_sha256
            self._outcome = await self._intake(request)
            return self._outcome

    async def _intake(self, request: DepositRequest) -> DepositOutcome:
        info = workflow.info()
        # The first run of the chain: the same as run_id for every run never reset (so the
        # histories recorded before this line replay unchanged), stable through a reset.
        self._invoice_id = invoice_id_of(info.workflow_id, info.first_execution_run_id)
        result = await workflow.execute_activity_method(
            ValidationActivities.validate_deposit,
            ValidateInput(request.original_sha256, request.media_type),
            task_queue=self._input.cpu_task_queue,
            start_to_close_timeout=VALIDATION_TIMEOUT,
            heartbeat_timeout=VALIDATION_HEARTBEAT,
            retry_policy=VALIDATION_RETRY,
        )
        report, keys, routing = result.report, result.keys, None
        if keys is not None:
            routing = await workflow.execute_activity_method(
                InvoiceStoreActivities.check_platform_rules,
                PlatformCheck(self._invoice_id, self._input.seller_key, keys),
                start_to_close_timeout=STORE_TIMEOUT,
                retry_policy=STORE_RETRY,
            )
            report = with_platform_findings(report, routing.findings)
        works = bool(routing and routing.works)
        self._keys = keys
        self._presumed = bool(routing and routing.service_done_presumed and not works)
        if report["valid"] and routing is not None and routing.category is not None:
            # Works statements go to the project manager (MOE) first, then to the buyer.
            available = (
                InvoiceStatus.MISE_A_DISPOSITION_PREMIER_VALIDEUR
                if works
                else InvoiceStatus.MISE_A_DISPOSITION
            )
            statuses = [InvoiceStatus.DEPOSEE, available]
            self._clock = deadlines.start_clock(
                request.received_at, routing.category, self._input.deadlines
            )
            self._amount_due = Decimal(keys.amount_due or 0) if keys else Decimal(0)
        else:
            statuses = [InvoiceStatus.REJETEE]
        due = deadlines.due_at(self._clock) if self._clock else None
        await workflow.execute_activity_method(
            InvoiceStoreActivities.record_deposit,
            RecordDeposit(
                invoice_id=self._invoice_id,
                workflow_id=info.workflow_id,
                run_id=info.first_execution_run_id,
                seller_key=self._input.seller_key,
                number=self._input.number,
                request=request,
                report=report,
                status=statuses[-1].value,
                keys=keys,
                canonical_sha256=result.canonical_sha256,
                statuses=[s.value for s in statuses],
                category=routing.category if routing else None,
                due_at=due,
                works=works,
                service_done_presumed=self._presumed,
            ),
            start_to_close_timeout=STORE_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
        self._status = statuses[-1]
        self._sequence = len(statuses)
        workflow.upsert_search_attributes(
            [
                sa.KIND.value_set("invoice"),
                sa.STATUS.value_set(self._status.value),
                sa.SUPPLIER.value_set(self._input.seller_key),
                *([sa.STRUCTURE.value_set(keys.buyer_siret)] if keys and keys.buyer_siret else []),
                *(
                    [sa.AMOUNT.value_set(float(keys.amount_due))]
                    if keys and keys.amount_due
                    else []
                ),
            ]
        )
        return DepositOutcome(invoice_id=self._invoice_id, status=self._status.value, report=report)

    # --- people's actions ----------------------------------------------------------------

    @workflow.update
    async def act(self, request: ActionRequest) -> ActionOutcome:
        """Take an action on the invoice; the answer is its new status."""
        async with self._lock:  # one action at a time, each checked on the status it finds
            try:
                action, actor = self._check(request)
                clock = self._clock_after(action)
            except ChaineError as error:
                raise refusal(error) from None
            changes: dict[str, object] = {}
            if action is Action.CERTIFY_SERVICE_DONE:
                changes["certified_amount"] = request.amount or self._amount_due
            if action is Action.MOE_AMEND and request.amount is not None:
                changes["validated_amount"] = self._amount_due = request.amount
            if action is Action.MARK_PAID and request.paid_on is not None:
                changes.update(self._interest_on(request.paid_on))
            if action is Action.REROUTE:
                changes.update(await self._reroute_to(request))
            if request.attachments:
                changes["attachments_added"] = request.attachments
            self._clock = clock
            if action in (Action.CONTROL_APPROVE, Action.CONTROL_REJECT):
                self._awaiting_control = False
            await self._transition(
                action, actor, request.actor, request.reason, request.comment, changes
            )
            return ActionOutcome(
                self._status.value if self._status else "",
                self._sequence,
                deadlines.due_at(self._clock) if self._clock else None,
            )

    @act.validator
    def _validate_act(self, request: ActionRequest) -> None:
        """Refuse an impossible action before it enters the history."""
        try:
            self._check(request)
            self._clock_after(Action(request.action))
        except ChaineError as error:
            raise refusal(error) from None

    def _check(self, request: ActionRequest) -> tuple[Action, Actor]:
        if self._status is None:
            raise ApplicationError(
                "the invoice is not deposited yet",
                {"http_status": 404},
                type="INVOICE_NOT_FOUND",
                non_retryable=True,
            )
        action = Action(request.action)
        # Another workflow of Chaîne (a payment run, a bank statement) acts as the system;
        # the API always sends the caller's own role, so no client can claim it.
        actor: Actor = SYSTEM if request.role == SYSTEM.value else Role(request.role)
        next_status(self._status, action, actor)
        if action in (Action.CONTROL_APPROVE, Action.CONTROL_REJECT) and not self._awaiting_control:
            raise ApplicationError(
                "this invoice was not drawn for control",
                {"http_status": 409},
                type="INVOICE_TRANSITION_REFUSED",
                non_retryable=True,
            )
        check_reason(action, request.reason)
        if action is Action.MARK_PAID and request.paid_on is None:
            raise ApplicationError(
                "MARK_PAID needs the payment date", type="VALIDATION_FAILED", non_retryable=True
            )
        if action is Action.MOE_AMEND and request.amount is None:
            raise ApplicationError(
                "MOE_AMEND needs the validated amount",
                type="VALIDATION_FAILED",
                non_retryable=True,
            )
        return action, actor

    def _clock_after(self, action: Action) -> deadlines.PaymentClock | None:
        """The payment clock once `action` is taken (SUSPEND stops it, COMPLETE restarts it)."""
        if self._clock is None:
            return None
        if action is Action.SUSPEND:
            return deadlines.suspend(self._clock, workflow.now())
        if action is Action.COMPLETE:
            return deadlines.resume(self._clock, workflow.now())
        return self._clock

    def _interest_on(self, paid_on: date) -> dict[str, object]:
        """Late interest and the 40 € compensation when paid after the due date."""
        due = deadlines.due_on(self._clock) if self._clock else None
        if due is None:
            return {"paid_on": paid_on}
        interest = late_interest(self._amount_due, due, paid_on)
        if not interest.days_late:
            return {"paid_on": paid_on}
        return {
            "paid_on": paid_on,
            "late_interest": interest.interest,
            "late_compensation": interest.compensation,
        }

    # --- the workflow's own steps --------------------------------------------------------

    async def _issue_mandate(self) -> None:
        """1 invoice = 1 mandate: idempotent, unique in the database."""
        number = await workflow.execute_activity_method(
            InvoiceStoreActivities.issue_mandate,
            MandateRequest(self._invoice_id, self._amount_due),
            start_to_close_timeout=STORE_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
        async with self._lock:
            await self._transition(
                Action.ISSUE_MANDATE, SYSTEM, SYSTEM.value, None, f"mandate {number}", {}
            )

    async def _reroute_to(self, request: ActionRequest) -> dict[str, object]:
        """The new recipient, once the platform rules accept it (an active structure, a
        known active service where one is required)."""
        keys = self._keys
        buyer = request.buyer_siret or (keys.buyer_siret if keys else None)
        if buyer is None:
            raise ApplicationError(
                "REROUTE needs the new buyer SIRET",
                {"http_status": 422},
                type="VALIDATION_FAILED",
                non_retryable=True,
            )
        findings = await workflow.execute_activity_method(
            InvoiceStoreActivities.check_reroute,
            RerouteCheck(buyer, request.service_code),
            start_to_close_timeout=STORE_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
        if findings:
            raise ApplicationError(
                "the new recipient is refused: " + "; ".join(f["message"] for f in findings),
                {"http_status": 422, "findings": findings},
                type="INVOICE_REROUTE_REFUSED",
                non_retryable=True,
            )
        if keys is not None:
            self._keys = replace(keys, buyer_siret=buyer, service_code=request.service_code)
        workflow.upsert_search_attributes([sa.STRUCTURE.value_set(buyer)])
        return {"buyer_siret": buyer, "service_code": request.service_code}

    async def _presume_service_done(self) -> None:
        """SFP: service done is presumed at reception; the control plan may hold the invoice
        for the accountant's control (a random draw, or a risk score at the threshold)."""
        keys = self._keys
        assert keys is not None and keys.issue_date is not None
        facts = await workflow.execute_activity_method(
            InvoiceStoreActivities.gather_risk_facts,
            RiskQuery(
                invoice_id=self._invoice_id,
                seller_key=self._input.seller_key,
                number=self._input.number,
                amount_excl_vat=Decimal(keys.total_without_vat or 0),
                issued_on=keys.issue_date,
                received_on=workflow.now().date(),
                iban=keys.iban,
            ),
            start_to_close_timeout=STORE_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
        control = self._input.control
        plan = ControlPlan(control.share, control.seed, control.threshold, DEFAULT_RULES)
        decision = select_for_control(self._invoice_id, facts, plan)
        async with self._lock:
            self._presumed = False
            self._awaiting_control = decision.selected
            await self._transition(
                Action.PRESUME_SERVICE_DONE,
                SYSTEM,
                SYSTEM.value,
                None,
                "controlled: the accountant decides" if decision.selected else None,
                {"control": control_record(decision)},
            )

    async def _await_first_validator(self) -> None:
        """The MOE answers within the validation period; silence is tacit acceptance."""
        waiting = InvoiceStatus.MISE_A_DISPOSITION_PREMIER_VALIDEUR
        try:
            await workflow.wait_condition(
                lambda: self._status is not waiting, timeout=self._input.deadlines.moe_validation
            )
        except TimeoutError:
            async with self._lock:
                if self._status is waiting:
                    await self._transition(
                        Action.MOE_TACIT_ACCEPT,
                        SYSTEM,
                        SYSTEM.value,
                        None,
                        "tacit acceptance: no answer within the validation period",
                        {},
                    )

    async def _mark_overdue(self) -> None:
        """The due date passed unpaid: say so (the status does not change)."""
        async with self._lock:
            self._overdue = True
            await self._record("invoice.overdue", SYSTEM.value, None, None, {})

    async def _transition(
        self,
        action: Action,
        actor: Actor,
        author: str,
        reason: str | None,
        comment: str | None,
        changes: dict[str, object],
    ) -> None:
        target = next_status(self._status, action, actor)  # type: ignore[arg-type]
        partial = action is Action.CERTIFY_SERVICE_DONE and changes.get("certified_amount") not in (
            None,
            self._amount_due,
        )
        self._status = target
        await self._record(
            "invoice.status_changed",
            author,
            reason,
            comment,
            changes,
            lifecycle_code(target, partial=partial),
        )
        workflow.upsert_search_attributes([sa.STATUS.value_set(target.value)])

    async def _record(
        self,
        event_type: str,
        author: str,
        reason: str | None,
        comment: str | None,
        changes: dict[str, object],
        code: object = None,
    ) -> None:
        self._sequence += 1
        clock = self._clock
        interruption = clock.interruption if clock else None
        await workflow.execute_activity_method(
            InvoiceStoreActivities.record_transition,
            TransitionRecord(
                invoice_id=self._invoice_id,
                sequence=self._sequence,
                status=str(self._status),
                actor=author,
                at=workflow.now(),
                event_type=event_type,
                lifecycle_code=str(code) if code else None,
                reason=reason,
                comment=comment,
                due_at=deadlines.due_at(clock) if clock else None,
                suspended_since=(
                    interruption.start if interruption and interruption.end is None else None
                ),
                **changes,  # type: ignore[arg-type]
            ),
            start_to_close_timeout=STORE_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
