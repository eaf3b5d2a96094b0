"""Ban masks as IRC writes them, and as the core's `ban` command names them (docs/protocol.md
section 14).

The core bans a nickname, an account (C{account:NAME}) or an address or CIDR block; IRC
writes masks of C{nick!user@host} and extbans. The door carries the three shapes that
mean the same thing, both ways:

    IRC            the core
    nick!*@*       nick
    *!*@host       host          (an address or a CIDR block: the real address, every door)
    $a:name        account:name  (EXTBAN=$,a)

A bare word (C{MODE #room +b nick}, as some clients send) goes to the core as it is: the
core tells a nickname from an address. Any other mask (wildcards in a nickname, a
username, a host name) means something the room cannot match, and is refused.
"""

from __future__ import annotations

import ipaddress
from typing import Final

#: The account extban's prefix (RPL_ISUPPORT EXTBAN=$,a).
ACCOUNT_EXTBAN: Final = "$a:"
#: How the core names an account in a mask.
CORE_ACCOUNT: Final = "account:"
#: The part of a mask that matches anything.
_ANY: Final = "*"
#: What a mask that names no one of the three shapes gets told.
UNSUPPORTED: Final = "only nick!*@*, *!*@address (or CIDR block) and $a:account masks can be set"


class UnsupportedMask(ValueError):
    """A mask the room cannot match; the message says which shapes it can."""


def core_mask(mask: str) -> str:
    """The core's mask for the IRC C{mask}.

    @raise UnsupportedMask: for a mask of another shape.
    """
    if mask.startswith(ACCOUNT_EXTBAN):
        account = mask[len(ACCOUNT_EXTBAN) :]
        if not account:
            raise UnsupportedMask("an account extban names the account: $a:name")
        return CORE_ACCOUNT + account
    if "!" not in mask and "@" not in mask:
        return mask
    nickname, _, rest = mask.partition("!")
    username, at, host = rest.partition("@")
    if not at:
        raise UnsupportedMask(UNSUPPORTED)
    if username != _ANY:
        raise UnsupportedMask(UNSUPPORTED)
    if host == _ANY and nickname and _ANY not in nickname and "?" not in nickname:
        return nickname
    if nickname == _ANY and host != _ANY and _is_address(host):
        return host
    raise UnsupportedMask(UNSUPPORTED)


def irc_mask(mask: str) -> str:
    """The IRC mask for the core's C{mask}."""
    if mask.startswith(CORE_ACCOUNT):
        return ACCOUNT_EXTBAN + mask[len(CORE_ACCOUNT) :]
    if _is_address(mask):
        return f"{_ANY}!{_ANY}@{mask}"
    return f"{mask}!{_ANY}@{_ANY}"


def muted_nickname(mask: str) -> str:
    """The nickname a C{+q} argument names: C{nick}, or C{nick!*@*} as clients write it."""
    nickname, bang, rest = mask.partition("!")
    return nickname if bang and rest == f"{_ANY}@{_ANY}" else mask


def _is_address(text: str) -> bool:
    """Whether C{text} is an IPv4 or IPv6 address or CIDR block."""
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return True
