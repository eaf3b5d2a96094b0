"""The broadcast hub seam: where room-wide events go to reach every node's members.

In-process by default; another hub (several nodes through Redis) implements
the same small interface so that several server nodes share one room.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from zope.interface import Attribute, Interface, implementer


class RoomEvent(NamedTuple):
    """One room-wide record (canonical JSON) and how fan-out treats it.

    C{skip_key}: the member key that must not receive it (a joiner's own
    `join`); C{message_id} and C{sender_key}: for a stored chat message;
    C{to_key}: the one member it is for (a private message to another node's
    member), instead of everyone; C{room_key}: the room it is about, None for
    the default room.
    """

    record: bytes
    skip_key: str | None = None
    message_id: int | None = None
    sender_key: str | None = None
    to_key: str | None = None
    room_key: str | None = None


#: Called with each published event, in publication order.
EventReceiver = Callable[[RoomEvent], None]


class IBroadcastHub(Interface):
    """Fans out room-wide events to every subscriber, in publication order."""

    # zope.interface wants Attribute objects, mypy wants annotations: give each its own.
    if TYPE_CHECKING:
        delivers_stored: bool
    else:
        delivers_stored = Attribute(
            "True (bool) when the history store's add already sends each stored message to "
            "every subscriber (a shared stream), so the room does not publish it again."
        )

    def publish(event: RoomEvent) -> None:
        """Send C{event} to every subscriber."""

    def subscribe(receiver: EventReceiver) -> None:
        """Register C{receiver} for every event published from now on."""


@implementer(IBroadcastHub)
class LocalHub:
    """A hub for one process: publishing calls each subscriber at once."""

    delivers_stored = False

    def __init__(self) -> None:
        self._receivers: list[EventReceiver] = []

    def publish(self, event: RoomEvent) -> None:
        """Hand C{event} to each subscriber synchronously."""
        for receiver in self._receivers:
            receiver(event)

    def subscribe(self, receiver: EventReceiver) -> None:
        """Add C{receiver}; the room subscribes once when it is created."""
        self._receivers.append(receiver)
