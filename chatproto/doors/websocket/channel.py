"""The web door's HTTP connection, stricter than Twisted Web's (docs/security.md).

The door serves the web client's files and the upgrade at C{/chat}, nothing
that takes a body, so its HTTP connection:

- refuses a request that announces a body (C{Content-Length} above 0, or
  chunked) with 413 and closes, before reading any of it;
- gives each request L{REQUEST_SECONDS} from the connection (or from the
  previous answer, on a kept-alive connection) until it is answered or
  upgraded, however slowly its bytes trickle in; then drops the connection;
- holds a C{--max-clients} / C{--max-per-ip} place from the start (past the
  limits, one of a few overflow places, so that the chat socket can be told
  C{server-full}; past those, 503), which the chat connection takes over at
  the upgrade, with any bytes
  that came in the same read as the upgrade request (they are the chat
  connection's, not a next HTTP request to hold);
- sends no C{Server} header (no library version);
- reads the first request's head whole (at most
  L{upgrade.MAX_HEAD_BYTES<chatproto.doors.websocket.upgrade.MAX_HEAD_BYTES>})
  and gives a plain request for C{/chat} straight to autobahn, which parses it
  once (L{chatproto.doors.websocket.upgrade}); every other request goes to
  Twisted Web as it came.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall, IProtocol, IReactorTime
from twisted.internet.protocol import connectionDone
from twisted.protocols.policies import ProtocolWrapper
from twisted.python.failure import Failure
from twisted.web.http import HTTPChannel, Request
from twisted.web.http_headers import Headers

from chatproto.core.member import CloseReason
from chatproto.core.once import Once
from chatproto.doors.sockets import describe_peer, peer_host
from chatproto.doors.websocket.upgrade import MAX_HEAD_BYTES, is_plain_chat_request

if TYPE_CHECKING:
    from chatproto.core.hall import Hall
    from chatproto.doors.websocket.protocol import ChatWebSocketFactory

#: Seconds a request has from the connection (or the previous answer) to be answered.
REQUEST_SECONDS = 10.0
#: Web connections accepted past the admission limits at once (see L{Overflow}).
MAX_OVERFLOW = 64


class WaitingPlace:
    """The admission place of a web connection that is not (yet) a chat connection."""

    __slots__ = ("_channel", "_given_up", "host", "peer")

    def __init__(self, channel: ChatHTTPChannel, peer: str, host: str | None) -> None:
        self._channel = channel
        self.peer = peer
        self.host = host
        self._given_up = Once()

    def close(self, reason: CloseReason) -> None:
        """Drop the connection (the server shuts down)."""
        self._channel.drop()

    def evict(self) -> None:
        """Drop the connection at once."""
        self._channel.drop()

    def when_gone(self) -> Deferred[None]:
        """A Deferred that fires once the place is given up: the connection closed, or a
        chat connection took it over at the upgrade."""
        return self._given_up.when()

    def given_up(self) -> None:
        """The connection no longer holds this place: tell who waits."""
        self._given_up.happened()


class Overflow:
    """The web connections accepted past C{--max-clients} or C{--max-per-ip}, at most
    C{most} at once.

    Such a connection holds no place: a chat socket it opens is refused by the room
    as every door's are, with C{error} C{server-full} and close code 1013
    (docs/protocol.md section 9), which tells a browser why. Each lives at most
    L{REQUEST_SECONDS}; past C{most} of them a connection is answered 503 at once.
    """

    __slots__ = ("_channels", "most")

    def __init__(self, most: int = MAX_OVERFLOW) -> None:
        self.most = most
        self._channels: set[ChatHTTPChannel] = set()

    def __contains__(self, channel: object) -> bool:
        return channel in self._channels

    def enter(self, channel: ChatHTTPChannel) -> bool:
        """Count C{channel} in, unless C{most} are in already."""
        if len(self._channels) >= self.most:
            return False
        self._channels.add(channel)
        return True

    def leave(self, channel: ChatHTTPChannel) -> None:
        """C{channel} closed or upgraded."""
        self._channels.discard(channel)


class ChatHTTPChannel(HTTPChannel):
    """One HTTP connection to the web door, until it is closed or upgraded.

    C{room}: whose admission counts the connection; C{clock}: what its
    deadlines run on; C{sockets}: who builds the chat connection of an upgrade.
    The site that builds the channel sets them (as Twisted sets C{site}).
    """

    hall: Hall
    clock: IReactorTime
    overflow: Overflow
    sockets: ChatWebSocketFactory
    # The first request's head so far; None once it went to autobahn or Twisted Web.
    _head: bytes | None = b""
    _place: WaitingPlace | None = None
    # The protocol that took the connection over at the upgrade.
    _upgraded_to: IProtocol | None = None
    _deadline: IDelayedCall | None = None
    # Set once a refusal is written: nothing more is read.
    _refused = False

    def connectionMade(self) -> None:
        """Take an admission place (past the limits, one of the few overflow places; past
        those too, answer 503) and start the first request's clock."""
        super().connectionMade()  # type: ignore[no-untyped-call]
        transport: Any = self.transport
        peer = transport.getPeer()
        place = WaitingPlace(self, describe_peer(peer), peer_host(peer))
        if self.hall.admit(place):
            self._place = place
        elif not self.overflow.enter(self):
            self._refuse(b"503 Service Unavailable", b"The server is full.\n")
            return
        self._start_clock()

    def dataReceived(self, data: bytes) -> None:
        """Read the first request's head whole: a plain request for C{/chat} goes
        straight to autobahn, anything else (or a head over L{MAX_HEAD_BYTES}) to
        Twisted Web, as it came."""
        if self._head is None:
            super().dataReceived(data)  # type: ignore[no-untyped-call]
            return
        data = self._head + data
        end = data.find(b"\r\n\r\n")
        if end < 0 and len(data) <= MAX_HEAD_BYTES:
            self._head = data
            return
        self._head = None
        if (
            0 <= end <= MAX_HEAD_BYTES - 4
            and not self._refused
            and is_plain_chat_request(data[:end], self.sockets.origins)
        ):
            self._hand_to_autobahn(data)
        else:
            super().dataReceived(data)  # type: ignore[no-untyped-call]

    def _hand_to_autobahn(self, data: bytes) -> None:
        """Give the connection, and everything read from it, to a new chat connection
        (as autobahn's own resource does, without the request Twisted Web would build)."""
        transport: Any = self.transport
        protocol: Any = self.sockets.buildProtocol(transport.getPeer())
        self.upgrading()
        self.transport = None
        # Under TLS, the connection's bytes come through a wrapping protocol.
        if isinstance(transport, ProtocolWrapper):
            transport.wrappedProtocol = protocol
        else:
            transport.protocol = protocol
        protocol.makeConnection(transport)
        protocol.dataReceived(data)

    def allHeadersReceived(self) -> None:
        """Refuse a request that announces a body, before any of it is read or stored."""
        if self.length != 0:  # a positive Content-Length, or None for chunked
            self._refuse(b"413 Content Too Large", b"This server takes no request bodies.\n")
            return
        super().allHeadersReceived()  # type: ignore[no-untyped-call]

    def rawDataReceived(self, data: bytes) -> None:
        """Bytes after the upgrade request go to the protocol that took over; after a
        refusal, nowhere."""
        if self._upgraded_to is not None:
            self._upgraded_to.dataReceived(data)
        elif not self._refused:
            super().rawDataReceived(data)

    def requestDone(self, request: Request) -> None:
        """The answer is written: the next request (or, on a connection that closes, the
        flush of this answer to a client that may not read it) gets its own time."""
        self._stop_clock()
        super().requestDone(request)  # type: ignore[no-untyped-call]
        if self._place is not None or self in self.overflow:  # still open and not upgraded
            self._start_clock()

    def writeHeaders(self, version: bytes, code: bytes, reason: bytes, headers: Headers) -> None:
        """Write a response head without the C{Server} header Twisted Web adds."""
        headers.removeHeader(b"server")
        super().writeHeaders(version, code, reason, headers)  # type: ignore[no-untyped-call]

    def upgrading(self) -> None:
        """The request is being upgraded: the chat connection takes the place and the time."""
        self._stop_clock()
        self._release_place()

    def upgraded(self, protocol: IProtocol) -> None:
        """C{protocol} took the connection over: what this channel still has to read
        (bytes sent right behind the upgrade request) is its."""
        self._upgraded_to = protocol

    def drop(self) -> None:
        """Close the connection now, whatever it was doing."""
        transport: Any = self.transport
        if transport is not None:
            transport.abortConnection()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        """Free the place and stop the clock."""
        self._stop_clock()
        self._release_place()
        super().connectionLost(reason)  # type: ignore[no-untyped-call]

    def _refuse(self, status: bytes, why: bytes) -> None:
        self._refused = True
        transport: Any = self.transport
        transport.write(
            b"HTTP/1.1 %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (status, len(why), why)
        )
        self.loseConnection()  # type: ignore[no-untyped-call]

    def _start_clock(self) -> None:
        self._deadline = self.clock.callLater(REQUEST_SECONDS, self._out_of_time)

    def _stop_clock(self) -> None:
        deadline, self._deadline = self._deadline, None
        if deadline is not None and deadline.active():
            deadline.cancel()

    def _out_of_time(self) -> None:
        self._deadline = None
        self.drop()

    def _release_place(self) -> None:
        self.overflow.leave(self)
        place, self._place = self._place, None
        if place is not None:
            self.hall.release(place)
            place.given_up()
