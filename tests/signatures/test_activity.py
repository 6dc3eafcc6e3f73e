"""The `verify_signature` activity: stored files in, the verdict and report out."""

from __future__ import annotations

import asyncio
from pathlib import Path

from temporalio.testing import ActivityEnvironment

from activities.signatures import SignatureActivities
from devpki import TestPki, default_pdf, sign_detached, sign_pdf
from signatures.fetching import FetchRules
from signatures.policy import VerificationPolicy, load_trust_roots
from store.blobs import BlobStore
from workflows.signature_checks import SignatureCheckRequest


async def in_worker_thread(activity: object, request: SignatureCheckRequest):
    """Run the sync activity as the CPU worker does: in a thread of its pool."""
    return await asyncio.to_thread(ActivityEnvironment().run, activity, request)


def activities(test_pki: TestPki, tmp_path: Path) -> SignatureActivities:
    policy = VerificationPolicy(
        name="activity",
        trust_roots=load_trust_roots(test_pki.trust_dir),
        fetching=FetchRules(allowed_hosts=frozenset({test_pki.host})),
    )
    return SignatureActivities(BlobStore(tmp_path / "blobs"), policy)


async def test_a_stored_bid_is_verified(test_pki: TestPki, tmp_path: Path) -> None:
    acts = activities(test_pki, tmp_path)
    bid = acts.blobs.put(await sign_pdf(test_pki, "signer", "B-T"))
    check = await in_worker_thread(
        acts.verify_signature, SignatureCheckRequest(file_sha256=bid.sha256)
    )
    assert check.indication == "TOTAL_PASSED"
    assert check.report["signatures"][0]["level"] == "B-T"
    assert check.refusal_code is None


async def test_a_detached_signature_and_its_file_are_both_read_from_blobs(
    test_pki: TestPki, tmp_path: Path
) -> None:
    acts = activities(test_pki, tmp_path)
    contract = b"Acte d'engagement, lot 3\n" * 50
    signed = acts.blobs.put(contract)
    p7s = acts.blobs.put(await sign_detached(test_pki, "revoked", contract))
    check = await in_worker_thread(
        acts.verify_signature,
        SignatureCheckRequest(file_sha256=p7s.sha256, signed_file_sha256=signed.sha256),
    )
    assert check.indication == "INDETERMINATE"
    assert check.report["signatures"][0]["revocation_status"] == "REVOKED"


async def test_a_file_without_signature_is_an_answer_not_a_retry(
    test_pki: TestPki, tmp_path: Path
) -> None:
    acts = activities(test_pki, tmp_path)
    unsigned = acts.blobs.put(default_pdf())
    check = await in_worker_thread(
        acts.verify_signature, SignatureCheckRequest(file_sha256=unsigned.sha256)
    )
    assert (check.indication, check.refusal_code) == (None, "SIGNATURE_NOT_FOUND")
    assert check.refusal
