"""Reaching Temporal: the one place that knows the address, the namespace and how to wait."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client
from temporalio.service import RPCError

from core.config import Settings
from core.errors import ChaineError, ErrorCode
from workflows.data_converter import DATA_CONVERTER

_ATTEMPT_TIMEOUT = timedelta(seconds=5)
_RETRY_PAUSE_SECONDS = 0.5


class TemporalUnavailable(ChaineError):
    """The Temporal frontend does not answer, or does not know the namespace."""

    code = ErrorCode.SERVICE_UNAVAILABLE
    status = 503


async def connect(settings: Settings, patience: timedelta = timedelta(0)) -> Client:
    """A client whose namespace answers, retrying for `patience` while a server starts.

    Connecting alone proves the frontend is up; describing the namespace proves the dev
    server has finished creating it, so a worker started next can poll at once.
    """
    address = settings.effective_temporal_address
    namespace = settings.temporal_namespace
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience.total_seconds()
    while True:
        try:
            async with asyncio.timeout(_ATTEMPT_TIMEOUT.total_seconds()):
                client = await Client.connect(
                    address, namespace=namespace, data_converter=DATA_CONVERTER
                )
                await client.workflow_service.describe_namespace(
                    DescribeNamespaceRequest(namespace=namespace), timeout=_ATTEMPT_TIMEOUT
                )
            return client
        except (RuntimeError, RPCError, TimeoutError) as exc:
            if loop.time() >= deadline:
                raise TemporalUnavailable(
                    f"Temporal at {address} (namespace {namespace!r}) does not answer: {exc}",
                    address=address,
                ) from None
        await asyncio.sleep(_RETRY_PAUSE_SECONDS)
