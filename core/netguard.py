"""Where Chaîne may send a request it did not choose itself.

URLs taken from untrusted input (a certificate's OCSP, CRL and issuer links, a
subscriber's webhook endpoint) could point at the machine itself or at the private
network around it: a server-side request forgery. Before any such request the host is
resolved once here, every address it resolves to must be public (`is_global`, with
IPv4-mapped IPv6 judged by its IPv4 address), and the caller then connects to one of
these addresses, never resolving again (no DNS rebinding between check and use).

Hosts named in an allow-list (`host` or `host:port`) are exempt: development and tests
run their peers on loopback and turn the guard off for exactly those peers.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from core.errors import ChaineError, ErrorCode


class OutboundRefused(ChaineError):
    """A URL Chaîne will not contact; the reason says which rule it breaks."""

    code = ErrorCode.OUTBOUND_URL_REFUSED
    status = 422


@dataclass(frozen=True)
class Target:
    """A URL checked for an outbound request: where to connect and what to call it."""

    scheme: str
    host: str  # as written in the URL, lower case, without brackets
    port: int
    address: str  # the resolved address to connect to
    allow_listed: bool

    @property
    def netloc(self) -> str:
        """The `Host` header value: the name the peer expects, not the address."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = {"http": 80, "https": 443}[self.scheme]
        return host if self.port == default else f"{host}:{self.port}"

    def pinned_url(self, url: str) -> str:
        """`url` aimed at the checked address, so the HTTP client never resolves the host
        again; send it with `Host: netloc` and the `extensions` below."""
        address = f"[{self.address}]" if ":" in self.address else self.address
        return urlunsplit(urlsplit(url)._replace(netloc=f"{address}:{self.port}"))

    @property
    def extensions(self) -> dict[str, str]:
        """httpx request extensions: TLS is negotiated and verified for the host's name."""
        return {"sni_hostname": self.host} if self.scheme == "https" else {}


def is_public(address: str) -> bool:
    """True when `address` is reachable on the public internet (IANA special ranges excluded)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url(
    url: str,
    allowed_hosts: frozenset[str],
    schemes: frozenset[str] = frozenset({"http", "https"}),
    *,
    require_tls: bool = False,
) -> Target:
    """Resolve the host of `url` and return where to connect, or refuse it.

    Refused: another scheme, credentials in the URL, no host, a host that does not
    resolve, and a host with any non-public address (unless allow-listed). With
    `require_tls` (webhook endpoints), plain `http` only reaches allow-listed hosts.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise OutboundRefused(f"{url!r} is not a valid URL: {exc}.", url=url) from exc
    scheme = parts.scheme.lower()
    if scheme not in schemes:
        allowed = ", ".join(sorted(schemes))
        raise OutboundRefused(f"Scheme {scheme or '(none)'!r} is not allowed ({allowed}).", url=url)
    if parts.username is not None or parts.password is not None:
        raise OutboundRefused("URLs carrying credentials are not allowed.", url=url)
    host = (parts.hostname or "").lower()
    if not host:
        raise OutboundRefused("The URL names no host.", url=url)
    port = port or {"http": 80, "https": 443}[scheme]
    allow_listed = host in allowed_hosts or f"{host}:{port}" in allowed_hosts
    if require_tls and scheme != "https" and not allow_listed:
        raise OutboundRefused("Only https URLs are allowed.", url=url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise OutboundRefused(f"Host {host!r} does not resolve.", url=url) from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not allow_listed:
        private = [address for address in addresses if not is_public(address)]
        if private:
            raise OutboundRefused(
                f"Host {host!r} resolves to a non-public address ({', '.join(private)}).",
                url=url,
            )
    return Target(scheme, host, port, addresses[0], allow_listed)
