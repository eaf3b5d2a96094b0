"""The room store seam: where the rooms beside the default one keep their history, and
where every room keeps its topic (docs/protocol.md section 12).

The default room's history is the server's own history store; every other
room gets a store of its own when it has members, and gives it back when it
has none, so that what a server holds in memory grows with the rooms in use,
not with every room that ever was.
"""

from __future__ import annotations

from typing import NamedTuple

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
