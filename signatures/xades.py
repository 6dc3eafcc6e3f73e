"""XAdES: XML signatures, enveloped in the document they sign or enveloping it.

signxml checks what is XML-specific (schema, canonicalisation, references, the signature
value, the signed properties' certificate digests) against the signing certificate taken
from KeyInfo and passed in explicitly, so it makes no trust decision of its own. Everything
else goes through pyHanko under the policy the PDF and CMS verifiers use: the algorithm
policy, the path to a trust anchor, revocation (required), key usage, and the signature
timestamp. Outcomes are read into ETSI EN 319 102-1 indications as pyHanko reads them for
CMS, so one defect gets one verdict whatever the format.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from asn1crypto import algos, cms, crl, ocsp, x509
from cryptography import x509 as pyca_x509
from cryptography.exceptions import UnsupportedAlgorithm
from lxml import etree
from pyhanko.sign.ades.report import AdESPassed
from pyhanko.sign.validation.ades import ades_timestamp_validation
from pyhanko.sign.validation.generic_cms import handle_certvalidator_errors
from pyhanko.sign.validation.policy_decl import (
    LocalKnowledge,
    SignatureValidationSpec,
    bootstrap_validation_data_handlers,
)
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko.sign.validation.utils import CMSAlgorithmUsagePolicy
from pyhanko_certvalidator import ValidationContext, find_valid_path
from pyhanko_certvalidator.errors import (
    InsufficientRevinfoError,
    InvalidCertificateError,
    PathError,
    StaleRevinfoError,
    ValidationError,
)
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
from pyhanko_certvalidator.path import ValidationPath
from pyhanko_certvalidator.revinfo.archival import CRLContainer, OCSPContainer
from signxml import exceptions as signxml_errors
from signxml.algorithms import DigestAlgorithm, SignatureMethod, digest_algorithm_implementations
from signxml.xades import XAdESSignatureConfiguration, XAdESVerifier, XAdESVerifyResult

from core.errors import ErrorCode, InvalidInput
from invoicing.parsing import XmlRefused, parse_xml
from signatures.fetching import GuardedFetcherBackend
from signatures.policy import VerificationPolicy
from signatures.report import (
    Indication,
    Level,
    RevocationSource,
    RevocationStatus,
    SignatureFormat,
    SignatureReport,
    SubIndication,
)
from signatures.verdicts import (
    fetched_any,
    indication_of,
    revocation_of,
    signer_of,
    timing_at,
    verdict,
)

DS = "http://www.w3.org/2000/09/xmldsig#"
DS_SIGNATURE = f"{{{DS}}}Signature"
NS = {"ds": DS}
XADES_NAMESPACES = frozenset(
    {"http://uri.etsi.org/01903/v1.3.2#", "http://uri.etsi.org/01903/v1.4.1#"}
)
INCLUSIVE_C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
# What re-reading the document for each signature and reference may cost: a 1 MB invoice
# may carry a thousand references, a 10 MB one a hundred; a hostile file more may not.
MAX_REREAD_BYTES = 1024 * 1024 * 1024
# Unsigned properties that carry validation data (XAdES-LT and the data of later timestamps).
VALIDATION_DATA = frozenset(
    {
        "CertificateValues",
        "RevocationValues",
        "AttrAuthoritiesCertValues",
        "AttributeRevocationValues",
        "TimeStampValidationData",
    }
)


def read_xml(data: bytes, policy: VerificationPolicy) -> etree._Element:
    """Parse untrusted XML within the policy's limits, or refuse it with a coded error."""
    try:
        tree = parse_xml(data, max_bytes=policy.limits.max_bytes)
    except XmlRefused as exc:
        raise InvalidInput(
            ErrorCode.SIGNATURE_INPUT_INVALID, f"The file is not XML Chaîne reads: {exc.detail}"
        ) from exc
    return tree.getroot()


async def verify_xml(
    data: bytes, policy: VerificationPolicy, at: datetime | None = None
) -> tuple[SignatureReport, ...]:
    """Validate every XAdES signature of the XML `data` (counter-signatures excepted)."""
    root = read_xml(data, policy)
    signatures = _top_level_signatures(root, policy.limits.max_signatures)
    if not signatures:
        raise InvalidInput(ErrorCode.SIGNATURE_NOT_FOUND, "The XML holds no ds:Signature.")
    # signxml re-reads the whole document once per signature and once per reference.
    readings = sum(1 + len(_references(signature)) for signature in signatures)
    if readings * len(data) > MAX_REREAD_BYTES:
        raise InvalidInput(
            ErrorCode.SIGNATURE_INPUT_INVALID,
            f"Verifying would read the {len(data)}-byte file {readings} times; too much.",
        )
    timing = timing_at(at)
    return tuple(
        [
            await _verify_one(root, signature, index, policy, timing)
            for index, signature in enumerate(signatures, start=1)
        ]
    )


def _top_level_signatures(root: etree._Element, limit: int) -> list[etree._Element]:
    """The ds:Signature elements not inside another one: a counter-signature signs the
    signature value it is attached to, not the document, and is reported by neither."""
    found: list[etree._Element] = []
    for element in root.iter(DS_SIGNATURE):
        if any(ancestor.tag == DS_SIGNATURE for ancestor in element.iterancestors()):
            continue
        found.append(element)
        if len(found) > limit:
            raise InvalidInput(
                ErrorCode.SIGNATURE_INPUT_INVALID, f"The XML holds more than {limit} signatures."
            )
    return found


@dataclass(frozen=True)
class _Step:
    """Where one validation step leaves the signature: None means it passed."""

    sub: SubIndication | None
    message: str | None = None


@dataclass(frozen=True)
class _Crypto(_Step):
    intact: bool = False
    crypto_valid: bool = False
    signed_properties: etree._Element | None = None


@dataclass(frozen=True)
class _Chain(_Step):
    path: ValidationPath | None = None
    trusted: bool = False
    revoked_at: datetime | None = None


async def _verify_one(
    root: etree._Element,
    signature: etree._Element,
    index: int,
    policy: VerificationPolicy,
    timing: ValidationTimingInfo,
) -> SignatureReport:
    unsigned = _unsigned_signature_properties(signature)
    messages: list[str] = []
    signer = chain = None
    timestamp_time = None
    backend = policy.fetcher()
    try:
        certificates, crypto = _verify_signature(root, signature)
        signer = certificates[0] if certificates else None
        sub = crypto.sub
        if crypto.message:
            messages.append(crypto.message)
        if crypto.crypto_valid and not _covers_document(root, signature):
            messages.append(
                "The signature covers only part of the document (references: "
                + ", ".join(repr(r.get("URI")) for r in _references(signature))
                + "); check that what matters is among them."
            )
        if sub is None and signer is not None:
            spec = _spec_with_embedded_data(policy, backend, certificates, unsigned, messages)
            context = spec.cert_validation_policy.build_validation_context(
                timing_info=timing,
                handlers=bootstrap_validation_data_handlers(spec, timing_info=timing),
            )
            constraint = _crypto_constraints(signature, signer, context)
            if constraint.sub is None:
                chain = await _validate_chain(signer, context, spec.key_usage_settings)
                constraint = chain
            sub = constraint.sub
            if constraint.message:
                messages.append(constraint.message)
            timestamp_time = await _timestamp_time(signature, unsigned, spec, timing, messages)
            if chain is not None and timestamp_time is not None:
                chain = _with_time(chain, signer, timestamp_time, spec.key_usage_settings)
                sub = chain.sub
    finally:
        if backend is not None:
            await backend.close()
    indication, sub = verdict(sub)
    revocation, source = _revocation(chain, indication, sub, backend)
    return SignatureReport(
        format=SignatureFormat.XADES,
        name=signature.get("Id") or f"signature-{index}",
        indication=indication,
        sub_indication=sub,
        signer=signer_of(signer),
        claimed_signing_time=_claimed_signing_time(crypto.signed_properties, signature),
        timestamp_time=timestamp_time,
        level=_level(unsigned),
        intact=crypto.intact,
        crypto_valid=crypto.crypto_valid,
        coverage=None,
        modifications=None,
        trusted_chain=_trusted_chain(chain),
        revocation_status=revocation,
        revocation_source=source,
        messages=tuple(messages),
    )


# --- the signature itself (signxml) ----------------------------------------------------


class _DetachedContent(Exception):
    """A reference points outside the document: the signed data was not sent."""


class _OneSignatureVerifier(XAdESVerifier):
    """signxml verifies the first ds:Signature it finds; this one verifies the one at
    `path` (child indexes from the root), so that every signature of a file is checked."""

    def __init__(self, path: tuple[int, ...]) -> None:
        super().__init__()
        self.path = path

    def _get_signature(self, root: etree._Element) -> etree._Element:
        element = root
        for index in self.path:
            element = element[index]
        return element


def _verify_signature(
    root: etree._Element, signature: etree._Element
) -> tuple[list[x509.Certificate], _Crypto]:
    """The KeyInfo certificates (signer first) and what signxml says of the signature."""
    try:
        certificates = _key_info_certificates(signature)
    except ValueError as exc:
        return [], _Crypto(SubIndication.FORMAT_FAILURE, f"KeyInfo holds a bad certificate: {exc}")
    if certificates:
        return certificates, _verify_crypto(root, signature, certificates[0])
    try:  # the format check comes first (EN 319 102-1 § 5.2.2), as signxml does it
        _OneSignatureVerifier(()).validate_schema(etree.fromstring(etree.tostring(signature)))
    except etree.DocumentInvalid as exc:
        return [], _Crypto(
            SubIndication.FORMAT_FAILURE, f"The signature breaks the XAdES schema: {exc}"
        )
    return [], _Crypto(
        SubIndication.NO_SIGNING_CERTIFICATE_FOUND,
        "KeyInfo holds no X509Certificate to verify the signature with.",
    )


def _verify_crypto(
    root: etree._Element, signature: etree._Element, signer: x509.Certificate
) -> _Crypto:
    """Format, references, signature value and signing-certificate reference, per signxml.

    Failures keep pyHanko's CMS reading: a broken reference digest is HASH_FAILURE, a bad
    signature value SIG_CRYPTO_FAILURE, and a SigningCertificate digest that does not
    match the certificate NO_SIGNING_CERTIFICATE_FOUND (EN 319 102-1 § 5.2.3: the signer
    cannot be identified; the signed data itself is intact).
    """
    cert = pyca_x509.load_der_x509_certificate(signer.dump())
    config = XAdESSignatureConfiguration(
        expect_references=True,
        # Every algorithm signxml knows, so the integrity verdict stands on its own; whether
        # an algorithm is still strong enough is the policy's call (`_crypto_constraints`).
        # HMAC is left out: a shared secret does not identify a signer.
        signature_methods=frozenset(m for m in SignatureMethod if not m.name.startswith("HMAC")),
        digest_algorithms=frozenset(DigestAlgorithm),
        # signxml would refuse a certificate expired today; dates are judged by pyHanko.
        verification_time=cert.not_valid_before_utc,
    )
    verifier = _OneSignatureVerifier(_child_path(root, signature))
    try:
        results = verifier.verify(
            root,
            x509_cert=cert,
            expect_config=config,
            parser=_parser(),
            uri_resolver=_refuse_external_reference,
        )
    except _DetachedContent as exc:
        return _Crypto(SubIndication.SIGNED_DATA_NOT_FOUND, str(exc))
    except signxml_errors.InvalidDigest as exc:
        if "certificate digest" in str(exc):
            return _Crypto(
                SubIndication.NO_SIGNING_CERTIFICATE_FOUND,
                f"The signed SigningCertificate reference does not match KeyInfo: {exc}",
                intact=True,
                crypto_valid=True,
            )
        return _Crypto(SubIndication.HASH_FAILURE, f"The signed data was changed: {exc}")
    except signxml_errors.InvalidCertificate as exc:  # its own dates are incoherent
        return _Crypto(SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE, str(exc))
    except signxml_errors.InvalidSignature:
        return _Crypto(
            SubIndication.SIG_CRYPTO_FAILURE,
            "The signature value does not verify with the signing certificate.",
        )
    except etree.DocumentInvalid as exc:
        return _Crypto(
            SubIndication.FORMAT_FAILURE, f"The signature breaks the XAdES schema: {exc}"
        )
    except signxml_errors.InvalidInput as exc:
        if str(exc).startswith("Unable to resolve reference URI"):
            return _Crypto(SubIndication.SIGNED_DATA_NOT_FOUND, str(exc))
        return _Crypto(SubIndication.FORMAT_FAILURE, f"The signature is malformed: {exc}")
    # signxml reads optional elements and attributes without checking they are there.
    except (
        ValueError,
        TypeError,
        KeyError,
        AttributeError,
        UnsupportedAlgorithm,
        etree.LxmlError,
        RecursionError,
    ) as exc:
        return _Crypto(
            SubIndication.FORMAT_FAILURE,
            f"The signature is malformed: {str(exc) or type(exc).__name__}",
        )
    signed_properties = next(
        (r.signed_properties for r in results if isinstance(r, XAdESVerifyResult)), None
    )
    return _Crypto(None, intact=True, crypto_valid=True, signed_properties=signed_properties)


def _covers_document(root: etree._Element, signature: etree._Element) -> bool:
    """Whether a reference covers the whole document. signxml checks the references, not
    what they point at: an enveloped signature over a manifest or one element leaves the
    rest of the invoice unsigned, which the report must say."""
    if signature is root:  # enveloping: the signed data is inside the signature
        return True
    whole = {""} | {f"#{root.get(name)}" for name in ("Id", "ID", "id") if root.get(name)}
    return any(reference.get("URI") in whole for reference in _references(signature))


def _references(signature: etree._Element) -> list[etree._Element]:
    return signature.findall("ds:SignedInfo/ds:Reference", NS)


def _refuse_external_reference(uri: str) -> bytes:
    raise _DetachedContent(f"The signature covers {uri!r}, outside the file sent.")


def _parser() -> etree.XMLParser:
    """signxml re-reads the document; with the same refusals as `invoicing.parsing`."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def _child_path(root: etree._Element, element: etree._Element) -> tuple[int, ...]:
    steps: list[int] = []
    while element is not root:
        parent = element.getparent()
        steps.append(parent.index(element))
        element = parent
    return tuple(reversed(steps))


def _key_info_certificates(signature: etree._Element) -> list[x509.Certificate]:
    """The certificates of KeyInfo, signer first (as XAdES signers write them)."""
    certificates = []
    for element in signature.iterfind("ds:KeyInfo/ds:X509Data/ds:X509Certificate", NS):
        try:
            cert = x509.Certificate.load(base64.b64decode(element.text or ""), strict=True)
            cert.native  # noqa: B018  # parse everything now, not halfway through validation
            pyca_x509.load_der_x509_certificate(cert.dump())
        except (ValueError, TypeError, KeyError, binascii.Error, RecursionError) as exc:
            raise ValueError(str(exc) or type(exc).__name__) from exc
        certificates.append(cert)
    return certificates


# --- the policy: algorithms, chain, revocation, timestamps (pyHanko) -------------------


def _spec_with_embedded_data(
    policy: VerificationPolicy,
    backend: GuardedFetcherBackend | None,
    certificates: list[x509.Certificate],
    unsigned: etree._Element | None,
    messages: list[str],
) -> SignatureValidationSpec:
    """The policy's spec, knowing the certificates and revocation data the signature
    carries (KeyInfo, and the XAdES-LT values): what makes a B-LT signature verifiable
    offline. Unreadable values are left out, not fatal: they are unsigned additions."""
    spec = policy.signature_spec(backend)
    known_certs = list(certificates[1:])
    ocsps: list[OCSPContainer] = []
    crls: list[CRLContainer] = []
    unreadable: Counter[str] = Counter()
    for name, value in _encapsulated_values(unsigned):
        try:
            if name == "EncapsulatedX509Certificate":
                cert = x509.Certificate.load(value, strict=True)
                cert.native  # noqa: B018  # parse everything now, not halfway through validation
                known_certs.append(cert)
            elif name == "EncapsulatedOCSPValue":
                response = ocsp.OCSPResponse.load(value, strict=True)
                response.native  # noqa: B018
                ocsps.extend(OCSPContainer.load_multi(response))
            elif name == "EncapsulatedCRLValue":
                revocation_list = crl.CertificateList.load(value, strict=True)
                revocation_list.native  # noqa: B018
                crls.append(CRLContainer(revocation_list))
        except (ValueError, TypeError, KeyError, RecursionError):
            unreadable[name] += 1
    messages.extend(
        f"{count} embedded xades:{name} unreadable, ignored." for name, count in unreadable.items()
    )
    knowledge = LocalKnowledge(known_ocsps=ocsps, known_crls=crls, known_certs=known_certs)
    return dataclasses.replace(spec, local_knowledge=knowledge)


def _encapsulated_values(unsigned: etree._Element | None):
    if unsigned is None:
        return
    for prop in unsigned:
        if _xades_name(prop) not in VALIDATION_DATA:
            continue
        for element in prop.iter():
            name = _xades_name(element)
            if name.startswith("Encapsulated") and name != "EncapsulatedTimeStamp":
                try:
                    yield name, base64.b64decode(element.text or "")
                except binascii.Error:
                    continue


def _crypto_constraints(
    signature: etree._Element, signer: x509.Certificate, context: ValidationContext
) -> _Step:
    """The signature and reference algorithms against the policy's algorithm policy, as
    pyHanko checks a CMS signer's (SHA-1 and short RSA keys are refused)."""
    algorithm_policy = CMSAlgorithmUsagePolicy.lift_policy(context.algorithm_policy)
    moment = context.best_signature_time
    method = SignatureMethod(
        signature.find("ds:SignedInfo/ds:SignatureMethod", NS).get("Algorithm")
    )
    hash_name = digest_algorithm_implementations[method].name.replace("-", "_")
    checks = [
        (
            f"{hash_name} (of {method.name})",
            algorithm_policy.digest_algorithm_allowed(_asn1_digest(hash_name), moment),
        ),
        (
            method.name,
            algorithm_policy.signature_algorithm_allowed(
                _asn1_signature_algorithm(method), moment=moment, public_key=signer.public_key
            ),
        ),
    ]
    for reference in signature.iterfind("ds:SignedInfo/ds:Reference/ds:DigestMethod", NS):
        digest = DigestAlgorithm(reference.get("Algorithm"))
        name = digest.name.lower()
        checks.append((name, algorithm_policy.digest_algorithm_allowed(_asn1_digest(name), moment)))
    for name, constraint in checks:
        if not constraint:
            sub = (
                SubIndication.CRYPTO_CONSTRAINTS_FAILURE
                if constraint.not_allowed_after is None
                else SubIndication.CRYPTO_CONSTRAINTS_FAILURE_NO_POE
            )
            reason = f" {constraint.failure_reason}." if constraint.failure_reason else ""
            return _Step(sub, f"The algorithm {name} is not allowed by the policy.{reason}")
    return _Step(None)


def _asn1_signature_algorithm(method: SignatureMethod) -> algos.SignedDigestAlgorithm:
    digest = digest_algorithm_implementations[method]
    name = digest.name.replace("-", "_")
    if method.name.endswith("RSA_MGF1"):
        return algos.SignedDigestAlgorithm(
            {
                "algorithm": "rsassa_pss",
                "parameters": algos.RSASSAPSSParams(
                    {
                        "hash_algorithm": {"algorithm": name},
                        "mask_gen_algorithm": {
                            "algorithm": "mgf1",
                            "parameters": {"algorithm": name},
                        },
                        "salt_length": digest.digest_size,
                        "trailer_field": "trailer_field_bc",
                    }
                ),
            }
        )
    family = method.name.split("_")[0].lower()  # rsa, ecdsa, dsa
    return algos.SignedDigestAlgorithm({"algorithm": f"{name}_{family}"})


def _asn1_digest(name: str) -> algos.DigestAlgorithm:
    return algos.DigestAlgorithm({"algorithm": name})


class _NoRevocationData(Exception):
    """Revocation data is required and none was found (not merely stale data)."""


async def _validate_chain(
    signer: x509.Certificate, context: ValidationContext, key_usage: KeyUsageConstraints
) -> _Chain:
    """A valid path from the signer to a trust anchor, with revocation, then key usage.

    pyHanko's own error reading (`handle_certvalidator_errors`) gives the sub-indication,
    except for missing revocation data: it says CERTIFICATE_CHAIN_GENERAL_FAILURE, where
    EN 319 102-1 says TRY_LATER (the data may become available, e.g. fetched).
    """
    paths = context.path_builder.async_build_paths_lazy(signer)
    failures: list[str] = []  # pyHanko only logs why; the report says it

    async def usable_path() -> ValidationPath:
        try:
            path = await find_valid_path(signer, paths, validation_context=context)
            if path.pkix_len > 0:  # a trust anchor used as signer is trusted as it is
                key_usage.validate(signer)
        except StaleRevinfoError as exc:
            failures.append(exc.failure_msg)
            raise
        except InsufficientRevinfoError as exc:
            raise _NoRevocationData(exc.failure_msg) from exc
        except (ValidationError, PathError) as exc:
            failures.append(getattr(exc, "failure_msg", None) or str(exc))
            raise
        return path

    try:
        outcome = await handle_certvalidator_errors(signer, usable_path())
    except _NoRevocationData as exc:
        return _Chain(SubIndication.TRY_LATER, f"No usable revocation data: {exc}")
    except ValueError as exc:  # a certificate pyHanko cannot process (as in its CMS path)
        return _Chain(SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE, str(exc))
    if outcome.success_result is not None:
        return _Chain(None, path=outcome.success_result, trusted=True)
    _, sub = indication_of(outcome.error_subindic)
    details = outcome.revo_details
    if details is not None:
        who = "A CA certificate" if details.ca_revoked else "The signing certificate"
        message = f"{who} was revoked on {details.revocation_date.isoformat()}."
    else:
        message = failures[-1] if failures else f"The chain does not validate ({sub})."
    return _Chain(
        sub,
        message,
        path=outcome.error_path,
        revoked_at=None if details is None or details.ca_revoked else details.revocation_date,
    )


def _with_time(
    chain: _Chain, signer: x509.Certificate, poe: datetime, key_usage: KeyUsageConstraints
) -> _Chain:
    """EN 319 102-1 § 5.5 with a verified signature timestamp as proof of existence.

    Revoked after the timestamp: the signature was made while the certificate was good
    (pyHanko's rule for CMS); key usage is checked here since revocation stopped the path
    validation before it. Timestamped before the certificate's validity: NOT_YET_VALID.
    An expired certificate stays OUT_OF_BOUNDS_NO_POE: clearing it needs proof it was not
    revoked before it expired (OUT_OF_BOUNDS_NOT_REVOKED), which is not established here.
    """
    if chain.sub is SubIndication.REVOKED_NO_POE and chain.revoked_at and poe < chain.revoked_at:
        try:
            key_usage.validate(signer)
        except InvalidCertificateError as exc:
            return dataclasses.replace(
                chain, sub=SubIndication.CHAIN_CONSTRAINTS_FAILURE, message=str(exc)
            )
        return dataclasses.replace(chain, sub=None, trusted=True)
    not_before = signer["tbs_certificate"]["validity"]["not_before"].native
    if chain.sub is SubIndication.OUT_OF_BOUNDS_NO_POE and poe < not_before:
        return dataclasses.replace(chain, sub=SubIndication.NOT_YET_VALID)
    return chain


async def _timestamp_time(
    signature: etree._Element,
    unsigned: etree._Element | None,
    spec: SignatureValidationSpec,
    timing: ValidationTimingInfo,
    messages: list[str],
) -> datetime | None:
    """The earliest xades:SignatureTimeStamp that validates under the policy.

    A timestamp that does not validate proves nothing and is set aside with a message
    (EN 319 102-1 § 5.5.4), rather than failing a signature that is sound without it.
    """
    if unsigned is None:
        return None
    signature_value = signature.find("ds:SignatureValue", NS)
    times: list[datetime] = []
    for stamp in unsigned:
        if _xades_name(stamp) != "SignatureTimeStamp" or signature_value is None:
            continue
        token = next((e for e in stamp if _xades_name(e) == "EncapsulatedTimeStamp"), None)
        if token is None:
            continue
        try:
            imprint_input = _canonical(signature_value, stamp)
            info = cms.ContentInfo.load(base64.b64decode(token.text or ""), strict=True)
            if info["content_type"].native != "signed_data":
                raise ValueError("not a signed timestamp token")
            result = await ades_timestamp_validation(
                info["content"], spec, _imprint_of(imprint_input), timing_info=timing
            )
        except (ValueError, TypeError, KeyError, binascii.Error, RecursionError) as exc:
            messages.append(f"A signature timestamp is unreadable; ignored ({exc}).")
            continue
        if result.ades_subindic is AdESPassed.OK:
            times.append(result.api_status.timestamp)
        else:
            messages.append(
                f"A signature timestamp does not validate ({result.ades_subindic.name}); ignored."
            )
    return min(times, default=None)


def _canonical(element: etree._Element, stamp: etree._Element) -> bytes:
    method = stamp.find("ds:CanonicalizationMethod", NS)
    algorithm = INCLUSIVE_C14N if method is None else method.get("Algorithm", INCLUSIVE_C14N)
    return etree.tostring(
        element,
        method="c14n",
        exclusive=algorithm.startswith("http://www.w3.org/2001/10/xml-exc-c14n#"),
        with_comments=algorithm.endswith("#WithComments"),
    )


def _imprint_of(data: bytes) -> Callable[[str], bytes]:
    def imprint(md_algorithm: str) -> bytes:
        return hashlib.new(md_algorithm, data).digest()

    return imprint


# --- reading the report ----------------------------------------------------------------


def _trusted_chain(chain: _Chain | None) -> tuple[str, ...]:
    if chain is None or not chain.trusted or chain.path is None:
        return ()
    return tuple(
        cert.subject.human_friendly for cert in reversed(list(chain.path.iter_certs(True)))
    )


def _revocation(
    chain: _Chain | None,
    indication: Indication,
    sub: SubIndication | None,
    backend: GuardedFetcherBackend | None,
) -> tuple[RevocationStatus, RevocationSource]:
    if chain is not None and chain.revoked_at is not None:  # revoked, even after a timestamp
        source = RevocationSource.FETCHED if fetched_any(backend) else RevocationSource.EMBEDDED
        return RevocationStatus.REVOKED, source
    return revocation_of(None, indication, sub, backend)


def _unsigned_signature_properties(signature: etree._Element) -> etree._Element | None:
    qualifying = next(_qualifying_properties(signature), None)
    return _xades_child(
        _xades_child(qualifying, "UnsignedProperties"), "UnsignedSignatureProperties"
    )


def _qualifying_properties(signature: etree._Element):
    for obj in signature.iterfind("ds:Object", NS):
        for child in obj:
            if _xades_name(child) == "QualifyingProperties":
                yield child


def _level(unsigned: etree._Element | None) -> Level:
    """The baseline level the structure claims (EN 319 132-1 § 6), each level requiring
    the one below, as for PAdES; the archive timestamps themselves are not verified."""
    names = set() if unsigned is None else {_xades_name(prop) for prop in unsigned}
    if "SignatureTimeStamp" not in names:
        return Level.B_B
    if not names & {"CertificateValues", "RevocationValues"}:
        return Level.B_T
    return Level.B_LTA if "ArchiveTimeStamp" in names else Level.B_LT


def _claimed_signing_time(
    signed_properties: etree._Element | None, signature: etree._Element
) -> datetime | None:
    """xades:SigningTime, from the verified signed properties when there are some."""
    if signed_properties is None:
        qualifying = next(_qualifying_properties(signature), None)
        signed = _xades_child(qualifying, "SignedProperties")
        signed_properties = _xades_child(signed, "SignedSignatureProperties")
    element = _xades_child(signed_properties, "SigningTime")
    if element is None:
        return None
    try:
        moment = datetime.fromisoformat((element.text or "").strip())
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _xades_child(element: etree._Element | None, name: str) -> etree._Element | None:
    if element is None:
        return None
    return next((child for child in element if _xades_name(child) == name), None)


def _xades_name(element: etree._Element) -> str:
    """The local name of a XAdES element (1.3.2 or 1.4.1), "" for anything else."""
    if not isinstance(element.tag, str):
        return ""
    name = etree.QName(element)
    return name.localname if name.namespace in XADES_NAMESPACES else ""
