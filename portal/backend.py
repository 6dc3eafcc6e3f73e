"""The portal's only way to read and change anything: the public API, called in-process.

Pages hold no business rule: every read and every action goes through the same routes,
checks and workflows as an API client's, with a short-lived token of the signed-in person.
A refusal comes back as the API's problem+json and is shown to the person as such.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from api.credentials import issue_token
from core.principals import Principal

TOKEN_TTL = timedelta(minutes=5)  # one page's worth of calls
INTERNAL_BASE = "http://chaine.internal"


@dataclass
class ApiProblem(Exception):
    """The API refused: its status, stable code and sentence, and field errors if any."""

    status: int
    code: str
    detail: str
    errors: list[dict[str, Any]] = field(default_factory=list)
    body: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


def problem_of(response: httpx.Response) -> ApiProblem:
    """The problem an error response carries (every API error is problem+json)."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    return ApiProblem(
        status=response.status_code,
        code=str(body.get("code", "INTERNAL_ERROR")),
        detail=str(body.get("detail", response.reason_phrase)),
        errors=list(body.get("errors", [])),
        body=body,
    )


class Backend:
    """An API client acting as one person, over an in-process ASGI transport."""

    def __init__(self, app: FastAPI, principal: Principal, request_id: str | None) -> None:
        token = issue_token(principal, app.state.token_key, TOKEN_TTL)
        headers = {"Authorization": f"Bearer {token}"}
        if request_id:
            headers["X-Request-Id"] = request_id
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url=INTERNAL_BASE,
            headers=headers,
            timeout=60,
        )

    async def close(self) -> None:
        await self.client.aclose()

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Any call; a 4xx/5xx answer raises `ApiProblem`."""
        response = await self.client.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise problem_of(response)
        return response

    async def get(self, path: str, **params: Any) -> Any:
        """GET a JSON resource (None-valued parameters are left out)."""
        query = {k: v for k, v in params.items() if v is not None and v != ""}
        return (await self.call("GET", path, params=query)).json()

    async def post(self, path: str, **kwargs: Any) -> Any:
        """POST and read the JSON answer (None for an empty one)."""
        response = await self.call("POST", path, **kwargs)
        return response.json() if response.content else None

    async def put(self, path: str, **kwargs: Any) -> Any:
        response = await self.call("PUT", path, **kwargs)
        return response.json() if response.content else None

    async def delete(self, path: str) -> None:
        await self.call("DELETE", path)
