"""Protocol adapters of the load generator: the chat word-packet protocol and IRC.

An adapter knows how to join one client (the handshake, parsed properly) and
how to encode a room message and a goodbye. Once a client has joined, the
load generator no longer parses what it receives: it only counts marker
tokens in the raw byte stream, so neither adapter is on the hot path.
"""

from __future__ import annotations

import re
import struct
from abc import ABC, abstractmethod
from typing import ClassVar, Final

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
_ERROR_CODE: Final = re.compile(rb'"code"\s*:\s*"([^"]*)"')


class ChatHandshake(Handshake):
    """HELLO, NICK, nickname, READY (or RETRY), replay, welcome notice."""

    def __init__(self, nickname: str) -> None:
        self._nickname = nickname
        self._tries = 0
        self._ready = False
        self._parser = FrameParser()

    def greeting(self) -> bytes:
        """The server speaks first: nothing to send."""
        return b""

    def _nick_frame(self) -> bytes:
        nick = self._nickname if not self._tries else f"{self._nickname}_{self._tries}"
        return frame(nick.encode())

    def feed(self, data: bytes) -> tuple[bytes, bytes | None]:
        """Answer NICK with the nickname, RETRY with another, stop after the welcome."""
        out = b""
        payloads = self._parser.feed(data)
        for index, payload in enumerate(payloads):
            if not self._ready:
                if payload == b"NICK":
                    out += self._nick_frame()
                elif payload == b"READY":
                    self._ready = True
                elif payload == b"RETRY":
                    self._tries += 1
                    if self._tries > 5:
                        raise HandshakeError("nickname refused 5 times")
                    out += self._nick_frame()
                elif payload.startswith(b"{"):
                    code = _ERROR_CODE.search(payload)
                    raise HandshakeError(code.group(1).decode() if code else payload.decode())
            elif payload.startswith(b"{") and _WELCOME.search(payload):
                # Whatever follows the welcome is live traffic, as received.
                after = b"".join(frame(p) for p in payloads[index + 1 :])
                return out, after + self._parser.take_rest()
        return out, None


class ChatAdapter(Adapter):
    """The chat word-packet protocol of docs/protocol.md."""

    name = "chat"
    echoes_sender = True

    def handshake(self, nickname: str) -> Handshake:
        """Return a fresh chat handshake."""
        return ChatHandshake(nickname)

    def message(self, text: str) -> bytes:
        """A chat packet, as one frame; C{text} needs no JSON escaping (checked)."""
        if '"' in text or "\\" in text or any(ord(ch) < 0x20 for ch in text):
            raise ValueError("bench messages must need no JSON escaping")
        return frame(b'{"message":"' + text.encode() + b'"}')

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


ADAPTERS: Final[dict[str, type[Adapter]]] = {"chat": ChatAdapter, "irc": IrcAdapter}
