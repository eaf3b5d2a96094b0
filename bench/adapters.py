"""Protocol adapters of the load generator: the chat word-packet protocol, IRC, WebSocket.

An adapter knows how to join one client (the handshake, parsed properly) and
how to encode a room message and a goodbye. Once a client has joined, the
load generator no longer parses what it receives: it only counts marker
tokens in the raw byte stream, so no adapter is on the hot path.

Over WebSocket there are two dialects: ``ws`` is the chat protocol with each
frame's text in a text message (the chat server's WebSocket door), and
``ws-broadcast`` just sends text that every client receives (the Node peer).
"""

from __future__ import annotations

import re
import struct
from abc import ABC, abstractmethod
from typing import ClassVar, Final, Self

from bench.websocket import (
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    FrameReader,
    WebSocketError,
    client_frame,
    close_frame,
    new_key,
    parse_upgrade_answer,
    server_frame,
    upgrade_request,
)

_PREFIX: Final = struct.Struct(">H")


class HandshakeError(Exception):
    """The server refused a client or spoke something the adapter cannot follow."""


class FrameParser:
    """Splits a chat byte stream into frames (uint16 big-endian length + payload).

    Feed it bytes in pieces of any size; it returns each complete frame's
    payload once and keeps the incomplete tail for the next call.
    """

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """Add C{data} and return the payloads of the frames it completed, in order."""
        buf = self._buf
        buf += data
        frames: list[bytes] = []
        pos = 0
        size = len(buf)
        while size - pos >= 2:
            (length,) = _PREFIX.unpack_from(buf, pos)
            end = pos + 2 + length
            if end > size:
                break
            frames.append(bytes(buf[pos + 2 : end]))
            pos = end
        if pos:
            del buf[:pos]
        return frames

    def take_rest(self) -> bytes:
        """Return and forget the bytes after the last complete frame."""
        rest = bytes(self._buf)
        self._buf.clear()
        return rest


def frame(payload: bytes) -> bytes:
    """Return C{payload} as one chat frame."""
    return _PREFIX.pack(len(payload)) + payload


class LineParser:
    """Splits an IRC byte stream into lines (CR LF or bare LF terminated)."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, data: bytes) -> list[bytes]:
        """Add C{data} and return the complete lines it finished, without line ends."""
        buf = self._buf + data
        cut = buf.rfind(b"\n") + 1
        self._buf = buf[cut:]
        if not cut:
            return []
        return [line.rstrip(b"\r") for line in buf[: cut - 1].split(b"\n")]

    def take_rest(self) -> bytes:
        """Return and forget the bytes after the last complete line."""
        rest, self._buf = self._buf, b""
        return rest


class Handshake(ABC):
    """One client's way from connected to joined."""

    @abstractmethod
    def greeting(self) -> bytes:
        """Bytes to send as soon as the TCP connection is up (may be empty)."""

    @abstractmethod
    def feed(self, data: bytes) -> tuple[bytes, bytes | None]:
        """Take received bytes; return (bytes to send, leftover once joined or None).

        The leftover is everything received after the frame or line that
        completed the join: it belongs to the live stream and must be counted.

        @raise HandshakeError: when the server refuses the client.
        """


class Adapter(ABC):
    """What the load generator needs to know about one wire protocol."""

    #: Short name used in reports.
    name: ClassVar[str]
    #: Whether a sender receives its own room messages (its receipt).
    echoes_sender: ClassVar[bool]
    #: Whether joined clients must answer the server's WebSocket pings.
    websocket: ClassVar[bool] = False

    @classmethod
    def for_server(cls, host: str, port: int) -> Self:
        """The adapter for clients of the server at C{host}:C{port}."""
        return cls()

    @abstractmethod
    def handshake(self, nickname: str) -> Handshake:
        """Return the handshake state machine of a client that wants C{nickname}."""

    @abstractmethod
    def message(self, text: str) -> bytes:
        """Return the wire bytes that post C{text} to the room."""

    @abstractmethod
    def goodbye(self) -> bytes:
        """Return the wire bytes of a polite leave."""


_WELCOME: Final = re.compile(rb'"event"\s*:\s*"welcome"')
#: What marks a welcome notice in a raw stream, wherever JSON put the spaces.
WELCOME_TOKEN: Final = b'"welcome"'
_ERROR_CODE: Final = re.compile(rb'"code"\s*:\s*"([^"]*)"')


class ChatDialog:
    """The chat handshake on frame texts: HELLO, NICK, nickname, READY (or RETRY), welcome.

    The same on every door: the TCP door carries each text in a word packet,
    the WebSocket door in a text message.
    """

    def __init__(self, nickname: str) -> None:
        self._nickname = nickname
        self._tries = 0
        self._ready = False

    def take(self, payload: bytes) -> tuple[bytes | None, bool]:
        """Take one received frame text; return (a text to send or None, whether joined).

        Joined means the welcome notice arrived: what follows is live traffic.

        @raise HandshakeError: when the server refuses the client.
        """
        if not self._ready:
            if payload == b"NICK":
                return self._nick(), False
            if payload == b"READY":
                self._ready = True
            elif payload == b"RETRY":
                self._tries += 1
                if self._tries > 5:
                    raise HandshakeError("nickname refused 5 times")
                return self._nick(), False
            elif payload.startswith(b"{"):
                code = _ERROR_CODE.search(payload)
                raise HandshakeError(code.group(1).decode() if code else payload.decode())
            return None, False
        return None, payload.startswith(b"{") and _WELCOME.search(payload) is not None

    def _nick(self) -> bytes:
        nick = self._nickname if not self._tries else f"{self._nickname}_{self._tries}"
        return nick.encode()


class ChatHandshake(Handshake):
    """The chat dialog in word packets."""

    def __init__(self, nickname: str) -> None:
        self._dialog = ChatDialog(nickname)
        self._parser = FrameParser()

    def greeting(self) -> bytes:
        """The server speaks first: nothing to send."""
        return b""

    def feed(self, data: bytes) -> tuple[bytes, bytes | None]:
        """Answer NICK with the nickname, RETRY with another, stop after the welcome."""
        out = b""
        payloads = self._parser.feed(data)
        for index, payload in enumerate(payloads):
            reply, joined = self._dialog.take(payload)
            if reply is not None:
                out += frame(reply)
            if joined:
                # Whatever follows the welcome is live traffic, as received.
                after = b"".join(frame(p) for p in payloads[index + 1 :])
                return out, after + self._parser.take_rest()
        return out, None


def chat_packet(text: str) -> bytes:
    """The chat packet that posts C{text}; C{text} needs no JSON escaping (checked)."""
    if '"' in text or "\\" in text or any(ord(ch) < 0x20 for ch in text):
        raise ValueError("bench messages must need no JSON escaping")
    return b'{"message":"' + text.encode() + b'"}'


def room_name(room: str) -> bytes:
    """C{room} as JSON string contents; the bench's room names need no escaping (checked)."""
    if not room.startswith("#") or not room[1:].isalnum() or not room.isascii():
        raise ValueError("bench room names are '#' and ASCII letters or digits")
    return room.encode()


class ChatAdapter(Adapter):
    """The chat word-packet protocol of docs/protocol.md."""

    name = "chat"
    echoes_sender = True

    def handshake(self, nickname: str) -> Handshake:
        """Return a fresh chat handshake."""
        return ChatHandshake(nickname)

    def message(self, text: str) -> bytes:
        """A chat packet, as one frame."""
        return frame(chat_packet(text))

    def room_message(self, text: str, room: str) -> bytes:
        """A chat packet in C{room} (docs/protocol.md section 12.4), as one frame."""
        return frame(chat_packet(text)[:-1] + b',"room":"' + room_name(room) + b'"}')

    def join_room(self, room: str) -> bytes:
        """The command that joins C{room} (docs/protocol.md section 12.3), as one frame."""
        return frame(b'{"command":"join","room":"' + room_name(room) + b'"}')

    def goodbye(self) -> bytes:
        """The BYE control word."""
        return frame(b"BYE")


class IrcHandshake(Handshake):
    """NICK/USER, wait for 001, JOIN, wait for the end of NAMES (366)."""

    def __init__(self, nickname: str, channel: str) -> None:
        self._nickname = nickname
        self._channel = channel
        self._tries = 0
        self._parser = LineParser()

    def greeting(self) -> bytes:
        """Register at once: NICK and USER."""
        return f"NICK {self._nickname}\r\nUSER {self._nickname} 0 * :bench\r\n".encode()

    def feed(self, data: bytes) -> tuple[bytes, bytes | None]:
        """Answer PING, JOIN on 001, retry a taken nickname, stop on 366."""
        out = b""
        lines = self._parser.feed(data)
        for index, line in enumerate(lines):
            parts = line.split(b" ", 3)
            command = parts[1] if line.startswith(b":") and len(parts) > 1 else parts[0]
            if command == b"PING":
                out += b"PONG" + line[4:] + b"\r\n"
            elif command == b"001":
                out += f"JOIN {self._channel}\r\n".encode()
            elif command in (b"433", b"432"):
                self._tries += 1
                if self._tries > 5:
                    raise HandshakeError("nickname refused 5 times")
                out += f"NICK {self._nickname}_{self._tries}\r\n".encode()
            elif command == b"366":
                # Whatever follows the end of NAMES is live traffic.
                after = b"".join(rest + b"\r\n" for rest in lines[index + 1 :])
                return out, after + self._parser.take_rest()
            elif command in (b"ERROR", b"465", b"471", b"473", b"474", b"475"):
                raise HandshakeError(line.decode(errors="replace"))
        return out, None


class IrcAdapter(Adapter):
    """IRC (RFC 1459/2812): one channel, PRIVMSG to it."""

    name = "irc"
    echoes_sender = False

    def __init__(self, channel: str = "#bench") -> None:
        self.channel = channel

    def handshake(self, nickname: str) -> Handshake:
        """Return a fresh IRC registration and join."""
        return IrcHandshake(nickname, self.channel)

    def message(self, text: str) -> bytes:
        """A PRIVMSG to the channel."""
        if "\r" in text or "\n" in text or "\0" in text:
            raise ValueError("IRC messages cannot carry CR, LF or NUL")
        return f"PRIVMSG {self.channel} :{text}\r\n".encode()

    def goodbye(self) -> bytes:
        """QUIT."""
        return b"QUIT :bench done\r\n"


class WebSocketHandshake(Handshake):
    """The upgrade to a WebSocket, then the chat dialog in text messages if there is one."""

    def __init__(
        self, authority: str, path: str, protocol: str | None, dialog: ChatDialog | None
    ) -> None:
        self._key = new_key()
        self._request = upgrade_request(authority, path, self._key, protocol)
        self._protocol = protocol
        self._dialog = dialog
        self._head = b""
        self._reader: FrameReader | None = None

    def greeting(self) -> bytes:
        """The client speaks first: the upgrade request."""
        return self._request

    def feed(self, data: bytes) -> tuple[bytes, bytes | None]:
        """Check the upgrade, answer pings, follow the dialog; hand over after the welcome."""
        try:
            if self._reader is None:
                self._head += data
                answer = parse_upgrade_answer(self._head, self._key)
                if answer is None:
                    return b"", None
                if answer.protocol != self._protocol:
                    raise HandshakeError(f"server chose subprotocol {answer.protocol!r}")
                self._head = b""
                self._reader = FrameReader()
                if self._dialog is None:
                    return b"", answer.rest
                data = answer.rest
            return self._follow_dialog(self._reader, data)
        except WebSocketError as e:
            raise HandshakeError(str(e)) from e

    def _follow_dialog(self, reader: FrameReader, data: bytes) -> tuple[bytes, bytes | None]:
        assert self._dialog is not None
        out = b""
        live: list[bytes] | None = None
        for message in reader.feed(data):
            if message.opcode == OP_PING:
                out += client_frame(message.payload, OP_PONG)
            elif message.opcode == OP_CLOSE:
                code = int.from_bytes(message.payload[:2], "big") if message.payload else None
                raise HandshakeError(f"server closed the WebSocket (code {code})")
            elif live is not None:
                # After the welcome: live traffic, framed again for the counter.
                live.append(server_frame(message.payload, message.opcode))
            elif message.opcode == OP_TEXT:
                reply, joined = self._dialog.take(message.payload)
                if reply is not None:
                    out += client_frame(reply)
                if joined:
                    live = []
        if live is None:
            return out, None
        return out, b"".join(live) + reader.take_rest()


class WebSocketAdapter(Adapter):
    """Clients on a WebSocket at ws://AUTHORITY/PATH (RFC 6455, no extensions)."""

    echoes_sender = True
    websocket = True

    def __init__(self, authority: str = "localhost", path: str = "/chat") -> None:
        self.authority = authority
        self.path = path

    @classmethod
    def for_server(cls, host: str, port: int) -> Self:
        """The adapter for ws://C{host}:C{port}/chat."""
        return cls(f"{host}:{port}")


class WebSocketChatAdapter(WebSocketAdapter):
    """The chat protocol on the WebSocket door (docs/protocol.md section 9)."""

    name = "ws"
    #: The subprotocol the door selects.
    protocol: ClassVar[str] = "chatproto.v1"

    def handshake(self, nickname: str) -> Handshake:
        """The upgrade offering chatproto.v1, then HELLO, NICK, nickname, READY, welcome."""
        return WebSocketHandshake(self.authority, self.path, self.protocol, ChatDialog(nickname))

    def message(self, text: str) -> bytes:
        """A chat packet in one masked text message."""
        return client_frame(chat_packet(text))

    def goodbye(self) -> bytes:
        """BYE in a text message."""
        return client_frame(b"BYE")


class WebSocketBroadcastAdapter(WebSocketAdapter):
    """A plain broadcast server: every text message goes to every client (the Node peer)."""

    name = "ws-broadcast"

    def handshake(self, nickname: str) -> Handshake:
        """The upgrade alone, no subprotocol: joined once the server accepts it."""
        return WebSocketHandshake(self.authority, self.path, None, None)

    def message(self, text: str) -> bytes:
        """C{text} in one masked text message."""
        return client_frame(text.encode())

    def goodbye(self) -> bytes:
        """A close frame with code 1000."""
        return close_frame()


ADAPTERS: Final[dict[str, type[Adapter]]] = {
    adapter.name: adapter
    for adapter in (ChatAdapter, IrcAdapter, WebSocketChatAdapter, WebSocketBroadcastAdapter)
}
