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
#: The 005 lines (ISUPPORT) of alice's welcome.
ISUPPORT_TO_ALICE = [
    ":irc.test 005 alice ACCOUNTEXTBAN=a CASEMAPPING=rfc8265 CHANLIMIT=#:20"
    " CHANMODES=bq,,,mnt CHANNELLEN=33 CHANTYPES=# CHATHISTORY=100 CLIENTTAGDENY=*"
    " EXTBAN=$,a MODES=4 MSGREFTYPES=msgid,timestamp NETWORK=chatproto NICKLEN=32"
    " :are supported by this server",
    ":irc.test 005 alice PREFIX=(ov)@+"
    " TARGMAX=JOIN:4,LIST:4,NAMES:4,NOTICE:4,PART:4,PRIVMSG:4,WHOIS:1 UTF8ONLY"
    " :are supported by this server",
]


def wire(messages: Iterable[Message]) -> list[str]:
    """The lines C{messages} put on the wire, without CR LF, for comparing with literals."""
    return [serialise(message).decode("utf-8").removesuffix("\r\n") for message in messages]


def line(text: str) -> Message:
    """A client's line, parsed."""
    return parse_message(text)
