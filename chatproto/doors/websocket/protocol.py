"""The WebSocket door: one connection on autobahn, and its factory.

Each text message carries one frame's text (docs/protocol.md section 9): the
protocol hands it to its L{PacketSession}, the same dialogue the word-packet
door uses, and writes the session's output as pre-built text frames. Like the
word-packet door it registers as a streaming producer on its transport only to
learn when the transport's buffer is full, so the core can bound what waits
for a reader that does not read (C{--sendq-bytes}).
"""

from __future__ import annotations

import socket
from collections import deque
from typing import Any

from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from autobahn.websocket.types import ConnectionDeny, ConnectionRequest
from twisted.internet.interfaces import IPushProducer
from zope.interface import implementer

from chatproto.core.member import CloseReason, ILink
from chatproto.core.records import MAX_PACKET_BYTES
from chatproto.core.room import Room
from chatproto.doors.packets.codec import PacketCodec
from chatproto.doors.packets.dialogue import PacketSession
from chatproto.doors.sockets import Keepalive, describe_peer, peer_host, tune_socket
from chatproto.doors.tcp.fastwrite import direct_socket, send_now
from chatproto.doors.websocket.framing import text_frame
from chatproto.doors.websocket.origins import origin_allowed

#: The subprotocol a client may offer (docs/protocol.md section 9).
SUBPROTOCOL = "chatproto.v1"
#: Every WebSocket connection shares one codec, so fan-out frames once for all.
WEBSOCKET_CODEC = PacketCodec(text_frame)
#: Close codes by reason (section 9; RFC 6455 section 7.4.1).
CLOSE_CODES = {
    CloseReason.BYE: 1000,
    CloseReason.TIMEOUT: 1000,
    CloseReason.REPLACED: 1000,
    CloseReason.FLOOD: 1008,
    CloseReason.SERVER_FULL: 1013,
    CloseReason.SHUTDOWN: 1001,
}


@implementer(IPushProducer, ILink)
class ChatWebSocketProtocol(WebSocketServerProtocol):
    """One chat connection over WebSocket, in front of a L{PacketSession}."""

    factory: ChatWebSocketFactory
    session: PacketSession | None = None
    _socket: socket.socket | None = None

    def __init__(self) -> None:
        super().__init__()
        # Messages autobahn had already read when reading was paused: at most one
        # read's worth, since the transport reads nothing more meanwhile.
        self._unread: deque[tuple[bytes, bool]] | None = None

    def onConnect(self, request: ConnectionRequest) -> str | None:
        """Refuse a foreign page's origin (HTTP 403); select the subprotocol if offered."""
        if not origin_allowed(
            request.headers.get("origin"), request.headers.get("host"), self.factory.origins
        ):
            raise ConnectionDeny(ConnectionDeny.FORBIDDEN, "This page's origin may not chat here")
        return SUBPROTOCOL if SUBPROTOCOL in request.protocols else None

    def onOpen(self) -> None:
        """The upgrade is done: greet the client, or refuse it when the server is full."""
        transport: Any = self.transport
        peer = transport.getPeer()
        self.session = PacketSession(
            self.factory.room, self, WEBSOCKET_CODEC, describe_peer(peer), peer_host(peer)
        )
        tune_socket(transport, self.factory.keepalive)
        # Twisted Web registered its channel as the transport's producer; the
        # connection is ours now.
        transport.unregisterProducer()
        transport.registerProducer(self, True)
        self._socket = direct_socket(transport)
        self.session.start()

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        """One message: a frame's text for the session (binary: malformed)."""
        if self._unread is not None:
            self._unread.append((payload, isBinary))
            return
        session = self.session
        if session is None:
            return
        if isBinary:
            session.binary_received()
        else:
            session.frame_received(payload)

    def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:
        """The connection is gone: a joined member leaves (`disconnected`)."""
        self._unread = None
        if self.session is not None:
            self.session.lost()

    # -- ILink -------------------------------------------------------------

    def write(self, data: bytes) -> None:
        """Write frames the codec built; at once while Twisted has nothing queued."""
        transport: Any = self.transport
        if self._socket is not None:
            data = send_now(transport, self._socket, data)
            if not data:
                return
        transport.write(data)

    def close(self, reason: CloseReason) -> None:
        """Send the close frame for C{reason} after what was written."""
        self._unregister_producer()
        self.sendCloseFrame(code=CLOSE_CODES[reason], isReply=False)

    def abort(self) -> None:
        """Drop the connection now, unwritten output included."""
        self._unregister_producer()
        self.dropConnection(abort=True)

    def pause_reading(self) -> None:
        """Read nothing more, and hold what autobahn already read."""
        self._unread = deque()
        transport: Any = self.transport
        transport.pauseProducing()

    def resume_reading(self) -> None:
        """Hand the held messages over (until paused again), then read on."""
        unread, self._unread = self._unread, None
        while unread:
            self.onMessage(*unread.popleft())
            if self._unread is not None:  # paused again: keep the rest first in line
                self._unread.extendleft(reversed(unread))
                return
        transport: Any = self.transport
        transport.resumeProducing()

    def _unregister_producer(self) -> None:
        transport: Any = self.transport
        if transport is not None and transport.producer is self:
            transport.unregisterProducer()

    # -- IPushProducer: the transport's buffer, full or empty ---------------

    def pauseProducing(self) -> None:
        """The transport's buffer is full: the outbox counts what waits."""
        if self.session is not None:
            self.session.outbox.pause()

    def resumeProducing(self) -> None:
        """The transport's buffer is empty again."""
        if self.session is not None:
            self.session.outbox.resume()

    def stopProducing(self) -> None:
        """The connection is going away; onClose does the bookkeeping."""


class ChatWebSocketFactory(WebSocketServerFactory):
    """Builds a L{ChatWebSocketProtocol} per upgrade, all in one room.

    C{origins}: the allowed origins (L{parse_origins}; empty: same origin only).
    C{ping_interval}: seconds between pings to an idle connection, and how long
    a pong may take (section 9: 30).
    """

    protocol = ChatWebSocketProtocol  # type: ignore[assignment]

    def __init__(
        self,
        room: Room,
        origins: frozenset[str] = frozenset(),
        keepalive: Keepalive | None = None,
        ping_interval: float = 30.0,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.room = room
        self.origins = origins
        self.keepalive = keepalive if keepalive is not None else Keepalive()
        self.setProtocolOptions(  # type: ignore[no-untyped-call]
            # A message over one frame's text is refused with close code 1009
            # (failByDrop off, or autobahn would drop without a close frame).
            maxMessagePayloadSize=MAX_PACKET_BYTES,
            maxFramePayloadSize=MAX_PACKET_BYTES,
            failByDrop=False,
            # The dialogue answers text that is not UTF-8 as on every door.
            utf8validateIncoming=False,
            autoPingInterval=ping_interval,
            autoPingTimeout=ping_interval,
            # Compression would make frames differ per member: never negotiated.
            perMessageCompressionAccept=lambda offers: None,
        )
