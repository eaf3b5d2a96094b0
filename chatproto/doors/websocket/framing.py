"""Server-to-client WebSocket frames (RFC 6455 section 5.2), built once for everyone.

A server's frames are not masked, so one text frame's bytes are the same for
every recipient: fan-out frames a batch once per turn and writes the same
bytes to every WebSocket member (an equivalent of autobahn's prepared messages
that also joins a turn's frames into one write).
"""

from __future__ import annotations

from typing import Final

#: FIN set, opcode 1 (text).
_TEXT: Final = 0x81
#: FIN set, opcode 10 (pong).
_PONG: Final = 0x8A
#: Payload lengths from here on need a 16-bit, then a 64-bit, extended length.
_EXTENDED_16: Final = 126
_EXTENDED_64: Final = 1 << 16


def text_frame(payload: bytes) -> bytes:
    """One unfragmented, unmasked text frame carrying C{payload} (UTF-8 text)."""
    size = len(payload)
    if size < _EXTENDED_16:
        return bytes((_TEXT, size)) + payload
    if size < _EXTENDED_64:
        return bytes((_TEXT, 126)) + size.to_bytes(2, "big") + payload
    return bytes((_TEXT, 127)) + size.to_bytes(8, "big") + payload


def pong_frame(payload: bytes) -> bytes:
    """The unmasked pong that answers a ping carrying C{payload}: at most 125 bytes, as
    every control frame's (RFC 6455 section 5.5; autobahn refuses a longer ping)."""
    return bytes((_PONG, len(payload))) + payload
