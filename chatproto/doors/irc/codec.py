"""The room's records as IRC lines: the IRC door's L{ICodec}.

Fan-out encodes a turn's records once per codec object, so the door keeps one codec per
server and per combination of the capabilities that change live bytes (C{server-time}:
the C{@time} tags; C{message-tags}: the C{@msgid} tags; C{echo-message}: whether a
sender gets its own messages; C{draft/message-redaction}: whether it gets REDACT), shared by
every client with that combination (L{codec_for}). What depends on one client alone (its
nickname in numerics, the C{batch} of its replay) is written by its session, never here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, Final

from zope.interface import implementer

from chatproto.core.member import ICodec
from chatproto.doors.irc.accountcaps import MemberDirectory, with_accounts
from chatproto.doors.irc.capabilities import (
    ACCOUNT_TAG,
    ECHO_MESSAGE,
    EXTENDED_JOIN,
    MESSAGE_REDACTION,
    MESSAGE_TAGS,
    SERVER_TIME,
)
from chatproto.doors.irc.identity import ServerInfo
from chatproto.doors.irc.mapping import (
    channel_of,
    chat_lines,
    join_line,
    leave_line,
    part_line,
    topic_line,
)
from chatproto.doors.irc.message import Message, serialise
from chatproto.doors.irc.modlines import moderation_lines
from chatproto.doors.irc.quits import unfiltered

#: The capabilities that change the bytes of live traffic.
LIVE_CAPABILITIES: Final = frozenset(
    {ACCOUNT_TAG, ECHO_MESSAGE, EXTENDED_JOIN, MESSAGE_REDACTION, MESSAGE_TAGS, SERVER_TIME}
)
#: Records whose lines a codec keeps in its newer generation (as many again in the older).
RECENT_RECORDS: Final = 2048
#: The target of a server NOTICE that is not addressed by nickname (the codec is shared).
ANYONE: Final = "*"
#: Notices an IRC session answers in numerics of its own, which the codec leaves out.
_SHOWN_BY_THE_SESSION: Final = frozenset({"welcome", "history"})


def wire(messages: Iterable[Message]) -> bytes:
    """C{messages} as the bytes of consecutive lines."""
    return b"".join([serialise(message) for message in messages])


@implementer(ICodec)
class IrcCodec:
    """Encodes records for every IRC client of one server with the same live capabilities.

    Each record goes to the channel of its room (L{channel_of}):

    - a chat record (public or private): PRIVMSGs from its sender (L{chat_lines});
    - C{join}, C{topic} notices: JOIN and TOPIC from the member;
    - a C{leave} notice: PART (reason C{part}) or QUIT from the member;
    - C{welcome} and C{history} notices: nothing (the session writes a room's entrance
      and a CHATHISTORY answer itself, with the client's nickname in its numerics);
    - moderation notices and removals (kick, ban): L{moderation_lines};
    - an C{error} notice the room sends on its own (a message the store could not take,
      C{server-full}): a server NOTICE;
    - any other notice (C{shutdown}): a server NOTICE to the channel with its text.
    """

    def __init__(
        self,
        server: ServerInfo,
        capabilities: frozenset[str],
        directory: MemberDirectory | None = None,
    ) -> None:
        self.server = server
        self.capabilities = capabilities & LIVE_CAPABILITIES
        #: Where members' accounts are looked up (account-tag, extended-join).
        self.directory = directory
        #: IRC clients show their own lines themselves unless they asked for echo-message.
        self.echoes_sender = ECHO_MESSAGE in capabilities
        # The lines of recent records, in two generations (so that going over a batch
        # again and again keeps all of it): fan-out encodes a turn's batch once for most
        # members, but again, less its own records, for each sender, and each member that
        # catches up before a reply or a QUIT encodes what is pending so far.
        self._recent: dict[bytes, bytes] = {}
        self._older: dict[bytes, bytes] = {}

    def encode(self, record: bytes) -> bytes:
        """One record's lines."""
        data = self._recent.get(record)
        if data is None:
            data = self._older.get(record)
            if data is None:
                data = wire(self.messages(json.loads(record)))
            if len(self._recent) >= RECENT_RECORDS:
                self._older, self._recent = self._recent, {}
            self._recent[record] = data
        return data

    def encode_batch(self, records: Sequence[bytes]) -> bytes:
        """Several records' lines, in order, as one write."""
        return b"".join([self.encode(record) for record in records])

    def encode_replayed(self, record: bytes) -> bytes:
        """A stored chat record as a replay without a batch shows it."""
        packet = json.loads(record)
        channel = channel_of(packet, self.server.channel)
        return wire(chat_lines(packet, channel, self.capabilities, replayed=True))

    def same_for_all(self, data: bytes) -> bool:
        """Whether C{data} goes to every client as it is: it holds no line that a client's
        quit filter may drop or learn from (L{unfiltered})."""
        return unfiltered(data)

    def messages(self, packet: dict[str, Any]) -> list[Message]:
        """The IRC messages that carry one record, with its member's account as the
        capabilities ask (L{with_accounts})."""
        lines = self._messages(packet)
        return with_accounts(lines, packet, self.capabilities, self.directory)

    def _messages(self, packet: dict[str, Any]) -> list[Message]:
        event = packet.get("event")
        channel = channel_of(packet, self.server.channel)
        if event is None:
            return chat_lines(packet, channel, self.capabilities)
        if event in _SHOWN_BY_THE_SESSION:
            return []
        moderation = moderation_lines(packet, channel, self.capabilities, self.server.name)
        if moderation is not None:
            return moderation
        if event == "join":
            return [join_line(packet, channel, self.capabilities)]
        if event == "topic":
            return [topic_line(packet, channel, self.capabilities)]
        if event == "leave" and packet.get("reason") == "part":
            return [part_line(packet, channel, self.capabilities)]
        if event == "leave":
            return [leave_line(packet, self.capabilities)]
        name = self.server.name
        if event == "error":
            text = f"{packet['message']} ({packet['code']})"
            return [Message("NOTICE", (ANYONE, text), name, force_trailing=True)]
        text = packet["message"]
        return [Message("NOTICE", (self.server.channel, text), name, force_trailing=True)]


#: One codec per server, live capability set and hall (its members' accounts): fan-out
#: encodes once per codec object.
_CODECS: dict[tuple[ServerInfo, frozenset[str], MemberDirectory | None], IrcCodec] = {}


def codec_for(
    server: ServerInfo, capabilities: frozenset[str], directory: MemberDirectory | None = None
) -> IrcCodec:
    """The shared codec of C{server}'s clients that enabled C{capabilities}, looking
    accounts up in C{directory}."""
    live = capabilities & LIVE_CAPABILITIES
    key = (server, live, directory if live & {ACCOUNT_TAG, EXTENDED_JOIN} else None)
    codec = _CODECS.get(key)
    if codec is None:
        codec = _CODECS[key] = IrcCodec(server, key[1], directory)
    return codec
