"""How long a password may be (docs/protocol.md section 13), in bytes of UTF-8 as sent."""

from __future__ import annotations

from typing import Final

#: A password a client chooses (`register`, a new password, `NickServ REGISTER`).
MIN_CHOSEN_BYTES: Final = 8
MAX_CHOSEN_BYTES: Final = 256
#: Any password given to log in, or to the operator's tool.
MAX_GIVEN_BYTES: Final = 1024


class WeakPassword(ValueError):
    """A chosen password is too short or too long; the message says which (`weak-password`)."""


def _length(password: str) -> int | None:
    """The UTF-8 length of C{password}, or None if it is not text (a lone surrogate)."""
    try:
        return len(password.encode("utf-8"))
    except UnicodeEncodeError:
        return None


def check_chosen(password: str) -> None:
    """Accept a password a client chose, or raise L{WeakPassword} saying why."""
    length = _length(password)
    if length is None:
        raise WeakPassword("a password must be valid Unicode text")
    if length < MIN_CHOSEN_BYTES:
        raise WeakPassword(f"a password has at least {MIN_CHOSEN_BYTES} bytes")
    if length > MAX_CHOSEN_BYTES:
        raise WeakPassword(f"a password has at most {MAX_CHOSEN_BYTES} bytes")


def can_be_given(password: str) -> bool:
    """Whether C{password} may be tried at all (1 to L{MAX_GIVEN_BYTES} bytes); a longer
    one is refused before it costs a hash."""
    length = _length(password)
    return length is not None and 1 <= length <= MAX_GIVEN_BYTES
