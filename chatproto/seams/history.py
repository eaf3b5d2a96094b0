"""The history store seam (docs/protocol.md section 6).

The store allocates message ids, keeps accepted public messages in id order
for replay and restarts, and may answer later (a Deferred): the room's join
guarantee holds for a store that does (see L{chatproto.core.room}).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twisted.internet.defer import Deferred
from zope.interface import Attribute, Interface

#: One stored message: its id and its record (compact JSON, exactly as broadcast).
Stored = tuple[int, bytes]


class HistoryUnavailable(Exception):
    """The store could not take a message (disk full, unwritable file, no server...)."""


class IHistoryStore(Interface):
    """Where accepted public messages are kept, in id order, for replay and restarts."""

    # zope.interface wants Attribute objects, mypy wants annotations: give each its own.
    if TYPE_CHECKING:
        last_id: int
        first_id: int
        durable_before_delivery: bool
    else:
        last_id = Attribute(
            "Greatest id stored (int), 0 if none; new ids continue above it across restarts."
        )
        first_id = Attribute("Oldest id (int) still retained for replay, 0 if none.")
        durable_before_delivery = Attribute(
            "True (bool) when the room must await sync() before it shows a batch to anyone."
        )

    def add(fields: bytes) -> Deferred[Stored]:
        """
        Allocate the next id and store the record C{b'{"id":<id>,' + fields}.

        C{fields} is the rest of a compact UTF-8 JSON object, its closing brace
        included, without a newline (L{chatproto.core.records.chat_fields}).
        Fires with the id and the whole record once stored; errbacks with
        L{HistoryUnavailable} when it cannot be stored (then it never will be,
        and its id is never shown to anyone).
        """

    def recent(count: int) -> Deferred[list[Stored]]:
        """The newest C{count} retained messages, oldest first."""

    def since(message_id: int) -> Deferred[list[Stored]]:
        """Every retained message with id > C{message_id}, oldest first."""

    def page(before: int | None, since: int | None, limit: int) -> Deferred[list[Stored]]:
        """Up to C{limit} retained messages, oldest first (the `history` command,
        docs/protocol.md section 12): the newest with id < C{before}, or the oldest with
        id > C{since}, or, with neither, the newest. Never reads the whole store."""

    def sync() -> Deferred[None]:
        """Make everything stored so far durable; fires at once when nothing is new.

        Errbacks with L{HistoryUnavailable} when it could not: the messages stored
        since the last sync are then forgotten (never replayed), as if refused.
        """

    def close() -> Deferred[None]:
        """Sync, then release the store; idempotent."""


class IRedactable(Interface):
    """A history store that can take a message's text back (docs/protocol.md section 14:
    `redact`). A store without it cannot redact (the command is then `unavailable`)."""

    def redact(message_id: int) -> Deferred[bool]:
        """Remove the retained message C{message_id}: it is never replayed nor returned
        by L{IHistoryStore.page} again, and its text is gone from the store (written
        over on disk); ids keep their order and are never reused. Fires once the text is
        gone, with whether the message was retained (False: nothing changed); errbacks
        with L{HistoryUnavailable} when the store could not remove it."""
