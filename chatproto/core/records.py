"""Canonical records: the compact UTF-8 JSON the room stores and fans out.

Every door turns these same bytes into its own wire (docs/protocol.md sections
4 and 5); the history store keeps chat records exactly as they are here.
"""

from __future__ import annotations

import json
from typing import Any, Final

#: The largest packet text any door carries: a word-packet frame's uint16 limit.
MAX_PACKET_BYTES: Final = 0xFFFF

# One encoder for every packet: json.dumps with options builds a new one per call.
_ENCODER: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_encode_string: Final = json.encoder.encode_basestring


def dump_json(packet: dict[str, Any]) -> bytes:
    """Encode a packet as compact UTF-8 JSON."""
    return _ENCODER.encode(packet).encode("utf-8")


def json_string(text: str) -> bytes:
    """Encode C{text} as a JSON string literal, as L{dump_json} writes strings."""
    return _encode_string(text).encode("utf-8")


def chat_fields(
    timestamp: str, encoded_nickname: bytes, text: str, encoded_room: bytes | None = None
) -> bytes:
    """A chat record without its id: what the history store completes with one.

    C{encoded_room} (a JSON string) names a room other than the default one.
    Spelled out rather than L{dump_json}: this is the hot path, and the sender's
    nickname is encoded once, at join.
    """
    if encoded_room is None:
        return b'"timestamp":"%s","nickname":%s,"message":%s}' % (
            timestamp.encode("ascii"),
            encoded_nickname,
            json_string(text),
        )
    return b'"timestamp":"%s","nickname":%s,"message":%s,"room":%s}' % (
        timestamp.encode("ascii"),
        encoded_nickname,
        json_string(text),
        encoded_room,
    )


#: What surrounds the sender's nickname in a chat record (L{chat_fields}).
_NICKNAME_FIELD: Final = b',"nickname":'
_MESSAGE_FIELD: Final = b',"message":'


def sender_of(record: bytes) -> str:
    """The display nickname of a stored chat record's sender (a record of
    L{chat_fields} and L{with_id}): read from its place, the text left unparsed."""
    start = record.index(_NICKNAME_FIELD) + len(_NICKNAME_FIELD)
    nickname: str = json.loads(record[start : record.index(_MESSAGE_FIELD, start)])
    return nickname


def with_id(message_id: int, fields: bytes) -> bytes:
    """The whole chat record: C{fields} (from L{chat_fields}) after its id."""
    return b'{"id":%d,%s' % (message_id, fields)


#: What a replayed record gains before its closing brace.
REPLAY_MARK: Final = b',"history":true}'


def replayed(record: bytes) -> bytes:
    """A stored record as it is replayed: marked C{"history": true}."""
    return record[:-1] + REPLAY_MARK
