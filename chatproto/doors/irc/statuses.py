"""What moderation shows of a room's members on the IRC door: C{@} before its operators
and C{+} before its voiced members in C{NAMES} (and the names of a JOIN), C{H@} and C{H+}
in C{WHO} (docs/protocol.md section 14). The core's moderation says who they are; a
member has one standing, so C{multi-prefix} shows the same."""

from __future__ import annotations

from collections.abc import Sequence

from chatproto.core.moderation.moderator import Moderation
from chatproto.core.room import Room
from chatproto.doors.irc.modes import PREFIXES


def shown_members(moderation: Moderation, room: Room, users: Sequence[str]) -> list[str]:
    """C{users} of C{room} as NAMES lists them: C{@} before its operators, C{+} before
    its voiced members."""
    prefixes = prefixes_in(moderation, room)
    if not prefixes:  # most rooms: a look-up per member for nothing, on every join
        return list(users)
    return [prefixes.get(user, "") + user for user in users]


def prefixes_in(moderation: Moderation, room: Room) -> dict[str, str]:
    """The prefix of each operator (C{@}) and voiced member (C{+}) of C{room}, by
    nickname (WHO shows it after C{H})."""
    prefixes = dict.fromkeys(moderation.voiced_in(room), PREFIXES["v"])
    prefixes.update(dict.fromkeys(moderation.operators_of(room), PREFIXES["o"]))
    return prefixes
