"""The hall: what the server holds beside its rooms, for members of every door.

Connections (admission), nicknames and presence, resume tokens, private
messages and shutdown are the server's, whatever rooms a member is in; the
rooms themselves (L{chatproto.core.room.Room}: members, history, topic,
batch) are kept here by key, created on a first join and gone when nobody is
in one that has neither a stored message nor a topic (docs/protocol.md
section 12). Every member joins the default room at READY; a packet about the
default room carries no `room` field, so a client that never names a room
sees one room, as before rooms existed.

The hall never sees a wire. Members are L{IMember}s; what it stores and fans
out are canonical records, which each member's codec turns into its door's
bytes. Storage, fan-out between nodes and nickname presence sit behind the
seams (L{IHistoryStore}, L{IRoomStores}, L{IBroadcastHub}, L{IPresence}).

The join guarantee (no gap, no duplicate between replay and live traffic)
holds for a store that answers later: the joiner is subscribed first, its live
traffic held behind its replay; the replay is cut at the newest id queued
live before it subscribed, so what the store returns beyond that (which the
live stream carries) is dropped by id.
"""

from __future__ import annotations

import hmac
import json
import math
import secrets
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from twisted.internet.defer import Deferred, fail, gatherResults, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from chatproto.core.admission import Admission, Place
from chatproto.core.config import RoomConfig
from chatproto.core.connection import ConnectionState
from chatproto.core.errors import ErrorCode, PacketRejected
from chatproto.core.member import CloseReason, IMember, LeaveReason
from chatproto.core.moderation.elsewhere import ChangesElsewhere
from chatproto.core.moderation.moderator import Moderation
from chatproto.core.nicknames import (
    MAX_NICKNAME_CODE_POINTS,
    could_be_nickname,
    holding_key,
    nickname_key,
)
from chatproto.core.notices import error_notice, notice, rooms_notice, users_notice
from chatproto.core.observer import QUIET, IRoomObserver
from chatproto.core.records import chat_fields, dump_json, json_string
from chatproto.core.registry import RoomRegistry
from chatproto.core.room import Room
from chatproto.core.roomnames import InvalidRoomName, room_key, validate_room_name
from chatproto.core.timestamps import rfc3339_millis
from chatproto.seams.history import HistoryUnavailable, IHistoryStore, Stored
from chatproto.seams.hub import IBroadcastHub, LocalHub, RoomEvent
from chatproto.seams.moderation import IModerationStore
from chatproto.seams.presence import Held, IPresence, LocalPresence
from chatproto.seams.rooms import IRoomStores, ListedRoom, RoomFacts
from chatproto.seams.sharedmoderation import ISharedModeration

if TYPE_CHECKING:
    from chatproto.accounts.manager import Accounts
    from chatproto.core.connection import Connection

#: Random bytes in a resume token (docs/protocol.md section 5: at least 128 bits).
RESUME_TOKEN_BYTES = 16
#: The most rooms one `rooms` notice lists (docs/protocol.md section 12).
MAX_LISTED_ROOMS = 1000


class Hall:
    """Every room and member of this server; see the module docstring.

    C{history} is the default room's store; C{room_stores} keeps the other
    rooms' stores and every topic (None: only the default room is served);
    stores that also provide L{ISharedRooms} (several nodes) list each room's
    members on every node and every node's rooms. C{accounts}, the registered
    nicknames, is what the doors log members in with (L{chatproto.accounts.desk}).
    C{observer} is told what happens (the metrics, L{IRoomObserver}).
    """

    log = Logger()

    def __init__(
        self,
        config: RoomConfig,
        history: IHistoryStore,
        reactor: IReactorTime,
        hub: IBroadcastHub | None = None,
        presence: IPresence | None = None,
        room_stores: IRoomStores | None = None,
        accounts: Accounts | None = None,
        observer: IRoomObserver = QUIET,
        moderation_store: IModerationStore | None = None,
    ) -> None:
        self.config = config
        self.observer = observer
        #: The registered nicknames (docs/protocol.md section 13; None: no accounts).
        self.accounts = accounts
        self.reactor = reactor
        #: This node's joined members by holding key, in join order, whatever their rooms.
        self._members: dict[str, IMember] = {}
        self._admission = Admission(config)
        self._presence = presence if presence is not None else LocalPresence()
        self._presence.watch(self._place_taken)
        #: Who may do what in which room, and the moderation commands (section 14).
        self.moderation = Moderation(self, config.operators, moderation_store)
        shared_moderation = ISharedModeration(moderation_store, None)
        if shared_moderation is not None:  # several nodes: each applies the others' changes
            shared_moderation.watch(ChangesElsewhere(self).apply)
        #: Every room that exists, by key.
        self.registry = RoomRegistry(
            config,
            history,
            reactor,
            room_stores,
            self._message_lost,
            self.moderation.holds,
            observer,
        )
        self.default_room = self.registry.default
        #: The room stores when several nodes share the rooms, else None.
        self._shared = self.registry.shared
        self._hub = hub if hub is not None else LocalHub()
        self._hub.subscribe(self._received)
        self._shutdown_at: float | None = None
        # Set by close_all: the connections it closes get no leave notices.
        self._closing = False
        # Set while the store refuses messages, so that an outage is logged once.
        self._store_failing = False
        #: Told when a joined member of this node logs in or out (L{set_account}).
        self._account_watchers: list[Callable[[IMember], None]] = []

    def reconfigure(self, config: RoomConfig) -> None:
        """Apply new settings (a reload): new connections and frames get the new limits,
        nobody already connected is cut off for them. The default room stays."""
        self.config = config
        self._admission.config = config
        self.registry.config = config
        self.moderation.appoint(config.operators)

    # -- connections -----------------------------------------------------

    def admit(self, connection: Place) -> bool:
        """Count a new connection of any door; refuse it past the limits."""
        if self._admission.admit(connection, connection.host):
            return True
        self._log_error(ErrorCode.SERVER_FULL, connection.peer)
        return False

    def server_full_notice(self, connection: Connection) -> bytes:
        """The `server-full` error for a refused connection, in its codec."""
        record = error_notice(self.timestamp(), ErrorCode.SERVER_FULL, "The server is full")
        return connection.codec.encode(record)

    def release(self, connection: Place) -> None:
        """Forget a closed connection."""
        self._admission.release(connection)

    def connection_count(self) -> int:
        """Open connections of every door, choosing ones included."""
        return len(self._admission)

    def connections(self) -> list[Place]:
        """Every open connection of every door, choosing ones included."""
        return self._admission.connections()

    def member_count(self) -> int:
        """This node's joined members, whatever their rooms."""
        return len(self._members)

    @property
    def store_failing(self) -> bool:
        """Whether the last message the store was given could not be stored."""
        return self._store_failing

    # -- membership ------------------------------------------------------

    def is_free(self, nickname: str) -> bool:
        """Whether nobody holds a nickname that collides with C{nickname}."""
        return not self._presence.is_held(holding_key(nickname))

    def join(
        self,
        member: Connection,
        nickname: str,
        since: int | None,
        token: str | None = None,
        *,
        account: str | None = None,
        claim: bool = True,
        unregistered: bool = False,
        into_default: bool = True,
    ) -> Deferred[bool]:
        """Make C{member} joined as C{nickname} (valid, docs/protocol.md section 3) if
        the nickname is free, or held by the connection whose resume token is C{token},
        on this node or another, or by a connection logged in to C{account}, the
        account C{member} has logged in to (section 13), on this node or another. The one
        replaced is closed without a leave notice and this one takes its place in every
        room, with no join notice. With C{claim} False a free nickname is not taken
        (a registered nickname chosen without a password: only a place may be taken
        back). Fires with whether it joined. A joined member is in the default room,
        unless not C{into_default} (an IRC client with --no-irc-autojoin: it joins rooms
        itself, and its entrance has an empty replay).

        A door that did not check the nickname's account (C{unregistered} False, no
        C{account}) is treated as one without a password: a registered nickname is
        only taken back with a token (docs/protocol.md section 13), on every door.

        Fails with L{PacketRejected} C{banned} when a server-wide ban matches the
        nickname, C{account} or the connection's address (section 14)."""
        banned = self.moderation.entry_refusal(nickname, account, member.host)
        if banned is not None:
            return fail(banned)
        if self.accounts is not None and account is None and claim and not unregistered:
            return self._join_unless_registered(member, nickname, since, token, into_default)
        key = holding_key(nickname)
        resume_token = secrets.token_urlsafe(RESUME_TOKEN_BYTES)
        current = self._members.get(key)
        if current is not None:
            same_token = token is not None and _same_token(current.resume_token, token)
            if not same_token and not _same_account(current.account, account):
                return succeed(False)
            del self._members[key]
            current.evict()
            self._presence.renew(key, resume_token)
            member.account = account if account is not None else current.account
            self._resumed(member, key, current.nickname, since, resume_token, current.rooms)
            return succeed(True)
        member.account = account

        def claimed(free: bool) -> bool:
            if not free:
                return False
            if member.state is not ConnectionState.CHOOSING:  # it left while we asked
                self._presence.release(key)
                return False
            self._accept(
                member, key, nickname, since, resume_token, announce=True, into_default=into_default
            )
            return True

        def taken_over(held: Held | None) -> Deferred[bool] | bool:
            if held is None:  # not that token's place: the nickname may be free
                if not claim:
                    return False
                return self._presence.claim(key, json_string(nickname), resume_token).addCallback(
                    claimed
                )
            nickname_held = json.loads(held.nickname)
            if account is None:  # a token alone: the place keeps its account
                member.account = held.account

            def with_rooms(rooms: dict[str, Room] | None) -> bool:
                if member.state is not ConnectionState.CHOOSING:  # it left while we asked
                    self._give_back_unused((rooms or {}).values())
                    self._presence.release(key)
                    self._announce_leave(self.default_room, nickname_held, LeaveReason.DISCONNECTED)
                    return False
                self._resumed(member, key, nickname_held, since, resume_token, rooms)
                return True

            if self._shared is None:
                return with_rooms(None)
            return self._rooms_held(key).addCallback(with_rooms)

        if token is not None:  # perhaps the place of a member of another node
            return self._presence.take_over(key, token, resume_token).addCallback(taken_over)
        if account is not None and self._presence.is_held(key):  # its own, on another node?
            moved = self._presence.take_over_login(key, account, resume_token)
            return moved.addCallback(taken_over)
        if not claim:
            return succeed(False)
        return self._presence.claim(key, json_string(nickname), resume_token).addCallback(claimed)

    def _join_unless_registered(
        self,
        member: Connection,
        nickname: str,
        since: int | None,
        token: str | None,
        into_default: bool,
    ) -> Deferred[bool]:
        """L{join} without a password: a registered nickname is not taken fresh (and when
        the accounts cannot be read, no nickname is)."""
        assert self.accounts is not None
        owner = Deferred.fromCoroutine(self.accounts.account_of(nickname))

        def answered(registered_to: str | None) -> Deferred[bool] | bool:
            if member.state is not ConnectionState.CHOOSING:  # it left while we asked
                return False
            claim = registered_to is None
            return self.join(
                member,
                nickname,
                since,
                token,
                claim=claim,
                unregistered=True,
                into_default=into_default,
            )

        def unreadable(failure: Failure) -> bool:
            self.log.failure("accounts cannot be read", failure, event_kind="error")
            return False

        return owner.addCallbacks(answered, unreadable)

    def _resumed(
        self,
        member: Connection,
        key: str,
        nickname: str,
        since: int | None,
        resume_token: str,
        rooms: dict[str, Room] | None,
    ) -> None:
        """C{member} takes back the place of C{nickname}, which the others saw no change of:
        it keeps the spelling they know, its C{rooms}, and nobody is told it joined."""
        self.log.info("{nickname} resumed", nickname=nickname, event_kind="resume")
        self._accept(member, key, nickname, since, resume_token, announce=False, rooms=rooms)

    def _rooms_held(self, key: str) -> Deferred[dict[str, Room] | None]:
        """The rooms (the default one among them) that the member holding C{key}, which
        resumes here from another node, is in, each opened here; those that cannot be
        opened now are left out."""
        assert self._shared is not None

        def opened(pairs: list[tuple[str, str]]) -> Deferred[dict[str, Room] | None]:
            rooms = {self.default_room.key: self.default_room}
            waits: list[Deferred[PacketRejected | None]] = []
            for room_key_held, name in pairs:
                try:
                    room = self.registry.for_joining(room_key_held, name)
                    if not room.is_open:
                        self.registry.open(room)
                except PacketRejected:
                    continue
                if room.opening is not None:
                    waits.append(self._when_opened(room))
                rooms[room.key] = room

            def ready(_: object) -> dict[str, Room] | None:
                return {key: room for key, room in rooms.items() if room.is_open}

            return gatherResults(waits).addCallback(ready)

        def unknown(failure: Failure) -> dict[str, Room] | None:
            failure.trap(HistoryUnavailable)  # type: ignore[no-untyped-call]
            return None  # the default room only

        return self._shared.rooms_of(key).addCallbacks(opened, unknown)

    def _place_taken(self, key: str) -> None:
        """The member holding C{key} here lost its place to a connection of another node
        (it resumed there) or to this node's isolation: close it without a leave notice."""
        member = self._members.pop(key, None)
        if member is not None:
            self.log.info(
                "{nickname} closed: its place is taken elsewhere",
                nickname=member.nickname,
                event_kind="evict",
            )
            for room in list(member.rooms.values()):  # its rooms stay its own elsewhere
                self._forget_member(room, member, shared=False)
            member.evict()

    def refusal_notice(self, connection: Connection) -> bytes | None:
        """Why a nickname was just refused when it may well be free: the `unavailable`
        error (the shared nickname registry cannot be reached), in C{connection}'s codec;
        None when a refusal means the nickname is taken."""
        if self._presence.reachable:
            return None
        self._log_error(ErrorCode.UNAVAILABLE, connection.peer)
        record = error_notice(
            self.timestamp(),
            ErrorCode.UNAVAILABLE,
            "Nicknames cannot be checked now: the server cannot reach its shared store",
        )
        return connection.codec.encode(record)

    def _accept(
        self,
        member: Connection,
        key: str,
        nickname: str,
        since: int | None,
        resume_token: str,
        announce: bool,
        rooms: dict[str, Room] | None = None,
        into_default: bool = True,
    ) -> None:
        """Make C{member} joined: the default room's replay and welcome, then (a resumed
        member) the welcome of each other room of C{rooms}, which it takes over."""
        member.key = key
        member.nickname = nickname
        member.encoded_nickname = json_string(nickname)
        member.resume_token = resume_token
        member.joined()
        if member.account is not None:  # kept beside the place, for a take-over elsewhere
            self._presence.set_account(key, member.account)
        default = self.default_room
        batcher = default.batcher
        assert batcher is not None
        if not into_default:
            self._accept_outside(member, key)
            return
        # Before it becomes a member: with fsync=always this flushes, and a
        # choosing client may hear nothing before READY.
        batcher.joined(member)
        self._members[key] = member
        was_outside = rooms is not None and default.key not in rooms
        self._add_member(default, member, shared=rooms is not None)  # a resumer is in it
        others = [room for room in (rooms or {}).values() if not room.default]
        for room in others:  # in its place: the others saw no change
            assert room.batcher is not None
            room.batcher.joined(member)  # its welcome's last_id covers what is queued
            self._add_member(room, member, shared=False)
        last_id = batcher.replay_limit()
        welcome = self._welcome(default, member, last_id)
        tail = [self._welcome(room, member, None) for room in others]
        if self._shutdown_at is not None:
            tail.append(self._shutdown_notice())
        member.enter(default.replay(since, self.config.history_replay, last_id), welcome, tail)
        if announce or was_outside:
            self._announce_join(default, member)
        self._log_joined(member)

    def _log_joined(self, member: IMember) -> None:
        self.log.info(
            "{nickname} joined{address}",
            nickname=member.nickname,
            address=self._address_of(member),
            event_kind="join",
        )

    def _accept_outside(self, member: Connection, key: str) -> None:
        """Make C{member} joined in no room: its entrance has no replay, and nobody is
        told (it is outside the default room, as after parting it)."""
        self._members[key] = member
        self._presence.set_outside(key, True)
        welcome = self._welcome(self.default_room, member, None)
        tail = [self._shutdown_notice()] if self._shutdown_at is not None else []
        member.enter(succeed(iter(())), welcome, tail)
        self._log_joined(member)

    def _add_member(self, room: Room, member: IMember, shared: bool = True) -> None:
        """Put C{member} in C{room} (in the place of the member it resumes, if any).
        C{shared}: tell the other nodes (not for a place that was the member's already)."""
        assert member.key is not None
        room.members[member.key] = member
        member.rooms[room.key] = room
        if not shared:
            return
        if room.default:
            self._presence.set_outside(member.key, False)
        elif self._shared is not None:
            self._shared.entered(room.key, member.key, member.encoded_nickname)

    def _forget_member(self, room: Room, member: IMember, shared: bool = True) -> None:
        """Take C{member} out of C{room}; close the room when nobody is left in it.
        C{shared}: tell the other nodes (not for a place taken elsewhere, nor at shutdown,
        whose departure frees every room of this node's members at once)."""
        assert member.key is not None
        if room.members.get(member.key) is member:
            del room.members[member.key]
        member.rooms.pop(room.key, None)
        self.moderation.left_room(room, member)
        if shared and room.default:
            self._presence.set_outside(member.key, True)
        elif shared and self._shared is not None:
            self._shared.exited(room.key, member.key)
        if not room.default and not room.members and not self._closing:
            self.registry.emptied(room)

    def _welcome(self, room: Room, member: IMember, last_id: int | None) -> bytes:
        """The `welcome` of C{room} for C{member}: users, ids, topic (the default room's
        also the resume token, and its topic only when it has one, as before rooms)."""
        batcher = room.batcher
        assert batcher is not None
        if last_id is None:
            last_id = batcher.replay_limit()
        users = self._users(room)
        extra: dict[str, Any] = {
            "last_id": last_id,
            "first_id": room.first_id(last_id),
            "operators": self.moderation.operators_of(room),
        }
        if self.config.motd:
            extra["motd"] = self.config.motd
        if room.default:
            extra["resume_token"] = member.resume_token
            if member.account is not None:
                extra["account"] = member.account
            if room.topic:
                extra["topic"] = room.topic
            message = f"Welcome, {member.nickname}! {len(users)} online."
        else:
            extra["topic"] = room.topic
            extra.update(room.field)
            message = f"Welcome to {room.name}, {member.nickname}! {len(users)} here."
        return users_notice(self.timestamp(), "welcome", message, users, **extra)

    def _users(self, room: Room) -> Sequence[bytes]:
        """The room's members' nicknames (JSON strings) in join order, on every node."""
        if not room.default:
            if self._shared is not None:
                return self._shared.members(room.key)
            return [member.encoded_nickname for member in room.members.values()]
        return self._presence.listed()

    def _announce_join(self, room: Room, member: IMember) -> None:
        nickname = member.nickname
        text = f"{nickname} joined" if room.default else f"{nickname} joined {room.name}"
        logged_in = {"account": True} if member.account is not None else {}
        record = notice(self.timestamp(), "join", text, user=nickname, **room.field, **logged_in)
        self.publish_in(room, RoomEvent(record, skip_key=member.key))

    def publish_in(self, room: Room, event: RoomEvent) -> None:
        """Send a room-wide event to the room's members on every node."""
        if not room.default:
            event = event._replace(room_key=room.key)
        self._hub.publish(event)

    def leave(self, member: IMember, reason: LeaveReason, text: str = "") -> Deferred[None]:
        """Free C{member}'s nickname at once and tell each of its rooms why it left (with
        the C{text} it gave, if any); fires once the nickname is free on every node (at
        once with one node). Every room's `leave` carries the same timestamp, so that a
        door showing one leave per member (IRC's QUIT) can tell them for one."""
        key = member.key
        if key is None or self._members.get(key) is not member:
            return succeed(None)
        del self._members[key]
        released = self._presence.release(key)
        nickname = member.nickname
        timestamp = self.timestamp()
        for room in list(member.rooms.values()):  # presence frees its default room place
            self._forget_member(room, member, shared=not self._closing and not room.default)
            if not self._closing:
                record = self._leave_notice(room, nickname, reason, text, timestamp)
                self.publish_in(room, RoomEvent(record))
        self.log.info(
            "{nickname} left ({reason}){address}",
            nickname=nickname,
            reason=reason,
            address=self._address_of(member),
            event_kind="leave",
        )
        return released

    def _leave_notice(
        self,
        room: Room,
        nickname: str,
        reason: LeaveReason,
        text: str = "",
        timestamp: str | None = None,
        **moderated: Any,
    ) -> bytes:
        """A `leave` notice; C{text}, what the leaver said (an IRC PART or QUIT text), is
        its `text` field when there is one; C{moderated}: the `by` and `comment` of a
        kick or ban."""
        message = f"{nickname} left" if room.default else f"{nickname} left {room.name}"
        extra: dict[str, Any] = {"text": text} if text else {}
        return notice(
            timestamp or self.timestamp(),
            "leave",
            message,
            user=nickname,
            reason=reason,
            **extra,
            **moderated,
            **room.field,
        )

    def _announce_leave(self, room: Room, nickname: str, reason: LeaveReason) -> None:
        self.publish_in(room, RoomEvent(self._leave_notice(room, nickname, reason)))

    def _address_of(self, member: IMember) -> str:
        """' from <peer>' when --log-addresses is on, else nothing (docs/security.md)."""
        return f" from {member.peer}" if self.config.log_addresses else ""

    def set_account(self, member: IMember, account: str | None) -> None:
        """C{member}, joined, logged in to C{account} (None: out of its account): every
        watcher is told (the IRC door's account-notify)."""
        member.account = account
        if member.key is None or self._members.get(member.key) is not member:
            return  # it left (while its password was hashed): its place is not its own
        self._presence.set_account(member.key, account)
        for watcher in self._account_watchers:
            watcher(member)

    def watch_accounts(self, watcher: Callable[[IMember], None]) -> None:
        """Call C{watcher(member)} when a joined member of this node logs in or out
        (once, however often it is given)."""
        if watcher not in self._account_watchers:
            self._account_watchers.append(watcher)

    def who(self, member: IMember, room_name: str | None = None) -> None:
        """Answer a `who` command about the default room or the room C{room_name}.

        @raise PacketRejected: C{bad-room}, C{not-in-room}.
        """
        room = self._member_room(member, room_name)
        users = self._users(room)
        text = f"{len(users)} online" if room.default else f"{len(users)} in {room.name}"
        operators = self.moderation.operators_of(room)
        record = users_notice(
            self.timestamp(), "who", text, users, operators=operators, **room.field
        )
        self.unicast(member, record)

    def local_member(self, nickname: str) -> IMember | None:
        """This node's member holding C{nickname} (compared as section 3 says), if any."""
        return self._members.get(holding_key(nickname)) if could_be_nickname(nickname) else None

    def account_held(self, nickname: str) -> str | None:
        """The account the member holding C{nickname} (of any door, on any node) is
        logged in to, else None."""
        if not could_be_nickname(nickname):
            return None
        key = holding_key(nickname)
        member = self._members.get(key)
        if member is not None:
            return member.account
        return self._presence.account_of(key)

    def local_members(self) -> list[IMember]:
        """This node's joined members, in join order, whatever their rooms."""
        return list(self._members.values())

    def nicknames(self) -> list[bytes]:
        """The default room's members' nicknames as JSON strings, in join order."""
        return list(self._users(self.default_room))

    def everyone(self) -> list[bytes]:
        """Every joined member's nickname (every node's, whatever its rooms) as a JSON
        string, in join order."""
        return list(self._presence.holders())

    # -- rooms -----------------------------------------------------------

    def _member_room(self, member: IMember, room_name: str | None) -> Room:
        """The room C{room_name} names (None: the default room), which C{member} is in.

        @raise PacketRejected: C{bad-room}, C{not-in-room}.
        """
        key = self.default_room.key if room_name is None else _key_of(room_name)[1]
        room = member.rooms.get(key)
        if room is None:
            shown = room_name if room_name is not None else self.default_room.name
            raise PacketRejected(ErrorCode.NOT_IN_ROOM, f"You are not in {shown}")
        return room

    def join_room(self, member: IMember, room_name: str, since: int | None) -> None:
        """Put C{member} in the room C{room_name}, creating it: the room's replay (the
        newest messages, or those above C{since}) and its `welcome`; the room's other
        members are told `join`. In it already: the `welcome` again, no replay.

        @raise PacketRejected: C{bad-room}, C{too-many-rooms}, C{unavailable}, C{banned}.
        """
        name, key = _key_of(room_name)
        present = member.rooms.get(key)
        if present is not None:
            self.unicast(member, self._welcome(present, member, None))
            return
        self.moderation.check_join(member, key, name)
        per_member = self.config.max_rooms_per_member
        if per_member and len(member.rooms) >= per_member:
            raise PacketRejected(
                ErrorCode.TOO_MANY_ROOMS, f"You are in {per_member} rooms already: part one"
            )
        room = self.registry.for_joining(key, name)
        if room.closing is not None:  # its store is still closing: open it again after
            room.closing.addBoth(lambda _: self._join_later(member, room_name, since))
            return
        if not room.is_open:
            self.registry.open(room)
        if room.opening is not None:  # a store shared by several nodes getting ready
            opened = self._when_opened(room)
            opened.addCallback(self._opened_for, room, member, room_name, since)
            return
        self._enter(room, member, since)

    def _when_opened(self, room: Room) -> Deferred[PacketRejected | None]:
        """Fires once C{room}'s shared store is ready: with None, or with the refusal
        its joiners get."""
        assert room.opening is not None
        waiter: Deferred[PacketRejected | None] = Deferred()

        def settled(refusal: PacketRejected | None) -> PacketRejected | None:
            waiter.callback(refusal)
            return refusal

        room.opening.addCallback(settled)
        return waiter

    def _opened_for(
        self,
        refusal: PacketRejected | None,
        room: Room,
        member: IMember,
        room_name: str,
        since: int | None,
    ) -> None:
        if member.key is None or self._members.get(member.key) is not member:
            self._give_back_unused([room])  # it left while the room was opened for it
        elif refusal is None:
            self._join_later(member, room_name, since)
        else:
            self.send_error(member, refusal.code, refusal.detail)

    def _give_back_unused(self, rooms: Iterable[Room]) -> None:
        """Close the rooms opened for a member who left before it entered them, unless
        someone is in them (or about to be: still opening)."""
        for room in rooms:
            if not room.default and room.is_open and not room.members and room.opening is None:
                self.registry.emptied(room)

    def _join_later(self, member: IMember, room_name: str, since: int | None) -> None:
        if member.key is None or self._members.get(member.key) is not member:
            return
        try:
            self.join_room(member, room_name, since)
        except PacketRejected as rejected:
            self.send_error(member, rejected.code, rejected.detail)

    def _enter(self, room: Room, member: IMember, since: int | None) -> None:
        """C{member} enters C{room}; if its join created the room (L{Room.fresh}, on
        any node), it operates the room while it is there (section 14)."""
        batcher = room.batcher
        assert batcher is not None
        batcher.joined(member)
        self._add_member(room, member)
        if room.fresh:
            room.fresh = False
            self.moderation.room_created(room, member)
        last_id = batcher.replay_limit()
        replay = room.replay(since, self.config.history_replay, last_id)
        member.enter_room(replay, self._welcome(room, member, last_id))
        self._announce_join(room, member)

    def part_room(self, member: IMember, room_name: str | None, text: str = "") -> None:
        """Take C{member} out of a room: its members and C{member} get `leave` (`part`,
        with C{text}, what it said on parting, if any).

        @raise PacketRejected: C{bad-room}, C{not-in-room}.
        """
        room = self._member_room(member, room_name)
        self.remove_from_room(room, member, LeaveReason.PART, text)

    def remove_from_room(
        self, room: Room, member: IMember, reason: LeaveReason, text: str = "", **moderated: Any
    ) -> bytes:
        """Take C{member} out of C{room} for C{reason}: it gets its `leave` first (after
        what the room owes it), then the room's other members; C{moderated}: the `by` and
        `comment` of a kick or ban. Returns the `leave` record."""
        record = self._leave_notice(room, member.nickname, reason, text, **moderated)
        self.unicast(member, record)
        self._forget_member(room, member)
        self.publish_in(room, RoomEvent(record))
        return record

    def room_named(self, room_name: str) -> Room | None:
        """The room C{room_name} names, if it exists (whoever is in it).

        @raise PacketRejected: C{bad-room}.
        """
        return self.registry.rooms.get(_key_of(room_name)[1])

    def room_about(self, room_name: str) -> Deferred[RoomFacts | None]:
        """The room C{room_name} names as every node sees it (None: no such room, or no
        room name): this node's, or with several nodes, for a room this node does not
        read, the shared store's. Fails with L{HistoryUnavailable} when that cannot be
        read."""
        try:
            key = _key_of(room_name)[1]
        except PacketRejected:
            return succeed(None)
        room = self.registry.rooms.get(key)
        if room is not None and (self._shared is None or room.is_open):
            return succeed(RoomFacts(room.name, room.topic, self._users(room)))
        if self._shared is None:
            return succeed(None)
        return self._shared.about(key)

    def users_of(self, room: Room) -> list[str]:
        """The display nicknames of C{room}'s members, in join order."""
        return [json.loads(name) for name in self._users(room)]

    def room_listing(self) -> Deferred[tuple[int, list[dict[str, Any]]]]:
        """How many rooms exist, and the first L{MAX_LISTED_ROOMS} of them by key, each
        as its `room`, how many `users` and its `topic`: this node's rooms, or with
        several nodes every node's (the shared rooms' listing, the default room among
        them). Fails with L{HistoryUnavailable} when the shared rooms cannot be read."""
        if self._shared is None:
            listed = [
                {"room": room.name, "users": len(self._users(room)), "topic": room.topic}
                for room in self.registry.listed(MAX_LISTED_ROOMS)
            ]
            return succeed((len(self.registry.rooms), listed))
        default = self.default_room

        def with_default(listing: tuple[int, list[ListedRoom]]) -> tuple[int, list[dict[str, Any]]]:
            count, others = listing
            rows = [(default.key, default.name, len(self._users(default)), default.topic)]
            rows += [(room.key, room.name, room.users, room.topic) for room in others]
            rows.sort()
            listed = [
                {"room": name, "users": users, "topic": topic}
                for _key, name, users, topic in rows[:MAX_LISTED_ROOMS]
            ]
            return count + 1, listed

        return self._shared.listing(MAX_LISTED_ROOMS).addCallback(with_default)

    def list_rooms(self, member: IMember) -> None:
        """Answer a `rooms` command: every room that exists, sorted by key (at most
        L{MAX_LISTED_ROOMS}); with several nodes, every room of every node."""

        def answered(listing: tuple[int, list[dict[str, Any]]]) -> None:
            if member.key is None or self._members.get(member.key) is not member:
                return
            count, listed = listing
            self.unicast(member, rooms_notice(self.timestamp(), f"{count} rooms", listed))

        def refused(failure: Failure) -> Failure | None:
            if not failure.check(HistoryUnavailable):  # type: ignore[no-untyped-call]
                return failure
            if member.key is not None and self._members.get(member.key) is member:
                self.send_error(member, ErrorCode.UNAVAILABLE, "Rooms cannot be listed now")
            return None

        self.room_listing().addCallbacks(answered, refused)

    def set_topic(self, member: IMember, room_name: str | None, topic: str) -> None:
        """Set a room's topic (checked: L{chatproto.core.messages.check_topic}) and
        keep it; every member of the room gets a `topic` notice.

        @raise PacketRejected: C{bad-room}, C{not-in-room}, C{unavailable},
            C{not-permitted} (the topic is locked).
        """
        room = self._member_room(member, room_name)
        self.moderation.check_topic(member, room)
        self.registry.save_topic(room, topic)
        nickname = member.nickname
        room.topic_by, room.topic_at = nickname, self.timestamp()
        text = f"{nickname} set the topic of {room.name}"
        record = notice(room.topic_at, "topic", text, topic=topic, user=nickname, **room.field)
        self.publish_in(room, RoomEvent(record))

    def history(
        self,
        member: IMember,
        room_name: str | None,
        before: int | None,
        since: int | None,
        limit: int,
    ) -> None:
        """Answer a `history` command: up to C{limit} retained messages of the room, then
        a `history` notice (count, first_id). See L{IHistoryStore.page}.

        @raise PacketRejected: C{bad-room}, C{not-in-room}.
        """
        room = self._member_room(member, room_name)
        history = room.history
        assert history is not None

        def answered(records: list[Stored]) -> None:
            if member.key is None or self._members.get(member.key) is not member:
                return
            self.catch_up(member)
            codec = member.codec
            summary = notice(
                self.timestamp(),
                "history",
                f"{len(records)} messages",
                count=len(records),
                first_id=history.first_id,
                **room.field,
            )
            pieces = [codec.encode_replayed(record) for _, record in records]
            member.send(b"".join([*pieces, codec.encode(summary)]))

        def refused(failure: Failure) -> Failure | None:
            if not failure.check(HistoryUnavailable):  # type: ignore[no-untyped-call]
                return failure
            self.send_error(member, ErrorCode.UNAVAILABLE, "History cannot be read now")
            return None

        self.history_page(member, room_name, before, since, limit).addCallbacks(answered, refused)

    def history_page(
        self,
        member: IMember,
        room_name: str | None,
        before: int | None,
        since: int | None,
        limit: int,
    ) -> Deferred[list[Stored]]:
        """Up to C{limit} retained messages of a room C{member} is in (see
        L{IHistoryStore.page}), none newer than what the room has shown: newer ones
        reach it live. A door that answers `history` in its own way reads this.

        @raise PacketRejected: C{bad-room}, C{not-in-room}.
        """
        room = self._member_room(member, room_name)
        history, batcher = room.history, room.batcher
        assert history is not None and batcher is not None
        shown = batcher.replay_limit()

        def cut(records: list[Stored]) -> list[Stored]:
            return [entry for entry in records if entry[0] <= shown]

        return history.page(before, since, limit).addCallback(cut)

    # -- messages --------------------------------------------------------

    def publish(
        self, sender: IMember, text: str, room_name: str | None = None
    ) -> Deferred[int | None]:
        """Store a public message in the default room or the room C{room_name}, then
        queue it for every member of that room, of every door. Fires with its id once
        stored, None when refused.

        When the store cannot take it the sender gets `unavailable` and nobody
        sees the message.

        @raise PacketRejected: C{bad-room}, C{not-in-room}, C{muted}.
        """
        room = self._member_room(sender, room_name)
        self.moderation.check_speak(sender, room)
        history = room.history
        assert history is not None
        fields = chat_fields(self.timestamp(), sender.encoded_nickname, text, room.encoded_name)
        sender_key = sender.key
        started = self.reactor.seconds()

        def stored(result: Stored) -> int:
            self._store_failing = False
            message_id, record = result
            self.observer.stored(self.reactor.seconds() - started)
            self.observer.accepted("public")
            if not self._hub.delivers_stored:
                self.publish_in(room, RoomEvent(record, None, message_id, sender_key))
            return message_id

        def refused(failure: Failure) -> Failure | None:
            if not failure.check(HistoryUnavailable):  # type: ignore[no-untyped-call]
                return failure
            self.observer.stored(self.reactor.seconds() - started)
            if not self._store_failing:  # once per outage, not once per message
                self._store_failing = True
                self.log.error(
                    "history unavailable: {why}", why=str(failure.value), event_kind="store"
                )
            if sender.key is not None and self._members.get(sender.key) is sender:
                self.send_error(sender, ErrorCode.UNAVAILABLE, "The message could not be stored")
            return None

        return history.add(fields).addCallbacks(stored, refused)

    def _message_lost(self, room: Room, sender_key: str) -> None:
        """A message stored but never made durable (fsync=always): tell its sender."""
        sender = room.members.get(sender_key)
        if sender is not None:
            self.send_error(sender, ErrorCode.UNAVAILABLE, "The message could not be stored")

    def send_private(
        self, sender: IMember, to: str, text: str, *, echo: bool = True
    ) -> bytes | None:
        """Send a private message to C{to} (a member of this node or, through the hub,
        of another) and a copy to the sender (when its codec echoes senders: an IRC
        client without echo-message shows its own line itself). It belongs to no room.
        Not C{echo}: the sender's copy (to itself, its only one) is returned instead of
        sent, for a door that sends it as an answer of its own (IRC's labelled echo);
        else None.

        @raise PacketRejected: C{no-such-user} when nobody holds that name.
        """
        key = holding_key(to) if could_be_nickname(to) else None
        recipient = self._members.get(key) if key is not None else None
        elsewhere = self._presence.nickname_of(key) if key is not None and not recipient else None
        if recipient is None and elsewhere is None:
            # Echo a bounded prefix: the whole name could not fit in a reply.
            shown = to if could_be_nickname(to) else to[:MAX_NICKNAME_CODE_POINTS] + "..."
            raise PacketRejected(ErrorCode.NO_SUCH_USER, f"Nobody is called {shown}")
        record = dump_json(
            {
                "timestamp": self.timestamp(),
                "nickname": sender.nickname,
                "message": text,
                "to": recipient.nickname if recipient is not None else elsewhere,
            }
        )
        self.observer.accepted("private")
        if recipient is None:
            self._hub.publish(RoomEvent(record, to_key=key))
        elif recipient is not sender:
            self.unicast(recipient, record)
            self.observer.delivered(1)
        # A message to oneself is received once, echo or not.
        if recipient is not sender and not sender.codec.echoes_sender:
            return None
        self.observer.delivered(1)
        if not echo:
            return record
        self.unicast(sender, record)
        return None

    def _received(self, event: RoomEvent) -> None:
        """An event from the hub: for a room's members, or a private message for one
        member here."""
        if event.to_key is None:
            room_key = event.room_key
            room = self.default_room if room_key is None else self.registry.rooms.get(room_key)
            if room is not None and room.batcher is not None:
                room.batcher.queue(event)
            return
        recipient = self._members.get(event.to_key)
        if recipient is not None:
            self.unicast(recipient, event.record)
            self.observer.delivered(1)

    def send_error(self, member: IMember, code: ErrorCode, detail: str, **extra: Any) -> None:
        """Tell C{member} its frame was refused, and log it (never the frame's content)."""
        self._log_error(code, member.display_name())
        self.unicast(member, error_notice(self.timestamp(), code, detail, **extra))

    def _log_error(self, code: ErrorCode, who: str) -> None:
        self.observer.refused(code)
        self.log.info("error {code} for {who}", code=str(code), who=who, event_kind="error")

    def send_to(self, key: str, record: bytes) -> None:
        """Send C{record} to the member holding C{key}, on whichever node."""
        self._hub.publish(RoomEvent(record, to_key=key))

    def unicast(self, member: IMember, record: bytes) -> None:
        """Send C{record} to one member after its share of what is queued before it.

        With fsync=always, a reply may overtake a message still waiting for its fsync.
        """
        self.catch_up(member)
        member.send(member.codec.encode(record))

    def catch_up(self, member: IMember) -> bool:
        """Write C{member}'s share of every batch of its rooms now, so that what is sent
        next comes after it; False when some share is not ready (fsync=always)."""
        ready = True
        for room in member.rooms.values():
            if room.batcher is not None and not room.batcher.catch_up(member):
                ready = False
        return ready

    def when_caught_up(self, member: IMember, then: Callable[[], None]) -> None:
        """Call C{then} once C{member} has been sent everything queued before now."""
        if self.catch_up(member):
            then()
            return
        # fsync=always: what it is owed waits for an fsync round
        waits = [
            room.batcher.when_delivered()
            for room in member.rooms.values()
            if room.batcher is not None
        ]
        gatherResults(waits).addCallback(lambda _: then())

    def flush(self) -> None:
        """End the reactor turn now: every room's batch is written."""
        self.registry.turn.flush()

    def timestamp(self) -> str:
        """The server's clock now, as every packet carries it."""
        return rfc3339_millis(self.reactor.seconds())

    # -- shutdown --------------------------------------------------------

    def announce_shutdown(self, grace: float) -> None:
        """Tell every joined member the server closes in C{grace} seconds."""
        self._shutdown_at = self.reactor.seconds() + grace
        record = self._shutdown_notice()
        # This node's own news: straight to its members, not through the hub to other nodes.
        batcher = self.default_room.batcher
        assert batcher is not None
        batcher.queue(RoomEvent(record))
        for member in self._members.values():
            if self.default_room.key not in member.rooms:
                self.unicast(member, record)
        self.log.info("shutting down in {grace} seconds", grace=grace, event_kind="shutdown")

    def _shutdown_notice(self) -> bytes:
        assert self._shutdown_at is not None
        left = max(0, math.ceil(self._shutdown_at - self.reactor.seconds()))
        return notice(self.timestamp(), "shutdown", f"Server closing in {left} seconds", grace=left)

    def close_all(self) -> Deferred[None]:
        """Close every connection, choosing ones included, without `leave` notices, after
        what each is owed; the result fires once every one of them is gone (the last bytes
        its door writes on closing sent, or the connection dropped)."""
        self._closing = True
        self.flush()
        connections = self._admission.connections()
        for connection in connections:
            connection.close(CloseReason.SHUTDOWN)
        gone = gatherResults([connection.when_gone() for connection in connections])
        return gone.addCallback(lambda _: None)

    def sync_rooms(self) -> Deferred[None]:
        """Make the history of every open room but the default one durable (the
        periodic fsync of --fsync interval; the default room's store is the caller's)."""
        return self.registry.sync()

    def close_rooms(self) -> Deferred[None]:
        """Close the store of every room but the default one (shutdown: after close_all),
        making their history durable; the default room's store is the caller's."""
        return self.registry.close()

    def drop_all(self) -> int:
        """Drop every connection still open, unsent output lost; how many there were."""
        connections = self._admission.connections()
        for connection in connections:
            connection.evict()
        return len(connections)


def _key_of(room_name: str) -> tuple[str, str]:
    """The display name and key of a room name.

    @raise PacketRejected: C{bad-room} for a name that breaks section 12's rules.
    """
    try:
        name = validate_room_name(room_name)
    except InvalidRoomName as e:
        raise PacketRejected(ErrorCode.BAD_ROOM, str(e)) from None
    return name, room_key(name)


def _same_account(held: str | None, offered: str | None) -> bool:
    """Whether two connections are logged in to one account (neither None)."""
    return held is not None and offered is not None and nickname_key(held) == nickname_key(offered)


def _same_token(held: str | None, offered: str) -> bool:
    """Compare resume tokens in constant time (a token is a secret)."""
    return held is not None and hmac.compare_digest(held.encode(), offered.encode())
