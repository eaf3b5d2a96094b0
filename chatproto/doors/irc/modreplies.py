"""The server's replies about moderation on the IRC door (docs/protocol.md section 14).

Numerics of channel modes and their lists, of refusals (not an operator, banned, muted)
and the IRCv3 standard replies of C{REDACT}, each built by the door's L{Replies} so that
what they echo of a client's line is made safe to write. Numeric names follow
modern.ircdocs.horse (728/729: the quiet list of Charybdis and Solanum, here the mutes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from chatproto.doors.irc.message import Message
from chatproto.doors.irc.replies import (
    ERR_CHANOPRIVSNEEDED,
    ERR_USERNOTINCHANNEL,
    RPL_CHANNELMODEIS,
    RPL_ENDOFBANLIST,
    Replies,
)

RPL_CREATIONTIME: Final = "329"
RPL_BANLIST: Final = "367"
RPL_QUIETLIST: Final = "728"
RPL_ENDOFQUIETLIST: Final = "729"
ERR_YOUREBANNEDCREEP: Final = "465"
ERR_UNKNOWNMODE: Final = "472"
ERR_BANNEDFROMCHAN: Final = "474"
ERR_INVALIDMODEPARAM: Final = "696"
#: The mode letter of the mutes in 728 and 729.
MUTE_MODE: Final = "q"


@dataclass(frozen=True)
class ListEntry:
    """One entry of a ban or mute list as IRC shows it: the C{mask}, who set it (C{by},
    "" when not known) and when (C{since}, Unix seconds as text, "" when not known)."""

    mask: str
    by: str = ""
    since: str = ""


class ModerationReplies:
    """Builds the moderation replies of one IRC door, with its L{Replies}."""

    def __init__(self, replies: Replies) -> None:
        self._replies = replies

    def channel_modes(self, me: str, channel: str, modes: str, created: str) -> list[Message]:
        """324 with the room's C{modes} (C{+nt}), then 329 with its creation time (Unix
        seconds)."""
        numeric = self._replies.numeric
        return [
            numeric(RPL_CHANNELMODEIS, me, channel, modes),
            numeric(RPL_CREATIONTIME, me, channel, created),
        ]

    def ban_list(
        self, me: str, channel: str, entries: Sequence[ListEntry], end: str | None = None
    ) -> list[Message]:
        """367 per ban, then 368 (saying C{end}, if given, what the list is)."""
        numeric = self._replies.numeric
        return [
            *(numeric(RPL_BANLIST, me, channel, *_fields(entry)) for entry in entries),
            numeric(RPL_ENDOFBANLIST, me, channel, text=end),
        ]

    def mute_list(self, me: str, channel: str, entries: Sequence[ListEntry]) -> list[Message]:
        """728 per mute, then 729."""
        numeric = self._replies.numeric
        return [
            *(numeric(RPL_QUIETLIST, me, channel, MUTE_MODE, *_fields(entry)) for entry in entries),
            numeric(RPL_ENDOFQUIETLIST, me, channel, MUTE_MODE, text="End of channel mute list"),
        ]

    def not_operator(self, me: str, channel: str, why: str = "") -> Message:
        """482: the client may not do that in C{channel} (C{why}, the core's reason)."""
        return self._replies.numeric(
            ERR_CHANOPRIVSNEEDED, me, channel, text=why or "You're not channel operator"
        )

    def not_in_channel(self, me: str, nickname: str, channel: str) -> Message:
        """441: C{nickname} is not in C{channel}."""
        return self._replies.numeric(ERR_USERNOTINCHANNEL, me, nickname, channel)

    def banned_from(self, me: str, channel: str, why: str = "") -> Message:
        """474: a ban keeps the client out of C{channel}."""
        return self._replies.numeric(
            ERR_BANNEDFROMCHAN, me, channel, text=why or "Cannot join channel (+b)"
        )

    def banned_from_server(self, me: str, why: str = "") -> Message:
        """465: a server-wide ban keeps the client off the server."""
        return self._replies.numeric(
            ERR_YOUREBANNEDCREEP, me, text=why or "You are banned from this server"
        )

    def unknown_mode(self, me: str, letter: str) -> Message:
        """472: no room has the mode C{letter}."""
        return self._replies.numeric(ERR_UNKNOWNMODE, me, letter, text="is unknown mode char to me")

    def invalid_mode_parameter(
        self, me: str, channel: str, letter: str, argument: str, why: str
    ) -> Message:
        """696: the argument of mode C{letter} cannot be used (C{why})."""
        return self._replies.numeric(ERR_INVALIDMODEPARAM, me, channel, letter, argument, text=why)

    def redact_failed(self, code: str, why: str, *context: str) -> Message:
        """C{FAIL REDACT <code> <context...> :why} (IRCv3 message-redaction)."""
        return self._replies.fail("REDACT", code, why, *context)


def _fields(entry: ListEntry) -> tuple[str, ...]:
    """A list entry's parameters: the mask, and who set it and when when both are known
    (the older form, the mask alone, otherwise)."""
    if entry.by and entry.since:
        return (entry.mask, entry.by, entry.since)
    return (entry.mask,)
