"""API conventions: problem+json everywhere, request ids, limits, authentication."""

from __future__ import annotations

import base64

import httpx
import jwt
import pytest

from api.credentials import AUDIENCE, ISSUER
from core.principals import Role
from tests.conftest import ApiServer

MINISTRY = "11000201100044"


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"urn:chaine:problem:{code}"
    assert body["request_id"] == response.headers["x-request-id"]
    return body


async def test_healthz_answers_and_echoes_a_request_id(api: ApiServer) -> None:
    response = await api.anonymous().get("/healthz", headers={"X-Request-Id": "trace-123"})
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["x-request-id"] == "trace-123"


async def test_a_hostile_request_id_is_replaced(api: ApiServer) -> None:
    response = await api.anonymous().get("/healthz", headers={"X-Request-Id": "a\tb" * 50})
    assert response.headers["x-request-id"] != "a\tb" * 50
    assert len(response.headers["x-request-id"]) == 32


async def test_readyz_checks_database_and_temporal(api: ApiServer) -> None:
    response = await api.anonymous().get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"database": "ok", "temporal": "ok"}


async def test_metrics_count_requests_by_route(api: ApiServer) -> None:
    client = api.anonymous()
    await client.get("/v1/me")
    text = (await client.get("/metrics")).text
    assert 'chaine_http_requests_total{method="GET",route="/v1/me",status="401"} 1.0' in text


async def test_unknown_route_is_a_problem(api: ApiServer) -> None:
    body = assert_problem(await api.anonymous().get("/v1/nowhere"), 404, "NOT_FOUND")
    assert body["instance"] == "/v1/nowhere"


async def test_wrong_method_is_a_problem(api: ApiServer) -> None:
    assert_problem(await api.anonymous().delete("/healthz"), 405, "METHOD_NOT_ALLOWED")


async def test_token_for_valid_client_credentials(api: ApiServer) -> None:
    client_id, secret = await api.credentials(Role.SUPPLIER, MINISTRY)
    response = await api.anonymous().post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    token = response.json()
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 3600
    me = await api.anonymous().get(
        "/v1/me", headers={"Authorization": f"Bearer {token['access_token']}"}
    )
    assert me.json() == {"client_id": client_id, "role": "supplier", "sirets": [MINISTRY]}


async def test_token_with_http_basic_client_authentication(api: ApiServer) -> None:
    client_id, secret = await api.credentials(Role.OPS)
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    response = await api.anonymous().post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 200, response.text


async def test_wrong_secret_is_refused_with_basic_challenge(api: ApiServer) -> None:
    client_id, _ = await api.credentials(Role.SUPPLIER, MINISTRY)
    response = await api.anonymous().post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": "x"},
    )
    body = assert_problem(response, 401, "AUTH_INVALID_CLIENT")
    assert body["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic")


async def test_other_grants_are_refused(api: ApiServer) -> None:
    response = await api.anonymous().post("/oauth/token", data={"grant_type": "password"})
    assert_problem(response, 400, "AUTH_UNSUPPORTED_GRANT")


async def test_token_request_in_json_is_unsupported_media(api: ApiServer) -> None:
    response = await api.anonymous().post("/oauth/token", json={"grant_type": "client_credentials"})
    assert_problem(response, 415, "UNSUPPORTED_MEDIA_TYPE")


async def test_missing_token_is_401_with_bearer_challenge(api: ApiServer) -> None:
    response = await api.anonymous().get("/v1/me")
    assert_problem(response, 401, "AUTH_REQUIRED")
    assert response.headers["www-authenticate"].startswith("Bearer")


def _forge(api: ApiServer, key: bytes, **claims: object) -> str:
    base = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "cl_x",
        "role": "ops",
        "sirets": [],
        "iat": 1_700_000_000,
        "exp": 4_000_000_000,
    }
    return jwt.encode({**base, **claims}, key, algorithm="HS256")


@pytest.mark.parametrize(
    "kind", ["expired", "forged_key", "alg_none", "garbage", "wrong_audience", "unknown_role"]
)
async def test_bad_tokens_are_401(api: ApiServer, kind: str) -> None:
    key = api.settings.token_key()
    token = {
        "expired": lambda: _forge(api, key, exp=1_700_000_100),
        "forged_key": lambda: _forge(api, b"not-the-key" * 4),
        "alg_none": lambda: jwt.encode(
            {
                "iss": ISSUER,
                "aud": AUDIENCE,
                "sub": "cl_x",
                "role": "ops",
                "sirets": [],
                "iat": 1_700_000_000,
                "exp": 4_000_000_000,
            },
            None,
            algorithm="none",
        ),
        "garbage": lambda: "not.a.token",
        "wrong_audience": lambda: _forge(api, key, aud="someone-else"),
        "unknown_role": lambda: _forge(api, key, role="emperor"),
    }[kind]()
    response = await api.anonymous().get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert_problem(response, 401, "AUTH_INVALID_TOKEN")
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


async def test_expired_token_says_so(api: ApiServer) -> None:
    token = _forge(api, api.settings.token_key(), exp=1_700_000_100)
    response = await api.anonymous().get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert "expired" in response.json()["detail"]


class TestLimits:
    @pytest.fixture
    def api_overrides(self) -> dict[str, object]:
        return {"upload_max_bytes": 1000, "rate_limit_per_second": 1.0, "rate_limit_burst": 5}

    async def test_declared_body_over_the_limit_is_413(self, api: ApiServer) -> None:
        response = await api.anonymous().post(
            "/oauth/token",
            content=b"x" * 1001,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        body = assert_problem(response, 413, "BODY_TOO_LARGE")
        assert body["limit"] == 1000

    async def test_streamed_body_over_the_limit_is_413(self, api: ApiServer) -> None:
        async def chunks():
            for _ in range(10):
                yield b"grant_type=" + b"y" * 200

        response = await api.anonymous().post(
            "/oauth/token",
            content=chunks(),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert "content-length" not in response.request.headers
        assert_problem(response, 413, "BODY_TOO_LARGE")

    async def test_rate_limit_per_client_with_retry_after(self, api: ApiServer) -> None:
        supplier = await api.as_role(Role.SUPPLIER, MINISTRY)
        other = await api.as_role(Role.OPS)
        statuses = [(await supplier.get("/v1/me")).status_code for _ in range(8)]
        assert statuses[:5] == [200] * 5
        limited = await supplier.get("/v1/me")
        assert_problem(limited, 429, "RATE_LIMITED")
        assert int(limited.headers["retry-after"]) >= 1
        assert (await other.get("/v1/me")).status_code == 200, "another client has its own bucket"


async def test_refused_fields_are_pointed_at(api: ApiServer) -> None:
    ops = await api.as_role(Role.OPS)
    response = await ops.put(
        f"/v1/structures/{MINISTRY}",
        json={
            "name": "",
            "category": "EMPIRE",
            "services": [{"code": "A", "name": "x", "active": "maybe"}],
        },
    )
    body = assert_problem(response, 422, "VALIDATION_FAILED")
    pointers = {e["pointer"] for e in body["errors"]}
    assert pointers == {"/name", "/category", "/services/0/active"}


async def test_server_owned_fields_cannot_be_set(api: ApiServer) -> None:
    ops = await api.as_role(Role.OPS)
    response = await ops.put(
        f"/v1/structures/{MINISTRY}",
        json={
            "name": "Ministère",
            "category": "STATE",
            "id": 7,
            "siren": "110002011",
        },
    )
    body = assert_problem(response, 422, "VALIDATION_FAILED")
    assert {(e["pointer"], e["type"]) for e in body["errors"]} == {
        ("/id", "extra_forbidden"),
        ("/siren", "extra_forbidden"),
    }


async def test_a_json_body_in_another_media_type_is_415(api: ApiServer) -> None:
    ops = await api.as_role(Role.OPS)
    response = await ops.put(
        f"/v1/structures/{MINISTRY}",
        content=b'{"name": "x"}',
        headers={"Content-Type": "text/plain"},
    )
    assert_problem(response, 415, "UNSUPPORTED_MEDIA_TYPE")


async def test_malformed_json_is_422(api: ApiServer) -> None:
    ops = await api.as_role(Role.OPS)
    response = await ops.put(
        f"/v1/structures/{MINISTRY}",
        content=b'{"name": ',
        headers={"Content-Type": "application/json"},
    )
    assert_problem(response, 422, "VALIDATION_FAILED")


async def test_an_operator_creates_then_updates_a_structure(api: ApiServer) -> None:
    ops = await api.as_role(Role.OPS)
    body = {
        "name": "Ministère des tests",
        "category": "STATE",
        "services": [{"code": "DIR1", "name": "Direction 1"}],
    }
    created = await ops.put(f"/v1/structures/{MINISTRY}", json=body)
    updated = await ops.put(f"/v1/structures/{MINISTRY}", json={**body, "active": False})
    assert (created.status_code, updated.status_code) == (201, 200)
    assert updated.json()["active"] is False
    services = (await ops.get(f"/v1/structures/{MINISTRY}/services")).json()
    assert [s["code"] for s in services] == ["DIR1"]


async def test_only_operators_edit_the_directory(api: ApiServer) -> None:
    buyer = await api.as_role(Role.BUYER, MINISTRY)
    response = await buyer.put(
        f"/v1/structures/{MINISTRY}", json={"name": "x", "category": "STATE"}
    )
    assert_problem(response, 403, "FORBIDDEN_ROLE")


async def test_integers_out_of_range_are_422_not_500(api: ApiServer) -> None:
    ops = await api.as_role(Role.OPS)
    for query in (
        "limit=0",
        "limit=999999999999999999999999",
        "after=-1",
        "after=99999999999999999999999999999",
    ):
        assert_problem(await ops.get(f"/v1/structures?{query}"), 422, "VALIDATION_FAILED")


async def test_openapi_names_every_schema(api: ApiServer) -> None:
    spec = (await api.anonymous().get("/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    assert {"StructurePublic", "StructureUpsert", "InvoiceDeposited", "Token"} <= set(schemas)
    assert not [name for name in schemas if name.startswith(("Body_", "Response_"))]
