"""Which pages may open a chat WebSocket (docs/protocol.md section 9, `--ws-origins`).

A browser sends the page's origin with every WebSocket request; a page on
another site must not be able to chat in a visitor's name. By default only
the page's own origin may, that is the Host the request was made to.
Requests without an Origin header come from programs, not pages: allowed.
"""

from __future__ import annotations

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
