"""What moderation holds in memory: each room's bans, mutes, roles and switches, and the
server-wide bans, every list bounded (docs/moderation.md).

The ledger is a plain record of facts; who may change it is
L{chatproto.core.moderation.policy}'s to say, and writing it through to the
store is L{chatproto.core.moderation.moderator.Moderation}'s. A timed entry
whose time is over is dropped when it is next looked at (L{RoomRules.expired}); each
room keeps its earliest end, so that a look before it costs nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final

from chatproto.core.errors import PacketRejected
from chatproto.core.moderation.masks import Mask, parse_mask
from chatproto.seams.moderation import (
    SERVER_SCOPE,
    BanEntry,
    Flag,
    ModerationSnapshot,
    MuteEntry,
    Role,
    RoleEntry,
)

#: The most bans one room holds, and the most server-wide bans.
MAX_BANS_PER_ROOM: Final = 100
MAX_SERVER_BANS: Final = 100
#: The most mutes one room holds.
MAX_MUTES_PER_ROOM: Final = 100
#: The most roles (operators and voices, of accounts or until they leave) one room holds.
MAX_ROLES_PER_ROOM: Final = 100


@dataclass(slots=True)
class RoomRules:
    """One room's moderation (or the server's, for L{SERVER_SCOPE}: bans only).

    Accounts and nicknames are kept by their holding keys
    (L{chatproto.core.nicknames.holding_key}). A ban or mute is added through
    L{put_ban} or L{put_mute}, which keep L{next_expiry}."""

    #: Bans by their mask's key, in the order they were set.
    bans: dict[str, tuple[Mask, BanEntry]] = field(default_factory=dict)
    #: Mutes by target (`account:KEY` or a nickname's key).
    mutes: dict[str, MuteEntry] = field(default_factory=dict)
    #: No timed ban or mute ends before this time (infinity: none is timed).
    next_expiry: float = math.inf
    #: The founder's account key, if the room has one.
    founder: str | None = None
    #: Durable roles: account key to its roles (operator, voice).
    roles: dict[str, set[Role]] = field(default_factory=dict)
    #: The switches that are on.
    flags: set[Flag] = field(default_factory=set)
    #: Members (by holding key) who operate or are voiced until they leave the room.
    present_operators: set[str] = field(default_factory=set)
    present_voices: set[str] = field(default_factory=set)

    def put_ban(self, mask: Mask, ban: BanEntry) -> None:
        """Set (or replace) the ban of C{mask}."""
        self.bans[mask.key] = (mask, ban)
        self._ends(ban.until)

    def put_mute(self, mute: MuteEntry) -> None:
        """Set (or replace) the mute of C{mute.target}."""
        self.mutes[mute.target] = mute
        self._ends(mute.until)

    def expired(self, now: float) -> tuple[list[BanEntry], list[MuteEntry]]:
        """Drop the bans and mutes whose time is over at C{now}; they are returned, for
        the store to drop too. Before L{next_expiry} nothing is over: no list is read."""
        if now < self.next_expiry:
            return [], []
        over = [key for key, (_, ban) in self.bans.items() if _over(ban.until, now)]
        bans = [self.bans.pop(key)[1] for key in over]
        mutes = [mute for mute in self.mutes.values() if _over(mute.until, now)]
        for mute in mutes:
            del self.mutes[mute.target]
        ends = [ban.until for _, ban in self.bans.values()]
        ends += [mute.until for mute in self.mutes.values()]
        self.next_expiry = min((end for end in ends if end is not None), default=math.inf)
        return bans, mutes

    def present(self, role: Role) -> set[str]:
        """The members holding C{role} (operator or voice) until they leave the room."""
        return self.present_operators if role is Role.OPERATOR else self.present_voices

    def role_count(self) -> int:
        """How many roles the room holds, durable or until their members leave (their
        bound: L{MAX_ROLES_PER_ROOM}, the creator included)."""
        durable = sum(len(roles) for roles in self.roles.values())
        return durable + len(self.present_operators) + len(self.present_voices)

    def _ends(self, until: float | None) -> None:
        """A timed entry ending at C{until} was added: the next expiry may come sooner."""
        if until is not None:
            self.next_expiry = min(self.next_expiry, until)

    @property
    def empty(self) -> bool:
        """Whether the rules hold nothing at all."""
        return not (
            self.bans
            or self.mutes
            or self.founder
            or self.roles
            or self.flags
            or self.present_operators
            or self.present_voices
        )


class Ledger:
    """Every room's L{RoomRules} by room key, and the server's under L{SERVER_SCOPE}."""

    def __init__(self) -> None:
        self._rules: dict[str, RoomRules] = {}

    def rules(self, scope: str) -> RoomRules:
        """The rules of C{scope} (a room key or L{SERVER_SCOPE}), made empty if none."""
        rules = self._rules.get(scope)
        if rules is None:
            rules = self._rules[scope] = RoomRules()
        return rules

    def peek(self, scope: str) -> RoomRules | None:
        """The rules of C{scope}, if it has any."""
        return self._rules.get(scope)

    def forget(self, scope: str) -> RoomRules | None:
        """Drop the rules of a room that ceased to exist; returns them."""
        return self._rules.pop(scope, None)

    def load(self, snapshot: ModerationSnapshot) -> None:
        """Take in what a store held at start-up (entries over already included: the
        next look drops them)."""
        for ban in snapshot.bans:
            try:
                mask = parse_mask(ban.mask)
            except PacketRejected:  # written by hand, or by a newer version: not ours
                continue
            self.rules(ban.scope).put_ban(mask, ban)
        for mute in snapshot.mutes:
            self.rules(mute.room).put_mute(mute)
        for entry in snapshot.roles:
            self.grant(entry)
        for flag in snapshot.flags:
            self.rules(flag.room).flags.add(flag.flag)

    def grant(self, entry: RoleEntry) -> None:
        """Record a durable role."""
        rules = self.rules(entry.room)
        if entry.role is Role.FOUNDER:
            rules.founder = entry.account
        else:
            rules.roles.setdefault(entry.account, set()).add(entry.role)

    def revoke(self, entry: RoleEntry) -> None:
        """Forget a durable role."""
        rules = self.peek(entry.room)
        if rules is None:
            return
        if entry.role is Role.FOUNDER:
            if rules.founder == entry.account:
                rules.founder = None
            return
        roles = rules.roles.get(entry.account)
        if roles is not None:
            roles.discard(entry.role)
            if not roles:
                del rules.roles[entry.account]

    def server_bans(self) -> RoomRules:
        """The server-wide bans' rules."""
        return self.rules(SERVER_SCOPE)


def _over(until: float | None, now: float) -> bool:
    return until is not None and until <= now
