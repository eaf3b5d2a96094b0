"""Socket settings every stream door applies to an accepted connection.

TCP_NODELAY: without it, Nagle's algorithm and delayed ACKs hold small frames
back for ~40 ms. Keepalive and TCP_USER_TIMEOUT: a peer that vanishes without
closing (a laptop that sleeps, a dropped network) is noticed within two minutes
even in a silent room (docs/protocol.md section 2), and its nickname is freed.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

from twisted.internet import tcp


@dataclass(frozen=True, slots=True)
class Keepalive:
    """When a silent peer is probed, how often, and how many unanswered probes drop it.

    C{idle} 0 turns keepalive off. The same budget bounds how long sent data may
    stay unacknowledged (TCP_USER_TIMEOUT), so a busy connection to a vanished
    peer is dropped as fast as a silent one.
    """

    idle: int = 60
    interval: int = 10
    count: int = 5

    @property
    def timeout_ms(self) -> int:
        """How long until a vanished peer is given up, in milliseconds."""
        return (self.idle + self.interval * self.count) * 1000


def _stream_socket(transport: object) -> socket.socket | None:
    """The TCP socket under C{transport} (through a TLS layer), or None (UNIX sockets...)."""
    while transport is not None:
        if isinstance(transport, tcp.Connection):
            handle = transport.getHandle()
            if isinstance(handle, socket.socket) and handle.family in (
                socket.AF_INET,
                socket.AF_INET6,
            ):
                return handle
            return None
        transport = getattr(transport, "transport", None)
    return None


def tune_socket(transport: object, keepalive: Keepalive) -> None:
    """Set TCP_NODELAY, keepalive and TCP_USER_TIMEOUT on an accepted TCP connection."""
    sock = _stream_socket(transport)
    if sock is None:
        return
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if not keepalive.idle:
        return
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, keepalive.idle)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, keepalive.interval)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, keepalive.count)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, keepalive.timeout_ms)


def describe_peer(address: object) -> str:
    """A peer address as logs show it: C{host:port}, C{[v6]:port}, or what Twisted says."""
    host, port = getattr(address, "host", None), getattr(address, "port", None)
    if isinstance(host, str) and isinstance(port, int):
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return str(address)


def peer_host(address: object) -> str | None:
    """The host of an IP peer address (what a per-address limit counts), else None."""
    host = getattr(address, "host", None)
    return host if isinstance(host, str) else None
