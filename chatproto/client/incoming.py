"""What the server sent, as typed events; a hostile server's odd fields never raise."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chatproto.core.nicknames import SERVER_NAME


def string_field(packet: dict[str, Any], key: str) -> str | None:
    """C{packet[key]} if it is a string, else C{None}."""
    value = packet.get(key)
    return value if isinstance(value, str) else None


def int_field(packet: dict[str, Any], key: str) -> int | None:
    """C{packet[key]} if it is an integer (not a boolean), else C{None}."""
    value = packet.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def number_field(packet: dict[str, Any], key: str) -> float | None:
    """C{packet[key]} if it is a number (not a boolean), else C{None}."""
    value = packet.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def string_list(packet: dict[str, Any], key: str) -> list[str]:
    """The strings in the list C{packet[key]} (anything else in it is skipped)."""
    value = packet.get(key)
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, str)]


def parse_timestamp(packet: dict[str, Any]) -> datetime | None:
    """The packet's C{timestamp} as an aware datetime, or C{None} if missing or unreadable."""
    text = string_field(packet, "timestamp")
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


@dataclass(frozen=True)
class ChatMessage:
    """A chat packet: public (with an C{id}) or private (with C{to}), live or replayed."""

    packet: dict[str, Any]
    id: int | None
    time: datetime | None
    nickname: str
    text: str
    to: str | None
    history: bool
    #: Set by the session: this client sent it.
    own: bool = False


@dataclass(frozen=True)
class Notice:
    """A notice from the server: C{event} says which (welcome, join, leave, who, error, ...)."""

    packet: dict[str, Any]
    event: str
    time: datetime | None
    message: str


@dataclass(frozen=True)
class Unreadable:
    """A frame that is neither a control word, a chat packet nor a notice."""

    text: str


Incoming = ChatMessage | Notice | Unreadable


def classify(packet: dict[str, Any]) -> Incoming:
    """Type a JSON packet received from the server."""
    event = string_field(packet, "event")
    message = string_field(packet, "message")
    if event is not None and packet.get("nickname") == SERVER_NAME:
        return Notice(packet, event, parse_timestamp(packet), message or "")
    if message is None:
        return Unreadable(repr(packet))
    return ChatMessage(
        packet=packet,
        id=int_field(packet, "id"),
        time=parse_timestamp(packet),
        nickname=string_field(packet, "nickname") or "?",
        text=message,
        to=string_field(packet, "to"),
        history=packet.get("history") is True,
    )
