"""Server timestamps: UTC, RFC 3339 with milliseconds and a trailing Z."""

from __future__ import annotations

import time

# Every message of the same second shares the formatted date and time.
_cached_second = -1
_cached_prefix = ""


def rfc3339_millis(seconds: float) -> str:
    """Format POSIX C{seconds} as e.g. C{2026-11-24T03:30:44.123Z}."""
    global _cached_second, _cached_prefix
    whole = int(seconds)
    if whole != _cached_second:
        _cached_prefix = time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(whole))
        _cached_second = whole
    return f"{_cached_prefix}{int((seconds - whole) * 1000):03d}Z"
