"""The IRCv3 capabilities the door offers, and how a C{CAP REQ} changes a client's set.

None of them carries a value, so C{CAP LS} and C{CAP LS 302} list the same names.
"""

from __future__ import annotations

from typing import Final

BATCH: Final = "batch"
CHATHISTORY: Final = "draft/chathistory"
ECHO_MESSAGE: Final = "echo-message"
LABELED_RESPONSE: Final = "labeled-response"
MESSAGE_REDACTION: Final = "draft/message-redaction"
MESSAGE_TAGS: Final = "message-tags"
MULTI_PREFIX: Final = "multi-prefix"
SERVER_TIME: Final = "server-time"

#: Everything a client may request, in the order C{CAP LS} lists it.
OFFERED: Final = (
    BATCH,
    CHATHISTORY,
    MESSAGE_REDACTION,
    ECHO_MESSAGE,
    LABELED_RESPONSE,
    MESSAGE_TAGS,
    MULTI_PREFIX,
    SERVER_TIME,
)


def apply_request(enabled: frozenset[str], request: str) -> frozenset[str] | None:
    """The set after C{CAP REQ :request}, or None when it must be refused (C{NAK}).

    A request is all or nothing: one unknown name (or an empty request) refuses all of
    it. C{-name} disables a capability.
    """
    names = request.split()
    if not names:
        return None
    result = set(enabled)
    for name in names:
        disable = name.startswith("-")
        bare = name[1:] if disable else name
        if bare not in OFFERED:
            return None
        if disable:
            result.discard(bare)
        else:
            result.add(bare)
    return frozenset(result)
