"""What the room's records look like on IRC, and what IRC text means in the room.

Inputs are the core's plain records (docs/protocol.md sections 4, 5 and 12): a chat record
C{{"id", "timestamp", "nickname", "message"[, "to"][, "history"][, "room"]}}, a join,
leave or topic notice C{{"event", "user", "timestamp"[, "reason"][, "text"][, "topic"]
[, "room"]}}. A record about a room other than the default one names it in C{room}, which
is its channel; one without C{room} is about the default room's channel. Outputs are
L{Message}s for the door to serialise; each fits one IRC line (512 bytes without tags).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from chatproto.core.msgids import msgid_for, private_msgid
from chatproto.core.nicknames import nickname_key
from chatproto.doors.irc.capabilities import BATCH, MESSAGE_TAGS, SERVER_TIME
from chatproto.doors.irc.fitting import split_to_fit, text_budget
from chatproto.doors.irc.identity import member_source
from chatproto.doors.irc.message import Message, safe_text

_CTCP: Final = "\x01"
_ACTION: Final = "ACTION"
#: Bytes a CTCP ACTION wraps around its text: C{\\x01ACTION } and C{\\x01}.
_ACTION_WRAPPING: Final = len(_CTCP + _ACTION + " " + _CTCP)
#: The batch type of a replay (IRCv3 chathistory).
HISTORY_BATCH_TYPE: Final = "chathistory"
#: QUIT texts for the reasons of a C{leave} notice (section 5); others are shown as they are.
QUIT_TEXTS: Final = {
    "bye": "Quit",
    "disconnected": "Connection lost",
    "slow": "Too slow to read (send queue full)",
    "flood": "Excess flood",
}


class CtcpNotCarried(ValueError):
    """A CTCP request other than ACTION: the room has no way to carry it.

    C{name} is the request (C{VERSION}, C{PING}, ...).
    """

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def text_for_room(nickname: str, text: str) -> str:
    """The room's text for a PRIVMSG (or NOTICE) text sent by C{nickname}.

    A CTCP ACTION (C{/me waves}) becomes C{* nickname waves}; other text is unchanged (the
    core checks it as any message).

    @raise CtcpNotCarried: for any other CTCP request.
    """
    if not text.startswith(_CTCP):
        return text
    name, _, rest = text[1:].removesuffix(_CTCP).partition(" ")
    if name.upper() != _ACTION:
        raise CtcpNotCarried(name)
    return f"* {nickname} {rest}" if rest else f"* {nickname}"


def _tags(
    capabilities: frozenset[str], timestamp: str | None, batch: str | None = None
) -> dict[str, str]:
    tags = {}
    if batch is not None:
        tags["batch"] = batch
    if timestamp is not None and SERVER_TIME in capabilities:
        tags["time"] = timestamp
    return tags


def _clock(timestamp: str) -> str:
    """C{[HH:MM] } (UTC) for a replayed line when the client has no server-time."""
    moment = datetime.fromisoformat(timestamp).astimezone(UTC)
    return moment.strftime("[%H:%M] ")


def chat_lines(
    record: Mapping[str, Any],
    channel: str,
    capabilities: frozenset[str],
    *,
    replayed: bool = False,
    batch: str | None = None,
) -> list[Message]:
    """The PRIVMSGs that carry one chat record to a client with C{capabilities}.

    A public record goes to C{channel}, a private one (with C{to}) to that nickname. One
    PRIVMSG per line of the text (empty lines carry nothing and are left out); a line too
    long for one IRC line is split at character boundaries (L{split_to_fit}). A line
    C{* nick text} from C{nick} becomes a CTCP ACTION. With server-time every PRIVMSG
    carries C{@time}; a C{replayed} record without it gets a C{[HH:MM] } prefix instead.
    C{batch} tags each PRIVMSG as part of that batch. With message-tags each PRIVMSG
    carries the record's C{msgid} (L{chatproto.core.msgids}; the second and later lines
    of one record numbered as its further pieces).
    """
    sender: str = record["nickname"]
    timestamp: str = record["timestamp"]
    template = Message("PRIVMSG", (record.get("to", channel),), member_source(sender))
    tags = _tags(capabilities, timestamp, batch)
    clock = ""
    if replayed and SERVER_TIME not in capabilities:
        clock = _clock(timestamp)
    action_opening = f"* {sender}"
    budget = text_budget(template) - len(clock.encode("utf-8"))
    texts = []
    for line in record["message"].split("\n"):
        if not line:
            continue
        action = line == action_opening or line.startswith(action_opening + " ")
        if action:
            line = line[len(action_opening) + 1 :]
        for piece in split_to_fit(line, budget - _ACTION_WRAPPING if action else budget):
            text = clock + piece
            if action:
                text = f"{_CTCP}{_ACTION} {text}{_CTCP}" if text else f"{_CTCP}{_ACTION}{_CTCP}"
            texts.append(text)
    params, source = template.params, template.source
    if MESSAGE_TAGS not in capabilities:
        return [
            Message("PRIVMSG", (*params, text), source, tags, force_trailing=True) for text in texts
        ]
    return [
        Message(
            "PRIVMSG",
            (*params, text),
            source,
            {**tags, "msgid": _msgid(record, channel, part)},
            force_trailing=True,
        )
        for part, text in enumerate(texts)
    ]


def _msgid(record: Mapping[str, Any], channel: str, part: int) -> str:
    """A stored record's msgid names its room and id; a private message's is derived."""
    message_id = record.get("id")
    if message_id is not None:
        return msgid_for(nickname_key(channel), message_id, part)
    return private_msgid(
        record["timestamp"], record["nickname"], record["to"], record["message"], part
    )


def replay_lines(
    records: Iterable[Mapping[str, Any]],
    server_name: str,
    channel: str,
    capabilities: frozenset[str],
    batch_reference: str = "history",
) -> Iterator[Message]:
    """The replayed history as PRIVMSGs, to follow the names list, as the records come.

    With the batch capability they form one C{chathistory} batch (opened and closed by
    the server, C{batch_reference} naming it); an empty replay sends nothing.
    """
    batch = batch_reference if BATCH in capabilities else None
    opened = False
    for record in records:
        if batch is not None and not opened:
            opened = True
            yield Message("BATCH", (f"+{batch}", HISTORY_BATCH_TYPE, channel), server_name)
        yield from chat_lines(record, channel, capabilities, replayed=True, batch=batch)
    if opened:
        yield Message("BATCH", (f"-{batch}",), server_name)


def channel_of(record: Mapping[str, Any], default_channel: str) -> str:
    """The channel a record is about: its C{room}, or the default room's channel."""
    room = record.get("room")
    return room if isinstance(room, str) else default_channel


def join_line(event: Mapping[str, Any], channel: str, capabilities: frozenset[str]) -> Message:
    """A member of any door joined a room: its JOIN of the room's channel."""
    tags = _tags(capabilities, event.get("timestamp"))
    return Message("JOIN", (channel,), member_source(event["user"]), tags)


def part_line(event: Mapping[str, Any], channel: str, capabilities: frozenset[str]) -> Message:
    """A member of any door parted a room (the connection stays): its PART, with the text
    it gave, if any."""
    tags = _tags(capabilities, event.get("timestamp"))
    text = event.get("text")
    source = member_source(event["user"])
    if not text:
        return Message("PART", (channel,), source, tags)
    return _fitted(Message("PART", (channel,), source, tags), text)


def leave_line(event: Mapping[str, Any], capabilities: frozenset[str]) -> Message:
    """A member of any door left the server: its QUIT, with the text it gave, else the
    reason in words."""
    reason = str(event.get("reason", "bye"))
    tags = _tags(capabilities, event.get("timestamp"))
    text = event.get("text") or QUIT_TEXTS.get(reason, reason)
    return _fitted(Message("QUIT", (), member_source(event["user"]), tags), text)


def topic_line(event: Mapping[str, Any], channel: str, capabilities: frozenset[str]) -> Message:
    """A member set a room's topic: its TOPIC of the room's channel."""
    tags = _tags(capabilities, event.get("timestamp"))
    source = member_source(event["user"])
    return _fitted(Message("TOPIC", (channel,), source, tags), event["topic"])


def _fitted(template: Message, text: str) -> Message:
    """C{template} with C{text} as its last parameter, cut to fit one IRC line."""
    # Made safe: a QUIT or PART text may hold what no line can (a NUL, a lone CR).
    shown = split_to_fit(safe_text(text), text_budget(template))[0] if text else ""
    return Message(
        template.command,
        (*template.params, shown),
        template.source,
        template.tags,
        force_trailing=True,
    )


def event_tags(event: Mapping[str, Any], capabilities: frozenset[str]) -> dict[str, str]:
    """The tags of a line that carries a notice (C{@time} with server-time)."""
    return _tags(capabilities, event.get("timestamp"))


def fitted_line(template: Message, text: str) -> Message:
    """C{template} with C{text} as its last parameter, made safe and cut to fit one line."""
    return _fitted(template, text)
