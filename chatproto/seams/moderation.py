"""The moderation store seam (docs/protocol.md section 14): what moderation keeps across
restarts.

Bans (per room or server-wide), mutes, the roles of accounts in rooms (founder,
durable operator, durable voice) and the rooms' switches (`topic-lock`,
`moderated`). The core holds all of it in memory (every list is bounded, see
L{chatproto.core.moderation.ledger}) and writes each change through this seam;
the store is read once, at start-up. Every call answers with a Deferred, so that
a store on disk or in Redis never blocks the reactor. A timed entry carries its
end (`until`, seconds since the epoch): the core ignores and drops an entry whose
time is over, also one loaded after a restart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from twisted.internet.defer import Deferred, succeed
from zope.interface import Interface, implementer

#: The scope of a server-wide ban (a room key is never empty).
SERVER_SCOPE: Final = ""


class Role(StrEnum):
    """A durable role of an account in a room."""

    FOUNDER = "founder"
    OPERATOR = "op"
    VOICE = "voice"


class Flag(StrEnum):
    """A room's switch (docs/protocol.md section 14)."""

    TOPIC_LOCK = "topic-lock"
    MODERATED = "moderated"


@dataclass(frozen=True, slots=True)
class BanEntry:
    """A ban: its C{scope} (a room key, or L{SERVER_SCOPE}), its C{mask} (canonical text,
    L{chatproto.core.moderation.masks.Mask.text}), who set it, why, and its end (None:
    until lifted)."""

    scope: str
    mask: str
    by: str
    comment: str
    until: float | None


@dataclass(frozen=True, slots=True)
class MuteEntry:
    """A mute in the room C{room} of C{target} (`account:KEY` or a nickname's key)."""

    room: str
    target: str
    by: str
    until: float | None


@dataclass(frozen=True, slots=True)
class RoleEntry:
    """The account whose key is C{account} has C{role} in the room C{room}."""

    room: str
    account: str
    role: Role


@dataclass(frozen=True, slots=True)
class FlagEntry:
    """The switch C{flag} is on in the room C{room}."""

    room: str
    flag: Flag


@dataclass(slots=True)
class ModerationSnapshot:
    """Everything a store holds, as read at start-up."""

    bans: list[BanEntry] = field(default_factory=list)
    mutes: list[MuteEntry] = field(default_factory=list)
    roles: list[RoleEntry] = field(default_factory=list)
    flags: list[FlagEntry] = field(default_factory=list)


class IModerationStore(Interface):
    """Where moderation is kept. Each write replaces an entry of the same key (a ban's
    scope and mask, a mute's room and target); dropping a missing entry succeeds."""

    def load() -> Deferred[ModerationSnapshot]:
        """Everything stored (start-up)."""

    def put_ban(ban: BanEntry) -> Deferred[None]:
        """Keep C{ban}."""

    def drop_ban(scope: str, mask: str) -> Deferred[None]:
        """Forget the ban of C{mask} in C{scope}."""

    def put_mute(mute: MuteEntry) -> Deferred[None]:
        """Keep C{mute}."""

    def drop_mute(room: str, target: str) -> Deferred[None]:
        """Forget the mute of C{target} in C{room}."""

    def put_role(entry: RoleEntry) -> Deferred[None]:
        """Keep C{entry}."""

    def drop_role(entry: RoleEntry) -> Deferred[None]:
        """Forget C{entry}."""

    def put_flag(entry: FlagEntry) -> Deferred[None]:
        """Keep C{entry} (the switch is on)."""

    def drop_flag(entry: FlagEntry) -> Deferred[None]:
        """Forget C{entry} (the switch is off)."""

    def close() -> Deferred[None]:
        """Let go of the store; fires once it has."""


@implementer(IModerationStore)
class MemoryModerationStore:
    """A store that keeps moderation in this process only (tests, and a hall given no
    store): nothing survives a restart."""

    def __init__(self, snapshot: ModerationSnapshot | None = None) -> None:
        self.snapshot = snapshot if snapshot is not None else ModerationSnapshot()

    def load(self) -> Deferred[ModerationSnapshot]:
        """See L{IModerationStore.load}."""
        return succeed(self.snapshot)

    def put_ban(self, ban: BanEntry) -> Deferred[None]:
        """See L{IModerationStore.put_ban}."""
        self.drop_ban(ban.scope, ban.mask)
        self.snapshot.bans.append(ban)
        return succeed(None)

    def drop_ban(self, scope: str, mask: str) -> Deferred[None]:
        """See L{IModerationStore.drop_ban}."""
        bans = self.snapshot.bans
        bans[:] = [ban for ban in bans if (ban.scope, ban.mask) != (scope, mask)]
        return succeed(None)

    def put_mute(self, mute: MuteEntry) -> Deferred[None]:
        """See L{IModerationStore.put_mute}."""
        self.drop_mute(mute.room, mute.target)
        self.snapshot.mutes.append(mute)
        return succeed(None)

    def drop_mute(self, room: str, target: str) -> Deferred[None]:
        """See L{IModerationStore.drop_mute}."""
        mutes = self.snapshot.mutes
        mutes[:] = [mute for mute in mutes if (mute.room, mute.target) != (room, target)]
        return succeed(None)

    def put_role(self, entry: RoleEntry) -> Deferred[None]:
        """See L{IModerationStore.put_role}."""
        if entry not in self.snapshot.roles:
            self.snapshot.roles.append(entry)
        return succeed(None)

    def drop_role(self, entry: RoleEntry) -> Deferred[None]:
        """See L{IModerationStore.drop_role}."""
        if entry in self.snapshot.roles:
            self.snapshot.roles.remove(entry)
        return succeed(None)

    def put_flag(self, entry: FlagEntry) -> Deferred[None]:
        """See L{IModerationStore.put_flag}."""
        if entry not in self.snapshot.flags:
            self.snapshot.flags.append(entry)
        return succeed(None)

    def drop_flag(self, entry: FlagEntry) -> Deferred[None]:
        """See L{IModerationStore.drop_flag}."""
        if entry in self.snapshot.flags:
            self.snapshot.flags.remove(entry)
        return succeed(None)

    def close(self) -> Deferred[None]:
        """See L{IModerationStore.close}."""
        return succeed(None)
