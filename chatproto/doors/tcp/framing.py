"""The word packet's framing (docs/protocol.md section 1): a uint16 length, then the text."""

from __future__ import annotations

import struct
from typing import Any, Final

from chatproto.core.records import MAX_PACKET_BYTES, dump_json
from chatproto.core.words import CONTROL_WORDS

#: The largest text a frame can carry: its length prefix is a uint16.
MAX_FRAME_BYTES: Final = MAX_PACKET_BYTES

_PREFIX: Final = struct.Struct(">H")


class FrameTooLong(ValueError):
    """Raised when a text does not fit in one frame (more than 65535 bytes)."""


def frame(payload: bytes) -> bytes:
    """Return C{payload} with its big-endian uint16 length prefix."""
    if len(payload) > MAX_FRAME_BYTES:
        raise FrameTooLong(len(payload))
    return _PREFIX.pack(len(payload)) + payload


def frame_text(text: str) -> bytes:
    """Return the frame carrying C{text} as UTF-8."""
    return frame(text.encode("utf-8"))


def encode_packet(packet: dict[str, Any]) -> bytes:
    """Encode a packet as one frame."""
    return frame(dump_json(packet))


#: Pre-encoded frames of the control words, written as they are.
CONTROL_FRAMES: Final = {word: frame_text(word) for word in CONTROL_WORDS}
