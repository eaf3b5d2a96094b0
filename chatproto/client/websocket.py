"""The client over the WebSocket door (docs/protocol.md section 9): C{ws://} and C{wss://}.

Each WebSocket text message is one frame's text without the 2-byte length, so
the client's frames go out as their text and every received message is read
as a frame; everything else (the handshake, resume, pacing) is the same as on
the word-packet door.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urlsplit

from autobahn.twisted.websocket import WebSocketClientFactory, WebSocketClientProtocol
from autobahn.websocket.protocol import WebSocketProtocol
from twisted.internet.endpoints import HostnameEndpoint, wrapClientTLS
from twisted.internet.interfaces import IReactorTime, IStreamClientEndpoint
from twisted.internet.protocol import connectionDone
from twisted.internet.ssl import optionsForClientTLS
from twisted.python.failure import Failure

from chatproto.client.incoming import Unreadable
from chatproto.client.protocol import ConnectionHandler, deliver

#: The subprotocol the client offers (docs/protocol.md section 9).
SUBPROTOCOL: Final = "chatproto.v1"
#: The longest message accepted from the server: one frame's text.
MAX_MESSAGE_BYTES: Final = 65535
#: The length prefix of a word-packet frame, which a WebSocket message does not carry.
_PREFIX: Final = 2


class _ChatWebSocketFactory(WebSocketClientFactory):
    """Builds L{ChatWebSocketLink}s that all report to one handler."""

    def __init__(self, url: str, handler: ConnectionHandler) -> None:
        super().__init__(url, protocols=[SUBPROTOCOL])  # type: ignore[no-untyped-call]
        # A frame's text is at most 65535 bytes (docs/protocol.md section 1.2): a server
        # cannot make the client buffer a bigger message.
        self.setProtocolOptions(  # type: ignore[no-untyped-call]
            maxFramePayloadSize=MAX_MESSAGE_BYTES, maxMessagePayloadSize=MAX_MESSAGE_BYTES
        )
        self.handler = handler
        self.protocol = ChatWebSocketLink


class ChatWebSocketLink(WebSocketClientProtocol):
    """One chat connection over WebSocket: a L{chatproto.client.protocol.Link}."""

    factory: _ChatWebSocketFactory
    #: A WebSocket server that is not a chat server fails the upgrade: nothing to keep.
    first_bytes = b""

    def __init__(self) -> None:
        super().__init__()
        self._closing = False

    def connectionMade(self) -> None:
        """Tell the handler at once, so its greeting timeout covers the upgrade too."""
        super().connectionMade()
        self.factory.handler.link_made(self)

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        """One message is one frame; a binary one is unreadable."""
        if self._closing:
            return
        if isBinary:
            self.factory.handler.packet_received(Unreadable(repr(payload)))
        else:
            deliver(self.factory.handler, payload)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        """Tell the handler."""
        super().connectionLost(reason)
        self.factory.handler.link_lost(self, reason)

    def send(self, frame: bytes) -> None:
        """Send a word-packet frame's text as one text message."""
        if not self._closing:
            self.sendMessage(frame[_PREFIX:])  # type: ignore[no-untyped-call]

    def close(self) -> None:
        """Close the WebSocket (the TCP connection, if the upgrade is not done yet)."""
        self._closing = True
        if self.state == WebSocketProtocol.STATE_OPEN:
            self.sendClose(code=1000)
        elif self.transport is not None:
            self.transport.loseConnection()


def is_websocket_url(text: str) -> bool:
    """Whether C{text} names the WebSocket door rather than an endpoint."""
    return text.startswith(("ws://", "wss://"))


def websocket_connection(
    reactor: IReactorTime, url: str, handler: ConnectionHandler, timeout: float
) -> tuple[IStreamClientEndpoint, Any]:
    """The endpoint and protocol factory that reach the chat WebSocket at C{url}
    (C{wss://} checks the server's certificate against the system's CAs).

    @raise ValueError: if C{url} has no host.
    """
    parts = urlsplit(url)
    secure = parts.scheme == "wss"
    if not parts.hostname:
        raise ValueError(f"{url!r} names no host")
    port = parts.port or (443 if secure else 80)
    endpoint: IStreamClientEndpoint = HostnameEndpoint(
        reactor, parts.hostname, port, timeout=timeout
    )
    if secure:
        endpoint = wrapClientTLS(optionsForClientTLS(parts.hostname), endpoint)
    return endpoint, _ChatWebSocketFactory(url, handler)
