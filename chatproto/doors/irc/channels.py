"""The channel commands of a registered IRC client: rooms (docs/protocol.md section 12).

A channel is the room of the same name. JOIN, PART and TOPIC (setting it) are the hall's
`join`, `part` and `topic`; TOPIC (asking), NAMES and LIST of a channel read the rooms
that exist, which need not include the asker (no room is secret). What the hall refuses
becomes the numeric docs/irc.md lists: 403 for a name that is no room name or a room
that does not exist, 442 for a room one is not in, 405 past C{--max-rooms-per-member} or
C{--max-rooms}, 474 for a room that bans the client, 482 for a locked topic. MODE and
KICK are moderation's (L{chatproto.doors.irc.moderation}).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from twisted.internet.defer import FirstError, gatherResults
from twisted.python.failure import Failure

from chatproto.core.connection import ConnectionState
from chatproto.core.errors import ErrorCode, PacketRejected
from chatproto.core.messages import check_topic
from chatproto.core.room import Room
from chatproto.core.roomnames import room_key
from chatproto.doors.irc.commands import targets_of
from chatproto.doors.irc.identity import looks_like_channel
from chatproto.doors.irc.message import Message
from chatproto.doors.irc.replies import (
    ERR_NEEDMOREPARAMS,
    ERR_NOTONCHANNEL,
    RPL_ENDOFNAMES,
    RPL_LISTEND,
    RoomTopic,
)
from chatproto.doors.irc.statuses import shown_members
from chatproto.seams.history import HistoryUnavailable
from chatproto.seams.rooms import RoomFacts

if TYPE_CHECKING:
    from chatproto.doors.irc.session import IrcSession

#: JOIN 0: part every channel (RFC 2812 section 3.2.1).
_PART_ALL: Final = "0"


def topic_of(room: Room) -> RoomTopic:
    """A room's topic, and who set it when this server knows."""
    since = ""
    if room.topic_by:
        since = str(int(datetime.fromisoformat(room.topic_at).timestamp()))
    return RoomTopic(room.topic, room.topic_by, since)


def existing_room(session: IrcSession, name: str) -> Room | None:
    """The room C{name} names, if it exists; None for a name that is no room name too."""
    try:
        return session.hall.room_named(name)
    except PacketRejected:
        return None


def _is_in(session: IrcSession, room: Room) -> bool:
    return room.key in session.rooms


def _targets(session: IrcSession, command: str, message: Message) -> list[str] | None:
    """The channels of C{message}'s first parameter (461 without one, 407 past TARGMAX)."""
    replies, me = session.door.replies, session.nickname
    if not message.params or not message.params[0]:
        session.reply([replies.numeric(ERR_NEEDMOREPARAMS, me, command)])
        return None
    channels = targets_of(command, message.params[0])
    if channels is None:
        session.reply([replies.too_many_targets(me, command, message.params[0])])
    return channels


def _names_of(session: IrcSession, room: Room) -> list[str]:
    """The room's members as NAMES lists them, with their prefixes (C{@}, C{+})."""
    hall = session.hall
    return shown_members(hall.moderation, room, hall.users_of(room))


def join(session: IrcSession, message: Message) -> None:
    """JOIN #a,#b: join each room (creating it); a room one is in already is left alone.
    Keys, if given, are ignored: no room has one. JOIN 0 parts every room."""
    if message.params[:1] == (_PART_ALL,):
        for room in list(session.rooms.values()):
            session.hall.part_room(session, room.name)
            session.parted(room)
        return
    channels = _targets(session, "JOIN", message)
    if channels is None:
        return
    door, me, hall = session.door, session.nickname, session.hall
    replies = door.replies
    # The entrance of one room answers a labelled JOIN; of several, an ACK does.
    label = session.take_label() if len(channels) == 1 else None
    for name in channels:
        try:
            present = hall.room_named(name)
            if present is not None and _is_in(session, present):
                continue
            session.entrance_label, label = label, None
            hall.join_room(session, name, None)
        except PacketRejected as rejected:
            label, session.entrance_label = session.entrance_label, None
            if rejected.code is ErrorCode.TOO_MANY_ROOMS:
                session.reply([replies.too_many_channels(me, name, rejected.detail)], label)
            elif rejected.code is ErrorCode.BAD_ROOM:
                session.reply([replies.no_such_channel(me, name, rejected.detail)], label)
            elif rejected.code is ErrorCode.BANNED:
                session.reply([door.moderation.banned_from(me, name, rejected.detail)], label)
            else:
                raise
    if label is not None:  # in the room already: nothing to answer
        session.reply([], label)


def part(session: IrcSession, message: Message) -> None:
    """PART #a,#b [:text]: leave each room, the text relayed with the `leave`."""
    channels = _targets(session, "PART", message)
    if channels is None:
        return
    text = message.params[1] if len(message.params) > 1 else ""
    replies, me = session.door.replies, session.nickname
    for name in channels:
        room = existing_room(session, name)
        if room is None:
            session.reply([replies.no_such_channel(me, name)])
        elif not _is_in(session, room):
            session.reply([replies.numeric(ERR_NOTONCHANNEL, me, name)])
        else:
            session.hall.part_room(session, room.name, text)
            session.parted(room)


def topic(session: IrcSession, message: Message) -> None:
    """TOPIC #room: 331 or 332 (and 333); TOPIC #room :text sets it (members only; 482
    when the topic is locked and the client may not set it)."""
    replies, me = session.door.replies, session.nickname
    if not message.params or not message.params[0]:
        session.reply([replies.numeric(ERR_NEEDMOREPARAMS, me, "TOPIC")])
        return
    name = message.params[0]
    room = existing_room(session, name)
    if len(message.params) < 2 and room is not None and room.is_open:
        session.reply(replies.topic(me, room.name, topic_of(room)))
    elif len(message.params) < 2:  # perhaps a room of other nodes only

        def shown(found: list[tuple[str, RoomFacts | None]]) -> list[Message]:
            facts = found[0][1]
            if facts is None:
                return [replies.no_such_channel(me, name)]
            return replies.topic(me, facts.name, RoomTopic(facts.topic))

        about_rooms(session, "TOPIC", [name], shown)
    elif room is None:
        session.reply([replies.no_such_channel(me, name)])
    elif not _is_in(session, room):
        session.reply([replies.numeric(ERR_NOTONCHANNEL, me, name)])
    else:
        try:
            session.hall.set_topic(session, room.name, check_topic(message.params[1]))
        except PacketRejected as rejected:
            if rejected.code is not ErrorCode.NOT_PERMITTED:
                raise
            session.reply([session.door.moderation.not_operator(me, room.name, rejected.detail)])


def names(session: IrcSession, message: Message) -> None:
    """NAMES [#a,#b]: 353/366 for each room that exists (on any node), only 366 for one
    that does not; without a channel, for each room the client is in."""
    replies, me = session.door.replies, session.nickname
    if not message.params or not message.params[0]:
        answer: list[Message] = []
        for room in session.rooms.values():
            answer += replies.names(me, room.name, _names_of(session, room))
        session.reply(answer or [replies.numeric(RPL_ENDOFNAMES, me, "*")])
        return
    channels = _targets(session, "NAMES", message)
    if channels is None:
        return

    def shown(found: list[tuple[str, RoomFacts | None]]) -> list[Message]:
        shown: list[Message] = []
        for name, facts in found:
            if facts is None:
                shown.append(replies.numeric(RPL_ENDOFNAMES, me, name))
            else:
                shown += replies.names(me, facts.name, _shown_names(session, facts))
        return shown

    about_rooms(session, "NAMES", channels, shown)


def nicknames_of(facts: RoomFacts) -> list[str]:
    """The display nicknames of a room's members, in join order."""
    return [json.loads(user) for user in facts.users]


def _shown_names(session: IrcSession, facts: RoomFacts) -> list[str]:
    """A room's members as NAMES lists them: with their prefixes (C{@}, C{+}) when the
    room is this node's (other nodes' ranks are not known here)."""
    users = nicknames_of(facts)
    room = existing_room(session, facts.name)
    return shown_members(session.hall.moderation, room, users) if room is not None else users


def about_rooms(
    session: IrcSession,
    command: str,
    names: list[str],
    answer: Callable[[list[tuple[str, RoomFacts | None]]], list[Message]],
) -> None:
    """Reply what C{answer} makes of the rooms C{names} as every node sees them (each
    name with its room, None for no such room), labelled if the command was: at once
    for rooms this node reads, once the shared store answers for the others; a server
    NOTICE (`unavailable`) when it cannot be read."""
    label = session.take_label()
    asked = gatherResults([session.hall.room_about(name) for name in names], consumeErrors=True)

    def answered(found: list[RoomFacts | None]) -> None:
        if session.state is ConnectionState.JOINED:
            session.reply(answer(list(zip(names, found, strict=True))), label)

    def refused(failure: Failure) -> Failure | None:
        failure.trap(FirstError)  # type: ignore[no-untyped-call]
        assert isinstance(failure.value, FirstError)
        first: Failure = failure.value.subFailure
        if not first.check(HistoryUnavailable):  # type: ignore[no-untyped-call]
            return first
        if session.state is ConnectionState.JOINED:
            replies, me = session.door.replies, session.nickname
            detail = "Rooms cannot be read now"
            error = replies.core_error(me, ErrorCode.UNAVAILABLE, detail, command=command)
            session.reply([error], label)
        return None

    asked.addCallbacks(answered, refused)


def list_rooms(session: IrcSession, message: Message) -> None:
    """LIST [#a,#b]: 322 for each room (of those named) that has members on any node,
    then 323; a server NOTICE (`unavailable`) when the shared rooms cannot be read."""
    asked = message.params[0] if message.params and looks_like_channel(message.params[0]) else ""
    keys: set[str] | None = None
    if asked:
        channels = _targets(session, "LIST", message)
        if channels is None:
            return
        keys = {room_key(name) for name in channels}
    label = session.take_label()  # answered once the listing is read
    replies, me = session.door.replies, session.nickname

    def answered(listing: tuple[int, list[dict[str, Any]]]) -> None:
        if session.state is not ConnectionState.JOINED:
            return
        shown = [
            replies.listed(me, entry["room"], entry["users"], entry["topic"])
            for entry in listing[1]
            if entry["users"] and (keys is None or room_key(entry["room"]) in keys)
        ]
        session.reply([*shown, replies.numeric(RPL_LISTEND, me)], label)

    def refused(failure: Failure) -> Failure | None:
        if not failure.check(HistoryUnavailable):  # type: ignore[no-untyped-call]
            return failure
        if session.state is ConnectionState.JOINED:
            detail = "Rooms cannot be listed now"
            session.reply(
                [replies.core_error(me, ErrorCode.UNAVAILABLE, detail, command="LIST")], label
            )
        return None

    session.hall.room_listing().addCallbacks(answered, refused)


#: The channel commands, by name.
CHANNEL_COMMANDS: Final[dict[str, Callable[[IrcSession, Message], None]]] = {
    "JOIN": join,
    "LIST": list_rooms,
    "NAMES": names,
    "PART": part,
    "TOPIC": topic,
}
