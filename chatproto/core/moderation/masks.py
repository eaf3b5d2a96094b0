"""Ban masks (docs/protocol.md section 14): a nickname, `account:NAME`, or an address or
CIDR block (IPv4 or IPv6) that matches the real address of a connection on every door."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from chatproto.core.errors import ErrorCode, PacketRejected
from chatproto.core.nicknames import InvalidNickname, holding_key, validate_nickname

#: The prefix of a mask that names an account.
ACCOUNT_PREFIX: Final = "account:"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Mask:
    """One parsed mask. C{text} is how it is shown (what `bans` lists), C{key} what
    masks that match alike share (a ban is found by it); exactly one of C{nickname},
    C{account} (both holding keys, so that lookalikes match too) and C{network} is set."""

    text: str
    key: str
    nickname: str | None = None
    account: str | None = None
    network: Network | None = None

    def matches(self, nickname: str, account: str | None, host: str | None) -> bool:
        """Whether a connection holding C{nickname}, logged in to C{account}, from the
        address C{host} (None: not an IP connection) matches."""
        if self.nickname is not None:
            return holding_key(nickname) == self.nickname
        if self.account is not None:
            return account is not None and account_key(account) == self.account
        assert self.network is not None
        address = _address(host)
        return address is not None and address in self.network


@lru_cache(maxsize=4096)
def account_key(account: str) -> str:
    """The holding key of an account name, cached: it is asked for every logged-in member
    of a room at each `welcome` (its operators) and at each ban."""
    return holding_key(account)


def parse_mask(text: str) -> Mask:
    """The L{Mask} C{text} names.

    @raise PacketRejected: C{malformed} for text that is none of the three.
    """
    if not text:
        raise PacketRejected(ErrorCode.MALFORMED, "mask must be a nickname, account:NAME or CIDR")
    if text.startswith(ACCOUNT_PREFIX):
        name = _nickname(text[len(ACCOUNT_PREFIX) :])
        key = holding_key(name)
        return Mask(ACCOUNT_PREFIX + name, ACCOUNT_PREFIX + key, account=key)
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        name = _nickname(text)
        key = holding_key(name)
        return Mask(name, key, nickname=key)
    return Mask(str(network), str(network), network=network)


def _nickname(text: str) -> str:
    try:
        return validate_nickname(text)
    except InvalidNickname as e:
        raise PacketRejected(ErrorCode.MALFORMED, f"mask: {e}") from None


def _address(host: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address of C{host}; an IPv4-mapped IPv6 address as the IPv4 address it is."""
    if host is None:
        return None
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address
