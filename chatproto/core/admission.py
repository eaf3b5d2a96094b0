"""Admission limits (docs/protocol.md section 7): connections in all, and per address.

One counter for every door, so that `--max-clients` and `--max-per-ip` count
the connections of all doors together (section 9).
"""

from __future__ import annotations

import functools
import ipaddress
from collections import Counter
from typing import TYPE_CHECKING

from chatproto.core.config import RoomConfig

if TYPE_CHECKING:
    from chatproto.core.connection import Connection


class Admission:
    """Counts open connections; refuses new ones past the limits."""

    def __init__(self, config: RoomConfig) -> None:
        self._config = config
        self._open: set[Connection] = set()
        self._per_host: Counter[str] = Counter()
        self._hosts: dict[Connection, str] = {}

    def __len__(self) -> int:
        return len(self._open)

    def admit(self, connection: Connection, host: str | None) -> bool:
        """Count C{connection} from C{host} (None: exempt from the per-address limit)."""
        limits = self._config
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

    def release(self, connection: Connection) -> None:
        """Forget a closed connection (a no-op for one never admitted)."""
        self._open.discard(connection)
        host = self._hosts.pop(connection, None)
        if host is not None:
            self._per_host[host] -= 1
            if not self._per_host[host]:
                del self._per_host[host]

    def connections(self) -> list[Connection]:
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
