"""Server notices (docs/protocol.md section 5): records signed `server`, never stored."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chatproto.core.errors import ErrorCode
from chatproto.core.nicknames import SERVER_NAME
from chatproto.core.records import MAX_PACKET_BYTES, dump_json

_USERS_OPEN = b',"users":['


def notice(timestamp: str, event: str, message: str, **extra: Any) -> bytes:
    """Encode a notice record."""
    packet: dict[str, Any] = {
        "nickname": SERVER_NAME,
        "timestamp": timestamp,
        "event": event,
        "message": message,
    }
    packet.update(extra)
    return dump_json(packet)


def error_notice(timestamp: str, code: ErrorCode, message: str, **extra: Any) -> bytes:
    """Encode an `error` notice with its code."""
    return notice(timestamp, "error", message, code=str(code), **extra)


def users_notice(
    timestamp: str, event: str, message: str, users: Sequence[bytes], **extra: Any
) -> bytes:
    """Encode a notice that lists C{users} (each already a JSON string, L{json_string}).

    A packet holds at most 65535 bytes; a room too big to list in one packet
    gets the longest prefix of C{users} that fits, plus C{"truncated": true}
    and the full C{"count"} (additive fields, so clients of the original
    design are unaffected).
    """
    head = notice(timestamp, event, message, **extra)[:-1]  # open: fields follow
    listed = b",".join(users)
    if len(head) + len(_USERS_OPEN) + len(listed) + 2 > MAX_PACKET_BYTES:
        head += b',"truncated":true,"count":%d' % len(users)
        budget = MAX_PACKET_BYTES - len(head) - len(_USERS_OPEN) - 2
        fitting = 0
        for user in users:
            budget -= len(user) + (1 if fitting else 0)
            if budget < 0:
                break
            fitting += 1
        listed = b",".join(users[:fitting])
    return head + _USERS_OPEN + listed + b"]}"


def rooms_notice(timestamp: str, message: str, rooms: Sequence[dict[str, Any]]) -> bytes:
    """Encode the `rooms` notice (docs/protocol.md section 12) listing C{rooms}."""
    return listing_notice(timestamp, "rooms", message, "rooms", rooms)


def listing_notice(
    timestamp: str,
    event: str,
    message: str,
    name: str,
    entries: Sequence[dict[str, Any]],
    **extra: Any,
) -> bytes:
    """Encode a notice whose field C{name} lists C{entries} (objects), such as `rooms`.

    Like L{users_notice}, a list too long for one packet is cut to the longest
    prefix that fits, with C{"truncated": true} and the full C{"count"}.
    """
    head = notice(timestamp, event, message, **extra)[:-1]
    opening = b',"%s":[' % name.encode("ascii")
    encoded = [dump_json(entry) for entry in entries]
    budget = MAX_PACKET_BYTES - len(head) - len(opening) - 2
    if sum(map(len, encoded)) + len(encoded) > budget:
        head += b',"truncated":true,"count":%d' % len(encoded)
        budget -= len(b',"truncated":true,"count":%d' % len(encoded))
        fitting = 0
        for entry in encoded:
            budget -= len(entry) + (1 if fitting else 0)
            if budget < 0:
                break
            fitting += 1
        encoded = encoded[:fitting]
    return head + opening + b",".join(encoded) + b"]}"
