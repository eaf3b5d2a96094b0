"""The word-packet TCP door: one connection, and the factory a listener serves.

The protocol only frames: it cuts the stream into frames, hands each frame's
text to its L{PacketSession}, and writes what the session sends. It registers
as a streaming producer on its transport only to learn when the transport's
buffer is full, so that the core can bound what waits for a client that does
not read (C{--sendq-bytes}).
"""

from __future__ import annotations

import socket
from typing import Protocol

from twisted.internet.interfaces import IAddress, IPushProducer
from twisted.internet.protocol import ServerFactory, connectionDone
from twisted.protocols.basic import Int16StringReceiver
from twisted.python.failure import Failure
from zope.interface import implementer

from chatproto.core.member import CloseReason, ILink
from chatproto.core.room import Room
from chatproto.doors.packets.codec import PacketCodec
from chatproto.doors.packets.dialogue import PacketSession
from chatproto.doors.sockets import Keepalive, describe_peer, peer_host, tune_socket
from chatproto.doors.tcp.fastwrite import direct_socket, send_now
from chatproto.doors.tcp.framing import frame

#: Every word-packet connection shares one codec, so fan-out encodes once for all.
WORD_PACKET_CODEC = PacketCodec(frame)


class ServerTransport(Protocol):
    """What the protocol uses of its transport (TCP, TLS and UNIX ones all have it)."""

    def write(self, data: bytes) -> None: ...
    def loseConnection(self) -> None: ...
    def abortConnection(self) -> None: ...
    def getPeer(self) -> IAddress: ...
    def registerProducer(self, producer: object, streaming: bool) -> None: ...
    def unregisterProducer(self) -> None: ...
    def pauseProducing(self) -> None: ...
    def resumeProducing(self) -> None: ...


@implementer(IPushProducer, ILink)
class WordPacketProtocol(Int16StringReceiver):
    """The word-packet framing of one connection, in front of a L{PacketSession}."""

    factory: WordPacketFactory
    transport: ServerTransport  # type: ignore[assignment]
    session: PacketSession
    _registered_as_producer = False
    #: The TCP socket to write to directly while Twisted has nothing queued.
    _socket: socket.socket | None = None

    def connectionMade(self) -> None:
        """Greet the client, or refuse it when the server is full."""
        peer = self.transport.getPeer()
        self.session = PacketSession(
            self.factory.room, self, WORD_PACKET_CODEC, describe_peer(peer), peer_host(peer)
        )
        tune_socket(self.transport, self.factory.keepalive)
        self.transport.registerProducer(self, True)
        self._registered_as_producer = True
        self._socket = direct_socket(self.transport)
        self.session.start()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        """A dropped connection is a leave like BYE."""
        self.session.lost()

    def stringReceived(self, data: bytes) -> None:
        """One frame's text, for the session."""
        self.session.frame_received(data)

    # -- ILink -------------------------------------------------------------

    def write(self, data: bytes) -> None:
        """Send at once while Twisted has nothing queued, else queue as usual."""
        if self._socket is not None:
            data = send_now(self.transport, self._socket, data)
            if not data:
                return
        self.transport.write(data)

    def close(self, reason: CloseReason) -> None:
        """Close after what was written; a handshake timeout aborts (a TLS client stuck
        before its handshake would hold a graceful close open forever)."""
        if reason is CloseReason.TIMEOUT:
            self.abort()
            return
        self._unregister_producer()
        self.transport.loseConnection()

    def abort(self) -> None:
        """Drop the connection now, unwritten output included."""
        self._unregister_producer()
        self.transport.abortConnection()

    def pause_reading(self) -> None:
        """Stop handing frames to the session (the unread ones stay buffered)."""
        self.paused = True
        self.transport.pauseProducing()

    def resume_reading(self) -> None:
        """Hand the buffered frames over, then read on."""
        self.paused = False
        self.transport.resumeProducing()
        self.dataReceived(b"")  # type: ignore[no-untyped-call]  # frames read, not handled

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


class WordPacketFactory(ServerFactory[WordPacketProtocol]):
    """Builds a L{WordPacketProtocol} per connection, all in one room."""

    protocol = WordPacketProtocol

    def __init__(self, room: Room, keepalive: Keepalive | None = None) -> None:
        self.room = room
        self.keepalive = keepalive if keepalive is not None else Keepalive()
