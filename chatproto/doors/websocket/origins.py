"""Which pages may open a chat WebSocket (docs/protocol.md section 9, `--ws-origins`).

A browser sends the page's origin with every WebSocket request; a page on
another site must not be able to chat in a visitor's name. By default only
the page's own origin may, that is the Host the request was made to.
Requests without an Origin header come from programs, not pages: allowed.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit


def parse_origins(text: str) -> frozenset[str]:
    """The comma-separated `--ws-origins` list, normalised; empty: same origin only.

    C{*} allows every origin.
    """
    return frozenset(_normalise(part) for part in text.split(",") if part.strip())


def _normalise(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


def origin_allowed(origin: str | None, host: str | None, allowed: frozenset[str]) -> bool:
    """Whether a request from C{origin} made to C{host} (the Host header) may upgrade."""
    if origin is None:
        return True
    origin = _normalise(origin)
    if "*" in allowed or origin in allowed:
        return True
    if allowed or host is None:
        return False
    netloc = urlsplit(origin).netloc
    return bool(netloc) and netloc == host.strip().lower()


def request_allowed(origins: Sequence[bytes], host: bytes | None, allowed: frozenset[str]) -> bool:
    """Whether a request with these Origin header values (none, or exactly one) made to
    C{host} (its Host header, the last if repeated) may upgrade."""
    if len(origins) > 1:
        return False
    return origin_allowed(
        origins[0].decode("latin-1") if origins else None,
        None if host is None else host.decode("latin-1"),
        allowed,
    )
