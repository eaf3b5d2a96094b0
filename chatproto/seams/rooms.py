"""The room store seam: where the rooms beside the default one keep their history, and
where every room keeps its topic (docs/protocol.md section 12).

The default room's history is the server's own history store; every other
room gets a store of its own when it has members, and gives it back when it
has none, so that what a server holds in memory grows with the rooms in use,
not with every room that ever was.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from twisted.internet.defer import Deferred
from zope.interface import Interface

from chatproto.seams.history import IHistoryStore


class KnownRoom(NamedTuple):
    """A room that outlives its members: its display name and topic ('' when none)."""

    name: str
    topic: str


class IRoomStores(Interface):
    """Per-room history stores and topics, kept across restarts."""

    def known() -> dict[str, KnownRoom]:
        """Every stored room by key: those with a stored message or a topic (start-up)."""

    def open(key: str, name: str) -> IHistoryStore:
        """Open the history store of the room C{key} (display name C{name}), creating it.

        @raise chatproto.seams.history.HistoryUnavailable: when it cannot be opened.
        """

    def save_topic(key: str, name: str, topic: str) -> None:
        """Keep C{topic} ('' clears it) for the room C{key}, durably.

        @raise chatproto.seams.history.HistoryUnavailable: when it cannot be kept.
        """

    def forget(key: str) -> None:
        """The room C{key} ceased to exist (no member, message or topic): drop its files."""


class TooManyRooms(Exception):
    """A new room would pass --max-rooms, counted over every node."""


class OpenedRoom(NamedTuple):
    """A room shared by several nodes, ready here: its display name (its creator's
    spelling), and whether this opening created it (section 14: its joiner then
    operates it)."""

    name: str
    created: bool


class RoomFacts(NamedTuple):
    """A room as every node sees it: its display name, its topic and its members'
    nicknames (JSON strings) in join order."""

    name: str
    topic: str
    users: Sequence[bytes]


class ListedRoom(NamedTuple):
    """One room of a `rooms` listing: key, display name, members (on every node), topic."""

    key: str
    name: str
    users: int
    topic: str


#: Called with a room's key and its new topic when another node set it.
TopicChanged = Callable[[str, str], None]


class ISharedRooms(Interface):
    """Room stores shared by several nodes (docs/protocol.md section 12 with --redis):
    the members of each room on every node, its topic as any node sets it, and every
    room any node knows. Room keys here are never the default room's."""

    def opened(key: str) -> Deferred[OpenedRoom] | None:
        """None when the store L{IRoomStores.open} just gave for C{key} is ready; else a
        Deferred that fires with the room as every node sees it (L{OpenedRoom}) once it
        knows it, or fails with L{TooManyRooms} or
        L{chatproto.seams.history.HistoryUnavailable}."""

    def entered(key: str, member_key: str, encoded_nickname: bytes) -> None:
        """A member of this node joined the room C{key}."""

    def exited(key: str, member_key: str) -> None:
        """A member of this node parted the room C{key} (or left the server)."""

    def members(key: str) -> Sequence[bytes]:
        """The nicknames (JSON strings) of the room's members on every node, in join
        order; the room's store is open."""

    def rooms_of(member_key: str) -> Deferred[list[tuple[str, str]]]:
        """The (key, display name) of every room the holder of C{member_key} is in."""

    def listing(limit: int) -> Deferred[tuple[int, list[ListedRoom]]]:
        """How many rooms exist, and the first C{limit} by key."""

    def about(key: str) -> Deferred[RoomFacts | None]:
        """The room C{key} as every node sees it, whether this node reads it or not;
        None when no room has that key."""

    def watch_topics(changed: TopicChanged) -> None:
        """Call C{changed(key, topic)} when a node sets the topic of a room (the default
        room's key included) this node reads."""
