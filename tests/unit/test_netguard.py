"""The outbound guard: only public addresses, unless a host is allow-listed."""

from __future__ import annotations

import pytest

from core.errors import ErrorCode
from core.netguard import OutboundRefused, Target, check_url, is_public

LOOPBACK_FORMS = [
    "http://127.0.0.1/",
    "http://127.1/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://017700000001/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::1]/",
    "http://0.0.0.0/",
    "http://localhost:8080/ocsp",
]
PRIVATE = ["http://169.254.169.254/latest/meta-data", "http://10.0.0.1/", "http://192.168.1.1/"]


@pytest.mark.parametrize("url", LOOPBACK_FORMS + PRIVATE)
def test_non_public_addresses_are_refused_in_every_spelling(url: str) -> None:
    with pytest.raises(OutboundRefused) as refused:
        check_url(url, frozenset())
    assert refused.value.code is ErrorCode.OUTBOUND_URL_REFUSED
    assert "non-public" in refused.value.detail


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.org/crl", "Scheme"),
        ("file:///etc/passwd", "Scheme"),
        ("http://user:pw@example.org/", "credentials"),
        ("http:///path", "no host"),
        ("http://does-not-exist.invalid/", "does not resolve"),
        ("http://[::1/", "not a valid URL"),
    ],
)
def test_malformed_urls_are_refused_with_a_reason(url: str, reason: str) -> None:
    with pytest.raises(OutboundRefused, match=reason):
        check_url(url, frozenset())


def test_an_allow_listed_host_and_port_is_let_through_with_its_address() -> None:
    target = check_url("http://127.0.0.1:8999/ocsp", frozenset({"127.0.0.1:8999"}))
    assert (target.address, target.port, target.allow_listed) == ("127.0.0.1", 8999, True)
    assert target.netloc == "127.0.0.1:8999"
    # The allow-list names a port: another port on the same host stays refused.
    with pytest.raises(OutboundRefused):
        check_url("http://127.0.0.1:9000/ocsp", frozenset({"127.0.0.1:8999"}))


def test_public_addresses_pass_and_mapped_ipv6_is_judged_by_its_ipv4() -> None:
    assert is_public("8.8.8.8")
    assert is_public("2001:4860:4860::8888")
    assert not is_public("::ffff:10.0.0.1")
    assert not is_public("100.64.0.1")  # carrier-grade NAT
    assert not is_public("224.0.0.1")
    assert check_url("https://8.8.8.8/", frozenset()).netloc == "8.8.8.8"


def test_a_request_is_pinned_to_the_checked_address_and_named_for_tls() -> None:
    target = Target("https", "example.org", 443, "93.184.215.14", False)
    assert target.pinned_url("https://example.org/hook?a=1") == "https://93.184.215.14:443/hook?a=1"
    assert target.extensions == {"sni_hostname": "example.org"}
    plain = Target("http", "example.org", 8080, "93.184.215.14", False)
    assert plain.pinned_url("http://example.org:8080/x") == "http://93.184.215.14:8080/x"
    assert plain.extensions == {}


def test_an_ipv6_address_is_bracketed_when_pinned() -> None:
    target = Target("https", "example.org", 443, "2606:2800:21f:cb07::1", False)
    assert target.pinned_url("https://example.org/") == "https://[2606:2800:21f:cb07::1]:443/"


def test_endpoints_need_https_unless_allow_listed() -> None:
    with pytest.raises(OutboundRefused, match="https"):
        check_url("http://example.org/hook", frozenset(), require_tls=True)
    target = check_url("http://127.0.0.1:9/hook", frozenset({"127.0.0.1:9"}), require_tls=True)
    assert target.allow_listed
