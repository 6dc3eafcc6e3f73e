"""Who gets which event, and how it is signed: the rules of deliveries, without a server."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from standardwebhooks import Webhook as SigningKey

from activities.callbacks import message_body, signature, subscribed
from api.routes.webhooks import new_secret
from store.models import InvoiceEvent, Webhook
from tests.invoicing.builders import BUYER_SIRET, SELLER_SIRET

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def an_event(
    event_type: str = "invoice.status_changed", buyer: str | None = BUYER_SIRET
) -> InvoiceEvent:
    return InvoiceEvent(
        id=7,
        invoice_id="5b0d1c1e-8f61-4c1e-9a53-4c6f1d3c0a11",
        sequence=3,
        type=event_type,
        status="PRISE_EN_COMPTE",
        lifecycle_code="204",
        seller_key=SELLER_SIRET,
        buyer_siret=buyer,
        payload={"number": "F-1"},
        occurred_at=NOW,
    )


def a_webhook(sirets: list[str], event_types: list[str] | None = None) -> Webhook:
    return Webhook(sirets=sirets, event_types=event_types or [], secret=new_secret())


def test_the_seller_and_the_buyer_are_subscribed_nobody_else() -> None:
    assert subscribed(a_webhook([SELLER_SIRET]), an_event())
    assert subscribed(a_webhook([BUYER_SIRET]), an_event())
    assert not subscribed(a_webhook(["21750001600019"]), an_event())
    assert not subscribed(a_webhook([BUYER_SIRET]), an_event(buyer=None))


def test_a_type_filter_keeps_only_its_types() -> None:
    overdue_only = a_webhook([SELLER_SIRET], ["invoice.overdue"])
    assert subscribed(overdue_only, an_event("invoice.overdue"))
    assert not subscribed(overdue_only, an_event("invoice.status_changed"))


def test_the_body_carries_the_invoice_sequence_and_lifecycle_code() -> None:
    body = json.loads(message_body(an_event()))
    assert body["id"] == 7 and body["type"] == "invoice.status_changed"
    assert body["data"]["sequence"] == 3
    assert body["data"]["lifecycle_code"] == "204"
    assert body["data"]["invoice_id"] == "5b0d1c1e-8f61-4c1e-9a53-4c6f1d3c0a11"


def test_the_previous_secret_signs_until_its_overlap_ends() -> None:
    webhook = a_webhook([SELLER_SIRET])
    old = new_secret()
    webhook.previous_secret, webhook.previous_secret_until = old, NOW + timedelta(hours=1)
    body = message_body(an_event())
    during = signature(webhook, "msg_7_x", NOW, body)
    after = signature(webhook, "msg_7_x", NOW + timedelta(hours=2), body)
    assert during.split(" ") == [
        SigningKey(webhook.secret).sign("msg_7_x", NOW, body),
        SigningKey(old).sign("msg_7_x", NOW, body),
    ]
    assert after == SigningKey(webhook.secret).sign("msg_7_x", NOW + timedelta(hours=2), body)
