"""ASGI middleware: request ids, access logs and metrics, body size limit, rate limit.

Written as plain ASGI (not BaseHTTPMiddleware) so uploads stream through untouched and
the body limit is enforced while reading, not after.
"""

from __future__ import annotations

import logging
import math
import re
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.credentials import principal_from_token
from api.problems import problem
from core.errors import ChaineError, ErrorCode
from core.logging import request_id_var

log = logging.getLogger("chaine.access")

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
UNMETERED = ("/healthz", "/readyz", "/metrics")


class HttpMetrics:
    """Prometheus series for HTTP traffic, labelled by route template (bounded cardinality)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "chaine_http_requests",
            "HTTP requests answered",
            ["method", "route", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            "chaine_http_request_duration_seconds",
            "HTTP request duration",
            ["method", "route"],
            registry=registry,
        )


class RequestContextMiddleware:
    """Give each request an id (echoed in `X-Request-Id`), log it once, count it.

    An error no handler answered becomes a 500 problem+json here, so even crashes carry
    the request id.
    """

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            if response_started:
                raise
            response = problem(
                500,
                ErrorCode.INTERNAL_ERROR,
                "internal error; quote the request id to support",
                instance=scope["path"],
            )
            await response(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.requests.labels(scope["method"], route, str(status)).inc()
            self.metrics.duration.labels(scope["method"], route).observe(elapsed)
            if scope["path"] not in UNMETERED:
                log.info(
                    "%s %s %s",
                    scope["method"],
                    scope["path"],
                    status,
                    extra={
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                        "client": scope.get("state", {}).get("client_id"),
                    },
                )
            request_id_var.reset(token)


class _BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    """Refuse bodies over the limit with 413, from `Content-Length` or while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(scope, receive, send)
            return
        received = 0
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _BodyTooLarge:
            if response_started:
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem(
            413,
            ErrorCode.BODY_TOO_LARGE,
            f"the request body exceeds the limit of {self.max_bytes} bytes",
            instance=scope["path"],
            limit=self.max_bytes,
        )
        await response(scope, receive, send)


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimitMiddleware:
    """A token bucket per client (per token subject, else per address) in this process.

    Each API replica limits on its own; a shared limiter belongs in the gateway in front.
    """

    MAX_TRACKED = 100_000

    def __init__(self, app: ASGIApp, rate: float, burst: int, key: bytes) -> None:
        self.app = app
        self.rate = rate
        self.burst = burst
        self.key = key
        self.buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def _client_key(self, scope: Scope) -> str:
        auth = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        if auth[:7].lower() == "bearer ":
            try:
                principal = principal_from_token(auth[7:].strip(), self.key)
            except ChaineError:
                pass  # an invalid token is limited by address, then refused by the route
            else:
                scope.setdefault("state", {})["client_id"] = principal.client_id
                return f"client:{principal.client_id}"
        host = scope.get("client") or ("unknown", 0)
        return f"addr:{host[0]}"

    def _take(self, key: str) -> float:
        """Take one token; return 0 when allowed, else the seconds until one is available."""
        now = time.monotonic()
        bucket = self.buckets.pop(key, None) or _Bucket(float(self.burst), now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        self.buckets[key] = bucket
        if len(self.buckets) > self.MAX_TRACKED:
            self.buckets.popitem(last=False)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNMETERED:
            await self.app(scope, receive, send)
            return
        wait = self._take(self._client_key(scope))
        if wait:
            retry_after = str(max(1, math.ceil(wait)))
            response = problem(
                429,
                ErrorCode.RATE_LIMITED,
                "too many requests; retry after the delay given",
                instance=scope["path"],
                headers={"Retry-After": retry_after},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
