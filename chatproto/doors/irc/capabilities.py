"""The IRCv3 capabilities the door offers, and how a C{CAP REQ} changes a client's set.

Only C{sasl} carries a value (its mechanisms, L{VALUES}), which C{CAP LS 302} shows and
a plain C{CAP LS} leaves out.
"""

from __future__ import annotations

from typing import Final

ACCOUNT_NOTIFY: Final = "account-notify"
ACCOUNT_REGISTRATION: Final = "draft/account-registration"
ACCOUNT_TAG: Final = "account-tag"
BATCH: Final = "batch"
CHATHISTORY: Final = "draft/chathistory"
ECHO_MESSAGE: Final = "echo-message"
EXTENDED_JOIN: Final = "extended-join"
LABELED_RESPONSE: Final = "labeled-response"
MESSAGE_REDACTION: Final = "draft/message-redaction"
MESSAGE_TAGS: Final = "message-tags"
MULTI_PREFIX: Final = "multi-prefix"
SASL: Final = "sasl"
SERVER_TIME: Final = "server-time"

#: Everything a client may request, in the order C{CAP LS} lists it.
OFFERED: Final = (
    ACCOUNT_NOTIFY,
    ACCOUNT_TAG,
    BATCH,
    ACCOUNT_REGISTRATION,
    CHATHISTORY,
    MESSAGE_REDACTION,
    ECHO_MESSAGE,
    EXTENDED_JOIN,
    LABELED_RESPONSE,
    MESSAGE_TAGS,
    MULTI_PREFIX,
    SASL,
    SERVER_TIME,
)
#: The values C{CAP LS 302} gives (the SASL mechanisms, L{chatproto.doors.irc.sasl}).
VALUES: Final = {SASL: "PLAIN"}


def listed(version: str) -> str:
    """What C{CAP LS [version]} lists: with values from version 302 on."""
    if not version.isdigit() or int(version) < 302:
        return " ".join(OFFERED)
    return " ".join(f"{name}={VALUES[name]}" if name in VALUES else name for name in OFFERED)


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
