"""The broadcast hub: where room-wide frames go to reach every node's clients.

In-process by default; a Redis hub will implement the same small interface so
that several server nodes share one room.
"""

from __future__ import annotations

from collections.abc import Callable

from zope.interface import Interface, implementer

#: Called with each published frame (already encoded, written as is to every
#: local recipient), the nickname key that must not receive it, if any, and the
#: message id when the frame is a stored chat message.
FrameReceiver = Callable[[bytes, str | None, int | None], None]


class IBroadcastHub(Interface):
    """Fans out room-wide frames to every subscriber, in publication order."""

    def publish(frame: bytes, skip_key: str | None, message_id: int | None) -> None:
        """Send C{frame} to every subscriber (not to the member whose key is C{skip_key})."""

    def subscribe(receiver: FrameReceiver) -> None:
        """Register C{receiver} for every frame published from now on."""


@implementer(IBroadcastHub)
class LocalHub:
    """A hub for one process: publishing calls each subscriber at once."""

    def __init__(self) -> None:
        self._receivers: list[FrameReceiver] = []

    def publish(self, frame: bytes, skip_key: str | None, message_id: int | None) -> None:
        """Hand C{frame} to each subscriber synchronously."""
        for receiver in self._receivers:
            receiver(frame, skip_key, message_id)

    def subscribe(self, receiver: FrameReceiver) -> None:
        """Add C{receiver}; the room subscribes once when it is created."""
        self._receivers.append(receiver)
