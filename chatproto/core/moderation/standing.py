"""Where each member stands in each room (docs/protocol.md section 14), and the checks
the hall makes with it: a server-wide ban at the handshake, a room's bans at `join`,
mutes and `moderated` when a member speaks, `topic-lock` when it sets a topic.

L{Standing} holds the server operators, the L{Ledger} and the L{IModerationStore}
it writes through; L{chatproto.core.moderation.moderator.Moderation} adds the
commands on top of it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from twisted.internet.defer import Deferred, succeed
from twisted.logger import Logger

from chatproto.core.errors import ErrorCode, PacketRejected
from chatproto.core.member import IMember
from chatproto.core.moderation.audit import audit
from chatproto.core.moderation.ledger import Ledger, RoomRules
from chatproto.core.moderation.masks import ACCOUNT_PREFIX, Mask, account_key
from chatproto.core.moderation.policy import Action, Rank, may
from chatproto.core.moderation.remote import Away, AwayMembers
from chatproto.core.nicknames import InvalidNickname, holding_key, validate_nickname
from chatproto.core.room import Room
from chatproto.seams.moderation import (
    SERVER_SCOPE,
    BanEntry,
    Flag,
    IModerationStore,
    MemoryModerationStore,
    ModerationSnapshot,
    Role,
    RoleEntry,
)
from chatproto.seams.sharedmoderation import ISharedModeration

if TYPE_CHECKING:
    from chatproto.core.hall import Hall


class Standing:
    """Who stands where, for one hall. C{operators} are the account names of the server
    operators (`--operators`)."""

    log = Logger()

    def __init__(
        self, hall: Hall, operators: Iterable[str], store: IModerationStore | None = None
    ) -> None:
        self._hall = hall
        self.appoint(operators)
        self.store = store if store is not None else MemoryModerationStore()
        self.ledger = Ledger()
        #: The members of this hall's rooms that other nodes hold.
        self.away = AwayMembers(hall, ISharedModeration(self.store, None))

    def appoint(self, operators: Iterable[str]) -> None:
        """Make the accounts named C{operators} the server operators (at start, and when
        a reload changes --operators)."""
        #: The server operators' account keys.
        self.operators = frozenset(holding_key(name) for name in operators)

    def load(self, snapshot: ModerationSnapshot) -> None:
        """Take in what the store held (start-up, before the doors open)."""
        self.ledger.load(snapshot)

    def is_server_operator(self, member: IMember) -> bool:
        """Whether C{member} is logged in to an account of `--operators`."""
        return member.account is not None and account_key(member.account) in self.operators

    def rank(self, member: IMember | Away, room: Room) -> Rank:
        """C{member}'s standing in C{room} (another node's member: as far as its
        account tells, see L{chatproto.core.moderation.remote})."""
        account = account_key(member.account) if member.account is not None else None
        if account is not None and account in self.operators:
            return Rank.SERVER_OPERATOR
        rules = self.ledger.peek(room.key)
        if rules is None:
            return Rank.MEMBER
        if account is not None and rules.founder == account:
            return Rank.FOUNDER
        roles = rules.roles.get(account, set()) if account is not None else set()
        if Role.OPERATOR in roles or member.key in rules.present_operators:
            return Rank.OPERATOR
        if Role.VOICE in roles or member.key in rules.present_voices:
            return Rank.VOICED
        return Rank.MEMBER

    def operators_of(self, room: Room) -> list[str]:
        """The nicknames of this node's members of C{room} who operate it, in join order
        (the `operators` of `welcome` and `who`)."""
        rules = self.ledger.peek(room.key)
        if rules is None and not self.operators:
            return []
        present = rules.present_operators if rules is not None else set()
        # Only a logged-in member or one opped while present may operate: the others
        # are passed over without working out their rank.
        return [
            member.nickname
            for member in room.members.values()
            if (member.account is not None or member.key in present)
            and self.rank(member, room) >= Rank.OPERATOR
        ]

    def voiced_in(self, room: Room) -> list[str]:
        """The nicknames of this node's members of C{room} who are voiced (not operators)."""
        if self.ledger.peek(room.key) is None:
            return []
        return [
            member.nickname
            for member in room.members.values()
            if self.rank(member, room) is Rank.VOICED
        ]

    def switches_of(self, room: Room) -> frozenset[Flag]:
        """The switches (`topic-lock`, `moderated`) that are on in C{room} (a door that
        shows them in its own way reads this: IRC's C{324 +t}, C{+m})."""
        rules = self.ledger.peek(room.key)
        return frozenset(rules.flags) if rules is not None else frozenset()

    def entry_refusal(
        self, nickname: str, account: str | None, host: str | None
    ) -> PacketRejected | None:
        """The `banned` refusal of a connection that a server-wide ban matches (server
        operators are never refused), else None."""
        if account is not None and account_key(account) in self.operators:
            return None
        ban = self._matching_ban(SERVER_SCOPE, nickname, account, host)
        if ban is None:
            return None
        return PacketRejected(ErrorCode.BANNED, "You are banned from this server")

    def check_join(self, member: IMember, key: str, name: str) -> None:
        """Refuse a join of the room C{key} that one of its bans matches (server
        operators and the room's founder are never refused).

        @raise PacketRejected: C{banned}, with C{room}.
        """
        rules = self.ledger.peek(key)
        if rules is None or not rules.bans or member.key is None:
            return
        account = account_key(member.account) if member.account is not None else None
        if account is not None and (account in self.operators or account == rules.founder):
            return
        if self._matching_ban(key, member.nickname, member.account, member.host) is not None:
            raise PacketRejected(ErrorCode.BANNED, f"You are banned from {name}", room=name)

    def check_speak(self, member: IMember, room: Room) -> None:
        """Refuse a message of a muted member, or of a member who may not speak in a
        moderated room.

        @raise PacketRejected: C{muted} (with C{retry_after} for a timed mute).
        """
        rules = self.ledger.peek(room.key)
        if rules is None or not (rules.mutes or Flag.MODERATED in rules.flags):
            return
        self._expire(room.key, rules)
        for target in mute_targets(member.nickname, member.account):
            mute = rules.mutes.get(target)
            if mute is not None:
                extra: dict[str, Any] = {}
                if mute.until is not None:
                    left = mute.until - self._hall.reactor.seconds()
                    extra["retry_after"] = max(1, math.ceil(left))
                raise PacketRejected(
                    ErrorCode.MUTED, f"You are muted in {room.name}", **room.field, **extra
                )
        if Flag.MODERATED in rules.flags and not may(
            Action.SPEAK_MODERATED, self.rank(member, room)
        ):
            raise PacketRejected(
                ErrorCode.MUTED,
                f"{room.name} is moderated: only operators and voiced members speak",
                **room.field,
            )

    def check_topic(self, member: IMember, room: Room) -> None:
        """Refuse a topic change of a non-operator while the room's topic is locked.

        @raise PacketRejected: C{not-permitted}.
        """
        rules = self.ledger.peek(room.key)
        if rules is None or Flag.TOPIC_LOCK not in rules.flags:
            return
        if not may(Action.LOCKED_TOPIC, self.rank(member, room)):
            raise PacketRejected(
                ErrorCode.NOT_PERMITTED, f"The topic of {room.name} is locked", **room.field
            )

    def room_created(self, room: Room, member: IMember) -> None:
        """C{member}'s join created C{room}: it operates the room while it is there; a
        logged-in creator's account becomes the founder, unless the room has one."""
        assert member.key is not None
        rules = self.ledger.rules(room.key)
        rules.present_operators.add(member.key)
        if member.account is None or rules.founder is not None:
            return
        entry = RoleEntry(room.key, account_key(member.account), Role.FOUNDER)
        self.ledger.grant(entry)
        self._write(self.store.put_role(entry), "founder")
        audit(member.nickname, "found", room.name, user=member.nickname)

    def left_room(self, room: Room, member: IMember) -> None:
        """C{member} left C{room}: what it held until it left ends."""
        rules = self.ledger.peek(room.key)
        if rules is not None and member.key is not None:
            rules.present_operators.discard(member.key)
            rules.present_voices.discard(member.key)
            if rules.empty:
                self.ledger.forget(room.key)

    def hold_until_gone(
        self,
        action: Action,
        role: Role,
        room: Room,
        target: IMember | Away,
        member: IMember,
        comment: str | None,
    ) -> Deferred[None]:
        """Give (op, voice) or take (deop, devoice) C{target}'s C{role} held until it
        leaves C{room}: here, or through an order of C{member} to the node holding it."""
        if isinstance(target, Away):
            return self.away.order(action, room, target, member, comment)
        if target.key is not None:
            if action in (Action.OP, Action.VOICE):
                self.ledger.rules(room.key).present(role).add(target.key)
            else:
                self._in_force(room.key).present(role).discard(target.key)
        return succeed(None)

    def holds(self, key: str) -> bool:
        """Whether the room C{key} holds durable moderation (a ban, a mute, a founder, a
        role or a switch): it then outlives its members (it counts in --max-rooms)."""
        rules = self.ledger.peek(key)
        return rules is not None and bool(
            rules.bans or rules.mutes or rules.founder or rules.roles or rules.flags
        )

    def _rank_of_name(self, room: Room, user: str) -> Rank:
        """The standing of an absent member named C{user}, as far as a name tells: a
        server operator's or the founder's account name is protected."""
        key = holding_key(valid_nickname(user))
        if key in self.operators:
            return Rank.SERVER_OPERATOR
        rules = self.ledger.peek(room.key)
        if rules is not None and rules.founder == key:
            return Rank.FOUNDER
        return Rank.MEMBER

    def _protected_rank(self, room: Room, mask: Mask) -> Rank:
        """The highest standing a ban of C{mask} in C{room} would hit: of the members it
        matches, and of the account or nickname it names."""
        ranks = [
            self.rank(each, room) for each in room.members.values() if member_matches(mask, each)
        ]
        named = mask.account or mask.nickname
        if named is not None:
            ranks.append(
                Rank.SERVER_OPERATOR
                if named in self.operators
                else Rank.FOUNDER
                if self._founder(room) == named
                else Rank.MEMBER
            )
        return max(ranks, default=Rank.MEMBER)

    def _founder(self, room: Room) -> str | None:
        rules = self.ledger.peek(room.key)
        return None if rules is None else rules.founder

    def _matching_ban(
        self, scope: str, nickname: str, account: str | None, host: str | None
    ) -> BanEntry | None:
        for mask, ban in self._in_force(scope).bans.values():
            if mask.matches(nickname, account, host):
                return ban
        return None

    def _in_force(self, scope: str) -> RoomRules:
        """The rules of C{scope} with what is over dropped; with none, an empty one that
        the ledger does not keep (a look creates nothing; a change goes through
        L{Ledger.rules})."""
        rules = self.ledger.peek(scope)
        if rules is None:
            return RoomRules()
        self._expire(scope, rules)
        return rules

    def _expire(self, scope: str, rules: RoomRules) -> None:
        """Drop the bans and mutes of C{scope} whose time is over, in the store too."""
        bans, mutes = rules.expired(self._hall.reactor.seconds())
        for ban in bans:
            self._write(self.store.drop_ban(scope, ban.mask), "expired ban")
        for mute in mutes:
            self._write(self.store.drop_mute(scope, mute.target), "expired mute")

    def _write(self, write: Deferred[None], what: str) -> None:
        """A write nobody waits for (a founder, an expiry): its failure is logged."""
        write.addErrback(
            lambda failure: self.log.failure("{what} could not be stored", failure, what=what)
        )


def mute_targets(nickname: str, account: str | None) -> list[str]:
    """What a mute of a member is kept by: its account when logged in, then its nickname."""
    targets = [holding_key(nickname)]
    if account is not None:
        targets.insert(0, ACCOUNT_PREFIX + account_key(account))
    return targets


def member_matches(mask: Mask, member: IMember) -> bool:
    return mask.matches(member.nickname, member.account, member.host)


def valid_nickname(user: str) -> str:
    """C{user}, a valid nickname.

    @raise PacketRejected: C{no-such-user}.
    """
    try:
        return validate_nickname(user)
    except InvalidNickname:
        raise PacketRejected(ErrorCode.NO_SUCH_USER, "user must be a nickname") from None
