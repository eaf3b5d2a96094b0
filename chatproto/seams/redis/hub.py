"""Room-wide events through the shared feeds: every node delivers them in one order."""

from __future__ import annotations

from twisted.logger import Logger
from zope.interface import implementer

from chatproto.seams.hub import EventReceiver, IBroadcastHub, RoomEvent
from chatproto.seams.redis.writer import FeedWriter


@implementer(IBroadcastHub)
class RedisHub:
    """Publishes notices to the feed; delivers what the feed brings, chat included.

    Chat messages reach the feed from the history store's write, atomically with
    their ids (L{delivers_stored}), so a node delivers each exactly once: as
    it reads it back, in the feed's order.
    """

    delivers_stored = True
    log = Logger()

    def __init__(self, writer: FeedWriter) -> None:
        self._writer = writer
        self._receivers: list[EventReceiver] = []

    def publish(self, event: RoomEvent) -> None:
        """Put a notice (or a private message for one member) on the feed for every
        node, this one included; a notice of a room beside the default one on that
        room's feed, for the nodes that read it."""
        if event.message_id is not None:  # the store has put it on the feed already
            self.log.error("a stored message was published twice; ignored", event_kind="node")
        elif event.to_key is not None:
            self._writer.private(event.record, event.to_key)
        elif event.room_key is not None:  # on that room's feed: its readers only
            self._writer.room_notice(event.room_key, event.record, event.skip_key)
        else:
            self._writer.notice(event.record, event.skip_key)

    def subscribe(self, receiver: EventReceiver) -> None:
        """Register C{receiver} for every event the feed delivers from now on."""
        self._receivers.append(receiver)

    def deliver(self, event: RoomEvent) -> None:
        """Hand an event read from the feed to every subscriber."""
        for receiver in self._receivers:
            receiver(event)
