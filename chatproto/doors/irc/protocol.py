"""The IRC door: one connection, and the factory a listener serves.

The protocol only frames: it cuts the stream into bounded lines before decoding anything
(L{LineFramer}), hands each to its L{IrcSession}, and writes what the session sends. Like
the other doors it registers as a streaming producer on its transport only to learn when
the transport's buffer is full, so that the core can bound what waits for a client that
does not read (C{--sendq-bytes}).
"""

from __future__ import annotations

import socket
from collections import deque

from twisted.internet.interfaces import IPushProducer
from twisted.internet.protocol import Protocol, ServerFactory, connectionDone
from twisted.python.failure import Failure
from zope.interface import implementer

from chatproto.core.member import CloseReason, ILink
from chatproto.core.room import Room
from chatproto.doors.irc.framing import LineFramer, Overlong
from chatproto.doors.irc.identity import ServerInfo
from chatproto.doors.irc.session import IrcDoor, IrcSession
from chatproto.doors.sockets import Keepalive, peer_host, tune_socket
from chatproto.doors.tcp.fastwrite import direct_socket, send_now
from chatproto.doors.tcp.protocol import ServerTransport


@implementer(IPushProducer, ILink)
class IrcProtocol(Protocol):
    """The line framing of one IRC connection, in front of an L{IrcSession}."""

    factory: IrcFactory
    transport: ServerTransport  # type: ignore[assignment]
    session: IrcSession
    _registered_as_producer = False
    #: The TCP socket to write to directly while Twisted has nothing queued.
    _socket: socket.socket | None = None

    def __init__(self) -> None:
        self._framer = LineFramer()
        # Lines read but not handed over while reading is paused: at most one read's
        # worth, since the transport reads nothing more meanwhile (None: there are none).
        self._unread: deque[bytes | Overlong] | None = None
        # Pauses not yet resumed: the rate limit and a pending nickname claim may overlap.
        self._pauses = 0

    def connectionMade(self) -> None:
        """Admit the client, or refuse it when the server is full."""
        peer = self.transport.getPeer()
        self.session = IrcSession(
            self.factory.room, self, self.factory.door, str(peer), peer_host(peer)
        )
        tune_socket(self.transport, self.factory.keepalive)
        self.transport.registerProducer(self, True)
        self._registered_as_producer = True
        self._socket = direct_socket(self.transport)
        self.session.start()

    def dataReceived(self, data: bytes) -> None:
        """Frame the bytes into lines and hand them over, in order, while not paused."""
        lines = self._framer.feed(data)
        if self._pauses or self._unread:
            self._hold(lines)
            return
        session = self.session
        for index, line in enumerate(lines):
            session.line_received(line)
            if self._pauses:
                self._hold(lines[index + 1 :])
                return

    def _hold(self, lines: list[bytes | Overlong]) -> None:
        if self._unread is None:
            self._unread = deque(lines)
        else:
            self._unread.extend(lines)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        """A dropped connection is a leave like QUIT (reason `disconnected`)."""
        self._unread = None
        self.session.lost()

    # -- ILink -------------------------------------------------------------

    def write(self, data: bytes) -> None:
        """Send at once while Twisted has nothing queued, else queue as usual."""
        if self._socket is not None:
            data = send_now(self.transport, self._socket, data)
            if not data:
                return
        self.transport.write(data)

    def close(self, reason: CloseReason) -> None:
        """Write the ERROR line, then close after what was written. A timeout on a
        connection that is not plain TCP aborts after it: a TLS client stuck before its
        handshake would hold a graceful close open forever."""
        self.write(self.session.closing_line(reason))
        if reason is CloseReason.TIMEOUT and self._socket is None:
            self.abort()
            return
        self._unregister_producer()
        self.transport.loseConnection()

    def abort(self) -> None:
        """Drop the connection now, unwritten output included."""
        self._unregister_producer()
        self.transport.abortConnection()

    def pause_reading(self) -> None:
        """Stop handing lines to the session (the unread ones wait) until every pause
        is resumed."""
        self._pauses += 1
        if self._pauses == 1:
            self.transport.pauseProducing()

    def resume_reading(self) -> None:
        """Hand the waiting lines over (until paused again), then read on."""
        self._pauses -= 1
        if self._pauses:
            return
        unread = self._unread
        while unread and not self._pauses:
            self.session.line_received(unread.popleft())
        if not self._pauses:
            self._unread = None
            self.transport.resumeProducing()

    def _unregister_producer(self) -> None:
        # A paused producer left registered can keep a close from completing.
        if self._registered_as_producer:
            self._registered_as_producer = False
            self.transport.unregisterProducer()

    # -- IPushProducer: the transport's buffer, full or empty ---------------

    def pauseProducing(self) -> None:
        """The transport's buffer is full: the outbox counts what waits."""
        self.session.outbox.pause()

    def resumeProducing(self) -> None:
        """The transport's buffer is empty again."""
        self.session.outbox.resume()

    def stopProducing(self) -> None:
        """The connection is going away; connectionLost does the bookkeeping."""


class IrcFactory(ServerFactory[IrcProtocol]):
    """Builds an L{IrcProtocol} per connection, all in one room, as C{server}.

    C{ping_interval} and C{ping_timeout}: see L{IrcDoor} (tests make them short).
    """

    protocol = IrcProtocol

    def __init__(
        self,
        room: Room,
        server: ServerInfo,
        keepalive: Keepalive | None = None,
        ping_interval: float = 60.0,
        ping_timeout: float = 60.0,
    ) -> None:
        self.room = room
        self.door = IrcDoor(server, ping_interval, ping_timeout)
        self.keepalive = keepalive if keepalive is not None else Keepalive()
