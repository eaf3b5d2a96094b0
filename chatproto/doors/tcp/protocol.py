"""The word-packet TCP door: one connection, and the factory a listener serves.

The protocol only frames: it cuts the stream into frames, hands each frame's
text to its L{PacketSession}, and writes what the session sends. It registers
as a streaming producer on its transport only to learn when the transport's
buffer is full, so that the core can bound what waits for a client that does
not read (C{--sendq-bytes}).
"""

from __future__ import annotations

from twisted.internet.interfaces import IPushProducer
from twisted.internet.protocol import ServerFactory, connectionDone
from twisted.protocols.basic import Int16StringReceiver
from twisted.python.failure import Failure
from zope.interface import implementer

from chatproto.core.hall import Hall
from chatproto.core.member import CloseReason, ILink
from chatproto.doors.packets.codec import PacketCodec
from chatproto.doors.packets.dialogue import PacketSession
from chatproto.doors.sockets import Keepalive, describe_peer, peer_host
from chatproto.doors.streams import ServerTransport, StreamLink
from chatproto.doors.tcp.framing import frame

#: Every word-packet connection shares one codec, so fan-out encodes once for all.
WORD_PACKET_CODEC = PacketCodec(frame)


@implementer(IPushProducer, ILink)
class WordPacketProtocol(StreamLink, Int16StringReceiver):
    """The word-packet framing of one connection, in front of a L{PacketSession}."""

    factory: WordPacketFactory
    transport: ServerTransport  # type: ignore[assignment]
    session: PacketSession

    def connectionMade(self) -> None:
        """Greet the client, or refuse it when the server is full."""
        peer = self.transport.getPeer()
        self.session = PacketSession(
            self.factory.hall, self, WORD_PACKET_CODEC, describe_peer(peer), peer_host(peer)
        )
        self.attach(self.factory.keepalive)
        self.session.start()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        """A dropped connection is a leave like BYE."""
        self.session.lost()

    def stringReceived(self, data: bytes) -> None:
        """One frame's text, for the session."""
        self.session.frame_received(data)

    # -- ILink (write and abort: StreamLink) --------------------------------

    def close(self, reason: CloseReason) -> None:
        """Close after what was written; a handshake timeout aborts (a TLS client stuck
        before its handshake would hold a graceful close open forever)."""
        if reason is CloseReason.TIMEOUT:
            self.abort()
            return
        self.lose_connection()

    def pause_reading(self) -> None:
        """Stop handing frames to the session (the unread ones stay buffered)."""
        self.paused = True
        self.transport.pauseProducing()

    def resume_reading(self) -> None:
        """Hand the buffered frames over, then read on."""
        self.paused = False
        self.transport.resumeProducing()
        self.dataReceived(b"")  # type: ignore[no-untyped-call]  # frames read, not handled


class WordPacketFactory(ServerFactory[WordPacketProtocol]):
    """Builds a L{WordPacketProtocol} per connection, all in one room."""

    protocol = WordPacketProtocol

    def __init__(self, hall: Hall, keepalive: Keepalive | None = None) -> None:
        self.hall = hall
        self.keepalive = keepalive if keepalive is not None else Keepalive()
