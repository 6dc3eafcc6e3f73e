"""`/v1/webhooks`: subscriptions to invoice events, pushed as signed Standard Webhooks.

Any role may subscribe for its own SIRETs (operators for any). The endpoint is checked
when registered (https, a public address unless allow-listed) and again at every
delivery. The secret is shown once, at creation and at each rotation; after a rotation
the old secret keeps signing, beside the new one, for `CHAINE_CALLBACK_SECRET_OVERLAP`.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from api.deps import CurrentPrincipal, SessionDep, SettingsDep, TemporalDep, require_json
from api.schemas import RequestModel, ResponseModel
from api.temporal_errors import temporal_unavailable
from core.config import Settings
from core.errors import ChaineError, ErrorCode, InvalidInput
from core.netguard import check_url
from core.principals import Principal, Role
from directory.identifiers import check_siret
from invoicing.events import InvoiceEventType
from store.models import Webhook, WebhookAttempt, WebhookDelivery
from store.webhooks import REDELIVERABLE, DeliveryStatus, WebhookRepository
from workflows.callback_client import callback_input, start_callback
from workflows.callback_messages import callback_workflow_id

router = APIRouter(prefix="/v1", tags=["webhooks"])

WebhookId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$", description="Webhook id")]
DeliveryId = Annotated[
    str, Path(pattern=r"^msg_[0-9]{1,19}_[0-9a-f-]{36}$", description="Delivery id")
]
MAX_WEBHOOKS_PER_CLIENT = 10  # each one multiplies the deliveries of every event
SECRET_BYTES = 24
REDELIVERY_PROBES = 20
EVENT_TYPES = frozenset(InvoiceEventType)


class WebhookNotFound(ChaineError):
    """No webhook with this id is visible to the caller."""

    code = ErrorCode.WEBHOOK_NOT_FOUND
    status = 404


class WebhookLimitReached(ChaineError):
    """A client may hold only so many subscriptions."""

    code = ErrorCode.WEBHOOK_LIMIT_REACHED
    status = 409


class SiretNotYours(ChaineError):
    """A subscription may only cover SIRETs the client acts for."""

    code = ErrorCode.WEBHOOK_SIRET_NOT_YOURS
    status = 422


class DeliveryNotFound(ChaineError):
    """No delivery with this id for this webhook."""

    code = ErrorCode.WEBHOOK_DELIVERY_NOT_FOUND
    status = 404


class RedeliveryRefused(ChaineError):
    """The delivery is still under way, or its endpoint is disabled."""

    code = ErrorCode.WEBHOOK_REDELIVERY_REFUSED
    status = 409


class WebhookCreate(RequestModel):
    """A subscription: where to push, which event types (all if omitted), which SIRETs
    (all of yours if omitted)."""

    url: str = Field(min_length=1, max_length=2000, description="https endpoint")
    event_types: list[str] | None = Field(None, max_length=len(EVENT_TYPES))
    sirets: list[str] | None = Field(None, min_length=1, max_length=100)


class WebhookPublic(ResponseModel):
    """A subscription, without its secret."""

    id: str
    url: str
    event_types: list[str]
    sirets: list[str]
    active: bool
    failing_since: datetime | None
    disabled_reason: str | None
    previous_secret_until: datetime | None
    created_at: datetime


class WebhookCreated(WebhookPublic):
    """A new subscription, with its signing secret: shown this once."""

    secret: str


class WebhooksPublic(ResponseModel):
    """The caller's subscriptions (everyone's, for operators)."""

    items: list[WebhookPublic]


class WebhookSecret(ResponseModel):
    """A new signing secret, shown this once; the old one signs too until
    `previous_secret_until`."""

    id: str
    secret: str
    previous_secret_until: datetime | None


class AttemptPublic(ResponseModel):
    """One HTTP attempt of a delivery."""

    attempted_at: datetime
    status_code: int | None
    latency_ms: int
    error: str | None


class DeliveryPublic(ResponseModel):
    """The delivery of one event to this webhook, and every attempt made."""

    id: str
    event_id: int
    event_type: str
    status: DeliveryStatus
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
    updated_at: datetime
    attempts: list[AttemptPublic]


class DeliveriesPublic(ResponseModel):
    """A page of deliveries by event; pass `next` as `after` to read on."""

    items: list[DeliveryPublic]
    next: int


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 24 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def subscribed_sirets(principal: Principal, requested: list[str] | None) -> list[str]:
    """The SIRETs a subscription covers: those asked for, all of yours by default."""
    if requested is None:
        chosen = set(principal.sirets)
    else:
        chosen = {check_siret(siret) for siret in requested}
    if not_yours := sorted(s for s in chosen if not principal.acts_for(s)):
        raise SiretNotYours(f"you do not act for {', '.join(not_yours)}", sirets=not_yours)
    if not chosen:
        raise InvalidInput(ErrorCode.VALIDATION_FAILED, "name the SIRETs to subscribe to")
    return sorted(chosen)


def checked_event_types(requested: list[str] | None) -> list[str]:
    """The event types asked for (none: every type), each a known one."""
    chosen = set(requested or ())
    if unknown := sorted(chosen - EVENT_TYPES):
        raise InvalidInput(
            ErrorCode.EVENT_TYPE_UNKNOWN,
            f"unknown event types: {', '.join(unknown)}",
            known_types=sorted(EVENT_TYPES),
        )
    return sorted(chosen)


async def visible_webhook(
    session: AsyncSession, principal: Principal, webhook_id: str, *, for_update: bool = False
) -> Webhook:
    """The webhook if the caller owns it (operators see all), else 404."""
    webhook = await WebhookRepository(session).get(webhook_id, for_update=for_update)
    if webhook is None or (principal.role is not Role.OPS and webhook.owner != principal.client_id):
        raise WebhookNotFound(f"no webhook {webhook_id}")
    return webhook


def delivery_public(delivery: WebhookDelivery, attempts: list[WebhookAttempt]) -> DeliveryPublic:
    """A delivery as the subscriber sees it."""
    return DeliveryPublic(
        id=delivery.id,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        status=DeliveryStatus(delivery.status),
        last_status_code=delivery.last_status_code,
        last_error=delivery.last_error,
        delivered_at=delivery.delivered_at,
        created_at=delivery.created_at,
        updated_at=delivery.updated_at,
        attempts=[AttemptPublic.model_validate(attempt) for attempt in attempts],
    )


@router.post(
    "/webhooks",
    status_code=201,
    response_model=WebhookCreated,
    summary="Subscribe an endpoint to invoice events",
    dependencies=[Depends(require_json)],
    responses={422: {"description": "refused URL, event type or SIRET"}},
)
async def create_webhook(
    body: WebhookCreate,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
) -> JSONResponse:
    """The secret is in this answer only; keep it to verify `webhook-signature`."""
    event_types = checked_event_types(body.event_types)
    sirets = subscribed_sirets(principal, body.sirets)
    await run_in_threadpool(check_url, body.url, settings.allowed_hosts, require_tls=True)
    store = WebhookRepository(session)
    if await store.count_owned_by(principal.client_id) >= MAX_WEBHOOKS_PER_CLIENT:
        raise WebhookLimitReached(
            f"a client may hold {MAX_WEBHOOKS_PER_CLIENT} webhooks; delete one first"
        )
    webhook = Webhook(
        id=str(uuid.uuid4()),
        owner=principal.client_id,
        role=principal.role.value,
        sirets=sirets,
        url=body.url,
        event_types=event_types,
        secret=new_secret(),
        active=True,
    )
    store.add(webhook)
    await session.flush()
    created = WebhookCreated(
        **WebhookPublic.model_validate(webhook).model_dump(), secret=webhook.secret
    )
    await session.commit()
    return JSONResponse(
        created.model_dump(mode="json"),
        status_code=201,
        headers={"Location": f"/v1/webhooks/{webhook.id}"},
    )


@router.get("/webhooks", response_model=WebhooksPublic, summary="Your webhooks")
async def list_webhooks(principal: CurrentPrincipal, session: SessionDep) -> WebhooksPublic:
    """Your subscriptions, oldest first (operators: everyone's); never their secrets."""
    owner = None if principal.role is Role.OPS else principal.client_id
    found = await WebhookRepository(session).owned_by(owner)
    return WebhooksPublic(items=[WebhookPublic.model_validate(w) for w in found])


@router.get("/webhooks/{webhook_id}", response_model=WebhookPublic, summary="One webhook")
async def get_webhook(
    webhook_id: WebhookId, principal: CurrentPrincipal, session: SessionDep
) -> WebhookPublic:
    """A subscription and whether it is active, failing or disabled."""
    return WebhookPublic.model_validate(await visible_webhook(session, principal, webhook_id))


@router.delete("/webhooks/{webhook_id}", status_code=204, summary="Delete a webhook")
async def delete_webhook(
    webhook_id: WebhookId, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    """Stop the subscription; deliveries under way are dropped, with their history."""
    webhook = await visible_webhook(session, principal, webhook_id)
    await WebhookRepository(session).delete(webhook.id)
    await session.commit()
    return Response(status_code=204)


@router.post(
    "/webhooks/{webhook_id}/rotate-secret",
    response_model=WebhookSecret,
    summary="Rotate a webhook's signing secret",
)
async def rotate_secret(
    webhook_id: WebhookId,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
) -> WebhookSecret:
    """A new secret, shown once; the current one keeps signing for the overlap (a second
    signature in `webhook-signature`), so receivers can switch without losing a message."""
    webhook = await visible_webhook(session, principal, webhook_id, for_update=True)
    overlap = settings.callback_secret_overlap
    if overlap:
        webhook.previous_secret = webhook.secret
        webhook.previous_secret_until = datetime.now(UTC) + overlap
    else:
        webhook.previous_secret = webhook.previous_secret_until = None
    webhook.secret = new_secret()
    answer = WebhookSecret(
        id=webhook.id, secret=webhook.secret, previous_secret_until=webhook.previous_secret_until
    )
    await session.commit()
    return answer


@router.post(
    "/webhooks/{webhook_id}/enable", response_model=WebhookPublic, summary="Re-enable a webhook"
)
async def enable_webhook(
    webhook_id: WebhookId, principal: CurrentPrincipal, session: SessionDep
) -> WebhookPublic:
    """Deliver again to an endpoint disabled for failing (no effect on an active one)."""
    webhook = await visible_webhook(session, principal, webhook_id, for_update=True)
    webhook.active = True
    webhook.failing_since = None
    webhook.disabled_reason = None
    await session.flush()
    answer = WebhookPublic.model_validate(webhook)
    await session.commit()
    return answer


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    response_model=DeliveriesPublic,
    summary="A webhook's deliveries and their attempts",
)
async def list_deliveries(
    webhook_id: WebhookId,
    principal: CurrentPrincipal,
    session: SessionDep,
    after: Annotated[int, Query(ge=0, le=2**62, description="Cursor: last event id read")] = 0,
    status: DeliveryStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DeliveriesPublic:
    """Deliveries in event order, each with every HTTP attempt (time, status, latency)."""
    webhook = await visible_webhook(session, principal, webhook_id)
    store = WebhookRepository(session)
    found = await store.deliveries(webhook.id, after=after, status=status, limit=limit)
    attempts = await store.attempts_of([d.id for d in found])
    return DeliveriesPublic(
        items=[delivery_public(d, attempts.get(d.id, [])) for d in found],
        next=found[-1].event_id if found else after,
    )


@router.post(
    "/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    response_model=DeliveryPublic,
    summary="Deliver an event again",
    responses={409: {"description": "still being delivered, or the endpoint is disabled"}},
)
async def redeliver(
    webhook_id: WebhookId,
    delivery_id: DeliveryId,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    temporal: TemporalDep,
) -> JSONResponse:
    """Deliver a dead, skipped or delivered event again, with the same `webhook-id` (so a
    receiver that already has it can tell), through a new delivery workflow."""
    webhook = await visible_webhook(session, principal, webhook_id)
    store = WebhookRepository(session)
    delivery = await store.delivery(delivery_id)
    if delivery is None or delivery.webhook_id != webhook.id:
        raise DeliveryNotFound(f"no delivery {delivery_id} for webhook {webhook_id}")
    if not webhook.active:
        raise RedeliveryRefused("the endpoint is disabled: enable it first")
    previous = delivery.status
    if previous not in REDELIVERABLE or not await store.reopen(delivery):
        raise RedeliveryRefused(f"the delivery is {previous}: it is not over yet")
    await session.commit()
    try:
        await _start_redelivery(temporal, settings, delivery)
    except Exception:
        await store.restore(delivery.id, previous)  # compensate: it is not under way
        await session.commit()
        raise
    refreshed = await store.delivery(delivery.id)
    assert refreshed is not None
    attempts = await store.attempts_of([delivery.id])
    answer = delivery_public(refreshed, attempts.get(delivery.id, []))
    return JSONResponse(answer.model_dump(mode="json"), status_code=202)


async def _start_redelivery(
    temporal: Client, settings: Settings, delivery: WebhookDelivery
) -> None:
    """A new `callback:{event}:{webhook}:redeliver:{n}` workflow, n not used before."""
    input = callback_input(settings, delivery.event_id, delivery.webhook_id)
    first = delivery.attempts + 1
    async with temporal_unavailable():
        for n in range(first, first + REDELIVERY_PROBES):
            workflow_id = callback_workflow_id(delivery.event_id, delivery.webhook_id, n)
            if await start_callback(temporal, settings.task_queue, input, workflow_id):
                return
    raise RedeliveryRefused("too many redeliveries of this event; contact an operator")
