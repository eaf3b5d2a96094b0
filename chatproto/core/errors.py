"""Error codes the server sends in `error` notices (docs/protocol.md section 5)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    """The `code` of an `error` notice."""

    MALFORMED = "malformed"
    EMPTY = "empty"
    TOO_LONG = "too-long"
    CONTROL_CHARS = "control-chars"
    RATE_LIMITED = "rate-limited"
    NO_SUCH_USER = "no-such-user"
    UNKNOWN_COMMAND = "unknown-command"
    SERVER_FULL = "server-full"
    UNAVAILABLE = "unavailable"
    BAD_ROOM = "bad-room"
    NOT_IN_ROOM = "not-in-room"
    TOO_MANY_ROOMS = "too-many-rooms"
    ACCOUNT_REQUIRED = "account-required"
    AUTH_FAILED = "auth-failed"
    WEAK_PASSWORD = "weak-password"
    NICKNAME_REGISTERED = "nickname-registered"
    NOT_PERMITTED = "not-permitted"
    MUTED = "muted"
    BANNED = "banned"


class PacketRejected(Exception):
    """A client's packet breaks a rule; C{code} says which, C{detail} says it for people,
    C{extra} holds the notice's other fields (`retry_after`)."""

    def __init__(self, code: ErrorCode, detail: str, **extra: Any) -> None:
        super().__init__(code, detail)
        self.code = code
        self.detail = detail
        self.extra = extra
