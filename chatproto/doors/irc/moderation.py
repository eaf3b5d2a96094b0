"""The moderation commands of a registered IRC client (docs/protocol.md section 14):
C{KICK}, C{MODE} of a channel and C{REDACT}.

Each command is translated to the hall's moderation
(L{chatproto.core.moderation.moderator.Moderation}), whose policy decides who may do
what; its refusals become IRC's replies (482 for C{not-permitted}, 441 or 401 for a
member who is not there, C{FAIL REDACT ...} for a redaction). What an accepted command
changes reaches every member of the room, the client included, as the core's notices
(L{chatproto.doors.irc.modlines}), so nothing here echoes a change itself. While a
command waits for the moderation store, the client's next lines wait too, so that its
answers come in the order it asked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from twisted.internet.defer import Deferred, gatherResults
from twisted.logger import Logger
from twisted.python.failure import Failure

from chatproto.core.errors import ErrorCode, PacketRejected
from chatproto.core.messages import check_comment
from chatproto.core.moderation.policy import Action, may
from chatproto.core.msgids import parse_msgid
from chatproto.core.reading import hold_reading_until
from chatproto.core.room import Room
from chatproto.doors.irc.channels import existing_room
from chatproto.doors.irc.identity import looks_like_channel
from chatproto.doors.irc.masks import UnsupportedMask, core_mask, irc_mask, muted_nickname
from chatproto.doors.irc.message import Message
from chatproto.doors.irc.modes import ModeChange, mode_string, read_modes
from chatproto.doors.irc.modreplies import ListEntry
from chatproto.doors.irc.replies import ERR_NEEDMOREPARAMS
from chatproto.seams.moderation import Flag

if TYPE_CHECKING:
    from chatproto.doors.irc.session import IrcSession

#: The mode letter of each switch, as 324 shows it.
_SWITCH_LETTERS: Final = {Flag.TOPIC_LOCK: "t", Flag.MODERATED: "m"}
#: What the non-operators' ban list says it leaves out.
_BANS_FOR_OPERATORS: Final = "End of channel ban list (only its operators see the bans)"
#: The IRCv3 message-redaction codes of the core's refusals of a `redact`.
_REDACT_CODES: Final = {
    ErrorCode.NOT_PERMITTED: "REDACT_FORBIDDEN",
    ErrorCode.MALFORMED: "UNKNOWN_MSGID",
}

#: A command of the core's moderation, ready to run: raises or fails with
#: L{PacketRejected} when refused.
_Act = Callable[[], Deferred[None]]


_log = Logger("chatproto.irc")


def kick(session: IrcSession, message: Message) -> None:
    """KICK #room nick [:comment]: the member leaves the room (`kick`; without a comment,
    the KICK others see shows the kicker's nickname)."""
    params = message.params
    if len(params) < 2 or not params[0] or not params[1]:
        session.reply([session.door.replies.numeric(ERR_NEEDMOREPARAMS, session.nickname, "KICK")])
        return
    room = _room(session, params[0])
    if room is None:
        return
    user, given = params[1], params[2:3]
    moderation = session.hall.moderation

    def act() -> Deferred[None]:
        comment = check_comment(given[0]) if given and given[0] else None
        return moderation.kick(session, room.name, user, comment)

    replies: list[Message] = []
    waits = _act(session, "KICK", room, user, act, replies)
    _answer(session, replies, waits)


def channel_mode(session: IrcSession, message: Message) -> None:
    """MODE #room [modes [arguments]]: without modes, the room's (324, and 329: when this
    server came to know it); C{b} alone, the ban list; else each change, in order, as the
    core's command."""
    room = _room(session, message.params[0])
    if room is None:
        return
    me, door = session.nickname, session.door
    moderation = session.hall.moderation
    words = message.params[1:]
    if not words:
        switches = moderation.switches_of(room)
        modes = mode_string([_SWITCH_LETTERS[flag] for flag in switches])
        created = str(int(room.created))
        session.reply(door.moderation.channel_modes(me, room.name, modes, created))
        return
    request = read_modes(words)
    replies = [door.moderation.unknown_mode(me, letter) for letter in request.unknown]
    replies += [door.replies.numeric(ERR_NEEDMOREPARAMS, me, "MODE") for _ in request.missing[:1]]
    if request.lists:
        replies += _ban_list(session, room)
    waits: list[Deferred[None]] = []
    for change in request.changes:
        act = _mode_command(session, room, change, replies)
        if act is not None:
            argument = change.argument or ""
            waits += _act(session, "MODE", room, argument, act, replies)
    _answer(session, replies, waits)


def redact(session: IrcSession, message: Message) -> None:
    """REDACT #room msgid [:reason] (IRCv3 draft/message-redaction): the core's `redact`
    of the message the msgid names; refused with C{FAIL REDACT <code>}."""
    params = message.params
    door, me = session.door, session.nickname
    if len(params) < 2 or not params[0] or not params[1]:
        session.reply([door.replies.numeric(ERR_NEEDMOREPARAMS, me, "REDACT")])
        return
    target, msgid = params[0], params[1]
    room = existing_room(session, target) if looks_like_channel(target) else None
    if room is None:  # a private message is not kept, so it cannot be taken back
        why = "Only messages of a channel that exists can be redacted"
        session.reply([door.moderation.redact_failed("INVALID_TARGET", why, target)])
        return
    named = parse_msgid(msgid)
    if named is None or named[0] != room.key:
        why = f"{room.name} has no message with that msgid"
        session.reply([door.moderation.redact_failed("UNKNOWN_MSGID", why, target, msgid)])
        return
    moderation = session.hall.moderation

    def refused(rejected: PacketRejected) -> Message:
        code = _REDACT_CODES.get(rejected.code)
        if code is None:
            return door.replies.core_error(me, rejected.code, rejected.detail, command="REDACT")
        return door.moderation.redact_failed(code, rejected.detail, target, msgid)

    try:
        comment = check_comment(params[2]) if len(params) > 2 and params[2] else None
        done = moderation.redact(session, room.name, named[1], comment)
    except PacketRejected as rejected:
        session.reply([refused(rejected)])
        return
    _answer_redaction(session, done, refused)


def _room(session: IrcSession, name: str) -> Room | None:
    """The room C{name} names; 403 when there is none."""
    room = existing_room(session, name)
    if room is None:
        session.reply([session.door.replies.no_such_channel(session.nickname, name)])
    return room


def _ban_list(session: IrcSession, room: Room) -> list[Message]:
    """367 per ban and 368 for an operator of the room (the policy's `bans`); for anyone
    else only 368, which says why (clients ask for the list on every join)."""
    moderation, replies, me = session.hall.moderation, session.door.moderation, session.nickname
    if not may(Action.BANS, moderation.rank(session, room)):
        return replies.ban_list(me, room.name, [], end=_BANS_FOR_OPERATORS)
    entries = [ListEntry(irc_mask(ban.mask)) for ban in moderation.list_bans(room)]
    return replies.ban_list(me, room.name, entries)


def _mode_command(
    session: IrcSession, room: Room, change: ModeChange, replies: list[Message]
) -> _Act | None:
    """The core's command for one mode change (None, with a reply, for a ban mask the
    room cannot match)."""
    moderation, name = session.hall.moderation, room.name
    adding, argument = change.adding, change.argument or ""
    match change.letter:
        case "b":
            try:
                mask = core_mask(argument)
            except UnsupportedMask as e:
                me = session.nickname
                replies.append(
                    session.door.moderation.invalid_mode_parameter(me, name, "b", argument, str(e))
                )
                return None
            if adding:
                return lambda: moderation.ban(session, name, mask)
            return lambda: moderation.unban(session, name, mask)
        case "q":
            user = muted_nickname(argument)
            if adding:
                return lambda: moderation.mute(session, name, user)
            return lambda: moderation.unmute(session, name, user)
        case "o":
            grant, revoke = moderation.op, moderation.deop
        case "v":
            grant, revoke = moderation.voice, moderation.devoice
        case "t":
            return lambda: moderation.set_topic_lock(session, name, adding)
        case _:  # "m": read_modes knows no other letter
            return lambda: moderation.set_moderated(session, name, adding)
    act = grant if adding else revoke
    return lambda: act(session, name, argument)


def _act(
    session: IrcSession,
    command: str,
    room: Room,
    argument: str,
    act: _Act,
    replies: list[Message],
) -> list[Deferred[None]]:
    """Run one command of the core; a refusal at once joins C{replies}, one that comes
    later (the store) is answered then. The Deferred to wait for, if any."""
    try:
        done = act()
    except PacketRejected as rejected:
        replies.append(_refusal(session, command, room, argument, rejected))
        return []
    return [done.addErrback(_later, session, command, room, argument)]


def _later(failure: Failure, session: IrcSession, command: str, room: Room, argument: str) -> None:
    """A refusal that came once the store answered."""
    if not isinstance(failure.value, PacketRejected):
        session.reply([_unanswerable(session, command, failure)])
        return
    session.reply([_refusal(session, command, room, argument, failure.value)])


def _unanswerable(session: IrcSession, command: str, failure: Failure) -> Message:
    """The reply to a command that failed for another reason than a refusal (logged):
    the client is told it cannot be done now, as the packet doors answer `unavailable`."""
    _log.failure("{command} failed", failure, command=command, event_kind="error")
    detail = "Moderation cannot be changed now"
    return session.door.replies.core_error(
        session.nickname, ErrorCode.UNAVAILABLE, detail, command=command
    )


def _refusal(
    session: IrcSession, command: str, room: Room, target: str, rejected: PacketRejected
) -> Message:
    """The reply to a refused KICK or MODE change: 482 (not permitted), 441 or 401 (the
    member is not in the room, or nowhere), else the core's error."""
    door, me, code = session.door, session.nickname, rejected.code
    if code is ErrorCode.NOT_PERMITTED:
        return door.moderation.not_operator(me, room.name, rejected.detail)
    if code is ErrorCode.NO_SUCH_USER:
        if _is_anywhere(session, target):
            return door.moderation.not_in_channel(me, target, room.name)
        return door.replies.core_error(me, code, rejected.detail, target=target)
    return door.replies.core_error(me, code, rejected.detail, command=command)


def _is_anywhere(session: IrcSession, nickname: str) -> bool:
    """Whether a member of any door, on any node, holds C{nickname}."""
    return not session.hall.is_free(nickname)


def _answer(session: IrcSession, replies: list[Message], waits: list[Deferred[None]]) -> None:
    """Send C{replies} (each once), and read nothing more from the client until the
    commands it waits for are answered."""
    shown: list[Message] = []
    for reply in replies:
        if reply not in shown:
            shown.append(reply)
    if shown:
        session.reply(shown)
    if waits:
        hold_reading_until(session, gatherResults(waits, consumeErrors=True))


def _answer_redaction(
    session: IrcSession, done: Deferred[None], refused: Callable[[PacketRejected], Message]
) -> None:
    """Read nothing more until C{done} is answered; its refusal is C{refused}'s."""

    def failed(failure: Failure) -> None:
        if not isinstance(failure.value, PacketRejected):
            session.reply([_unanswerable(session, "REDACT", failure)])
            return
        session.reply([refused(failure.value)])

    hold_reading_until(session, done.addErrback(failed))


#: The moderation commands, by name (MODE of a channel is dispatched by its target).
MODERATION_COMMANDS: Final[dict[str, Callable[[IrcSession, Message], None]]] = {
    "KICK": kick,
    "REDACT": redact,
}
