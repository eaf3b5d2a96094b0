"""Checks on a chat message's text (docs/protocol.md section 4), in the order the spec fixes."""

from __future__ import annotations

import re
from typing import Any, Final

from chatproto.core.errors import ErrorCode, PacketRejected

#: Category Cc (U+0000-U+001F, U+007F-U+009F) less tab and newline.
_FORBIDDEN_CONTROLS: Final = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def check_message(value: Any, max_bytes: int) -> str:
    """Return the message text to broadcast (CR LF normalised to LF).

    @raise PacketRejected: C{malformed}, C{too-long}, C{empty} or C{control-chars}.
    """
    if not isinstance(value, str):
        raise PacketRejected(ErrorCode.MALFORMED, "message must be a string")
    message: str = value
    # A str from the JSON decoder never holds more than 4 bytes per code point,
    # so the encode is skipped for the common short message.
    if len(message) * 4 > max_bytes and len(message.encode("utf-8")) > max_bytes:
        raise PacketRejected(ErrorCode.TOO_LONG, f"a message has at most {max_bytes} bytes")
    if not message or message.isspace():
        raise PacketRejected(ErrorCode.EMPTY, "a message cannot be empty")
    if "\r" in message:
        message = message.replace("\r\n", "\n")
    if _FORBIDDEN_CONTROLS.search(message):
        raise PacketRejected(
            ErrorCode.CONTROL_CHARS, "a message may not contain control characters"
        )
    return message


#: The longest topic, in UTF-8 bytes (docs/protocol.md section 12: it fits an IRC line).
MAX_TOPIC_BYTES: Final = 390
#: Category Cc, all of it: a topic is one line.
_CONTROLS: Final = re.compile("[\x00-\x1f\x7f-\x9f]")


def check_topic(value: Any) -> str:
    """Return a room topic ('' clears it).

    @raise PacketRejected: C{malformed}, C{too-long} or C{control-chars}.
    """
    return _check_line(value, "topic", MAX_TOPIC_BYTES)


#: The longest moderation comment, in UTF-8 bytes (docs/moderation.md: a `bans` notice of
#: a full list still fits one packet).
MAX_COMMENT_BYTES: Final = 200


def check_comment(value: Any) -> str:
    """Return a moderation command's comment (docs/protocol.md section 14).

    @raise PacketRejected: C{malformed}, C{too-long} or C{control-chars}.
    """
    return _check_line(value, "comment", MAX_COMMENT_BYTES)


def _check_line(value: Any, name: str, max_bytes: int) -> str:
    """Return C{value}, one line of at most C{max_bytes} of UTF-8 called C{name}."""
    if not isinstance(value, str):
        raise PacketRejected(ErrorCode.MALFORMED, f"{name} must be a string")
    if len(value) * 4 > max_bytes and len(value.encode("utf-8")) > max_bytes:
        raise PacketRejected(ErrorCode.TOO_LONG, f"a {name} has at most {max_bytes} bytes")
    if _CONTROLS.search(value):
        raise PacketRejected(
            ErrorCode.CONTROL_CHARS, f"a {name} may not contain control characters"
        )
    return value
