"""Message ids as one text (IRCv3 C{msgid}), unique across rooms, read back by the server.

A stored message is known by its room and its id in that room (docs/protocol.md section
6; with several rooms, each counts its own ids). C{msgid_for} writes
both as one short text that is safe as a tag value (no spaces, semicolons, backslashes,
CR, LF or NUL), and C{parse_msgid} reads them back::

    <room key, UTF-8, base64url without padding>.<id>[.<part>]

The room key is the section 3 key of the room's name, so the C{#chat} room's message 42
is C{I2NoYXQ.42}. A message that a door carries in several pieces (IRC: one PRIVMSG per
line) gives each further piece its number, C{I2NoYXQ.42.1}, so that no two lines share a
msgid; every piece still names the message.

A private message is not stored and has no id: C{private_msgid} derives one from what
the message is (time, sender, recipient, text), so that the recipient and the sender's
own copy show the same msgid on every node. It starts with C{~}, which base64url never
writes, and C{parse_msgid} finds no message in it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Final

#: Between the room, the id and the piece: not in the base64url alphabet.
_SEPARATOR: Final = "."
#: What starts a private message's msgid.
_PRIVATE: Final = "~"
#: Bytes of the digest a private message's msgid keeps (20 characters of base64url).
_PRIVATE_DIGEST_BYTES: Final = 15


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def msgid_for(room_key: str, message_id: int, part: int = 0) -> str:
    """The msgid of stored message C{message_id} of the room whose key is C{room_key};
    C{part} (from 1) numbers the further pieces of a message carried in several."""
    text = f"{_encode(room_key.encode('utf-8'))}{_SEPARATOR}{message_id}"
    return f"{text}{_SEPARATOR}{part}" if part else text


def parse_msgid(text: str) -> tuple[str, int] | None:
    """The room key and the id that C{text} names, or None when it names no stored
    message (a private message's msgid, a client's invention, garbage)."""
    fields = text.split(_SEPARATOR)
    if len(fields) not in (2, 3) or not all(_is_number(field) for field in fields[1:]):
        return None
    if fields[2:] == ["0"]:  # the first piece has no number
        return None
    encoded = fields[0]
    if not encoded or encoded.startswith(_PRIVATE):
        return None
    try:
        key = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("utf-8")
    except (binascii.Error, ValueError):  # not base64url, or not UTF-8
        return None
    if not key or _encode(key.encode("utf-8")) != encoded:  # one spelling per room
        return None
    return key, int(fields[1])


def private_msgid(timestamp: str, sender: str, recipient: str, text: str, part: int = 0) -> str:
    """The msgid of a private message (unstored): the same wherever it is computed.

    Two private messages alike in all four fields, sent in the same millisecond, share
    it; they are the same message to anyone reading them.
    """
    digest = hashlib.sha256(
        "\0".join((timestamp, sender, recipient, text)).encode("utf-8")
    ).digest()[:_PRIVATE_DIGEST_BYTES]
    identity = f"{_PRIVATE}{_encode(digest)}"
    return f"{identity}{_SEPARATOR}{part}" if part else identity


def _is_number(field: str) -> bool:
    """A decimal id or piece number as L{msgid_for} writes it (no sign, no leading 0)."""
    return field.isascii() and field.isdigit() and (field == "0" or not field.startswith("0"))
