"""The IRC door: one connection, and the factory a listener serves.

The protocol only frames: it cuts the stream into bounded lines before decoding anything
(L{LineFramer}), hands each to its L{IrcSession}, and writes what the session sends,
with the transport half the word-packet door uses too (L{StreamLink}).
"""

from __future__ import annotations

from collections import deque

from twisted.internet.interfaces import IPushProducer
from twisted.internet.protocol import Protocol, ServerFactory, connectionDone
from twisted.python.failure import Failure
from zope.interface import implementer

from chatproto.core.hall import Hall
from chatproto.core.member import CloseReason, ILink
from chatproto.doors.irc.accountnotify import account_changed
from chatproto.doors.irc.framing import LineFramer, Overlong
from chatproto.doors.irc.identity import ServerInfo
from chatproto.doors.irc.session import IrcDoor, IrcSession
from chatproto.doors.sockets import Keepalive, describe_peer, peer_host
from chatproto.doors.streams import ServerTransport, StreamLink


@implementer(IPushProducer, ILink)
class IrcProtocol(StreamLink, Protocol):
    """The line framing of one IRC connection, in front of an L{IrcSession}."""

    factory: IrcFactory
    transport: ServerTransport  # type: ignore[assignment]
    session: IrcSession

    def __init__(self) -> None:
        self._framer = LineFramer()
        # Lines read but not handed over while reading is paused: at most one read's
        # worth, since the transport reads nothing more meanwhile (None: there are none).
        self._unread: deque[bytes | Overlong] | None = None
        # Set while the session reads nothing (its connection counts overlapping holds).
        self._paused = False

    def connectionMade(self) -> None:
        """Admit the client, or refuse it when the server is full."""
        peer = self.transport.getPeer()
        self.session = IrcSession(
            self.factory.hall, self, self.factory.door, describe_peer(peer), peer_host(peer)
        )
        self.attach(self.factory.keepalive)
        self.session.start()

    def dataReceived(self, data: bytes) -> None:
        """Frame the bytes into lines and hand them over, in order, while not paused."""
        lines = self._framer.feed(data)
        if self._paused or self._unread:
            self._hold(lines)
            return
        session = self.session
        for index, line in enumerate(lines):
            session.line_received(line)
            if self._paused:
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

    # -- ILink (write and abort: StreamLink) --------------------------------

    def close(self, reason: CloseReason) -> None:
        """Write the ERROR line, then close after what was written. A timeout on a
        connection that is not plain TCP aborts after it: a TLS client stuck before its
        handshake would hold a graceful close open forever."""
        self.write(self.session.closing_line(reason))
        if reason is CloseReason.TIMEOUT and self._socket is None:
            self.abort()
            return
        self.lose_connection()

    def pause_reading(self) -> None:
        """Stop handing lines to the session (the unread ones wait)."""
        self._paused = True
        self.transport.pauseProducing()

    def resume_reading(self) -> None:
        """Hand the waiting lines over (until paused again), then read on."""
        self._paused = False
        unread = self._unread
        while unread and not self._paused:
            self.session.line_received(unread.popleft())
        if not self._paused:
            self._unread = None
            self.transport.resumeProducing()


class IrcFactory(ServerFactory[IrcProtocol]):
    """Builds an L{IrcProtocol} per connection, all in one room, as C{server}.

    C{ping_interval} and C{ping_timeout}: see L{IrcDoor} (tests make them short).
    """

    protocol = IrcProtocol

    def __init__(
        self,
        hall: Hall,
        server: ServerInfo,
        keepalive: Keepalive | None = None,
        ping_interval: float = 60.0,
        ping_timeout: float = 60.0,
    ) -> None:
        self.hall = hall
        self.door = IrcDoor(server, hall, ping_interval, ping_timeout, lambda: hall.config.motd)
        hall.watch_accounts(account_changed)
        self.keepalive = keepalive if keepalive is not None else Keepalive()
