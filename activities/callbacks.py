"""Activities of status callbacks (queue `chaine`): relay the outbox, deliver, dead-letter.

A delivery is a Standard Webhooks message (https://www.standardwebhooks.com): headers
`webhook-id` (the delivery's id, stable across attempts and redeliveries, for receivers
to deduplicate), `webhook-timestamp` and `webhook-signature` (HMAC-SHA256 with the
subscription's secret, and with the previous one too while a rotation overlaps). It is
posted through the outbound guard like any request to an address Chaîne did not choose:
the endpoint is checked again at every retry (once per relay pass for first attempts), the
connection is pinned to the checked address, redirects are never followed, and the answer
is bounded in time and size.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import certifi
import httpx
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook as SigningKey
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from core.config import Settings
from core.netguard import OutboundRefused, Target, check_url
from store.database import transaction
from store.events import EventRepository
from store.models import InvoiceEvent, Webhook
from store.notifications import NotificationRepository
from store.webhooks import DeliveryStatus, WebhookRepository
from workflows.callback_client import start_callback
from workflows.callback_messages import (
    RELAY_CURSOR,
    CallbackInput,
    DeadLetter,
    DeliveryOutcome,
    RelayBatch,
    RelayResult,
    callback_workflow_id,
    delivery_id,
)

USER_AGENT = "chaine-webhooks"
PARALLEL_FIRST_ATTEMPTS = 32  # first attempts (and workflow starts) in flight per pass
RECORD_BATCH = 64  # answers recorded per transaction during a relay pass
RECORD_TRIES = 5  # recording an answer: about 6 s of retries before giving up
# Built once: loading the CA bundle costs ~30 ms of CPU, more than the rest of an attempt.
TLS = ssl.create_default_context(cafile=certifi.where())
ERROR_EXCERPT = 200  # characters of a refusing receiver's answer kept in the error
WEBHOOK_DISABLED = "webhook.disabled"  # notification kind


@dataclass(frozen=True)
class CallbackRules:
    """How deliveries are made: the outbound allow-list and the bounds on each attempt."""

    task_queue: str
    allowed_hosts: frozenset[str] = frozenset()
    timeout: timedelta = timedelta(seconds=10)
    max_response_bytes: int = 64 * 1024
    retry_window: timedelta = timedelta(days=3)
    disable_after: timedelta = timedelta(days=5)


def callback_rules(settings: Settings) -> CallbackRules:
    """The delivery rules of these settings."""
    return CallbackRules(
        task_queue=settings.task_queue,
        allowed_hosts=settings.allowed_hosts,
        timeout=settings.callback_timeout,
        max_response_bytes=settings.callback_max_response_bytes,
        retry_window=settings.callback_retry_window,
        disable_after=settings.callback_disable_after,
    )


def subscribed(webhook: Webhook, event: InvoiceEvent) -> bool:
    """Whether the subscription wants this event: one of its SIRETs is the invoice's
    seller or buyer, and it takes every type or this one."""
    sirets = set(webhook.sirets)
    concerned = event.seller_key in sirets or event.buyer_siret in sirets
    return concerned and (not webhook.event_types or event.type in webhook.event_types)


def message_body(event: InvoiceEvent) -> str:
    """The JSON body of an event's callback, the same at every attempt."""
    return json.dumps(
        {
            "id": event.id,
            "type": event.type,
            "timestamp": event.occurred_at.isoformat(),
            "data": {
                "invoice_id": event.invoice_id,
                "sequence": event.sequence,
                "status": event.status,
                "lifecycle_code": event.lifecycle_code,
                "occurred_at": event.occurred_at.isoformat(),
                "payload": event.payload,
            },
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def signature(webhook: Webhook, message_id: str, sent_at: datetime, body: str) -> str:
    """The `webhook-signature` header: one `v1,…` signature per secret in force, space
    separated; the previous secret signs too until its overlap ends."""
    secrets = [webhook.secret]
    until = webhook.previous_secret_until
    if webhook.previous_secret and until is not None and sent_at < until:
        secrets.append(webhook.previous_secret)
    return " ".join(SigningKey(secret).sign(message_id, sent_at, body) for secret in secrets)


@dataclass(frozen=True)
class Answer:
    """What one attempt got: a status code, or an error, and how long it took."""

    status_code: int | None
    latency_ms: int
    error: str | None

    @property
    def accepted(self) -> bool:
        """A 2xx answer: delivered."""
        return self.error is None


@dataclass(frozen=True)
class Attempted:
    """One delivery's attempt and the answer it got, to record."""

    delivery_id: str
    webhook_id: str
    sent_at: datetime
    answer: Answer


class Recorder:
    """A relay pass's answers, recorded in batches (a transaction per `RECORD_BATCH`) so
    hundreds of deliveries do not queue one by one on the database; whatever was posted is
    recorded before the pass ends (a crash in between means posting again: at least once,
    with the same `webhook-id`)."""

    def __init__(self, activities: CallbackActivities, clock: datetime) -> None:
        self.activities = activities
        self.clock = clock
        self.waiting: list[Attempted] = []
        self.lock = asyncio.Lock()

    async def add(self, attempted: Attempted) -> None:
        """Keep an answer; record the batch once it is full."""
        self.waiting.append(attempted)
        if len(self.waiting) >= RECORD_BATCH:
            await self.flush()

    async def flush(self) -> None:
        """Record what is waiting."""
        async with self.lock:
            batch, self.waiting = self.waiting, []
            if batch:
                await self.activities.record_answers(batch, self.clock)


class Connections:
    """The HTTP clients of one relay pass (or of one attempt): a client per checked target.

    Deliveries to one endpoint in a pass share its connection, and its URL is checked once
    per pass; no connection made for one host is reused for another host, even one that
    resolves to the same address.
    """

    def __init__(self, rules: CallbackRules) -> None:
        self.rules = rules
        self._targets: dict[str, Target | OutboundRefused] = {}
        self._clients: dict[tuple[str, str], httpx.AsyncClient] = {}

    async def target(self, url: str) -> Target:
        """The URL checked and pinned (or its refusal), once per pass."""
        if url not in self._targets:
            try:
                self._targets[url] = await asyncio.to_thread(
                    check_url, url, self.rules.allowed_hosts, require_tls=True
                )
            except OutboundRefused as refused:
                self._targets[url] = refused
        found = self._targets[url]
        if isinstance(found, OutboundRefused):
            raise found
        return found

    def client(self, target: Target) -> httpx.AsyncClient:
        """The client for this host at this pinned address."""
        key = (target.netloc, target.address)
        if key not in self._clients:
            self._clients[key] = httpx.AsyncClient(
                verify=TLS,
                follow_redirects=False,
                timeout=self.rules.timeout.total_seconds(),
                trust_env=False,
                headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"},
                limits=httpx.Limits(max_connections=PARALLEL_FIRST_ATTEMPTS),
            )
        return self._clients[key]

    async def aclose(self) -> None:
        """Close every connection of the pass."""
        await asyncio.gather(*(client.aclose() for client in self._clients.values()))


class CallbackActivities:
    """What callbacks need: the database, Temporal to start deliveries, and the rules."""

    def __init__(
        self, client: Client, sessions: async_sessionmaker[AsyncSession], rules: CallbackRules
    ) -> None:
        self.client = client
        self.sessions = sessions
        self.rules = rules

    @activity.defn(name="relay_events")
    async def relay_events(self, batch: RelayBatch) -> RelayResult:
        """Record a delivery per matching subscription for the events after the cursor, make
        each one's first attempt, start a workflow for those that failed (or whose endpoint
        is failing already: no waiting on it here), then move the cursor. A retried pass
        posts nothing already delivered and starts no workflow twice."""
        async with transaction(self.sessions) as session:
            events_store = EventRepository(session)
            newest = await events_store.last_id()
            if batch.horizon is None:  # the first pass only sets the horizon
                return RelayResult(read=0, deliveries=0, horizon=newest)
            webhooks = WebhookRepository(session)
            cursor = await webhooks.cursor(RELAY_CURSOR)
            events = await events_store.after(
                cursor, sirets=None, limit=batch.limit, until=batch.horizon
            )
            if not events:
                return RelayResult(read=0, deliveries=0, horizon=newest)
            active = await webhooks.active()
            pairs = [
                (event, webhook, delivery_id(event.id, webhook.id))
                for event in events
                for webhook in active
                if subscribed(webhook, event)
            ]
            # A retried pass: what was delivered, skipped or given up is not sent again.
            pending = await webhooks.add_deliveries(pairs)
        clock = activity.info().current_attempt_scheduled_time
        recorder = Recorder(self, clock)
        slots = asyncio.Semaphore(PARALLEL_FIRST_ATTEMPTS)
        failing = {webhook.id for webhook in active if webhook.failing_since is not None}

        async def deliver(event: InvoiceEvent, webhook: Webhook, message_id: str) -> None:
            input = CallbackInput(
                message_id, event.id, webhook.id, self.rules.retry_window, self.rules.timeout
            )
            async with slots:
                if webhook.id not in failing:
                    sent_at, answer = await self._send(message_id, webhook, event, connections)
                    await recorder.add(Attempted(message_id, webhook.id, sent_at, answer))
                    activity.heartbeat(message_id)
                    if answer.accepted:
                        return
                    # Recorded before its retries can start: attempts stay in order, and a
                    # later success is not overwritten by this failure.
                    await recorder.flush()
                    failing.add(webhook.id)  # its next deliveries of this pass wait too
                    input = replace(input, first_attempt_failed=True)
                await start_callback(
                    self.client,
                    self.rules.task_queue,
                    input,
                    callback_workflow_id(event.id, webhook.id),
                )

        connections = Connections(self.rules)
        try:
            await asyncio.gather(*(deliver(*pair) for pair in pairs if pair[2] in pending))
        finally:
            await connections.aclose()
            await recorder.flush()
        async with transaction(self.sessions) as session:
            await WebhookRepository(session).advance(RELAY_CURSOR, events[-1].id)
        return RelayResult(read=len(events), deliveries=len(pairs), horizon=newest)

    @activity.defn(name="deliver_callback")
    async def deliver_callback(self, input: CallbackInput) -> DeliveryOutcome:
        """One attempt: post the signed event, record the attempt; raise (to be retried)
        unless the receiver answered 2xx. A disabled or deleted subscription is skipped."""
        # Failure spans are measured on Temporal's clock, the one that spaces the retries.
        connections = Connections(self.rules)
        try:
            result = await self._attempt(
                input, activity.info().current_attempt_scheduled_time, connections
            )
        finally:
            await connections.aclose()
        if isinstance(result, Answer):
            raise ApplicationError(result.error or "not delivered", type="CALLBACK_FAILED")
        return result

    async def _attempt(
        self, input: CallbackInput, clock: datetime, connections: Connections
    ) -> DeliveryOutcome | Answer:
        """Post the signed event once and record the answer: the outcome if that ends the
        delivery (delivered, or skipped), else the failed answer (to be tried again)."""
        async with transaction(self.sessions) as session:
            store = WebhookRepository(session)
            context = await store.delivery_context(input.delivery_id)
            if context is None:  # the subscription was deleted, and its deliveries with it
                return DeliveryOutcome(DeliveryStatus.SKIPPED.value)
            delivery, webhook, event = context
            if delivery.status == DeliveryStatus.DELIVERED:  # a retry after recording it
                return DeliveryOutcome(DeliveryStatus.DELIVERED.value)
            if not webhook.active:
                await store.mark_undelivered(
                    delivery.id, DeliveryStatus.SKIPPED, "the endpoint is disabled"
                )
                return DeliveryOutcome(DeliveryStatus.SKIPPED.value)
        sent_at, answer = await self._send(delivery.id, webhook, event, connections)
        attempted = Attempted(delivery.id, webhook.id, sent_at, answer)
        outcome = (await self.record_answers([attempted], clock))[0]
        return answer if outcome is None else outcome

    async def _send(
        self, message_id: str, webhook: Webhook, event: InvoiceEvent, connections: Connections
    ) -> tuple[datetime, Answer]:
        """Sign the event for this subscription and post it; when it was sent, the answer."""
        sent_at = datetime.now(UTC)  # the receiver checks the timestamp against its clock
        body = message_body(event)
        answer = await self._post(
            webhook.url,
            body.encode(),
            {
                "Content-Type": "application/json",
                "webhook-id": message_id,
                "webhook-timestamp": str(int(sent_at.timestamp())),
                "webhook-signature": signature(webhook, message_id, sent_at, body),
            },
            connections,
        )
        return sent_at, answer

    async def record_answers(
        self, attempts: list[Attempted], clock: datetime
    ) -> list[DeliveryOutcome | None]:
        """Record receivers' answers, retrying a busy database for a few seconds: if this
        failed, a retry would post the events again (duplicates after a 2xx)."""
        for attempt in range(RECORD_TRIES - 1):
            try:
                return await self._record(attempts, clock)
            except OperationalError:  # SQLite busy, a PostgreSQL failover: try again soon
                activity.heartbeat(attempts[0].delivery_id)
                await asyncio.sleep(0.2 * 2**attempt)
        return await self._record(attempts, clock)  # the last try raises what it meets

    async def _record(
        self, attempts: list[Attempted], clock: datetime
    ) -> list[DeliveryOutcome | None]:
        """Record the attempts in one transaction; each one's outcome if it ends its
        delivery, None to retry it."""
        accepted = [a for a in attempts if a.answer.accepted]
        failed = [a for a in attempts if not a.answer.accepted]
        async with transaction(self.sessions) as session:
            store = WebhookRepository(session)
            delivered = await store.record_deliveries(
                [
                    (a.delivery_id, a.sent_at, a.answer.status_code, a.answer.latency_ms)
                    for a in accepted
                ],
                datetime.now(UTC),
            )
            kept = await store.existing([a.delivery_id for a in failed])
            for attempted in failed:
                if attempted.delivery_id in kept:
                    await store.record_attempt(
                        attempted.delivery_id,
                        at=attempted.sent_at,
                        status_code=attempted.answer.status_code,
                        latency_ms=attempted.answer.latency_ms,
                        error=attempted.answer.error,
                    )
            answered = {a.webhook_id for a in accepted}
            for webhook_id in answered:
                await store.note_success(webhook_id)
            last_failure = {a.webhook_id: a.answer for a in failed if a.delivery_id in kept}
            for webhook_id, answer in last_failure.items():
                if webhook_id not in answered:
                    await self._note_failure(session, webhook_id, clock, answer)
        skipped = DeliveryOutcome(DeliveryStatus.SKIPPED.value)  # deleted meanwhile
        outcomes: list[DeliveryOutcome | None] = []
        for attempted in attempts:
            if attempted.answer.accepted:
                found = attempted.delivery_id in delivered
                outcomes.append(
                    DeliveryOutcome(DeliveryStatus.DELIVERED.value) if found else skipped
                )
            else:
                outcomes.append(None if attempted.delivery_id in kept else skipped)
        return outcomes

    async def _note_failure(
        self, session: AsyncSession, webhook_id: str, clock: datetime, answer: Answer
    ) -> None:
        """The endpoint fails: since when; past `disable_after`, disable it and tell its
        owner (once)."""
        store = WebhookRepository(session)
        webhook = await store.note_failure(webhook_id, clock)
        since = webhook.failing_since if webhook else None
        if webhook is None or since is None or clock - since < self.rules.disable_after:
            return
        reason = (
            f"failing since {since:%Y-%m-%d %H:%M} UTC, more than {self.rules.disable_after}; "
            f"last error: {answer.error}"
        )
        if await store.disable(webhook.id, reason):
            NotificationRepository(session).add(
                webhook.owner,
                WEBHOOK_DISABLED,
                f"Webhook {webhook.url} disabled: it has been failing since "
                f"{since:%Y-%m-%d %H:%M} UTC",
                {
                    "webhook_id": webhook.id,
                    "url": webhook.url,
                    "failing_since": since.isoformat(),
                    "last_error": answer.error,
                },
            )

    async def _post(
        self, url: str, body: bytes, headers: dict[str, str], connections: Connections
    ) -> Answer:
        """POST through the guard: checked and pinned, unredirected, bounded."""
        started = time.monotonic()
        status_code: int | None = None
        error: str | None = None
        excerpt = b""
        try:
            async with asyncio.timeout(self.rules.timeout.total_seconds()):
                target = await connections.target(url)
                client = connections.client(target)
                request = client.build_request(
                    "POST",
                    target.pinned_url(url),
                    content=body,
                    headers={**headers, "Host": target.netloc},
                    extensions=target.extensions,
                )
                response = await client.send(request, stream=True)
                try:
                    status_code = response.status_code
                    async for chunk in response.aiter_raw():  # never inflated
                        excerpt += chunk
                        if len(excerpt) >= self.rules.max_response_bytes:
                            break
                finally:
                    await response.aclose()
        except OutboundRefused as refused:
            error = f"refused by the outbound guard: {refused.detail}"
        except TimeoutError:
            error = f"no answer within {self.rules.timeout.total_seconds():g} s"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        else:
            error = _refusal(status_code or 0, excerpt)
        latency_ms = round((time.monotonic() - started) * 1000)
        return Answer(status_code, latency_ms, error)

    @activity.defn(name="record_dead_letter")
    async def record_dead_letter(self, dead: DeadLetter) -> DeliveryOutcome:
        """Give a delivery up after its retry window (unless it was delivered meanwhile)."""
        async with transaction(self.sessions) as session:
            store = WebhookRepository(session)
            await store.mark_undelivered(dead.delivery_id, DeliveryStatus.DEAD, dead.reason)
            delivery = await store.delivery(dead.delivery_id)
        return DeliveryOutcome(delivery.status if delivery else DeliveryStatus.SKIPPED.value)


def _refusal(status_code: int, answer: bytes) -> str | None:
    """None for a 2xx answer, else why it is not a delivery."""
    if 200 <= status_code < 300:
        return None
    if 300 <= status_code < 400:
        return f"HTTP {status_code}: redirects are not followed"
    text = answer[:ERROR_EXCERPT].decode("utf-8", "replace").strip()
    return f"HTTP {status_code}" + (f": {text}" if text else "")
