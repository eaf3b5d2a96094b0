"""Confusable skeletons of nickname keys (docs/protocol.md section 3, Unicode TR39)."""

from __future__ import annotations

import pytest

from chatproto.core.nicknames import nickname_key
from chatproto.core.skeletons import UNICODE_VERSION, skeleton


def _look_alike(one: str, other: str) -> bool:
    return skeleton(nickname_key(one)) == skeleton(nickname_key(other))


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("alice", "\u0430lice"),  # Cyrillic small a
        ("paypal", "p\u0430yp\u0430l"),
        ("alice", "a1ice"),  # digit one and small L
        ("Ivan", "\u0406van"),  # Cyrillic capital Byelorussian-Ukrainian I
        ("modern", "modem"),  # r n and m
        ("\u03bd\u03bf\u03c5", "vou"),  # Greek nu omicron upsilon
    ],
)
def test_lookalikes_collide(one: str, other: str) -> None:
    assert _look_alike(one, other)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("alice", "bob"),
        ("bob", "b0b"),  # TR39 maps 0 to capital O, and keys are case-folded
        ("alice", "alicia"),
    ],
)
def test_different_names_do_not(one: str, other: str) -> None:
    assert not _look_alike(one, other)


def test_the_skeleton_of_a_digit_zero_is_a_capital_o() -> None:
    assert skeleton("0") == "O"


def test_the_unicode_version_is_named() -> None:
    major, minor = (int(part) for part in UNICODE_VERSION.split(".")[:2])
    assert (major, minor) >= (16, 0)
