"""The signature verification activity (queue `chaine-cpu`).

A sync activity run in the CPU worker's thread pool: pyHanko's validation is
asynchronous, so each call runs it on an event loop of its own thread. A refused file
is an answer, not an error: retrying cannot make it a signed file.
"""

from __future__ import annotations

import asyncio

from temporalio import activity

from core.errors import InvalidInput
from signatures.policy import VerificationPolicy
from signatures.verify import verify
from store.blobs import BlobStore
from workflows.signature_checks import SignatureCheck, SignatureCheckRequest


class SignatureActivities:
    """Verification of stored files under the process's signature policy."""

    def __init__(self, blobs: BlobStore, policy: VerificationPolicy) -> None:
        self.blobs = blobs
        self.policy = policy

    @activity.defn(name="verify_signature")
    def verify_signature(self, request: SignatureCheckRequest) -> SignatureCheck:
        return check_signed_file(self.blobs, self.policy, request)


def check_signed_file(
    blobs: BlobStore, policy: VerificationPolicy, request: SignatureCheckRequest
) -> SignatureCheck:
    """Verify a stored file (in this thread, on an event loop of its own) under `policy`."""
    data = blobs.read(request.file_sha256)
    signed = blobs.read(request.signed_file_sha256) if request.signed_file_sha256 else None
    try:
        report = asyncio.run(verify(data, policy, signed_file=signed))
    except InvalidInput as refusal:
        return SignatureCheck(indication=None, refusal_code=refusal.code, refusal=refusal.detail)
    return SignatureCheck(indication=report.indication.value, report=report.as_json())
