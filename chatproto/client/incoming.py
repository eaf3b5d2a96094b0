"""What the server sent, as typed events; a hostile server's odd fields never raise."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from chatproto.core.nicknames import SERVER_NAME

#: A C{rooms} notice lists at most this many rooms (docs/protocol.md section 12); more
#: from a hostile server are ignored.
MAX_ROOMS_LISTED: Final = 1000


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


def object_list(packet: dict[str, Any], key: str, most: int) -> list[dict[str, Any]]:
    """The objects among the first C{most} items of the list C{packet[key]} (anything
    else, and any item past C{most}, is skipped)."""
    value = packet.get(key)
    if not isinstance(value, list):
        return []
    return [entry for entry in value[:most] if isinstance(entry, dict)]


def string_list(packet: dict[str, Any], key: str) -> list[str]:
    """The strings in the list C{packet[key]} (anything else in it is skipped)."""
    value = packet.get(key)
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, str)]


def parse_timestamp(packet: dict[str, Any]) -> datetime | None:
    """The packet's C{timestamp} as an aware datetime, or C{None} if missing or unreadable."""
    return time_field(packet, "timestamp")


def time_field(packet: dict[str, Any], key: str) -> datetime | None:
    """C{packet[key]}, an RFC 3339 time, as an aware datetime; C{None} if missing or
    unreadable."""
    text = string_field(packet, key)
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

    #: The packet as received (the pipe's C{--json} prints it).
    packet: dict[str, Any]
    #: The server's id of a public message (docs/protocol.md section 4.1); C{None} for
    #: a private one.
    id: int | None
    #: The server's timestamp, or C{None} if it sent none that can be read.
    time: datetime | None
    #: Who sent it, as the server shows the nickname.
    nickname: str
    text: str
    #: The recipient of a private message; C{None} for a public one.
    to: str | None
    #: Replayed from history (on joining or resuming), not live.
    history: bool
    #: This client sent it (the server's copy is the receipt).
    own: bool = False
    #: The room of a public message as the server names it; C{None} for the default
    #: room (and for a private message, which belongs to no room).
    room: str | None = None


@dataclass(frozen=True)
class Notice:
    """A notice from the server: C{event} says which (welcome, join, leave, who, error, ...)."""

    packet: dict[str, Any]
    event: str
    time: datetime | None
    message: str

    @property
    def room(self) -> str | None:
        """The room the notice is about; C{None} for the default room (or none)."""
        return string_field(self.packet, "room")


@dataclass(frozen=True)
class Unreadable:
    """A frame that is neither a control word, a chat packet nor a notice."""

    text: str


Incoming = ChatMessage | Notice | Unreadable


@dataclass(frozen=True)
class Users:
    """Who is online, as a C{welcome} or C{who} notice lists them (docs/protocol.md
    section 5.2)."""

    #: The nicknames in join order (a prefix of them when the list was too big for a frame).
    names: list[str]
    #: How many are online: more than C{len(names)} when the server cut the list.
    count: int
    #: Those among C{names} who operate the room (docs/protocol.md section 14).
    operators: list[str] = field(default_factory=list)

    @property
    def truncated(self) -> bool:
        """Whether the server left names out (a big room)."""
        return self.count > len(self.names)

    @classmethod
    def of(cls, notice: Notice) -> Users:
        """The users a C{welcome} or C{who} notice lists."""
        names = string_list(notice.packet, "users")
        count = int_field(notice.packet, "count")
        operators = string_list(notice.packet, "operators")[: len(names)]
        return cls(names, max(count or 0, len(names)), operators)


@dataclass(frozen=True)
class Welcome:
    """The C{welcome} notice that ends a join (docs/protocol.md sections 2.4 and 5.1)."""

    notice: Notice
    users: Users
    #: The newest stored message id (0 when there is none): everything up to it was seen.
    last_id: int
    #: The oldest id the server can still replay (0 when there is none).
    first_id: int
    #: The room joined as the server names it; C{None} for the default room.
    room: str | None = None
    #: The room's topic (empty when none; docs/protocol.md section 12).
    topic: str = ""
    #: The account logged in to (docs/protocol.md section 13); C{None}: none.
    account: str | None = None

    @classmethod
    def of(cls, notice: Notice) -> Welcome:
        """Read a C{welcome} notice; missing or odd fields count as 0 (or empty)."""
        return cls(
            notice,
            Users.of(notice),
            int_field(notice.packet, "last_id") or 0,
            int_field(notice.packet, "first_id") or 0,
            notice.room,
            string_field(notice.packet, "topic") or "",
            string_field(notice.packet, "account"),
        )


@dataclass(frozen=True)
class RoomInfo:
    """One room of a C{rooms} notice (docs/protocol.md section 12)."""

    #: The room's name as its creator spelled it (the default room's included).
    room: str
    #: How many members it has.
    users: int
    #: Its topic (empty when none).
    topic: str

    @classmethod
    def listed(cls, notice: Notice) -> list[RoomInfo]:
        """The rooms a C{rooms} notice lists (entries that are not rooms are skipped)."""
        rooms = []
        for entry in object_list(notice.packet, "rooms", MAX_ROOMS_LISTED):
            if (name := string_field(entry, "room")) is not None:
                rooms.append(
                    cls(name, int_field(entry, "users") or 0, string_field(entry, "topic") or "")
                )
        return rooms


class History(list[ChatMessage]):
    """The messages a C{history} request brought, oldest first, and the room's oldest
    retained id (C{first_id}, 0 when the room has none): older ones exist while the
    first message's id is above it."""

    def __init__(self, messages: list[ChatMessage], first_id: int) -> None:
        super().__init__(messages)
        self.first_id = first_id


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
        room=string_field(packet, "room"),
    )
