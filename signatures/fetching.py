"""The one way signature validation may reach the network, when the policy allows it.

OCSP, CRL and issuer-certificate URLs come from the certificates being validated, that
is from whoever made the file. pyHanko's own fetchers would follow them anywhere,
redirects included. These fetchers implement pyHanko's fetcher interfaces on top of
`core.netguard`: the host is resolved once and must be public (or allow-listed), the
connection goes to that address, no redirect is followed, and each answer is bounded in
time and size. This is the domain's only network code: validation needs it in the
middle of a path search, and it is off unless the policy turns it on.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass

import certifi
import httpx
from asn1crypto import cms, crl, ocsp, x509
from pyhanko_certvalidator import errors
from pyhanko_certvalidator.authority import Authority
from pyhanko_certvalidator.fetchers.api import (
    CertificateFetcher,
    CRLFetcher,
    FetcherBackend,
    Fetchers,
    OCSPFetcher,
)
from pyhanko_certvalidator.fetchers.common_utils import (
    complete_certificate_fetch_jobs,
    crl_job_results_as_completed,
    enumerate_delivery_point_urls,
    format_ocsp_request,
    gather_aia_issuer_urls,
    ocsp_job_get_earliest,
    process_ocsp_response_data,
    queue_fetch_task,
    unpack_cert_content,
)
from pyhanko_certvalidator.util import get_ocsp_urls, get_relevant_crl_dps, issuer_serial

from core.netguard import OutboundRefused, check_url

log = logging.getLogger(__name__)

USER_AGENT = "chaine-signature-validation"
# Built once: loading the CA bundle costs ~30 ms of CPU per client otherwise.
TLS = ssl.create_default_context(cafile=certifi.where())


@dataclass(frozen=True)
class FetchRules:
    """Bounds on every request validation makes on its own."""

    allowed_hosts: frozenset[str] = frozenset()
    timeout_seconds: float = 5.0
    max_bytes: int = 2 * 1024 * 1024
    max_requests: int = 30  # per validation: a hostile chain cannot make it crawl


class FetchFailed(Exception):
    """A request was refused by the guard or failed; the reason is in the message."""


class _Session:
    """One validation's HTTP client: guarded, counted, never redirected."""

    def __init__(self, rules: FetchRules) -> None:
        self.rules = rules
        self.requests = 0
        self.client = httpx.AsyncClient(
            verify=TLS,
            follow_redirects=False,
            timeout=rules.timeout_seconds,
            trust_env=False,
            headers={"User-Agent": USER_AGENT},
        )

    async def request(
        self, method: str, url: str, *, body: bytes | None = None, content_type: str | None = None
    ) -> tuple[bytes, str | None]:
        """Send one request to a checked address; return the body and its content type."""
        if self.requests >= self.rules.max_requests:
            raise FetchFailed(f"More than {self.rules.max_requests} fetches in one validation.")
        self.requests += 1
        try:
            target = check_url(url, self.rules.allowed_hosts)
        except OutboundRefused as exc:
            log.warning("signature fetch refused", extra={"url": url, "reason": exc.detail})
            raise FetchFailed(exc.detail) from exc
        headers = {"Host": target.netloc}
        if content_type:
            headers["Content-Type"] = content_type
        request = self.client.build_request(
            method,
            target.pinned_url(url),
            content=body,
            headers=headers,
            extensions=target.extensions,
        )
        try:
            response = await self.client.send(request, stream=True)
            try:
                if response.status_code != 200:
                    raise FetchFailed(f"{url} answered HTTP {response.status_code}.")
                chunks, size = [], 0
                async for chunk in response.aiter_raw():
                    size += len(chunk)
                    if size > self.rules.max_bytes:
                        raise FetchFailed(f"{url} answered more than {self.rules.max_bytes} bytes.")
                    chunks.append(chunk)
            finally:
                await response.aclose()
        except httpx.HTTPError as exc:
            raise FetchFailed(f"{url} could not be fetched: {exc}.") from exc
        return b"".join(chunks), response.headers.get("Content-Type")


class _OcspFetcher(OCSPFetcher):
    def __init__(self, session: _Session) -> None:
        self.session = session
        self.results: dict = {}
        self.running: dict = {}

    async def fetch(
        self, cert: x509.Certificate | cms.AttributeCertificateV2, authority: Authority
    ) -> ocsp.OCSPResponse:
        tag = (issuer_serial(cert), authority.hashable)
        return await queue_fetch_task(
            self.results, self.running, tag, lambda: self._fetch(cert, authority)
        )

    async def _fetch(self, cert, authority: Authority) -> ocsp.OCSPResponse:
        ocsp_request = format_ocsp_request(
            cert, authority, certid_hash_algo="sha256", request_nonces=True
        )
        urls = get_ocsp_urls(cert)
        if not urls:
            raise errors.OCSPFetchError("No URLs to fetch OCSP responses from.")

        async def one(url: str) -> ocsp.OCSPResponse:
            try:
                body, _ = await self.session.request(
                    "POST", url, body=ocsp_request.dump(), content_type="application/ocsp-request"
                )
                return process_ocsp_response_data(body, ocsp_request=ocsp_request, ocsp_url=url)
            except (FetchFailed, errors.OCSPValidationError) as exc:
                raise errors.OCSPFetchError(str(exc)) from exc

        return await ocsp_job_get_earliest(one(url) for url in urls)

    def fetched_responses(self) -> Iterable[ocsp.OCSPResponse]:
        return [r for r in self.results.values() if not isinstance(r, Exception)]

    def fetched_responses_for_cert(self, cert) -> Iterable[ocsp.OCSPResponse]:
        target = issuer_serial(cert)
        return [
            r
            for (subject, _), r in self.results.items()
            if subject == target and not isinstance(r, Exception)
        ]


class _CrlFetcher(CRLFetcher):
    def __init__(self, session: _Session) -> None:
        self.session = session
        self.results: dict = {}
        self.running: dict = {}
        self.by_cert: dict[bytes, list[crl.CertificateList]] = {}

    async def fetch(self, cert, *, use_deltas=None) -> Iterable[crl.CertificateList]:
        key = issuer_serial(cert)
        if key in self.by_cert:
            return self.by_cert[key]
        urls = [
            url
            for point in get_relevant_crl_dps(cert, use_deltas=bool(use_deltas))
            for url in enumerate_delivery_point_urls(point)
        ]
        fetched = [crl_ async for crl_ in crl_job_results_as_completed(self._one(u) for u in urls)]
        self.by_cert[key] = fetched
        return fetched

    async def _one(self, url: str) -> crl.CertificateList:
        async def task() -> crl.CertificateList:
            try:
                body, _ = await self.session.request("GET", url)
                return crl.CertificateList.load(body)
            except (FetchFailed, ValueError) as exc:
                raise errors.CRLFetchError(f"CRL from {url}: {exc}") from exc

        return await queue_fetch_task(self.results, self.running, url, task)

    def fetched_crls(self) -> Iterable[crl.CertificateList]:
        return [r for r in self.results.values() if not isinstance(r, Exception)]

    def fetched_crls_for_cert(self, cert) -> Iterable[crl.CertificateList]:
        return self.by_cert[issuer_serial(cert)]


class _CertificateFetcher(CertificateFetcher):
    def __init__(self, session: _Session) -> None:
        self.session = session
        self.results: dict = {}
        self.running: dict = {}

    async def _certs(self, url: str) -> list[x509.Certificate]:
        async def task() -> list[x509.Certificate]:
            try:
                body, content_type = await self.session.request("GET", url)
                media_type = content_type.split(";")[0].strip() if content_type else None
                return list(unpack_cert_content(body, media_type, url, permit_pem=True))
            except (FetchFailed, ValueError) as exc:
                raise errors.CertificateFetchError(f"Certificates from {url}: {exc}") from exc

        return await queue_fetch_task(self.results, self.running, url, task)

    def fetch_cert_issuers(self, cert) -> AsyncIterator[x509.Certificate]:
        return complete_certificate_fetch_jobs(
            [self._certs(url) for url in gather_aia_issuer_urls(cert)]
        )

    def fetch_crl_issuers(self, certificate_list) -> AsyncIterator[x509.Certificate]:
        return complete_certificate_fetch_jobs(
            [self._certs(url) for url in certificate_list.issuer_cert_urls]
        )

    def fetched_certs(self) -> Iterable[x509.Certificate]:
        return [
            cert
            for certs in self.results.values()
            if not isinstance(certs, Exception)
            for cert in certs
        ]


class GuardedFetcherBackend(FetcherBackend):
    """pyHanko's fetcher backend interface, served by the guarded session above.

    One backend serves one validation: its request budget and its record of what was
    fetched (the report's revocation source) belong to that validation.
    """

    def __init__(self, rules: FetchRules) -> None:
        self.rules = rules
        self._session: _Session | None = None
        self.fetched: Fetchers | None = None  # kept after close: what was fetched

    def get_fetchers(self) -> Fetchers:
        if self.fetched is None:
            self._session = session = _Session(self.rules)
            self.fetched = Fetchers(
                ocsp_fetcher=_OcspFetcher(session),
                crl_fetcher=_CrlFetcher(session),
                cert_fetcher=_CertificateFetcher(session),
            )
        return self.fetched

    async def close(self) -> None:
        if self._session is not None:
            await self._session.client.aclose()
