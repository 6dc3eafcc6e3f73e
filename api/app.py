"""The FastAPI application: built from settings, with its clients opened in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from temporalio.client import Client

from api.mailer import Mailer
from api.middleware import (
    BodyLimitMiddleware,
    HttpMetrics,
    RateLimitMiddleware,
    RequestContextMiddleware,
)
from api.problems import install_problem_handlers
from api.routes import (
    bids,
    consultation_questions,
    consultations,
    directory,
    events,
    flows,
    health,
    invoice_lists,
    invoices,
    lifecycle,
    me,
    notifications,
    oauth,
    ops,
    payments,
    signatures,
    statistics,
    threads,
    webhooks,
)
from core.config import Settings
from portal.app import install_portal
from signatures.policy import policy_from_settings
from store.blobs import BlobStore
from store.database import make_async_engine, make_sessionmaker
from workflows.data_converter import DATA_CONVERTER

API_DESCRIPTION = """\
Chaîne runs the French public spending chain, from tender to payment.

Authenticate with OAuth 2.0 client credentials (`POST /oauth/token`), then send
`Authorization: Bearer <token>`. Every error is `application/problem+json` (RFC 9457)
with a stable `code`.
"""


def create_app(settings: Settings) -> FastAPI:
    """Build the API for these settings; the database and Temporal are reached lazily."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_async_engine(settings.effective_database_url)
        app.state.sessions = make_sessionmaker(engine)
        app.state.mailer = Mailer.from_settings(settings, app.state.sessions)
        if app.state.blobs.root.exists():
            app.state.blobs.remove_abandoned()  # uploads of an API that was killed
        app.state.temporal = await Client.connect(
            settings.effective_temporal_address,
            namespace=settings.temporal_namespace,
            data_converter=DATA_CONVERTER,
            lazy=True,
        )
        try:
            yield
        finally:
            await app.state.mailer.close(grace=settings.smtp_timeout.total_seconds())
            await engine.dispose()

    app = FastAPI(
        title="Chaîne",
        version="1",
        description=API_DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.token_key = settings.token_key()
    app.state.metrics_registry = CollectorRegistry()
    app.state.blobs = BlobStore(settings.effective_blob_dir)
    app.state.signature_policy = policy_from_settings(settings)
    install_problem_handlers(app)

    app.include_router(health.router)
    app.include_router(oauth.router)
    # Each router carries its full prefix (`/v1`), so route templates, hence metric labels,
    # are the paths clients call.
    app.include_router(me.router)
    app.include_router(directory.router)
    app.include_router(invoices.router)
    app.include_router(invoice_lists.router)
    app.include_router(lifecycle.router)
    app.include_router(flows.router)
    app.include_router(events.router)
    app.include_router(signatures.router)
    app.include_router(ops.router)
    app.include_router(webhooks.router)
    app.include_router(notifications.router)
    app.include_router(threads.router)
    app.include_router(payments.router)
    app.include_router(consultations.router)
    app.include_router(bids.router)
    app.include_router(consultation_questions.router)
    app.include_router(statistics.router)
    install_portal(app)  # the pages people use, at `/`, over the same routes

    # Added innermost first: the request context wraps everything, so even a 413 or a 429
    # carries a request id and is counted.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.upload_max_bytes)
    app.add_middleware(
        RateLimitMiddleware,
        rate=settings.rate_limit_per_second,
        burst=settings.rate_limit_burst,
        key=app.state.token_key,
    )
    app.add_middleware(RequestContextMiddleware, metrics=HttpMetrics(app.state.metrics_registry))
    return app
