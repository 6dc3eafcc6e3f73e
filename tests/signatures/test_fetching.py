"""The only network path of signature validation refuses what a hostile certificate asks.

Two real HTTP servers on loopback count the requests they receive: a refused URL must
leave their count at zero (no connection at all), and the allow-list is the toggle that
proves the guard, never a real private address.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from signatures.fetching import FetchFailed, FetchRules, _Session


class Peer:
    """A loopback HTTP server answering every GET with `status`, `body` and `location`."""

    def __init__(self, status: int = 200, body: bytes = b"ok", location: str | None = None):
        self.hits = 0
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                peer.hits += 1
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.server.server_port}"
        self.url = f"http://{self.host}/crl"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def peers() -> Iterator[list[Peer]]:
    started: list[Peer] = []
    yield started
    for peer in started:
        peer.server.shutdown()
        peer.server.server_close()


async def fetch(url: str, rules: FetchRules) -> bytes:
    session = _Session(rules)
    try:
        body, _ = await session.request("GET", url)
        return body
    finally:
        await session.client.aclose()


async def test_loopback_is_never_contacted_unless_allow_listed(peers: list[Peer]) -> None:
    peer = Peer(body=b"crl-bytes")
    peers.append(peer)
    port = peer.server.server_port
    for url in (
        peer.url,
        f"http://127.1:{port}/",
        f"http://2130706433:{port}/",
        f"http://0x7f000001:{port}/",
        f"http://[::ffff:127.0.0.1]:{port}/",
    ):
        with pytest.raises(FetchFailed, match="non-public"):
            await fetch(url, FetchRules())
    assert peer.hits == 0
    assert await fetch(peer.url, FetchRules(allowed_hosts=frozenset({peer.host}))) == b"crl-bytes"
    assert peer.hits == 1


async def test_a_redirect_is_not_followed_even_between_allowed_peers(peers: list[Peer]) -> None:
    target = Peer(body=b"secret")
    bouncer = Peer(status=302, location=target.url)
    peers.extend([target, bouncer])
    rules = FetchRules(allowed_hosts=frozenset({bouncer.host, target.host}))
    with pytest.raises(FetchFailed, match="HTTP 302"):
        await fetch(bouncer.url, rules)
    assert (bouncer.hits, target.hits) == (1, 0)


async def test_answers_are_capped_in_size_and_requests_in_number(peers: list[Peer]) -> None:
    peer = Peer(body=b"x" * 5000)
    peers.append(peer)
    rules = FetchRules(allowed_hosts=frozenset({peer.host}), max_bytes=1000, max_requests=2)
    session = _Session(rules)
    try:
        with pytest.raises(FetchFailed, match="more than 1000 bytes"):
            await session.request("GET", peer.url)
        with pytest.raises(FetchFailed, match="more than 1000 bytes"):
            await session.request("GET", peer.url)
        with pytest.raises(FetchFailed, match="More than 2 fetches"):
            await session.request("GET", peer.url)
    finally:
        await session.client.aclose()
    assert peer.hits == 2
