"""Server timestamps: UTC, RFC 3339 with milliseconds and a trailing Z."""

from __future__ import annotations

import time


def rfc3339_millis(seconds: float) -> str:
    """Format POSIX C{seconds} as e.g. C{2026-11-24T03:30:44.123Z}."""
    whole = int(seconds)
    millis = int((seconds - whole) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{millis:03d}Z"
