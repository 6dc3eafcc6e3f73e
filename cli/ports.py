"""The ports `chaine up` will listen on, checked before anything starts.

Failing before the dev server, migrations or children start keeps a second `chaine up`
(or another program on 8000) from leaving half a stack behind.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Sequence
from dataclasses import dataclass

from core.errors import ChaineError, ErrorCode


class PortInUse(ChaineError):
    """A port Chaîne must listen on is taken or not usable."""

    code = ErrorCode.PORT_IN_USE


@dataclass(frozen=True)
class WantedPort:
    """A port to listen on, and the setting that chose it (named in the error)."""

    setting: str
    host: str
    port: int


def _check_free(wanted: WantedPort) -> None:
    family, _, _, _, address = socket.getaddrinfo(
        wanted.host, wanted.port, type=socket.SOCK_STREAM
    )[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # As the servers themselves do: a port left in TIME_WAIT by our last run is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            reason = (
                "is already in use"
                if exc.errno == errno.EADDRINUSE
                else f"cannot be used on {wanted.host} ({exc.strerror})"
            )
            raise PortInUse(
                f"port {wanted.port} {reason}: set {wanted.setting} to a free port",
                port=wanted.port,
                setting=wanted.setting,
            ) from None


def check_ports(wanted: Sequence[WantedPort]) -> None:
    """Raise `PortInUse`, naming the setting to change, if ports are shared or already taken."""
    by_port: dict[int, str] = {}
    for item in wanted:
        if item.port in by_port:
            raise PortInUse(
                f"{by_port[item.port]} and {item.setting} are both {item.port}: "
                "give each its own port",
                port=item.port,
                setting=item.setting,
            )
        by_port[item.port] = item.setting
    for item in wanted:
        _check_free(item)
