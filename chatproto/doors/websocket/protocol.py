"""The WebSocket door: one connection on autobahn, and its factory.

Each text message carries one frame's text (docs/protocol.md section 9): the
protocol hands it to its L{PacketSession}, the same dialogue the word-packet
door uses, and writes the session's output as pre-built text frames. Like the
word-packet door it registers as a streaming producer on its transport only to
learn when the transport's buffer is full, so the core can bound what waits
for a reader that does not read (C{--sendq-bytes}); pongs go the same way.

Bounds autobahn lacks (docs/security.md, "Web port limits"): one message may
span at most L{MAX_MESSAGE_FRAMES} frames and must be complete within
L{MESSAGE_SECONDS} of its first frame.
"""

from __future__ import annotations

import inspect
import socket
from collections import deque
from typing import Any

from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from autobahn.websocket.types import ConnectionRequest
from autobahn.websocket.utf8validator import Utf8Validator
from twisted.internet.interfaces import IDelayedCall, IPushProducer, IReactorTime
from zope.interface import implementer

from chatproto.core.hall import Hall
from chatproto.core.member import CloseReason, ILink
from chatproto.core.records import MAX_PACKET_BYTES
from chatproto.doors.packets.codec import PacketCodec
from chatproto.doors.packets.dialogue import PacketSession
from chatproto.doors.slots import fill_defaults, shadowed_defaults
from chatproto.doors.sockets import Keepalive, describe_peer, peer_host, tune_socket
from chatproto.doors.tcp.fastwrite import direct_socket, send_now
from chatproto.doors.websocket.framing import pong_frame, text_frame
from chatproto.doors.websocket.slots import LIBRARY_SLOTS

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
#: Frames one message may span; more closes with 1009, as an oversized message does.
MAX_MESSAGE_FRAMES = 64
#: Seconds a message may take from its first frame to its last; longer closes with 1008.
MESSAGE_SECONDS = 30.0
#: What autobahn's log lines show instead of the peer's address (without --log-addresses).
UNLOGGED_PEER = "(address not logged)"


#: The door's own attributes of a connection, beside the libraries' (L{LIBRARY_SLOTS}).
_DOOR_SLOTS = (
    "session",
    "_socket",
    "_message_frames",
    "_message_began",
    "_message_check",
    "_unread",
)
#: What autobahn keeps for the connection's life though nothing reads it once the
#: connection is open: the upgrade's request, headers, path, origin, subprotocols,
#: extensions and response, and its description of the transport (for WAMP
#: sessions); about 1.9 KiB a connection, dropped.
_UNREAD_AFTER_OPEN = (
    *("http_request_data", "http_response_data", "http_headers", "http_status_line"),
    *("http_request_uri", "http_request_path", "http_request_params", "http_request_host"),
    *("websocket_origin", "websocket_protocols", "websocket_extensions", "_wskey"),
    *("websocket_extensions_in_use", "_transport_details"),
)
#: autobahn makes a UTF-8 validator per connection and consults it only when
#: C{utf8validateIncoming} is on; it is off here (the dialogue answers text that is
#: not UTF-8), so every connection keeps this one instead.
_UNUSED_VALIDATOR = Utf8Validator()
#: autobahn queues output only for chopped or synchronous sends, which the door never
#: asks for; a connection's queue is this empty tuple instead of a deque of its own
#: (about 700 bytes). Should autobahn ever queue, appending to it fails loudly.
_NO_SEND_QUEUE = ()


@implementer(IPushProducer, ILink)
class ChatWebSocketProtocol(WebSocketServerProtocol):
    """One chat connection over WebSocket, in front of a L{PacketSession}.

    Its attributes, autobahn's included, are slots: none lands in a dict of its own.
    """

    __slots__ = (*LIBRARY_SLOTS, *_DOOR_SLOTS)

    factory: ChatWebSocketFactory
    session: PacketSession | None
    _socket: socket.socket | None
    # The message being received: its frames so far, and when its first one began.
    _message_frames: int
    _message_began: float
    _message_check: IDelayedCall | None
    # Messages autobahn had already read when reading was paused: at most one
    # read's worth, since the transport reads nothing more meanwhile.
    _unread: deque[tuple[bytes, bool]] | None

    def __init__(self) -> None:
        fill_defaults(self, _SHADOWED_DEFAULTS)
        super().__init__()
        # autobahn's event listeners (`on("message", ...)`): nothing here registers
        # any, and without listeners autobahn reads neither the events nor the results.
        self._valid_events = self._results = None
        self.session = None
        self._socket = None
        # autobahn sets them once the upgrade is done; read before that too.
        self.inside_message = False
        self.current_frame = None  # type: ignore[assignment]  # as autobahn sets it
        self._message_frames = 0
        self._message_began = 0.0
        self._message_check = None
        self._unread = None

    def connectionMade(self) -> None:
        """Keep the peer's address out of autobahn's log lines unless --log-addresses;
        share what autobahn made for this connection but never uses here."""
        super().connectionMade()
        self.utf8validator = _UNUSED_VALIDATOR
        self.send_queue = _NO_SEND_QUEUE  # type: ignore[assignment]
        if not self.factory.hall.config.log_addresses:
            self.peer = UNLOGGED_PEER

    def onConnect(self, request: ConnectionRequest) -> str | None:
        """Select the subprotocol if offered (the origin was checked before the upgrade)."""
        return SUBPROTOCOL if SUBPROTOCOL in request.protocols else None

    def onOpen(self) -> None:
        """The upgrade is done: greet the client, or refuse it when the server is full."""
        transport: Any = self.transport
        peer = transport.getPeer()
        self.session = PacketSession(
            self.factory.hall, self, WEBSOCKET_CODEC, describe_peer(peer), peer_host(peer)
        )
        tune_socket(transport, self.factory.keepalive)
        # Twisted Web registered its channel as the transport's producer; the
        # connection is ours now.
        transport.unregisterProducer()
        transport.registerProducer(self, True)
        self._socket = direct_socket(transport)
        for name in _UNREAD_AFTER_OPEN:
            delattr(self, name)
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

    def onPing(self, payload: bytes) -> None:
        """Answer through the session's outbox: pongs count against C{--sendq-bytes}, so a
        ping flood from a client that reads nothing ends with it dropped as `slow`."""
        if self.session is not None and self.state == self.STATE_OPEN:
            self.session.send(pong_frame(payload))

    # -- bounds on one message ---------------------------------------------

    def onMessageBegin(self, isBinary: bool) -> None:
        """A message starts: count its frames and time it from here."""
        super().onMessageBegin(isBinary)
        self._message_frames = 0
        self._message_began = self.factory.clock.seconds()

    def onMessageFrameBegin(self, length: int) -> None:
        """One more frame of the message: past L{MAX_MESSAGE_FRAMES}, close with 1009."""
        super().onMessageFrameBegin(length)
        self._message_frames += 1
        if self._message_frames > MAX_MESSAGE_FRAMES and not self.failedByMe:
            self._refuse(
                self.CLOSE_STATUS_CODE_MESSAGE_TOO_BIG,
                f"a message may span at most {MAX_MESSAGE_FRAMES} frames",
            )

    def dataReceived(self, data: bytes) -> None:
        """Read on; a message left unfinished by this read gets its deadline watched."""
        # autobahn's own dataReceived only adds a debug line, whose arguments it
        # computes (hltype) on every read whether or not anything logs them.
        self._dataReceived(data)
        if self.current_frame is None:
            # autobahn makes an unmasker for each frame and keeps the last one
            # (about 200 bytes) until the next frame replaces it.
            self.current_frame_masker = None
        if self.inside_message and self._message_check is None:
            self._watch_message()

    def _watch_message(self) -> None:
        clock = self.factory.clock
        left = self._message_began + MESSAGE_SECONDS - clock.seconds()
        self._message_check = clock.callLater(max(left, 0.0), self._message_overdue)

    def _message_overdue(self) -> None:
        self._message_check = None
        if not self.inside_message or self.failedByMe or self.state != self.STATE_OPEN:
            return
        if self.factory.clock.seconds() - self._message_began < MESSAGE_SECONDS:
            self._watch_message()  # the overdue message was finished; this one began later
            return
        self._refuse(
            self.CLOSE_STATUS_CODE_POLICY_VIOLATION,
            f"a message must be complete within {MESSAGE_SECONDS:g} seconds",
        )

    def _refuse(self, code: int, reason: str) -> None:
        """Close with C{code} and read nothing more: what the peer sends after a breach
        is neither read nor parsed (autobahn drops the connection after its closing
        handshake timeout)."""
        self._fail_connection(code, reason)
        transport: Any = self.transport
        transport.pauseProducing()

    def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:
        """The connection is gone: a joined member leaves (`disconnected`)."""
        if self._message_check is not None:
            self._message_check.cancel()
            self._message_check = None
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


#: The class attributes of autobahn's and Twisted's protocols that its slots hide.
_SHADOWED_DEFAULTS = shadowed_defaults(ChatWebSocketProtocol)


class ChatWebSocketFactory(WebSocketServerFactory):
    """Builds a L{ChatWebSocketProtocol} per upgrade, all in one room.

    C{origins}: the allowed origins (L{parse_origins}; empty: same origin only),
    checked by the web site before the upgrade. C{ping_interval}: seconds
    between pings to an idle connection, and how long a pong may take (section
    9: 30). C{clock}: what the door's own time bounds run on (the room's reactor
    unless given).
    """

    protocol = ChatWebSocketProtocol  # type: ignore[assignment]

    def __init__(
        self,
        hall: Hall,
        origins: frozenset[str] = frozenset(),
        keepalive: Keepalive | None = None,
        ping_interval: float = 30.0,
        clock: IReactorTime | None = None,
    ) -> None:
        # No Server header: the handshake names no library version.
        super().__init__(server=None)  # type: ignore[no-untyped-call]
        self.hall = hall
        self.origins = origins
        self.keepalive = keepalive if keepalive is not None else Keepalive()
        self.clock = clock if clock is not None else hall.reactor
        self.setProtocolOptions(  # type: ignore[no-untyped-call]
            # GET /chat without an upgrade: no status page (it names autobahn's version).
            webStatus=False,
            # The site answers a refused origin with 403 before autobahn sees it; this
            # keeps autobahn from refusing an origin `null` that --ws-origins allows.
            allowNullOrigin=True,
            # A message over one frame's text is refused with close code 1009
            # (failByDrop off, or autobahn would drop without a close frame).
            maxMessagePayloadSize=MAX_PACKET_BYTES,
            maxFramePayloadSize=MAX_PACKET_BYTES,
            failByDrop=False,
            # The dialogue answers text that is not UTF-8 as on every door.
            utf8validateIncoming=False,
            autoPingInterval=ping_interval,
            autoPingTimeout=ping_interval,
            # autobahn is handed whole request heads only (the HTTP connection's
            # REQUEST_SECONDS bounds the wait for one) and answers each in the same
            # call: its opening-handshake timer would be set and cancelled for nothing.
            openHandshakeTimeout=0,
            # Compression would make frames differ per member: never negotiated.
            perMessageCompressionAccept=lambda offers: None,
        )
        self.protocol = _with_options_of(self)


def _with_options_of(factory: ChatWebSocketFactory) -> type[ChatWebSocketProtocol]:
    """L{ChatWebSocketProtocol} with C{factory}'s protocol options as class attributes.

    autobahn copies each of its ~40 options from the factory onto every new
    connection that lacks it, and pretty-prints the list for a debug log line
    even when nothing logs it: a quarter of a connection's memory and an eighth
    of a WebSocket join's time (docs/performance.md). On this class every
    option is there already and the list to copy is empty; the options are the
    same ones, set before any connection is made.
    """
    options: dict[str, Any] = {}
    for name in ChatWebSocketProtocol.CONFIG_ATTRS:
        value = getattr(factory, name)
        # A function as a class attribute would become a method: keep it plain.
        options[name] = staticmethod(value) if inspect.isfunction(value) else value
    return type(
        ChatWebSocketProtocol.__name__,
        (ChatWebSocketProtocol,),
        {**options, "CONFIG_ATTRS": (), "__module__": __name__},
    )
