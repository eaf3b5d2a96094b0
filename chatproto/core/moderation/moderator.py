"""The hall's moderation (docs/protocol.md section 14): every door's moderation command
is one of L{Moderation}'s entry points, and every rule that moderation adds to
joining, speaking and setting a topic is one of its checks (inherited from
L{chatproto.core.moderation.standing.Standing}), so that a door only translates.

Who may act is L{chatproto.core.moderation.policy}'s table; what holds is the
L{Ledger}, written through to an L{IModerationStore} before a change shows (a
change that cannot be stored is refused with `unavailable`). Each accepted action
is announced to the room (a `moderation` notice, or the `leave`, `redact` or
`announce` notice of its own) and logged (L{chatproto.core.moderation.audit}).

Entry points raise L{PacketRejected} at once for a refusal that needs no store
(`not-permitted`, a bad field, an absent member) and return a Deferred that fails
with L{PacketRejected} for one that does (`unavailable`, L{UnknownMessage}).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from twisted.internet.defer import Deferred, gatherResults, succeed
from twisted.python.failure import Failure

from chatproto.core.errors import ErrorCode, PacketRejected
from chatproto.core.member import IMember, LeaveReason
from chatproto.core.moderation.audit import audit
from chatproto.core.moderation.ledger import (
    MAX_BANS_PER_ROOM,
    MAX_MUTES_PER_ROOM,
    MAX_ROLES_PER_ROOM,
    MAX_SERVER_BANS,
)
from chatproto.core.moderation.masks import ACCOUNT_PREFIX, Mask, account_key, parse_mask
from chatproto.core.moderation.notices import (
    announce_notice,
    bans_notice,
    moderation_notice,
    redact_notice,
)
from chatproto.core.moderation.policy import Action, Rank, may
from chatproto.core.moderation.remote import Away
from chatproto.core.moderation.standing import (
    Standing,
    member_matches,
    mute_targets,
    valid_nickname,
)
from chatproto.core.nicknames import holding_key
from chatproto.core.room import Room
from chatproto.seams.history import HistoryUnavailable, IRedactable
from chatproto.seams.hub import RoomEvent
from chatproto.seams.moderation import (
    SERVER_SCOPE,
    BanEntry,
    Flag,
    FlagEntry,
    MuteEntry,
    Role,
    RoleEntry,
)

#: The longest timed ban or mute, in seconds (a year); longer ones are refused.
MAX_SECONDS = 365 * 24 * 3600

#: How a `moderation` notice's text says what was done.
_DONE = {
    Action.MUTE: "muted",
    Action.UNMUTE: "unmuted",
    Action.BAN: "banned",
    Action.UNBAN: "unbanned",
    Action.OP: "opped",
    Action.DEOP: "deopped",
    Action.VOICE: "voiced",
    Action.DEVOICE: "devoiced",
}

#: The scope field of what concerns the whole server.
_SERVER_FIELD = {"scope": "server"}


class UnknownMessage(PacketRejected):
    """`redact` of an id that names no message the room keeps (code `malformed`)."""

    def __init__(self, message_id: int, room: Room) -> None:
        super().__init__(ErrorCode.MALFORMED, f"{room.name} keeps no message {message_id}")


class Moderation(Standing):
    """Moderation of every room of one hall: the commands, on top of L{Standing}'s checks;
    see the module docstring."""

    def kick(
        self, member: IMember, room_name: str | None, user: str, comment: str | None = None
    ) -> Deferred[None]:
        """C{user} leaves the room (`leave`, reason `kicked`, with `by` and `comment`)."""
        room = self._room(room_name)
        target = self._present(room, user)
        self._require(Action.KICK, member, room, self.rank(target, room))
        if isinstance(target, Away):  # its node takes it out of the room
            done = self.away.order(Action.KICK, room, target, member, comment)
        else:
            record = self._hall.remove_from_room(
                room, target, LeaveReason.KICKED, **_by(member.nickname, comment)
            )
            self._to_outsider(room, member, record)
            done = succeed(None)
        return done.addCallback(
            lambda _: audit(
                member.nickname, Action.KICK, room.name, user=target.nickname, comment=comment
            )
        )

    def mute(
        self,
        member: IMember,
        room_name: str | None,
        user: str,
        seconds: int | None = None,
        comment: str | None = None,
    ) -> Deferred[None]:
        """Mute C{user} in the room (its account when logged in, else its nickname), for
        C{seconds} or until `unmute`."""
        room = self._room(room_name)
        target, target_rank = self._target(room, user)
        if target is not None:
            key = mute_targets(target.nickname, target.account)[0]
        else:
            key = holding_key(valid_nickname(user))
        self._require(Action.MUTE, member, room, target_rank)
        mutes = self._in_force(room.key).mutes
        if key not in mutes and len(mutes) >= MAX_MUTES_PER_ROOM:
            raise _full(f"{room.name} has {MAX_MUTES_PER_ROOM} mutes already: unmute one")
        until = self._until(seconds)
        entry = MuteEntry(room.key, key, member.nickname, until)

        def apply() -> None:
            self.ledger.rules(room.key).put_mute(entry)
            self._report(
                room, member, Action.MUTE, until=until, user=user, seconds=seconds, comment=comment
            )

        return self._stored(self.store.put_mute(entry), apply)

    def unmute(
        self, member: IMember, room_name: str | None, user: str, comment: str | None = None
    ) -> Deferred[None]:
        """End C{user}'s mute in the room (of its account and of its nickname)."""
        room = self._room(room_name)
        target = self._present_or_none(room, user)
        self._require(Action.UNMUTE, member, room)
        if target is not None:
            keys = mute_targets(target.nickname, target.account)
        else:
            keys = [holding_key(valid_nickname(user)), ACCOUNT_PREFIX + holding_key(user)]
        mutes = self._in_force(room.key).mutes
        found = [key for key in keys if key in mutes]
        writes = [self.store.drop_mute(room.key, key) for key in found]

        def apply() -> None:
            for key in found:
                self._in_force(room.key).mutes.pop(key, None)
            self._report(
                room, member, Action.UNMUTE, changed=bool(found), user=user, comment=comment
            )

        return self._stored(_all(writes), apply)

    def ban(
        self,
        member: IMember,
        room_name: str | None,
        mask: str,
        seconds: int | None = None,
        comment: str | None = None,
        server_wide: bool = False,
    ) -> Deferred[None]:
        """Ban C{mask} from the room (or, C{server_wide}, from the server) for C{seconds}
        or until lifted; the members it matches leave with reason `banned` (server-wide:
        their connections close after that notice)."""
        parsed = parse_mask(mask)
        if server_wide:
            room = None
            self._require_server(Action.BAN, member)
            scope, limit = SERVER_SCOPE, MAX_SERVER_BANS
        else:
            room = self._room(room_name)
            self._require(Action.BAN, member, room, self._protected_rank(room, parsed))
            scope, limit = room.key, MAX_BANS_PER_ROOM
        bans = self._in_force(scope).bans
        replaced = bans.get(parsed.key)
        if replaced is None and len(bans) >= limit:
            raise _full(f"{limit} bans are set already: unban one")
        until = self._until(seconds)
        entry = BanEntry(scope, parsed.text, member.nickname, comment or "", until)
        writes = [self.store.put_ban(entry)]
        if replaced is not None and replaced[1].mask != parsed.text:  # another spelling
            writes.insert(0, self.store.drop_ban(scope, replaced[1].mask))

        def apply() -> None:
            self.ledger.rules(scope).put_ban(parsed, entry)
            self._report(
                room,
                member,
                Action.BAN,
                until=until,
                mask=parsed.text,
                seconds=seconds,
                comment=comment,
            )
            self.enforce(room, parsed, member.nickname, comment, member)

        return self._stored(_all(writes), apply)

    def unban(
        self,
        member: IMember,
        room_name: str | None,
        mask: str,
        comment: str | None = None,
        server_wide: bool = False,
    ) -> Deferred[None]:
        """Lift the ban of C{mask} in the room (or, C{server_wide}, on the server)."""
        parsed = parse_mask(mask)
        room = None if server_wide else self._room(room_name)
        if room is None:
            self._require_server(Action.UNBAN, member)
        else:
            self._require(Action.UNBAN, member, room)
        scope = SERVER_SCOPE if room is None else room.key
        found = self._in_force(scope).bans.get(parsed.key)
        write = self.store.drop_ban(scope, found[1].mask) if found else succeed(None)

        def apply() -> None:
            self._in_force(scope).bans.pop(parsed.key, None)
            self._report(
                room, member, Action.UNBAN, changed=bool(found), mask=parsed.text, comment=comment
            )

        return self._stored(write, apply)

    def bans(
        self, member: IMember, room_name: str | None, server_wide: bool = False
    ) -> Deferred[None]:
        """Answer the `bans` notice: the room's bans (or the server's), oldest first."""
        if server_wide:
            self._require_server(Action.BANS, member)
            scope, field = SERVER_SCOPE, _SERVER_FIELD
        else:
            room = self._room(room_name)
            self._require(Action.BANS, member, room)
            scope, field = room.key, room.field
        rules = self._in_force(scope)
        self._hall.unicast(member, bans_notice(self._hall.timestamp(), field, rules))
        return succeed(None)

    def list_bans(self, room: Room | None) -> list[BanEntry]:
        """The bans of C{room} (None: the server-wide ones) in force, oldest first (a door
        that lists bans in its own way, IRC's 367, reads this)."""
        scope = SERVER_SCOPE if room is None else room.key
        return [ban for _, ban in self._in_force(scope).bans.values()]

    def redact(
        self, member: IMember, room_name: str | None, message_id: int, comment: str | None = None
    ) -> Deferred[None]:
        """Take the message C{message_id} of the room back: its text leaves the store,
        then the room's members get a `redact` notice. The author may; operators may.
        Fails with L{UnknownMessage} for an id the room does not keep."""
        room = self._room(room_name)
        history = room.history
        if history is None:
            raise UnknownMessage(message_id, room)
        redactable = IRedactable(history, None)
        if redactable is None:
            raise PacketRejected(ErrorCode.UNAVAILABLE, "Messages cannot be redacted here yet")
        rank = self.rank(member, room)

        def found(records: list[tuple[int, bytes]]) -> Deferred[bool]:
            if not records or records[0][0] != message_id:
                raise UnknownMessage(message_id, room)
            author = json.loads(records[0][1]).get("nickname")
            own = isinstance(author, str) and holding_key(author) == member.key
            if not may(Action.REDACT, rank, own=own):
                raise _not_permitted(Action.REDACT, room)
            return redactable.redact(message_id)

        def redacted(retained: bool) -> None:
            if not retained:
                raise UnknownMessage(message_id, room)
            record = redact_notice(
                self._hall.timestamp(), room.field, message_id, member.nickname, comment
            )
            self._publish(room, member, record)
            audit(member.nickname, Action.REDACT, room.name, user=str(message_id), comment=comment)

        def unavailable(failure: Failure) -> None:
            failure.trap(HistoryUnavailable)  # type: ignore[no-untyped-call]
            raise PacketRejected(ErrorCode.UNAVAILABLE, "The message could not be redacted")

        done = history.page(message_id + 1, None, 1).addCallback(found)
        return done.addCallback(redacted).addErrback(unavailable)

    def op(
        self, member: IMember, room_name: str | None, user: str, comment: str | None = None
    ) -> Deferred[None]:
        """Make C{user} an operator of the room: durably for a logged-in member, else
        until it leaves the room."""
        return self._grant(Action.OP, Role.OPERATOR, member, room_name, user, comment)

    def voice(
        self, member: IMember, room_name: str | None, user: str, comment: str | None = None
    ) -> Deferred[None]:
        """Let C{user} speak in the moderated room: durably for a logged-in member, else
        until it leaves the room."""
        return self._grant(Action.VOICE, Role.VOICE, member, room_name, user, comment)

    def deop(
        self, member: IMember, room_name: str | None, user: str, comment: str | None = None
    ) -> Deferred[None]:
        """C{user} no longer operates the room (a founder stops being one: server
        operators only)."""
        return self._revoke(Action.DEOP, Role.OPERATOR, member, room_name, user, comment)

    def devoice(
        self, member: IMember, room_name: str | None, user: str, comment: str | None = None
    ) -> Deferred[None]:
        """C{user} is no longer voiced in the room."""
        return self._revoke(Action.DEVOICE, Role.VOICE, member, room_name, user, comment)

    def set_topic_lock(
        self, member: IMember, room_name: str | None, on: bool, comment: str | None = None
    ) -> Deferred[None]:
        """Switch the room's topic lock (only operators set a locked topic)."""
        return self._switch(Action.TOPIC_LOCK, Flag.TOPIC_LOCK, member, room_name, on, comment)

    def set_moderated(
        self, member: IMember, room_name: str | None, on: bool, comment: str | None = None
    ) -> Deferred[None]:
        """Switch the room's moderation (only operators and voiced members speak)."""
        return self._switch(Action.MODERATED, Flag.MODERATED, member, room_name, on, comment)

    def announce(self, member: IMember, text: str) -> Deferred[None]:
        """Send every joined member of this node, in whatever rooms, an `announce` notice
        whose message is C{text} (server operators only)."""
        self._require_server(Action.ANNOUNCE, member)
        record = announce_notice(self._hall.timestamp(), member.nickname, text)
        for each in self._hall.local_members():
            self._hall.unicast(each, record)
        audit(member.nickname, Action.ANNOUNCE, None, comment=text)
        return succeed(None)

    def _grant(
        self,
        action: Action,
        role: Role,
        member: IMember,
        room_name: str | None,
        user: str,
        comment: str | None,
    ) -> Deferred[None]:
        room = self._room(room_name)
        target = self._present(room, user)
        self._require(action, member, room, self.rank(target, room))
        assert target.key is not None
        # Bounded, so that the `operators` of a welcome fit.
        if self._in_force(room.key).role_count() >= MAX_ROLES_PER_ROOM:
            raise _full(f"{room.name} has {MAX_ROLES_PER_ROOM} operators and voices already")
        if target.account is None:
            entry = None
            write = self.hold_until_gone(action, role, room, target, member, comment)
        else:
            entry = RoleEntry(room.key, account_key(target.account), role)
            write = self.store.put_role(entry)

        def apply() -> None:
            if entry is not None:
                self.ledger.grant(entry)
            self._report(room, member, action, user=target.nickname, comment=comment)

        return self._stored(write, apply)

    def _revoke(
        self,
        action: Action,
        role: Role,
        member: IMember,
        room_name: str | None,
        user: str,
        comment: str | None,
    ) -> Deferred[None]:
        room = self._room(room_name)
        target, target_rank = self._target(room, user)
        self._require(action, member, room, target_rank)
        writes = []
        if target is not None:
            account = account_key(target.account) if target.account is not None else None
            writes.append(self.hold_until_gone(action, role, room, target, member, comment))
        else:
            account = holding_key(valid_nickname(user))
        entries = [RoleEntry(room.key, account, role)] if account is not None else []
        if account is not None and role is Role.OPERATOR and self._founder(room) == account:
            entries.append(RoleEntry(room.key, account, Role.FOUNDER))
        writes += [self.store.drop_role(entry) for entry in entries]

        def apply() -> None:
            for entry in entries:
                self.ledger.revoke(entry)
            self._report(room, member, action, user=user, comment=comment)

        return self._stored(_all(writes), apply)

    def _switch(
        self,
        action: Action,
        flag: Flag,
        member: IMember,
        room_name: str | None,
        on: bool,
        comment: str | None,
    ) -> Deferred[None]:
        room = self._room(room_name)
        self._require(action, member, room)
        entry = FlagEntry(room.key, flag)
        write = self.store.put_flag(entry) if on else self.store.drop_flag(entry)

        def apply() -> None:
            flags = self.ledger.rules(room.key).flags
            if on:
                flags.add(flag)
            else:
                flags.discard(flag)
            self._report(room, member, action, on=on, comment=comment)

        return self._stored(write, apply)

    def enforce(
        self,
        room: Room | None,
        mask: Mask,
        by: str,
        comment: str | None,
        issuer: IMember | None = None,
    ) -> None:
        """The members of this node a new ban matches leave the room (C{room} None: every
        room, and their connections close), but server operators, (in a room) its
        founder, and the C{issuer} (whose own address a ban may well match); C{by} set
        it (a ban another node set has no issuer here)."""
        hall = self._hall
        extra = _by(by, comment)
        if room is None:
            for member in hall.local_members():
                if self.is_server_operator(member) or not member_matches(mask, member):
                    continue
                for each in list(member.rooms.values()):
                    hall.remove_from_room(each, member, LeaveReason.BANNED, **extra)
                hall.leave(member, LeaveReason.BANNED)
                member.close()
            return
        for member in list(room.members.values()):
            if member is issuer or self.rank(member, room) >= Rank.FOUNDER:
                continue
            if member_matches(mask, member):
                hall.remove_from_room(room, member, LeaveReason.BANNED, **extra)

    def _report(
        self,
        room: Room | None,
        member: IMember,
        action: Action,
        changed: bool = True,
        until: float | None = None,
        **given: Any,
    ) -> None:
        """Announce an accepted C{action} (L{_announce}) and log it (lasting C{until})."""
        self._announce(room, member, action, changed, **given)
        audit(
            member.nickname,
            action,
            None if room is None else room.name,
            user=given.get("user"),
            mask=given.get("mask"),
            comment=given.get("comment"),
            until=until,
        )

    def _announce(
        self,
        room: Room | None,
        member: IMember,
        action: Action,
        changed: bool = True,
        **given: Any,
    ) -> None:
        """The `moderation` notice of an accepted C{action}: to the room's members and the
        issuer (server-wide: to the issuer); only to the issuer when nothing C{changed}."""
        field = _SERVER_FIELD if room is None else room.field
        where = "the server" if room is None else room.name
        subject = given.get("user") or given.get("mask")
        on = given.get("on")
        done = f"{action} {'on' if on else 'off'}" if on is not None else _DONE[action]
        text = f"{member.nickname} {done} " + (f"{subject} in {where}" if subject else where)
        record = moderation_notice(
            self._hall.timestamp(), text, field, str(action), member.nickname, **given
        )
        if room is None or not changed:
            self._hall.unicast(member, record)
        else:
            self._publish(room, member, record)

    def _publish(self, room: Room, member: IMember, record: bytes) -> None:
        """C{record} to C{room}'s members, and to C{member} (the issuer) if not one."""
        self._hall.publish_in(room, RoomEvent(record))
        self._to_outsider(room, member, record)

    def _to_outsider(self, room: Room, member: IMember, record: bytes) -> None:
        """C{record} to C{member}, the issuer, if it is not in C{room} (a server operator
        acting from outside): every command gets its answer."""
        if member.key is None or room.members.get(member.key) is not member:
            self._hall.unicast(member, record)

    def _room(self, room_name: str | None) -> Room:
        """The room C{room_name} names (None: the default room), which must exist.

        @raise PacketRejected: C{bad-room}, C{not-in-room}.
        """
        if room_name is None:
            return self._hall.default_room
        room = self._hall.room_named(room_name)
        if room is None:
            raise PacketRejected(ErrorCode.NOT_IN_ROOM, f"There is no room {room_name}")
        return room

    def _present_or_none(self, room: Room, user: str) -> IMember | Away | None:
        """The member C{user} if it is in C{room}: this node's, or another node's
        (L{Away})."""
        member = self._hall.local_member(user)
        if member is not None and room.key in member.rooms:
            return member
        return self.away.find(room, user)

    def _target(self, room: Room, user: str) -> tuple[IMember | Away | None, Rank]:
        """The member C{user} if it is in C{room} (on this node or another), and the rank
        it holds there (absent: the rank its name holds)."""
        target = self._present_or_none(room, user)
        if target is None:
            return None, self._rank_of_name(room, user)
        return target, self.rank(target, room)

    def _present(self, room: Room, user: str) -> IMember | Away:
        """The member C{user}, who must be in C{room} (on this node or another).

        @raise PacketRejected: C{no-such-user}.
        """
        member = self._present_or_none(room, user)
        if member is None:
            shown = user if len(user) <= 64 else user[:64] + "..."
            raise PacketRejected(ErrorCode.NO_SUCH_USER, f"{shown} is not in {room.name}")
        return member

    def _require(
        self, action: Action, member: IMember, room: Room, target: Rank | None = None
    ) -> None:
        """@raise PacketRejected: C{not-permitted} unless C{member} may take C{action}."""
        if not may(action, self.rank(member, room), target):
            raise _not_permitted(action, room)

    def _require_server(self, action: Action, member: IMember) -> None:
        """@raise PacketRejected: C{not-permitted} unless C{member} operates the server."""
        if not self.is_server_operator(member):
            raise PacketRejected(
                ErrorCode.NOT_PERMITTED, f"Only server operators may {action} server-wide"
            )

    def _until(self, seconds: int | None) -> float | None:
        """The end of a timed ban or mute lasting C{seconds} (None: no end)."""
        if seconds is None:
            return None
        if not 1 <= seconds <= MAX_SECONDS:
            raise PacketRejected(
                ErrorCode.MALFORMED, f"seconds must be an integer from 1 to {MAX_SECONDS}"
            )
        return self._hall.reactor.seconds() + seconds

    def _stored(self, write: Deferred[None], apply: Callable[[], None]) -> Deferred[None]:
        """Run C{apply} once C{write} has stored the change; a change that cannot be
        stored fails with C{unavailable} and changes nothing."""

        def failed(failure: Failure) -> None:
            self.log.failure("moderation could not be stored", failure)
            raise PacketRejected(ErrorCode.UNAVAILABLE, "The change could not be stored")

        return write.addCallbacks(lambda _: apply(), failed)


def _by(by: str, comment: str | None) -> dict[str, Any]:
    """The `by` and `comment` fields of a `leave` a moderator caused."""
    return {"by": by} if comment is None else {"by": by, "comment": comment}


def _all(writes: list[Deferred[None]]) -> Deferred[None]:
    """One Deferred for several writes (the first failure fails it)."""
    return gatherResults(writes, consumeErrors=True).addCallback(lambda _: None)


def _full(detail: str) -> PacketRejected:
    return PacketRejected(ErrorCode.NOT_PERMITTED, detail)


def _not_permitted(action: Action, room: Room) -> PacketRejected:
    return PacketRejected(ErrorCode.NOT_PERMITTED, f"You may not {action} in {room.name}")
