"""How each received item and local notice looks: styled fragments, or plain text.

Every line says by its first characters what it is, whatever a nickname or a
message holds: chat is C{[HH:MM] <nick> text} (a nickname always inside angle
brackets), server notices are C{[HH:MM] *** ...} or C{[HH:MM] !!! ...}, and
the client's own remarks are C{--- ...} without a time. Later lines of a
message are indented, so none of them can start like one of these either.
What happens in a room other than the current one starts with its name:
C{[#rust] [HH:MM] <bob> hi}. After C{/ids} a public message shows its id after
the time: C{[HH:MM] #42 <bob> hi}. Operators are marked C{@} in the lists of
who is online; an announcement to the whole server is a C{!!!} line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from chatproto.client.escaping import split_unsafe
from chatproto.client.incoming import (
    ChatMessage,
    Incoming,
    Notice,
    RoomInfo,
    Unreadable,
    int_field,
    string_field,
    string_list,
)
from chatproto.client.moderation_notices import Ban, ModerationChange

#: A line to show: (style class, text) fragments, as prompt_toolkit's formatted text.
Line = list[tuple[str, str]]

#: Continuation lines of a multi-line message are indented by this much.
INDENT: Final = "    "
#: An unreadable frame is shown cut to this many characters.
_UNREADABLE_SHOWN: Final = 200

_LEAVE_REASONS: Final = {
    "bye": "left",
    "disconnected": "left (connection lost)",
    "slow": "was disconnected (too slow to keep up)",
    "flood": "was disconnected (flooding)",
    "part": "left the room",
}
#: How an operator's removal of a member is said.
_REMOVALS: Final = {"kicked": "was kicked by", "banned": "was banned by"}
#: How a C{moderation} notice is said: the words between C{by} and C{user} (or C{mask}).
_ACTIONS: Final = {
    "mute": "muted",
    "unmute": "unmuted",
    "ban": "banned",
    "unban": "lifted the ban on",
    "op": "made an operator:",
    "deop": "took operator status from",
    "voice": "gave a voice to",
    "devoice": "took the voice of",
}
#: How the switches C{topic-lock} and C{moderated} are said, off and on.
_SWITCHES: Final = {
    "topic-lock": ("unlocked the topic", "locked the topic (only operators set it)"),
    "moderated": (
        "made the room unmoderated",
        "made the room moderated (only operators and voiced members speak)",
    ),
}
#: How a line of the default room is marked while another room is current (the
#: server never names the default room).
DEFAULT_ROOM_LABEL: Final = "default"


class Level(StrEnum):
    """How much a local notice matters."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True)
class LocalNotice:
    """Something the client itself tells the person (connecting, reconnecting, help, ...)."""

    level: Level
    text: str


@dataclass(frozen=True)
class Pending:
    """A message typed while we are not joined: it is sent once we are back."""

    text: str
    to: str | None = None


@dataclass(frozen=True)
class Numbered:
    """A public message shown with its id (after C{/ids})."""

    message: ChatMessage

    @property
    def packet(self) -> dict[str, Any]:
        """The message's packet as received."""
        return self.message.packet


@dataclass(frozen=True)
class Marked:
    """C{item} from a room other than the current one, C{room} (C{None}: the default)."""

    room: str | None
    item: ChatMessage | Notice | Numbered


Shown = Incoming | LocalNotice | Pending | Marked | Numbered


@dataclass(frozen=True)
class _Net:
    """A piece of text from the network: escaped when shown."""

    text: str


def _untrusted(style: str, text: str, *, one_line: bool) -> Line:
    """Fragments showing network text: controls escaped (styled C{escaped}), never obeyed.

    Unless C{one_line}, tabs become spaces and newlines start an indented line.
    """
    fragments: Line = []
    pieces = [text] if one_line else text.replace("\t", INDENT).split("\n")
    for index, piece in enumerate(pieces):
        if index:
            fragments.append((style, "\n" + INDENT))
        for unsafe, run in split_unsafe(piece):
            fragments.append(("class:escaped" if unsafe else style, run))
    return fragments


def _line(style: str, *parts: str | _Net, one_line: bool = True) -> Line:
    """Fragments in one style from our own words (C{str}) and network text (L{_Net})."""
    fragments: Line = []
    for part in parts:
        if isinstance(part, _Net):
            fragments += _untrusted(style, part.text, one_line=one_line)
        else:
            fragments.append((style, part))
    return fragments


def clock(moment: datetime | None) -> str:
    """C{[HH:MM]} in local time, or C{[--:--]} when the server gave no readable time."""
    if moment is None:
        return "[--:--]"
    return moment.astimezone().strftime("[%H:%M]")


def _names(names: list[str], operators: list[str]) -> Line:
    """The names, operators marked C{@} (as IRC does)."""
    fragments: Line = []
    for index, name in enumerate(names):
        mark = "@" if name in operators else ""
        fragments += _line("class:nick", ", " if index else "", mark, _Net(name))
    return fragments


def _chat(message: ChatMessage, one_line: bool, *, numbered: bool = False) -> Line:
    nick_style = "class:own" if message.own else "class:nick"
    text_style = "class:history" if message.history else "class:text"
    line: Line = []
    if message.history:
        line.append(("class:history", "(history) "))
    line.append(("class:time", clock(message.time) + " "))
    if numbered and message.id is not None:
        line.append(("class:id", f"#{message.id} "))
    line += _line(nick_style, "<", _Net(message.nickname))
    if message.to is None:
        line.append((nick_style, "> "))
    else:
        line += _line("class:private", " -> ", _Net(message.to), "> (private) ")
    return line + _line(text_style, _Net(message.text), one_line=one_line)


def _rooms(notice: Notice) -> Line:
    rooms = RoomInfo.listed(notice)
    line: Line = [("class:notice", f"*** Rooms ({len(rooms)}): ")]
    for index, info in enumerate(rooms):
        line += _line("class:notice", "; " if index else "", _Net(info.room), f" ({info.users})")
        if info.topic:
            line += _line("class:notice", " ", _Net(info.topic))
    return line


def _seconds(seconds: float | None) -> str:
    """C{ for N s} when the notice gives C{seconds}, else nothing."""
    return "" if seconds is None else f" for {seconds:g} s"


def _comment(comment: str | None) -> tuple[str | _Net, ...]:
    """C{ (comment)} when there is one."""
    return () if not comment else (" (", _Net(comment), ")")


def _moderation(notice: Notice, one_line: bool) -> Line:
    change = ModerationChange.of(notice)
    by = _Net(change.by)
    switch = _SWITCHES.get(change.action)
    if switch is not None:
        return _line("class:moderation", "*** ", by, " ", switch[change.on is True])
    said = _ACTIONS.get(change.action)
    target = change.user or change.mask
    if said is None or target is None:
        return _line("class:moderation", "*** ", _Net(notice.message), one_line=one_line)
    return _line(
        "class:moderation",
        "*** ",
        by,
        f" {said} ",
        _Net(target),
        _seconds(change.seconds),
        *_comment(change.comment),
    )


def _bans(notice: Notice) -> Line:
    bans = Ban.listed(notice)
    line: Line = [("class:notice", f"*** Bans ({len(bans)})" + (": " if bans else ""))]
    for index, ban in enumerate(bans):
        until = "" if ban.until is None else f" until {clock(ban.until)[1:-1]}"
        line += _line("class:notice", "; " if index else "", _Net(ban.mask), " by ", _Net(ban.by))
        line += _line("class:notice", until, *_comment(ban.comment))
    return line


def _notice_body(notice: Notice, one_line: bool) -> Line:
    packet = notice.packet
    user = _Net(string_field(packet, "user") or "?")
    if notice.event in ("welcome", "who"):
        users = string_list(packet, "users")
        room = notice.room
        greeting = "" if notice.event == "who" else "Welcome! "
        if notice.event == "welcome" and room is not None:
            greeting = f"Welcome to {room}! "
        line = _line("class:notice", "*** ", _Net(greeting), f"Online ({len(users)}): ")
        line += _names(users, string_list(packet, "operators"))
        topic = string_field(packet, "topic")
        if notice.event == "welcome" and topic:
            line += _line("class:notice", " | Topic: ", _Net(topic))
        return line
    if notice.event == "topic":
        topic = string_field(packet, "topic") or ""
        if not topic:
            return _line("class:notice", "*** ", user, " cleared the topic")
        return _line("class:notice", "*** ", user, " set the topic: ", _Net(topic))
    if notice.event == "rooms":
        return _rooms(notice)
    if notice.event == "join":
        return _line("class:join", "*** ", user, " joined")
    if notice.event == "leave":
        reason = string_field(packet, "reason") or "bye"
        if reason in _REMOVALS:
            by = _Net(string_field(packet, "by") or "?")
            comment = _comment(string_field(packet, "comment"))
            return _line("class:leave", "*** ", user, f" {_REMOVALS[reason]} ", by, *comment)
        said = _LEAVE_REASONS.get(reason)
        if said is None:
            return _line("class:leave", "*** ", user, " left (", _Net(reason), ")")
        return _line("class:leave", "*** ", user, f" {said}")
    if notice.event == "moderation":
        return _moderation(notice, one_line)
    if notice.event == "bans":
        return _bans(notice)
    if notice.event == "redact":
        by = _Net(string_field(packet, "by") or "?")
        redacted = f" redacted message #{int_field(packet, 'id') or '?'}"
        comment = _comment(string_field(packet, "comment"))
        return _line("class:moderation", "*** ", by, redacted, *comment)
    message = _Net(notice.message)
    if notice.event == "announce":
        return _line("class:announce", "!!! Announcement: ", message, one_line=one_line)
    if notice.event == "error":
        code = _Net(string_field(packet, "code") or "error")
        return _line("class:error", "!!! ", message, " (", code, ")", one_line=one_line)
    if notice.event == "shutdown":
        return _line("class:shutdown", "!!! ", message, one_line=one_line)
    return _line("class:notice", "*** ", message, one_line=one_line)


def render(item: Shown, *, one_line: bool = False) -> Line:
    """The line showing C{item}; with C{one_line}, newlines and tabs are escaped too."""
    if isinstance(item, Marked):
        room = _Net(DEFAULT_ROOM_LABEL if item.room is None else item.room)
        return _line("class:room", "[", room, "] ") + render(item.item, one_line=one_line)
    if isinstance(item, ChatMessage):
        return _chat(item, one_line)
    if isinstance(item, Numbered):
        return _chat(item.message, one_line, numbered=True)
    if isinstance(item, Notice):
        return [("class:time", clock(item.time) + " "), *_notice_body(item, one_line)]
    if isinstance(item, Unreadable):
        shown = _Net(item.text[:_UNREADABLE_SHOWN])
        return _line("class:error", "!!! The server sent something unreadable: ", shown)
    if isinstance(item, Pending):
        said = "--- Not connected; sent once we are back"
        to: tuple[str | _Net, ...] = () if item.to is None else (" (to ", _Net(item.to), ")")
        return _line("class:status.warning", said, *to, ": ", _Net(item.text))
    return [(f"class:status.{item.level}", "--- " + item.text)]


def plain(line: Line) -> str:
    """The text of a line without its styles."""
    return "".join(text for _, text in line)
