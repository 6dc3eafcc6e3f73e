"""Subscribing to invoice events: secrets shown once, endpoints guarded, each client its own."""

from __future__ import annotations

from standardwebhooks import Webhook as SigningKey

from core.principals import Role
from tests.api.test_conventions import assert_problem
from tests.callbacks.conftest import Receiver, Supplier
from tests.conftest import ApiServer
from tests.invoicing.builders import BUYER_SIRET, SELLER_SIRET

OTHER_SELLER = "21750001600019"

# Every spelling of a loopback, unspecified, link-local (cloud metadata) or private
# address; the receiver's own port is allow-listed, not these.
NON_PUBLIC = [
    "https://127.0.0.1/hook",
    "https://127.1/hook",
    "https://2130706433/hook",
    "https://0x7f000001/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://0.0.0.0/hook",
    "https://169.254.169.254/latest/meta-data",
    "https://10.0.0.1/hook",
]


async def test_a_subscription_shows_its_secret_once(
    api: ApiServer, supplier: Supplier, receiver: Receiver
) -> None:
    created = await supplier.subscribe(receiver.url)
    assert created["secret"].startswith("whsec_")
    SigningKey(created["secret"])  # a key the Standard Webhooks libraries read
    assert created["sirets"] == [SELLER_SIRET]
    assert created["event_types"] == []
    assert created["active"] is True
    location = f"/v1/webhooks/{created['id']}"
    shown = (await supplier.client.get(location)).json()
    listed = (await supplier.client.get("/v1/webhooks")).json()["items"]
    assert "secret" not in shown
    assert [w["id"] for w in listed] == [created["id"]]
    assert "secret" not in listed[0]


async def test_endpoints_on_non_public_addresses_are_refused(
    api: ApiServer, supplier: Supplier
) -> None:
    for url in NON_PUBLIC:
        response = await supplier.client.post("/v1/webhooks", json={"url": url})
        body = assert_problem(response, 422, "OUTBOUND_URL_REFUSED")
        assert "non-public" in str(body["detail"]), url
    assert (await supplier.client.get("/v1/webhooks")).json()["items"] == []


async def test_plain_http_is_refused_unless_allow_listed(
    api: ApiServer, supplier: Supplier, receiver: Receiver
) -> None:
    refused = await supplier.client.post("/v1/webhooks", json={"url": "http://example.org/hook"})
    assert "https" in str(assert_problem(refused, 422, "OUTBOUND_URL_REFUSED")["detail"])
    other_port = await supplier.client.post(
        "/v1/webhooks", json={"url": f"http://127.0.0.1:{receiver.port + 1}/hook"}
    )
    assert_problem(other_port, 422, "OUTBOUND_URL_REFUSED")
    await supplier.subscribe(receiver.url)


async def test_event_types_and_sirets_are_checked(
    api: ApiServer, supplier: Supplier, receiver: Receiver
) -> None:
    unknown = await supplier.client.post(
        "/v1/webhooks", json={"url": receiver.url, "event_types": ["invoice.paid"]}
    )
    body = assert_problem(unknown, 422, "EVENT_TYPE_UNKNOWN")
    assert body["known_types"] == ["invoice.overdue", "invoice.status_changed"]
    not_mine = await supplier.client.post(
        "/v1/webhooks", json={"url": receiver.url, "sirets": [OTHER_SELLER]}
    )
    assert_problem(not_mine, 422, "WEBHOOK_SIRET_NOT_YOURS")
    bad = await supplier.client.post("/v1/webhooks", json={"url": receiver.url, "sirets": ["1"]})
    assert_problem(bad, 422, "SIRET_INVALID")
    for field in ("secret", "active", "owner", "id"):  # server-owned
        body = {"url": receiver.url, field: "x"}
        assert_problem(
            await supplier.client.post("/v1/webhooks", json=body), 422, "VALIDATION_FAILED"
        )
    chosen = await supplier.subscribe(receiver.url, event_types=["invoice.overdue"])
    assert chosen["event_types"] == ["invoice.overdue"]


async def test_a_client_sees_only_its_own_webhooks(
    api: ApiServer, supplier: Supplier, receiver: Receiver
) -> None:
    created = await supplier.subscribe(receiver.url)
    location = f"/v1/webhooks/{created['id']}"
    other = await api.as_role(Role.SUPPLIER, OTHER_SELLER)
    buyer = await api.as_role(Role.BUYER, BUYER_SIRET)
    for stranger in (other, buyer):
        assert_problem(await stranger.get(location), 404, "WEBHOOK_NOT_FOUND")
        assert_problem(await stranger.delete(location), 404, "WEBHOOK_NOT_FOUND")
        rotated = await stranger.post(f"{location}/rotate-secret")
        assert_problem(rotated, 404, "WEBHOOK_NOT_FOUND")
        assert_problem(await stranger.get(f"{location}/deliveries"), 404, "WEBHOOK_NOT_FOUND")
        assert (await stranger.get("/v1/webhooks")).json()["items"] == []
    ops = await api.as_role(Role.OPS)
    assert [w["id"] for w in (await ops.get("/v1/webhooks")).json()["items"]] == [created["id"]]
    assert (await supplier.client.delete(location)).status_code == 204
    assert_problem(await supplier.client.get(location), 404, "WEBHOOK_NOT_FOUND")


async def test_a_rotation_shows_the_new_secret_once_and_keeps_the_old_one_a_while(
    api: ApiServer, supplier: Supplier, receiver: Receiver
) -> None:
    created = await supplier.subscribe(receiver.url)
    rotated = await supplier.client.post(f"/v1/webhooks/{created['id']}/rotate-secret")
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["secret"] not in (created["secret"], None)
    assert rotated.json()["previous_secret_until"] is not None
    shown = (await supplier.client.get(f"/v1/webhooks/{created['id']}")).json()
    assert shown["previous_secret_until"] == rotated.json()["previous_secret_until"]
