"""Server timestamps: UTC, RFC 3339 with milliseconds and a trailing Z."""

from __future__ import annotations

import time

# Messages of the same second share the formatted date and time, and those of
# the same millisecond (many, in a flood) the whole timestamp.
_cached_second = -1
_cached_prefix = ""
_cached_millis = -1
_cached_text = ""


def rfc3339_millis(seconds: float) -> str:
    """Format POSIX C{seconds} as e.g. C{2026-11-24T03:30:44.123Z}."""
    global _cached_second, _cached_prefix, _cached_millis, _cached_text
    whole = int(seconds)
    millis = int((seconds - whole) * 1000)
    if whole != _cached_second:
        _cached_prefix = time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(whole))
        _cached_second = whole
    elif millis == _cached_millis:
        return _cached_text
    _cached_millis = millis
    _cached_text = f"{_cached_prefix}{millis:03d}Z"
    return _cached_text
