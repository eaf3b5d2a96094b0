"""Ban masks (docs/protocol.md section 14): nicknames, accounts, addresses and CIDR blocks."""

from __future__ import annotations

import pytest

from chatproto.core.errors import PacketRejected
from chatproto.core.moderation.masks import parse_mask


def test_a_nickname_mask_matches_the_nickname_and_its_lookalikes() -> None:
    mask = parse_mask("Alice")
    assert mask.text == "Alice"
    assert mask.matches("alice", None, "203.0.113.9")
    assert mask.matches("\u0430lice", None, None)  # a Cyrillic a
    assert not mask.matches("alicia", "alice", "203.0.113.9")


def test_an_account_mask_matches_logged_in_members_only() -> None:
    mask = parse_mask("account:Bob")
    assert mask.text == "account:Bob"
    assert mask.matches("whoever", "bob", None)
    assert not mask.matches("bob", None, None)


@pytest.mark.parametrize(
    ("text", "canonical", "inside", "outside"),
    [
        ("203.0.113.7", "203.0.113.7/32", "203.0.113.7", "203.0.113.8"),
        ("203.0.113.0/24", "203.0.113.0/24", "203.0.113.200", "203.0.114.1"),
        ("203.0.113.9/24", "203.0.113.0/24", "203.0.113.1", "198.51.100.1"),
        ("2001:db8::/32", "2001:db8::/32", "2001:db8:1::5", "2001:db9::1"),
        ("127.0.0.0/8", "127.0.0.0/8", "::ffff:127.0.0.1", "::1"),
    ],
)
def test_address_masks_match_the_real_address(
    text: str, canonical: str, inside: str, outside: str
) -> None:
    mask = parse_mask(text)
    assert mask.text == canonical
    assert mask.matches("anyone", None, inside)
    assert not mask.matches("anyone", None, outside)
    assert not mask.matches("anyone", None, None)  # not an IP connection


@pytest.mark.parametrize("text", ["", "account:", "account:has space", "a b", "BYE"])
def test_what_is_no_mask_is_malformed(text: str) -> None:
    with pytest.raises(PacketRejected) as refused:
        parse_mask(text)
    assert refused.value.code == "malformed"
