"""Chaîne's own seal: what it issues (bid receipts, award letters, verification reports)
leaves as a PAdES-sealed PDF, so that anyone can check it came from Chaîne unaltered.

The level depends on what the operator configured: B-B with no timestamp authority
(development only: the signing time is then just our clock's word), B-T with one, and
B-LT when revocation data for the seal may be fetched too, so that the seal can still be
validated once the certificate has expired or its CA has stopped answering. Revocation
data is fetched only through `signatures.fetching`, like every other validation fetch.

A machine with no configured seal gets a self-signed development seal, plainly marked as
untrusted on the page and in the signature itself: it proves nothing to anyone.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

from asn1crypto import keys, x509
from cryptography import x509 as pyca_x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization.pkcs12 import (
    load_key_and_certificates,
    serialize_key_and_certificates,
)
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.timestamps import HTTPTimeStamper, TimestampRequestError
from pyhanko.stamp import TextStampStyle
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError
from pyhanko_certvalidator.registry import SimpleCertificateStore

from core.config import Settings
from core.errors import ChaineError, ErrorCode
from core.netguard import OutboundRefused, check_url
from signatures.fetching import FetchRules, GuardedFetcherBackend
from signatures.policy import VerificationPolicy

log = logging.getLogger(__name__)

FIELD_NAME = "ChaineSeal"
REASON = "Scellé par Chaîne"
LOCATION = "Chaîne, plateforme de la commande publique"
DEVELOPMENT_COMMON_NAME = "Chaîne development seal"
DEVELOPMENT_VALIDITY = timedelta(days=5 * 365)
# Without a passphrase: the file only ever protects a key that proves nothing.
DEVELOPMENT_PASSPHRASE: bytes | None = None
# Bottom left of the first page, in the margin of an A4 or Letter page (user units).
DEVELOPMENT_STAMP_BOX = (24, 4, 464, 34)
DEVELOPMENT_STAMP_TEXT = "Sceau de développement Chaîne : NON FIABLE, ne prouve rien."
TSA_TIMEOUT_SECONDS = 10


class SealUnavailable(ChaineError):
    """Chaîne cannot seal right now: its key cannot be read or its TSA does not answer."""

    code = ErrorCode.SEAL_UNAVAILABLE
    status = 503


@dataclass(frozen=True)
class SealKey:
    """The seal's private key, certificate and chain, read once at start."""

    certificate: x509.Certificate
    private_key: keys.PrivateKeyInfo = field(repr=False)  # its repr would print the key
    chain: tuple[x509.Certificate, ...] = field(repr=False)  # the PKCS#12 file's CA certificates
    development: bool  # the self-signed development seal: everything it seals says so

    def signer(self) -> signers.SimpleSigner:
        """A fresh pyHanko signer (one per seal: pyHanko signers keep per-use state)."""
        return signers.SimpleSigner(
            signing_cert=self.certificate,
            signing_key=self.private_key,
            cert_registry=SimpleCertificateStore.from_certs(self.chain),
        )


def load_seal(pkcs12: bytes, passphrase: bytes | None) -> SealKey:
    """Read the seal from a PKCS#12 file, or refuse at start rather than at the first seal."""
    try:
        key, cert, extra = load_key_and_certificates(pkcs12, passphrase)
    except (ValueError, TypeError) as exc:
        # cryptography says the same for a wrong passphrase and a damaged file.
        raise SealUnavailable(
            "The seal's PKCS#12 file cannot be read: wrong passphrase or damaged file."
        ) from exc
    if key is None or cert is None:
        raise SealUnavailable(
            "The seal's PKCS#12 file must hold a private key and its certificate."
        )
    if cert.not_valid_after_utc <= datetime.now(UTC):
        raise SealUnavailable(
            f"The seal's certificate expired on {cert.not_valid_after_utc:%Y-%m-%d}."
        )
    der = serialization.Encoding.DER
    certificate = x509.Certificate.load(cert.public_bytes(der))
    return SealKey(
        certificate=certificate,
        private_key=keys.PrivateKeyInfo.load(
            key.private_bytes(der, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        ),
        chain=tuple(x509.Certificate.load(c.public_bytes(der)) for c in extra),
        development=_is_development(certificate),
    )


def _is_development(cert: x509.Certificate) -> bool:
    return cert.self_signed != "no" and cert.subject.native.get("common_name") == (
        DEVELOPMENT_COMMON_NAME
    )


def development_seal(path: Path) -> bytes:
    """The development seal's PKCS#12 bytes (no passphrase), made at `path` on first use.

    For `make run` on a fresh machine only: the certificate is self-signed, so no verifier
    trusts it. The file is written 0600 and appears whole or not at all; when two
    processes start together, the first file written wins and both use it.
    """
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(_new_development_pkcs12())
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(temporary, path)  # unlike a rename, never replaces a sibling's file
        except FileExistsError:
            pass
    finally:
        os.unlink(temporary)
    return path.read_bytes()


def _new_development_pkcs12() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = pyca_x509.Name(
        [
            pyca_x509.NameAttribute(NameOID.COMMON_NAME, DEVELOPMENT_COMMON_NAME),
            pyca_x509.NameAttribute(
                NameOID.ORGANIZATIONAL_UNIT_NAME, "UNTRUSTED - development only"
            ),
            pyca_x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Chaîne"),
        ]
    )
    now = datetime.now(UTC)
    cert = (
        pyca_x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(pyca_x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))  # tolerate a verifier's clock skew
        .not_valid_after(now + DEVELOPMENT_VALIDITY)
        .add_extension(pyca_x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            pyca_x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,  # nonRepudiation, which verifiers require
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            pyca_x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    return serialize_key_and_certificates(
        name=DEVELOPMENT_COMMON_NAME.encode(),
        key=key,
        cert=cert,
        cas=None,
        encryption_algorithm=serialization.NoEncryption(),
    )


async def seal_pdf(
    pdf: bytes,
    key: SealKey,
    *,
    tsa_url: str | None,
    fetch_rules: FetchRules | None,
    trust_roots: tuple[x509.Certificate, ...] = (),
) -> bytes:
    """Seal `pdf` at the best level the configuration allows: B-B, B-T or B-LT.

    B-LT needs a TSA and `fetch_rules`; when the revocation data cannot be fetched the
    seal falls back to B-T (logged) rather than leave the document unsealed. The path to
    validate the seal is built to `trust_roots`, or to the root the PKCS#12 file carries.
    """
    allowed = fetch_rules.allowed_hosts if fetch_rules else frozenset()
    timestamper = None if tsa_url is None else _timestamper(tsa_url, allowed)
    if timestamper is not None and fetch_rules is not None:
        roots = trust_roots or tuple(c for c in key.chain if c.self_signed != "no")
        if roots:
            backend = GuardedFetcherBackend(fetch_rules)
            context = ValidationContext(
                trust_roots=list(roots),
                other_certs=list(key.chain),
                allow_fetching=True,
                fetcher_backend=backend,
                # Embed only complete data: a B-LT seal missing revocation data would
                # claim a longevity it does not have.
                revocation_mode="require",
            )
            try:
                return await _sign(pdf, key, timestamper, context)
            except (SigningError, PathBuildingError, PathValidationError) as exc:
                log.warning(
                    "seal revocation data unavailable, sealing at B-T",
                    extra={"reason": _cause(exc)},
                )
            finally:
                await context.aclose()
                await backend.close()
        else:
            log.warning("seal chain has no root to validate against, sealing at B-T")
    return await _sign(pdf, key, timestamper, None)


def _timestamper(url: str, allowed_hosts: frozenset[str]) -> HTTPTimeStamper:
    """The TSA client, after the same outbound check every fetch goes through.

    The URL is the operator's, so this only catches a mistyped or private address early.
    """
    try:
        check_url(url, allowed_hosts)
    except OutboundRefused as exc:
        raise SealUnavailable(f"The seal's timestamp authority is refused: {exc.detail}") from exc
    return HTTPTimeStamper(url, timeout=TSA_TIMEOUT_SECONDS)


async def _sign(
    pdf: bytes,
    key: SealKey,
    timestamper: HTTPTimeStamper | None,
    context: ValidationContext | None,
) -> bytes:
    writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)  # Chaîne's own PDFs only
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=f"{REASON} (sceau de développement, NON FIABLE)" if key.development else REASON,
        location=LOCATION,
        name="Chaîne",
        embed_validation_info=context is not None,
        validation_context=context,
    )
    # The development seal shows on the page: a printed copy must not pass for a real one.
    stamp = TextStampStyle(
        stamp_text=DEVELOPMENT_STAMP_TEXT, border_width=1, text_box_style=TextBoxStyle(font_size=9)
    )
    field = fields.SigFieldSpec(sig_field_name=FIELD_NAME, on_page=0, box=DEVELOPMENT_STAMP_BOX)
    pdf_signer = signers.PdfSigner(
        meta,
        signer=key.signer(),
        timestamper=timestamper,
        stamp_style=stamp if key.development else None,
        new_field_spec=field if key.development else None,
    )
    try:
        output = await pdf_signer.async_sign_pdf(writer)
    except TimestampRequestError as exc:
        raise SealUnavailable(f"The seal's timestamp authority did not answer: {exc}") from exc
    return output.getvalue()


def _cause(exc: BaseException) -> str:
    """The innermost reason pyHanko gives (its SigningError wraps the path error)."""
    while exc.__cause__ is not None and not isinstance(
        exc, PathBuildingError | PathValidationError
    ):
        exc = exc.__cause__
    return str(exc) or type(exc).__name__


@dataclass(frozen=True)
class Sealer:
    """Chaîne's seal as the settings configure it, with what sealing needs around the key."""

    key: SealKey
    tsa_url: str | None
    fetch_rules: FetchRules | None
    trust_roots: tuple

    @classmethod
    def from_settings(cls, settings: Settings, policy: VerificationPolicy) -> Sealer:
        """Read the configured seal (or make the development one) and its TSA and rules."""
        if settings.seal_pkcs12 is None:
            data = development_seal(settings.var_dir / "development-seal.p12")
            passphrase = None
        else:
            data = settings.seal_pkcs12.read_bytes()
            secret = settings.seal_passphrase
            passphrase = secret.get_secret_value().encode() if secret else None
        rules = FetchRules(allowed_hosts=settings.allowed_hosts)
        return cls(load_seal(data, passphrase), settings.seal_tsa_url, rules, policy.trust_roots)

    async def seal(self, pdf: bytes) -> bytes:
        """`pdf` sealed (PAdES) at the best level the configuration allows."""
        return await seal_pdf(
            pdf,
            self.key,
            tsa_url=self.tsa_url,
            fetch_rules=self.fetch_rules,
            trust_roots=self.trust_roots,
        )

    async def seal_data(self, data: bytes) -> bytes:
        """A detached CAdES signature (DER CMS) over `data`: how receipts are sealed.

        Timestamped when a TSA is configured, so the receipt's time rests on a third party.
        """
        timestamper = (
            None
            if self.tsa_url is None
            else _timestamper(
                self.tsa_url, self.fetch_rules.allowed_hosts if self.fetch_rules else frozenset()
            )
        )
        try:
            signed = await self.key.signer().async_sign_general_data(
                BytesIO(data), "sha256", detached=True, timestamper=timestamper
            )
        except TimestampRequestError as exc:
            raise SealUnavailable(f"The seal's timestamp authority did not answer: {exc}") from exc
        return signed.dump()
