"""What we send, one frame at a time, so that nothing is lost to a rate limit or a reconnect."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall, IReactorTime


@dataclass(frozen=True)
class Outgoing:
    """A frame to send; C{text} is a public message's text, to recognise it in a replay;
    C{answer} is fired by whoever reads the server's answer to it."""

    frame: bytes
    text: str | None = None
    answer: Deferred[Any] | None = field(default=None, compare=False)


class Outbox:
    """Sends queued frames one at a time: the next goes once the server answered the last.

    The server answers every chat or command frame with exactly one packet, in
    order (the echo, a C{who} notice or an C{error}), so keeping one frame in
    flight is enough to resend one that a rate limit dropped, and to send
    nothing twice after a reconnect: a frame in flight when the connection
    dropped is sent again unless the replay shows the server accepted it.
    """

    def __init__(self, clock: IReactorTime) -> None:
        self._clock = clock
        self._queue: deque[Outgoing] = deque()
        self._in_flight: Outgoing | None = None
        self._send: Callable[[bytes], None] | None = None
        self._retry: IDelayedCall | None = None
        self._waiting_for_empty: list[Deferred[None]] = []

    def put(self, item: Outgoing) -> None:
        """Queue C{item}; it is sent as soon as everything before it was answered."""
        self._queue.append(item)
        self._pump()

    def open(self, send: Callable[[bytes], None]) -> None:
        """Start sending through C{send}: first the frame that was in flight, if any."""
        self._send = send
        if self._in_flight is not None:
            send(self._in_flight.frame)
        else:
            self._pump()

    def close(self) -> None:
        """Stop sending (the connection is gone); what is in flight stays unconfirmed."""
        self._send = None
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None

    def answered(self) -> Outgoing | None:
        """The server answered the frame in flight: send the next.

        @return: the frame that was answered (C{None} if nothing was waiting for an answer).
        """
        answered = self._in_flight
        if answered is None or self._retry is not None:
            return None
        self._in_flight = None
        self._pump()
        return answered

    def retry_later(self, delay: float) -> bool:
        """The server dropped the frame in flight for now: send it again after C{delay}.

        @return: whether a frame will be sent again (there was one in flight).
        """
        if self._in_flight is None:
            return False
        if self._retry is None:
            self._retry = self._clock.callLater(max(delay, 0.0), self._resend)
        return True

    def replayed(self, text: str) -> Outgoing | None:
        """The replay after a reconnect holds our message C{text}: it needs no resending.

        @return: the frame the replay answered, if it was the one in flight.
        """
        answered = self._in_flight
        if self._send is None and answered is not None and answered.text == text:
            self._in_flight = None
            return answered
        return None

    def drain(self) -> list[Outgoing]:
        """Stop for good: take out everything not answered yet (in flight first), in order."""
        self.close()
        left = [] if self._in_flight is None else [self._in_flight]
        self._in_flight = None
        left += self._queue
        self._queue.clear()
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
                self._send(self._in_flight.frame)
            return
        waiting, self._waiting_for_empty = self._waiting_for_empty, []
        for done in waiting:
            done.callback(None)
