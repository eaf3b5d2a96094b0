"""Password lengths in bytes of UTF-8 (docs/protocol.md section 13)."""

from __future__ import annotations

import pytest

from chatproto.accounts.passwords import WeakPassword, can_be_given, check_chosen


@pytest.mark.parametrize("password", ["12345678", "\u00e9" * 4, "x" * 256, "\U0001f600" * 64])
def test_chosen_passwords_of_8_to_256_bytes(password: str) -> None:
    check_chosen(password)


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("1234567", "at least 8 bytes"),
        ("\u00e9" * 3 + "x", "at least 8 bytes"),  # 7 bytes in 4 characters
        ("x" * 257, "at most 256 bytes"),
        ("\U0001f600" * 64 + "x", "at most 256 bytes"),
        ("\ud800" * 10, "valid Unicode"),
    ],
)
def test_weak_passwords(password: str, reason: str) -> None:
    with pytest.raises(WeakPassword, match=reason):
        check_chosen(password)


def test_given_passwords_of_1_to_1024_bytes() -> None:
    assert can_be_given("x")
    assert can_be_given("x" * 1024)
    assert not can_be_given("")
    assert not can_be_given("x" * 1025)
    assert not can_be_given("\u00e9" * 513)
    assert not can_be_given("\udfff")
