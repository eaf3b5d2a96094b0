"""What the room tells whoever watches it: the events its metrics count
(docs/protocol.md section 15).

The core reports through an L{IRoomObserver} it is handed and knows nothing of
what counts them (L{chatproto.operations.metrics} turns them into Prometheus
metrics); L{QUIET}, the default, ignores them. The fan-out reports once per batch
and once per turn, never once per delivery, so that watching costs the hot path
almost nothing. Every label an observer is given comes from a closed set: an
error code, a drop reason, a message kind; never a nickname or a room name.
"""

from __future__ import annotations

from zope.interface import Interface, implementer


class IRoomObserver(Interface):
    """Told what happens in the room, as it happens."""

    def accepted(kind: str) -> None:
        """A message was accepted: C{kind} `public` (stored) or `private`."""

    def refused(code: str) -> None:
        """A frame was refused with an `error` notice of this code (section 5)."""

    def delivered(count: int) -> None:
        """C{count} messages were written to members: one per message per recipient,
        the sender's own copy included (a whole batch's at once)."""

    def turn_ended(seconds: float) -> None:
        """The fan-out's end of a reactor turn took C{seconds}."""

    def stored(seconds: float) -> None:
        """The history store answered a message's write after C{seconds}."""

    def dropped(reason: str) -> None:
        """The server cut a connection off: C{reason} `slow`, `flood` or `timeout`."""

    def logged_in(succeeded: bool) -> None:
        """A password was tried on an account (section 13)."""


@implementer(IRoomObserver)
class QuietObserver:
    """Watches nothing: the observer of a server without metrics."""

    def accepted(self, kind: str) -> None:
        """Ignored."""

    def refused(self, code: str) -> None:
        """Ignored."""

    def delivered(self, count: int) -> None:
        """Ignored."""

    def turn_ended(self, seconds: float) -> None:
        """Ignored."""

    def stored(self, seconds: float) -> None:
        """Ignored."""

    def dropped(self, reason: str) -> None:
        """Ignored."""

    def logged_in(self, succeeded: bool) -> None:
        """Ignored."""


#: The observer a room has when it is handed none.
QUIET = QuietObserver()
