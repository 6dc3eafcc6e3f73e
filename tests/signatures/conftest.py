"""Validation policies over the test PKI, shared by the signature tests."""

from __future__ import annotations

import pytest

from devpki import TestPki
from signatures.fetching import FetchRules
from signatures.policy import VerificationPolicy, load_trust_roots


@pytest.fixture(scope="session")
def online(test_pki: TestPki) -> VerificationPolicy:
    """Trusts the test root and may fetch from the test PKI (and only from it)."""
    return VerificationPolicy(
        name="test PKI, online",
        trust_roots=load_trust_roots(test_pki.trust_dir),
        fetching=FetchRules(allowed_hosts=frozenset({test_pki.host})),
    )


@pytest.fixture(scope="session")
def offline(test_pki: TestPki) -> VerificationPolicy:
    """Trusts the test root; uses only what the file carries."""
    return VerificationPolicy(
        name="test PKI, offline", trust_roots=load_trust_roots(test_pki.trust_dir)
    )
