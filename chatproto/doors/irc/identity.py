"""Who speaks on the IRC door: the server (its name, network, channel) and the room's members."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property
from typing import Final

from chatproto import __version__
from chatproto.core.nicknames import is_name_character, nickname_key

#: The host part of every member's source, whichever door it came through
#: (docs/protocol.md section 10): C{nick!nick@chatproto}.
MEMBER_HOST: Final = "chatproto"
DEFAULT_CHANNEL: Final = "#chat"
#: What every channel name starts with (RPL_ISUPPORT CHANTYPES).
CHANNEL_PREFIX: Final = "#"
NETWORK: Final = "chatproto"
VERSION: Final = f"chatproto-{__version__}"
#: Characters of the USER username that WHO and WHOIS show, at most (after the C{~}).
USERLEN: Final = 16
#: The mark of a username the server has not verified (no ident lookup): C{~alice}.
_UNVERIFIED: Final = "~"
#: A channel name: C{#}, then anything but spaces, commas, BEL, CR, LF and NUL.
_CHANNEL: Final = re.compile("#[^ ,\x07\r\n\0]{1,49}")
#: A server name: one word that cannot be read as a member's source.
_SERVER_NAME: Final = re.compile("[^ !@:\r\n\0][^ !@\r\n\0]*")


def looks_like_channel(name: str) -> bool:
    """Whether C{name} is meant as a channel (any channel, not only the room's)."""
    return name.startswith(("#", "&"))


def mask_matches(mask: str, name: str) -> bool:
    """Whether C{name} matches the IRC mask C{mask}: C{*} any run, C{?} any one character.

    Time at most proportional to the product of the lengths (no backtracking blow-up: a
    mask comes from a client). Nicknames hold neither C{*} nor C{?} (section 3).
    """
    m = n = 0  # where we are in the mask and in the name
    star = -1  # the last * of the mask seen, and where in the name its run ends
    star_end = 0
    while n < len(name):
        if m < len(mask) and mask[m] in ("?", name[n]):
            m += 1
            n += 1
        elif m < len(mask) and mask[m] == "*":
            star, star_end = m, n
            m += 1
        elif star >= 0:  # let the last * take one more character, and go on after it
            star_end += 1
            m, n = star + 1, star_end
        else:
            return False
    return mask[m:].strip("*") == ""


def member_source(nickname: str) -> str:
    """The source that marks what C{nickname} says or does: C{nick!nick@chatproto}."""
    return f"{nickname}!{nickname}@{MEMBER_HOST}"


@dataclass(frozen=True)
class MemberIdentity:
    """What WHO and WHOIS show of a member: its nickname, username and realname."""

    nickname: str
    username: str
    realname: str

    @classmethod
    def of_nickname(cls, nickname: str) -> MemberIdentity:
        """A member of another door (or node): its nickname in every field."""
        return cls(nickname, nickname, nickname)

    @classmethod
    def from_user(cls, nickname: str, username: str, realname: str) -> MemberIdentity:
        """An IRC client, from the C{username} and C{realname} it gave in C{USER}.

        The username is shown as C{~username} (not verified), in NFKC, without the
        characters a nickname may not hold (they would break a C{nick!user@host} or a
        mask), cut to L{USERLEN} characters; the nickname stands in for one with nothing
        left. The realname is shown as given (the 512-byte line bounds it already).
        """
        kept = "".join(filter(is_name_character, unicodedata.normalize("NFKC", username)))
        return cls(nickname, _UNVERIFIED + (kept[:USERLEN] or nickname), realname)


@dataclass(frozen=True)
class ServerInfo:
    """What the IRC door tells every client about itself.

    C{name} signs numerics and server notices (C{--irc-server-name}); C{channel} is the
    default room (C{--default-room}); C{created} is when the server started, as people
    read it; C{max_rooms_per_member} is C{CHANLIMIT} (0: none); C{autojoin}: whether
    registration joins the client to the default room (not with C{--no-irc-autojoin}).
    """

    name: str
    created: str
    channel: str = DEFAULT_CHANNEL
    max_rooms_per_member: int = 20
    autojoin: bool = True

    def __post_init__(self) -> None:
        if not _SERVER_NAME.fullmatch(self.name):
            raise ValueError(f"not usable as an IRC server name: {self.name!r}")
        if not _CHANNEL.fullmatch(self.channel):
            raise ValueError(f"not an IRC channel name (#, then 1-49 characters): {self.channel!r}")

    def is_channel(self, name: str) -> bool:
        """Whether C{name} names the room's channel (compared as nicknames are, section 3)."""
        return name == self.channel or nickname_key(name) == self._channel_key

    @cached_property
    def _channel_key(self) -> str:
        return nickname_key(self.channel)
