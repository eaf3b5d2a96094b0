"""What the server logs while a test runs, and which of it would be a traceback."""

from __future__ import annotations

from typing import Any

from twisted.logger import LogLevel, formatEvent


def tracebacks(events: list[dict[str, Any]]) -> list[str]:
    """The events that carry a failure or are errors or critical, formatted."""
    return [
        formatEvent(event)
        for event in events
        if "log_failure" in event
        or event.get("log_level") in (LogLevel.error, LogLevel.critical)
        or event.get("isError")
    ]
