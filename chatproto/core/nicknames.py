"""Nickname rules and collision keys (docs/protocol.md section 3), shared by server and client."""

from __future__ import annotations

import unicodedata
from typing import Final

from chatproto.core.skeletons import skeleton
from chatproto.core.words import CONTROL_WORDS

MAX_NICKNAME_CODE_POINTS: Final = 32
#: Longer raw text is refused before normalising it (NFKC of a 64 KiB frame
#: costs milliseconds). No Unicode composition folds 8 code points into one.
_MAX_RAW_CODE_POINTS: Final = 8 * MAX_NICKNAME_CODE_POINTS
#: The name the server signs its notices with; nobody may hold it.
SERVER_NAME: Final = "server"
#: The accounts service of the IRC door (docs/irc.md); nobody may hold it either.
NICKSERV: Final = "NickServ"
#: General categories a nickname may not contain: controls, format characters,
#: surrogates and unassigned code points.
_FORBIDDEN_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cs", "Cn"})
#: Characters that every door must be able to carry in a nickname: IRC uses them
#: in prefixes, masks and lists (docs/protocol.md sections 3 and 10).
FORBIDDEN_CHARACTERS: Final = frozenset("!@,*?:")
#: A nickname may not start with these: IRC reads them as channel names.
FORBIDDEN_FIRST: Final = frozenset("#&")


class InvalidNickname(ValueError):
    """A nickname breaks a rule; the message says which, in words for a person."""


def could_be_nickname(text: str) -> bool:
    """False for text too long to normalise into any valid nickname (cheap to ask)."""
    return len(text) <= _MAX_RAW_CODE_POINTS


def nickname_key(name: str) -> str:
    """The collision key: names with equal keys cannot be held at once."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


def holding_key(name: str) -> str:
    """What two nicknames that cannot be held at once share: the Unicode TR39 skeleton
    of the key (L{chatproto.core.skeletons}), so that `Alice`, `alice` and `\u0430lice`
    with a Cyrillic `\u0430` are one place. Presence and the hall key members by it, on
    every node alike."""
    return skeleton(nickname_key(name))


_RESERVED: Final = frozenset(holding_key(word) for word in (SERVER_NAME, NICKSERV))


def is_name_character(char: str) -> bool:
    """Whether a nickname may hold C{char} (anywhere but first: see L{FORBIDDEN_FIRST})."""
    return (
        char not in FORBIDDEN_CHARACTERS
        and not char.isspace()
        and unicodedata.category(char) not in _FORBIDDEN_CATEGORIES
    )


def validate_nickname(raw: str) -> str:
    """Return the display form (NFKC) of a valid nickname.

    @raise InvalidNickname: with a reason a person can read.
    """
    if not could_be_nickname(raw):
        raise InvalidNickname(f"a nickname has at most {MAX_NICKNAME_CODE_POINTS} characters")
    name = unicodedata.normalize("NFKC", raw)
    if not name:
        raise InvalidNickname("a nickname cannot be empty")
    if len(name) > MAX_NICKNAME_CODE_POINTS:
        raise InvalidNickname(f"a nickname has at most {MAX_NICKNAME_CODE_POINTS} characters")
    if name in CONTROL_WORDS:
        raise InvalidNickname(f"{name!r} is a protocol word, not a nickname")
    if name[0] in FORBIDDEN_FIRST:
        raise InvalidNickname(f"a nickname cannot start with {name[0]!r}")
    for char in name:
        if is_name_character(char):
            continue
        if char in FORBIDDEN_CHARACTERS:
            raise InvalidNickname(f"a nickname cannot contain {char!r}")
        if char.isspace():
            raise InvalidNickname("a nickname cannot contain spaces")
        raise InvalidNickname(
            f"a nickname cannot contain the invisible or unassigned character U+{ord(char):04X}"
        )
    if holding_key(name) in _RESERVED:
        raise InvalidNickname(f"{name!r} is reserved")
    return name
