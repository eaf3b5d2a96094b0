"""Shared pieces of the IRC door's unit tests: a server, and messages as the wire shows them."""

from __future__ import annotations

from collections.abc import Iterable

from chatproto.doors.irc.identity import ServerInfo
from chatproto.doors.irc.message import Message, parse_message, serialise
from chatproto.doors.irc.replies import Replies

SERVER = ServerInfo(name="irc.test", created="2026-11-24T03:00:00.000Z")
REPLIES = Replies(SERVER)
#: What CAP LS 302 lists, and CAP LS without a version (no values).
LISTED_302 = (
    "account-notify account-tag batch draft/account-registration draft/chathistory"
    " draft/message-redaction echo-message extended-join labeled-response message-tags"
    " multi-prefix sasl=PLAIN server-time"
)
LISTED = LISTED_302.replace("sasl=PLAIN", "sasl")


def wire(messages: Iterable[Message]) -> list[str]:
    """The lines C{messages} put on the wire, without CR LF, for comparing with literals."""
    return [serialise(message).decode("utf-8").removesuffix("\r\n") for message in messages]


def line(text: str) -> Message:
    """A client's line, parsed."""
    return parse_message(text)
