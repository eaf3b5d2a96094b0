"""Room names and their collision keys (docs/protocol.md section 12)."""

from __future__ import annotations

import unicodedata
from typing import Final

from chatproto.core.nicknames import is_name_character, nickname_key

#: A room name is `#` and at most this many code points.
MAX_ROOM_NAME_CODE_POINTS: Final = 32
#: Longer raw text is refused before normalising it (see nicknames.could_be_nickname).
_MAX_RAW_CODE_POINTS: Final = 8 * (MAX_ROOM_NAME_CODE_POINTS + 1)
ROOM_PREFIX: Final = "#"


class InvalidRoomName(ValueError):
    """A room name breaks a rule; the message says which, in words for a person."""


def validate_room_name(raw: str) -> str:
    """Return the display form (NFKC) of a valid room name.

    @raise InvalidRoomName: with a reason a person can read.
    """
    if len(raw) > _MAX_RAW_CODE_POINTS:
        raise InvalidRoomName(f"a room name has at most {MAX_ROOM_NAME_CODE_POINTS} characters")
    name = unicodedata.normalize("NFKC", raw)
    if not name.startswith(ROOM_PREFIX):
        raise InvalidRoomName("a room name starts with #")
    rest = name[len(ROOM_PREFIX) :]
    if not rest:
        raise InvalidRoomName("a room name needs at least one character after #")
    if len(rest) > MAX_ROOM_NAME_CODE_POINTS:
        raise InvalidRoomName(
            f"a room name has at most {MAX_ROOM_NAME_CODE_POINTS} characters after #"
        )
    for char in rest:
        if not is_name_character(char):
            raise InvalidRoomName(f"a room name cannot contain U+{ord(char):04X}")
    return name


def room_key(name: str) -> str:
    """The collision key of a (valid) room name: names with equal keys are one room."""
    return nickname_key(name)
