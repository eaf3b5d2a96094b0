"""Commands of a registered client that the door answers on its own, and chat it hands on.

L{LocalCommands} answers what needs nothing from the rooms (a user's own MODE, TIME, MOTD,
PING, a NICK change, USER and PASS again, TAGMSG). L{read_chat} turns a PRIVMSG or NOTICE
into L{Say}s for the rooms. What is left (QUIT, the channel commands of
L{chatproto.doors.irc.channels}, WHO, WHOIS and chat itself) needs the rooms' members or
the hall's answer; any other command gets 421.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from chatproto.core.nicknames import nickname_key
from chatproto.doors.irc.identity import looks_like_channel
from chatproto.doors.irc.mapping import CtcpNotCarried, text_for_room
from chatproto.doors.irc.message import Message
from chatproto.doors.irc.replies import (
    ERR_ALREADYREGISTERED,
    ERR_NEEDMOREPARAMS,
    ERR_NICKCHANGEREFUSED,
    ERR_NONICKNAMEGIVEN,
    ERR_NOTEXTTOSEND,
    ERR_UMODEUNKNOWNFLAG,
    ERR_USERSDONTMATCH,
    TARGMAX,
    USER_MODES,
    Replies,
)

#: A change of one's own modes: signs and letters (C{+i}, C{-i}, C{i}).
_MODE_CHANGE: Final = re.compile(r"([+-]?)([A-Za-z]+)")
NOTICE: Final = "NOTICE"


@dataclass(frozen=True)
class Say:
    """One chat message: public in the room C{room} (a channel), else private to C{to}.

    C{command} is PRIVMSG or NOTICE; the door answers errors about a NOTICE with nothing,
    since a NOTICE never causes an automatic reply.
    """

    command: str
    text: str
    to: str | None = None
    room: str | None = None

    @property
    def target(self) -> str:
        """The channel or nickname it is for, as the client named it."""
        target = self.room if self.room is not None else self.to
        assert target is not None
        return target


def targets_of(command: str, targets: str) -> list[str] | None:
    """The comma-separated C{targets} of C{command}, each once (the first spelling of those
    that compare equal as nicknames do, section 3), in order; None when there are more
    than its L{TARGMAX} (repeats counted: the client is answered 407 and nothing is done).
    """
    named = targets.split(",")
    if len(named) > TARGMAX[command]:
        return None
    distinct: dict[str, str] = {}
    for target in named:
        distinct.setdefault(nickname_key(target), target)
    return list(distinct.values())


def read_chat(replies: Replies, me: str, message: Message) -> tuple[list[Say], list[Message]]:
    """A PRIVMSG or NOTICE as messages for the room, and replies for what cannot go.

    Targets may be a comma-separated list of up to C{TARGMAX} (more: 407 and nothing is
    sent; a repeated target gets the message once). A channel target is a room (the hall
    checks the name and the membership), another target a nickname. A missing target gets
    411, missing text 412, a CTCP request other than ACTION a server notice; a NOTICE gets
    none of these replies.
    """
    command, params = message.command, message.params
    silent = command == NOTICE
    if not params or not params[0]:
        return [], [] if silent else [replies.no_recipient(me, command)]
    if len(params) < 2 or not params[1]:
        return [], [] if silent else [replies.numeric(ERR_NOTEXTTOSEND, me)]
    try:
        text = text_for_room(me, params[1])
    except CtcpNotCarried as e:
        notice = replies.notice(me, f"CTCP {e.name} is not carried to the room")
        return [], [] if silent else [notice]
    targets = targets_of(command, params[0])
    if targets is None:
        return [], [] if silent else [replies.too_many_targets(me, command, params[0])]
    says: list[Say] = []
    errors: list[Message] = []
    for target in targets:
        if looks_like_channel(target):
            says.append(Say(command, text, room=target))
        elif target:
            says.append(Say(command, text, target))
    return says, [] if silent else errors


class LocalCommands:
    """Answers the commands of a registered client that need nothing from the room."""

    def __init__(self, replies: Replies) -> None:
        self._replies = replies
        self._handlers: dict[str, Callable[[str, tuple[str, ...], str], list[Message]]] = {
            "MODE": self._mode,
            "MOTD": lambda me, params, now: replies.motd(me),
            "NICK": self._nick,
            "PASS": lambda me, params, now: [replies.numeric(ERR_ALREADYREGISTERED, me)],
            "PING": lambda me, params, now: [replies.answer_ping(me, params)],
            "PONG": lambda me, params, now: [],  # the door's idle timer has seen it
            "TAGMSG": lambda me, params, now: [],  # client-only tags are not carried
            "TIME": lambda me, params, now: [replies.time(me, now)],
            "USER": lambda me, params, now: [replies.numeric(ERR_ALREADYREGISTERED, me)],
        }

    def handles(self, command: str) -> bool:
        """Whether L{answer} takes C{command}."""
        return command in self._handlers

    def answer(self, me: str, message: Message, now: str) -> list[Message]:
        """The replies to C{message} from C{me}; C{now} is the server's RFC 3339 time."""
        return self._handlers[message.command](me, message.params, now)

    def _mode(self, me: str, params: tuple[str, ...], now: str) -> list[Message]:
        """A user's own modes (a channel's are the session's: they need the rooms)."""
        if not params or not params[0]:
            return [self._replies.numeric(ERR_NEEDMOREPARAMS, me, "MODE")]
        target, changes = params[0], params[1:]
        if nickname_key(target) != nickname_key(me):
            return [self._replies.numeric(ERR_USERSDONTMATCH, me)]
        if not changes:
            return [self._replies.user_modes(me)]
        return self._own_modes(me, changes[0])

    def _own_modes(self, me: str, change: str) -> list[Message]:
        """A change of one's own modes: only C{i} is known, and every member has it.

        Adding it is confirmed with the MODE line servers send for a change (IRC clients
        ask for it on connecting and wait for that answer); taking it away changes nothing,
        so nothing is sent; any other letter is 501.
        """
        parsed = _MODE_CHANGE.fullmatch(change)
        if parsed is None or set(parsed.group(2)) - set(USER_MODES):
            return [self._replies.numeric(ERR_UMODEUNKNOWNFLAG, me)]
        if parsed.group(1) == "-":
            return []
        return [self._replies.user_modes_set(me, f"+{USER_MODES}")]

    def _nick(self, me: str, params: tuple[str, ...], now: str) -> list[Message]:
        if not params or not params[0]:
            return [self._replies.numeric(ERR_NONICKNAMEGIVEN, me)]
        if nickname_key(params[0]) == nickname_key(me):
            return []
        return [self._replies.numeric(ERR_NICKCHANGEREFUSED, me)]
