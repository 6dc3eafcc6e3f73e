"""`ConsultationWorkflow`: one tender from its draft to the notified contract.

Named `consultation:{buyer_siret}:{reference}`. It holds the legal clocks as durable
timers (the submission deadline, moved by late amendments; the standstill) and answers
every step as an Update, so a supplier's bid gets its receipt in the same HTTP call and
a bid one second late is refused, with the refusal kept in the history and the `bids`
table. Times are the workflow's own: the instant the bid reached the process.

Bids stay sealed while the consultation is published or closed: the workflow holds their
blob hashes and the API serves no bid file before `opened`. At opening every file's
signature and the ESPD response are checked (CPU queue); the buyer scores, Chaîne ranks,
the buyer awards, sealed letters go to every candidate, the standstill runs, the signed
contract is verified and notified, and the `ContractWorkflow` takes the commitment over.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.procurement import ProcurementActivities
    from activities.signatures import SignatureActivities
    from core.errors import ErrorCode
    from directory.records import CommitmentRecord
    from procurement.model import (
        FINAL_STATUSES,
        Admissibility,
        Bid,
        ConsultationStatus,
        Ranked,
        check_consultation,
        deadline_after_amendment,
        is_late,
        rank,
        standstill_end,
    )
    from workflows.consultation_messages import (
        AmendRequest,
        AwardLettersRequest,
        AwardNoticeRequest,
        AwardRequest,
        BidCheckRequest,
        BidReceipt,
        BidRecordInput,
        BidRequest,
        CancelRequest,
        ConsultationInput,
        ConsultationRecord,
        ConsultationState,
        ContractSignatureRequest,
        Document,
        NotifyRequest,
        PublicationRequest,
        ScoreRequest,
        WithdrawRequest,
    )
    from workflows.contract import ContractWorkflow, contract_workflow_id
    from workflows.signature_checks import SignatureCheck, SignatureCheckRequest

STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=30)
)
STORE_TIMEOUT = timedelta(seconds=30)
CPU_TIMEOUT = timedelta(minutes=5)  # a bid of many signed files, or a large notice

Status = ConsultationStatus
BIDDING = (Status.PUBLISHED, Status.CLOSED)  # closed: a bid that arrived in time still counts
ARRIVAL_SKEW = timedelta(seconds=30)
RECORD_BATCH = 200


def refused(
    code: ErrorCode, message: str, http_status: int = 409, **extra: object
) -> ApplicationError:
    """A refusal of a step, answered by the Update and shown as problem+json by the API."""
    return ApplicationError(
        message, {"http_status": http_status, **extra}, type=str(code), non_retryable=True
    )


@workflow.defn
class ConsultationWorkflow:
    """A consultation's process and its legal clocks."""

    @workflow.init
    def __init__(self, input: ConsultationInput) -> None:
        self._terms = input.consultation
        self._process = input.process
        self._id = input.consultation.workflow_id
        self._status = Status.DRAFT
        self._published_at: datetime | None = None
        self._deadline = input.consultation.submission_deadline
        self._deadline_moved = False
        self._documents: list[Document] = []
        self._bids: dict[str, Bid] = {}  # by supplier SIRET: the latest bid only
        self._receipts: dict[str, BidReceipt] = {}
        self._versions: dict[str, int] = {}
        self._verdicts: tuple[Admissibility, ...] = ()
        self._ranking: tuple[Ranked, ...] = ()
        self._winner: str | None = None
        self._amount = Decimal(0)
        self._standstill_end: datetime | None = None
        self._letters: tuple[Document, ...] = ()
        self._winner_name = ""
        self._contract: Document | None = None
        self._commitment: str | None = None
        self._outcome: dict[str, object] = {}
        self._step = asyncio.Lock()  # one buyer step at a time; bids do not wait on it
        self._unrecorded: list[BidRecordInput] = []  # bid receipts not yet in `bids`
        self._recording = False

    @workflow.run
    async def run(self, input: ConsultationInput) -> str:
        """Wait for publication, hold the deadline, then follow the buyer's steps to the end."""
        await self._record()
        recorder = asyncio.create_task(self._record_bids_as_they_come())
        await workflow.wait_condition(lambda: self._status is not Status.DRAFT)
        while self._status is Status.PUBLISHED:
            remaining = self._deadline - workflow.now()
            if remaining <= timedelta(0):
                await self._close()
                break
            try:
                await workflow.wait_condition(
                    lambda: self._status is not Status.PUBLISHED or self._deadline_moved,
                    timeout=remaining,
                )
            except TimeoutError:
                pass
            self._deadline_moved = False
        await workflow.wait_condition(lambda: self._status in FINAL_STATUSES)
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._bids_recorded()
        recorder.cancel()
        return self._status.value

    @workflow.query
    def state(self) -> ConsultationState:
        """The consultation as it stands; bids appear as receipts (their files stay sealed)."""
        return ConsultationState(
            status=self._status.value,
            submission_deadline=self._deadline,
            published_at=self._published_at,
            bids=tuple(self._receipts.values()),
            verdicts=self._verdicts,
            ranking=self._ranking,
            winner_bid_id=self._winner,
            standstill_end=self._standstill_end,
            contract=self._contract,
            commitment_number=self._commitment,
            letters=self._letters,
            outcome=self._outcome,
        )

    @workflow.query
    def bid_of(self, supplier_siret: str) -> Bid | None:
        """A supplier's current bid, files included (the API shows them to their owner)."""
        return self._bids.get(supplier_siret)

    @workflow.query
    def bids(self) -> list[Bid]:
        """Every current bid, files included: the API serves them only once opened."""
        return list(self._bids.values())

    # --- publication and amendments --------------------------------------------------------

    @workflow.update
    async def publish(self, documents: list[Document]) -> ConsultationState:
        """Check the terms, make and validate the notice and the ESPD request, publish."""
        async with self._step:
            self._expect(Status.DRAFT)
            now = workflow.now()
            problems = check_consultation(self._terms, now, self._process.minimum_periods)
            if problems:
                raise refused(
                    ErrorCode.CONSULTATION_INVALID,
                    "the consultation cannot be published: "
                    + "; ".join(f"{p.field}: {p.message}" for p in problems),
                    422,
                    problems=[{"field": p.field, "message": p.message} for p in problems],
                )
            notices = await workflow.execute_activity_method(
                ProcurementActivities.prepare_publication,
                PublicationRequest(self._terms, str(workflow.uuid4()), now),
                task_queue=self._process.cpu_task_queue,
                start_to_close_timeout=CPU_TIMEOUT,
                retry_policy=STORE_RETRY,
            )
            self._documents = [*documents, *notices]
            self._published_at = now
            self._status = Status.PUBLISHED
            await self._record(documents=self._documents)
            return self.state()

    @workflow.update
    async def amend(self, request: AmendRequest) -> ConsultationState:
        """Add documents; one made within the notice period pushes the deadline."""
        async with self._step:
            self._expect(Status.PUBLISHED)
            moved = deadline_after_amendment(
                self._deadline, workflow.now(), self._process.amendment_notice
            )
            self._documents += request.documents
            if moved != self._deadline:
                self._deadline = moved
                self._deadline_moved = True
            await self._record(documents=request.documents)
            return self.state()

    # --- bids ------------------------------------------------------------------------------

    @workflow.update
    def submit_bid(self, request: BidRequest) -> BidReceipt:
        """Take a bid (replacing the supplier's earlier one) and answer with its receipt.

        Answered within the workflow task that takes it: the receipt is durable once the
        Update completes, and the `bids` table is written right after, in batches, so a
        rush of bids before the deadline does not wait on the database one by one.
        """
        received = self._arrival(request)
        version = self._versions.get(request.supplier_siret, 0) + 1
        receipt = BidReceipt(
            bid_id=str(workflow.uuid4()),
            consultation_id=self._id,
            supplier_siret=request.supplier_siret,
            version=version,
            received_at=received,
            files=request.files,
            espd_response=request.espd_response,
        )
        if self._status not in BIDDING or is_late(received, self._deadline):
            self._unrecorded.append(BidRecordInput(replace(receipt, status="late"), "late"))
            raise refused(
                ErrorCode.BID_LATE,
                f"the submission deadline was {self._deadline.isoformat()}; "
                f"this bid reached Chaîne at {received.isoformat()}",
                deadline=self._deadline.isoformat(),
                received_at=received.isoformat(),
            )
        self._versions[request.supplier_siret] = version
        earlier = self._receipts.get(request.supplier_siret)
        self._bids[request.supplier_siret] = Bid(
            receipt.bid_id,
            request.supplier_siret,
            request.files,
            received,
            request.espd_response,
            version,
        )
        self._receipts[request.supplier_siret] = receipt
        if earlier is not None:
            self._unrecorded.append(BidRecordInput(replace(earlier, status="replaced"), "replaced"))
        self._unrecorded.append(BidRecordInput(receipt, "received"))
        return receipt

    def _arrival(self, request: BidRequest) -> datetime:
        """When the bid reached Chaîne: the API's arrival time when it is within
        `ARRIVAL_SKEW` before the workflow's clock (a busy worker takes an Update a moment
        after the request came in, and that moment must not make a bid late), else now."""
        now = workflow.now()
        arrived = request.arrived_at
        if arrived is not None and now - ARRIVAL_SKEW <= arrived <= now:
            return arrived
        return now

    @submit_bid.validator
    def _bid_admitted(self, request: BidRequest) -> None:
        if self._status in (Status.DRAFT, Status.CANCELLED):
            raise refused(
                ErrorCode.CONSULTATION_STEP_REFUSED,
                f"the consultation is {self._status.value}: it takes no bids",
            )
        if not request.files:
            raise refused(ErrorCode.CONSULTATION_STEP_REFUSED, "a bid has at least one file", 422)

    @workflow.update
    def withdraw_bid(self, request: WithdrawRequest) -> BidReceipt:
        """Withdraw the supplier's bid before the deadline."""
        if self._status not in BIDDING or is_late(workflow.now(), self._deadline):
            raise refused(ErrorCode.BID_LATE, "bids cannot be withdrawn after the deadline")
        receipt = self._receipts.pop(request.supplier_siret, None)
        if receipt is None:
            raise refused(ErrorCode.BID_NOT_FOUND, "no bid of yours to withdraw", 404)
        del self._bids[request.supplier_siret]
        withdrawn = replace(receipt, status="withdrawn")
        self._unrecorded.append(BidRecordInput(withdrawn, "withdrawn"))
        return withdrawn

    async def _close(self) -> None:
        async with self._step:
            self._status = Status.CLOSED
            await self._record()

    # --- opening, evaluation, award ----------------------------------------------------------

    @workflow.update
    async def open_bids(self, actor: str) -> ConsultationState:
        """Check every bid's signatures and ESPD response; none admissible ends it."""
        async with self._step:
            self._expect(Status.CLOSED)
            bids = list(self._bids.values())
            self._verdicts = tuple(await asyncio.gather(*(self._check(bid) for bid in bids)))
            admissible = [v for v in self._verdicts if v.admissible]
            self._unrecorded += [
                BidRecordInput(
                    replace(self._receipts[bid.supplier_siret], status="opened"),
                    "admissible" if verdict.admissible else "inadmissible",
                    {"reasons": list(verdict.reasons)},
                )
                for bid, verdict in zip(bids, self._verdicts, strict=True)
            ]
            await self._bids_recorded()
            if not admissible:
                self._status = Status.UNSUCCESSFUL
                self._outcome = {"unsuccessful": "no admissible bid", "bids": len(bids)}
            else:
                self._status = Status.OPENED
            await self._record()
            return self.state()

    async def _check(self, bid: Bid) -> Admissibility:
        return await workflow.execute_activity_method(
            ProcurementActivities.check_bid,
            BidCheckRequest(self._terms, bid, self._terms.espd_required),
            task_queue=self._process.cpu_task_queue,
            start_to_close_timeout=CPU_TIMEOUT,
            retry_policy=STORE_RETRY,
        )

    @workflow.update
    def score(self, request: ScoreRequest) -> ConsultationState:
        """Rank the admissible bids from the buyer's scores (may be given again until award)."""
        self._expect(Status.OPENED)
        admissible = {v.bid_id for v in self._verdicts if v.admissible}
        unknown = sorted(set(request.scores) - admissible)
        unscored = sorted(admissible - set(request.scores))
        if unknown or unscored:
            raise refused(
                ErrorCode.SCORES_INVALID,
                "score every admissible bid, and only those",
                422,
                not_admissible=unknown,
                missing=unscored,
            )
        try:
            self._ranking = tuple(rank(self._terms.criteria, request.scores))
        except ValueError as error:
            raise refused(ErrorCode.SCORES_INVALID, str(error), 422) from None
        return self.state()

    @workflow.update
    async def award(self, request: AwardRequest) -> ConsultationState:
        """Award to a ranked bid: sealed letters to every candidate, then the standstill."""
        async with self._step:
            self._expect(Status.OPENED)
            if request.bid_id not in {r.bid_id for r in self._ranking}:
                raise refused(ErrorCode.SCORES_INVALID, "award to a scored, admissible bid", 422)
            now = workflow.now()
            end = standstill_end(
                self._terms.procedure, now, request.electronic, self._process.standstill
            )
            if end is not None and not workflow.patched("standstill-on-paris-clock"):
                # Awarded before the standstill counted Paris calendar days: 24-hour days.
                standstill = self._process.standstill
                end = now + (standstill.electronic if request.electronic else standstill.other)
            letters = await workflow.execute_activity_method(
                ProcurementActivities.make_award_letters,
                AwardLettersRequest(
                    self._terms,
                    request.bid_id,
                    tuple(self._bids.values()),
                    self._ranking,
                    self._verdicts,
                    request.reasons,
                    now,
                    end,
                ),
                start_to_close_timeout=CPU_TIMEOUT,
                retry_policy=STORE_RETRY,
            )
            self._letters, self._winner_name = letters.documents, letters.winner_name
            self._winner, self._amount, self._standstill_end = request.bid_id, request.amount, end
            self._status = Status.AWARDED
            self._outcome = {
                "winner_bid_id": request.bid_id,
                "winner_siret": self._winner_siret(),
                "amount": str(request.amount),
                "decided_at": now.isoformat(),
                "decided_by": request.actor,
                "standstill_end": end.isoformat() if end else None,
            }
            self._unrecorded += [
                BidRecordInput(
                    replace(self._receipts[bid.supplier_siret], status="opened"),
                    "awarded" if bid.bid_id == request.bid_id else "rejected",
                    {"standstill_end": end.isoformat() if end else None},
                )
                for bid in self._bids.values()
            ]
            await self._bids_recorded()  # the award's announcement reaches every bidder
            await self._record(documents=self._letters)
            return self.state()

    def _winner_siret(self) -> str:
        return next(b.supplier_siret for b in self._bids.values() if b.bid_id == self._winner)

    # --- contract, notification, cancellation ------------------------------------------------

    @workflow.update
    async def sign_contract(self, request: ContractSignatureRequest) -> ConsultationState:
        """Accept the contract signed by both parties once the standstill has ended."""
        async with self._step:
            self._expect(Status.AWARDED)
            if self._standstill_end is not None and workflow.now() < self._standstill_end:
                raise refused(
                    ErrorCode.STANDSTILL_RUNNING,
                    f"the standstill runs until {self._standstill_end.isoformat()}",
                    standstill_end=self._standstill_end.isoformat(),
                )
            check: SignatureCheck = await workflow.execute_activity_method(
                SignatureActivities.verify_signature,
                SignatureCheckRequest(request.contract.sha256),
                task_queue=self._process.cpu_task_queue,
                start_to_close_timeout=CPU_TIMEOUT,
                retry_policy=STORE_RETRY,
            )
            problem = contract_signature_problem(check)
            if problem:
                raise refused(
                    ErrorCode.CONTRACT_SIGNATURE_INVALID, problem, 422, report=check.report
                )
            self._contract = request.contract
            self._status = Status.SIGNED
            await self._record(documents=(request.contract,))
            return self.state()

    @workflow.update
    async def notify(self, request: NotifyRequest) -> ConsultationState:
        """Notify the contract: the commitment's workflow starts, the award notice is made."""
        async with self._step:
            self._expect(Status.SIGNED)
            record = CommitmentRecord(
                number=request.number,
                buyer_siret=self._terms.buyer_siret,
                supplier_siret=self._winner_siret(),
                ceiling=request.ceiling,
                service_done_presumed=request.service_done_presumed,
                works=request.works,
                paying_service=request.paying_service,
            )
            taken = refused(
                ErrorCode.COMMITMENT_NUMBER_TAKEN,
                f"commitment {record.number} belongs to another contract",
                number=record.number,
            )
            opened = await workflow.execute_activity_method(
                ProcurementActivities.open_commitment,
                record,
                start_to_close_timeout=STORE_TIMEOUT,
                retry_policy=STORE_RETRY,
            )
            if not opened:
                raise taken
            now = workflow.now()
            try:
                await workflow.start_child_workflow(
                    ContractWorkflow.run,
                    record,
                    id=contract_workflow_id(record.number),
                    task_queue=self._process.task_queue,
                    parent_close_policy=ParentClosePolicy.ABANDON,
                )
            except WorkflowAlreadyStartedError:
                raise taken from None
            notice = await workflow.execute_activity_method(
                ProcurementActivities.prepare_award_notice,
                AwardNoticeRequest(
                    self._terms,
                    str(workflow.uuid4()),
                    record.supplier_siret,
                    self._amount,
                    len(self._bids),
                    now,
                    self._winner_name,
                ),
                task_queue=self._process.cpu_task_queue,
                start_to_close_timeout=CPU_TIMEOUT,
                retry_policy=STORE_RETRY,
            )
            self._commitment = record.number
            self._status = Status.NOTIFIED
            self._outcome = {
                **self._outcome,
                "notified_at": now.isoformat(),
                "notified_by": request.actor,
                "commitment": record.number,
            }
            await self._record(documents=(notice,))
            return self.state()

    @workflow.update
    async def cancel(self, request: CancelRequest) -> ConsultationState:
        """Déclarée sans suite, at any step before notification."""
        async with self._step:
            if self._status in FINAL_STATUSES or not request.reason.strip():
                raise refused(
                    ErrorCode.CONSULTATION_STEP_REFUSED,
                    "a reason is required, and only an unfinished consultation is cancelled",
                    status=self._status.value,
                )
            self._status = Status.CANCELLED
            self._outcome = {
                **self._outcome,
                "cancelled_at": workflow.now().isoformat(),
                "cancelled_by": request.actor,
                "reason": request.reason,
            }
            await self._record()
            return self.state()

    # --- helpers -------------------------------------------------------------------------------

    def _expect(self, status: ConsultationStatus) -> None:
        if self._status is not status:
            raise refused(
                ErrorCode.CONSULTATION_STEP_REFUSED,
                f"not possible while the consultation is {self._status.value}",
                status=self._status.value,
            )

    async def _record(self, documents: tuple[Document, ...] | list[Document] = ()) -> None:
        await workflow.execute_activity_method(
            ProcurementActivities.record_consultation,
            ConsultationRecord(
                self._terms,
                self._status.value,
                self._published_at,
                self._deadline,
                self._outcome or None,
                tuple(documents),
            ),
            start_to_close_timeout=STORE_TIMEOUT,
            retry_policy=STORE_RETRY,
        )

    async def _bids_recorded(self) -> None:
        """Wait until every queued bid record is in the `bids` table."""
        await workflow.wait_condition(lambda: not self._unrecorded and not self._recording)

    async def _record_bids_as_they_come(self) -> None:
        """Write queued bid records, in order, a batch per activity, for the whole run."""
        while True:
            await workflow.wait_condition(lambda: bool(self._unrecorded))
            batch, self._unrecorded = (
                self._unrecorded[:RECORD_BATCH],
                self._unrecorded[RECORD_BATCH:],
            )
            self._recording = True
            try:
                await workflow.execute_activity_method(
                    ProcurementActivities.record_bids,
                    batch,
                    start_to_close_timeout=STORE_TIMEOUT,
                    retry_policy=STORE_RETRY,
                )
            finally:
                self._recording = False


def contract_signature_problem(check: SignatureCheck) -> str | None:
    """Why a contract file is not signed well enough, or None.

    Both parties sign: at least two signatures, every one TOTAL-PASSED under the policy.
    """
    if check.indication is None:
        return check.refusal or "the contract carries no signature"
    signatures = check.report.get("signatures", [])
    if len(signatures) < 2:
        return "the contract is signed by both the supplier and the buyer"
    weak = [s.get("name", "?") for s in signatures if s.get("indication") != "TOTAL_PASSED"]
    if weak:
        return "signatures not valid: " + ", ".join(weak)
    return None
