"""The load generator's WebSocket client side (RFC 6455): no more than a bench client needs.

The upgrade request and the check of its answer, a masked-frame encoder for
what a client sends, a frame reader for the handshake, and a ping spotter for
joined clients, whose byte streams are otherwise never parsed.

Joined clients only count marker tokens in the raw bytes (what a server sends
is unmasked, so a message's text is in the stream as sent), but a server that
pings (autobahn's auto-ping, every 30 s on the chat server's door) drops a
client that does not answer. The spotter finds pings without walking the
frames: every text the bench exchanges is ASCII, so a 0x89 byte (FIN + ping)
in the stream is either a ping's first byte or a byte of a 16-bit length of a
text frame header (``0x81 0x7E hi lo``), which the three bytes before it tell
apart. ``bytearray.find`` of one byte runs at memory speed.
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct
from dataclasses import dataclass
from typing import Final

#: Opcodes (RFC 6455 section 5.2).
OP_CONTINUATION: Final = 0x0
OP_TEXT: Final = 0x1
OP_BINARY: Final = 0x2
OP_CLOSE: Final = 0x8
OP_PING: Final = 0x9
OP_PONG: Final = 0xA
FIN: Final = 0x80
MASKED: Final = 0x80
#: The first byte of an unfragmented text frame and of a ping, as a server sends them.
TEXT_HEAD: Final = FIN | OP_TEXT
PING_HEAD: Final = FIN | OP_PING
#: The length byte that announces a 16-bit length.
LENGTH_16: Final = 126
LENGTH_64: Final = 127
#: Control frames carry at most 125 bytes (RFC 6455 section 5.5).
MAX_CONTROL_PAYLOAD: Final = 125
#: Bytes of stream before a candidate ping byte that the spotter looks at.
LOOKBACK: Final = 3
#: The largest message the handshake reader keeps (the chat door's cap), and HTTP head.
MAX_MESSAGE: Final = 65535
MAX_HTTP_HEAD: Final = 16384
ACCEPT_GUID: Final = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
CLOSE_NORMAL: Final = 1000

_U16: Final = struct.Struct(">H")
_U64: Final = struct.Struct(">Q")


class WebSocketError(Exception):
    """The peer broke RFC 6455, refused the upgrade, or sent more than the bench accepts."""


def mask(payload: bytes, key: bytes) -> bytes:
    """C{payload} XOR the 4-byte C{key} repeated (masking and unmasking are the same)."""
    n = len(payload)
    if not n:
        return b""
    keystream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(keystream, "little")).to_bytes(
        n, "little"
    )


def _header(opcode: int, length: int, mask_bit: int) -> bytes:
    if length < LENGTH_16:
        return bytes((FIN | opcode, mask_bit | length))
    if length <= 0xFFFF:
        return bytes((FIN | opcode, mask_bit | LENGTH_16)) + _U16.pack(length)
    return bytes((FIN | opcode, mask_bit | LENGTH_64)) + _U64.pack(length)


def client_frame(payload: bytes, opcode: int = OP_TEXT, key: bytes | None = None) -> bytes:
    """One unfragmented frame as a client must send it: masked, with a fresh random key."""
    key = os.urandom(4) if key is None else key
    if len(key) != 4:
        raise ValueError("a masking key is 4 bytes")
    return _header(opcode, len(payload), MASKED) + key + mask(payload, key)


def masked_payload(frame: bytes) -> tuple[int, bytes]:
    """Where a client frame's masked payload begins, and its masking key."""
    if len(frame) < 2 or not frame[1] & MASKED:
        raise WebSocketError("not a masked frame")
    length = frame[1] & 0x7F
    start = 2 + {LENGTH_16: 2, LENGTH_64: 8}.get(length, 0)
    return start + 4, frame[start : start + 4]


def server_frame(payload: bytes, opcode: int = OP_TEXT) -> bytes:
    """One unfragmented, unmasked frame as a server sends it."""
    return _header(opcode, len(payload), 0) + payload


def close_frame(code: int = CLOSE_NORMAL) -> bytes:
    """A client's close frame with C{code}."""
    return client_frame(_U16.pack(code), OP_CLOSE)


def new_key() -> str:
    """A fresh Sec-WebSocket-Key: 16 random bytes, base64."""
    return base64.b64encode(os.urandom(16)).decode()


def accept_for(key: str) -> str:
    """The Sec-WebSocket-Accept a server must answer C{key} with."""
    return base64.b64encode(hashlib.sha1(key.encode() + ACCEPT_GUID).digest()).decode()


def upgrade_request(authority: str, path: str, key: str, protocol: str | None) -> bytes:
    """The HTTP/1.1 upgrade request, without an Origin (a non-browser client)."""
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {authority}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
    ]
    if protocol:
        lines.append(f"Sec-WebSocket-Protocol: {protocol}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@dataclass(frozen=True)
class UpgradeAnswer:
    """A server's accepted upgrade: the subprotocol it chose, and what followed the head."""

    protocol: str | None
    rest: bytes


def parse_upgrade_answer(head_and_rest: bytes, key: str) -> UpgradeAnswer | None:
    """Check the server's answer to an upgrade with C{key}; None while the head is incomplete.

    @raise WebSocketError: a status other than 101, or headers that do not upgrade.
    """
    cut = head_and_rest.find(b"\r\n\r\n")
    if cut < 0:
        if len(head_and_rest) > MAX_HTTP_HEAD:
            raise WebSocketError("HTTP answer head too long")
        return None
    status, *header_lines = head_and_rest[:cut].decode("latin-1").split("\r\n")
    parts = status.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise WebSocketError(f"not an HTTP answer: {status!r}")
    if parts[1] != "101":
        raise WebSocketError(f"upgrade refused: {status}")
    headers: dict[str, str] = {}
    for line in header_lines:
        name, sep, value = line.partition(":")
        if not sep:
            raise WebSocketError(f"bad header line: {line!r}")
        headers[name.strip().lower()] = value.strip()
    if headers.get("upgrade", "").lower() != "websocket":
        raise WebSocketError("answer does not upgrade to websocket")
    if headers.get("sec-websocket-accept") != accept_for(key):
        raise WebSocketError("wrong Sec-WebSocket-Accept")
    return UpgradeAnswer(headers.get("sec-websocket-protocol"), head_and_rest[cut + 4 :])


@dataclass(frozen=True)
class Message:
    """One whole message (fragments joined) or control frame received."""

    opcode: int
    payload: bytes


class FrameReader:
    """Splits a WebSocket byte stream into messages, for handshakes (not the hot path).

    Fragmented messages are joined; control frames come out as they arrive.
    A server's frames must be unmasked and a client's masked (C{from_client}).
    """

    __slots__ = ("_buf", "_fragments", "_from_client", "_opcode")

    def __init__(self, from_client: bool = False) -> None:
        self._buf = bytearray()
        self._from_client = from_client
        self._fragments: list[bytes] = []
        self._opcode = OP_CONTINUATION

    def feed(self, data: bytes) -> list[Message]:
        """Add C{data}; return the messages and control frames it completed, in order."""
        self._buf += data
        messages: list[Message] = []
        while (frame := self._next_frame()) is not None:
            fin, opcode, payload = frame
            if opcode >= OP_CLOSE:
                messages.append(Message(opcode, payload))
                continue
            if opcode != OP_CONTINUATION:
                if self._fragments:
                    raise WebSocketError("new message inside a fragmented one")
                self._opcode = opcode
            elif not self._fragments:
                raise WebSocketError("continuation without a message")
            self._fragments.append(payload)
            if sum(len(f) for f in self._fragments) > MAX_MESSAGE:
                raise WebSocketError("message longer than the bench accepts")
            if fin:
                messages.append(Message(self._opcode, b"".join(self._fragments)))
                self._fragments = []
        return messages

    def _next_frame(self) -> tuple[bool, int, bytes] | None:
        buf = self._buf
        if len(buf) < 2:
            return None
        first, second = buf[0], buf[1]
        if first & 0x70:
            raise WebSocketError("reserved bits set (no extension was agreed)")
        if bool(second & MASKED) != self._from_client:
            raise WebSocketError("frame masked the wrong way for its direction")
        length = second & 0x7F
        pos = 2
        if length == LENGTH_16:
            if len(buf) < 4:
                return None
            (length,) = _U16.unpack_from(buf, 2)
            pos = 4
        elif length == LENGTH_64:
            if len(buf) < 10:
                return None
            (length,) = _U64.unpack_from(buf, 2)
            pos = 10
        if length > MAX_MESSAGE:
            raise WebSocketError("frame longer than the bench accepts")
        key = b""
        if self._from_client:
            key = bytes(buf[pos : pos + 4])
            pos += 4
        end = pos + length
        if len(buf) < end:
            return None
        payload = bytes(buf[pos:end])
        del buf[:end]
        return bool(first & FIN), first & 0x0F, mask(payload, key) if key else payload

    def take_rest(self) -> bytes:
        """Return and forget the bytes after the last complete frame."""
        if self._fragments:
            raise WebSocketError("stream handed over inside a fragmented message")
        rest = bytes(self._buf)
        self._buf.clear()
        return rest


def _is_length_byte(buf: bytes | bytearray, pos: int) -> bool:
    """Whether C{buf[pos]} is a byte of a text frame's 16-bit length (``0x81 0x7E hi lo``)."""
    if pos >= 2 and buf[pos - 1] == LENGTH_16 and buf[pos - 2] == TEXT_HEAD:
        return True
    return pos >= 3 and buf[pos - 2] == LENGTH_16 and buf[pos - 3] == TEXT_HEAD


def spot_pings(
    buf: bytes | bytearray, start: int, end: int, partial: bytes
) -> tuple[list[bytes], bytes]:
    """Find the server's pings in C{buf[start:end]}, new bytes of a stream; pong each.

    C{buf[start - LOOKBACK:start]} must be the stream's bytes just before (or
    C{start} is where the stream began). C{partial} is a ping whose frame the
    previous bytes began but did not finish (empty if none). Returns the pong
    frames to send, and the unfinished ping at C{end} (empty if none).
    """
    pongs: list[bytes] = []
    pos = start
    if partial:
        # A ping frame is its head byte, a length byte (<= 125) and the payload.
        if len(partial) < 2 and pos < end:
            partial += bytes(buf[pos : pos + 1])
            pos += 1
        if len(partial) < 2:
            return pongs, partial
        if partial[1] > MAX_CONTROL_PAYLOAD:
            raise WebSocketError("ping frame with a payload over 125 bytes")
        want = 2 + partial[1]
        take = min(want - len(partial), end - pos)
        partial += bytes(buf[pos : pos + take])
        pos += take
        if len(partial) < want:
            return pongs, partial
        pongs.append(client_frame(partial[2:], OP_PONG))
    at = buf.find(PING_HEAD, pos, end)
    while at >= 0:
        if _is_length_byte(buf, at):
            at = buf.find(PING_HEAD, at + 1, end)
            continue
        if at + 2 > end:
            return pongs, bytes(buf[at:end])
        length = buf[at + 1]
        if length > MAX_CONTROL_PAYLOAD:
            raise WebSocketError("ping frame with a payload over 125 bytes")
        if at + 2 + length > end:
            return pongs, bytes(buf[at:end])
        pongs.append(client_frame(bytes(buf[at + 2 : at + 2 + length]), OP_PONG))
        at = buf.find(PING_HEAD, at + 2 + length, end)
    return pongs, b""
