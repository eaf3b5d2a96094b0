"""The moderation commands of the packet doors (docs/protocol.md section 14): each reads
its fields strictly and calls the hall's moderation
(L{chatproto.core.moderation.moderator.Moderation}), which decides and acts; a
command that waits for the moderation store holds the client's input until it is
answered (L{PacketSession.one_at_a_time})."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from twisted.internet.defer import Deferred

from chatproto.core.errors import ErrorCode, PacketRejected
from chatproto.core.messages import check_comment, check_message
from chatproto.doors.packets.fields import is_count, room_of, text_field

if TYPE_CHECKING:
    from chatproto.core.moderation.moderator import Moderation
    from chatproto.doors.packets.dialogue import PacketSession

#: What the client is told when the moderation store is out of reach.
_UNAVAILABLE = "Moderation cannot be changed now"


def _kick(session: PacketSession, packet: dict[str, Any]) -> Deferred[None]:
    moderation = session.hall.moderation
    return moderation.kick(session, room_of(packet), _user(packet), _comment(packet))


def _mute(session: PacketSession, packet: dict[str, Any]) -> Deferred[None]:
    room, user, seconds = room_of(packet), _user(packet), _seconds(packet)
    return session.hall.moderation.mute(session, room, user, seconds, _comment(packet))


def _unmute(session: PacketSession, packet: dict[str, Any]) -> Deferred[None]:
    moderation = session.hall.moderation
    return moderation.unmute(session, room_of(packet), _user(packet), _comment(packet))


def _ban(session: PacketSession, packet: dict[str, Any]) -> Deferred[None]:
    server_wide, room = _scope(packet)
    mask, seconds, comment = text_field(packet, "mask"), _seconds(packet), _comment(packet)
    return session.hall.moderation.ban(session, room, mask, seconds, comment, server_wide)


def _unban(session: PacketSession, packet: dict[str, Any]) -> Deferred[None]:
    server_wide, room = _scope(packet)
    mask, comment = text_field(packet, "mask"), _comment(packet)
    return session.hall.moderation.unban(session, room, mask, comment, server_wide)


def _bans(session: PacketSession, packet: dict[str, Any]) -> Deferred[None]:
    server_wide, room = _scope(packet)
    return session.hall.moderation.bans(session, room, server_wide)


def _redact(session: PacketSession, packet: dict[str, Any]) -> Deferred[None]:
    message_id: Any = packet.get("id")
    if not is_count(message_id) or message_id < 1:
        raise PacketRejected(ErrorCode.MALFORMED, "id must be a message id (an integer >= 1)")
    moderation = session.hall.moderation
    return moderation.redact(session, room_of(packet), message_id, _comment(packet))


def _role(
    change: Callable[[Moderation], Callable[..., Deferred[None]]],
) -> Callable[[PacketSession, dict[str, Any]], Deferred[None]]:
    """A command naming a room and a user: op, deop, voice, devoice."""

    def command(session: PacketSession, packet: dict[str, Any]) -> Deferred[None]:
        act = change(session.hall.moderation)
        return act(session, room_of(packet), _user(packet), _comment(packet))

    return command


def _switch(
    change: Callable[[Moderation], Callable[..., Deferred[None]]],
) -> Callable[[PacketSession, dict[str, Any]], Deferred[None]]:
    """A command switching a room's flag: topic-lock, moderated."""

    def command(session: PacketSession, packet: dict[str, Any]) -> Deferred[None]:
        on = packet.get("on")
        if not isinstance(on, bool):
            raise PacketRejected(ErrorCode.MALFORMED, "on must be true or false")
        act = change(session.hall.moderation)
        return act(session, room_of(packet), on, _comment(packet))

    return command


def _announce(session: PacketSession, packet: dict[str, Any]) -> Deferred[None]:
    text = check_message(packet.get("text"), session.hall.config.max_message_bytes)
    return session.hall.moderation.announce(session, text)


def _user(packet: dict[str, Any]) -> str:
    """The `user` field: a nickname (the hall checks it names a member)."""
    return text_field(packet, "user")


def _comment(packet: dict[str, Any]) -> str | None:
    """The optional `comment` (one line, at most MAX_COMMENT_BYTES)."""
    comment = packet.get("comment")
    return None if comment is None else check_comment(comment)


def _seconds(packet: dict[str, Any]) -> int | None:
    """The optional `seconds` of a timed ban or mute (the hall checks its range)."""
    seconds = packet.get("seconds")
    if seconds is not None and not is_count(seconds):
        raise PacketRejected(ErrorCode.MALFORMED, "seconds must be an integer >= 1")
    return seconds


def _scope(packet: dict[str, Any]) -> tuple[bool, str | None]:
    """Whether a ban command is server-wide (`"scope": "server"`, without `room`), and
    its room otherwise."""
    if "scope" not in packet:
        return False, room_of(packet)
    if packet["scope"] != "server" or "room" in packet:
        raise PacketRejected(
            ErrorCode.MALFORMED, 'scope must be "server", and then the command names no room'
        )
    return True, None


_Command = Callable[["PacketSession", dict[str, Any]], Deferred[None]]

#: The moderation commands by name.
MODERATION_COMMANDS: dict[str, _Command] = {
    "kick": _kick,
    "mute": _mute,
    "unmute": _unmute,
    "ban": _ban,
    "unban": _unban,
    "bans": _bans,
    "redact": _redact,
    "op": _role(lambda moderation: moderation.op),
    "deop": _role(lambda moderation: moderation.deop),
    "voice": _role(lambda moderation: moderation.voice),
    "devoice": _role(lambda moderation: moderation.devoice),
    "topic-lock": _switch(lambda moderation: moderation.set_topic_lock),
    "moderated": _switch(lambda moderation: moderation.set_moderated),
    "announce": _announce,
}


def run_moderation(command: _Command, session: PacketSession, packet: dict[str, Any]) -> None:
    """Run one moderation command for C{session}; see the module docstring."""
    session.one_at_a_time(command(session, packet), _UNAVAILABLE)
