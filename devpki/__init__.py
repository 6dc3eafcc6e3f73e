"""A real development PKI for the signature tests and the demo, served over HTTP on loopback.

Why: verifying a signature for real means building a chain to a trust anchor, asking an OCSP
responder or reading a CRL, and checking timestamps from a TSA. Mocking any of that would
test the mocks. So the PKI described in ``certomancer.yml`` (root CA, intermediate CA, OCSP
responder, CRLs, TSA, and signers in the states the verifier must tell apart) is served by
certomancer's own WSGI app on ``127.0.0.1:<free port>``, and every URL written into the
certificates (AIA caIssuers and OCSP, CRL distribution points) points at that server.

The helpers below produce signed files with it: PAdES at each baseline level, detached CAdES
and enveloped XAdES.

Signers (labels of ``TestPki.signer``/``cert``):

- ``signer``: valid, digitalSignature + nonRepudiation;
- ``revoked``: valid dates, revoked since 2025-06-01 (keyCompromise), in OCSP and the CRL;
- ``expired``: valid 2020-01-01 to 2021-12-31 only;
- ``no-nonrepudiation``: valid, digitalSignature only;
- ``seal``: valid, digitalSignature + nonRepudiation, meant for Chaîne's own seal.

Other certificate labels: ``root``, ``interm``, ``interm-ocsp``, ``tsa``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

from asn1crypto import keys, pem, x509
from certomancer.integrations.animator import Animator, AnimatorArchStore
from certomancer.registry import ArchLabel, CertLabel, CertomancerConfig, PKIArchitecture
from cryptography.hazmat.primitives.serialization import load_der_private_key
from lxml import etree
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.ades.api import CAdESSignedAttrSpec
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore
from signxml import SignatureMethod
from signxml.xades import XAdESSigner
from werkzeug.serving import WSGIRequestHandler, make_server

from core.config import Settings

__all__ = [
    "LEVELS",
    "SIGNERS",
    "TestPki",
    "serve_pki",
    "sign_detached",
    "sign_pdf",
    "sign_xml",
]

CONFIG = Path(__file__).with_name("certomancer.yml")
ARCH = "chaine"
SIGNERS = ("signer", "revoked", "expired", "no-nonrepudiation", "seal")
LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")
# pyHanko checks the signer's certificate before embedding validation info, and refuses these
# two; their B-LT/B-LTA files are therefore built by fetching the revocation info directly.
_UNVALIDATABLE = frozenset({"revoked", "expired"})
# Every signer has digitalSignature; pyHanko's default (nonRepudiation) would refuse
# `no-nonrepudiation` before signing, whereas the verifier is the one that must judge it.
_KEY_USAGE = frozenset({"digital_signature"})


@dataclass(frozen=True)
class TestPki:
    """The running test PKI: where it is served, its trust store, and its signers.

    Why frozen: one instance is shared by the whole test session (fixture ``test_pki``).
    """

    __test__ = False  # not a pytest test class, despite the name

    base_url: str
    """``http://127.0.0.1:PORT``, the prefix of every URL in the certificates."""
    host: str
    """``127.0.0.1:PORT``: what an outbound allow-list must contain to reach the PKI."""
    trust_dir: Path
    """A directory holding only ``root.pem``, the root CA: a trust store."""
    root_pem: bytes
    tsa_url: str
    arch: PKIArchitecture = field(repr=False, compare=False)
    """Certomancer's model of the PKI (certificates, keys, services)."""
    requests: list[str] = field(default_factory=list, repr=False, compare=False)
    """The path of every request served, in order: proof of what a verifier fetched."""

    def cert(self, label: str) -> x509.Certificate:
        """The certificate labelled ``label`` in ``certomancer.yml``."""
        return self.arch.get_cert(CertLabel(label))

    def signer(self, name: str) -> signers.SimpleSigner:
        """A pyHanko signer with the key and certificate of ``name``.

        Its certificate registry holds the intermediate CA, so the signature carries the chain
        up to (not including) the root, as a real signer's would.
        """
        _check_signer(name)
        return signers.SimpleSigner(
            signing_cert=self.cert(name),
            signing_key=self._private_key(name),
            cert_registry=SimpleCertificateStore.from_certs([self.cert("interm")]),
        )

    def timestamper(self) -> HTTPTimeStamper:
        """An RFC 3161 client for the served TSA."""
        return HTTPTimeStamper(self.tsa_url)

    def pkcs12(self, name: str, passphrase: bytes) -> bytes:
        """A PKCS#12 file with the key, certificate and chain (intermediate, root) of ``name``.

        Why: Chaîne's seal settings take a PKCS#12 file and its passphrase.
        """
        _check_signer(name)
        return self.arch.package_pkcs12(CertLabel(name), password=passphrase)

    def validation_context(self, **kwargs: Any) -> ValidationContext:
        """A validation context trusting only the root, fetching from the served PKI.

        ``revocation_mode="require"``: every certificate must have revocation info, so a
        broken URL fails loudly instead of producing a B-LT file with an empty DSS.
        Close it with ``await vc.aclose()`` (it owns an aiohttp session).
        """
        options: dict[str, Any] = {
            "trust_roots": [self.cert("root")],
            "allow_fetching": True,
            "revocation_mode": "require",
        }
        options.update(kwargs)
        return ValidationContext(**options)

    def _private_key(self, name: str) -> keys.PrivateKeyInfo:
        key_label = self.arch.get_cert_spec(CertLabel(name)).subject_key
        return self.arch.key_set.get_private_key(key_label)


def _check_signer(name: str) -> None:
    if name not in SIGNERS:
        raise ValueError(f"unknown signer {name!r}; one of {', '.join(SIGNERS)}")


class _WholeSecondsAnimator(Animator):
    """Certomancer's app, answering with times truncated to the second.

    Why: certomancer stamps OCSP responses with the current time including microseconds, which
    asn1crypto encodes as a GeneralizedTime with fractional seconds; strict DER parsers (e.g.
    cryptography's ``load_der_ocsp_response``) reject that, so a verifier built on them would
    fail on our test PKI rather than on real ones.
    """

    def at_time(self, request: Any) -> Any:
        return super().at_time(request).replace(microsecond=0)


class _QuietHandler(WSGIRequestHandler):
    """Werkzeug's handler without a log line per request (errors are still logged)."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


def _not_ready(environ: Any, start_response: Any) -> list[bytes]:
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"PKI not loaded yet"]


@contextmanager
def serve_pki(workdir: Path) -> Iterator[TestPki]:
    """Serve the test PKI with certomancer's WSGI app on 127.0.0.1, on a free port.

    The socket is bound first (port 0, so no other process can take the port in between),
    then the configuration is loaded with that address as the external URL prefix, so the
    URLs in the certificates are the ones served. The server runs in a daemon thread and is
    stopped on exit. ``workdir`` receives the trust store (``trust/root.pem``) and a dump of
    every certificate (``certs/<label>.cert.pem``).
    """
    served: list[str] = []

    class CountingHandler(_QuietHandler):
        def log_request(self, *args: Any, **kwargs: Any) -> None:
            served.append(self.path)

    server = make_server("127.0.0.1", 0, _not_ready, threaded=True, request_handler=CountingHandler)
    host = f"127.0.0.1:{server.server_port}"
    base_url = f"http://{host}"
    config = CertomancerConfig.from_file(str(CONFIG), external_url_prefix=base_url)
    arch = config.get_pki_arch(ArchLabel(ARCH))
    # Builds every certificate now, before the server thread may read them concurrently.
    arch.dump_certs(str(workdir / "certs"), flat=True)
    server.app = _WholeSecondsAnimator(AnimatorArchStore(config.pki_archs), with_web_ui=False)

    root_pem = pem.armor("CERTIFICATE", arch.get_cert(CertLabel("root")).dump())
    trust_dir = workdir / "trust"
    trust_dir.mkdir(parents=True, exist_ok=True)
    (trust_dir / "root.pem").write_bytes(root_pem)

    tsa_url = arch.service_registry.get_tsa_info("tsa").url
    thread = threading.Thread(target=server.serve_forever, name="test-pki", daemon=True)
    thread.start()
    try:
        yield TestPki(
            base_url=base_url,
            host=host,
            trust_dir=trust_dir,
            root_pem=root_pem,
            tsa_url=tsa_url,
            arch=arch,
            requests=served,
        )
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def default_pdf() -> bytes:
    """The corpus's minimal PDF, from the shared folder that tests/conftest.py checks."""
    return (Settings().shared_dir / "corpus" / "signatures" / "pades" / "minimal.pdf").read_bytes()


async def sign_pdf(
    pki: TestPki,
    signer: str,
    level: str,
    pdf: bytes | None = None,
    *,
    content_timestamp: bool = False,
) -> bytes:
    """Sign ``pdf`` (default: the corpus's minimal.pdf) as PAdES at baseline ``level``.

    - ``B-B``: signature only;
    - ``B-T``: plus a signature timestamp from the served TSA;
    - ``B-LT``: plus the validation info (certificates, OCSP responses, CRLs fetched from the
      served PKI) in the DSS;
    - ``B-LTA``: plus a document timestamp over all that.

    ``content_timestamp`` adds a signed timestamp over the content (CAdES
    content-time-stamp): proof that the signature was made *after* that time.

    pyHanko validates the signer's certificate before embedding validation info and refuses a
    revoked or expired one; for those, the file is signed at B-T and the revocation info
    (OCSP saying "revoked", CRLs) is then fetched and written into the DSS directly, which is
    what a careless signing tool would produce and what the verifier must reject.
    """
    _check_signer(signer)
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}; one of {', '.join(LEVELS)}")
    data = default_pdf() if pdf is None else pdf
    long_term = level in ("B-LT", "B-LTA")
    timestamper = None if level == "B-B" else pki.timestamper()
    if long_term and signer in _UNVALIDATABLE:
        signed = await _sign(pki, signer, data, timestamper, None, lta=False)
        signed = await _embed_revinfo_unchecked(pki, signer, signed)
        return await _document_timestamp(pki, signed) if level == "B-LTA" else signed
    context = pki.validation_context() if long_term else None
    try:
        return await _sign(
            pki,
            signer,
            data,
            timestamper,
            context,
            lta=level == "B-LTA",
            content_timestamp=content_timestamp,
        )
    finally:
        if context is not None:
            await context.aclose()


async def _sign(
    pki: TestPki,
    signer: str,
    data: bytes,
    timestamper: HTTPTimeStamper | None,
    context: ValidationContext | None,
    *,
    lta: bool,
    content_timestamp: bool = False,
) -> bytes:
    writer = IncrementalPdfFileWriter(BytesIO(data))
    meta = signers.PdfSignatureMetadata(
        field_name=_free_field_name(writer),
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        embed_validation_info=context is not None,
        use_pades_lta=lta,
        validation_context=context,
        signer_key_usage=set(_KEY_USAGE),
        cades_signed_attr_spec=CAdESSignedAttrSpec(timestamp_content=content_timestamp),
    )
    pdf_signer = signers.PdfSigner(meta, signer=pki.signer(signer), timestamper=timestamper)
    output = await pdf_signer.async_sign_pdf(writer)
    return output.getvalue()


def _free_field_name(writer: IncrementalPdfFileWriter) -> str:
    """``SignatureN``, the first not already in the form (the PDF may be signed already)."""
    taken = {name for name, *_ in fields.enumerate_sig_fields(writer)}
    return next(f"Signature{n}" for n in range(1, len(taken) + 2) if f"Signature{n}" not in taken)


async def _embed_revinfo_unchecked(pki: TestPki, signer: str, signed: bytes) -> bytes:
    """Add a DSS (with a VRI entry) for the last signature, without validating its signer."""
    context = pki.validation_context()
    try:
        cert, interm, tsa = pki.cert(signer), pki.cert("interm"), pki.cert("tsa")
        ocsps = await context.async_retrieve_ocsps(cert, interm)
        crls = [
            *await context.async_retrieve_crls(cert),
            *await context.async_retrieve_crls(interm),
        ]
        if not ocsps or len(crls) < 2:
            raise RuntimeError(f"no revocation info fetched for {signer} from {pki.base_url}")
    finally:
        await context.aclose()
    embedded = PdfFileReader(BytesIO(signed)).embedded_signatures[-1]
    output = BytesIO(signed)
    DocumentSecurityStore.add_dss(
        output,
        embedded.pkcs7_content.hex().encode("ascii"),
        certs=[cert, interm, pki.cert("root"), tsa],
        ocsps=ocsps,
        crls=crls,
    )
    return output.getvalue()


async def _document_timestamp(pki: TestPki, signed: bytes) -> bytes:
    """Add a document timestamp (with the TSA's own validation info in the DSS)."""
    context = pki.validation_context()
    try:
        output = await signers.PdfTimeStamper(pki.timestamper()).async_timestamp_pdf(
            IncrementalPdfFileWriter(BytesIO(signed)), "sha256", validation_context=context
        )
    finally:
        await context.aclose()
    return output.getvalue()


async def sign_detached(pki: TestPki, signer: str, data: bytes, timestamp: bool = False) -> bytes:
    """A detached CAdES signature (DER CMS, the content of a ``.p7s``) over ``data``.

    With ``timestamp``, a signature timestamp from the served TSA is added (CAdES-T).
    """
    content_info = await pki.signer(signer).async_sign_general_data(
        data,
        "sha256",
        detached=True,
        use_cades=True,
        timestamper=pki.timestamper() if timestamp else None,
    )
    return content_info.dump()


def sign_xml(pki: TestPki, signer: str, xml: bytes) -> bytes:
    """An enveloped XAdES-B-B signature of ``xml`` (its root element), made with signxml.

    KeyInfo carries the signing certificate and the intermediate CA, so a verifier only needs
    the root (``pki.trust_dir``).
    """
    _check_signer(signer)
    key = load_der_private_key(pki._private_key(signer).dump(), password=None)
    chain = [
        pem.armor("CERTIFICATE", pki.cert(label).dump()).decode() for label in (signer, "interm")
    ]
    xades = XAdESSigner(signature_algorithm=SignatureMethod.ECDSA_SHA256)
    signed = xades.sign(etree.fromstring(xml), key=key, cert=chain)
    return etree.tostring(signed, xml_declaration=True, encoding="UTF-8")
