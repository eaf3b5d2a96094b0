"""Who may do what, where (docs/protocol.md section 14): the one table every door's
moderation command asks, through L{may}.

A member's standing in a room is a L{Rank}; the hall's moderation
(L{chatproto.core.moderation.moderator.Moderation}) works out the ranks, this
module only judges them:

==================================  =========================================
action                              who may
==================================  =========================================
kick, mute, unmute, ban, unban,     an operator of the room (room operator,
bans, op, deop, voice, devoice,     founder or server operator); kick, mute,
topic-lock, moderated (a room)      ban and deop of a server operator or of
                                    the room's founder: server operators only
ban, unban, bans server-wide;       server operators
announce
redact                              the message's author, or an operator of
                                    the room
topic, while topic-lock is on       an operator of the room
speak, in a moderated room          an operator of the room, or a voiced member
speak, muted                        nobody
==================================  =========================================
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Rank(IntEnum):
    """A member's standing in one room, lowest first."""

    MEMBER = 0
    VOICED = 1
    OPERATOR = 2
    FOUNDER = 3
    SERVER_OPERATOR = 4


class Action(StrEnum):
    """A moderation command (its name on the packet doors), or an act a rule governs."""

    KICK = "kick"
    MUTE = "mute"
    UNMUTE = "unmute"
    BAN = "ban"
    UNBAN = "unban"
    BANS = "bans"
    REDACT = "redact"
    OP = "op"
    DEOP = "deop"
    VOICE = "voice"
    DEVOICE = "devoice"
    TOPIC_LOCK = "topic-lock"
    MODERATED = "moderated"
    ANNOUNCE = "announce"
    #: Set the topic of a room whose topic is locked.
    LOCKED_TOPIC = "locked-topic"
    #: Speak in a moderated room.
    SPEAK_MODERATED = "speak-moderated"


#: Actions that a room operator may not take against a server operator or the founder.
PROTECTED_FROM: frozenset[Action] = frozenset({Action.KICK, Action.MUTE, Action.BAN, Action.DEOP})

#: Actions that only server operators take (a server-wide ban, its list, announce).
_SERVER_ONLY: frozenset[Action] = frozenset({Action.ANNOUNCE})


def may(
    action: Action,
    actor: Rank,
    target: Rank | None = None,
    *,
    server_wide: bool = False,
    own: bool = False,
) -> bool:
    """Whether a member of rank C{actor} may take C{action} in a room, on a member of
    rank C{target} (None: no member, or one not present); C{server_wide}: the action
    is server-wide (a ban, unban or bans with scope server); C{own}: the member acts
    on its own message (redact)."""
    if server_wide or action in _SERVER_ONLY:
        return actor is Rank.SERVER_OPERATOR
    if action is Action.REDACT and own:
        return True
    if action is Action.SPEAK_MODERATED:
        return actor >= Rank.VOICED
    if actor < Rank.OPERATOR:
        return False
    protected = target is not None and target >= Rank.FOUNDER
    if protected and action in PROTECTED_FROM:
        return actor is Rank.SERVER_OPERATOR
    return True
