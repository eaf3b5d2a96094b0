"""One connection to a chat server: frames in and out; the client decides what they mean."""

from __future__ import annotations

from typing import Any, Final, Protocol

from twisted.internet.interfaces import ITransport
from twisted.internet.protocol import connectionDone
from twisted.protocols.basic import Int16StringReceiver
from twisted.python.failure import Failure

from chatproto.client.incoming import Incoming, Unreadable, classify
from chatproto.core.words import CONTROL_WORDS
from chatproto.doors.packets.parsing import NotAPacket, parse_packet

#: How many of the first bytes received are kept, to say what a server that is not a
#: chat server sent instead of HELLO.
FIRST_BYTES_KEPT: Final = 32


class Link(Protocol):
    """One connection as the client uses it, whatever carries the frames."""

    #: The first bytes the server sent (at most L{FIRST_BYTES_KEPT}).
    first_bytes: bytes

    def send(self, frame: bytes) -> None:
        """Write one ready-made word packet frame (2-byte length, then the text)."""

    def close(self) -> None:
        """Close the connection once what was written is sent; ignore frames after this."""


class ConnectionHandler(Protocol):
    """What a connection reports to (the L{chatproto.client.api.ChatClient})."""

    def link_made(self, link: Link) -> None:
        """A connection was made; C{link} sends on it."""

    def control_word(self, word: str) -> None:
        """The server sent a control word (C{HELLO}, C{NICK}, C{READY}, ...)."""

    def packet_received(self, item: Incoming) -> None:
        """The server sent a packet (or something unreadable)."""

    def link_lost(self, link: Link, reason: Failure) -> None:
        """The connection C{link} is gone."""


def deliver(handler: ConnectionHandler, text: bytes) -> None:
    """Hand one frame's text to C{handler} as a control word, a packet or something
    unreadable (docs/protocol.md section 1.3)."""
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError:
        handler.packet_received(Unreadable(repr(text)))
        return
    if decoded in CONTROL_WORDS:
        handler.control_word(decoded)
        return
    try:
        packet: dict[str, Any] = parse_packet(decoded)
    except NotAPacket:
        handler.packet_received(Unreadable(decoded))
        return
    handler.packet_received(classify(packet))


class ChatClientProtocol(Int16StringReceiver):
    """Decodes the server's frames for a L{ConnectionHandler} and writes ours."""

    transport: ITransport

    def __init__(self, handler: ConnectionHandler) -> None:
        self._handler = handler
        self._closing = False
        #: The first bytes the server sent (at most L{FIRST_BYTES_KEPT}).
        self.first_bytes = b""

    def connectionMade(self) -> None:
        """Tell the handler."""
        self._handler.link_made(self)

    def dataReceived(self, data: bytes) -> None:
        """Keep the first few bytes (see L{first_bytes}), then frame as usual."""
        if len(self.first_bytes) < FIRST_BYTES_KEPT:
            self.first_bytes += data[: FIRST_BYTES_KEPT - len(self.first_bytes)]
        super().dataReceived(data)  # type: ignore[no-untyped-call]

    def stringReceived(self, string: bytes) -> None:
        """Hand one frame to the handler."""
        if not self._closing:
            deliver(self._handler, string)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        """Tell the handler."""
        self._handler.link_lost(self, reason)

    def send(self, frame: bytes) -> None:
        """Write one ready-made frame."""
        if not self._closing:
            self.transport.write(frame)

    def close(self) -> None:
        """Close the connection once what was written is sent; ignore frames after this."""
        self._closing = True
        self.transport.loseConnection()
