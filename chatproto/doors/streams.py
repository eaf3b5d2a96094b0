"""The transport half every stream door shares (word packets, IRC): writing and the buffer.

A door's protocol mixes in L{StreamLink}: it writes straight to an idle TCP socket
(L{chatproto.doors.tcp.fastwrite}), and it registers as a streaming producer on its
transport only to learn when the transport's buffer is full and empty again, which its
session's outbox needs to bound what waits for a client that does not read
(C{--sendq-bytes}). It tells the outbox whether the socket may be written at once (its
outlet: open while Twisted has nothing queued for it), so that the fan-out can write
to the socket without going through the session, the outbox and the link.
"""

from __future__ import annotations

import socket
from typing import Protocol

from twisted.internet.interfaces import IAddress

from chatproto.core.outbox import Outbox
from chatproto.doors.sockets import Keepalive, tune_socket
from chatproto.doors.tcp.fastwrite import direct_socket, send_now


class ServerTransport(Protocol):
    """What a stream door uses of its transport (TCP, TLS and UNIX ones all have it)."""

    def write(self, data: bytes) -> None: ...
    def loseConnection(self) -> None: ...
    def abortConnection(self) -> None: ...
    def getPeer(self) -> IAddress: ...
    def registerProducer(self, producer: object, streaming: bool) -> None: ...
    def unregisterProducer(self) -> None: ...
    def pauseProducing(self) -> None: ...
    def resumeProducing(self) -> None: ...


class HasOutbox(Protocol):
    """A session, as far as its link is concerned."""

    outbox: Outbox


class StreamLink:
    """Writing, aborting and the producer half of a stream door's protocol (a mixin)."""

    transport: ServerTransport
    session: HasOutbox
    _registered_as_producer = False
    #: The TCP socket to write to directly while Twisted has nothing queued.
    _socket: socket.socket | None = None

    def attach(self, keepalive: Keepalive) -> None:
        """Tune the socket and learn of the transport's buffer (once connected)."""
        tune_socket(self.transport, keepalive)
        self.transport.registerProducer(self, True)
        self._registered_as_producer = True
        self._socket = direct_socket(self.transport)
        if self._socket is not None:
            self.session.outbox.open_outlet(self._socket)

    def write(self, data: bytes) -> None:
        """Send at once while Twisted has nothing queued, else queue as usual (and the
        outbox's outlet is closed until a write finds nothing queued again)."""
        sock = self._socket
        if sock is not None:
            data = send_now(self.transport, sock, data)
            if not data:
                self.session.outbox.open_outlet(sock)
                return
            self.session.outbox.close_outlet()
        self.transport.write(data)

    def abort(self) -> None:
        """Drop the connection now, unwritten output included."""
        self._close_for_good()
        self.transport.abortConnection()

    def lose_connection(self) -> None:
        """Close after what was written."""
        self._close_for_good()
        self.transport.loseConnection()

    def _close_for_good(self) -> None:
        # Nothing more goes to the socket past the transport (whose write drops it, or
        # sends it before closing).
        self.session.outbox.close_outlet()
        self._unregister_producer()

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
