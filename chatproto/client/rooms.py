"""What the client remembers of each room it is in: to rejoin it after a reconnect,
resuming after the newest id it delivered (docs/protocol.md section 12)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from chatproto.client.incoming import ChatMessage, Welcome
from chatproto.core.nicknames import nickname_key

#: While a room catches up after a takeover (C{history since}), at most this many live
#: messages of it are held back to be delivered after the missed ones; past that the
#: catch-up ends and what it did not bring is reported missed.
MAX_HELD: Final = 1000
#: The most messages one C{history} request asks for (docs/protocol.md section 12).
MAX_HISTORY_LIMIT: Final = 100


def room_key(name: str) -> str:
    """The key that says whether two room names are the same room (section 12: the
    section 3 key of the whole name)."""
    return nickname_key(name)


@dataclass
class RoomState:
    """One room the client is in, or is joining."""

    #: The room's name as the server spells it; C{None} for the default room.
    name: str | None
    #: The newest id delivered in this room (C{None}: none yet, and no C{since}).
    last_id: int | None = None
    #: Whether the client wants to be in it (a join was asked for and not parted).
    member: bool = True
    #: The C{since} of the join in flight, to tell what the server could not replay.
    since_sent: int | None = None
    #: The welcome of the current connection (C{None} until it came).
    welcome: Welcome | None = None
    #: Whether it was ever welcomed (so that a join is a rejoin).
    welcomed_before: bool = False
    #: The room's topic as last heard.
    topic: str = ""
    #: Live messages held back while the room catches up (C{None}: not catching up).
    held: list[ChatMessage] | None = field(default=None)
    #: Who operates the room among its members, display name by nickname key
    #: (docs/protocol.md section 14).
    operators: dict[str, str] = field(default_factory=dict)

    def seen(self, id: int) -> bool:
        """Whether message C{id} was delivered already (or is at or below C{since})."""
        return self.last_id is not None and id <= self.last_id
