"""Trust anchors (certificate files, an EU trusted list) and the policy the settings select.

The trusted lists are built here, as ETSI TS 119 612 (v2.1.1 schema) XML around the test PKI's
certificates: the smallest lists the schema accepts, with the services pyHanko's parser reads.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import pem, x509

from core.config import Settings, SettingsError
from devpki import TestPki, sign_pdf
from signatures.fetching import FetchRules
from signatures.pades import verify_pdf
from signatures.policy import (
    Limits,
    TrustStoreError,
    VerificationPolicy,
    load_trust_roots,
    policy_from_settings,
)
from signatures.report import Indication, SubIndication

TRSTSVC = "http://uri.etsi.org/TrstSvc"
CA_QC = f"{TRSTSVC}/Svctype/CA/QC"
CA_PKC = f"{TRSTSVC}/Svctype/CA/PKC"  # a CA, but not a qualified one
QTST = f"{TRSTSVC}/Svctype/TSA/QTST"  # qualified, but a timestamping authority
GRANTED = f"{TRSTSVC}/TrustedList/Svcstatus/granted"
WITHDRAWN = f"{TRSTSVC}/TrustedList/Svcstatus/withdrawn"
SINCE = datetime(2020, 1, 1, tzinfo=UTC)
WITHDRAWN_AT = datetime(2024, 1, 1, tzinfo=UTC)


def fingerprints(certs: tuple[x509.Certificate, ...]) -> list[bytes]:
    return sorted(cert.sha256 for cert in certs)


# --- a directory of certificate files -----------------------------------------------------


def test_a_directory_of_pem_and_der_files_gives_each_anchor_once(
    test_pki: TestPki, tmp_path: Path
) -> None:
    root, interm = test_pki.cert("root"), test_pki.cert("interm")
    (tmp_path / "root.pem").write_bytes(pem.armor("CERTIFICATE", root.dump()))
    (tmp_path / "interm.der").write_bytes(interm.dump())
    (tmp_path / "root-again.cer").write_bytes(root.dump())  # the same root, in DER
    (tmp_path / "README.txt").write_text("Not a certificate: ignored.\n")

    roots = load_trust_roots(tmp_path)

    assert len(roots) == 2
    assert fingerprints(roots) == fingerprints((root, interm))
    assert load_trust_roots(None) == ()


def test_a_missing_directory_names_its_variable(tmp_path: Path) -> None:
    with pytest.raises(TrustStoreError, match="CHAINE_SIGNATURE_TRUST_DIR") as caught:
        load_trust_roots(tmp_path / "absent")
    assert isinstance(caught.value, SettingsError)


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"This is not a certificate.\n", id="text"),
        # Well-formed DER that is no certificate (SEQUENCE { INTEGER 1 }): asn1crypto parses
        # lazily, so only a full parse tells it from one.
        pytest.param(pem.armor("CERTIFICATE", b"\x30\x03\x02\x01\x01"), id="not-a-certificate"),
        # A PEM file without any CERTIFICATE block: pyHanko skips the other blocks.
        pytest.param(pem.armor("PRIVATE KEY", b"\x30\x03\x02\x01\x01"), id="private-key"),
    ],
)
def test_a_pem_file_of_garbage_names_its_variable_and_the_file(
    test_pki: TestPki, tmp_path: Path, content: bytes
) -> None:
    (tmp_path / "root.pem").write_bytes(pem.armor("CERTIFICATE", test_pki.cert("root").dump()))
    (tmp_path / "broken.pem").write_bytes(content)
    with pytest.raises(TrustStoreError, match="CHAINE_SIGNATURE_TRUST_DIR") as caught:
        load_trust_roots(tmp_path)
    assert "broken.pem" in str(caught.value)


# --- an EU trusted list (ETSI TS 119 612) ---------------------------------------------------


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


ADDRESS = """
      <PostalAddresses>
        <PostalAddress xml:lang="en">
          <StreetAddress>1 rue de l'Essai</StreetAddress>
          <Locality>Paris</Locality>
          <CountryName>FR</CountryName>
        </PostalAddress>
      </PostalAddresses>
      <ElectronicAddress><URI xml:lang="en">mailto:tl@example.org</URI></ElectronicAddress>"""


def _service_body(cert: x509.Certificate | str, kind: str, status: str, since: datetime) -> str:
    b64 = cert if isinstance(cert, str) else base64.b64encode(cert.dump()).decode("ascii")
    return f"""
            <ServiceTypeIdentifier>{kind}</ServiceTypeIdentifier>
            <ServiceName><Name xml:lang="en">Chaîne test CA</Name></ServiceName>
            <ServiceDigitalIdentity>
              <DigitalId><X509Certificate>{b64}</X509Certificate></DigitalId>
            </ServiceDigitalIdentity>
            <ServiceStatus>{status}</ServiceStatus>
            <StatusStartingTime>{_stamp(since)}</StatusStartingTime>"""


def service(
    cert: x509.Certificate | str,
    *,
    kind: str = CA_QC,
    status: str = GRANTED,
    since: datetime = SINCE,
    granted_from: datetime | None = None,
) -> str:
    """One TSPService for `cert` (or the text of its X509Certificate element).

    `granted_from`: a history instance too, granted from then until `since`.
    """
    history = (
        ""
        if granted_from is None
        else f"""
          <ServiceHistory>
            <ServiceHistoryInstance>{_service_body(cert, kind, GRANTED, granted_from)}
            </ServiceHistoryInstance>
          </ServiceHistory>"""
    )
    return f"""
        <TSPService>
          <ServiceInformation>{_service_body(cert, kind, status, since)}
          </ServiceInformation>{history}
        </TSPService>"""


def trusted_list(*services: str) -> str:
    """A TrustServiceStatusList with one TSP offering `services` (none: no TSP list at all,
    as the schema wants, since a TSP list holds at least one TSP with at least one service)."""
    tsp_list = (
        f"""
  <TrustServiceProviderList>
    <TrustServiceProvider>
      <TSPInformation>
        <TSPName><Name xml:lang="en">Chaîne test TSP</Name></TSPName>
        <TSPAddress>{ADDRESS}
        </TSPAddress>
        <TSPInformationURI><URI xml:lang="en">https://example.org/tsp</URI></TSPInformationURI>
      </TSPInformation>
      <TSPServices>{"".join(services)}
      </TSPServices>
    </TrustServiceProvider>
  </TrustServiceProviderList>"""
        if services
        else ""
    )
    issued = datetime.now(UTC).replace(microsecond=0)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<TrustServiceStatusList xmlns="http://uri.etsi.org/02231/v2#"
    TSLTag="http://uri.etsi.org/19612/TSLTag" Id="chaine-test-tl">
  <SchemeInformation>
    <TSLVersionIdentifier>5</TSLVersionIdentifier>
    <TSLSequenceNumber>1</TSLSequenceNumber>
    <TSLType>{TRSTSVC}/TrustedList/TSLType/EUgeneric</TSLType>
    <SchemeOperatorName><Name xml:lang="en">Chaîne test operator</Name></SchemeOperatorName>
    <SchemeOperatorAddress>{ADDRESS}
    </SchemeOperatorAddress>
    <SchemeName><Name xml:lang="en">FR:Chaîne test trusted list</Name></SchemeName>
    <SchemeInformationURI><URI xml:lang="en">https://example.org/tl</URI></SchemeInformationURI>
    <StatusDeterminationApproach>{TRSTSVC}/TrustedList/StatusDetn/EUappropriate\
</StatusDeterminationApproach>
    <SchemeTypeCommunityRules>
      <URI xml:lang="en">{TRSTSVC}/TrustedList/schemerules/EUcommon</URI>
    </SchemeTypeCommunityRules>
    <SchemeTerritory>FR</SchemeTerritory>
    <HistoricalInformationPeriod>65535</HistoricalInformationPeriod>
    <ListIssueDateTime>{_stamp(issued)}</ListIssueDateTime>
    <NextUpdate><dateTime>{_stamp(issued + timedelta(days=180))}</dateTime></NextUpdate>
  </SchemeInformation>{tsp_list}
</TrustServiceStatusList>
"""


def write_list(tmp_path: Path, xml: str, name: str = "tl.xml") -> Path:
    path = tmp_path / name
    path.write_bytes(xml.encode("utf-8"))
    return path


@pytest.mark.parametrize("label", ["root", "interm"])
def test_a_granted_qualified_ca_of_a_trusted_list_is_an_anchor(
    test_pki: TestPki, tmp_path: Path, label: str
) -> None:
    cert = test_pki.cert(label)
    tl = write_list(tmp_path, trusted_list(service(cert)))
    assert fingerprints(load_trust_roots(None, tl)) == [cert.sha256]


def test_trusted_list_anchors_join_the_directory_ones_once(
    test_pki: TestPki, tmp_path: Path
) -> None:
    root, interm = test_pki.cert("root"), test_pki.cert("interm")
    tl = write_list(tmp_path, trusted_list(service(root), service(interm)))
    roots = load_trust_roots(test_pki.trust_dir, tl)  # the directory holds the root too
    assert fingerprints(roots) == fingerprints((root, interm))


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"status": WITHDRAWN}, id="withdrawn"),
        pytest.param({"kind": CA_PKC}, id="non-qualified-ca"),
        pytest.param({"kind": QTST}, id="qualified-timestamping"),
        pytest.param({"since": datetime.now(UTC) + timedelta(days=1)}, id="granted-tomorrow"),
    ],
)
def test_other_services_of_a_trusted_list_give_no_anchor(
    test_pki: TestPki, tmp_path: Path, options: dict[str, Any]
) -> None:
    tl = write_list(tmp_path, trusted_list(service(test_pki.cert("root"), **options)))
    assert load_trust_roots(None, tl) == ()


def test_a_withdrawn_service_is_an_anchor_only_while_it_was_granted(
    test_pki: TestPki, tmp_path: Path
) -> None:
    root = test_pki.cert("root")
    withdrawn = service(root, status=WITHDRAWN, since=WITHDRAWN_AT, granted_from=SINCE)
    tl = write_list(tmp_path, trusted_list(withdrawn))
    assert fingerprints(load_trust_roots(None, tl, at=datetime(2022, 1, 1, tzinfo=UTC))) == [
        root.sha256
    ]
    assert load_trust_roots(None, tl, at=SINCE - timedelta(seconds=1)) == ()
    assert load_trust_roots(None, tl, at=WITHDRAWN_AT) == ()
    assert load_trust_roots(None, tl) == ()


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(None, id="missing"),
        pytest.param(b"This is not XML.\n", id="text"),
        pytest.param(b"\xff\xfe<\x00?\x00x\x00m\x00l\x00", id="not-utf-8"),
        pytest.param(b"<TrustServiceStatusList", id="truncated"),
        # Schema-valid, but lists no TSP: the shape of the EU list of the lists, which names
        # other lists and no CA. pyHanko refuses it rather than read it as no anchors.
        pytest.param(trusted_list().encode(), id="no-tsp"),
        # xsdata leaves text that is not base64 as it is, and asn1crypto then refuses a str.
        pytest.param(
            trusted_list(service("not base64!")).encode(),
            id="certificate-not-base64",
            marks=pytest.mark.filterwarnings("ignore::xsdata.exceptions.ConverterWarning"),
        ),
        # SEQUENCE { INTEGER 1 }: well-formed DER, no certificate.
        pytest.param(trusted_list(service("MAMCAQE=")).encode(), id="not-a-certificate"),
    ],
)
def test_an_unreadable_trusted_list_names_its_variable(
    tmp_path: Path, content: bytes | None
) -> None:
    path = tmp_path / "tl.xml"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(TrustStoreError, match="CHAINE_SIGNATURE_TRUSTED_LIST") as caught:
        load_trust_roots(None, path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(("label", "anchored"), [("root", True), ("interm", True), (None, False)])
async def test_a_signature_verifies_against_the_anchors_of_a_trusted_list(
    test_pki: TestPki, tmp_path: Path, label: str | None, anchored: bool
) -> None:
    # Without a granted CA/QC service (here: the root's, withdrawn), the list gives no anchor.
    listed = (
        service(test_pki.cert(label)) if label else service(test_pki.cert("root"), status=WITHDRAWN)
    )
    tl = write_list(tmp_path, trusted_list(listed))
    policy = VerificationPolicy(
        name="tl",
        trust_roots=load_trust_roots(None, tl),
        fetching=FetchRules(allowed_hosts=frozenset({test_pki.host})),
    )
    (report,) = await verify_pdf(await sign_pdf(test_pki, "signer", "B-B"), policy)
    if anchored:
        assert (report.indication, report.sub_indication) == (Indication.TOTAL_PASSED, None)
        assert report.trusted_chain[-1] == test_pki.cert(label).subject.human_friendly
    else:
        assert (report.indication, report.sub_indication) == (
            Indication.INDETERMINATE,
            SubIndication.NO_CERTIFICATE_CHAIN_FOUND,
        )
        assert report.trusted_chain == ()


# --- the policy the settings select ---------------------------------------------------------


def test_settings_with_fetching_give_its_allow_list_and_limits(
    test_pki: TestPki, tmp_path: Path
) -> None:
    settings = Settings(
        var_dir=tmp_path,
        signature_trust_dir=test_pki.trust_dir,
        signature_trusted_list=None,
        signature_fetching=True,
        outbound_allowed_hosts="127.0.0.1:1234",
        signature_fetch_timeout=timedelta(seconds=7),
        signature_fetch_max_bytes=12_345,
        upload_max_bytes=1_000_000,
        signature_max_pdf_objects=999,
    )
    policy = policy_from_settings(settings)
    assert policy.fetching == FetchRules(
        allowed_hosts=frozenset({"127.0.0.1:1234"}), timeout_seconds=7.0, max_bytes=12_345
    )
    assert policy.limits == Limits(max_bytes=1_000_000, max_pdf_objects=999)
    assert fingerprints(policy.trust_roots) == [test_pki.cert("root").sha256]
    backend = policy.fetcher()
    assert backend is not None and backend.rules is policy.fetching


def test_settings_without_fetching_give_no_fetching_rules(
    test_pki: TestPki, tmp_path: Path
) -> None:
    tl = write_list(tmp_path, trusted_list(service(test_pki.cert("interm"))))
    settings = Settings(
        var_dir=tmp_path,
        signature_trust_dir=test_pki.trust_dir,
        signature_trusted_list=tl,
        signature_fetching=False,
        outbound_allowed_hosts="127.0.0.1:1234",
    )
    policy = policy_from_settings(settings)
    assert policy.fetching is None
    assert policy.fetcher() is None
    assert fingerprints(policy.trust_roots) == fingerprints(
        (test_pki.cert("root"), test_pki.cert("interm"))
    )


def test_settings_naming_a_broken_trust_store_are_refused(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path, signature_trust_dir=tmp_path / "absent")
    with pytest.raises(TrustStoreError, match="CHAINE_SIGNATURE_TRUST_DIR"):
        policy_from_settings(settings)
