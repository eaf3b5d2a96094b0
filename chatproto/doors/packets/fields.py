"""The fields of a joined client's commands (docs/protocol.md sections 5, 12-14), read
strictly: a field of the wrong type is `malformed`."""

from __future__ import annotations

from typing import Any

from chatproto.core.errors import ErrorCode, PacketRejected


def text_field(packet: dict[str, Any], field: str) -> str:
    """The text field C{field} of a command (a password)."""
    value = packet.get(field)
    if not isinstance(value, str):
        raise PacketRejected(ErrorCode.MALFORMED, f"{field} must be text")
    return value


def room_of(packet: dict[str, Any]) -> str | None:
    """The room a packet names (None: the default room); the hall checks the name."""
    if "room" not in packet:
        return None
    room = packet["room"]
    if not isinstance(room, str):
        raise PacketRejected(ErrorCode.MALFORMED, "room must be a room name")
    return room


def is_count(value: Any) -> bool:
    """Whether C{value} is a JSON integer >= 0 (true and false are not)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
