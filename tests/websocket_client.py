"""A raw WebSocket client for tests over real loopback sockets, written from
docs/protocol.md section 9 (autobahn's Twisted client under it)."""

from __future__ import annotations

from typing import Any

from autobahn.twisted.websocket import WebSocketClientFactory, WebSocketClientProtocol, connectWS
from twisted.internet import reactor
from twisted.internet.defer import Deferred

from tests.loopback import DEADLINE, Conversation

SUBPROTOCOL = "chatproto.v1"
#: An upgrade request to /chat as a program sends it (no Origin), by hand.
UPGRADE_REQUEST = (
    b"GET /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
    b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\n\r\n"
)
#: Frame opcodes (RFC 6455 section 5.2).
CONTINUATION, TEXT, CLOSE, PING, PONG = 0, 1, 8, 9, 10
#: The masking key of every frame built here (any key will do).
_MASK = b"\x37\xfa\x21\x3d"


def client_frame(opcode: int, payload: bytes = b"", fin: bool = True) -> bytes:
    """One masked client frame, built by hand (payloads under 126 bytes)."""
    assert len(payload) < 126
    masked = bytes(byte ^ _MASK[n % 4] for n, byte in enumerate(payload))
    return bytes(((0x80 if fin else 0) | opcode, 0x80 | len(payload))) + _MASK + masked


def server_frame(opcode: int, payload: bytes = b"") -> bytes:
    """An unfragmented, unmasked server frame as the server sends it (payloads under 126)."""
    return bytes((0x80 | opcode, len(payload))) + payload


class WebSocketClient(Conversation, WebSocketClientProtocol):  # type: ignore[misc]
    """Queues every text message as a frame; binary ones as C{("binary", payload)}."""

    def __init__(self) -> None:
        Conversation.__init__(self)
        WebSocketClientProtocol.__init__(self)
        self.opened: Deferred[WebSocketClient] = Deferred()
        #: The close code the server sent, once closed.
        self.close_code: int | None = None
        self.close_reason: str | None = None

    def onOpen(self) -> None:
        self.opened.callback(self)

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        if isBinary:
            self.frames.put(("binary", payload))
        else:
            self.received_text(payload)

    def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:
        self.close_code = code
        self.close_reason = reason or getattr(self, "wasNotCleanReason", None)
        if not self.opened.called:
            self.opened.errback(ConnectionError(self.close_reason))
        if not self.lost.called:
            self.lost.callback(None)

    def send(self, text: str) -> None:
        """Send one text message."""
        self.sendMessage(text.encode("utf-8"))

    def send_bytes(self, payload: bytes, binary: bool = False) -> None:
        """Send raw bytes as a text (or binary) message."""
        self.sendMessage(payload, isBinary=binary)


class _ClientFactory(WebSocketClientFactory):  # type: ignore[misc]
    protocol = WebSocketClient

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.built: Deferred[WebSocketClient] = Deferred()

    def buildProtocol(self, addr: Any) -> WebSocketClient:
        client: WebSocketClient = super().buildProtocol(addr)
        self.built.callback(client)
        return client


async def connect_ws(
    port: int,
    origin: str | None = None,
    protocols: list[str] | None = None,
    tls: Any = None,
    **options: Any,
) -> WebSocketClient:
    """Open a chat WebSocket to 127.0.0.1:C{port}/chat (raises when refused); with C{tls}
    (client TLS options for the name localhost), C{wss://localhost:port/chat}."""
    url = f"wss://localhost:{port}/chat" if tls is not None else f"ws://127.0.0.1:{port}/chat"
    factory = _ClientFactory(
        url,
        origin=origin,
        protocols=[SUBPROTOCOL] if protocols is None else protocols,
    )
    factory.setProtocolOptions(**options)
    connectWS(factory, contextFactory=tls)
    factory.built.addTimeout(DEADLINE, reactor)
    client = await factory.built
    client.opened.addTimeout(DEADLINE, reactor)
    return await client.opened
