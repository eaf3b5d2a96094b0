"""One room (docs/protocol.md section 12): its members in join order, its history store,
its topic and its outgoing batch.

A room is open while it has members (its store and batcher exist) and dormant
while it has none: then it holds only its name and topic, so that a server
keeps little for every room that has stored messages but nobody in it. The
L{chatproto.core.hall.Hall} opens, closes and forgets rooms; a room itself
never sees a connection's wire or another room.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from twisted.internet.defer import Deferred, succeed

from chatproto.core.errors import PacketRejected
from chatproto.core.fanout import TurnBatcher
from chatproto.core.member import IMember
from chatproto.core.records import json_string
from chatproto.seams.history import IHistoryStore, Stored


class Room:
    """One room; see the module docstring. C{default}: the room every member joins at
    READY, whose packets carry no `room` field."""

    def __init__(
        self, key: str, name: str, topic: str = "", default: bool = False, created: float = 0.0
    ) -> None:
        self.key = key
        self.topic = topic
        #: When this server came to know the room (seconds since the epoch): its first
        #: join, or the server's start for a room found stored (IRC's 329 shows it).
        self.created = created
        #: Who set the topic, and when (RFC 3339), while this server has run; else "".
        self.topic_by = ""
        self.topic_at = ""
        self.default = default
        #: This node's members in this room by nickname key, in join order.
        self.members: dict[str, IMember] = {}
        #: The store and batcher, while the room is open.
        self.history: IHistoryStore | None = None
        self.batcher: TurnBatcher | None = None
        #: Fires once a store being closed is closed (a join waits for it before reopening).
        self.closing: Deferred[None] | None = None
        #: Fires once a store shared by several nodes is ready, with None or the
        #: refusal of its joiners (a join waits for it).
        self.opening: Deferred[PacketRejected | None] | None = None
        #: Set when this node made the room exist, until its first member enters: that
        #: member created it (docs/protocol.md section 14: it operates the room).
        self.fresh = False
        self.rename(name)

    def rename(self, name: str) -> None:
        """Show the room as C{name} (the spelling of its creator, on another node)."""
        self.name = name
        #: The `room` field of every packet about this room (none for the default room).
        self.field: dict[str, Any] = {} if self.default else {"room": name}
        self.encoded_name: bytes | None = None if self.default else json_string(name)

    @property
    def is_open(self) -> bool:
        """Whether the room's store is open (it has, or is about to have, members)."""
        return self.history is not None

    def open(self, history: IHistoryStore, batcher: TurnBatcher) -> None:
        """Use C{history} and C{batcher} until L{close}."""
        self.history = history
        self.batcher = batcher

    def close(self) -> Deferred[None]:
        """Give back the store (its retained window with it); fires once it is closed."""
        history, self.history, self.batcher = self.history, None, None
        if history is None:
            return succeed(None)
        closing = self.closing = history.close()

        def closed(result: object) -> object:
            if self.closing is closing:
                self.closing = None
            return result

        return closing.addBoth(closed)

    @property
    def stores_nothing(self) -> bool:
        """Whether the (open) room has neither a stored message nor a topic (with no
        member, it ceases to exist)."""
        assert self.history is not None
        return not self.topic and self.history.last_id == 0

    def replay(self, since: int | None, count: int, last_id: int) -> Deferred[Iterator[bytes]]:
        """The stored records a joiner is owed (the newest C{count}, or every retained one
        above C{since}), up to C{last_id}: later ones reach it live."""
        history = self.history
        assert history is not None
        if since is None:
            found = history.recent(count) if count else succeed([])
        else:
            found = history.since(since)

        def cut(records: list[Stored]) -> Iterator[bytes]:
            return (record for message_id, record in records if message_id <= last_id)

        return found.addCallback(cut)

    def first_id(self, last_id: int) -> int:
        """The oldest id a joiner may still ask for, 0 if none up to C{last_id}."""
        assert self.history is not None
        first_id = self.history.first_id
        return first_id if first_id <= last_id else 0
