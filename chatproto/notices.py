"""Server notices (PROTOCOL.md section 5): packets signed `server`, never stored."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chatproto.errors import ErrorCode
from chatproto.nicknames import SERVER_NAME
from chatproto.wire import MAX_FRAME_BYTES, dump_json, frame


def _notice_json(timestamp: str, event: str, message: str, extra: dict[str, Any]) -> bytes:
    packet: dict[str, Any] = {
        "nickname": SERVER_NAME,
        "timestamp": timestamp,
        "event": event,
        "message": message,
    }
    packet.update(extra)
    return dump_json(packet)


def notice(timestamp: str, event: str, message: str, **extra: Any) -> bytes:
    """Encode a notice as one frame."""
    return frame(_notice_json(timestamp, event, message, extra))


def error_notice(timestamp: str, code: ErrorCode, message: str, **extra: Any) -> bytes:
    """Encode an `error` notice with its code."""
    return notice(timestamp, "error", message, code=str(code), **extra)


def users_notice(
    timestamp: str, event: str, message: str, users: Sequence[str], **extra: Any
) -> bytes:
    """Encode a notice that lists C{users}.

    A frame holds at most 65535 bytes; a room too big to list in one frame gets
    the longest prefix of C{users} that fits, plus C{"truncated": true} and the
    full C{"count"} (additive fields, so clients of the original design are
    unaffected).
    """
    payload = _notice_json(timestamp, event, message, {"users": list(users), **extra})
    if len(payload) <= MAX_FRAME_BYTES:
        return frame(payload)

    def cut(count: int) -> bytes:
        fields = {"users": list(users[:count]), "truncated": True, "count": len(users)}
        return _notice_json(timestamp, event, message, {**fields, **extra})

    low, high = 0, len(users)
    while low < high:  # binary search for the largest prefix that fits
        middle = (low + high + 1) // 2
        if len(cut(middle)) <= MAX_FRAME_BYTES:
            low = middle
        else:
            high = middle - 1
    return frame(cut(low))
