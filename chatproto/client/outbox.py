"""What we send, one frame at a time, so that nothing is lost to a rate limit or a reconnect."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall, IReactorTime

from chatproto.client.incoming import Notice


@dataclass(frozen=True)
class Outgoing:
    """A frame to send; C{text} is a public message's text, to recognise it in a replay;
    C{answer} is fired by whoever reads the server's answer to it.

    C{expects} names the event that answers it (C{message}, C{welcome}, C{history},
    ...; an C{error} answers anything) and C{room} the key of the room the answer is
    about (C{None}: the default room, or none). A C{history} request gathers its
    records in C{collected}. The answer to a C{quiet} one (the client's own, such as a
    rejoin's) is not shown to the program. A moderation command is answered by the
    notice its C{receipt} accepts (it C{expects} C{receipt}).
    """

    frame: bytes
    text: str | None = None
    answer: Deferred[Any] | None = field(default=None, compare=False)
    expects: str = "message"
    room: str | None = None
    collected: list[Any] = field(default_factory=list, compare=False)
    quiet: bool = False
    receipt: Callable[[Notice], bool] | None = field(default=None, compare=False)


class Outbox:
    """Sends queued frames one at a time: the next goes once the server answered the last.

    The server answers every chat or command frame with exactly one packet, in
    order (the echo, a C{who} notice or an C{error}), so keeping one frame in
    flight is enough to resend one that a rate limit dropped, and to send
    nothing twice after a reconnect: a frame in flight when the connection
    dropped is sent again unless the replay shows the server accepted it.

    The owner reads the answers: L{answered} takes the frame in flight, and
    L{send_next} sends the next one once the answer has been dealt with (so
    that what the answer queues with L{put_next} goes first).
    """

    def __init__(self, clock: IReactorTime) -> None:
        self._clock = clock
        self._queue: deque[Outgoing] = deque()
        self._in_flight: Outgoing | None = None
        #: The frame that was in flight when the connection dropped, queued again:
        #: a replay may still show that the server accepted it.
        self._unconfirmed: Outgoing | None = None
        self._send: Callable[[bytes], None] | None = None
        self._retry: IDelayedCall | None = None
        self._waiting_for_empty: list[Deferred[None]] = []

    def put(self, item: Outgoing) -> None:
        """Queue C{item}; it is sent as soon as everything before it was answered."""
        self._queue.append(item)
        self._pump()

    def put_next(self, item: Outgoing) -> None:
        """Queue C{item} ahead of everything waiting: it goes once the frame in flight
        was answered."""
        self._queue.appendleft(item)
        self._pump()

    def put_first(self, items: list[Outgoing]) -> None:
        """Queue C{items}, in order, ahead of everything waiting."""
        self._queue.extendleft(reversed(items))
        self._pump()

    def open(self, send: Callable[[bytes], None], first: list[Outgoing] | None = None) -> None:
        """Start sending through C{send}: C{first}, then the frame that was in flight
        when the connection dropped, then the rest."""
        self._send = send
        self.put_first(first or [])

    def close(self) -> None:
        """Stop sending (the connection is gone); what is in flight stays unconfirmed."""
        self._send = None
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        if self._in_flight is not None:
            self._unconfirmed = self._in_flight
            self._queue.appendleft(self._in_flight)
            self._in_flight = None

    @property
    def in_flight(self) -> Outgoing | None:
        """The frame sent and waiting for its answer (C{None} while a retry waits)."""
        return None if self._retry is not None else self._in_flight

    def answered(self) -> Outgoing | None:
        """The server answered the frame in flight; call L{send_next} once it is handled.

        @return: the frame that was answered (C{None} if nothing was waiting for an answer).
        """
        answered = self.in_flight
        if answered is not None:
            self._in_flight = None
        return answered

    def send_next(self) -> None:
        """Send the next frame, if nothing is in flight."""
        self._pump()

    def retry_later(self, delay: float) -> bool:
        """The server dropped the frame in flight for now: send it again after C{delay}.

        @return: whether a frame will be sent again (there was one in flight).
        """
        if self._in_flight is None:
            return False
        if self._retry is None:
            self._retry = self._clock.callLater(max(delay, 0.0), self._resend)
        return True

    def replayed(self, text: str, room: str | None) -> Outgoing | None:
        """A replay after a reconnect holds our message C{text} in C{room} (a key):
        it needs no resending.

        @return: the frame the replay answered, if it was the one in flight at the drop.
        """
        answered = self._unconfirmed
        if answered is None or answered.text != text or answered.room != room:
            return None
        self._unconfirmed = None
        self._queue.remove(answered)
        return answered

    def drain(self) -> list[Outgoing]:
        """Stop for good: take out everything not answered yet (in flight first), in order."""
        self.close()
        left = list(self._queue)
        self._queue.clear()
        self._unconfirmed = None
        return left

    def when_empty(self) -> Deferred[None]:
        """A Deferred that fires once everything queued was sent and answered."""
        waiting: Deferred[None] = Deferred()
        self._waiting_for_empty.append(waiting)
        self._pump()
        return waiting

    def _resend(self) -> None:
        self._retry = None
        if self._send is not None and self._in_flight is not None:
            self._send(self._in_flight.frame)

    def _pump(self) -> None:
        if self._in_flight is not None:
            return
        if self._queue:
            if self._send is not None:
                self._in_flight = self._queue.popleft()
                if self._in_flight is self._unconfirmed:
                    self._unconfirmed = None  # Sent again: its answer will tell.
                self._send(self._in_flight.frame)
            return
        waiting, self._waiting_for_empty = self._waiting_for_empty, []
        for done in waiting:
            done.callback(None)
