"""Admission limits (docs/protocol.md section 7): connections in all, and per address.

One counter for every door, so that `--max-clients` and `--max-per-ip` count
the connections of all doors together (section 9), including a web
connection still waiting for its upgrade.
"""

from __future__ import annotations

import functools
import ipaddress
from collections import Counter
from typing import Protocol

from twisted.internet.defer import Deferred

from chatproto.core.config import RoomConfig
from chatproto.core.member import CloseReason


class Place(Protocol):
    """One counted connection of any door: a chat connection, or one on its way to be."""

    #: The peer as logs show it, and the host a per-address limit counts (None: exempt).
    peer: str
    host: str | None

    def close(self, reason: CloseReason) -> None:
        """Close the connection (at shutdown)."""

    def when_gone(self) -> Deferred[None]:
        """A Deferred that fires once the connection no longer holds its place."""

    def evict(self) -> None:
        """Drop the connection at once (the shutdown cannot wait longer)."""


class Admission:
    """Counts open connections; refuses new ones past the limits."""

    def __init__(self, config: RoomConfig) -> None:
        #: The limits (--max-clients, --max-per-ip); replaced on reload.
        self.config = config
        self._open: set[Place] = set()
        self._per_host: Counter[str] = Counter()
        self._hosts: dict[Place, str] = {}

    def __len__(self) -> int:
        return len(self._open)

    def admit(self, connection: Place, host: str | None) -> bool:
        """Count C{connection} from C{host} (None: exempt from the per-address limit)."""
        limits = self.config
        if host is not None and _is_loopback(host):
            host = None
        if (limits.max_clients and len(self._open) >= limits.max_clients) or (
            host is not None and limits.max_per_ip and self._per_host[host] >= limits.max_per_ip
        ):
            return False
        self._open.add(connection)
        if host is not None:
            self._per_host[host] += 1
            self._hosts[connection] = host
        return True

    def release(self, connection: Place) -> None:
        """Forget a closed connection (a no-op for one never admitted)."""
        self._open.discard(connection)
        host = self._hosts.pop(connection, None)
        if host is not None:
            self._per_host[host] -= 1
            if not self._per_host[host]:
                del self._per_host[host]

    def connections(self) -> list[Place]:
        """Every open connection, choosing ones included."""
        return list(self._open)


# Parsing an address costs more than the rest of a join's admission.
@functools.lru_cache(maxsize=4096)
def _is_loopback(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    # A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d.
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return (mapped or address).is_loopback
