"""The portal's only way to read and change anything: the public API, called in-process.

Pages hold no business rule: every read and every action goes through the same routes,
checks and workflows as an API client's, with a short-lived token of the signed-in person.
A refusal comes back as the API's problem+json and is shown to the person as such.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import anyio
import httpx
from anyio.streams.memory import MemoryObjectReceiveStream
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from starlette.types import Message

from api.credentials import issue_token
from core.principals import Principal

TOKEN_TTL = timedelta(minutes=5)  # one page's worth of calls
INTERNAL_BASE = "http://chaine.internal"
_RELAYED_HEADERS = (b"content-type", b"content-disposition", b"content-length", b"digest")


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
        self.app = app
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

    async def download(self, path: str, params: Any = None) -> StreamingResponse:
        """A file of the API (an original, a CSV export, a payment file...) passed on to the
        browser as it comes, as an attachment never rendered by it.

        httpx's in-process transport holds a whole answer in memory, which would undo the
        API's streaming of large exports: this calls the API application directly and relays
        each chunk, the API waiting while the browser is slower. A refusal raises
        `ApiProblem` like any call."""
        query = urlencode(params or {}, doseq=True)  # a mapping or (name, value) pairs
        headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in self.client.headers.items()
            if name.lower() in ("authorization", "x-request-id")
        ]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode("latin-1"),
            "headers": headers,
            "server": ("chaine.internal", 80),
            "client": ("127.0.0.1", 0),
            "root_path": "",
        }
        to_portal, from_api = anyio.create_memory_object_stream[Message](8)
        asked = anyio.Event()

        async def receive() -> Message:
            if asked.is_set():
                await anyio.sleep_forever()  # a GET has no more body; cancelled with the call
            asked.set()
            return {"type": "http.request", "body": b"", "more_body": False}

        async def call_api() -> None:
            with to_portal:  # closed however the API ends, so the reader sees the end
                await self.app(scope, receive, to_portal.send)

        task = asyncio.create_task(call_api())
        try:
            start = await from_api.receive()
            if start["status"] >= 400:
                body = b"".join([message.get("body", b"") async for message in from_api])
                raise problem_of(httpx.Response(start["status"], content=body))
        except anyio.EndOfStream:
            await task
            raise ApiProblem(500, "INTERNAL_ERROR", "the API sent no answer") from None
        except BaseException:
            task.cancel()
            raise
        relayed = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in start["headers"]
            if name.lower() in _RELAYED_HEADERS
        }
        relayed.setdefault("content-disposition", "attachment")
        return StreamingResponse(
            _chunks(from_api, task),
            status_code=start["status"],
            headers=relayed | {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
        )


async def _chunks(
    messages: MemoryObjectReceiveStream[Message], task: asyncio.Task[None]
) -> AsyncIterator[bytes]:
    """The body chunks of the API's answer; a browser that leaves stops the API's work."""
    try:
        async for message in messages:
            chunk = message.get("body", b"")
            if chunk:
                yield chunk
        await task  # a failure after the first bytes cuts the download short, as it should
    finally:
        task.cancel()
        messages.close()
